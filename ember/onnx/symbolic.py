"""One ONNX translation per Ember Function — the exporter's table, like torch's ``symbolic_opset*.py``.

Each entry ``TRANSLATE[FunctionClass] = fn(g, c)`` receives the graph builder ``g`` and the recorded call
``c`` (a ``CallView``: ``c.arg(i)`` the raw argument, ``c.val(i)`` the ONNX value name of a tensor argument
— a number becomes a constant of the output's dtype —, ``c.outs`` the output tensors the forward made)
and returns the ONNX name(s) of the output(s). Shapes and dtypes are read off the recorded tensors, so
most translators are a single node; a few ops ONNX lacks are written as small compositions
(``gelu`` = x·Φ(x) through Erf, ``var`` through ReduceMean, fused attention through MatMul/Softmax).
A Function missing from the table stops the export with ``UnsupportedOperatorError`` naming it.
"""
import math

import numpy as np

from .errors import UnsupportedOperatorError
from ..ops import pointwise as P, reduce as R, movement as M, linalg as L, nn as N, conv as C, attention as A
from ..nn.module import BackwardHookFunction
from ..autograd.tracer import PLAIN_OPS

__all__ = ["TRANSLATE", "translation", "onnx_dtype"]

TRANSLATE = {}


def _host(a):
    """A NumPy copy of a NumPy or CuPy array (CuPy arrays have ``.get()``)."""
    return np.asarray(a.get() if hasattr(a, "get") else a)


def onnx_dtype(np_dtype):
    from onnx import helper
    return helper.np_dtype_to_tensor_dtype(np.dtype(np_dtype))


def translation(fn_cls):
    """The translator of a Function class; a subclass that only renames its node (``_named``) uses its
    base's; a user's Function with a ``symbolic(g, *inputs)`` staticmethod (torch's way to export a custom
    op) is translated by it."""
    if fn_cls not in TRANSLATE and callable(getattr(fn_cls, "symbolic", None)):
        return _user_symbolic
    while fn_cls is not None:
        t = TRANSLATE.get(fn_cls)
        if t is not None:
            return t
        own = {k for k in vars(fn_cls) if not (k.startswith("__") or k in _CLASS_BOOKKEEPING)}
        fn_cls = fn_cls.__bases__[0] if not own and fn_cls.__bases__ else None
    return None


_CLASS_BOOKKEEPING = ("_grad_fn_name", "_node_cls", "_has_setup")  # set on every Function class by its metaclass


def _reg(*classes):
    def deco(fn):
        for cls in classes:
            TRANSLATE[cls] = fn
        return fn
    return deco


def _axes_op(g, op, x, axes, keepdims, axes_as_input_from):
    """Reductions took ``axes`` as an attribute until an opset (13 for ReduceSum, 18 for the rest)."""
    if axes is None:
        return g.op(op, x, keepdims=int(keepdims))
    if g.opset >= axes_as_input_from:
        return g.op(op, x, g.ints(axes), keepdims=int(keepdims))
    return g.op(op, x, axes=list(axes), keepdims=int(keepdims))


def reduce(g, op, x, axes, keepdims):
    return _axes_op(g, op, x, axes, keepdims, 13 if op == "ReduceSum" else 18)


def _same_dtype(g, c, i, dtype):
    """Argument ``i`` as a value of ``dtype`` (numbers become constants, other dtypes are cast)."""
    a = c.arg(i)
    if not c.is_tensor(i):
        return g.const(np.asarray(a, dtype=dtype), name="onnx::Scalar")
    name = c.val(i)
    if a._data.dtype != dtype:
        name = g.op("Cast", name, to=onnx_dtype(dtype))
    return name


# ---- element-wise ------------------------------------------------------------------------------------
def _binary(op):
    def fn(g, c):
        dt = c.out_dtype
        return g.op(op, _same_dtype(g, c, 0, dt), _same_dtype(g, c, 1, dt))
    return fn


for _cls, _op in ((P.Mul, "Mul"), (P.Maximum, "Max"), (P.Minimum, "Min")):
    TRANSLATE[_cls] = _binary(_op)
TRANSLATE[P.PowTensor] = _binary("Pow")


@_reg(P.Add, P.Sub)
def _add_sub(g, c):
    dt = c.out_dtype
    a, b = _same_dtype(g, c, 0, dt), _same_dtype(g, c, 1, dt)
    alpha = c.arg(2, 1)
    if alpha != 1:
        b = g.op("Mul", b, g.const(np.asarray(alpha, dt)))
    return g.op("Add" if c.fn is P.Add else "Sub", a, b)


@_reg(P.RSub)
def _rsub(g, c):
    dt = c.out_dtype
    return g.op("Sub", _same_dtype(g, c, 1, dt), _same_dtype(g, c, 0, dt))


@_reg(P.Div)
def _div(g, c):
    dt = c.out_dtype
    mode = c.arg(2, None)
    if mode is None:
        return g.op("Div", _same_dtype(g, c, 0, dt), _same_dtype(g, c, 1, dt))
    if np.dtype(dt).kind != "f":
        raise c.unsupported(f"div with rounding_mode={mode!r} on integers")
    q = g.op("Div", _same_dtype(g, c, 0, dt), _same_dtype(g, c, 1, dt))
    if mode == "floor":
        return g.op("Floor", q)
    return g.op("Mul", g.op("Sign", q), g.op("Floor", g.op("Abs", q)))  # trunc


@_reg(P.Pow)
def _pow(g, c):
    dt = c.out_dtype
    e = c.arg(1)
    if not c.is_tensor(1) and e == 2:
        x = _same_dtype(g, c, 0, dt)
        return g.op("Mul", x, x)
    return g.op("Pow", _same_dtype(g, c, 0, dt), _same_dtype(g, c, 1, dt))


def _unary(op):
    return lambda g, c: g.op(op, _same_dtype(g, c, 0, c.out_dtype))


for _cls, _op in ((P.Neg, "Neg"), (P.Exp, "Exp"), (P.Log, "Log"), (P.Sqrt, "Sqrt"), (P.Sin, "Sin"), (P.Cos, "Cos"),
                  (P.Tan, "Tan"), (P.Tanh, "Tanh"), (P.Sigmoid, "Sigmoid"), (P.Reciprocal, "Reciprocal"),
                  (P.Erf, "Erf"), (P.Abs, "Abs"), (P.Relu, "Relu"), (P.Asin, "Asin"), (P.Acos, "Acos"),
                  (P.Atan, "Atan"), (P.Sinh, "Sinh"), (P.Cosh, "Cosh"), (P.Asinh, "Asinh"), (P.Acosh, "Acosh"),
                  (P.Atanh, "Atanh"), (N.Hardswish, "HardSwish")):
    TRANSLATE[_cls] = _unary(_op)


def _log_base(base):
    def fn(g, c):
        dt = c.out_dtype
        return g.op("Div", g.op("Log", _same_dtype(g, c, 0, dt)), g.const(np.asarray(math.log(base), dt)))
    return fn


TRANSLATE[P.Log2] = _log_base(2)
TRANSLATE[P.Log10] = _log_base(10)


@_reg(P.Log1p)
def _log1p(g, c):
    dt = c.out_dtype
    return g.op("Log", g.op("Add", _same_dtype(g, c, 0, dt), g.const(np.asarray(1, dt))))


@_reg(P.Expm1)
def _expm1(g, c):
    dt = c.out_dtype
    return g.op("Sub", g.op("Exp", _same_dtype(g, c, 0, dt)), g.const(np.asarray(1, dt)))


@_reg(P.Rsqrt)
def _rsqrt(g, c):
    return g.op("Reciprocal", g.op("Sqrt", _same_dtype(g, c, 0, c.out_dtype)))


for _cls, _op in ((P.Floor, "Floor"), (P.Ceil, "Ceil"), (P.Sign, "Sign")):
    TRANSLATE[_cls] = _unary(_op)


@_reg(P.Round)
def _round(g, c):
    """Round half to even, as torch; with ``decimals``: round(x * 10^d) / 10^d."""
    dt = c.out_dtype
    x = _same_dtype(g, c, 0, dt)
    d = c.arg(1, 0) or c.kwargs_get("decimals", 0) or 0
    if np.dtype(dt).kind != "f":
        return g.op("Identity", x)
    if not d:
        return g.op("Round", x)
    k = g.const(np.asarray(10.0 ** d, dt))
    return g.op("Div", g.op("Round", g.op("Mul", x, k)), k)


@_reg(P.Trunc, P.Frac)
def _trunc(g, c):
    x = _same_dtype(g, c, 0, c.out_dtype)
    if np.dtype(c.out_dtype).kind != "f":
        return g.op("Identity", x) if c.fn is P.Trunc else g.op("Sub", x, x)
    t = g.op("Mul", g.op("Sign", x), g.op("Floor", g.op("Abs", x)))
    return t if c.fn is P.Trunc else g.op("Sub", x, t)


@_reg(P.Remainder, P.RemainderScalar, P.Fmod, P.FmodScalar)
def _remainder(g, c):
    """remainder takes the divisor's sign (a - floor(a/b) b), fmod the dividend's (ONNX Mod, fmod=1)."""
    dt = c.out_dtype
    a, b = _same_dtype(g, c, 0, dt), _same_dtype(g, c, 1, dt)
    if c.fn in (P.Fmod, P.FmodScalar):
        return g.op("Mod", a, b, fmod=int(np.dtype(dt).kind == "f"))
    if np.dtype(dt).kind != "f":
        return g.op("Mod", a, b, fmod=0)
    return g.op("Sub", a, g.op("Mul", g.op("Floor", g.op("Div", a, b)), b))


@_reg(P.Cast)
def _cast(g, c):
    return g.op("Cast", c.val(0), to=onnx_dtype(c.out_dtype))


@_reg(P.Clamp, N.Hardtanh)
def _clamp(g, c):
    dt = c.out_dtype
    x = _same_dtype(g, c, 0, dt)
    lo, hi = c.arg(1, None), c.arg(2, None)
    if lo is not None:
        x = g.op("Max", x, _same_dtype(g, c, 1, dt))
    if hi is not None:
        x = g.op("Min", x, _same_dtype(g, c, 2, dt))
    return x


@_reg(P.Where)
def _where(g, c):
    dt = c.out_dtype
    cond = c.val(0) if c.is_tensor(0) else g.const(np.asarray(c.arg(0), bool))
    return g.op("Where", cond, _same_dtype(g, c, 1, dt), _same_dtype(g, c, 2, dt))


@_reg(P.Lerp)
def _lerp(g, c):
    dt = c.out_dtype
    a, b, w = (_same_dtype(g, c, i, dt) for i in range(3))
    return g.op("Add", a, g.op("Mul", w, g.op("Sub", b, a)))


@_reg(BackwardHookFunction)
def _hook_identity(g, c):
    return [g.op("Identity", c.val(i)) for i in range(2, len(c.args)) if c.is_tensor(i)]


# ---- activations and normalisation -------------------------------------------------------------------
@_reg(N.Softmax, N.LogSoftmax)
def _softmax(g, c):
    dim = c.arg(1) % c.arg(0).dim() if c.arg(0).dim() else 0
    return g.op("Softmax" if c.fn is N.Softmax else "LogSoftmax", c.val(0), axis=dim)


@_reg(N.Gelu)
def _gelu(g, c):
    """gelu(x) = x Φ(x) = x/2 (1 + erf(x/√2));  'tanh': x/2 (1 + tanh(√(2/π)(x + 0.044715 x³)))."""
    dt = c.out_dtype
    x = c.val(0)
    k = lambda v: g.const(np.asarray(v, dt))  # noqa: E731
    if c.arg(1, "none") == "tanh":
        inner = g.op("Mul", k(math.sqrt(2 / math.pi)),
                     g.op("Add", x, g.op("Mul", k(0.044715), g.op("Mul", x, g.op("Mul", x, x)))))
        t = g.op("Tanh", inner)
    else:
        t = g.op("Erf", g.op("Div", x, k(math.sqrt(2.0))))
    return g.op("Mul", g.op("Mul", x, k(0.5)), g.op("Add", t, k(1.0)))


@_reg(N.LeakyRelu)
def _leaky(g, c):
    return g.op("LeakyRelu", c.val(0), alpha=float(c.arg(1)))


@_reg(N.Elu, N.Celu)
def _elu(g, c):
    alpha, scale, input_scale = (float(c.arg(i)) for i in (1, 2, 3))
    x = c.val(0)
    if c.fn is N.Celu:
        return g.op("Celu", x, alpha=alpha)
    if input_scale != 1:
        x = g.op("Mul", x, g.const(np.asarray(input_scale, c.out_dtype)))
    y = g.op("Elu", x, alpha=alpha)
    return y if scale == 1 else g.op("Mul", y, g.const(np.asarray(scale, c.out_dtype)))


@_reg(N.Mish)
def _mish(g, c):
    return g.op("Mul", c.val(0), g.op("Tanh", g.op("Softplus", c.val(0))))


@_reg(N.Silu)
def _silu(g, c):
    return g.op("Mul", c.val(0), g.op("Sigmoid", c.val(0)))


@_reg(N.Softplus)
def _softplus(g, c):
    beta, threshold = float(c.arg(1)), float(c.arg(2))
    dt = c.out_dtype
    x = c.val(0)
    bx = x if beta == 1 else g.op("Mul", x, g.const(np.asarray(beta, dt)))
    sp = g.op("Softplus", bx)
    if beta != 1:
        sp = g.op("Div", sp, g.const(np.asarray(beta, dt)))
    return g.op("Where", g.op("Greater", bx, g.const(np.asarray(threshold, dt))), x, sp)  # linear above threshold


@_reg(N.Hardsigmoid)
def _hardsigmoid(g, c):
    return g.op("HardSigmoid", c.val(0), alpha=1.0 / 6, beta=0.5)


@_reg(N.LogSigmoid)
def _logsigmoid(g, c):
    return g.op("Neg", g.op("Softplus", g.op("Neg", c.val(0))))


def _param_or(g, c, i, shape, fill):
    return c.val(i) if c.is_tensor(i) else g.const(np.full(shape, fill, c.out_dtype))


@_reg(N.LayerNorm)
def _layer_norm(g, c):
    x, nd, eps = c.arg(0), c.arg(3), float(c.arg(4))
    shape = x.shape[x.dim() - nd:]
    w, b = _param_or(g, c, 1, shape, 1), _param_or(g, c, 2, shape, 0)
    if g.opset >= 17:
        return g.op("LayerNormalization", c.val(0), w, b, axis=-nd, epsilon=eps)
    axes = list(range(-nd, 0))
    mu = reduce(g, "ReduceMean", c.val(0), axes, True)
    d = g.op("Sub", c.val(0), mu)
    var = reduce(g, "ReduceMean", g.op("Mul", d, d), axes, True)
    y = g.op("Div", d, g.op("Sqrt", g.op("Add", var, g.const(np.asarray(eps, c.out_dtype)))))
    return g.op("Add", g.op("Mul", y, w), b)


@_reg(N.GroupNorm)
def _group_norm(g, c):
    """Normalise each of G channel groups over (channels in group, spatial): reshape to (N, G, -1),
    standardise along the last axis, reshape back, then the per-channel affine."""
    x, G, eps = c.arg(0), int(c.arg(3)), float(c.arg(4))
    dt = c.out_dtype
    xr = g.op("Reshape", c.val(0), g.ints([0, G, -1]))
    mu = reduce(g, "ReduceMean", xr, [2], True)
    d = g.op("Sub", xr, mu)
    var = reduce(g, "ReduceMean", g.op("Mul", d, d), [2], True)
    y = g.op("Div", d, g.op("Sqrt", g.op("Add", var, g.const(np.asarray(eps, dt)))))
    y = g.op("Reshape", y, g.op("Shape", c.val(0)))
    per_channel = [x.shape[1]] + [1] * (x.dim() - 2)
    if c.is_tensor(1):
        y = g.op("Mul", y, g.op("Reshape", c.val(1), g.ints(per_channel)))
    if c.is_tensor(2):
        y = g.op("Add", y, g.op("Reshape", c.val(2), g.ints(per_channel)))
    return y


@_reg(N.RmsNorm)
def _rms_norm(g, c):
    x, nd, eps = c.arg(0), c.arg(2), c.arg(3)
    dt = c.out_dtype
    if eps is None:
        eps = float(np.finfo(dt).eps)
    ms = reduce(g, "ReduceMean", g.op("Mul", c.val(0), c.val(0)), list(range(-nd, 0)), True)
    y = g.op("Mul", c.val(0), g.op("Reciprocal", g.op("Sqrt", g.op("Add", ms, g.const(np.asarray(eps, dt))))))
    return g.op("Mul", y, c.val(1)) if c.is_tensor(1) else y


@_reg(N.BatchNorm)
def _batch_norm(g, c):
    x, rm, rv, training, momentum, eps = c.arg(0), c.arg(3), c.arg(4), c.arg(5), c.arg(6), float(c.arg(7))
    if training or rm is None:
        raise c.unsupported("batch_norm in training mode (export runs the model in eval mode; batch statistics "
                            "are not exported)")
    C_ = x.shape[1]
    w, b = _param_or(g, c, 1, (C_,), 1), _param_or(g, c, 2, (C_,), 0)
    return g.op("BatchNormalization", c.val(0), w, b, c.val(3), c.val(4), epsilon=eps,
                momentum=1.0 - float(momentum or 0.1))


@_reg(N.Embedding)
def _embedding(g, c):
    return g.op("Gather", c.val(0), c.val(1), axis=0)


@_reg(N.Dropout)
def _dropout(g, c):
    """Only recorded when exporting in training mode (eval-mode dropout is the identity and runs no
    Function): ONNX Dropout with training_mode on."""
    dt = c.out_dtype
    out, _mask = g.op("Dropout", c.val(0), g.const(np.asarray(c.arg(1), dt)), g.const(np.asarray(True)), n_out=2)
    return out


# ---- matrix products -------------------------------------------------------------------------------
@_reg(L.MatMul, L.Mm, L.Bmm, L.Dot, L.Mv, L.VecMat, L.UnsafeMatMul)
def _matmul(g, c):
    dt = c.out_dtype
    return g.op("MatMul", _same_dtype(g, c, 0, dt), _same_dtype(g, c, 1, dt))


@_reg(L.Addmm)
def _addmm(g, c):
    """beta*c + alpha*(a @ b) is Gemm; ``b = W^T`` (nn.Linear) is read as W with transB=1."""
    beta, alpha = float(c.arg(3, 1)), float(c.arg(4, 1))
    b, trans_b = c.val(2), 0
    t = g.made_by(b, "Transpose")
    if t is not None and list(t.attribute[0].ints) == [1, 0]:
        b, trans_b = t.input[0], 1
    return g.op("Gemm", c.val(1), b, c.val(0), alpha=alpha, beta=beta, transB=trans_b)


@_reg(L.Einsum)
def _einsum(g, c):
    return g.op("Einsum", *[c.val(i) for i in range(1, len(c.args))], equation=c.arg(0).replace(" ", ""))


# ---- shapes and views --------------------------------------------------------------------------------
@_reg(M.View, M.Reshape)
def _reshape(g, c):
    """The target shape. With dynamic axes, the sizes that changed between the two recordings are written
    so they hold for any size: copied from the input (0) where that dim stays in place, else inferred
    (-1) — once; a second such dim is read from the input's shape at run time."""
    src, dst = list(c.arg(0).shape), list(c.outs[0].shape)
    asrc, adst = c.alt_shape(0), c.alt_shape(0, out=True)
    shape, dynamic = [], []
    for i, d in enumerate(dst):
        if adst[i] == d:
            shape.append(d)
        elif i < len(src) and src[i] == d and asrc[i] == adst[i]:
            shape.append(0)
        else:
            shape.append(-1)
            dynamic.append(i)
    if len(dynamic) <= 1 or 0 in dst:
        return g.op("Reshape", c.val(0), g.ints(shape))
    parts = [g.ints([s]) if s != -1 else c.dim_of(d, adst[i]) for i, (s, d) in enumerate(zip(shape, dst))]
    if any(p is None for p in parts[1:]) or parts[0] is None and dynamic[0] != 0:
        raise c.unsupported("a reshape whose several sizes follow the dynamic axes in ways not read off an input")
    if parts[0] is None:
        parts[0] = g.ints([-1])
    return g.op("Reshape", c.val(0), g.op("Concat", *parts, axis=0))


@_reg(M.Permute)
def _permute(g, c):
    n = c.arg(0).dim()
    return g.op("Transpose", c.val(0), perm=[d % n for d in c.arg(1)])


@_reg(M.Transpose, M.T)
def _transpose(g, c):
    n = c.arg(0).dim()
    if n < 2:
        return g.op("Identity", c.val(0))
    d0, d1 = (c.arg(1), c.arg(2)) if len(c.args) > 2 else (0, 1)
    perm = list(range(n))
    perm[d0 % n], perm[d1 % n] = perm[d1 % n], perm[d0 % n]
    return g.op("Transpose", c.val(0), perm=perm)


@_reg(M.Expand)
def _expand(g, c):
    """Dims the input already has are kept (1 in Expand's shape); a new size that follows a dynamic axis
    (``cls_token.expand(x.shape[0], -1, -1)``) is read from that input at run time."""
    src, dst = list(c.arg(0).shape), list(c.outs[0].shape)
    adst = c.alt_shape(0, out=True)
    lead = len(dst) - len(src)
    shape = [1 if i >= lead and src[i - lead] == d else d for i, d in enumerate(dst)]
    moving = [i for i, (d, a) in enumerate(zip(dst, adst)) if d != a and shape[i] != 1]
    if not moving:
        return g.op("Expand", c.val(0), g.ints(shape))
    parts = [c.dim_of(d, adst[i]) if i in moving else g.ints([s]) for i, (s, d) in enumerate(zip(shape, dst))]
    if any(p is None for p in parts):
        raise c.unsupported("an expand to a size that follows the dynamic axes in a way not read off an input")
    return g.op("Expand", c.val(0), g.op("Concat", *parts, axis=0))


@_reg(M.Squeeze, M.SqueezeAll, M.SqueezeDims)
def _squeeze(g, c):
    src, dst = list(c.arg(0).shape), list(c.outs[0].shape)
    if len(src) == len(dst):
        return g.op("Identity", c.val(0))
    dim = c.arg(1, None)
    if dim is None:
        axes = [i for i, s in enumerate(src) if s == 1]
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = sorted(d % len(src) for d in dims if src[d % len(src)] == 1)
    return g.op("Squeeze", c.val(0), g.ints(axes))


@_reg(M.Unsqueeze)
def _unsqueeze(g, c):
    return g.op("Unsqueeze", c.val(0), g.ints([c.arg(1) % (c.arg(0).dim() + 1)]))


@_reg(M.Contiguous, M.Clone, M.ToDevice)
def _identity(g, c):
    return g.op("Identity", c.val(0))


@_reg(M.Cat)
def _cat(g, c):
    dt = c.out_dtype
    n = c.outs[0].dim()
    ins = [_same_dtype(g, c, i, dt) for i in range(1, len(c.args)) if c.arg(i).numel() or c.arg(i).dim() == n]
    return g.op("Concat", *ins, axis=c.arg(0) % n)


@_reg(M.Stack)
def _stack(g, c):
    dt = c.out_dtype
    d = c.arg(0) % c.outs[0].dim()
    axes = g.ints([d])
    return g.op("Concat", *[g.op("Unsqueeze", _same_dtype(g, c, i, dt), axes) for i in range(1, len(c.args))],
                axis=d)


@_reg(M.Split, M.SplitWithSizes, M.Unbind)
def _split(g, c):
    d, sizes, squeeze = c.arg(1), list(c.arg(2)), c.arg(3, False)
    outs = g.op("Split", c.val(0), g.ints(sizes), axis=d, n_out=len(sizes)) if len(sizes) > 1 else \
        [g.op("Identity", c.val(0))]
    outs = outs if isinstance(outs, list) else [outs]
    if squeeze:
        outs = [g.op("Squeeze", o, g.ints([d])) for o in outs]
    return outs


def _basic_index(g, x, shape, key):
    """x[key] for ints, slices, None and ...: one Slice for the ranges, then Gather-free Squeeze/Unsqueeze."""
    key = list(key) if isinstance(key, tuple) else [key]
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + [slice(None)] * (len(shape) - n_real) + key[i + 1:]
    key += [slice(None)] * (len(shape) - sum(1 for k in key if k is not None))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = out_dim = 0
    for k in key:
        if k is None:
            unsqueeze.append(out_dim)
            out_dim += 1
            continue
        size = shape[dim]
        if isinstance(k, slice):  # start/stop kept as written (negative = from the end), so they hold
            st = 1 if k.step is None else int(k.step)      # for any size of a dynamic axis
            s = 0 if k.start is None else int(k.start)
            e = np.iinfo(np.int64).max if k.stop is None else int(k.stop)
            if st < 1:
                s, e, st = k.indices(size)
            if (s, e, st) != (0, np.iinfo(np.int64).max, 1):
                starts.append(s)
                ends.append(e)
                axes.append(dim)
                steps.append(st)
            out_dim += 1
        else:  # an int; a negative one stays relative to the end (the size may be dynamic)
            i = int(k)
            starts.append(i)
            ends.append(i + 1 if i != -1 else np.iinfo(np.int64).max)
            axes.append(dim)
            steps.append(1)
            squeeze.append(dim)
        dim += 1
    y = x
    if axes:
        y = g.op("Slice", y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))
    if squeeze:
        y = g.op("Squeeze", y, g.ints(squeeze))
    if unsqueeze:
        y = g.op("Unsqueeze", y, g.ints(unsqueeze))
    return y if y is not x else g.op("Identity", x)


def _is_basic(k):
    return k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer))


@_reg(M.Slice, M.Select, M.SliceUnsqueeze, M.SliceAlias)
def _slice(g, c):
    return _basic_index(g, c.val(0), list(c.arg(0).shape), c.arg(1))


@_reg(M.Index)
def _index(g, c):
    """Advanced indexing: one integer index array (after plain ``:`` slices) is a Gather."""
    key = c.arg(1)
    parts = list(key) if isinstance(key, tuple) else [key]
    arrays = [i for i, k in enumerate(parts) if not _is_basic(k)]
    if len(arrays) == 1 and all(isinstance(k, slice) and k == slice(None) for k in parts[:arrays[0]]) and \
            all(isinstance(k, slice) and k == slice(None) for k in parts[arrays[0] + 1:]):
        idx = _host(parts[arrays[0]])
        if idx.dtype.kind in "iu":
            return g.op("Gather", c.val(0), g.const(idx.astype(np.int64)), axis=arrays[0])
    raise c.unsupported("advanced indexing other than one integer index array (boolean masks, several arrays)")


@_reg(M.Scatter, M.ScatterValue, M.ScatterAdd)
def _scatter(g, c):
    """scatter / scatter_add along dim: ScatterElements (a number source is expanded to the index's shape)."""
    dim = c.arg(1) % max(c.arg(0).dim(), 1)
    idx = c.val(2)
    src = _same_dtype(g, c, 3, c.out_dtype)
    if not c.is_tensor(3):
        src = g.op("Expand", src, g.op("Shape", idx))
    reduce = "add" if c.fn is M.ScatterAdd else {None: None, "add": "add", "multiply": "mul"}[c.arg(4, None)]
    if reduce is not None and g.opset < 16:
        raise UnsupportedOperatorError(f"ember::{c.fn.__name__}", g.opset, 16)
    return g.op("ScatterElements", c.val(0), idx, src, axis=dim, reduction=reduce)


@_reg(M.Roll)
def _roll(g, c):
    """roll = the two pieces of each rolled dim swapped: Concat(Slice(x, n - s :), Slice(x, : n - s))."""
    x, shifts, dims = c.arg(0), c.arg(1), c.arg(2, None)
    y = c.val(0)
    if dims is None:
        y = g.op("Reshape", y, g.ints([-1]))
        shifts, dims, sizes = (shifts if isinstance(shifts, int) else shifts[0],), (0,), (x.numel(),)
    else:
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        sizes = tuple(x.shape[d] for d in dims)
    for s, d, n in zip(shifts, dims, sizes):
        s = s % n if n else 0
        if s == 0:
            continue
        tail = g.op("Slice", y, g.ints([n - s]), g.ints([n]), g.ints([d]))
        head = g.op("Slice", y, g.ints([0]), g.ints([n - s]), g.ints([d]))
        y = g.op("Concat", tail, head, axis=d % max(x.dim(), 1))
    if c.arg(2, None) is None:
        y = g.op("Reshape", y, g.ints(list(x.shape)))
    return y


@_reg(M.Gather)
def _gather(g, c):
    return g.op("GatherElements", c.val(0), c.val(2), axis=c.arg(1) % c.arg(0).dim())


@_reg(M.IndexSelect)
def _index_select(g, c):
    return g.op("Gather", c.val(0), c.val(2), axis=c.arg(1) % max(c.arg(0).dim(), 1))


@_reg(M.MaskedFill)
def _masked_fill(g, c):
    dt = c.out_dtype
    return g.op("Where", c.val(1), _same_dtype(g, c, 2, dt), c.val(0))


@_reg(M.Flip)
def _flip(g, c):
    n = c.arg(0).dim()
    dims = [d % n for d in c.arg(1)]
    big = np.iinfo(np.int64)
    return g.op("Slice", c.val(0), g.ints([-1] * len(dims)), g.ints([big.min] * len(dims)), g.ints(dims),
                g.ints([-1] * len(dims)))


@_reg(M.Tri, M.Triu)
def _tri(g, c):
    return g.op("Trilu", c.val(0), g.const(np.asarray(c.arg(1, 0), np.int64)), upper=int(c.fn is M.Triu))


@_reg(M.Repeat)
def _repeat(g, c):
    reps = list(c.arg(1))
    x = c.val(0)
    extra = len(reps) - c.arg(0).dim()
    if extra > 0:
        x = g.op("Unsqueeze", x, g.ints(range(extra)))
    return g.op("Tile", x, g.ints(reps))


# ---- reductions ------------------------------------------------------------------------------------
def _dims(c, i, n):
    d = c.arg(i, None)
    if d is None or d == () or d == []:
        return None
    return sorted(x % max(n, 1) for x in ((d,) if isinstance(d, int) else d))


def _reduction(op):
    def fn(g, c):
        n = c.arg(0).dim()
        x = c.val(0)
        if c.arg(0)._data.dtype != c.out_dtype:
            x = g.op("Cast", x, to=onnx_dtype(c.out_dtype))
        axes = _dims(c, 1, n)
        keep = bool(c.arg(2, False)) if axes is not None else False
        return reduce(g, op, x, axes if axes is not None else list(range(n)), keep) if n else g.op("Identity", x)
    return fn


for _cls, _op in ((R.Sum, "ReduceSum"), (R.SumAll, "ReduceSum"), (R.Mean, "ReduceMean"), (R.MeanAll, "ReduceMean"),
                  (R.Prod, "ReduceProd"), (R.ProdAll, "ReduceProd"), (R.Amax, "ReduceMax"), (R.Amin, "ReduceMin"),
                  (R.MaxAll, "ReduceMax"), (R.MinAll, "ReduceMin"), (R.LogSumExp, "ReduceLogSumExp")):
    TRANSLATE[_cls] = _reduction(_op)


@_reg(R.MaxDim, R.MinDim)
def _max_dim(g, c):
    n = c.arg(0).dim()
    d, keep = c.arg(1) % max(n, 1), int(bool(c.arg(2, False)))
    big = c.fn is R.MaxDim
    vals = reduce(g, "ReduceMax" if big else "ReduceMin", c.val(0), [d], keep)
    idx = g.op("ArgMax" if big else "ArgMin", c.val(0), axis=d, keepdims=keep, select_last_index=0)
    return [vals, idx]


@_reg(R.Var, R.Std)
def _var(g, c):
    x, n = c.arg(0), c.arg(0).dim()
    axes = _dims(c, 1, n) or list(range(n))
    correction, keep = c.arg(2, 1), bool(c.arg(3, False))
    count = int(np.prod([x.shape[a] for a in axes]))
    dt = c.out_dtype
    mu = reduce(g, "ReduceMean", c.val(0), axes, True)
    d = g.op("Sub", c.val(0), mu)
    ss = reduce(g, "ReduceSum", g.op("Mul", d, d), axes, keep)
    var = g.op("Div", ss, g.const(np.asarray(max(count - correction, 0), dt)))
    return var if c.fn is R.Var else g.op("Sqrt", var)


@_reg(R.Cumsum)
def _cumsum(g, c):
    return g.op("CumSum", c.val(0), g.const(np.asarray(c.arg(1) % max(c.arg(0).dim(), 1), np.int64)))


@_reg(R.Norm)
def _norm(g, c):
    p = c.arg(1, 2)
    op = {2: "ReduceL2", 1: "ReduceL1", "fro": "ReduceL2"}.get(p)
    if op is None:
        raise c.unsupported(f"norm with p={p!r}")
    n = c.arg(0).dim()
    axes = _dims(c, 2, n)
    return reduce(g, op, c.val(0), axes if axes is not None else list(range(n)),
                  bool(c.arg(3, False)) and axes is not None)


# ---- convolution, pooling, padding -----------------------------------------------------------------
@_reg(C.Convolution)
def _conv(g, c):
    x, w, stride, pads, dilation, groups, transposed, out_spatial = (c.arg(i) for i in (0, 1, 3, 4, 5, 6, 7, 8))
    attrs = dict(kernel_shape=list(w.shape[2:]), strides=list(stride), dilations=list(dilation), group=int(groups),
                 pads=[p[0] for p in pads] + [p[1] for p in pads])
    bias = c.val(2) if c.is_tensor(2) else None
    if not transposed:
        return g.op("Conv", c.val(0), c.val(1), bias, **attrs)
    # ConvTranspose's size: s (in - 1) + output_padding + d (k - 1) + 1 - pads; output_padding makes up the rest
    k, n_in = w.shape[2:], x.shape[2:]
    attrs["output_padding"] = [out_spatial[i] - ((n_in[i] - 1) * stride[i] + dilation[i] * (k[i] - 1) + 1
                                                 - pads[i][0] - pads[i][1]) for i in range(len(k))]
    return g.op("ConvTranspose", c.val(0), c.val(1), bias, **attrs)


@_reg(C.MaxPoolNd)
def _max_pool(g, c):
    k, s, pads, d, holder = (c.arg(i) for i in (1, 2, 3, 4, 5))
    if holder is not None:
        raise c.unsupported("max_pool with return_indices=True")
    return g.op("MaxPool", c.val(0), kernel_shape=list(k), strides=list(s), dilations=list(d),
                pads=[p[0] for p in pads] + [p[1] for p in pads])


@_reg(C.AvgPoolNd)
def _avg_pool(g, c):
    """Window sums (AveragePool counting padding, times the window size) divided by torch's divisor: a
    number, or per output position how many cells counted (count_include_pad=False, ceil_mode)."""
    k, s, pads, divisor = (c.arg(i) for i in (1, 2, 3, 4))
    y = g.op("AveragePool", c.val(0), kernel_shape=list(k), strides=list(s), count_include_pad=1,
             pads=[p[0] for p in pads] + [p[1] for p in pads])
    size = float(np.prod(k))
    div = _host(divisor).astype(np.float64)
    if div.ndim == 0 and float(div) == size:
        return y
    return g.op("Mul", y, g.const((size / div).astype(c.out_dtype)))


@_reg(C.AxisLinear)
def _axis_linear(g, c):
    """y = M applied along each trailing axis (adaptive average pooling, resampling): a MatMul per axis."""
    mats = c.arg(1)
    y, nd, n = c.val(0), len(mats), c.arg(0).dim()
    for i, m in enumerate(mats):
        if m is None:
            continue
        m = _host(m).astype(c.out_dtype)
        axis = n - nd + i
        if axis == n - 1:
            y = g.op("MatMul", y, g.const(np.ascontiguousarray(m.T)))
        else:
            perm = list(range(n))
            perm[axis], perm[-1] = perm[-1], perm[axis]
            y = g.op("Transpose", g.op("MatMul", g.op("Transpose", y, perm=perm), g.const(np.ascontiguousarray(m.T))),
                     perm=perm)
    return y


@_reg(C.ConstantPadNd)
def _pad(g, c):
    pads, value = c.arg(1), c.arg(2)
    n = c.arg(0).dim()
    lo = [0] * (n - len(pads)) + [p[0] for p in pads]
    hi = [0] * (n - len(pads)) + [p[1] for p in pads]
    return g.op("Pad", c.val(0), g.ints(lo + hi), g.const(np.asarray(value, c.out_dtype)), mode="constant")


# ---- attention ---------------------------------------------------------------------------------------
@_reg(A.ScaledDotProductAttention)
def _sdpa(g, c):
    """softmax(Q K^T * scale + bias) V, with bias from the mask (bool: -inf where False) and is_causal."""
    q, k, mask, is_causal, scale = c.arg(0), c.arg(1), c.arg(3), c.arg(5), c.arg(6)
    dt = c.out_dtype
    n = k.dim()
    perm = list(range(n))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    scores = g.op("Mul", g.op("MatMul", c.val(0), g.op("Transpose", c.val(1), perm=perm)),
                  g.const(np.asarray(scale, dt)))
    if is_causal:
        Lq, S = q.shape[-2], k.shape[-2]
        causal = np.where(np.tril(np.ones((Lq, S), bool)), 0, -np.inf).astype(dt)
        scores = g.op("Add", scores, g.const(causal))
    if mask is not None:
        m = c.val(3)
        if mask._data.dtype == np.bool_:
            m = g.op("Where", m, g.const(np.asarray(0, dt)), g.const(np.asarray(-np.inf, dt)))
        elif mask._data.dtype != dt:
            m = g.op("Cast", m, to=onnx_dtype(dt))
        scores = g.op("Add", scores, m)
    return g.op("MatMul", g.op("Softmax", scores, axis=-1), c.val(2))


# ---- non-differentiable ops (recorded as PlainOp calls, see autograd/tracer.py) -------------------------
def _common(g, c, n):
    """The first ``n`` arguments as values of one dtype (NumPy's promotion of the recorded operands)."""
    arrs = [c.arg(i)._data if c.is_tensor(i) else c.arg(i) for i in range(n)]
    dt = np.result_type(*arrs)
    return [_same_dtype(g, c, i, dt) for i in range(n)], dt


def _compare(op, negate=False):
    def fn(g, c):
        (a, b), _ = _common(g, c, 2)
        y = g.op(op, a, b)
        return g.op("Not", y) if negate else y
    return fn


for _name, _op in (("eq", "Equal"), ("lt", "Less"), ("le", "LessOrEqual"), ("gt", "Greater"),
                   ("ge", "GreaterOrEqual")):
    TRANSLATE[PLAIN_OPS[_name]] = _compare(_op)
TRANSLATE[PLAIN_OPS["ne"]] = _compare("Equal", negate=True)


def _logical(op):
    def fn(g, c):
        ins = [_same_dtype(g, c, i, np.bool_) for i in range(1 if op == "Not" else 2)]
        return g.op(op, *ins)
    return fn


for _name, _op in (("logical_and", "And"), ("logical_or", "Or"), ("logical_xor", "Xor"), ("logical_not", "Not")):
    TRANSLATE[PLAIN_OPS[_name]] = _logical(_op)


def _bitwise(bool_op, int_op):
    def fn(g, c):
        n = 1 if bool_op == "Not" else 2
        ins, dt = _common(g, c, n)
        if dt == np.bool_:
            return g.op(bool_op, *ins)
        if g.opset < 18:
            raise UnsupportedOperatorError(f"ember::{c.fn.__name__}", g.opset, 18)
        return g.op(int_op, *ins)
    return fn


for _name, _ops in (("bitwise_and", ("And", "BitwiseAnd")), ("bitwise_or", ("Or", "BitwiseOr")),
                    ("bitwise_xor", ("Xor", "BitwiseXor")), ("bitwise_not", ("Not", "BitwiseNot"))):
    TRANSLATE[PLAIN_OPS[_name]] = _bitwise(*_ops)


def _arg_extreme(op):
    def fn(g, c):
        pos = c.call.args
        dim = pos[1] if len(pos) > 1 else c.kwargs_get("dim")
        keep = bool(pos[2] if len(pos) > 2 else c.kwargs_get("keepdim", False))
        x = c.val(0)
        n = c.arg(0).dim()
        if dim is None:
            y = g.op(op, g.op("Reshape", x, g.ints([-1])), axis=0, keepdims=0)
            return g.op("Reshape", y, g.ints([1] * n)) if keep else y
        return g.op(op, x, axis=dim % max(n, 1), keepdims=int(keep))
    return fn


TRANSLATE[PLAIN_OPS["argmax"]] = _arg_extreme("ArgMax")
TRANSLATE[PLAIN_OPS["argmin"]] = _arg_extreme("ArgMin")
TRANSLATE[PLAIN_OPS["isnan"]] = lambda g, c: g.op("IsNaN", c.val(0))
TRANSLATE[PLAIN_OPS["isinf"]] = lambda g, c: g.op("IsInf", c.val(0))
TRANSLATE[PLAIN_OPS["isfinite"]] = lambda g, c: g.op("Not", g.op("Or", g.op("IsNaN", c.val(0)),
                                                                  g.op("IsInf", c.val(0))))


# ---- in-place writes (recorded as assign / fill / setitem, see autograd/tracer.py) ----------------------
def _check_write_target(c):
    """A write into a view also changes its base; that is only exportable if the base is not read later."""
    t = c.outs[0]
    base = t._base
    if base is None:
        return
    for later in c.later:
        for a in tuple(later.args) + tuple(later.kwargs.values()):
            if a is not t and hasattr(a, "_data") and (a is base or a._base is base):
                raise c.unsupported("an in-place write into a view whose base is read afterwards")


def _target_shape(g, c):
    """The written tensor's shape: a constant, or read at run time when it follows a dynamic axis."""
    if c.alt_shape(0, out=True) == list(c.outs[0].shape):
        return g.ints(c.outs[0].shape)
    return g.op("Shape", c.val(0))


def _broadcast_to_target(g, c, value):
    t = c.outs[0]
    src = c.arg(1)
    if tuple(getattr(src, "shape", ())) == tuple(t.shape) and hasattr(src, "_data"):
        return value
    return g.op("Expand", value, _target_shape(g, c))


@_reg(PLAIN_OPS["assign"])
def _assign(g, c):
    _check_write_target(c)
    return _broadcast_to_target(g, c, _same_dtype(g, c, 1, c.out_dtype))


@_reg(PLAIN_OPS["fill"])
def _fill(g, c):
    _check_write_target(c)
    return g.op("Expand", _same_dtype(g, c, 1, c.out_dtype), _target_shape(g, c))


@_reg(PLAIN_OPS["setitem"])
def _setitem(g, c):
    """x[key] = v: a boolean mask of x's shape is a Where; any other key is a ScatterND at the positions
    ``key`` selects (computed here from x's recorded shape)."""
    _check_write_target(c)
    old, key, dt = c.arg(0), c.arg(1), c.out_dtype
    value = _same_dtype(g, c, 2, dt)
    if hasattr(key, "_data") and key._data.dtype == np.bool_ and tuple(key.shape) == tuple(old.shape):
        return g.op("Where", c._value_of(key), value, c.val(0))
    parts = key if isinstance(key, tuple) else (key,)
    np_key = tuple(_host(k._data) if hasattr(k, "_data") else _host(k) if hasattr(k, "shape") else k for k in parts)
    shape = tuple(old.shape)
    region = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)[np_key if isinstance(key, tuple)
                                                                            else np_key[0]]
    idx = np.stack(np.unravel_index(region, shape), axis=-1).astype(np.int64)
    updates = g.op("Expand", value, g.ints(region.shape))
    return g.op("ScatterND", c.val(0), g.const(idx), updates)


# ---- user Functions with torch's ``symbolic`` staticmethod ---------------------------------------------
class SymbolicGraph:
    """The ``g`` a user's ``symbolic(g, ...)`` receives: ``g.op("Relu", x)``, with attributes named in
    torch's style (``alpha_f=0.1``, ``axis_i=1``, ``perm_is=[1, 0]``, ``value_t=tensor``) and ``outputs=n``."""

    def __init__(self, builder):
        self._g = builder

    @property
    def opset(self):
        return self._g.opset

    def op(self, op_type, *inputs, outputs=1, **attrs):
        from onnx import numpy_helper
        clean = {}
        for key, v in attrs.items():
            name, _, kind = key.rpartition("_")
            if name and kind in ("i", "f", "s", "t", "is", "fs", "ss"):
                key = name
                if kind == "t":
                    v = numpy_helper.from_array(np.asarray(v.detach().cpu().numpy() if hasattr(v, "_data") else v))
            clean[key] = v
        if op_type == "Constant" and "value" in clean:
            return self._g.const(numpy_helper.to_array(clean["value"]), name="onnx::Constant")
        ins = [self._g.const(np.asarray(i.detach().cpu().numpy() if hasattr(i, "_data") else i))
               if not isinstance(i, str) and i is not None else i for i in inputs]
        return self._g.op(op_type, *ins, n_out=outputs, **clean)


def _user_symbolic(g, c):
    ins = [c.val(i) if c.is_tensor(i) else c.arg(i) for i in range(len(c.args))]
    out = c.fn.symbolic(SymbolicGraph(g), *ins)
    return list(out) if isinstance(out, (tuple, list)) else out


# ---- recurrent layers as one ONNX op (recorded whole, see WHOLE_MODULES) --------------------------------
def _rnn_accepts(m, args, kwargs):
    """Record an RNN/LSTM/GRU as one op when ONNX's has its meaning: a 3-D tensor input (not packed),
    no projection, no dropout between layers in training mode. Otherwise its steps are recorded unrolled."""
    x = args[0] if args else kwargs.get("input")
    return (hasattr(x, "_data") and x.dim() == 3 and not getattr(m, "proj_size", 0)
            and not (m.training and m.dropout > 0))


def _rnn_whole_modules():
    from ..nn.rnn import RNNBase
    return {RNNBase: _rnn_accepts}


WHOLE_MODULES = _rnn_whole_modules


# torch's gate order -> ONNX's: LSTM (i, f, g, o) -> (i, o, f, c); GRU (r, z, n) -> (z, r, h)
_GATES = {"LSTM": (4, [0, 3, 1, 2]), "GRU": (3, [1, 0, 2]), "RNN_TANH": (1, [0]), "RNN_RELU": (1, [0])}


def _rnn_module(g, c):
    """nn.RNN / LSTM / GRU -> one ONNX RNN / LSTM / GRU node per layer (both directions in one node),
    the weights reordered to ONNX's gate order; works for any sequence length and batch size."""
    m = c.arg(0)
    mode, H, D = m.mode, m.hidden_size, 2 if m.bidirectional else 1
    n_gates, order = _GATES[mode]
    dt = c.out_dtype
    x = c.val(1)
    hx = c.arg(2, None) if len(c.call.args) > 2 else c.kwargs_get("hx")
    h0, c0 = (hx if mode == "LSTM" else (hx, None)) if hx is not None else (None, None)
    if m.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])

    def gates(a):
        a = _host(a.detach()._data)
        return np.concatenate([np.split(a, n_gates)[k] for k in order])

    hs, cs = [], []
    op = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    for layer in range(m.num_layers):
        W, R, B = [], [], []
        for d in range(D):
            w_ih, w_hh, b_ih, b_hh, _ = m._layer_params(layer, d)
            W.append(gates(w_ih))
            R.append(gates(w_hh))
            B.append(np.concatenate([gates(b_ih), gates(b_hh)]) if b_ih is not None else
                     np.zeros(2 * n_gates * H, dt))
        layer_inputs = [x, g.const(np.stack(W).astype(dt), name=f"{c.call.scope}.W_l{layer}"),
                        g.const(np.stack(R).astype(dt), name=f"{c.call.scope}.R_l{layer}"),
                        g.const(np.stack(B).astype(dt), name=f"{c.call.scope}.B_l{layer}"), None]
        sl = (lambda v: g.op("Slice", c.value(v), g.ints([layer * D]), g.ints([(layer + 1) * D]), g.ints([0])))
        layer_inputs.append(sl(h0) if h0 is not None else None)
        if mode == "LSTM":
            layer_inputs.append(sl(c0) if c0 is not None else None)
        attrs = dict(hidden_size=H, direction="bidirectional" if D == 2 else "forward")
        if mode == "GRU":
            attrs["linear_before_reset"] = 1
        if op == "RNN":
            attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * D
        outs = g.op(op, *layer_inputs, n_out=3 if mode == "LSTM" else 2, **attrs)
        y = g.op("Transpose", outs[0], perm=[0, 2, 1, 3])           # (T, D, N, H) -> (T, N, D, H)
        x = g.op("Reshape", y, g.ints([0, 0, -1]))
        hs.append(outs[1])
        if mode == "LSTM":
            cs.append(outs[2])
    out = g.op("Transpose", x, perm=[1, 0, 2]) if m.batch_first else x
    h_n = g.op("Concat", *hs, axis=0) if len(hs) > 1 else g.op("Identity", hs[0])
    if mode == "LSTM":
        return [out, h_n, g.op("Concat", *cs, axis=0) if len(cs) > 1 else g.op("Identity", cs[0])]
    return [out, h_n]


def _register_rnn_modules():
    from ..nn.rnn import RNN, LSTM, GRU
    for cls in (RNN, LSTM, GRU):
        TRANSLATE[cls] = _rnn_module


_register_rnn_modules()
