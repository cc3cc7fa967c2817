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
"""
from . import function as _function

__all__ = ["Tracer", "Call", "PlainOp", "PLAIN_OPS"]


class PlainOp:
    """Stands for a non-differentiable op in a recording (it has no Function class of its own)."""

    op = ""


_PLAIN_NAMES = ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
                "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "argmax", "argmin", "isnan", "isinf",
                "isfinite")
PLAIN_OPS = {n: type("".join(w.capitalize() for w in n.split("_")), (PlainOp,), {"op": n}) for n in _PLAIN_NAMES}


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

    ``module`` (optional): an ``nn.Module`` whose submodules name the scopes of the calls."""

    def __init__(self, module=None):
        self.module = module
        self.calls = []
        self._scopes = [""]
        self._handles = []
        self._patched = []
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

    # --- module scopes ----------------------------------------------------------------------------
    def _enter(self, name):
        def pre(module, args):
            self._scopes.append(name)
        return pre

    def _exit(self, module, args, output):
        if len(self._scopes) > 1:
            self._scopes.pop()

    def __enter__(self):
        if self.module is not None:
            for name, m in self.module.named_modules():
                self._handles.append(m.register_forward_pre_hook(self._enter(name), prepend=True))
                self._handles.append(m.register_forward_hook(self._exit, always_call=True))
        self._prev = _function._tracer
        if self._prev is None:
            self._patch_plain_ops()
        _function._tracer = self
        return self

    def __exit__(self, *exc):
        _function._tracer = self._prev
        for owner, name, value in reversed(self._patched):
            setattr(owner, name, value)
        self._patched = []
        for h in self._handles:
            h.remove()
        self._handles = []
        return False
