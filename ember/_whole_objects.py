"""Whole objects in checkpoints, without pickle: a class's import path plus its attributes.

``torch.save(model)`` pickles the model; Ember stores the same information as data instead. An object
``obj`` becomes ``(import path of type(obj), its state)``, where the state is ``obj.__getstate__()`` when the
class defines one (optimizers do) and ``vars(obj)`` otherwise -- for a Module that is ``training``,
``_parameters``, ``_buffers``, ``_modules`` and its plain attributes (``in_features`` …), with tensors
going to the safetensors part of the file. Loading does what unpickling an ordinary class does, and no
more: import the class, make a bare instance (``cls.__new__(cls)``, no ``__init__``), hand it its state
(``__setstate__`` or ``__dict__.update``). Nothing named in the file is *called* with arguments from
the file, but importing a class runs its module's top level: so, as in torch, loading objects is allowed
only with ``weights_only=False``, which says the user trusts the file.

The same rules serve PyTorch ``.pt`` files written by ``torch.save(model)`` (see :class:`PtObjects`):
``torch.nn.modules.linear.Linear`` is found in Ember (``ember.nn.linear.Linear``) through the names the
compat hook uses, and a user's ``__main__.Net`` is imported from the running program.
"""
import importlib
import pickle
from collections import OrderedDict, defaultdict

from ._pt_reader import UnsafeCheckpointError

__all__ = ["WeightsOnlyError", "class_path", "import_path", "new_instance", "get_state", "set_state",
           "weights_only_error", "PtObjects", "PtWeightsOnly", "add_safe_globals", "clear_safe_globals",
           "get_safe_globals", "safe_globals", "is_safe", "SAFE_GLOBALS"]

# classes that may appear as values (a defaultdict's factory) even with weights_only=True
SAFE_GLOBALS = {"builtins:dict", "builtins:list", "builtins:set", "builtins:tuple", "builtins:int",
                "builtins:float", "builtins:str", "builtins:bool", "collections:OrderedDict"}


# classes/functions the user allowed for weights_only=True loads (torch.serialization.add_safe_globals)
_SAFE = []


def add_safe_globals(safe_globals):
    """Allow these classes (or functions) in ``load(weights_only=True)``: objects of them are rebuilt like
    with ``weights_only=False``, everything else stays refused. Entries may be ``(obj, "module.name")``."""
    for g in safe_globals:
        obj = g[0] if isinstance(g, tuple) else g
        if obj not in _SAFE:
            _SAFE.append(obj)


def clear_safe_globals():
    _SAFE.clear()


def get_safe_globals():
    return list(_SAFE)


class safe_globals:
    """``with safe_globals([Cls]):`` -- :func:`add_safe_globals` for the duration of the block."""

    def __init__(self, safe_globals):
        self.globals = list(safe_globals)

    def __enter__(self):
        self.saved = list(_SAFE)
        add_safe_globals(self.globals)

    def __exit__(self, *exc):
        _SAFE[:] = self.saved
        return False


def is_safe(obj):
    return any(obj is g for g in _SAFE)


class WeightsOnlyError(UnsafeCheckpointError, pickle.UnpicklingError):
    """``load(weights_only=True)`` met a whole object: the exception class and words of torch's refusal."""


def weights_only_error(dotted):
    """torch's message for a global that ``weights_only=True`` does not allow."""
    return WeightsOnlyError(
        "Weights only load failed. This file can still be loaded, to do so you have two options, do those steps "
        "only if you trust the source of the checkpoint. \n\t(1) In PyTorch 2.6, we changed the default value of "
        "the `weights_only` argument in `torch.load` from `False` to `True`. Re-running `torch.load` with "
        "`weights_only` set to `False` will likely succeed, but it can result in arbitrary code execution. Do it "
        "only if you got the file from a trusted source.\n\t(2) Alternatively, to load with `weights_only=True` "
        "please check the recommended steps in the following error message.\n\tWeightsUnpickler error: "
        f"Unsupported global: GLOBAL {dotted} was not an allowed global by default. (Ember rebuilds such objects "
        "by importing their class and setting their attributes; it never unpickles.)")


def class_path(obj):
    """``'module:qualname'`` of a class or function, or None when importing that path would not give it
    back (a lambda, a class defined inside a function)."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        return None
    try:
        found = import_path(f"{module}:{qualname}")
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if found is obj else None


def _torch_to_ember(module):
    """The Ember modules that stand for PyTorch module ``module`` (``torch.nn.modules.linear`` ->
    ``ember.nn.linear``, ``ember.nn``), as the compat import hook maps them."""
    from .compat._hook import ember_module_names
    return ember_module_names(module) + (["ember"] if module.startswith("torch") else [])


def import_path(path):
    """The object at ``'module:qualname'`` (a PyTorch path is looked up in Ember's matching module)."""
    module, _, qualname = path.partition(":")
    candidates = _torch_to_ember(module) if module == "torch" or module.startswith("torch.") else [module]
    err = None
    for name in candidates:
        try:
            obj = importlib.import_module(name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError) as e:
            err = e
    raise AttributeError(f"cannot find {module}.{qualname} (needed to rebuild an object from the checkpoint): "
                         f"{err}") from None


def new_instance(cls):
    """A bare instance, as unpickling makes one: ``__new__`` only, no ``__init__``. A Module also gets the
    empty registries every Module has (its state then fills them)."""
    if not isinstance(cls, type):
        raise TypeError(f"cannot rebuild an object: {cls!r} is not a class")
    inst = cls.__new__(cls)
    from .nn.module import Module
    if isinstance(inst, Module):
        Module.__init__(inst)
    return inst


def _custom(cls, name):
    fn = getattr(cls, name, None)
    return fn is not None and fn is not getattr(object, name, None)


def get_state(obj):
    """What is stored for ``obj``: its ``__getstate__()`` when its class defines one, else ``vars(obj)``."""
    if _custom(type(obj), "__getstate__"):
        state = obj.__getstate__()
    else:
        state = getattr(obj, "__dict__", None)
    if not isinstance(state, dict):
        raise TypeError(f"cannot store an object of type {type(obj).__module__}.{type(obj).__qualname__}: it has "
                        "no attribute dictionary")
    return state


def set_state(inst, state):
    """Give a bare instance its saved state: ``__setstate__`` when its class defines one, else the
    attributes go straight into ``__dict__`` (past any ``__setattr__``, as unpickling does)."""
    if not isinstance(state, dict):
        raise TypeError(f"the saved state of a {type(inst).__name__} must be a dict, got {type(state).__name__}")
    if _custom(type(inst), "__setstate__"):
        inst.__setstate__(state)
    else:
        inst.__dict__.update(state)


class _Imported:
    """A global a ``.pt`` file names, once imported: NEWOBJ makes a bare instance of it; as a plain value
    (a defaultdict's factory, a function kept as an attribute) it is replaced by the object itself."""

    def __init__(self, name, value):
        self.name, self.value = name, value
        self.newobj = isinstance(value, type)

    def __repr__(self):
        return self.name


class PtObjects:
    """The reader's extension for ``weights_only=False``: resolve non-allowlisted globals by import, make
    bare instances, and apply BUILD states. Only two calls are honoured: NEWOBJ/``copyreg._reconstructor``
    (a bare instance) and ``collections.defaultdict(factory)``; any other call a pickle asks for is refused."""

    def __init__(self):
        self.made = set()  # ids of the instances made here: only they may receive a BUILD state
        self.keep = []     # keeps them alive, so their ids stay theirs

    def resolve(self, module, name):
        full = f"{module}.{name}"
        if full == "copyreg._reconstructor":
            return _Imported(full, _reconstructor)
        if full == "collections.defaultdict":
            return _Imported(full, _make_defaultdict)
        try:
            value = import_path(f"{module}:{name}")
        except AttributeError as e:
            raise UnsafeCheckpointError(f"cannot load this checkpoint: {e}") from None
        if not (isinstance(value, type) or callable(value)):
            raise UnsafeCheckpointError(f"cannot load this checkpoint: {full} is not a class or function")
        return _Imported(full, value)

    def is_global(self, x):
        return isinstance(x, _Imported)

    def call(self, func, args, newobj):
        """NEWOBJ ``cls()`` -> a bare instance; REDUCE only of the two functions named above."""
        args = tuple(unwrap(a) for a in args)
        if newobj:
            if not func.newobj or args:
                raise UnsafeCheckpointError(f"refusing to load: the pickle instantiates {func.name} with "
                                            "arguments; ember only rebuilds objects from their attributes")
            return self._made(new_instance(func.value))
        if func.value is _reconstructor:
            return self._made(func.value(*args))
        if func.value is _make_defaultdict:
            return func.value(*args)
        raise UnsafeCheckpointError(f"refusing to load: the pickle calls {func.name}; ember rebuilds objects "
                                    "from their class and attributes and calls nothing else")

    def _made(self, inst):
        self.made.add(id(inst))
        self.keep.append(inst)
        return inst

    def owns(self, inst):
        return id(inst) in self.made

    def build(self, inst, state):
        if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
            state = state[0]  # (dict, slots) form with no slots
        set_state(inst, unwrap(state))

    def finish(self, obj):
        return unwrap(obj)


class PtWeightsOnly:
    """The reader's extension for ``weights_only=True``: a whole model or optimizer (a Module/Optimizer
    class from torch or the running program) is refused with torch's words; other globals keep the
    reader's own refusal."""

    def __init__(self):
        self.allowed = PtObjects() if _SAFE else None  # the user's safe globals are rebuilt as objects

    def resolve(self, module, name):
        if self.allowed is not None:
            try:
                obj = import_path(f"{module}:{name}")
            except (AttributeError, ImportError):
                obj = None
            if obj is not None and is_safe(obj):
                return self.allowed.resolve(module, name)
        if not (module.startswith("torch.") or module == "__main__"):
            return None
        try:
            cls = import_path(f"{module}:{name}")
        except (AttributeError, ImportError):
            return None
        from .nn.module import Module
        from .optim.optimizer import Optimizer
        if isinstance(cls, type) and issubclass(cls, (Module, Optimizer)):
            raise weights_only_error(f"{module}.{name}")
        return None

    def is_global(self, x):
        return self.allowed is not None and self.allowed.is_global(x)

    def call(self, func, args, newobj):
        return self.allowed.call(func, args, newobj)

    def owns(self, inst):
        return self.allowed is not None and self.allowed.owns(inst)

    def build(self, inst, state):
        self.allowed.build(inst, state)

    def finish(self, obj):
        return obj if self.allowed is None else self.allowed.finish(obj)


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor(cls, object, None)``: how protocol-0/1 pickles make a bare instance."""
    if base is not object or state is not None:
        raise UnsafeCheckpointError(f"refusing to load: copyreg._reconstructor with base {base!r}; ember only "
                                    "rebuilds plain objects")
    return new_instance(cls)


def _make_defaultdict(factory=None, *rest):
    if rest:
        raise UnsafeCheckpointError("refusing to load: defaultdict with extra arguments")
    if factory is not None and f"{factory.__module__}:{factory.__qualname__}" not in SAFE_GLOBALS:
        raise UnsafeCheckpointError(f"refusing to load: a defaultdict whose factory is {factory!r}")
    return defaultdict(factory)


def unwrap(x, _depth=0):
    """Replace imported globals kept as values by the objects themselves (in place inside containers)."""
    if isinstance(x, _Imported):
        return x.value
    if _depth > 50:
        return x
    if type(x) in (dict, OrderedDict, defaultdict):
        for k, v in list(x.items()):
            if isinstance(v, (_Imported, dict, list, tuple)):
                x[k] = unwrap(v, _depth + 1)
        return x
    if type(x) is list:
        for i, v in enumerate(x):
            if isinstance(v, (_Imported, dict, list, tuple)):
                x[i] = unwrap(v, _depth + 1)
        return x
    if type(x) is tuple and any(isinstance(v, (_Imported, dict, list, tuple)) for v in x):
        return tuple(unwrap(v, _depth + 1) for v in x)
    return x
