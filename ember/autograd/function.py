"""``Function``: the one door through which every computation enters Ember.

A differentiable op is a ``Function`` subclass with two static methods side by side::

    class Mul(Function):
        '''d(a*b)/da = b,  d(a*b)/db = a'''
        @staticmethod
        def forward(ctx, a, b):              # runs on arrays; grad recording is off inside
            ctx.save_for_backward(a, b)
            return a._data * b._data          # an ndarray is wrapped into a Tensor for you
        @staticmethod
        def backward(ctx, grad):             # Tensor ops, so higher-order grads come for free
            a, b = ctx.saved_tensors
            return grad * b, grad * a        # one gradient (or None) per forward input

``Mul.apply(x, y)`` runs ``forward`` and, when grad mode is on and an input requires grad, records a
graph node: the ``ctx`` object itself, an instance of a class named ``MulBackward0`` — that is
``y.grad_fn``. ``backward`` is later called by the engine (``engine.py``).
"""
from .grad_mode import STATE

_tracer = None  # the Tracer (tracer.py) recording the Functions a forward runs, or None
_autocast = None  # while autocast is on: amp.autocast_mode._cast_args, which recasts listed ops' inputs
_profiler = None  # while a profiler records (profiler.py): the recorder that times each op

__all__ = ["Function", "Node", "FunctionCtx", "once_differentiable"]


class Node:
    """A recorded op (a ``grad_fn``). Edges to the nodes that produced its inputs are ``next_functions``."""

    _fn = None                # the Function class whose backward this node runs
    _saved = ()               # ((tensor, version), ...) from save_for_backward
    _freed = False            # True once backward ran without retain_graph and freed saved tensors
    _spent = False            # True once backward ran without retain_graph, nothing saved to free
    _edges = ()               # per forward input: (node, output_nr) or None
    _in_meta = ()             # per forward input: (shape, numpy dtype) of a grad-requiring tensor, else None
    _n_out = 1
    _out_meta = None          # per output: (shape, numpy dtype, xp), to make zero grads for unused outputs
    _pre_hooks = None         # {output_nr: [hook(grad) -> grad or None]} from Tensor.register_hook
    _hooks = None             # [hook(grad_inputs, grad_outputs)] run after backward
    materialize_grads = True
    _non_diff = ()
    _dirty = ()
    needs_input_grad = ()

    def name(self):
        return type(self).__name__

    @property
    def next_functions(self):
        """One ``(node, output_nr)`` per differentiable input, ``(None, 0)`` where no gradient flows.

        Like torch, Python numbers and integer/bool tensors (indices, masks) are not inputs here, except the
        number operands of arithmetic (``x * 2``), which torch wraps into tensors (``_scalar_edges``)."""
        k = self._fn._scalar_edges if self._fn is not None else 0
        return tuple(e if e is not None else (None, 0) for i, (e, m) in enumerate(zip(self._edges, self._in_meta))
                     if m is None or m.__class__ is tuple or (m == "num" and i < k))

    # --- the ctx API used inside forward/backward ---------------------------------------------
    def save_for_backward(self, *tensors):
        """Keep tensors for backward; their versions are checked when ``saved_tensors`` is read."""
        self._saved = tuple([(t, t._vc[0]) if t is not None else (None, 0) for t in tensors])

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed). Saved intermediate values of the graph are freed when you call "
                ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved tensors after calling backward.")
        out = []
        for t, v in self._saved:
            if t is not None and t._vc[0] != v:
                raise inplace_error(t, t.grad_fn, t._output_nr, t._vc[0], v)
            out.append(t)
        return tuple(out)

    saved_variables = saved_tensors

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that carry no gradient (e.g. the indices of ``max``)."""
        self._non_diff = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward and may return replacements."""
        return self._add_pre_hook(-1, fn)

    def _add_pre_hook(self, key, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault(key, [])
        lst.append(fn)
        return _Handle(lst, fn)

    def __call__(self, *grads):
        return self._fn.backward(self, *grads)

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"


FunctionCtx = Node


def inplace_error(t, producer, output_nr, version, expected):
    """torch's error for a saved tensor changed in place before backward (``producer``: the node that made it)."""
    import re
    kind = "" if producer is None else \
        f", which is output {output_nr} of {re.sub(r'Backward[0-9]*$', '', producer.name())}"
    from ..hints import add_hint
    return add_hint(RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[torch.{_type_name(t)} {list(t.shape)}]{kind}, is at version {version}; expected version {expected} "
        "instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True, check_nan=False)."), "inplace_saved")


def _type_name(t):
    return {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
            "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
            "uint8": "ByteTensor", "bool": "BoolTensor", "bfloat16": "BFloat16Tensor"}.get(t.dtype.name, "Tensor")


class _Handle:
    """What ``register_hook`` returns: ``.remove()`` takes the hook out again."""

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self):
        if self._fn in self._lst:
            self._lst.remove(self._fn)


class AccumulateGrad(Node):
    """The node at a leaf tensor: the gradient that reaches it is added into ``leaf.grad``."""

    _post_hooks = None  # register_post_accumulate_grad_hook: hook(tensor) after .grad was updated

    def __init__(self, variable):
        self.variable = variable
        self._edges = ()


class _FunctionMeta(type):
    """Gives each Function subclass its node class, named as torch names it (``MulBackward0``)."""

    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        node_name = ns.get("_grad_fn_name") or getattr(cls, "_grad_fn_name", None) or name + "Backward"
        cls._node_cls = type(node_name, (Node,), {"_fn": cls, "__module__": cls.__module__})
        # torch-2 style (forward without ctx + setup_context)? decided once here, not on every apply
        cls._has_setup = "Function" in globals() and cls.setup_context is not Function.setup_context

    def __setattr__(cls, key, value):
        super().__setattr__(key, value)
        if key == "setup_context":  # assigned after the class was made
            super().__setattr__("_has_setup", cls.setup_context is not Function.setup_context)


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable ops; subclass it and call ``YourOp.apply(*inputs)``."""

    _scalar_edges = 0  # leading argument positions where a Python number still counts as an input

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Optional torch-2 style: forward without ctx, context filled here."""

    @classmethod
    def apply(cls, *args, **kwargs):
        if _tracer is not None:  # a forward being recorded (tracer.py): one global check when off
            return _tracer.call(cls, args, kwargs)
        if _profiler is not None:  # a profile being recorded (profiler.py): it times this call
            return _profiler.op(cls, args, kwargs)
        if _autocast is not None:  # mixed precision (amp/autocast_mode.py): one global check when off
            args = _autocast(cls, args)
        ctx = cls._node_cls()
        prev = STATE.enabled
        if prev:  # which inputs need a gradient (unrolled for ops of one to three inputs: this runs per op)
            n = len(args)
            if n == 2:
                a, b = args
                flags = (a.__class__ in _TENSOR_TYPES and a._requires_grad,
                         b.__class__ in _TENSOR_TYPES and b._requires_grad)
            elif n == 1:
                a = args[0]
                flags = (a.__class__ in _TENSOR_TYPES and a._requires_grad,)
            elif n == 3:
                a, b, c = args
                flags = (a.__class__ in _TENSOR_TYPES and a._requires_grad,
                         b.__class__ in _TENSOR_TYPES and b._requires_grad,
                         c.__class__ in _TENSOR_TYPES and c._requires_grad)
            else:
                flags = tuple([a.__class__ in _TENSOR_TYPES and a._requires_grad for a in args])
            record = True in flags
            STATE.enabled = False
        else:
            flags, record = (False,) * len(args), False
        ctx.needs_input_grad = flags
        try:
            if cls._has_setup:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        if out.__class__ is _np.ndarray:  # the common case: one fresh NumPy result
            outs = _wrap(out)
        elif out.__class__ is tuple:
            outs = tuple(_as_output(o, args, ctx) for o in out)
        else:
            outs = _as_output(out, args, ctx)
        if ctx._dirty:
            for t in ctx._dirty:
                t._vc[0] += 1
        if record:
            _connect(ctx, args, outs, flags)
        return outs


def _as_output(o, args, ctx):
    """Wrap an ndarray result; an input returned unchanged (and not marked dirty) becomes a fresh alias."""
    cls = o.__class__
    if cls is _np.ndarray:  # the common case: a fresh NumPy result
        return _wrap(o)
    if cls in _TENSOR_TYPES:
        if any(o is a for a in args) and not any(o is d for d in ctx._dirty):
            return _alias(o)
        return o
    if _is_array(o) or isinstance(o, _np.generic):  # NumPy reductions give scalars: make them 0-d tensors
        return _wrap(o)
    return o


def _connect(ctx, args, outs, flags):
    """Record ``ctx`` as the grad_fn of the outputs and link it to the nodes that made the inputs
    (``flags``: per argument, whether it is a tensor that requires grad)."""
    edges, meta = [], []
    for a, f in zip(args, flags):
        if f:
            if a._base is not None:
                fresh_view(a)
            fn = a.grad_fn
            if fn is None:
                fn = a._accum
                if fn is None:
                    fn = a._accum = AccumulateGrad(a)
                edges.append((fn, 0))
            else:
                edges.append((fn, a._output_nr))
            d = a._data
            meta.append((d.shape, d.dtype))
        else:
            edges.append(None)
            # what next_functions shows: None a float tensor without grad, "num" a number, False an int tensor
            meta.append(("num" if a.__class__ not in _TENSOR_TYPES else None if a._data.dtype.kind in "fcV"
                         else False))
    ctx._edges, ctx._in_meta = edges, meta
    if outs.__class__ is _Tensor:   # the common case, _attach inlined (this runs once per recorded op)
        if outs._data.dtype.kind in "fcV" and not ctx._non_diff:
            if outs.grad_fn is None and outs._requires_grad:
                return _attach(outs, ctx, 0)            # (raises: a leaf changed in place)
            outs.grad_fn = ctx
            outs._requires_grad = True
            outs._output_nr = 0
            return
    if outs.__class__ is tuple:
        ctx._n_out = len(outs)
        ctx._out_meta = [(o._data.shape, o._data.dtype, _xp(o._data)) if o.__class__ in _TENSOR_TYPES else None
                         for o in outs]
        for i, o in enumerate(outs):
            if o.__class__ in _TENSOR_TYPES:
                _attach(o, ctx, i)
    elif outs.__class__ in _TENSOR_TYPES:
        _attach(outs, ctx, 0)


def _attach(o, ctx, i):
    """Make ``ctx`` the grad_fn of output ``o`` (unless it is integer-valued or marked non-differentiable)."""
    if o._data.dtype.kind not in "fcV" or (ctx._non_diff and any(o is n for n in ctx._non_diff)):
        return
    if o.grad_fn is None and o._requires_grad:
        from ..hints import add_hint
        raise add_hint(RuntimeError("a leaf Variable that requires grad is being used in an in-place operation."),
                       "leaf_inplace")
    o.grad_fn = ctx
    o._requires_grad = True
    o._output_nr = i


def fresh_view(t):
    """A view whose storage was changed in place through another tensor gets its node rebuilt first."""
    v = t.__dict__.get("_view_ver")
    if v is not None and v != t._vc[0]:
        from ..ops.movement import refresh_view
        refresh_view(t)


def once_differentiable(fn):
    """Marks a backward that is not itself differentiable (it runs with grad disabled anyway)."""
    return fn


# Late imports (the tensor module imports this one).
from .._tensor import Tensor, wrap as _wrap, _alias, is_array as _is_array  # noqa: E402
from ..device import array_module as _xp  # noqa: E402
import numpy as _np  # noqa: E402

_TENSOR_TYPES = Tensor._subclasses  # a set the tensor module keeps up to date (Tensor, Parameter, ...)
_Tensor = Tensor
