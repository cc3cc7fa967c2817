"""Reductions: sum, mean, prod, max/min, var/std, logsumexp, norm, cumulative sums.

A reduction over ``dim`` (an int, a tuple, or None = all) with ``keepdim``. Backward broadcasts the
gradient back over the reduced axes: it re-inserts them as size-1 axes (``_unsqueeze_to``) and lets
broadcasting expand it.
"""
import math
import warnings

import numpy as np

from ..autograd.function import Function
from .._jit import float32_kernels
from .._parallel import split_work, STREAM_MIN_ELEMENTS
from ._util import norm_dims, norm_dim, wrap, array_module, float_result
from ..dtypes import get_default_dtype, to_dtype
from ..autograd.grad_mode import STATE


def _keep(g, shape, dims, keepdim):
    """Give ``g`` (a reduction's gradient) size-1 axes at ``dims`` so it broadcasts against ``shape``."""
    if keepdim or not dims:
        return g
    kept = list(g.shape)
    for d in dims:
        kept.insert(d, 1)
    return g.reshape(kept)


def _sum_dtype(x, dtype):
    if dtype is not None:
        return to_dtype(dtype).np
    return np.int64 if x.dtype.kind in "biu" else None


def _sum_around(x, dims):
    """The sum over every axis but one block in the middle -- (A, C, B) -> (C,), a conv bias gradient's
    shape -- as one compiled pass over channels on every core (big contiguous float32 NumPy arrays, B >= 16);
    None where that does not apply."""
    kept = [d for d in range(x.ndim) if d not in dims]
    if kept[-1] - kept[0] != len(kept) - 1 or kept[-1] == x.ndim - 1 or not x.flags.c_contiguous:
        return None
    K = float32_kernels(x)
    B = math.prod(x.shape[kept[-1] + 1:])
    if K is None or B < 16:
        return None
    x3 = x.reshape(-1, math.prod(x.shape[kept[0]:kept[-1] + 1]), B)
    out = np.empty(x3.shape[1], np.float32)
    split_work(x3.shape[1], lambda lo, hi: K.channel_sums(x3, out, lo, hi), x.size, STREAM_MIN_ELEMENTS)
    return out.reshape(tuple(x.shape[d] for d in kept))


class Sum(Function):
    """sum(a, dims):  d/da = 1 broadcast over the reduced dims"""
    _grad_fn_name = "SumBackward1"

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        x = a._data
        dims = norm_dims(dim, x.ndim)
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if dtype is None and x.dtype.kind == "V":  # bfloat16: accumulate in float32, round once (torch)
            return x.sum(axis=dims, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
        if dtype is None and dims and len(dims) < x.ndim:
            out = _sum_around(x, dims)
            if out is not None:
                return out.reshape(tuple(1 if d in dims else n for d, n in enumerate(x.shape))) if keepdim else out
        return x.sum(axis=dims, keepdims=keepdim, dtype=_sum_dtype(x, dtype))

    @staticmethod
    def backward(ctx, g):
        return _keep(g, ctx.shape, ctx.dims, ctx.keepdim).expand(ctx.shape), None, None, None


class SumAll(Sum):
    _grad_fn_name = "SumBackward0"


class Mean(Function):
    """mean(a, dims):  d/da = 1/n broadcast over the reduced dims"""
    _grad_fn_name = "MeanBackward1"

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        x = a._data
        if dtype is None and x.dtype.kind not in "fcV":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {a.dtype.scalar_name}")
        dims = norm_dims(dim, x.ndim)
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.n = int(np.prod([x.shape[d] for d in dims])) if dims else 1
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing is nan, silently (torch)
            acc = np.float32 if x.dtype.kind == "V" else None  # bfloat16 accumulates in float32 (torch)
            out = x.mean(axis=dims, keepdims=keepdim, dtype=acc if dtype is None else to_dtype(dtype).np)
        return out.astype(x.dtype, copy=False) if dtype is None else out

    @staticmethod
    def backward(ctx, g):
        return _keep(g, ctx.shape, ctx.dims, ctx.keepdim).expand(ctx.shape) / ctx.n, None, None, None


class MeanAll(Mean):
    _grad_fn_name = "MeanBackward0"


class Prod(Function):
    """prod(a, dim):  d/da_i = prod_{j != i} a_j  (computed without dividing, so zeros are fine)"""
    _grad_fn_name = "ProdBackward1"

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        x = a._data
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, x.shape
        ctx.save_for_backward(a)
        if dim is None:
            return x.prod(dtype=_sum_dtype(x, dtype))
        return x.prod(axis=norm_dim(dim, x.ndim), keepdims=keepdim, dtype=_sum_dtype(x, dtype))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        if ctx.dim is None:
            flat = a.reshape(-1)
            d, gk = 0, g.reshape(1)
        else:
            flat, d = a, norm_dim(ctx.dim, a.ndim)
            gk = _keep(g, ctx.shape, (d,), ctx.keepdim)
        # product of everything before (exclusive cumprod) times everything after
        from ..functions import cat
        ones = flat.narrow(d, 0, 1) * 0 + 1
        before = cat([ones, flat.narrow(d, 0, flat.shape[d] - 1)], d).cumprod(d)
        after = flat.flip(d).narrow(d, 0, flat.shape[d] - 1)
        after = cat([ones, after], d).cumprod(d).flip(d)
        from .pointwise import _cj
        grad = gk * _cj(before * after)
        return grad.reshape(ctx.shape), None, None, None


class ProdAll(Prod):
    _grad_fn_name = "ProdBackward0"


class MaxDim(Function):
    """max(a, dim) -> (values, indices):  the gradient goes to the arg-max position"""
    _grad_fn_name = "MaxBackward0"

    @staticmethod
    def forward(ctx, a, dim, keepdim=False):
        x = a._data
        xp = array_module(x)
        d = norm_dim(dim, x.ndim)
        if x.ndim and x.shape[d] == 0:
            raise IndexError(f"max(): Expected reduction dim {dim} to have non-zero size.")
        if x.ndim == 0:
            idx = xp.zeros((), dtype=np.int64)
            vals = x.copy()
        else:
            pick = xp.argmax if ctx._fn is MaxDim else xp.argmin
            idx = pick(x, axis=d, keepdims=True)
            vals = xp.take_along_axis(x, idx, axis=d)
            if not keepdim:
                idx, vals = idx.squeeze(d), vals.squeeze(d)
        ctx.d, ctx.keepdim, ctx.shape, ctx.idx = d, keepdim, x.shape, idx
        i = wrap(idx.astype(np.int64, copy=False))
        ctx.mark_non_differentiable(i)
        return wrap(vals), i

    @staticmethod
    def backward(ctx, g, gi):
        if len(ctx.shape) == 0:
            return g, None, None
        idx = wrap(ctx.idx)
        gk, ik = (g, idx) if ctx.keepdim else (g.unsqueeze(ctx.d), idx.unsqueeze(ctx.d))
        zeros = g.new_zeros(ctx.shape)
        return zeros.scatter(ctx.d, ik, gk), None, None


class MinDim(MaxDim):
    _grad_fn_name = "MinBackward0"


class Amax(Function):
    """amax(a, dims):  the gradient is shared evenly among the tied maxima"""
    _grad_fn_name = "AmaxBackward0"

    @staticmethod
    def forward(ctx, a, dim=(), keepdim=False):
        x = a._data
        dims = norm_dims(dim if dim != () else None, x.ndim)
        if x.size == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        xp = array_module(x)
        out = (xp.amax if ctx._fn in (Amax, MaxAll) else xp.amin)(x, axis=dims, keepdims=keepdim)
        ctx.save_for_backward(a)
        ctx.out, ctx.dims, ctx.keepdim = out, dims, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        out = _keep(wrap(ctx.out), a.shape, ctx.dims, ctx.keepdim)
        mask = (a == out).to(g.dtype)
        count = mask.sum(dim=ctx.dims, keepdim=True)
        return _keep(g, a.shape, ctx.dims, ctx.keepdim) * mask / count, None, None


class Amin(Amax):
    _grad_fn_name = "AminBackward0"


class MaxAll(Amax):
    _grad_fn_name = "MaxBackward1"


class MinAll(Amax):
    _grad_fn_name = "MinBackward1"


class Var(Function):
    """var(a) = sum((a - mean)^2) / (n - correction):  d/da = 2 (a - mean) / (n - correction)"""
    _grad_fn_name = "VarBackward0"

    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        x = float_result(a._data)
        dims = norm_dims(dim, x.ndim)
        n = int(np.prod([x.shape[d] for d in dims])) if dims else 1
        ctx.save_for_backward(a)
        ctx.dims, ctx.keepdim, ctx.denom = dims, keepdim, n - correction
        # NumPy, like torch, divides by max(n - correction, 0): no degrees of freedom left gives inf (0/0 nan)
        if n - correction <= 0:
            name = "std" if ctx._fn is not Var else "var"
            warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                          "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=5)
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = x.var(axis=dims, ddof=correction, keepdims=keepdim)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        centered = a - a.mean(dim=ctx.dims, keepdim=True)
        scale = 2.0 / ctx.denom if ctx.denom else float("inf")
        return _keep(g, a.shape, ctx.dims, ctx.keepdim) * centered * scale, None, None, None


class Std(Function):
    """std(a) = sqrt(var(a)):  d/da = (a - mean) / ((n - correction) * std)"""
    _grad_fn_name = "StdBackward0"

    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        out = Var.forward(ctx, a, dim, correction, keepdim)
        with np.errstate(invalid="ignore"):
            out = array_module(out).sqrt(out)
        ctx.out, ctx.correction = out, correction
        return out

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        centered = a - a.mean(dim=ctx.dims, keepdim=True)
        std = _saved_out(ctx, lambda: Std.apply(a, ctx.dims, ctx.correction, True))
        if not STATE.enabled:
            std = _keep(std, a.shape, ctx.dims, ctx.keepdim)
        safe = where_(std == 0, std * 0 + 1, std)  # a constant slice (std 0) gets gradient 0, as in torch
        return _keep(g, a.shape, ctx.dims, ctx.keepdim) * centered / (safe * ctx.denom) * (std != 0), None, None, None


class LogSumExp(Function):
    """log(sum(exp(a))):  d/da = softmax(a) over the reduced dims"""
    _grad_fn_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, a, dim, keepdim=False):
        x = float_result(a._data)
        xp = array_module(x)
        dims = norm_dims(dim, x.ndim)
        m = xp.amax(x, axis=dims, keepdims=True) if x.size else xp.zeros([1] * x.ndim, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # all -inf: log(0) = -inf, silently
            out = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
        ctx.save_for_backward(a)
        ctx.dims, ctx.keepdim, ctx.out = dims, keepdim, out
        return out if keepdim else out.squeeze(dims)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        out = _saved_out(ctx, lambda: LogSumExp.apply(a, ctx.dims, True))  # ctx.out kept its reduced dims
        return _keep(g, a.shape, ctx.dims, ctx.keepdim) * (a - out).exp(), None, None


class Cumsum(Function):
    """cumsum(a, d):  d/da = reverse cumsum of the gradient"""
    _grad_fn_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, a, dim, dtype=None):
        x = a._data
        ctx.d = norm_dim(dim, x.ndim)
        if x.ndim == 0:
            return x.copy()
        return x.cumsum(axis=ctx.d, dtype=_sum_dtype(x, dtype))

    @staticmethod
    def backward(ctx, g):
        if g.ndim == 0:
            return g, None, None
        return g.flip(ctx.d).cumsum(ctx.d).flip(ctx.d), None, None


class Cumprod(Function):
    """cumprod(a, d):  d/da_i = sum_{k>=i} g_k * out_k / a_i  (inputs with zeros use the slow exact path)"""
    _grad_fn_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, a, dim, dtype=None):
        x = a._data
        ctx.d = norm_dim(dim, x.ndim)
        ctx.save_for_backward(a)
        out = x.copy() if x.ndim == 0 else x.cumprod(axis=ctx.d, dtype=_sum_dtype(x, dtype))
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        if a.ndim == 0:
            return g, None, None
        d = ctx.d
        if bool((a == 0).any()):
            # exact: grad_i = sum_{k>=i} g_k * prod_{j<=k, j!=i} a_j, built as a triangular matmul
            n = a.shape[d]
            am = a.movedim(d, -1)
            gm = g.movedim(d, -1)
            eye = wrap(np.eye(n, dtype=bool))
            rep = am.unsqueeze(-2).expand(*am.shape[:-1], n, n)  # [..., i, j] = a_j
            rep = where_(eye, rep * 0 + 1, rep)  # drop a_i
            prods = rep.cumprod(-1)  # [..., i, k] = prod_{j<=k, j!=i}
            tri = wrap(np.triu(np.ones((n, n), dtype=bool)))
            res = (prods * gm.unsqueeze(-2) * tri).sum(-1)
            return res.movedim(-1, d), None, None
        out = _saved_out(ctx, lambda: a.cumprod(d))
        return (g * out).flip(d).cumsum(d).flip(d) / a, None, None


def where_(c, x, y):
    from .pointwise import Where
    return Where.apply(c, x, y)


def _saved_out(ctx, recompute):
    """The forward's output for backward: the kept array, or under ``create_graph`` the output recomputed
    with Tensor ops, so that second derivatives see its dependence on the input."""
    return recompute() if STATE.enabled else wrap(ctx.out)


class Norm(Function):
    """p-norm over dims:  d/da = sign(a) |a|^(p-1) / norm^(p-1)  (p=2: a / norm; p=inf: to the max entries)"""
    _grad_fn_name = "LinalgVectorNormBackward0"  # torch 2 routes Tensor.norm through linalg.vector_norm

    @staticmethod
    def forward(ctx, a, p=2, dim=None, keepdim=False):
        x = float_result(a._data)
        xp = array_module(x)
        dims = norm_dims(dim, x.ndim)
        ax = xp.abs(x)
        if p == 2:
            out = xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
        elif p == float("inf"):
            out = ax.max(axis=dims, keepdims=keepdim)
        elif p == float("-inf"):
            out = ax.min(axis=dims, keepdims=keepdim)
        elif p == 0:
            out = (x != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)
        elif p == 1:
            out = ax.sum(axis=dims, keepdims=keepdim)
        else:
            out = (ax ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        ctx.save_for_backward(a)
        ctx.p, ctx.dims, ctx.keepdim, ctx.out = p, dims, keepdim, out
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        p = ctx.p
        out = _saved_out(ctx, lambda: Norm.apply(a, p, ctx.dims, True))
        if not STATE.enabled:
            out = _keep(out, a.shape, ctx.dims, ctx.keepdim)
        gk = _keep(g, a.shape, ctx.dims, ctx.keepdim)
        if p == 2:
            safe = where_(out == 0, out * 0 + 1, out)
            return gk * a / safe * (out != 0), None, None, None
        if p == 1:
            return gk * a.sign(), None, None, None
        if p in (float("inf"), float("-inf")):
            mask = (a.abs() == out).to(g.dtype)
            return gk * a.sign() * mask / mask.sum(dim=ctx.dims, keepdim=True), None, None, None
        if p == 0:
            return gk.expand(a.shape) * 0, None, None, None
        safe = where_(out == 0, out * 0 + 1, out)
        scaled = where_(a == 0, a * 0, a.sign() * a.abs() ** (p - 1))  # sign(a)|a|^(p-1), 0 at a = 0 (p < 1 too)
        return gk * scaled / safe ** (p - 1) * (out != 0), None, None, None


def sum_(a, dim=None, keepdim=False, dtype=None):
    if (dim is None and not keepdim) or (isinstance(dim, (tuple, list)) and len(dim) == 0 and a.ndim == 0):
        return SumAll.apply(a, None, False, dtype)
    return Sum.apply(a, dim, keepdim, dtype)  # dim=None with keepdim: every axis kept as size 1


def mean_(a, dim=None, keepdim=False, dtype=None):
    if dim is None and not keepdim:
        return MeanAll.apply(a, None, False, dtype)
    return Mean.apply(a, dim, keepdim, dtype)


def default_float():
    return get_default_dtype()
