"""The import hook: ``import torch`` (and every ``torch.*``) gives Ember's modules.

A finder on ``sys.meta_path`` answers every import whose top-level name is ``torch`` or ``torchvision``.
Each answer is a :class:`TorchModule`: a thin module object named like the PyTorch module
(``torch.nn.functional``) that reads every attribute from the Ember module it stands for
(``ember.nn.functional``). Classes and functions are Ember's own objects, so
``torch.nn.Linear is ember.nn.Linear`` and ``isinstance(t, torch.Tensor)`` hold.

Where Ember lacks something the program touches, the answer is one error naming the PyTorch API::

    torch.nested.nested_tensor(xs)  ->  MissingTorchAPI: ember does not implement torch.nested.nested_tensor yet
    x.stft(64)             ->  MissingTorchAPI: ember does not implement torch.Tensor.stft yet

``MissingTorchAPI`` is an ``AttributeError`` (so ``hasattr(torch, "fft_thing")`` stays False) and
``MissingTorchModule`` an ``ImportError`` (so ``from torch.nested import nested_tensor`` fails with the same words).
A PyTorch *module* Ember lacks (``torch.nested``, ``torch.backends.cudnn``) imports as an empty stand-in, so
scripts run until they call into it; flags set on it (``torch.backends.cudnn.benchmark = True``) stick.
"""
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

from ._torch_modules import TORCH_MODULES, TORCH_TENSOR_ATTRS

__all__ = ["MissingTorchAPI", "MissingTorchModule", "TorchModule", "TorchFinder", "ember_module_names",
           "patch_tensor", "unpatch_tensor"]

ROOTS = ("torch", "torchvision")

# PyTorch module -> Ember module, where the names differ. Longest prefix wins; the rest maps torch -> ember.
RENAMES = {
    "torchvision.datasets": "ember.datasets",
    "torchvision.transforms": "ember.transforms",
    "torch.nn.modules": "ember.nn",
    "torch.nn.modules.container": "ember.nn.containers",
    "torch.nn.modules.batchnorm": "ember.nn.normalization",
    "torch.nn.modules.instancenorm": "ember.nn.normalization",
}
# PyTorch modules that exist even though the installed torch's pkgutil walk did not list them.
EXTRA_TORCH_MODULES = frozenset({"torchvision", "torchvision.models", "torchvision.utils", "torchvision.io",
                                 "torchvision.ops", "torchvision.transforms.functional"})


class MissingTorchAPI(AttributeError):
    """A PyTorch name Ember does not provide (yet). Subclasses AttributeError, so ``hasattr`` works."""

    __module__ = "ember.compat"


class MissingTorchModule(ImportError):
    """``import``/``from ... import`` of a PyTorch name Ember does not provide (yet)."""

    __module__ = "ember.compat"


def _message(torch_name):
    return f"ember does not implement {torch_name} yet"


def _is_dunder(name):
    return len(name) > 4 and name[:2] == "__" and name[-2:] == "__"


def ember_module_names(torch_name):
    """The Ember modules that may stand for PyTorch module ``torch_name``, best first.

    >>> ember_module_names("torch.nn.functional")
    ['ember.nn.functional']
    >>> ember_module_names("torch.nn.modules.loss")
    ['ember.nn.loss', 'ember.nn']
    """
    if torch_name in RENAMES:
        names = [RENAMES[torch_name]]
    else:
        prefix = max((p for p in RENAMES if torch_name.startswith(p + ".")), key=len, default=None)
        if prefix is not None:
            names = [RENAMES[prefix] + torch_name[len(prefix):]]
        elif torch_name == "torch" or torch_name.startswith("torch."):
            names = ["ember" + torch_name[len("torch"):]]
        else:
            names = []
    if torch_name.startswith("torch.nn.modules.") and torch_name.count(".") == 3:  # torch.nn.modules.X:
        # every layer class lives in ember.nn (deeper names are attributes, never modules)
        names.append("ember.nn")
    return names


def _import_ember(name):
    """The Ember module ``name``, or None when Ember has no such module. Other import errors propagate."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing == name or name.startswith(missing + ".") or missing.startswith(name + "."):
            return None
        raise


class TorchModule(types.ModuleType):
    """A PyTorch-named module reading its attributes from an Ember module (``None``: a stand-in for a
    PyTorch module Ember lacks, whose every public attribute raises :class:`MissingTorchAPI`)."""

    def __init__(self, torch_name, target):
        super().__init__(torch_name, getattr(target, "__doc__", None))
        d = self.__dict__
        d["_ember_target"] = target
        d["__path__"] = []  # a package: ``from torch.x import y`` asks the finder for ``torch.x.y``

    def __getattr__(self, name):
        d = self.__dict__
        target = d["_ember_target"]
        full = f"{d['__name__']}.{name}"
        if target is not None:
            try:
                value = getattr(target, name)
            except (AttributeError, ImportError):  # ember's lazy __getattr__ may fail to import a submodule
                pass
            else:
                if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "ember":
                    return _proxy(full, value)
                return value
        if target is not None and not name.startswith("_"):  # a class ember keeps in another file of the
            for other in ember_module_names(d["__name__"])[1:]:  # same package (torch.nn.modules.activation
                mod = _import_ember(other)                         # .MultiheadAttention is in ember.nn)
                if mod is not None and mod is not target and isinstance(getattr(mod, name, None), type):
                    return getattr(mod, name)
        if name == "__all__":
            return [] if target is None else sorted(n for n in vars(target) if not n.startswith("_"))
        if _is_dunder(name):
            raise AttributeError(f"module '{d['__name__']}' has no attribute '{name}'")
        module = _resolve(full)
        if module is not None:
            return module
        raise MissingTorchAPI(_message(full), name=name, obj=self)

    def __setattr__(self, name, value):
        target = self.__dict__["_ember_target"]
        if target is None or _is_dunder(name) or isinstance(value, TorchModule) or name in self.__dict__:
            self.__dict__[name] = value
        else:  # e.g. torch.some_flag = 1: the Ember module sees it, as torch code expects
            setattr(target, name, value)

    def __delattr__(self, name):
        if name in self.__dict__:
            del self.__dict__[name]
        else:
            delattr(self.__dict__["_ember_target"], name)

    def __dir__(self):
        target = self.__dict__["_ember_target"]
        return sorted(set(self.__dict__) | (set(dir(target)) if target is not None else set()))

    def __repr__(self):
        target = self.__dict__["_ember_target"]
        where = f"ember module '{target.__name__}'" if target is not None else "not implemented in ember"
        return f"<module '{self.__dict__['__name__']}' ({where})>"


_PROXIES = {}  # torch name -> TorchModule, one per name while the hook is installed


def _proxy(torch_name, target):
    """The one TorchModule for ``torch_name`` (created on first use and registered in sys.modules)."""
    mod = _PROXIES.get(torch_name)
    if mod is None or mod.__dict__["_ember_target"] is not target:
        mod = TorchModule(torch_name, target)
        mod.__dict__["__spec__"] = importlib.machinery.ModuleSpec(torch_name, FINDER, is_package=True)
        mod.__dict__["__loader__"] = FINDER
        mod.__dict__["__package__"] = torch_name
        _PROXIES[torch_name] = mod
    if FINDER in sys.meta_path:
        sys.modules.setdefault(torch_name, mod)
    return mod


def _resolve(torch_name):
    """The TorchModule for ``torch_name``: Ember's module, a stand-in for a PyTorch module Ember lacks,
    or None when neither applies."""
    if torch_name in _PROXIES:
        return _PROXIES[torch_name]
    for name in ember_module_names(torch_name):
        target = _import_ember(name)
        if target is not None:
            return _proxy(torch_name, target)
    if torch_name in TORCH_MODULES or torch_name in EXTRA_TORCH_MODULES:
        return _proxy(torch_name, None)
    return None


class TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads ``torch``/``torchvision`` and their submodules as :class:`TorchModule` s."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] not in ROOTS:
            return None
        if _resolve(fullname) is None:
            parent, _, child = fullname.rpartition(".")
            target = _PROXIES[parent].__dict__["_ember_target"] if parent in _PROXIES else None
            if target is not None and child in vars(target):
                # `import torch.nn.Linear`: Ember has it, but it is no module (in PyTorch neither)
                raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
            raise MissingTorchModule(_message(fullname))
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        return _resolve(spec.name)

    def exec_module(self, module):
        """Nothing to run: the Ember module behind it is imported already."""

    def __repr__(self):
        return "<ember.compat torch finder>"


FINDER = TorchFinder()


def _tensor_getattr(self, name):
    """Called only when normal lookup fails: a torch.Tensor method Ember lacks gets the clear error."""
    if name in TORCH_TENSOR_ATTRS:
        raise MissingTorchAPI(_message(f"torch.Tensor.{name}"), name=name, obj=self)
    raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'", name=name, obj=self)


def patch_tensor():
    """Give ``ember.Tensor`` a ``__getattr__`` that names missing ``torch.Tensor`` methods (unless Ember
    defines its own ``__getattr__``, which is then left alone)."""
    from .._tensor import Tensor
    if "__getattr__" not in Tensor.__dict__:
        Tensor.__getattr__ = _tensor_getattr


def unpatch_tensor():
    from .._tensor import Tensor
    if Tensor.__dict__.get("__getattr__") is _tensor_getattr:
        del Tensor.__getattr__
