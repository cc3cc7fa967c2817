"""The ``torch.*`` functions on tensors: each is a thin wrapper that picks a Function from ``ember/ops``.

The same functions back the Tensor methods (``x.sum()`` is ``sum(x)``), see ``_methods.py``.
"""
import builtins
from collections import namedtuple

import numpy as np

from ._tensor import Tensor, wrap
from .ops import pointwise as P, reduce as R, movement as M, linalg as L
from .ops._util import arrays2, norm_dim, norm_dims, array_module, check_index_range
from .dtypes import to_dtype, result_type, get_default_dtype

_bmax, _bmin, _babs, _bsum, _bround, _ball, _bany = (builtins.max, builtins.min, builtins.abs, builtins.sum,
                                                    builtins.round, builtins.all, builtins.any)


class return_types:
    """Named tuples returned by ops with two results, e.g. ``max(dim=...)`` -> (values, indices)."""
    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])
    sort = namedtuple("sort", ["values", "indices"])
    topk = namedtuple("topk", ["values", "indices"])
    median = namedtuple("median", ["values", "indices"])
    mode = namedtuple("mode", ["values", "indices"])
    kthvalue = namedtuple("kthvalue", ["values", "indices"])
    cummax = namedtuple("cummax", ["values", "indices"])
    cummin = namedtuple("cummin", ["values", "indices"])
    var_mean = namedtuple("var_mean", ["var", "mean"])
    std_mean = namedtuple("std_mean", ["std", "mean"])
    aminmax = namedtuple("aminmax", ["min", "max"])


def _return_type_repr(self):
    """torch's layout: ``torch.return_types.max(\nvalues=tensor(...),\nindices=tensor(...))``."""
    body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
    return f"torch.return_types.{type(self).__name__}(\n{body})"


for _n, _t in list(vars(return_types).items()):
    if isinstance(_t, type) and issubclass(_t, tuple):
        _t.__module__ = "torch.return_types"
        _t.__qualname__ = _n
        _t.__repr__ = _return_type_repr


def _t(x, like=None):
    """Make a tensor of a number so ops that need two tensors get them.

    With ``like`` (the tensor on the other side) the number becomes a 0-d tensor of the dtype torch would
    give ``like OP x``, so a Python number never widens the result (``2.5 // int_tensor`` is float32)."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return wrap(array_module(like._data).asarray(x, dtype=result_type(like, x).np))
    return wrap(np.asarray(x))


# ---- arithmetic -------------------------------------------------------------------------------------
def add(input, other, *, alpha=1, out=None):
    if not isinstance(input, Tensor):
        input, other = other, input
    return P.Add.apply(input, other, alpha) if alpha != 1 else P.Add.apply(input, other)


def sub(input, other, *, alpha=1, out=None):
    if not isinstance(input, Tensor):
        return P.RSub.apply(other, input) if alpha == 1 else P.RSub.apply(other * alpha, input)
    return P.Sub.apply(input, other, alpha) if alpha != 1 else P.Sub.apply(input, other)


subtract = sub


def rsub(input, other, alpha=1):
    return sub(other, input, alpha=alpha) if isinstance(other, Tensor) else P.RSub.apply(input * alpha
                                                                                        if alpha != 1 else input, other)


def mul(input, other, *, out=None):
    if not isinstance(input, Tensor):
        input, other = other, input
    return P.Mul.apply(input, other)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    if not isinstance(input, Tensor):
        input = _t(input)
    return P.Div.apply(input, other, rounding_mode) if rounding_mode is not None else P.Div.apply(input, other)


divide = true_divide = div


def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


def remainder(input, other):
    """Python-style modulo: the result has the sign of the divisor."""
    if not isinstance(input, Tensor):
        input = _t(input, other)
    return (P.Remainder if isinstance(other, Tensor) else P.RemainderScalar).apply(input, other)


def fmod(input, other):
    """C-style modulo: the result has the sign of the dividend."""
    return (P.Fmod if isinstance(other, Tensor) else P.FmodScalar).apply(input, other)


def pow(input, exponent):
    if not isinstance(input, Tensor):
        return P.PowTensor.apply(input, exponent)
    if isinstance(exponent, Tensor):
        if exponent._data.ndim == 0 and not exponent._requires_grad and result_type(input, exponent) == input.dtype:
            return P.Pow.apply(input, exponent.item())  # a constant 0-d exponent that does not change the dtype
        return P.PowTensor.apply(input, exponent)
    return P.Pow.apply(input, exponent)


def float_power(input, exponent):
    return pow(input.double() if isinstance(input, Tensor) else input,
               exponent.double() if isinstance(exponent, Tensor) else exponent)


def neg(input):
    return P.Neg.apply(input)


negative = neg


def positive(input):
    return input


def square(input):
    return P.Pow.apply(input, 2)


def lerp(input, end, weight):
    return P.Lerp.apply(input, end, weight)


def atan2(input, other):
    return P.Atan2.apply(input, other)


arctan2 = atan2


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + tensor1 * tensor2 * value if value != 1 else input + tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + tensor1 / tensor2 * value if value != 1 else input + tensor1 / tensor2


# ---- unary ------------------------------------------------------------------------------------------
def _u(F):
    def fn(input, *, out=None):
        return F.apply(input)
    fn.__name__ = F.__name__.lower()
    fn.__doc__ = F.__doc__
    return fn


exp, log, log2, log10, log1p, expm1 = _u(P.Exp), _u(P.Log), _u(P.Log2), _u(P.Log10), _u(P.Log1p), _u(P.Expm1)
sqrt, rsqrt, sin, cos, tan, tanh = _u(P.Sqrt), _u(P.Rsqrt), _u(P.Sin), _u(P.Cos), _u(P.Tan), _u(P.Tanh)
sinh, cosh, asin, acos, atan = _u(P.Sinh), _u(P.Cosh), _u(P.Asin), _u(P.Acos), _u(P.Atan)
arcsin, arccos, arctan = asin, acos, atan
asinh, acosh, atanh = _u(P.Asinh), _u(P.Acosh), _u(P.Atanh)
arcsinh, arccosh, arctanh = asinh, acosh, atanh
sigmoid, reciprocal, erf, abs, relu = _u(P.Sigmoid), _u(P.Reciprocal), _u(P.Erf), _u(P.Abs), _u(P.Relu)
absolute = abs
sign, floor, ceil, trunc, frac = _u(P.Sign), _u(P.Floor), _u(P.Ceil), _u(P.Trunc), _u(P.Frac)
fix = trunc


def exp2(input):
    return pow(2.0, input) if isinstance(input, Tensor) else 2.0 ** input


def round(input, *, decimals=0):
    return P.Round.apply(input, decimals) if decimals else P.Round.apply(input)


def erfc(input):
    from . import special
    return special.erfc(input)


def sgn(input):
    return sign(input)


def signbit(input):
    return wrap(np.signbit(input._data))


def logit(input, eps=None):
    x = input if eps is None else clamp(input, eps, 1 - eps)
    return log(x / (1 - x))


def xlogy(input, other):
    """x log y, 0 where x = 0 (unless y is nan)."""
    x, y = _t(input), _t(other)
    return where((x == 0) & ~isnan(y), x * 0.0, x * log(y))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    x = input._data
    return wrap(np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf))


def clamp(input, min=None, max=None, *, out=None):
    return P.Clamp.apply(input, min, max)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # two numbers: torch's scalar dtype
        input = wrap(array_module(condition._data).asarray(input, dtype=result_type(input, other).np))
    return P.Where.apply(condition, input, other)


def maximum(input, other):
    return P.Maximum.apply(input, other)


def minimum(input, other):
    return P.Minimum.apply(input, other)


def fmax(input, other):
    """Element-wise maximum that ignores NaN (NaN only where both are NaN)."""
    a = where(isnan(input), other, input)
    return maximum(a, where(isnan(other), a, other))


def fmin(input, other):
    """Element-wise minimum that ignores NaN (NaN only where both are NaN)."""
    a = where(isnan(input), other, input)
    return minimum(a, where(isnan(other), a, other))


# ---- comparisons and logic (not differentiable: plain arrays in, bool tensor out) -----------------
def _cmp(name, fn):
    def f(input, other, *, out=None):
        if not isinstance(other, (Tensor, int, float, bool, np.number, np.bool_)):
            if other is None:
                return False
            return NotImplemented
        a, b = arrays2(input, other)
        return wrap(np.asarray(fn(a, b)) if not hasattr(a, "shape") and not hasattr(b, "shape") else fn(a, b))
    f.__name__ = name
    return f


eq = _cmp("eq", lambda a, b: a == b)
ne = _cmp("ne", lambda a, b: a != b)
lt = _cmp("lt", lambda a, b: a < b)
le = _cmp("le", lambda a, b: a <= b)
gt = _cmp("gt", lambda a, b: a > b)
ge = _cmp("ge", lambda a, b: a >= b)
less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne


def _as_bool(x):
    return x._data.astype(bool, copy=False) if isinstance(x, Tensor) else bool(x)


def logical_and(input, other):
    return wrap(np.logical_and(_as_bool(input), _as_bool(other)))


def logical_or(input, other):
    return wrap(np.logical_or(_as_bool(input), _as_bool(other)))


def logical_xor(input, other):
    return wrap(np.logical_xor(_as_bool(input), _as_bool(other)))


def logical_not(input):
    return wrap(np.logical_not(input._data))


def _bitwise(op, name):
    def f(input, other):
        a, b = arrays2(input, other)
        dt = getattr(a, "dtype", None) if hasattr(a, "dtype") else getattr(b, "dtype", None)
        if dt is not None and dt.kind == "f":
            raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Float'")
        return wrap(op(a, b))
    f.__name__ = name
    return f


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input):
    if input._data.dtype.kind in "fV":
        raise RuntimeError("\"bitwise_not_cpu\" not implemented for 'Float'")
    return wrap(~input._data)


def isnan(input):
    return wrap(array_module(input._data).isnan(input._data))


def isinf(input):
    return wrap(array_module(input._data).isinf(input._data))


def isposinf(input):
    return wrap(array_module(input._data).isposinf(input._data))


def isneginf(input):
    return wrap(array_module(input._data).isneginf(input._data))


def isfinite(input):
    return wrap(array_module(input._data).isfinite(input._data))


def isreal(input):
    return wrap(np.isreal(input._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = arrays2(input, other)
    return wrap(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other):
    return input.shape == other.shape and bool((input._data == other._data).all())


# ---- reductions ----------------------------------------------------------------------------------
def _numpy_names(fn):
    """Accept NumPy's ``axis=`` / ``keepdims=`` for ``dim=`` / ``keepdim=``, as torch does."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)
    return wrapper


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    return R.sum_(input, dim, keepdim, dtype)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    return sum(where(isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    return R.mean_(input, dim, keepdim, dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    keep = ~isnan(input)
    return nansum(input, dim, keepdim) / keep.sum(dim=dim, keepdim=keepdim)


def prod(input, dim=None, keepdim=False, *, dtype=None):
    if dim is None:
        return R.ProdAll.apply(input, None, False, dtype)
    return R.Prod.apply(input, dim, keepdim, dtype)


def _minmax(input, dim, keepdim, other, is_max):
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return maximum(input, other) if is_max else minimum(input, other)
    if dim is None:
        return (R.MaxAll if is_max else R.MinAll).apply(input)
    v, i = (R.MaxDim if is_max else R.MinDim).apply(input, dim, keepdim)
    return (return_types.max if is_max else return_types.min)(v, i)


def max(input, dim=None, keepdim=False, *, other=None, out=None):
    """max(x) -> value;  max(x, dim) -> (values, indices);  max(x, y) -> element-wise maximum."""
    return _minmax(input, dim, keepdim, other, True)


def min(input, dim=None, keepdim=False, *, other=None, out=None):
    return _minmax(input, dim, keepdim, other, False)


def amax(input, dim=(), keepdim=False):
    return R.Amax.apply(input, dim, keepdim)


def amin(input, dim=(), keepdim=False):
    return R.Amin.apply(input, dim, keepdim)


def aminmax(input, *, dim=None, keepdim=False):
    return return_types.aminmax(amin(input, () if dim is None else dim, keepdim),
                                amax(input, () if dim is None else dim, keepdim))


def _check_arg_reduction(name, x, dim):
    """torch's errors for argmax/argmin over nothing (NumPy's would be a ValueError)."""
    if x.size:
        return
    if dim is None:
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
    if x.ndim and x.shape[norm_dim(dim, x.ndim)] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {norm_dim(dim, x.ndim)} to have non-zero size.")


def argmax(input, dim=None, keepdim=False):
    x = input._data
    xp = array_module(x)
    _check_arg_reduction("argmax", x, dim)
    if dim is None:
        out = xp.asarray(xp.argmax(x.reshape(-1)))
        return wrap(out.reshape((1,) * x.ndim) if keepdim else out.astype(np.int64))
    return wrap(xp.argmax(x, axis=norm_dim(dim, x.ndim), keepdims=keepdim).astype(np.int64)) if x.ndim else \
        wrap(xp.zeros((), np.int64))


def argmin(input, dim=None, keepdim=False):
    x = input._data
    xp = array_module(x)
    _check_arg_reduction("argmin", x, dim)
    if dim is None:
        out = xp.asarray(xp.argmin(x.reshape(-1)))
        return wrap(out.reshape((1,) * x.ndim) if keepdim else out.astype(np.int64))
    return wrap(xp.argmin(x, axis=norm_dim(dim, x.ndim), keepdims=keepdim).astype(np.int64)) if x.ndim else \
        wrap(xp.zeros((), np.int64))


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Variance with Bessel's correction by default (``correction=1``; ``unbiased=False`` means 0)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return R.Var.apply(input, dim, _correction(unbiased, correction), keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Standard deviation: the square root of ``var`` (same ``correction`` rules)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return R.Std.apply(input, dim, _correction(unbiased, correction), keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.var_mean(var(input, dim, unbiased, keepdim, correction=correction),
                                 mean(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return return_types.std_mean(std(input, dim, unbiased, keepdim, correction=correction),
                                 mean(input, dim, keepdim))


def logsumexp(input, dim, keepdim=False):
    return R.LogSumExp.apply(input, dim, keepdim)


def cumsum(input, dim, *, dtype=None):
    return R.Cumsum.apply(input, dim, dtype)


def cumprod(input, dim, *, dtype=None):
    return R.Cumprod.apply(input, dim, dtype)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements by default); 'fro' is the 2-norm of all entries."""
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise RuntimeError("ember: the nuclear norm needs an SVD; use ember.linalg.matrix_norm")
    if isinstance(dim, int):
        dim = (dim,)
    return R.Norm.apply(input, float(p) if not isinstance(p, str) else p, dim, keepdim)


def dist(input, other, p=2):
    return norm(input - other, p)


def all(input, dim=None, keepdim=False):
    x = input._data
    if dim is None:
        return wrap(array_module(x).asarray(x.all()))
    return wrap(x.all(axis=norm_dims(dim, x.ndim), keepdims=keepdim))


def any(input, dim=None, keepdim=False):
    x = input._data
    if dim is None:
        return wrap(array_module(x).asarray(x.any()))
    return wrap(x.any(axis=norm_dims(dim, x.ndim), keepdims=keepdim))


def count_nonzero(input, dim=None):
    x = input._data
    return wrap(np.asarray((x != 0).sum(axis=None if dim is None else norm_dims(dim, x.ndim))).astype(np.int64))


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """(values, indices) sorted along ``dim``; values stay differentiable (they are a gather)."""
    x = input._data
    if x.ndim == 0:
        return return_types.sort(input.clone(), wrap(np.zeros((), np.int64)))
    d = norm_dim(dim, x.ndim)
    xp = array_module(x)
    idx = xp.argsort(-x if descending and x.dtype.kind not in "bu" else x, axis=d, kind="stable")
    if descending and x.dtype.kind in "bu":
        idx = xp.flip(xp.argsort(x, axis=d, kind="stable"), d)
    idx = wrap(idx.astype(np.int64))
    return return_types.sort(gather(input, d, idx), idx)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def msort(input):
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    x = input._data
    d = norm_dim(dim, x.ndim)
    if k > (x.shape[d] if x.ndim else 1):
        raise RuntimeError("selected index k out of range")
    s = sort(input, d, descending=largest)
    return return_types.topk(s.values.narrow(d, 0, k), s.indices.narrow(d, 0, k))


def kthvalue(input, k, dim=-1, keepdim=False):
    s = sort(input, dim)
    v, i = s.values.select(dim, k - 1), s.indices.select(dim, k - 1)
    if keepdim:
        v, i = v.unsqueeze(dim), i.unsqueeze(dim)
    return return_types.kthvalue(v, i)


def median(input, dim=None, keepdim=False):
    """The lower median (torch's definition), with its index when ``dim`` is given."""
    if dim is None:
        flat = input.reshape(-1)
        return sort(flat).values[(flat.shape[0] - 1) // 2]
    n = input.shape[dim]
    return return_types.median(*kthvalue(input, (n - 1) // 2 + 1, dim, keepdim))


def mode(input, dim=-1, keepdim=False):
    x = np.moveaxis(input._data, dim, -1)
    s = np.sort(x, axis=-1)
    n = s.shape[-1]
    counts = (s[..., :, None] == s[..., None, :]).sum(-1)
    best = np.argmax(counts, axis=-1)
    vals = np.take_along_axis(s, best[..., None], -1)[..., 0]
    idx = n - 1 - np.argmax((x == vals[..., None])[..., ::-1], axis=-1) if n else best  # torch: last occurrence
    v, i = wrap(vals), wrap(idx.astype(np.int64))
    if keepdim:
        v, i = v.unsqueeze(dim), i.unsqueeze(dim)
    return return_types.mode(v, i)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    res = np.unique(input._data if dim is None else input._data, return_inverse=return_inverse,
                    return_counts=return_counts, axis=dim)
    if not isinstance(res, tuple):
        return wrap(res)
    out = [wrap(res[0])] + [wrap(r.astype(np.int64).reshape(input.shape) if j == 0 and return_inverse and dim is None
                                 else r.astype(np.int64)) for j, r in enumerate(res[1:])]
    return tuple(out)


def bincount(input, weights=None, minlength=0):
    w = None if weights is None else weights._data
    x = input._data
    if x.ndim != 1 or x.dtype.kind not in "iu" or (x.size and int(x.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    out = np.bincount(x, w, minlength)
    return wrap(out.astype(w.dtype) if w is not None else out.astype(np.int64))  # weighted: the weights' dtype


def histc(input, bins=100, min=0, max=0):
    x = input._data
    lo, hi = (x.min(), x.max()) if min == max else (min, max)
    h, _ = np.histogram(x, bins=bins, range=(lo, hi))
    return wrap(h.astype(x.dtype))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    out = np.searchsorted(boundaries._data, input._data, side="right" if right else "left")
    return wrap(out.astype(np.int32 if out_int32 else np.int64))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None):
    side = side or ("right" if right else "left")
    v = input._data if isinstance(input, Tensor) else np.asarray(input)
    s = sorted_sequence._data
    if s.ndim == 1:
        out = np.searchsorted(s, v, side=side)
    else:
        out = np.stack([np.searchsorted(s[i], v[i], side=side) for i in builtins.range(s.shape[0])])
    return wrap(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


def cummax(input, dim):
    x = input._data
    d = norm_dim(dim, x.ndim)
    vals = np.maximum.accumulate(x, axis=d)
    n = x.shape[d]
    pos = np.arange(n).reshape([-1 if i == d else 1 for i in builtins.range(x.ndim)])
    idx = np.maximum.accumulate(np.where(x == vals, pos, 0), axis=d)
    idx = wrap(idx.astype(np.int64))
    return return_types.cummax(gather(input, d, idx), idx)


def cummin(input, dim):
    x = input._data
    d = norm_dim(dim, x.ndim)
    vals = np.minimum.accumulate(x, axis=d)
    pos = np.arange(x.shape[d]).reshape([-1 if i == d else 1 for i in builtins.range(x.ndim)])
    idx = wrap(np.maximum.accumulate(np.where(x == vals, pos, 0), axis=d).astype(np.int64))
    return return_types.cummin(gather(input, d, idx), idx)


def logcumsumexp(input, dim):
    m = input.detach().amax(dim=dim, keepdim=True)
    return log(cumsum(exp(input - m), dim)) + m


def diff(input, n=1, dim=-1, prepend=None, append=None):
    x = input
    if prepend is not None:
        x = cat([prepend, x], dim)
    if append is not None:
        x = cat([x, append], dim)
    for _ in builtins.range(n):
        L_ = x.shape[dim]
        x = x.narrow(dim, 1, L_ - 1) - x.narrow(dim, 0, L_ - 1)
    return x


# ---- shape and movement ---------------------------------------------------------------------------
def reshape(input, shape):
    return M.reshape(input, M._shape_arg((shape,)) if not isinstance(shape, int) else (shape,))


def flatten(input, start_dim=0, end_dim=-1):
    n = input._data.ndim
    if n == 0:
        return M.reshape(input, (1,))
    s, e = norm_dim(start_dim, n), norm_dim(end_dim, n)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = input._data.shape
    return M.reshape(input, shape[:s] + (-1,) + shape[e + 1:]) if input.numel() else \
        M.reshape(input, shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])


def unflatten(input, dim, sizes):
    shape = list(input._data.shape)
    d = norm_dim(dim, len(shape))
    return M.reshape(input, tuple(shape[:d] + list(sizes) + shape[d + 1:]))


def permute(input, dims):
    return M.Permute.apply(input, tuple(dims))


def transpose(input, dim0, dim1):
    return M.Transpose.apply(input, dim0, dim1)


swapaxes = swapdims = transpose


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return M.T.apply(input, 0, 1) if input._data.ndim == 2 else M.T.apply(input, 0, 0)


def adjoint(input):
    return transpose(input, -2, -1)


def movedim(input, source, destination):
    n = input._data.ndim
    src = [norm_dim(s, n) for s in ((source,) if isinstance(source, int) else source)]
    dst = [norm_dim(s, n) for s in ((destination,) if isinstance(destination, int) else destination)]
    order = [i for i in builtins.range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


moveaxis = movedim


def squeeze(input, dim=None):
    if dim is None:
        return M.SqueezeAll.apply(input, None)
    return (M.Squeeze if isinstance(dim, int) else M.SqueezeDims).apply(input, dim)


def unsqueeze(input, dim):
    return M.Unsqueeze.apply(input, dim)


def cat(tensors, dim=0, *, out=None):
    if isinstance(tensors, Tensor):
        raise TypeError("cat() received an invalid combination of arguments - got (Tensor, ...), but expected "
                        "(tuple of Tensors tensors, int dim)")
    if not len(tensors):
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    return M.Cat.apply(dim, *tensors)


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    return M.Stack.apply(dim, *tensors)


def hstack(tensors):
    return cat([atleast_1d(t) for t in tensors], 0 if tensors[0].ndim <= 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    return hstack([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors])


def atleast_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def atleast_2d(t):
    return t.reshape(1, -1) if t.ndim < 2 else t


def atleast_3d(t):
    if t.ndim == 0:
        return t.reshape(1, 1, 1)
    if t.ndim == 1:
        return t.reshape(1, -1, 1)
    if t.ndim == 2:
        return t.unsqueeze(-1)
    return t


def narrow(input, dim, start, length):
    n = input._data.ndim
    d = norm_dim(dim, n)
    size = input._data.shape[d]
    start = int(start)
    if start < 0:
        start += size
    if not 0 <= start <= size or start + length > size or length < 0:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * d + (slice(start, start + length),)
    return M.Slice.apply(input, key)


def select(input, dim, index):
    n = input._data.ndim
    d = norm_dim(dim, n)
    size = input._data.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {d}")
    return M.Select.apply(input, (slice(None),) * d + (int(index),))


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    d = norm_dim(dim, tensor._data.ndim)
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        sizes = [builtins.min(step, size - i) for i in builtins.range(0, size, step)] if step else [0]
    else:
        sizes = list(split_size_or_sections)
        if _bsum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size "
                               f"at dimension {d}), but got split_sizes={sizes}")
    node = M.Split if isinstance(split_size_or_sections, int) else M.SplitWithSizes
    return node.apply(tensor, d, tuple(sizes))


def tensor_split(input, indices_or_sections, dim=0):
    d = norm_dim(dim, input.ndim)
    n = input.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in builtins.range(k)]
        return split(input, sizes, d)
    bounds = [0] + [builtins.min(builtins.max(int(i), 0), n) for i in indices_or_sections] + [n]
    return tuple(narrow(input, d, bounds[i], builtins.max(bounds[i + 1] - bounds[i], 0))
                 for i in builtins.range(len(bounds) - 1))


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    size = input._data.shape[norm_dim(dim, input._data.ndim)]
    step = -(-size // chunks) if size else 1
    return split(input, step, dim)


def unbind(input, dim=0):
    d = norm_dim(dim, input._data.ndim)
    return M.Unbind.apply(input, d, (1,) * input._data.shape[d], True)


def flip(input, dims):
    return M.Flip.apply(input, tuple(dims) if not isinstance(dims, int) else (dims,))


def fliplr(input):
    return flip(input, (1,))


def flipud(input):
    return flip(input, (0,))


def roll(input, shifts, dims=None):
    return M.Roll.apply(input, shifts, dims)  # dims=None rolls the flattened tensor (NumPy's axis=None)


def rot90(input, k=1, dims=(0, 1)):
    k %= 4
    if k == 0:
        return input.clone()
    if k == 1:
        return flip(input, (dims[1],)).transpose(*dims)
    if k == 2:
        return flip(input, dims)
    return flip(input.transpose(*dims), (dims[1],))


def tril(input, diagonal=0):
    return M.Tri.apply(input, diagonal)


def triu(input, diagonal=0):
    return M.Triu.apply(input, diagonal)


def diagonal(input, offset=0, dim1=0, dim2=1):
    return M.Diagonal.apply(input, offset, dim1, dim2)


def diag(input, diagonal=0):
    if input._data.ndim == 1:
        n = input.shape[0] + _babs(diagonal)
        z = input.new_zeros((n, n))
        return M.DiagonalSet.apply(z, input, diagonal, 0, 1)
    return M.Diagonal.apply(input, diagonal, 0, 1).clone()


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    n = input.shape[-1] + _babs(offset)
    z = input.new_zeros(tuple(input.shape[:-1]) + (n, n))
    return M.DiagonalSet.apply(z, input, offset, z.ndim - 2, z.ndim - 1)


def trace(input):
    return diagonal(input).sum()


def expand(input, *sizes):
    return M.Expand.apply(input, M._shape_arg(sizes))


def broadcast_to(input, size):
    return M.Expand.apply(input, tuple(size))


def broadcast_shapes(*shapes):
    from ._tensor import Size
    try:
        return Size(np.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,) for s in shapes]))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape") from None


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(broadcast_to(t, shape) for t in tensors)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated
        r = input._data
        return wrap(np.repeat(np.arange(len(r)), r).astype(np.int64))
    if dim is None:
        input, dim = input.reshape(-1), 0
    d = norm_dim(dim, input.ndim)
    reps = repeats._data if isinstance(repeats, Tensor) else repeats
    idx = np.repeat(np.arange(input.shape[d]), reps)
    return index_select(input, d, wrap(idx.astype(np.int64)))


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    n = len(tensors)
    shape = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(tensors):
        view = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        view[pos] = -1
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


def cartesian_prod(*tensors):
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], dim=1) if len(tensors) > 1 else tensors[0]


# ---- indexing ----------------------------------------------------------------------------------------
def gather(input, dim, index, *, sparse_grad=False):
    return M.Gather.apply(input, dim, index)


def take_along_dim(input, indices, dim=None):
    """gather along ``dim`` after broadcasting input and indices against each other (except along ``dim``)."""
    from .ops._util import _check_broadcast
    if dim is None:
        input, indices, dim = input.reshape(-1), indices.reshape(-1), 0
    d = norm_dim(dim, input.ndim)
    indices = _wrap_negative(indices, input.shape[d] if input.ndim else 1)  # torch wraps them here
    si, sx = list(input.shape), list(indices.shape)
    si[d] = sx[d] = 1
    _check_broadcast(si, sx)
    common = list(np.broadcast_shapes(tuple(si), tuple(sx)))
    bi, bx = list(common), list(common)
    bi[d], bx[d] = input.shape[d], indices.shape[d]
    return gather(input.expand(bi), d, indices.expand(bx))


def _wrap_negative(index, size):
    """``index`` with negative entries counted from the end (``-1`` -> ``size - 1``), when any are."""
    i = index._data
    if i.size and int(i.min()) < 0:
        xp = array_module(i)
        return wrap(xp.where(i < 0, i + size, i))
    return index


def take(input, index):
    check_index_range(index._data, input.numel(), 0, "take", wrap_negative=True)
    return input.reshape(-1)[index]


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    s = src if src is not None else value
    return (M.Scatter if isinstance(s, Tensor) else M.ScatterValue).apply(input, dim, index, s, reduce)


def scatter_add(input, dim, index, src):
    return M.ScatterAdd.apply(input, dim, index, src)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    x = input._data.copy()
    d = norm_dim(dim, x.ndim)
    check_index_range(index._data, x.shape[d], d)
    ix = M._scatter_index(x, d, index._data)
    s = src._data[tuple(slice(0, n) for n in index.shape)]
    ufunc = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum, "mean": np.add}[reduce]
    if not include_self:
        fill = {"sum": 0, "prod": 1, "amax": -np.inf, "amin": np.inf, "mean": 0}[reduce]
        x[ix] = fill
    ufunc.at(x, ix, s)
    if reduce == "mean":
        cnt = np.zeros(x.shape, dtype=np.int64) + (1 if include_self else 0)
        np.add.at(cnt, ix, 1)
        x = x / np.maximum(cnt, 1)
    return wrap(x.astype(input._data.dtype))


def index_select(input, dim, index):
    return M.IndexSelect.apply(input, dim, index)


def index_add(input, dim, index, source, *, alpha=1):
    return M.IndexAdd.apply(input, dim, index, source, alpha)


def index_copy(input, dim, index, source):
    d = norm_dim(dim, input.ndim)
    check_index_range(index._data, input.shape[d] if input.ndim else 1, d, "index_copy")
    key = (slice(None),) * d + (index._data.reshape(-1),)  # a 0-d index is one position, as in torch
    return M.IndexPut.apply(input, key, source)


def index_fill(input, dim, index, value):
    d = norm_dim(dim, input.ndim)
    check_index_range(index._data, input.shape[d] if input.ndim else 1, d, "index_fill", wrap_negative=True)
    key = (slice(None),) * d + (index._data.reshape(-1),)
    return M.IndexPut.apply(input, key, value)


def index_put(input, indices, values, accumulate=False):
    key, _ = M._norm_key(tuple(indices))
    return M.IndexPutAdvanced.apply(input, key, values, accumulate)


def masked_fill(input, mask, value):
    return M.MaskedFill.apply(input, mask, value)


def masked_select(input, mask):
    shape = np.broadcast_shapes(input.shape, mask.shape)
    return input.expand(shape)[mask.expand(shape)] if shape != tuple(input.shape) else input[mask.expand(shape)]


def masked_scatter(input, mask, source):
    m = mask._data
    n = int(m.sum())
    return index_put(input, (mask,), source.reshape(-1)[:n])


def nonzero(input, *, as_tuple=False):
    x = input._data
    idx = array_module(x).nonzero(x) if x.ndim else np.nonzero(np.atleast_1d(x))
    if as_tuple:
        return tuple(wrap(i.astype(np.int64)) for i in idx)
    if x.ndim == 0:
        return wrap(np.zeros((int(bool(x)), 0), np.int64))
    return wrap(array_module(x).stack(idx, axis=1).astype(np.int64))


def argwhere(input):
    return nonzero(input)


# ---- products ---------------------------------------------------------------------------------------
def matmul(input, other, *, out=None):
    return L.matmul(input, other)


def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"self must be a matrix" if input.ndim != 2 else "mat2 must be a matrix")
    return L.Mm.apply(input, mat2)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor" if input.ndim != 3 else "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, "
                           f"{input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    return L.Bmm.apply(input, mat2)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    return L.Addmm.apply(input, mat1, mat2, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    prod_ = bmm(batch1, batch2)
    return input * beta + prod_ * alpha if (beta, alpha) != (1, 1) else input + prod_


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return input * beta + matmul(mat, vec) * alpha


def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return L.Dot.apply(input, other)


def inner(input, other):
    """Sum over the last dims: shape ``input.shape[:-1] + other.shape[:-1]`` (a number times a tensor if 0-d)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    k = input.shape[-1]
    out = input.reshape(-1, k) @ other.reshape(-1, k).t()
    return out.reshape(tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


def vdot(input, other):
    return dot(input.conj() if input.is_complex() else input, other)


def mv(input, vec):
    return L.Mv.apply(input, vec)


def outer(input, vec2):
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return L.Einsum.apply(equation, *operands)


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        da = list(builtins.range(a.ndim - dims, a.ndim))
        db = list(builtins.range(dims))
    else:
        da, db = [list(d) if not isinstance(d, int) else [d] for d in dims]
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[:a.ndim])
    sb = list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in da] + [c for j, c in enumerate(sb) if j not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def kron(a, b):
    out = a.reshape(a.shape[0], 1, a.shape[1] if a.ndim > 1 else 1, 1) * \
        b.reshape(1, b.shape[0], 1, b.shape[1] if b.ndim > 1 else 1)
    return out.reshape(a.shape[0] * b.shape[0], -1) if a.ndim > 1 else out.reshape(-1)


def cross(input, other, dim=None):
    if dim is None:
        dim = next(i for i, s in enumerate(input.shape) if s == 3)
    a = [input.select(dim, i) for i in builtins.range(3)]
    b = [other.select(dim, i) for i in builtins.range(3)]
    return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], dim)


def cdist(x1, x2, p=2.0):
    diffs = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return norm(diffs, p, dim=-1)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    num = (x1 * x2).sum(dim)
    den = clamp(x1.norm(dim=dim) * x2.norm(dim=dim), min=eps)
    return num / den


# ---- copies and conversions ------------------------------------------------------------------------
def clone(input, *, memory_format=None):
    return M.Clone.apply(input)


def detach(input):
    return input.detach()


def numel(input):
    return input.numel()


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_storage(obj):
    from .storage import UntypedStorage
    return isinstance(obj, UntypedStorage)


def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return input.is_complex()


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def conj(input):
    from .ops.complex import conj as _conj
    return _conj(input)


conj_physical = resolve_conj = conj


def real(input):
    """The real part (a copy in Ember, a view in torch); a real tensor is returned as it is."""
    from .ops.complex import Real
    return Real.apply(input) if input.is_complex() else input


def imag(input):
    from .ops.complex import Imag
    return Imag.apply(input)


def angle(input):
    from .ops.complex import Angle
    return Angle.apply(input)


def view_as_real(input):
    """A complex (…) tensor as a real (…, 2) one: [real, imag] in the last dim."""
    from .ops.complex import ViewAsReal
    return ViewAsReal.apply(input)


def view_as_complex(input):
    """A real (…, 2) tensor as a complex (…) one."""
    from .ops.complex import ViewAsComplex
    return ViewAsComplex.apply(input)


for _name in ("sum", "nansum", "mean", "nanmean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var",
              "std", "logsumexp", "all", "any", "norm", "count_nonzero", "median", "var_mean", "std_mean"):
    globals()[_name] = _numpy_names(globals()[_name])


# ---- matrix functions at the top level (torch.det, torch.inverse ...): ember.linalg does the work ----------
def _linalg():
    from . import linalg
    return linalg


def det(input):
    return _linalg().det(input)


def logdet(input):
    """log det(A): nan where det < 0, -inf where det = 0 (as torch)."""
    sign, logabs = _linalg().slogdet(input)
    return where(sign < 0, float("nan"), where(sign == 0, float("-inf"), logabs))


def slogdet(input):
    return _linalg().slogdet(input)


def inverse(input):
    return _linalg().inv(input)


def pinverse(input, rcond=1e-15):
    return _linalg().pinv(input, rtol=rcond)


def matrix_exp(input):
    return _linalg().matrix_exp(input)


def matrix_power(input, n):
    return _linalg().matrix_power(input, n)


def cholesky(input, upper=False):
    return _linalg().cholesky(input, upper=upper)


def cholesky_solve(B, L, upper=False):
    """X with (L L^H) X = B from a Cholesky factor (upper=True: U^H U). As in torch, the gradient reaches
    every entry of L (the product L L^H is differentiated, not only its triangle)."""
    A = L.mT @ L if upper else L @ L.mT
    return _linalg().solve(A, B)


def cholesky_inverse(L, upper=False):
    from .creation import eye
    return cholesky_solve(eye(L.shape[-1], dtype=L.dtype).expand(L.shape), L, upper)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    return _linalg().lu_unpack(LU_data, LU_pivots)


_svd_t = namedtuple("svd", ["U", "S", "V"])
_qr_t = namedtuple("qr", ["Q", "R"])
for _t_ in (_svd_t, _qr_t):
    _t_.__module__ = "torch.return_types"
    _t_.__repr__ = _return_type_repr


def svd(input, some=True, compute_uv=True):
    """torch.svd (the old API): (U, S, V) with V, not V^H; ``some=False`` gives the full U and V."""
    U, S, Vh = _linalg().svd(input, full_matrices=not some)
    if not compute_uv:
        return _svd_t(U.detach() * 0, S, Vh.detach() * 0)
    return _svd_t(U, S, Vh.mT)


def qr(input, some=True):
    return _qr_t(*_linalg().qr(input, mode="reduced" if some else "complete"))


# ---- special functions at the top level (torch.lgamma, torch.erfinv ...): ember.special does the work -----
def _special():
    from . import special
    return special


def lgamma(input, *, out=None):
    return _special().gammaln(input)


def digamma(input, *, out=None):
    return _special().digamma(input)


def polygamma(n, input, *, out=None):
    return _special().polygamma(n, input)


def mvlgamma(input, p, *, out=None):
    return _special().multigammaln(input, p)


def erfinv(input, *, out=None):
    return _special().erfinv(input)


def i0(input, *, out=None):
    return _special().i0(input)


def sinc(input, *, out=None):
    return _special().sinc(input)


def igamma(input, other, *, out=None):
    return _special().gammainc(input, other)


def igammac(input, other, *, out=None):
    return _special().gammaincc(input, other)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """torch.vmap is torch.func.vmap."""
    from .func import vmap as _vmap
    return _vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    """The short-time Fourier transform (implemented beside the FFTs, in ember/fft.py)."""
    from .fft import stft as _stft
    return _stft(input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided, return_complex)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    from .fft import istft as _istft
    return _istft(input, n_fft, hop_length, win_length, window, center, normalized, onesided, length, return_complex)


# ---- the older matrix APIs torch keeps at the top level (triangular_solve, lu, geqrf …) ------------------------
_tri_t = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
_geqrf_t = namedtuple("geqrf", ["a", "tau"])
for _t_ in (_tri_t, _geqrf_t):
    _t_.__module__ = "torch.return_types"
    _t_.__repr__ = _return_type_repr


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """(X, A.clone()) with op(T) X = b, T the upper/lower triangle of A, op = transpose if asked."""
    T = A.mT if transpose else A
    X = _linalg().solve_triangular(T, b, upper=upper != transpose, unitriangular=unitriangular)
    return _tri_t(X, A.clone())


def lu(A, pivot=True, get_infos=False):
    """(LU, pivots[, infos]): the packed factorization of linalg.lu_factor_ex."""
    LU, piv, info = _linalg().lu_factor_ex(A, pivot=pivot)
    return (LU, piv, info) if get_infos else (LU, piv)


def lu_solve(b, LU_data, LU_pivots):
    return _linalg().lu_solve(LU_data, LU_pivots, b)


def geqrf(input):
    """LAPACK's geqrf: (a, tau) — R above the diagonal, Householder vectors below (not differentiable)."""
    a, tau = _linalg().geqrf_array(input._data)
    return _geqrf_t(wrap(a), wrap(tau))


def orgqr(input, tau):
    """Q (the first n columns) from geqrf's reflectors: linalg.householder_product."""
    return _linalg().householder_product(input, tau)


def ormqr(input, tau, other, left=True, transpose=False):
    """Q @ other (or other @ Q; with transpose: Q^H) for the full m x m Q of geqrf's reflectors."""
    m = input.shape[-2]
    from .creation import zeros
    A = input[..., :, :m] if input.shape[-1] >= m else cat([input, zeros(*input.shape[:-1], m - input.shape[-1],
                                                                           dtype=input.dtype)], -1)
    Q = _linalg().householder_product(A, tau)
    if transpose:
        Q = Q.mH if Q.is_complex() else Q.mT
    return Q @ other if left else other @ Q
