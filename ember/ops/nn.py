"""Fused neural-network primitives: each one a single ``Function`` with forward and backward side by side.

Why fuse? Composing ``softmax`` from ``exp``, ``sum`` and ``div`` works, but every step walks the whole array
and allocates a new one; NumPy's ``exp``/``tanh`` run on one core, so the number of passes *is* the cost.
Each forward here makes as few passes as it can (``out=``, in-place updates, reused buffers) and saves what
its backward needs, so the backward is a handful of passes too. On NumPy the heavy ones (softmax,
log_softmax, cross_entropy, layer_norm, gelu) go further: they walk the array in cache-sized blocks (all
passes of a block hit L2, not RAM) and hand contiguous slabs of rows to the core's thread pool, since NumPy
releases the GIL inside its loops. Blocks are vectorized; no Python loop ever touches single elements.
With Numba installed (``ember[fast]``), large float32 inputs go one step further: compiled row kernels
(``ops/nn_kernels.py``) take each row through every step while it sits in L1, one read and one write of
memory per array, as torch's kernels do. The NumPy code stays the reference they are tested against.

Conventions (the same for every class below):

* ``forward(ctx, ...)`` works on the arrays (``t._data``) with ``xp`` = NumPy or CuPy and returns an array.
* ``backward(ctx, grad)`` returns one gradient per forward input. When the engine runs it with grad mode
  *off* (the usual ``loss.backward()``), the fast path computes the gradient on arrays. With
  ``create_graph=True`` grad mode is *on*; then the same formula is written with Tensor ops (or with other
  Functions of this file) so that gradients of gradients work.
* ``_grad_fn_name`` is the name PyTorch prints for the node (``grad_fn=<SoftmaxBackward0>``).
* Losses reduce inside the Function (``reduction`` = 'none' | 'mean' | 'sum'), as torch's kernels do.
"""
import math

import numpy as np

from ..autograd import Function
from ..autograd.grad_mode import is_grad_enabled
from ..device import array_module
from .._jit import float32_kernels, sampling_kernels as _sampling_kernels, nn_kernels as _nn_kernels
from ._util import float32_inside, float32_inside_backward

__all__ = [
    "erf", "Softmax", "LogSoftmax", "CrossEntropy", "CrossEntropy2d", "NllLoss", "NllLoss2d",
    "LayerNorm", "GroupNorm", "BatchNorm", "RmsNorm", "Gelu", "Embedding", "EmbeddingDenseBackward",
    "Dropout", "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits", "MseLoss", "SmoothL1Loss", "HuberLoss",
    "LeakyRelu", "Elu", "Celu", "Silu", "Mish", "Softplus", "Hardtanh", "Hardsigmoid", "Hardswish",
    "LogSigmoid", "CtcLoss",
]


def _wrap(a):
    from .._tensor import wrap
    return wrap(a)


def _xp(t):
    return array_module(t._data)


def _reduce(a, reduction):
    """Apply a loss reduction to the per-element loss array ``a``."""
    if reduction == "none":
        return a
    s = a.sum(dtype=a.dtype)
    return s / a.size if reduction == "mean" else s


def _scale_grad(g, reduction, n):
    """The upstream gradient of a reduced loss, as a Tensor that broadcasts over the elements."""
    return g / n if reduction == "mean" else g


# --------------------------------------------------------------------------------------------------
# erf: NumPy has none. We write erf(x) = tanh(x P(x^2)) with P a degree-6 polynomial fitted (weighted least
# squares on atanh(erf x), in float64) on [0, 4.5]. Its top coefficient is positive and x P(x^2) stays above
# 9.4 for every x > 4 (tanh(9.4) = 1 in float32), so no clipping is needed: huge |x| overflow to +-inf and
# tanh gives +-1. Max error 1.8e-7 absolute / 2.6e-7 relative in float32 -- about 3 ulp -- in 15 cheap
# passes plus one SIMD tanh, no division. The passes run on cache-sized blocks so they stay in L2.
# --------------------------------------------------------------------------------------------------
_ERF_C = (1.1283792750051547, 0.10276903983747074, -0.00019177377344070117, -0.0006198508273047022,
          8.766817991987177e-05, -5.67441538204929e-06, 1.42239225743438e-07)
_BLOCK = 1 << 14
_EW_BLOCK = 1 << 16   # element-wise chains (erf, gelu): 4 float32 arrays of 64K = 1 MiB, one core's L2 here;
                      # fewer, longer passes amortise the ~1 us cost of each ufunc call


def _blocks(n, size=None):
    """Slices covering range(n) in blocks of ``_BLOCK`` (a loop over blocks, each one vectorized)."""
    size = size or _BLOCK
    return (slice(i, min(i + size, n)) for i in range(0, n, size))


from .._parallel import split_work as _split, ROW_MIN_ELEMENTS   # noqa: E402  (work(lo, hi) on one slab per core)


def _rows(a, dim):
    """A (M, C) C-contiguous NumPy view of ``a`` when ``dim`` is its last axis, else None (CuPy, other axes)."""
    if array_module(a) is not np or a.ndim == 0 or dim not in (-1, a.ndim - 1):
        return None
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])


def _over_rows(M, C, kernel):
    """Call ``kernel(lo, hi)`` on blocks of ~64K elements of whole rows, the rows split across cores;
    returns the kernels' results in a flat list."""
    R = max(1, _BLOCK * 4 // max(C, 1))

    def slab(lo, hi):
        return [kernel(i, min(i + R, hi)) for i in range(lo, hi, R)]
    return [r for part in _split(M, slab, M * C, ROW_MIN_ELEMENTS) for r in part]


_compiled = float32_kernels   # the compiled kernels (ops/nn_kernels.py) for a big float32 NumPy array, or None


def _by_rows(kernel, M, C, *args):
    """``kernel(*args, lo, hi)`` over rows 0:M, one slab of rows per core (nogil kernels)."""
    return _split(M, lambda lo, hi: kernel(*args, lo, hi), M * C, ROW_MIN_ELEMENTS)


def _erf_coefs(scale):
    """Coefficients of erf(scale * x) = tanh(x Q(x^2)), Q(y) = sum c_k scale^(2k+1) y^k."""
    return [c * scale ** (2 * k + 1) for k, c in enumerate(_ERF_C)]


def _erf_block(x, out, t, coefs):
    """out = erf(scale x) for one block (``coefs`` from ``_erf_coefs(scale)``); ``t`` is scratch space."""
    with np.errstate(over="ignore", invalid="ignore"):   # |x| > 1e19: x^2 -> inf, result +-1 as it should
        np.multiply(x, x, out=t)
        np.multiply(t, coefs[-1], out=out)
        out += coefs[-2]
        for c in coefs[-3::-1]:
            out *= t
            out += c
        out *= x
        np.tanh(out, out=out)


def erf(a, scale=1.0):
    """Elementwise erf(scale * a) of a float array (float32: a fast tanh-rational form, ~2e-7; float64: full
    precision, from ops/special.py)."""
    xp = array_module(a)
    if xp is not np:  # CuPy ships erf
        from cupyx.scipy.special import erf as cerf  # type: ignore
        return cerf(a * scale if scale != 1 else a)
    if a.dtype == np.float64:  # double precision: the series / continued fraction of ops/special.py
        from .special import erf_array
        return erf_array(a * scale if scale != 1 else a)
    a = np.ascontiguousarray(a)
    flat = a.reshape(-1)
    out = np.empty_like(flat)
    coefs = _erf_coefs(scale)
    t = np.empty(min(_EW_BLOCK, flat.size), a.dtype)
    for sl in _blocks(flat.size, _EW_BLOCK):
        _erf_block(flat[sl], out[sl], t[:sl.stop - sl.start], coefs)
    return out.reshape(a.shape)


# --------------------------------------------------------------------------------------------------
# softmax family
# --------------------------------------------------------------------------------------------------
def _softmax_arrays(x, dim, normalize=True):
    """(softmax, shifted x - max, the normaliser sum exp(x - max) with keepdims) in three passes plus two
    reductions. With ``normalize=False`` (no backward will need it) the first item is left unnormalised."""
    x2 = _rows(x, dim)
    if x2 is None:
        xp = array_module(x)
        with np.errstate(all="ignore"):  # inf - inf = nan silently, as in torch
            z = x - x.max(axis=dim, keepdims=True)       # fresh buffer, shifted so exp never overflows
            e = xp.exp(z)
            s = e.sum(axis=dim, keepdims=True)
            if normalize:
                e /= s                                  # e is now the softmax
        return e, z, s
    z, e = np.empty_like(x2), np.empty_like(x2)
    s = np.empty((x2.shape[0], 1), x2.dtype)

    def kernel(lo, hi):
        xb, zb, eb = x2[lo:hi], z[lo:hi], e[lo:hi]
        with np.errstate(all="ignore"):  # (per thread: NumPy's error state does not cross threads)
            np.subtract(xb, xb.max(axis=1, keepdims=True), out=zb)
            np.exp(zb, out=eb)
            sb = eb.sum(axis=1, keepdims=True)
            s[lo:hi] = sb
            if normalize:
                eb /= sb
    if x2.size <= _BLOCK:
        kernel(0, x2.shape[0])        # one block: no slabs to hand out
    else:
        _over_rows(*x2.shape, kernel)
    shape = x.shape
    return e.reshape(shape), z.reshape(shape), s.reshape(shape[:-1] + (1,))


def _rowdot(a, b, dim):
    """sum(a * b, dim, keepdims): einsum over the last axis makes no temporary array."""
    xp = array_module(a)
    if dim in (-1, a.ndim - 1) and a.ndim <= 26:
        return xp.expand_dims(xp.einsum("...i,...i->...", a, b), -1)
    return (a * b).sum(axis=dim, keepdims=True)


class Softmax(Function):
    """y = exp(x - max x) / sum(exp(x - max x)) along ``dim``.

    dy/dx:  dx = y * (g - sum(g * y, dim))
    """
    _grad_fn_name = "SoftmaxBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, dim):
        xa = x._data
        x2 = _rows(xa, dim)
        if x2 is None:
            xp = array_module(xa)
            with np.errstate(all="ignore"):  # softmax of inf is nan silently, as in torch
                y = xa - xa.max(axis=dim, keepdims=True)     # the only full-size allocation
                xp.exp(y, out=y)
                y /= y.sum(axis=dim, keepdims=True)
        elif _compiled(x2) is not None:                 # one compiled pass per row, rows split across cores
            y2 = np.empty_like(x2)
            _by_rows(_compiled(x2).softmax_forward, *x2.shape, x2, y2)
            y = y2.reshape(xa.shape)
        else:                                           # same three passes, by row blocks on every core
            y2 = np.empty_like(x2)

            def kernel(lo, hi):
                xb, yb = x2[lo:hi], y2[lo:hi]
                with np.errstate(all="ignore"):
                    np.subtract(xb, xb.max(axis=1, keepdims=True), out=yb)
                    np.exp(yb, out=yb)
                    yb /= yb.sum(axis=1, keepdims=True)
            _over_rows(*x2.shape, kernel)
            y = y2.reshape(xa.shape)
        low = getattr(ctx, "_float32_inside", None)       # torch's backward reads the bfloat16 output
        ctx.dim, ctx.y = dim, (y if low is None else y.astype(low).astype(y.dtype))
        ctx.save_for_backward(x)
        return y

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        dim = ctx.dim
        if is_grad_enabled():
            x, = ctx.saved_tensors
            y = Softmax.apply(x, dim)
            return y * (g - (g * y).sum(dim, keepdim=True)), None
        y, ga = ctx.y, g._data
        g2 = _rows(ga, dim)
        if g2 is None:
            out = ga - _rowdot(ga, y, dim)
            out *= y
            return _wrap(out), None
        y2 = y.reshape(g2.shape)
        out = np.empty_like(g2)
        K = _compiled(g2) if y2.dtype == g2.dtype and y2.flags.c_contiguous else None
        if K is not None:
            _by_rows(K.softmax_backward, *g2.shape, g2, y2, out)
            return _wrap(out.reshape(ga.shape)), None

        def kernel(lo, hi):
            gb, yb, ob = g2[lo:hi], y2[lo:hi], out[lo:hi]
            np.subtract(gb, np.einsum("ij,ij->i", gb, yb)[:, None], out=ob)
            ob *= yb
        _over_rows(*g2.shape, kernel)
        return _wrap(out.reshape(ga.shape)), None


class LogSoftmax(Function):
    """y = x - max x - log(sum(exp(x - max x))) along ``dim``.

    dy/dx:  dx = g - softmax(x) * sum(g, dim)      (softmax(x) = exp(y), kept from the forward)
    """
    _grad_fn_name = "LogSoftmaxBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, dim):
        xp = _xp(x)
        ctx.dim, ctx.p, ctx.kernels = dim, None, None
        ctx.save_for_backward(x)
        x2 = _rows(x._data, dim)
        K = _compiled(x2)
        if K is not None:        # compiled: out = x - max - log-sum; the backward recomputes softmax from them
            out, ctx.kernels = np.empty_like(x2), K
            ctx.m, ctx.logs = np.empty(x2.shape[0], x2.dtype), np.empty(x2.shape[0], x2.dtype)
            _by_rows(K.log_softmax_forward, *x2.shape, x2, out, ctx.m, ctx.logs)
            return out.reshape(x.shape)
        p, z, s = _softmax_arrays(x._data, dim, normalize=ctx.needs_input_grad[0])
        z -= xp.log(s)
        ctx.p = p
        return z

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        dim = ctx.dim
        if is_grad_enabled():
            x, = ctx.saved_tensors
            return g - Softmax.apply(x, dim) * g.sum(dim, keepdim=True), None
        ga = g._data
        g2 = _rows(ga, dim)
        if ctx.kernels is not None:              # the compiled forward ran: dx = g - exp(x - lse) * sum(g)
            x2 = _rows(ctx.saved_tensors[0]._data, dim)
            if g2 is None or g2.dtype != x2.dtype:
                g2 = np.ascontiguousarray(ga, dtype=x2.dtype).reshape(x2.shape)
            out = np.empty_like(x2)
            _by_rows(ctx.kernels.log_softmax_backward, *x2.shape, g2, x2, ctx.m, ctx.logs, out)
            return _wrap(out.reshape(ga.shape)), None
        if g2 is None:
            out = ctx.p * ga.sum(axis=dim, keepdims=True)
            array_module(ga).subtract(ga, out, out=out)
            return _wrap(out), None
        p2 = ctx.p.reshape(g2.shape)
        out = np.empty_like(g2)

        def kernel(lo, hi):
            gb, ob = g2[lo:hi], out[lo:hi]
            np.multiply(p2[lo:hi], gb.sum(axis=1, keepdims=True), out=ob)
            np.subtract(gb, ob, out=ob)
        _over_rows(*g2.shape, kernel)
        return _wrap(out.reshape(ga.shape)), None


# --------------------------------------------------------------------------------------------------
# cross entropy = log_softmax + nll_loss in one pass
# --------------------------------------------------------------------------------------------------
def _small_rows(xa, ta):
    """The compiled kernels for cross entropy's small-batch route: a C-contiguous (N, C) float32 NumPy batch,
    int64 class targets, and Numba already loaded by some bigger op (importing it costs a second: a
    small script keeps the NumPy route). None otherwise."""
    if xa.__class__ is not np.ndarray or xa.ndim != 2 or xa.dtype != np.float32 or not xa.shape[0] or \
            ta.__class__ is not np.ndarray or ta.dtype != np.int64 or ta.ndim != 1 or not xa.flags.c_contiguous \
            or not ta.flags.c_contiguous:
        return None
    return _nn_kernels.loaded()


def _class_targets(xp, t, C, ignore_index):
    """(safe targets, valid mask): ignored entries point at class 0; out-of-range targets raise."""
    if t.size:        # the common case, in two reductions: every target a class, none the ignored one
        lo, hi = int(t.min()), int(t.max())
        if 0 <= lo and hi < C and not lo <= ignore_index <= hi:
            return t, xp.ones(t.shape, bool)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    return xp.where(valid, t, 0), valid


def _bshape(ndim, c, C):
    """Shape that puts a length-C vector on axis ``c`` of an ndim array."""
    s = [1] * ndim
    s[c] = C
    return tuple(s)


class CrossEntropy(Function):
    """Cross entropy of logits ``x`` (class axis c = 1, or 0 for an unbatched ``(C,)`` input).

    With p = softmax(x), logp = log p, class-index target t, class weights w, smoothing e, C classes:
        loss_i = (1 - e) w_t (-logp_t) + (e / C) sum_c w_c (-logp_c)        (0 where t == ignore_index)
        dloss_i/dx_c = p_c ((1 - e) w_t + (e / C) sum_k w_k) - (1 - e) w_t [c == t] - (e / C) w_c
    With a probability target q (smoothed: q (1 - e) + e / C):
        loss_i = -sum_c w_c q_c logp_c,   dloss_i/dx_c = p_c sum_k w_k q_k - w_c q_c,   dloss_i/dq_c = -w_c logp_c
    'mean' divides by sum of w_t over non-ignored targets (index targets) or by N*d1*.. (probabilities).
    """
    _grad_fn_name = "NllLossBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, target, weight, ignore_index, reduction, label_smoothing):
        xa = x._data
        xp = array_module(xa)
        c = 0 if xa.ndim == 1 else 1
        C = xa.shape[c]
        ta = target._data
        eps = float(label_smoothing)
        K = _compiled(xa) if xa.ndim == 2 else None
        ctx.rows = None
        if K is None and weight is None and not eps:
            R = _small_rows(xa, ta)
            if R is not None:
                ctx.save_for_backward(x, target)
                return CrossEntropy._rows_forward(ctx, R, xa, ta, ignore_index, reduction)
        if K is not None:   # compiled: one read of x gives each row's max and log-sum; the backward recomputes p
            x2 = np.ascontiguousarray(xa)
            m, logs = np.empty((x2.shape[0], 1), x2.dtype), np.empty((x2.shape[0], 1), x2.dtype)
            _by_rows(K.logsumexp_rows, *x2.shape, x2, m.reshape(-1), logs.reshape(-1))
            p, z = None, (x2 - m if ta.dtype.kind in "fV" or eps else None)   # z only where it is summed
            ctx.m = m
        else:
            p, z, s = _softmax_arrays(xa, c, normalize=any(ctx.needs_input_grad))
            logs = xp.log(s)                               # log-sum-exp minus the max, keepdims
        ctx.kernels, ctx.logs, ctx.dtype = K, logs, xa.dtype
        w = None if weight is None else weight._data.reshape(_bshape(xa.ndim, c, C))
        ctx.c, ctx.C, ctx.reduction, ctx.eps, ctx.p, ctx.w = c, C, reduction, eps, p, w
        ctx.save_for_backward(x, target)
        if ta.dtype.kind in "fV":                           # class probabilities
            ctx.prob = True
            q = ta if eps == 0 else ta * (1 - eps) + eps / C
            wq = q if w is None else q * w
            loss = (logs * wq.sum(axis=c, keepdims=True) - (wq * z).sum(axis=c, keepdims=True)).squeeze(c)
            ctx.wq, ctx.logs, ctx.z = wq, logs, z
            ctx.denom = xa.size // C if xa.size else 0
            ctx.n = loss.size
            if reduction == "none":
                return loss
            tot = loss.sum(dtype=loss.dtype)
            if reduction == "sum":
                return tot
            return tot / ctx.denom if ctx.denom else tot * np.nan      # mean over N * d1 * ...
        ctx.prob = False
        ts, valid = _class_targets(xp, ta, C, ignore_index)
        ti = xp.expand_dims(ts, c)
        if z is not None and z.ndim == 2:     # (one fancy index: take_along_axis builds index grids first)
            zt = z[xp.arange(z.shape[0]), ts][:, None]
        else:
            zt = xp.take_along_axis(z, ti, axis=c) if z is not None else xp.take_along_axis(x2, ti, axis=c) - m
        nll = (logs - zt).squeeze(c)                                    # -logp_t
        wt = valid.astype(xa.dtype) if w is None else xp.where(valid, weight._data[ts], 0).astype(xa.dtype)
        loss = (1 - eps) * wt * nll if eps else wt * nll
        a = wt * (1 - eps) if eps else wt                    # coefficient of p_c in the gradient
        if eps:
            if w is None:
                smooth = C * logs.squeeze(c) - z.sum(axis=c)
                W = C
            else:
                smooth = weight._data.sum() * logs.squeeze(c) - (z * w).sum(axis=c)
                W = weight._data.sum()
            vf = valid.astype(xa.dtype)
            loss = loss + (eps / C) * vf * smooth
            a = a + (eps / C) * W * vf
            ctx.vf = vf
        ctx.ti, ctx.wt, ctx.a = ti, wt, a
        if reduction == "none":
            return loss.astype(xa.dtype, copy=False)
        tot = loss.sum(dtype=xa.dtype)
        if reduction == "sum":
            return tot
        denom = wt.sum(dtype=xa.dtype)
        ctx.denom = denom
        with np.errstate(invalid="ignore", divide="ignore"):
            return tot / denom

    @staticmethod
    def _rows_forward(ctx, R, xa, ta, ignore_index, reduction):
        """A small float32 batch with class targets, no weights or smoothing (a classifier's usual loss):
        one compiled call gives every row's max, log-sum, kept flag and the summed loss."""
        N, C = xa.shape
        m, logs, wt = np.empty((N, 1), xa.dtype), np.empty((N, 1), xa.dtype), np.empty(N, xa.dtype)
        tot, kept, bad = R.nll_rows(xa, ta, ignore_index, m.reshape(-1), logs.reshape(-1), wt)
        if bad >= 0:
            raise IndexError(f"Target {int(ta[bad])} is out of bounds.")
        ctx.rows, ctx.kernels, ctx.m, ctx.logs, ctx.dtype = R, None, m, logs, xa.dtype
        ctx.c, ctx.C, ctx.reduction, ctx.eps, ctx.p, ctx.w, ctx.prob = 1, C, reduction, 0.0, None, None, False
        ctx.wt = ctx.a = wt
        ctx.ignore_index = ignore_index
        # (the target indices a double backward uses: ignored rows point at class 0)
        ctx.ti = ta[:, None] if kept == N else np.where(wt > 0, ta, 0)[:, None]
        if reduction == "none":
            with np.errstate(invalid="ignore"):
                return (logs.reshape(-1) - np.take_along_axis(xa - m, ctx.ti, axis=1).reshape(-1)) * wt
        tot = xa.dtype.type(tot)
        if reduction == "sum":
            return np.asarray(tot)
        ctx.denom = xa.dtype.type(kept)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(tot / ctx.denom)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        c, C, red = ctx.c, ctx.C, ctx.reduction
        x, target = ctx.saved_tensors
        if ctx.rows is not None and not is_grad_enabled():   # the compiled small-batch route (_rows_forward)
            with np.errstate(invalid="ignore", divide="ignore"):   # (every row ignored: 0/0, zeroed below)
                ga = g._data / ctx.denom if red == "mean" else g._data
                s = np.ascontiguousarray(ctx.wt * ga, dtype=ctx.dtype)
            dx = np.empty_like(x._data)
            ctx.rows.nll_rows_backward(x._data, target._data, ctx.ignore_index, ctx.m.reshape(-1),
                                       ctx.logs.reshape(-1), s, dx)
            return _wrap(dx), None, None, None, None, None
        if ctx.prob:
            gs = _scale_grad(g, red, ctx.denom) if red != "none" else g.unsqueeze(c)
            if is_grad_enabled():
                p = Softmax.apply(x, c)
                wq = (target * (1 - ctx.eps) + ctx.eps / C) if ctx.eps else target
                if ctx.w is not None:
                    wq = wq * _wrap(ctx.w)
                gx = (p * wq.sum(c, keepdim=True) - wq) * gs
            else:
                ga = gs._data
                gx = CrossEntropy._probs(ctx, x, ctx.wq.sum(axis=c, keepdims=True))
                gx -= ctx.wq
                gx *= ga
                gx = _wrap(gx)
            gt = None
            if ctx.needs_input_grad[1]:
                logp = LogSoftmax.apply(x, c) if is_grad_enabled() else _wrap(ctx.z - ctx.logs)
                wl = logp if ctx.w is None else logp * _wrap(ctx.w)
                gt = -(1 - ctx.eps) * wl * gs
            return gx, gt, None, None, None, None
        if red == "none":
            gv = g.unsqueeze(c)
        elif red == "mean" and not ctx.denom:   # every target ignored: no gradient (not 0/0), as in torch
            gv = g.new_zeros(g.shape)
        elif red == "mean":
            gv = g / _wrap(ctx.denom)
        else:
            gv = g
        if is_grad_enabled():
            xp = _xp(x)
            const = xp.zeros(x.shape, dtype=ctx.dtype)
            xp.put_along_axis(const, ctx.ti, xp.expand_dims(ctx.wt * (1 - ctx.eps), c), axis=c)
            if ctx.eps:
                wv = 1.0 if ctx.w is None else ctx.w
                const += (ctx.eps / C) * xp.expand_dims(ctx.vf, c) * wv
            return (Softmax.apply(x, c) * _wrap(xp.expand_dims(ctx.a, c)) - _wrap(const)) * gv, \
                None, None, None, None, None
        xp = _xp(x)
        ga = gv._data
        ae = xp.expand_dims(ctx.a, c)
        gx = CrossEntropy._probs(ctx, x, ae * ga)
        picked = xp.take_along_axis(gx, ctx.ti, axis=c)
        tw = xp.expand_dims(ctx.wt * (1 - ctx.eps), c) * ga
        xp.put_along_axis(gx, ctx.ti, picked - tw, axis=c)
        if ctx.eps:
            wv = 1.0 if ctx.w is None else ctx.w
            gx -= (ctx.eps / C) * (xp.expand_dims(ctx.vf, c) * ga) * wv
        return _wrap(gx.astype(ctx.dtype, copy=False)), None, None, None, None, None

    @staticmethod
    def _probs(ctx, x, scale):
        """softmax(x) * scale (``scale`` broadcasts along the class axis): from the forward's p, or recomputed
        in one compiled pass from x, max and log-sum when the compiled forward kept only those."""
        if ctx.kernels is None:
            return ctx.p * scale
        x2 = np.ascontiguousarray(x._data)
        s = np.ascontiguousarray(np.broadcast_to(scale, ctx.m.shape), dtype=x2.dtype).reshape(-1)
        out = np.empty_like(x2)
        _by_rows(ctx.kernels.scaled_softmax, *x2.shape, x2, ctx.m.reshape(-1), ctx.logs.reshape(-1), s, out)
        return out


class CrossEntropy2d(CrossEntropy):
    """Cross entropy for (N, C, H, W) inputs (torch prints its node as NllLoss2DBackward0)."""
    _grad_fn_name = "NllLoss2DBackward0"


class NllLoss(Function):
    """Negative log likelihood of log-probabilities ``x`` (class axis 1, or 0 unbatched).

    loss_i = -w_t x_{i,t}  (0 where t == ignore_index);   dloss_i/dx_{i,c} = -w_t [c == t]
    'mean' divides by the sum of w_t over the non-ignored targets.
    """
    _grad_fn_name = "NllLossBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, target, weight, ignore_index, reduction):
        xa = x._data
        xp = array_module(xa)
        c = 0 if xa.ndim == 1 else 1
        C = xa.shape[c]
        ts, valid = _class_targets(xp, target._data, C, ignore_index)
        ti = xp.expand_dims(ts, c)
        wt = valid.astype(xa.dtype) if weight is None else xp.where(valid, weight._data[ts], 0).astype(xa.dtype)
        loss = -wt * xp.take_along_axis(xa, ti, axis=c).squeeze(c)
        ctx.c, ctx.ti, ctx.wt, ctx.reduction, ctx.shape, ctx.dtype = c, ti, wt, reduction, xa.shape, xa.dtype
        if reduction == "none":
            return loss
        tot = loss.sum(dtype=xa.dtype)
        if reduction == "sum":
            return tot
        ctx.denom = wt.sum(dtype=xa.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return tot / ctx.denom

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        c = ctx.c
        gv = g.unsqueeze(c) if ctx.reduction == "none" else (
            g / _wrap(ctx.denom) if ctx.reduction == "mean" else g)
        xp = array_module(ctx.wt)
        onehot = xp.zeros(ctx.shape, dtype=ctx.dtype)
        xp.put_along_axis(onehot, ctx.ti, -xp.expand_dims(ctx.wt, c), axis=c)
        return _wrap(onehot) * gv, None, None, None, None


class NllLoss2d(NllLoss):
    _grad_fn_name = "NllLoss2DBackward0"


# --------------------------------------------------------------------------------------------------
# normalisation: layer_norm, group_norm, batch_norm share one pair of helpers
# --------------------------------------------------------------------------------------------------
def _normalize(x, axes, eps):
    """xhat = (x - mean) * rstd over ``axes`` (keepdims); returns (xhat, mean, rstd, var)."""
    xp = array_module(x)
    n = 1
    for a in axes:
        n *= x.shape[a]
    mean = x.mean(axis=axes, keepdims=True)
    xhat = x - mean
    if x.ndim == 2 and axes == (1,):
        var = xp.einsum("ij,ij->i", xhat, xhat)[:, None] / n   # one pass, no temporary
    elif x.ndim == 3 and axes == (0, 2) and x.dtype in (np.float32, np.float64):   # batch norm's (N, C, HW)
        var = xp.einsum("nci,nci->c", xhat, xhat).reshape(1, -1, 1) / n
    else:
        var = (xhat * xhat).mean(axis=axes, keepdims=True)
    rstd = 1.0 / xp.sqrt(var + eps)
    xhat *= rstd
    return xhat, mean, rstd.astype(x.dtype, copy=False), var


def _normalize_backward(gxhat, xhat, rstd, axes):
    """dx for xhat = (x - mean) * rstd:  rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))."""
    xp = array_module(gxhat)
    if gxhat.ndim == 2 and axes == (1,):
        n = gxhat.shape[1]
        b = xp.einsum("ij,ij->i", gxhat, xhat)[:, None] / n
    else:
        b = (gxhat * xhat).mean(axis=axes, keepdims=True)
    a = gxhat.mean(axis=axes, keepdims=True)
    dx = xhat * b
    xp.subtract(gxhat, dx, out=dx)
    dx -= a
    dx *= rstd
    return dx


def _normalize_tensor(x, dims, eps):
    """The same normalisation from Tensor ops (used for gradients of gradients)."""
    mean = x.mean(dims, keepdim=True)
    xc = x - mean
    return xc * ((xc * xc).mean(dims, keepdim=True) + eps).rsqrt()


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last ``nd`` dims (biased var); saves xhat and rstd.

    With xhat the normalised input, gxhat = g * w, n the normalised size:
        dx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)),  dw = sum(g * xhat),  db = sum(g)
    On NumPy both directions run over blocks of whole rows (each block's passes stay in cache), the rows
    split across cores.
    """
    _grad_fn_name = "NativeLayerNormBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, weight, bias, nd, eps):
        xa = x._data
        D = 1
        for s in xa.shape[xa.ndim - nd:]:
            D *= s
        w = weight._data.reshape(-1) if weight is not None else None
        b = bias._data.reshape(-1) if bias is not None else None
        K = _compiled(xa) if all(v is None or v.dtype == xa.dtype for v in (w, b)) else None
        ctx.kernels, ctx.mean = K, None
        if K is not None:     # compiled: one read of x, one write of y; keeps mean and rstd per row
            x2 = np.ascontiguousarray(xa).reshape(-1, D)
            M = x2.shape[0]
            y = np.empty_like(x2)
            ctx.mean, rstd = np.empty(M, x2.dtype), np.empty(M, x2.dtype)
            wk = np.ones(D, x2.dtype) if w is None else np.ascontiguousarray(w)
            bk = np.zeros(D, x2.dtype) if b is None else np.ascontiguousarray(b)
            _by_rows(K.layer_norm_forward, M, D, x2, wk, bk, x2.dtype.type(eps), y, ctx.mean, rstd)
            xhat = None
        elif array_module(xa) is not np:
            xhat, _, rstd, _ = _normalize(xa.reshape(-1, D), (1,), eps)
            y = xhat * w if w is not None else xhat.copy()
            if b is not None:
                y += b
        else:
            x2 = np.ascontiguousarray(xa).reshape(-1, D)
            xhat, y = np.empty_like(x2), np.empty_like(x2)
            rstd = np.empty((x2.shape[0], 1), x2.dtype)

            def kernel(lo, hi):
                xb, hb, yb = x2[lo:hi], xhat[lo:hi], y[lo:hi]
                np.subtract(xb, xb.mean(axis=1, keepdims=True), out=hb)
                r = 1.0 / np.sqrt(np.einsum("ij,ij->i", hb, hb)[:, None] / D + eps)
                rstd[lo:hi] = r
                hb *= r
                if w is not None:
                    np.multiply(hb, w, out=yb)
                    if b is not None:
                        yb += b
                elif b is not None:
                    np.add(hb, b, out=yb)
                else:
                    yb[...] = hb
            _over_rows(x2.shape[0], D, kernel)
        ctx.xhat, ctx.rstd, ctx.nd, ctx.eps, ctx.D = xhat, rstd, nd, eps, D
        ctx.save_for_backward(x, weight, bias)
        return y.reshape(xa.shape)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        x, weight, bias = ctx.saved_tensors
        nd, D = ctx.nd, ctx.D
        need_x = ctx.needs_input_grad[0]
        need_w = weight is not None and ctx.needs_input_grad[1]
        need_b = bias is not None and ctx.needs_input_grad[2]
        if is_grad_enabled():
            dims = tuple(range(x.dim() - nd, x.dim()))
            lead = tuple(range(x.dim() - nd))
            xhat = _normalize_tensor(x, dims, ctx.eps)
            gxhat = g * weight if weight is not None else g
            rstd = ((x - x.mean(dims, keepdim=True)).pow(2).mean(dims, keepdim=True) + ctx.eps).rsqrt()
            gx = (gxhat - gxhat.mean(dims, keepdim=True) - xhat * (gxhat * xhat).mean(dims, keepdim=True)) * rstd \
                if need_x else None
            gw = (g * xhat).sum(lead) if need_w else None
            gb = g.sum(lead) if need_b else None
            return gx, gw, gb, None, None
        g2 = g._data.reshape(-1, D)
        xhat, rstd = ctx.xhat, ctx.rstd
        w = weight._data.reshape(-1) if weight is not None else None
        if ctx.kernels is not None:
            return LayerNorm._compiled_backward(ctx, ctx.kernels, x, g2, w, need_x, need_w, need_b)
        if array_module(g2) is not np:
            gw = _wrap((g2 * xhat).sum(axis=0).reshape(weight.shape)) if need_w else None
            gb = _wrap(g2.sum(axis=0).reshape(bias.shape)) if need_b else None
            gx = None
            if need_x:
                gxhat = g2 * w if w is not None else g2
                gx = _wrap(_normalize_backward(gxhat, xhat, rstd, (1,)).reshape(x.shape))
            return gx, gw, gb, None, None
        g2 = np.ascontiguousarray(g2)
        dx = np.empty_like(g2) if need_x else None

        def kernel(lo, hi):
            gb_, hb = g2[lo:hi], xhat[lo:hi]
            t = np.empty_like(gb_)
            dw = db = None
            if need_w:
                np.multiply(gb_, hb, out=t)
                dw = t.sum(axis=0)
            if need_b:
                db = gb_.sum(axis=0)
            if need_x:
                if w is not None:
                    np.multiply(gb_, w, out=t)                  # gxhat
                else:
                    t[...] = gb_
                a = t.sum(axis=1, keepdims=True) / D
                c = np.einsum("ij,ij->i", t, hb)[:, None] / D
                ob = dx[lo:hi]
                np.multiply(hb, c, out=ob)
                np.subtract(t, ob, out=ob)
                ob -= a
                ob *= rstd[lo:hi]
            return dw, db
        parts = _over_rows(g2.shape[0], D, kernel)
        gx = _wrap(dx.reshape(x.shape)) if need_x else None
        gw = _wrap(np.sum([p[0] for p in parts], axis=0).astype(g2.dtype).reshape(weight.shape)) if need_w else None
        gb = _wrap(np.sum([p[1] for p in parts], axis=0).astype(g2.dtype).reshape(bias.shape)) if need_b else None
        return gx, gw, gb, None, None

    @staticmethod
    def _compiled_backward(ctx, K, x, g2, w, need_x, need_w, need_b):
        """One compiled pass per row: xhat recomputed from x, mean and rstd; each core's slab sums its own
        partial dw, db (added here)."""
        x2 = np.ascontiguousarray(x._data).reshape(g2.shape)
        g2 = np.ascontiguousarray(g2, dtype=x2.dtype)
        M, D = x2.shape
        wk = np.ones(D, x2.dtype) if w is None else np.ascontiguousarray(w, dtype=x2.dtype)
        dx = np.empty_like(x2) if need_x else np.empty((1, D), x2.dtype)

        def slab(lo, hi):
            dw, db = np.zeros(D, x2.dtype), np.zeros(D, x2.dtype)
            K.layer_norm_backward(g2, x2, wk, ctx.mean, ctx.rstd, dx, dw, db, lo, hi, need_x)
            return dw, db
        parts = _split(M, slab, M * D, ROW_MIN_ELEMENTS)
        gx = _wrap(dx.reshape(x.shape)) if need_x else None
        gw = _wrap(sum(p[0] for p in parts).reshape(ctx.saved_tensors[1].shape)) if need_w else None
        gb = _wrap(sum(p[1] for p in parts).reshape(ctx.saved_tensors[2].shape)) if need_b else None
        return gx, gw, gb, None, None


class GroupNorm(Function):
    """Group norm: x (N, C, *) is split into G groups of C/G channels; each (sample, group) is normalised,
    then y = xhat * w_c + b_c per channel. Gradients as in LayerNorm, per group, with gxhat = g * w_c."""
    _grad_fn_name = "NativeGroupNormBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, weight, bias, G, eps):
        xa = x._data
        N, C = xa.shape[0], xa.shape[1]
        xg = xa.reshape(N * G, -1)
        xhat, mean, rstd, _ = _normalize(xg, (1,), eps)
        y = xhat.reshape(N, C, -1)
        if weight is not None or bias is not None:
            y = y * weight._data.reshape(1, C, 1) if weight is not None else y.copy()
            if bias is not None:
                y += bias._data.reshape(1, C, 1)
        else:
            y = y.copy()
        ctx.xhat, ctx.rstd, ctx.G, ctx.eps = xhat, rstd, G, eps
        ctx.save_for_backward(x, weight, bias)
        return y.reshape(xa.shape)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        x, weight, bias = ctx.saved_tensors
        N, C, G = x.shape[0], x.shape[1], ctx.G
        if is_grad_enabled():
            xg = x.reshape(N, G, -1)
            xhat = _normalize_tensor(xg, (2,), ctx.eps).reshape(N, C, -1)
            g3 = g.reshape(N, C, -1)
            gw = (g3 * xhat).sum((0, 2)) if weight is not None else None
            gb = g3.sum((0, 2)) if bias is not None else None
            gxhat = (g3 * weight.reshape(1, C, 1) if weight is not None else g3).reshape(N, G, -1)
            xh = xhat.reshape(N, G, -1)
            rstd = ((xg - xg.mean(2, keepdim=True)).pow(2).mean(2, keepdim=True) + ctx.eps).rsqrt()
            gx = (gxhat - gxhat.mean(2, keepdim=True) - xh * (gxhat * xh).mean(2, keepdim=True)) * rstd
            return gx.reshape(x.shape), gw, gb, None, None
        g3 = g._data.reshape(N, C, -1)
        xh3 = ctx.xhat.reshape(N, C, -1)
        gw = _wrap((g3 * xh3).sum(axis=(0, 2))) if weight is not None and ctx.needs_input_grad[1] else None
        gb = _wrap(g3.sum(axis=(0, 2))) if bias is not None and ctx.needs_input_grad[2] else None
        gxhat = g3 * weight._data.reshape(1, C, 1) if weight is not None else g3
        gx = _normalize_backward(np.ascontiguousarray(gxhat).reshape(N * G, -1), ctx.xhat, ctx.rstd, (1,))
        return _wrap(gx.reshape(x.shape)), gw, gb, None, None


class BatchNorm(Function):
    """Batch norm over the batch (and spatial) axes of x (N, C, *), per channel c.

    Training: normalise with the batch mean and biased var; running stats move toward the batch stats
    (running = (1 - momentum) running + momentum stat, using the *unbiased* var).
    Eval: normalise with running_mean / running_var (then it is an affine map of x).
        dx = rstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))   (training; mean over N and space)
        dx = rstd * gxhat                                              (eval)
        dw = sum(g * xhat), db = sum(g)
    """
    _grad_fn_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xa = x._data
        xp = array_module(xa)
        N, C = xa.shape[0], xa.shape[1]
        x3 = xa.reshape(N, C, -1)
        axes = (0, 2)
        K = _compiled(xa) if training and all(v is None or v._data.dtype == xa.dtype for v in (weight, bias)) else None
        if K is not None:   # compiled: per channel, in cache; channels split across cores (ops/nn_kernels.py)
            return BatchNorm._compiled_forward(ctx, K, x, weight, bias, running_mean, running_var, momentum, eps)
        if training:
            xhat, mean, rstd, var = _normalize(x3, axes, eps)
            n = N * x3.shape[2]
            if running_mean is not None:
                running_mean._data *= (1 - momentum)
                running_mean._data += momentum * mean.reshape(-1).astype(running_mean._data.dtype)
                running_mean._bump()
            if running_var is not None:
                unbiased = var.reshape(-1) * (n / max(n - 1, 1))
                running_var._data *= (1 - momentum)
                running_var._data += momentum * unbiased.astype(running_var._data.dtype)
                running_var._bump()
        else:
            mean = running_mean._data.reshape(1, C, 1).astype(xa.dtype)
            rstd = (1.0 / xp.sqrt(running_var._data.reshape(1, C, 1) + eps)).astype(xa.dtype)
            xhat = (x3 - mean) * rstd
        y = xhat * weight._data.reshape(1, C, 1) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias._data.reshape(1, C, 1)
        # xhat is not kept: (x - mean) * rstd is rebuilt in backward from the saved x, as torch does -- one
        # activation-sized buffer less per BatchNorm between forward and backward
        ctx.mean, ctx.rstd, ctx.training, ctx.eps = mean.astype(xa.dtype, copy=False), rstd, training, eps
        ctx.kernels = None
        ctx.save_for_backward(x, weight, bias)
        return y.reshape(xa.shape)

    @staticmethod
    def _compiled_forward(ctx, K, x, weight, bias, running_mean, running_var, momentum, eps):
        xa = x._data
        N, C = xa.shape[0], xa.shape[1]
        x3 = np.ascontiguousarray(xa).reshape(N, C, -1)
        w = np.ones(C, xa.dtype) if weight is None else np.ascontiguousarray(weight._data).reshape(C)
        b = np.zeros(C, xa.dtype) if bias is None else np.ascontiguousarray(bias._data).reshape(C)
        y = np.empty_like(x3)
        mean, var, rstd = (np.empty(C, xa.dtype) for _ in range(3))
        _split(C, lambda lo, hi: K.batch_norm_forward(x3, w, b, xa.dtype.type(eps), y, mean, var, rstd, lo, hi),
               x3.size)
        n = N * x3.shape[2]
        if running_mean is not None:
            running_mean._data *= (1 - momentum)
            running_mean._data += momentum * mean.astype(running_mean._data.dtype)
            running_mean._bump()
        if running_var is not None:
            running_var._data *= (1 - momentum)
            running_var._data += momentum * (var * (n / max(n - 1, 1))).astype(running_var._data.dtype)
            running_var._bump()
        ctx.mean, ctx.rstd, ctx.training, ctx.eps, ctx.kernels = mean.reshape(1, C, 1), rstd.reshape(1, C, 1), \
            True, eps, K
        ctx.save_for_backward(x, weight, bias)
        return y.reshape(xa.shape)

    @staticmethod
    def backward(ctx, g):
        x, weight, bias = ctx.saved_tensors
        N, C = x.shape[0], x.shape[1]
        if is_grad_enabled():
            x3 = x.reshape(N, C, -1)
            g3 = g.reshape(N, C, -1)
            rstd = _wrap(ctx.rstd)
            if ctx.training:
                xc = x3 - x3.mean((0, 2), keepdim=True)
                rstd = (xc.pow(2).mean((0, 2), keepdim=True) + ctx.eps).rsqrt()
                xhat = xc * rstd
            else:
                xhat = _wrap((x3._data - ctx.mean) * ctx.rstd)
            gxhat = g3 * weight.reshape(1, C, 1) if weight is not None else g3
            if ctx.training:
                gx = (gxhat - gxhat.mean((0, 2), keepdim=True)
                      - xhat * (gxhat * xhat).mean((0, 2), keepdim=True)) * rstd
            else:
                gx = gxhat * rstd
            gw = (g3 * xhat).sum((0, 2)) if weight is not None else None
            gb = g3.sum((0, 2)) if bias is not None else None
            return gx.reshape(x.shape), gw, gb, None, None, None, None, None
        if ctx.kernels is not None and g._data.dtype == x._data.dtype:
            return BatchNorm._compiled_backward(ctx, ctx.kernels, g, x, weight, bias)
        g3 = g._data.reshape(N, C, -1)
        xp = array_module(g3)
        xhat = x._data.reshape(N, C, -1) - ctx.mean
        xhat *= ctx.rstd
        need_x = ctx.needs_input_grad[0]
        # the two per-channel sums serve all three gradients: dw = sum(g xhat), db = sum(g), and, since
        # gxhat = g w,  dx = rstd w (g - sum(g)/n - xhat sum(g xhat)/n)  -- four passes over x-sized data
        s_gx = s_g = None
        if (weight is not None and ctx.needs_input_grad[1]) or (need_x and ctx.training):
            s_gx = (xp.einsum("nci,nci->c", g3, xhat) if g3.dtype in (np.float32, np.float64)  # no temporary
                    else (g3 * xhat).sum(axis=(0, 2)))
        if (bias is not None and ctx.needs_input_grad[2]) or (need_x and ctx.training):
            s_g = g3.sum(axis=(0, 2))
        gw = _wrap(s_gx.copy()) if weight is not None and ctx.needs_input_grad[1] else None
        gb = _wrap(s_g.copy()) if bias is not None and ctx.needs_input_grad[2] else None
        gx = None
        if need_x:
            scale = ctx.rstd.reshape(1, C, 1)
            if weight is not None:
                scale = scale * weight._data.reshape(1, C, 1)
            if ctx.training:
                n = g3.shape[0] * g3.shape[2]
                gx = xhat * (s_gx / n).astype(g3.dtype, copy=False).reshape(1, C, 1)
                xp.subtract(g3, gx, out=gx)
                gx -= (s_g / n).astype(g3.dtype, copy=False).reshape(1, C, 1)
                gx *= scale.astype(g3.dtype, copy=False)
            else:
                gx = g3 * scale.astype(g3.dtype, copy=False)
            gx = _wrap(gx.reshape(x.shape))
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def _compiled_backward(ctx, K, g, x, weight, bias):
        N, C = x.shape[0], x.shape[1]
        x3 = np.ascontiguousarray(x._data).reshape(N, C, -1)
        g3 = np.ascontiguousarray(g._data).reshape(x3.shape)
        need_x = ctx.needs_input_grad[0]
        w = np.ones(C, x3.dtype) if weight is None else np.ascontiguousarray(weight._data).reshape(C)
        dx = np.empty_like(x3) if need_x else np.empty((1, 1, 1), x3.dtype)
        sg, sgx = np.empty(C, x3.dtype), np.empty(C, x3.dtype)
        mean, rstd = ctx.mean.reshape(C), ctx.rstd.reshape(C)
        _split(C, lambda lo, hi: K.batch_norm_backward(g3, x3, w, mean, rstd, dx, sg, sgx, lo, hi, need_x), x3.size)
        gw = _wrap(sgx.reshape(weight.shape)) if weight is not None and ctx.needs_input_grad[1] else None
        gb = _wrap(sg.reshape(bias.shape)) if bias is not None and ctx.needs_input_grad[2] else None
        return (_wrap(dx.reshape(x.shape)) if need_x else None), gw, gb, None, None, None, None, None


class RmsNorm(Function):
    """y = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps) over the last ``nd`` dims.

    dx = rstd * (gw - xhat * mean(gw * xhat)) with xhat = x * rstd, gw = g * w;  dw = sum(g * xhat).
    (torch composes rms_norm from pointwise ops, so its node prints as MulBackward0.)
    """
    _grad_fn_name = "MulBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, weight, nd, eps):
        xa = x._data
        xp = array_module(xa)
        D = 1
        for s in xa.shape[xa.ndim - nd:]:
            D *= s
        x2 = xa.reshape(-1, D)
        rstd = (1.0 / xp.sqrt(xp.einsum("ij,ij->i", x2, x2)[:, None] / D + eps)).astype(xa.dtype)
        xhat = x2 * rstd
        y = xhat * weight._data.reshape(-1) if weight is not None else xhat
        ctx.xhat, ctx.rstd, ctx.nd, ctx.eps, ctx.D = xhat, rstd, nd, eps, D
        ctx.save_for_backward(x, weight)
        return y.reshape(xa.shape)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        nd, D = ctx.nd, ctx.D
        if is_grad_enabled():
            dims = tuple(range(x.dim() - nd, x.dim()))
            rstd = ((x * x).mean(dims, keepdim=True) + ctx.eps).rsqrt()
            xhat = x * rstd
            gxh = g * weight if weight is not None else g
            gx = (gxh - xhat * (gxh * xhat).mean(dims, keepdim=True)) * rstd
            gw = (g * xhat).sum(tuple(range(x.dim() - nd))) if weight is not None else None
            return gx, gw, None, None
        xp = _xp(x)
        g2 = g._data.reshape(-1, D)
        xhat = ctx.xhat
        gw = _wrap((g2 * xhat).sum(axis=0).reshape(weight.shape)) if weight is not None else None
        gxh = g2 * weight._data.reshape(-1) if weight is not None else g2
        b = xp.einsum("ij,ij->i", gxh, xhat)[:, None] / D
        gx = xhat * b
        gx = (gxh - gx) * ctx.rstd
        return _wrap(gx.reshape(x.shape)), gw, None, None


# --------------------------------------------------------------------------------------------------
# GELU
# --------------------------------------------------------------------------------------------------
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)


class Gelu(Function):
    """approximate='none':  y = x * Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2,   dy/dx = Phi(x) + x phi(x)
    approximate='tanh':  y = x (1 + t) / 2,  t = tanh(sqrt(2/pi) (x + 0.044715 x^3)),
                         dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2
    (phi is the standard normal density.) Forward keeps Phi(x) (or t) for the backward; both run blockwise
    so each block's dozen passes stay in cache.
    """
    _grad_fn_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        xa = x._data
        xp = array_module(xa)
        tanh = approximate == "tanh"
        K = _compiled(xa)
        if K is not None:                                 # compiled: one pass (keeping Phi(x) for the erf form)
            flat = np.ascontiguousarray(xa).reshape(-1)
            y = np.empty_like(flat)
            if tanh:
                keep = None
                _split(flat.size, lambda lo, hi: K.gelu_tanh_forward(flat, y, lo, hi), flat.size)
            else:
                keep = np.empty_like(flat)                # Phi(x)
                _split(flat.size, lambda lo, hi: K.gelu_erf_forward(flat, y, keep, lo, hi), flat.size)
            y = y.reshape(xa.shape)
        elif xp is not np or xa.dtype == np.float64:       # CuPy / float64: whole-array formulas
            if tanh:
                t = xp.tanh(_SQRT_2_PI * (xa + 0.044715 * xa * xa * xa))
                y, keep = 0.5 * xa * (1 + t), t
            else:
                keep = 0.5 * (1 + erf(xa, _SQRT1_2))
                y = xa * keep
        else:
            xa = np.ascontiguousarray(xa)
            flat = xa.reshape(-1)
            y, keep = np.empty_like(flat), np.empty_like(flat)
            _split(flat.size, lambda lo, hi: Gelu._forward_slab(flat, y, keep, lo, hi, tanh), flat.size)
            y, keep = y.reshape(xa.shape), keep.reshape(xa.shape)
        ctx.keep, ctx.approximate, ctx.kernels = keep, approximate, K
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def _forward_slab(flat, y, keep, lo, hi, tanh):
        """y and Phi(x) (or t) for elements lo:hi, in cache-sized blocks."""
        tmp = np.empty(min(_EW_BLOCK, hi - lo), flat.dtype)
        coefs = _erf_coefs(_SQRT1_2)
        with np.errstate(over="ignore", invalid="ignore"):   # huge |x|: inf like torch, without warnings
            Gelu._forward_blocks(flat, y, keep, lo, hi, tanh, tmp, coefs)

    @staticmethod
    def _forward_blocks(flat, y, keep, lo, hi, tanh, tmp, coefs):
        for blk in _blocks(hi - lo, _EW_BLOCK):
            sl = slice(lo + blk.start, lo + blk.stop)
            xb, kb, yb, tb = flat[sl], keep[sl], y[sl], tmp[:sl.stop - sl.start]
            if tanh:                                  # t = tanh(sqrt(2/pi) x (1 + 0.044715 x^2))
                np.multiply(xb, xb, out=tb)
                tb *= 0.044715 * _SQRT_2_PI
                tb += _SQRT_2_PI
                np.multiply(tb, xb, out=kb)
                np.tanh(kb, out=kb)
                np.add(kb, 1.0, out=yb)               # y = x (1 + t) / 2
                yb *= xb
                yb *= 0.5
            else:                                     # Phi = erf(x / sqrt 2) / 2 + 1/2,  y = x Phi
                _erf_block(xb, kb, tb, coefs)
                kb *= 0.5
                kb += 0.5
                np.multiply(xb, kb, out=yb)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if is_grad_enabled():
            from .. import erf as terf, tanh as ttanh, exp as texp  # Tensor functions of the core
            if ctx.approximate == "tanh":
                t = ttanh(_SQRT_2_PI * (x + 0.044715 * x * x * x))
                d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_PI * (1 + 3 * 0.044715 * x * x)
            else:
                d = 0.5 * (1 + terf(x * _SQRT1_2)) + x * texp(-0.5 * x * x) * _INV_SQRT_2PI
            return g * d, None
        xa, ga, keep = x._data, g._data, ctx.keep
        xp = array_module(xa)
        if ctx.kernels is not None:
            xf = np.ascontiguousarray(xa).reshape(-1)
            gf = np.ascontiguousarray(ga, dtype=xf.dtype).reshape(-1)
            out = np.empty_like(xf)
            K = ctx.kernels
            if keep is None:
                _split(xf.size, lambda lo, hi: K.gelu_tanh_backward(gf, xf, out, lo, hi), xf.size)
            else:
                _split(xf.size, lambda lo, hi: K.gelu_erf_backward(gf, xf, keep, out, lo, hi), xf.size)
            return _wrap(out.reshape(xa.shape)), None
        if xp is not np or xa.dtype == np.float64:
            if ctx.approximate == "tanh":
                t = keep
                d = 0.5 * (1 + t) + 0.5 * xa * (1 - t * t) * _SQRT_2_PI * (1 + 3 * 0.044715 * xa * xa)
            else:
                d = keep + xa * xp.exp(-0.5 * xa * xa) * _INV_SQRT_2PI
            return _wrap(d * ga), None
        xf = np.ascontiguousarray(xa).reshape(-1)
        gf = np.ascontiguousarray(ga).reshape(-1)
        kf = keep.reshape(-1)
        out = np.empty_like(xf)
        tanh = ctx.approximate == "tanh"
        _split(xf.size, lambda lo, hi: Gelu._backward_slab(xf, kf, gf, out, lo, hi, tanh), xf.size)
        return _wrap(out.reshape(xa.shape)), None

    @staticmethod
    def _backward_slab(xf, kf, gf, out, lo, hi, tanh):
        """dy/dx * g for elements lo:hi, in cache-sized blocks."""
        tmp = np.empty(min(_EW_BLOCK, hi - lo), xf.dtype)
        with np.errstate(over="ignore", invalid="ignore"):   # huge |x|: inf * 0 like torch, without warnings
            Gelu._backward_blocks(xf, kf, gf, out, lo, hi, tanh, tmp)

    @staticmethod
    def _backward_blocks(xf, kf, gf, out, lo, hi, tanh, tmp):
        for blk in _blocks(hi - lo, _EW_BLOCK):
            sl = slice(lo + blk.start, lo + blk.stop)
            xb, kb, ob, tb = xf[sl], kf[sl], out[sl], tmp[:sl.stop - sl.start]
            if tanh:   # (1 + t)/2 + x (1 - t^2) sqrt(2/pi) (1 + 3c x^2) / 2
                np.multiply(kb, kb, out=ob)
                np.subtract(1.0, ob, out=ob)
                np.multiply(xb, xb, out=tb)
                tb *= 3 * 0.044715
                tb += 1.0
                tb *= xb
                ob *= tb
                ob *= 0.5 * _SQRT_2_PI
                ob += kb * 0.5
                ob += 0.5
            else:                           # Phi(x) + x exp(-x^2 / 2) / sqrt(2 pi)
                np.multiply(xb, xb, out=ob)
                ob *= -0.5
                np.exp(ob, out=ob)
                ob *= xb
                ob *= _INV_SQRT_2PI
                ob += kb
            ob *= gf[sl]


# --------------------------------------------------------------------------------------------------
# embedding
# --------------------------------------------------------------------------------------------------
def _scatter_rows(xp, idx, g, V):
    """out[V, D] with out[k] = sum of g[i] over i where idx[i] == k. Sort once, then segment sums
    (``add.reduceat``) -- no per-element Python and no slow unbuffered ``add.at``. Big float32 gradients
    take the compiled loop instead (``nn_kernels.embedding_backward``: one pass, torch's summation order)."""
    D = g.shape[-1]
    out = xp.zeros((V, D), dtype=g.dtype)
    flat = idx.reshape(-1)
    if flat.size == 0:
        return out
    g2 = g.reshape(-1, D)
    if xp is not np:  # CuPy has an atomic scatter-add
        import cupyx  # type: ignore
        cupyx.scatter_add(out, flat, g2)
        return out
    K = _compiled(g2)
    if K is not None:  # one pass, rows summed in their order (torch's bits; ops/nn_kernels.py)
        K.embedding_backward(np.ascontiguousarray(flat), np.ascontiguousarray(g2), out)
        return out
    order = xp.argsort(flat, kind="stable")
    s = flat[order]
    starts = xp.flatnonzero(xp.concatenate((xp.ones(1, dtype=bool), s[1:] != s[:-1])))
    out[s[starts]] = xp.add.reduceat(g2[order], starts, axis=0)
    return out


def _index_counts(xp, idx, V):
    """How often each of the V rows occurs in ``idx``."""
    flat = idx.reshape(-1)
    return xp.bincount(flat, minlength=V) if flat.size else xp.zeros(V, dtype=np.int64)


class EmbeddingDenseBackward(Function):
    """grad_weight = scatter-add of the output gradient rows into a (V, D) table (padding row zeroed; with
    scale_grad_by_freq each row divided by how often its index occurs). Linear in g, so its own backward
    gathers: d/dg = gg[indices] (scaled the same way)."""
    _grad_fn_name = "EmbeddingDenseBackward0"

    @staticmethod
    def forward(ctx, g, indices, num_weights, padding_idx, scale_grad_by_freq=False):
        xp = _xp(g)
        out = _scatter_rows(xp, indices._data, g._data, num_weights)
        if scale_grad_by_freq:
            counts = _index_counts(xp, indices._data, num_weights)
            out /= xp.maximum(counts, 1).astype(out.dtype)[:, None]
        if padding_idx is not None:
            out[padding_idx] = 0
        ctx.save_for_backward(indices)
        ctx.V, ctx.padding_idx, ctx.scale = num_weights, padding_idx, scale_grad_by_freq
        return out

    @staticmethod
    def backward(ctx, gg):
        indices, = ctx.saved_tensors
        if ctx.padding_idx is not None or ctx.scale:       # the same per-row factors, applied before gathering
            xp = _xp(gg)
            f = xp.ones(ctx.V, dtype=gg._data.dtype)
            if ctx.scale:
                f /= xp.maximum(_index_counts(xp, indices._data, ctx.V), 1)
            if ctx.padding_idx is not None:
                f[ctx.padding_idx] = 0
            gg = gg * _wrap(f[:, None])
        return Embedding.apply(gg, indices, None), None, None, None, None


class Embedding(Function):
    """y = weight[indices] (rows looked up);  dweight[k] = sum of g over positions whose index is k
    (the padding_idx row gets no gradient; scale_grad_by_freq divides row k by the count of k)."""
    _grad_fn_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq=False):
        ctx.padding_idx, ctx.V, ctx.scale = padding_idx, weight.shape[0], scale_grad_by_freq
        ctx.save_for_backward(indices)
        return weight._data[indices._data]

    @staticmethod
    def backward(ctx, g):
        indices, = ctx.saved_tensors
        return EmbeddingDenseBackward.apply(g, indices, ctx.V, ctx.padding_idx, ctx.scale), None, None, None


# --------------------------------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------------------------------
class Dropout(Function):
    """y = x * m with m = Bernoulli(1 - p) / (1 - p);  dx = g * m.

    The mask is drawn as torch draws it on the CPU: ``noise.bernoulli_(1 - p)`` (one 53-bit uniform per
    element, kept when ``u < 1 - p``), then ``noise.div_(1 - p)`` in the input's dtype; so a seeded run
    drops the same units as PyTorch. (torch multiplies by that mask, so its node prints as MulBackward0.)"""
    _grad_fn_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, p, generator):
        from ..random import _gen
        from .._sampling import bernoulli_scalar, to_dtype
        xa = x._data
        xp = array_module(xa)
        dt = np.dtype(xa.dtype)
        if p >= 1:
            mask = xp.zeros(xa.shape, dtype=dt)
        else:
            K = _sampling_kernels(xa.size) if xp is np and dt == np.float32 else None
            if K is not None:   # compiled: mask and output in one pass over the generator's words
                words = _gen(generator)._words(2 * xa.size)
                x1 = np.ascontiguousarray(xa).reshape(-1)
                y, mask = np.empty_like(x1), np.empty_like(x1)
                K.dropout_f32(words, math.ceil((1.0 - p) * 2.0 ** 53),
                              np.float32(np.float32(1.0) / to_dtype(np.float64(1.0 - p), dt)), x1, y, mask)
                ctx.mask = mask.reshape(xa.shape)
                return y.reshape(xa.shape)
            keep = bernoulli_scalar(_gen(generator), xa.size, 1.0 - p).reshape(xa.shape)
            mask = xp.asarray(keep.astype(dt) / to_dtype(np.float64(1.0 - p), dt))
        ctx.mask = mask
        return xa * mask

    @staticmethod
    def backward(ctx, g):
        return g * _wrap(ctx.mask), None, None


# --------------------------------------------------------------------------------------------------
# pointwise losses
# --------------------------------------------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """loss = -w (y log p + (1 - y) log(1 - p)), each log clamped at -100 (so p = 0 or 1 stays finite).

    dloss/dp = w (p - y) / max(p (1 - p), 1e-12);   dloss/dy = -w (log p - log(1 - p))   (clamped logs)
    """
    _grad_fn_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, p, y, weight, reduction):
        pa, ya = p._data, y._data
        xp = array_module(pa)
        if ((pa < 0) | (pa > 1)).any():
            raise RuntimeError("all elements of input should be between 0 and 1")
        with np.errstate(divide="ignore"):
            lp = xp.maximum(xp.log(pa), -100.0)
            l1p = xp.maximum(xp.log1p(-pa), -100.0)
        loss = lp - l1p
        loss *= ya
        loss += l1p
        xp.negative(loss, out=loss)
        if weight is not None:
            loss = loss * weight._data
        ctx.reduction, ctx.n = reduction, loss.size
        ctx.save_for_backward(p, y, weight)
        return _reduce(loss.astype(pa.dtype, copy=False), reduction)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        p, y, weight = ctx.saved_tensors
        gs = _scale_grad(g, ctx.reduction, ctx.n)
        gp = gs * (p - y) / (p * (1 - p)).clamp(min=1e-12)
        if weight is not None:
            gp = gp * weight
        gy = None
        if ctx.needs_input_grad[1]:
            gy = -gs * ((p.log().clamp(min=-100) - (-p).log1p().clamp(min=-100)))
            if weight is not None:
                gy = gy * weight
        return gp, gy, None, None


class BinaryCrossEntropyWithLogits(Function):
    """BCE on logits, stable for any x:  loss = w ((1 - y) x + l softplus(-x)),  l = 1 + (pos_weight - 1) y,
    softplus(-x) = max(-x, 0) + log1p(exp(-|x|)).

    dloss/dx = w (l sigmoid(x) - pos_weight y)   (= w (sigmoid(x) - y) without pos_weight)
    dloss/dy = w ((pos_weight - 1) softplus(-x) - x)
    """
    _grad_fn_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, y, weight, pos_weight, reduction):
        xa, ya = x._data, y._data
        xp = array_module(xa)
        sp = -xp.abs(xa)
        xp.exp(sp, out=sp)
        xp.log1p(sp, out=sp)
        sp += xp.maximum(-xa, 0)                      # softplus(-x)
        if pos_weight is not None:
            lw = (pos_weight._data - 1) * ya + 1
            loss = (1 - ya) * xa + lw * sp
        else:
            loss = (1 - ya) * xa + sp
        if weight is not None:
            loss = loss * weight._data
        ctx.reduction, ctx.n = reduction, loss.size
        ctx.save_for_backward(x, y, weight, pos_weight)
        return _reduce(loss.astype(xa.dtype, copy=False), reduction)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        x, y, weight, pw = ctx.saved_tensors
        gs = _scale_grad(g, ctx.reduction, ctx.n)
        if pw is not None:
            gx = ((pw - 1) * y + 1) * x.sigmoid() - pw * y
        else:
            gx = x.sigmoid() - y
        gx = gx * gs
        if weight is not None:
            gx = gx * weight
        gy = None
        if ctx.needs_input_grad[1]:
            if pw is not None:
                sp = (-x).clamp(min=0) + (-x.abs()).exp().log1p()
                gy = ((pw - 1) * sp - x) * gs
            else:
                gy = -x * gs
            if weight is not None:
                gy = gy * weight
        return gx, gy, None, None, None


class MseLoss(Function):
    """loss = (x - y)^2;   dloss/dx = 2 (x - y),   dloss/dy = -2 (x - y)."""
    _grad_fn_name = "MseLossBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, y, reduction):
        d = x._data - y._data
        d *= d
        ctx.reduction, ctx.n = reduction, d.size
        ctx.save_for_backward(x, y)
        return _reduce(d, reduction)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = 2 * (x - y) * _scale_grad(g, ctx.reduction, ctx.n)
        return gx, (-gx if ctx.needs_input_grad[1] else None), None


class SmoothL1Loss(Function):
    """loss = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta  (d = x - y);
    dloss/dx = d / beta if |d| < beta else sign(d);  dloss/dy = -dloss/dx."""
    _grad_fn_name = "SmoothL1LossBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, y, reduction, beta):
        xp = _xp(x)
        d = x._data - y._data
        ad = xp.abs(d)
        loss = ad - 0.5 * beta if beta == 0 else xp.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)
        ctx.reduction, ctx.n, ctx.beta = reduction, d.size, beta
        ctx.save_for_backward(x, y)
        return _reduce(loss.astype(d.dtype, copy=False), reduction)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        from .. import where
        x, y = ctx.saved_tensors
        d = x - y
        b = ctx.beta
        gx = d.sign() if b == 0 else where(d.abs() < b, d / b, d.sign())
        gx = gx * _scale_grad(g, ctx.reduction, ctx.n)
        return gx, (-gx if ctx.needs_input_grad[1] else None), None, None


class HuberLoss(Function):
    """loss = 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta);  dloss/dx = d or delta sign(d)."""
    _grad_fn_name = "HuberLossBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, x, y, reduction, delta):
        xp = _xp(x)
        d = x._data - y._data
        ad = xp.abs(d)
        loss = xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
        ctx.reduction, ctx.n, ctx.delta = reduction, d.size, delta
        ctx.save_for_backward(x, y)
        return _reduce(loss.astype(d.dtype, copy=False), reduction)

    @staticmethod
    @float32_inside_backward
    def backward(ctx, g):
        from .. import where
        x, y = ctx.saved_tensors
        d = x - y
        gx = where(d.abs() < ctx.delta, d, ctx.delta * d.sign()) * _scale_grad(g, ctx.reduction, ctx.n)
        return gx, (-gx if ctx.needs_input_grad[1] else None), None, None


# --------------------------------------------------------------------------------------------------
# CTC: the connectionist temporal classification loss, by the forward-backward (alpha/beta) recursion
# --------------------------------------------------------------------------------------------------
_NEG_INF = -np.inf


def _lse(*xs):
    """Elementwise log(sum(exp(x))) of several arrays, -inf safe."""
    m = xs[0]
    for x in xs[1:]:
        m = np.maximum(m, x)
    safe = np.where(np.isfinite(m), m, 0)
    acc = np.zeros_like(m)
    for x in xs:
        acc += np.exp(x - safe)
    with np.errstate(divide="ignore"):
        return np.log(acc) + safe


def _shift(a, k):
    """a shifted right by k along the last axis, filled with -inf."""
    out = np.full_like(a, _NEG_INF)
    out[..., k:] = a[..., :a.shape[-1] - k]
    return out


class CtcLoss(Function):
    """Per-sample CTC loss -log p(target | input) of log_probs (T, N, C).

    With the target padded with blanks to l' (length 2S + 1) and alpha/beta the forward/backward log
    probabilities of the prefixes/suffixes of l' (a Python loop over time steps, vectorized over batch and
    positions):  loss_n = -log(alpha[T-1, L-1] + alpha[T-1, L-2]).
    Gradient as torch computes it (the gradient for the logits of a log_softmax that made log_probs):
        d/dlp[t, c] = exp(lp[t, c]) - exp(logsumexp_{s: l'_s = c}(alpha_t(s) + beta_t(s)) + loss - lp[t, c])
    """
    _grad_fn_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = log_probs._data.astype(np.float64)                 # the recursion runs in float64
        T, N, C = lp.shape
        Tn = np.asarray(input_lengths, dtype=np.int64)
        Sn = np.asarray(target_lengths, dtype=np.int64)
        S = int(Sn.max()) if N else 0
        L = 2 * S + 1
        ext = np.full((N, L), blank, dtype=np.int64)             # l' = blank, l1, blank, l2, ..., blank
        ext[:, 1::2] = targets[:, :S] if S else ext[:, 1::2]
        Ln = 2 * Sn + 1
        pos = np.arange(L)[None, :]
        ext = np.where(pos < Ln[:, None], ext, blank)
        skip = np.zeros((N, L), dtype=bool)                      # may jump s-2 -> s
        skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        lpe = np.take_along_axis(lp, np.broadcast_to(ext[None], (T, N, L)), axis=2)   # lp[t, n, l'_s]
        alpha = np.full((T, N, L), _NEG_INF)
        alpha[0, :, 0] = lpe[0, :, 0]
        if L > 1:
            alpha[0, :, 1] = np.where(Ln > 1, lpe[0, :, 1], _NEG_INF)
        for t in range(1, T):
            a = alpha[t - 1]
            alpha[t] = _lse(a, _shift(a, 1), np.where(skip, _shift(a, 2), _NEG_INF)) + lpe[t]
        alpha = np.where(pos[None] < Ln[None, :, None], alpha, _NEG_INF)
        rows = np.arange(N)
        last = alpha[np.maximum(Tn - 1, 0), rows]                # (N, L) at each sample's last step
        end1 = last[rows, Ln - 1]
        end2 = np.where(Ln > 1, last[rows, np.maximum(Ln - 2, 0)], _NEG_INF)
        nll = -_lse(end1, end2)                                  # inf when the target cannot fit
        ctx.save_for_backward(log_probs)
        ctx.cache = (lp, lpe, alpha, ext, skip, Tn, Ln, nll, zero_infinity)
        out = np.where(np.isinf(nll), 0.0, nll) if zero_infinity else nll
        return out.astype(log_probs._data.dtype)

    @staticmethod
    def backward(ctx, g):
        log_probs, = ctx.saved_tensors
        lp, lpe, alpha, ext, skip, Tn, Ln, nll, zero_infinity = ctx.cache
        T, N, C = lp.shape
        L = ext.shape[1]
        pos = np.arange(L)[None, :]
        rows = np.arange(N)
        beta = np.full((T, N, L), _NEG_INF)
        nxt = np.full((N, L), _NEG_INF)
        skip_next = np.zeros((N, L), dtype=bool)                 # may jump s -> s+2
        skip_next[:, :-2] = skip[:, 2:]
        for t in range(T - 1, -1, -1):
            rec = _lse(nxt, _shift(nxt[:, ::-1], 1)[:, ::-1],
                       np.where(skip_next, _shift(nxt[:, ::-1], 2)[:, ::-1], _NEG_INF)) + lpe[t]
            init = np.full((N, L), _NEG_INF)
            init[rows, Ln - 1] = lpe[t, rows, Ln - 1]
            two = Ln > 1
            init[rows[two], Ln[two] - 2] = lpe[t, rows[two], Ln[two] - 2]
            cur = np.where((t == Tn - 1)[:, None], init, np.where((t < Tn - 1)[:, None], rec, _NEG_INF))
            cur = np.where(pos < Ln[:, None], cur, _NEG_INF)
            beta[t] = cur
            nxt = cur
        ab = alpha + beta                                         # (T, N, L), log of alpha_t(s) beta_t(s)
        m = ab.max(axis=2, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        onehot = (ext[:, :, None] == np.arange(C)[None, None, :]).astype(np.float64)   # (N, L, C)
        with np.errstate(divide="ignore"):
            lcab = np.log(np.einsum("tnl,nlc->tnc", np.exp(ab - m), onehot)) + m
        with np.errstate(over="ignore", invalid="ignore"):
            grad = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
        valid_t = np.arange(T)[:, None] < Tn[None, :]
        grad = np.where(valid_t[:, :, None], grad, 0.0)
        if zero_infinity:                                         # impossible targets contribute nothing
            grad[:, np.isinf(nll)] = 0.0
        grad = _wrap(grad.astype(log_probs._data.dtype))
        return grad * g.reshape(1, N, 1), None, None, None, None, None


# --------------------------------------------------------------------------------------------------
# activations whose torch nodes have their own names (forward on arrays, backward in Tensor ops)
# --------------------------------------------------------------------------------------------------
def _where(cond, a, b):
    from .. import where
    return where(cond, a, b)


class LeakyRelu(Function):
    """y = x if x > 0 else slope x;   dy/dx = 1 if x > 0 else slope."""
    _grad_fn_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, slope):
        xa = x._data
        ctx.slope = slope
        ctx.save_for_backward(x)
        return _xp(x).where(xa > 0, xa, xa * slope)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return _where(x > 0, g, g * ctx.slope), None


class Elu(Function):
    """y = scale x if x > 0 else scale alpha (exp(input_scale x) - 1)  (elu: scale = input_scale = 1;
    selu: scale = 1.0507.., alpha = 1.6732..);  dy/dx = scale if x > 0 else scale alpha input_scale exp(input_scale x)."""
    _grad_fn_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        xa = x._data
        xp = _xp(x)
        neg = xp.expm1(xp.minimum(xa, 0) * input_scale)
        neg *= alpha
        y = xp.where(xa > 0, xa, neg)
        if scale != 1:
            y *= scale
        ctx.params = (alpha, scale, input_scale)
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        alpha, scale, s_in = ctx.params
        neg = (x.clamp(max=0) * s_in).exp() * (alpha * scale * s_in)
        return _where(x > 0, g * scale, g * neg), None, None, None


class Celu(Elu):
    """celu(x) = max(0, x) + min(0, alpha (exp(x / alpha) - 1)): an Elu with input_scale = 1 / alpha."""
    _grad_fn_name = "CeluBackward0"


class Silu(Function):
    """y = x sigmoid(x);   dy/dx = s (1 + x (1 - s)),  s = sigmoid(x)."""
    _grad_fn_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x, _=None):
        xa = x._data
        xp = _xp(x)
        with np.errstate(over="ignore"):
            s = xp.exp(-xa)
        s += 1
        ctx.save_for_backward(x)
        return xa / s

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        s = x.sigmoid()
        return g * (s * (1 + x * (1 - s))), None


class Mish(Function):
    """y = x tanh(softplus(x));   dy/dx = t + x sigmoid(x) (1 - t^2),  t = tanh(softplus(x))."""
    _grad_fn_name = "MishBackward0"

    @staticmethod
    def forward(ctx, x):
        xa = x._data
        xp = _xp(x)
        t = xp.tanh(xp.logaddexp(0, xa))
        ctx.save_for_backward(x)
        return xa * t

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        t = _softplus_t(x, 1.0, 20.0).tanh()
        return g * (t + x * x.sigmoid() * (1 - t * t))


def _softplus_t(x, beta, threshold):
    """softplus from Tensor ops: log1p(exp(-|bx|)) / b + max(x, 0), x itself above the threshold."""
    bx = x * beta
    sp = (-bx.abs()).exp().log1p() / beta + x.clamp(min=0)
    return _where(bx > threshold, x, sp)


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta  (x itself where beta x > threshold);
    dy/dx = sigmoid(beta x)  (1 above the threshold)."""
    _grad_fn_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xa = x._data
        xp = _xp(x)
        bx = xa * beta
        sp = xp.logaddexp(0, bx)
        if beta != 1:
            sp /= beta
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        return xp.where(bx > threshold, xa, sp).astype(xa.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        bx = x * ctx.beta
        return _where(bx > ctx.threshold, g, g * bx.sigmoid()), None, None


class Hardtanh(Function):
    """y = clamp(x, lo, hi);   dy/dx = 1 where lo < x < hi, else 0  (relu6 = hardtanh(0, 6))."""
    _grad_fn_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        return _xp(x).clip(x._data, lo, hi)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return _where((x > ctx.lo) & (x < ctx.hi), g, g * 0), None, None


class Hardsigmoid(Function):
    """y = clamp(x / 6 + 1/2, 0, 1);   dy/dx = 1/6 on -3 < x < 3, else 0."""
    _grad_fn_name = "HardsigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        xa = x._data
        ctx.save_for_backward(x)
        y = xa / 6.0
        y += 0.5
        return _xp(x).clip(y, 0, 1)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return _where((x > -3) & (x < 3), g / 6.0, g * 0)


class Hardswish(Function):
    """y = x relu6(x + 3) / 6;   dy/dx = 0 (x < -3), 1 (x > 3), else (2x + 3) / 6."""
    _grad_fn_name = "HardswishBackward0"

    @staticmethod
    def forward(ctx, x):
        xa = x._data
        xp = _xp(x)
        ctx.save_for_backward(x)
        return xa * xp.clip(xa + 3.0, 0, 6) / 6.0

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        mid = g * (2 * x + 3) / 6.0
        return _where(x < -3, g * 0, _where(x > 3, g, mid))


class LogSigmoid(Function):
    """y = log sigmoid(x) = -softplus(-x);   dy/dx = 1 - sigmoid(x) = sigmoid(-x)."""
    _grad_fn_name = "LogSigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        xa = x._data
        xp = _xp(x)
        ctx.save_for_backward(x)
        return -xp.logaddexp(0, -xa)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (-x).sigmoid()
