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
"""
from . import function as _function

__all__ = ["Tracer", "Call"]


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
        _function._tracer = self
        return self

    def __exit__(self, *exc):
        _function._tracer = self._prev
        for h in self._handles:
            h.remove()
        self._handles = []
        return False
