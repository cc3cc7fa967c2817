"""Recording the Functions a forward pass runs — the graph ``onnx.export`` and ``add_graph`` draw.

Every computation enters through ``Function.apply`` (``function.py``), so watching that one door is enough
to see a whole forward pass as a list of calls::

    with Tracer(model) as tr:          # while it is on, Function.apply reports to tr.call
        out = model(x)
    for c in tr.calls:                 # Call(fn=Addmm, args=(bias, x, w_t), outputs=<tensor>, scope="fc1")
        ...

Only the outermost call is recorded (a Function whose forward calls another is one step), the tensors
seen are kept alive so their ``id`` stays a faithful name, and each call remembers the module it ran in
(``scope``: dotted names from the module tree, like ``encoder.layers.0.linear1``), found with forward
hooks that are removed again when recording ends. When no tracer is on, ``apply`` pays one global check.
The recording is per process, not per thread: trace one forward at a time.

A few ops make tensors without any Function, because they are not differentiable: comparisons, logical and
bitwise ops, ``argmax``/``argmin``, ``isnan``/``isinf``/``isfinite``. While recording, their entry points
(the ``ember`` functions and the ``Tensor`` methods and operators that are those functions) are swapped
for wrappers that record them too, as calls of a ``PlainOp`` class named after the op (``PLAIN_OPS["gt"]``).

In-place writes (``x += y``, ``relu(x, inplace=True)``, ``x[k] = v``, ``fill_``, ``copy_``) change a tensor
without a new one: they are recorded as ``PLAIN_OPS["assign"/"setitem"/"fill"]`` calls whose output is the
written tensor, and every earlier mention of that tensor is replaced by a copy of its old value, so each
tensor object in the recording stands for one value (as in SSA form).
"""
from . import function as _function

__all__ = ["Tracer", "Call", "PlainOp", "PLAIN_OPS"]


class PlainOp:
    """Stands for a non-differentiable op in a recording (it has no Function class of its own)."""

    op = ""


_PLAIN_NAMES = ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
                "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "argmax", "argmin", "isnan", "isinf",
                "isfinite", "assign", "setitem", "fill")
PLAIN_OPS = {n: type("".join(w.capitalize() for w in n.split("_")), (PlainOp,), {"op": n}) for n in _PLAIN_NAMES}


def _tensors(obj):
    """The tensors in a nested output (tuples, lists), in order."""
    if hasattr(obj, "_data"):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    return []


class Call:
    """One recorded ``Function.apply``: the Function class, its arguments, its output(s), its module scope."""

    __slots__ = ("fn", "args", "kwargs", "outputs", "scope")

    def __init__(self, fn, args, kwargs, outputs, scope):
        self.fn, self.args, self.kwargs, self.outputs, self.scope = fn, args, kwargs, outputs, scope

    @property
    def output_list(self):
        """The outputs as a tuple (most Functions return one tensor)."""
        return self.outputs if isinstance(self.outputs, tuple) else (self.outputs,)

    def __repr__(self):
        return f"Call({self.fn.__name__}, scope={self.scope!r})"


class Tracer:
    """Context manager: while active, every outermost ``Function.apply`` is appended to ``calls``.

    ``module`` (optional): an ``nn.Module`` whose submodules name the scopes of the calls.
    ``whole``: ``{module class: accepts(module, args, kwargs)}`` — submodules of these classes are recorded as
    one call each (``fn`` is the class, ``args`` start with the module itself, ``outputs`` are the output
    tensors flattened) when ``accepts`` says so; e.g. an LSTM, which ONNX has as one op."""

    def __init__(self, module=None, whole=None):
        self.module = module
        self.whole = dict(whole or {})
        self.calls = []
        self._scopes = [""]
        self._handles = []
        self._patched = []
        self.first_snapshot = {}   # id(tensor written in place) -> the copy of its value before the first write
        self._prev = None

    # --- the hook Function.apply calls -----------------------------------------------------------
    def call(self, fn, args, kwargs):
        _function._tracer = None  # calls made inside fn's forward are part of it, not separate steps
        try:
            out = fn.apply(*args, **kwargs)
        finally:
            _function._tracer = self
        self.calls.append(Call(fn, args, kwargs, out, self._scopes[-1]))
        return out

    # --- the non-differentiable ops ---------------------------------------------------------------
    def _plain(self, marker, original):
        def wrapper(*args, **kwargs):
            if _function._tracer is not self:  # called inside another recorded op: part of it
                return original(*args, **kwargs)
            _function._tracer = None
            try:
                out = original(*args, **kwargs)
            finally:
                _function._tracer = self
            if hasattr(out, "_data"):
                self.calls.append(Call(marker, args, kwargs, out, self._scopes[-1]))
            return out
        wrapper.__name__, wrapper.__doc__ = original.__name__, original.__doc__
        return wrapper

    def _patch_plain_ops(self):
        """Swap every attribute of ``ember``, ``ember.functions`` and ``Tensor`` that is one of the plain
        ops for a recording wrapper (``x > 0`` is ``Tensor.__gt__``, the very function ``ember.gt``)."""
        import ember
        from .. import functions as F
        from .._tensor import Tensor
        originals = {getattr(F, n): PLAIN_OPS[n] for n in _PLAIN_NAMES if hasattr(F, n)}
        wrappers = {}
        for owner in (F, ember, Tensor):
            for name, value in list(vars(owner).items()):
                marker = originals.get(value) if callable(value) else None
                if marker is not None:
                    w = wrappers.setdefault(id(value), self._plain(marker, value))
                    self._patched.append((owner, name, value))
                    setattr(owner, name, w)
        invert = Tensor.__invert__  # ~mask on a bool tensor is logical_not
        self._patched.append((Tensor, "__invert__", invert))
        Tensor.__invert__ = self._plain(PLAIN_OPS["bitwise_not"], invert)

    # --- in-place writes -----------------------------------------------------------------------------
    def _snapshot(self, t):
        """Replace ``t`` by a copy of its current value in every call recorded so far; return the copy."""
        from .._tensor import wrap
        snap = wrap(t._data.copy())
        self.first_snapshot.setdefault(id(t), snap)  # an input/parameter's value before any write
        swap = (lambda a: snap if a is t else a)
        for c in self.calls:
            if any(a is t for a in c.args) or any(a is t for a in c.kwargs.values()) or \
                    any(o is t for o in c.output_list):
                c.args = tuple(swap(a) for a in c.args)
                c.kwargs = {k: swap(v) for k, v in c.kwargs.items()}
                c.outputs = tuple(swap(o) for o in c.outputs) if isinstance(c.outputs, tuple) else swap(c.outputs)
        return snap

    def _source(self, arr):
        """The recorded tensor whose array is ``arr`` (what an in-place method computed), else a new one."""
        from .._tensor import wrap
        for c in reversed(self.calls):
            for o in c.output_list:
                if getattr(o, "_data", None) is arr:
                    return o
        return wrap(arr.copy() if hasattr(arr, "copy") else arr)

    def _writing(self, marker, original, inputs):
        """Wrap an in-place writer ``original(target, ...)``; ``inputs(old, *args)`` gives the call's arguments."""
        def wrapper(target, *args, **kwargs):
            if _function._tracer is not self:
                return original(target, *args, **kwargs)
            old = self._snapshot(target)
            _function._tracer = None
            try:
                res = original(target, *args, **kwargs)
            finally:
                _function._tracer = self
            self.calls.append(Call(marker, inputs(old, *args, **kwargs), {}, target, self._scopes[-1]))
            return res
        return wrapper

    def _patch_writes(self):
        from .. import _methods
        from .._tensor import Tensor
        from ..nn import functional as nnF
        from .. import tensor as as_tensor
        assign, fill = PLAIN_OPS["assign"], PLAIN_OPS["fill"]
        patches = [
            (_methods, "_write", self._writing(assign, _methods._write, lambda old, arr: (old, self._source(arr)))),
            (nnF, "_write_inplace", self._writing(assign, nnF._write_inplace, lambda old, out: (old, out))),
            (Tensor, "copy_", self._writing(assign, Tensor.copy_, lambda old, src, non_blocking=False: (
                old, src if hasattr(src, "_data") else as_tensor(src)))),
            (Tensor, "fill_", self._writing(fill, Tensor.fill_, lambda old, value: (old, value))),
            (Tensor, "zero_", self._writing(fill, Tensor.zero_, lambda old: (old, 0))),
            (Tensor, "__setitem__", self._writing(PLAIN_OPS["setitem"], Tensor.__setitem__,
                                                  lambda old, key, value: (old, key, value))),
        ]
        for owner, name, w in patches:
            self._patched.append((owner, name, vars(owner)[name]))
            setattr(owner, name, w)

    # --- module scopes ----------------------------------------------------------------------------
    def _enter(self, name):
        def pre(module, args):
            self._scopes.append(name)
        return pre

    def _exit(self, module, args, output):
        if len(self._scopes) > 1:
            self._scopes.pop()

    def _whole_forward(self, m, original, accepts):
        def forward(*args, **kwargs):
            if _function._tracer is not self or not accepts(m, args, kwargs):
                return original(*args, **kwargs)
            _function._tracer = None
            try:
                out = original(*args, **kwargs)
            finally:
                _function._tracer = self
            self.calls.append(Call(type(m), (m,) + args, kwargs, tuple(_tensors(out)), self._scopes[-1]))
            return out
        return forward

    def __enter__(self):
        if self.module is not None:
            for name, m in self.module.named_modules():
                self._handles.append(m.register_forward_pre_hook(self._enter(name), prepend=True))
                self._handles.append(m.register_forward_hook(self._exit, always_call=True))
                accepts = next((a for cls, a in self.whole.items() if isinstance(m, cls)), None)
                if accepts is not None:
                    self._patched.append((m, "forward", m.__dict__.get("forward")))
                    m.forward = self._whole_forward(m, m.forward, accepts)
        self._prev = _function._tracer
        if self._prev is None:
            self._patch_plain_ops()
            self._patch_writes()
        _function._tracer = self
        return self

    def __exit__(self, *exc):
        _function._tracer = self._prev
        for owner, name, value in reversed(self._patched):
            if value is None:  # an instance attribute added while recording
                del owner.__dict__[name]
            else:
                setattr(owner, name, value)
        self._patched = []
        for h in self._handles:
            h.remove()
        self._handles = []
        return False
