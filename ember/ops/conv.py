"""Convolution, pooling and window (unfold/fold) primitives, forward and backward side by side.

Everything here works for any number of spatial dimensions (1-d, 2-d, 3-d) on arrays laid out
``(N, C, *spatial)``.  The central trick is **im2col**: a strided *view* of the padded input
whose element ``[n, c, o1, o2, k1, k2]`` is ``x[n, c, o1*s1 + k1*d1, o2*s2 + k2*d2]`` — every
window of the convolution at once, without copying.  One reshape of that view gives the
``(C*K, L)`` column matrix, and a convolution becomes one matrix product ``W @ cols``.

The adjoint of im2col is **col2im**: scatter columns back onto the image, *adding* where windows
overlap.  It is written as a short loop over the kernel offsets (K = kh*kw iterations, each one a
vectorized strided add) so that it needs no ``add.at``.

Derivatives (y = conv(x, W) + b, with C_W the linear map x -> conv(x, W)):
    dx = C_W^T(dy)              — a transposed convolution (col2im of W^T dy)
    dW = sum_{n,l} dy[n,:,l] cols[n,:,l]^T
    db = sum over batch and space of dy
With stride 1, C_W^T is itself a convolution (kernel flipped, in/out channels swapped, padding
d*(k-1) - pad), computed that way: an im2col copy instead of col2im's strided adds.
A transposed convolution is the adjoint map, so its derivatives swap the two roles.
Pooling over windows uses the same strided views; average pooling is linear, so its backward is
its adjoint (a col2im), and the adjoint's backward is the average pool again.  Max pooling keeps, per
kernel offset, a mask of the windows whose (first) maximum sits there; its backward adds dy through
those masks.  Resampling (adaptive average pooling, interpolation, reflect/replicate/circular
padding) is separable: one small matrix per spatial axis (``AxisLinear``).

The copies and strided adds loop over kernel offsets, never over samples or pixels; on the CPU they
run on batch slabs in a thread pool (``for_batch_slabs``), since NumPy releases the GIL in its loops.

Which route a float32 convolution takes on the CPU (``_direct_route``): at stride 1, the compiled direct
kernels (``ops/direct_conv.py``: no columns at all) when llvmlite is installed, with vectors along output
rows or, on small planes, across output channels; else Winograd (``ops/winograd.py``) for 3x3 layers of
32+ channels; else im2col + BLAS, per sample in cache-sized chunks (``_sample_columns``) or, for small
outputs, as one batch-wide GEMM. Every route is tested against this im2col reference (``EMBER_JIT=0``).
"""
import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..autograd import Function
from ..device import array_module
from .._jit import conv_kernels, direct_conv, float32_kernels
from .._parallel import blas_on_calling_thread, share_cores
from .._tensor import wrap
from . import winograd

__all__ = [
    "Convolution", "ConvolutionWeightGrad", "MaxPoolNd", "MaxPoolScatter", "AvgPoolNd",
    "AvgPoolNdAdjoint", "AxisLinear", "Im2Col", "Col2Im", "ConstantPadNd",
    "conv_output_size", "pool_output_size",
]


# ----------------------------------------------------------------------------- array helpers
_SLAB_MIN_ELEMENTS = 1 << 17     # below this, one thread is as fast as many
_pool = None
_pool_pid = None


def _threads():
    """The cores Ember may use (``set_num_threads`` / the distributed launcher can lower it)."""
    from .._parallel import num_threads
    return num_threads()


def for_batch_slabs(n, work, elements, xp=np):
    """Call ``work(lo, hi)`` for slabs of the batch axis, on every CPU core at once.

    NumPy releases the GIL inside its loops, so threads that each handle a slab of samples (writing
    into their own rows of a preallocated output) run truly in parallel.  Small jobs, CuPy arrays and
    one-core machines get a single call ``work(0, n)``.
    """
    global _pool, _pool_pid
    t = min(_threads(), n)
    if xp is not np or t < 2 or elements < _SLAB_MIN_ELEMENTS:
        work(0, n)
        return
    share_cores()
    if _pool is None or _pool_pid != os.getpid():      # a forked child (DataLoader worker) has no threads
        _pool = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="ember-conv")
        _pool_pid = os.getpid()
    step = -(-n // t)
    futures = [_pool.submit(work, lo, min(lo + step, n)) for lo in range(step, n, step)]
    work(0, min(step, n))
    for f in futures:
        f.result()


def conv_output_size(size, k, stride, pad_lo, pad_hi, dilation):
    """Output length of a window sweep: floor((size + pads - d*(k-1) - 1) / s) + 1."""
    return (size + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def pool_output_size(size, k, stride, pad, dilation, ceil_mode):
    """torch's pooling output length; with ceil_mode the last window must start inside input+pad."""
    eff = size + 2 * pad - dilation * (k - 1) - 1
    if ceil_mode:
        out = -(-eff // stride) + 1
        if (out - 1) * stride >= size + pad:
            out -= 1
    else:
        out = eff // stride + 1
    return out


def _pad_array(x, pads, value=0.0):
    """Pad the trailing spatial dims of x with (lo, hi) pairs (negative = crop)."""
    xp = array_module(x)
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    nd = len(pads)
    crop = tuple(slice(max(-lo, 0), x.shape[x.ndim - nd + i] - max(-hi, 0))
                 for i, (lo, hi) in enumerate(pads))
    x = x[(Ellipsis,) + crop]
    if all(lo <= 0 and hi <= 0 for lo, hi in pads):
        return x                                   # a crop only: a view
    lead = x.ndim - nd
    shape = x.shape[:lead] + tuple(x.shape[lead + i] + max(lo, 0) + max(hi, 0) for i, (lo, hi) in enumerate(pads))
    # one buffer, the border filled and the interior copied in (np.pad does the same in many more calls)
    out = xp.zeros(shape, dtype=x.dtype) if value == 0 else xp.full(shape, value, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(max(lo, 0), max(lo, 0) + x.shape[lead + i]) for i, (lo, hi) in enumerate(pads))] = x
    return out


def _windows(xpad, kernel, stride, dilation, out):
    """Strided view (N, C, *out, *kernel) of the padded input: [.., o, k] = xpad[.., o*s + k*d]."""
    xp = array_module(xpad)
    nd = len(kernel)
    st = xpad.strides
    lead = xpad.ndim - nd
    shape = xpad.shape[:lead] + tuple(out) + tuple(kernel)
    strides = (st[:lead] + tuple(st[lead + i] * stride[i] for i in range(nd))
               + tuple(st[lead + i] * dilation[i] for i in range(nd)))
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


def _offset_slices(kidx, stride, dilation, out):
    """Slices picking, for kernel offset kidx, the input element under it in every window."""
    return tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                 for k, s, d, o in zip(kidx, stride, dilation, out))


def im2col(x, kernel, stride, pads, dilation):
    """(N, C, *in) -> columns (N, C*K, L): the window view, copied into matrix form."""
    xp = array_module(x)
    nd = len(kernel)
    xpad = _pad_array(x, pads)
    out = [conv_output_size(x.shape[2 + i], kernel[i], stride[i], pads[i][0], pads[i][1], dilation[i])
           for i in range(nd)]
    win = _windows(xpad, kernel, stride, dilation, out)          # (N, C, *out, *k)
    perm = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
    N, C = x.shape[:2]
    cols = xp.empty((N, C) + tuple(kernel) + tuple(out), dtype=x.dtype)

    def work(lo, hi):
        cols[lo:hi] = win[lo:hi].transpose(perm)

    for_batch_slabs(N, work, cols.size, xp)
    return cols.reshape(N, C * math.prod(kernel), math.prod(out)), out


def col2im(cols, channels, in_spatial, kernel, stride, pads, dilation, out):
    """Adjoint of im2col: (N, C*K, L) -> (N, C, *in), summing overlapping window entries."""
    xp = array_module(cols)
    nd = len(kernel)
    N = cols.shape[0]
    cols = cols.reshape((N, channels) + tuple(kernel) + tuple(out))
    padded = [in_spatial[i] + pads[i][0] + pads[i][1] for i in range(nd)]
    # a window sweep may stop short of the padded end; it never overruns it
    img = xp.zeros((N, channels) + tuple(padded), dtype=cols.dtype)

    def work(lo, hi):
        for kidx in itertools.product(*[range(k) for k in kernel]):
            img[(slice(lo, hi), slice(None)) + _offset_slices(kidx, stride, dilation, out)] += \
                cols[(slice(lo, hi), slice(None)) + kidx]

    for_batch_slabs(N, work, cols.size, xp)
    return _pad_array(img, [(-lo, -hi) for lo, hi in pads])


def im2col_t(x, kernel, stride, pads, dilation):
    """(N, C, *in) -> columns (C*K, N*L): every window of every sample side by side, so a convolution is
    ONE matrix product W (O, C*K) @ cols (C*K, N*L) -- one large GEMM keeps BLAS busy where N small
    per-sample products (late layers: L = 4x4) would not."""
    xp = array_module(x)
    nd = len(kernel)
    xpad = _pad_array(x, pads)
    out = [conv_output_size(x.shape[2 + i], kernel[i], stride[i], pads[i][0], pads[i][1], dilation[i])
           for i in range(nd)]
    win = _windows(xpad, kernel, stride, dilation, out)          # (N, C, *out, *k)
    N, C = x.shape[:2]
    perm = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))   # (C, *k, N, *out)
    cols = xp.empty((C,) + tuple(kernel) + (N,) + tuple(out), dtype=x.dtype)

    def work(lo, hi):
        cols[lo:hi] = win[:, lo:hi].transpose(perm)

    for_batch_slabs(C, work, cols.size, xp)
    return cols.reshape(C * math.prod(kernel), N * math.prod(out)), out


def col2im_t(dcols, shape, kernel, stride, pads, dilation, out):
    """Adjoint of im2col_t: (C*K, N*L) -> (N, C, *in), summing the overlapping window entries."""
    xp = array_module(dcols)
    nd = len(kernel)
    N, C = shape[:2]
    dc = dcols.reshape((C,) + tuple(kernel) + (N,) + tuple(out))
    padded = [shape[2 + i] + pads[i][0] + pads[i][1] for i in range(nd)]
    img = xp.zeros((N, C) + tuple(padded), dtype=dcols.dtype)
    swap = (1, 0) + tuple(range(2, 2 + nd))

    def work(lo, hi):
        for kidx in itertools.product(*[range(k) for k in kernel]):
            img[(slice(None), slice(lo, hi)) + _offset_slices(kidx, stride, dilation, out)] += \
                dc[(slice(lo, hi),) + kidx].transpose(swap)

    for_batch_slabs(C, work, dcols.size, xp)
    return _pad_array(img, [(-lo, -hi) for lo, hi in pads])


def _to_rows(y, N, O, L):
    """(O, N*L) GEMM result -> (N, O, L) contiguous (one copy of the output, in batch slabs on every core)."""
    xp = array_module(y)
    src = y.reshape(O, N, L)
    if xp is not np:
        return xp.ascontiguousarray(src.transpose(1, 0, 2))
    out = np.empty((N, O, L), y.dtype)
    for_batch_slabs(N, lambda lo, hi: np.copyto(out[lo:hi], src[:, lo:hi].transpose(1, 0, 2)), out.size)
    return out


def _from_rows(gy, N, O, L):
    """(N, O, *out) gradient -> (O, N*L) for the GEMMs (one copy, in channel slabs on every core)."""
    xp = array_module(gy)
    src = gy.reshape(N, O, L)
    if xp is not np:
        return xp.ascontiguousarray(src.transpose(1, 0, 2)).reshape(O, N * L)
    out = np.empty((O, N, L), gy.dtype)
    for_batch_slabs(O, lambda lo, hi: np.copyto(out[lo:hi], src[:, lo:hi].transpose(1, 0, 2)), out.size)
    return out.reshape(O, N * L)


# ----------------------------------------------------------------------------- columns per sample, in chunks
_CHUNK_BYTES = 1 << 20      # one chunk of columns stays in the core's L2 cache while its GEMM reads it
_PER_SAMPLE_MIN_L = 64      # below this many output positions per sample, one GEMM over the batch wins


def _per_sample(x, groups, L):
    """Whether a convolution of ``x`` with L output positions per sample takes the chunked per-sample route
    (CPU, one group, float, enough positions: a per-sample GEMM over 4x4 outputs would be too small)."""
    return (array_module(x) is np and groups == 1 and x.dtype in (np.float32, np.float64)
            and L >= _PER_SAMPLE_MIN_L)


class _ColumnPlan:
    """The geometry of one convolution's columns, per sample: ``out`` (output sizes), ``L`` (columns per
    sample), ``CK`` (rows), ``chunk`` (samples per cache-sized chunk) and ``grid``.

    With stride 1 the columns are taken on the *padded grid*: output position (o0, o1, ...) is column
    o0*P1*P2... + o1*P2 + ..., the same flat layout as the padded input, so the column row of kernel offset k
    is one contiguous run of the padded plane, starting at k's flat offset. The copy becomes C*K long
    contiguous runs (instead of runs one output row long: 14 floats for a 14x14 map). The price: positions
    o_i >= out_i of the trailing dims are computed too and thrown away (16/14 more columns at 14x14, padding
    1). ``grid`` is then the padded sizes; else None and the columns are the plain (*out) windows. Measured on
    small CNN layers the grid wins for outputs (forward, and input gradients: 1.40 vs 1.77 ms at 8 -> 16
    channels, 28x28) but loses for weight gradients, where gy would first be spread onto it (``on_grid``)."""

    def __init__(self, shape, itemsize, kernel, stride, pads, dilation, on_grid=True):
        nd = len(kernel)
        self.kernel, self.stride, self.pads, self.dilation = tuple(kernel), stride, pads, dilation
        self.out = tuple(conv_output_size(shape[2 + i], kernel[i], stride[i], pads[i][0], pads[i][1],
                                          dilation[i]) for i in range(nd))
        # a 1x1 kernel at stride 1 without padding: the columns are x itself, nothing to copy
        self.identity = all(k == 1 for k in kernel) and all(s == 1 for s in stride) and \
            all(lo == 0 and hi == 0 for lo, hi in pads)
        flat = on_grid and all(s == 1 for s in stride) and all(lo >= 0 and hi >= 0 for lo, hi in pads) and \
            not self.identity
        self.grid = tuple(shape[2 + i] + pads[i][0] + pads[i][1] for i in range(nd)) if flat else None
        self.L = self.out[0] * math.prod(self.grid[1:]) if flat else math.prod(self.out)
        self.CK = shape[1] * math.prod(kernel)
        self.chunk = max(1, _CHUNK_BYTES // (self.CK * self.L * itemsize))

    def valid(self, a):
        """The (n, R, *out) positions of a chunk's (n, R, L) result (a view: the grid's junk cut off)."""
        a = a[..., :self.L]                                    # (rows padded past L: the direct kernels')
        if self.grid is None:
            return a.reshape(a.shape[:2] + self.out)
        g = a.reshape(a.shape[:2] + (self.out[0],) + self.grid[1:])
        return g[(Ellipsis,) + tuple(slice(0, o) for o in self.out[1:])]

    def windows(self, x):
        """A strided view (N, C, *kernel, L) of x's columns, which a copy turns into matrices."""
        nd = len(self.kernel)
        N, C = x.shape[:2]
        if self.grid is None:
            xpad = _pad_array(x, self.pads)
            win = _windows(xpad, self.kernel, self.stride, self.dilation, self.out)      # (N, C, *out, *k)
            return win.transpose((0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd)))
        buf = self.flat_planes(N, C, self.L, x.dtype)
        self.fill_planes(buf, x, 0, N)
        it, P = x.itemsize, math.prod(self.grid)
        step = self._steps()
        return np.lib.stride_tricks.as_strided(
            buf, (N, C) + self.kernel + (self.L,),
            (C * P * it, P * it) + tuple(d * s * it for d, s in zip(self.dilation, step)) + (it,))

    def _steps(self):
        return [math.prod(self.grid[i + 1:]) for i in range(len(self.grid))]     # flat stride of each padded dim

    def offsets(self):
        """Flat offset in a padded plane of each kernel offset's run (kernel offsets in C order)."""
        step = self._steps()
        return [sum(k * d * st for k, d, st in zip(kidx, self.dilation, step))
                for kidx in itertools.product(*[range(k) for k in self.kernel])]

    def row_offsets(self):
        """(rows,) int64: the grid offset where each output row (an index over all but the last output dim)
        starts."""
        if len(self.out) == 1:
            return np.zeros(1, np.int64)                          # 1-d: one row
        idx = np.indices(self.out[:-1], dtype=np.int64).reshape(len(self.out) - 1, -1)
        return (np.array(self._steps()[:-1], np.int64)[:, None] * idx).sum(axis=0)

    def channel_offsets(self, C):
        """(C*K,) int64: the flat offset of weight column c*K + k's run within a sample's C padded planes."""
        return (np.arange(C, dtype=np.int64)[:, None] * math.prod(self.grid) +
                np.array(self.offsets(), np.int64)).reshape(-1)

    def flat_planes(self, N, C, run, dtype):
        """A zeroed flat buffer for N*C padded planes (``fill_planes`` copies the input in), with an overhang
        so that a run of ``run`` positions from any kernel offset of the last plane stays inside it."""
        P = math.prod(self.grid)
        return np.zeros(N * C * P + max(max(self.offsets()) + run - P, 0), dtype)

    def fill_planes(self, buf, x, lo, hi):
        """Copy samples lo:hi of x into their padded planes of ``buf`` (the borders stay zero)."""
        N, C = x.shape[:2]
        P = math.prod(self.grid)
        planes = buf[lo * C * P:hi * C * P].reshape((hi - lo, C) + self.grid)
        planes[(slice(None), slice(None)) + tuple(slice(a, a + n) for (a, _), n in zip(self.pads, x.shape[2:]))] = x[lo:hi]


def _sample_columns(x, plan, visit, init=None):
    """Stream the im2col columns of ``x`` chunk by chunk: ``visit(lo, hi, cols, acc)`` with cols (n, C*K, L).

    The whole column matrix is K times the input (9x for 3x3) and would go through main memory twice
    (written, then read by the GEMM). Here each chunk of samples is copied into one reused buffer small
    enough to stay in cache, and its GEMM runs at once. The batch is split across the cores, each thread
    with its own buffer and chunks (and BLAS on the calling thread, so the two pools do not fight). With
    ``init``, each thread starts an accumulator (or scratch) ``init()``; the list of them is returned, in
    batch order (threads finish in any order; summing in a fixed one keeps results the same run to run)."""
    N = x.shape[0]
    CK, L, chunk = plan.CK, plan.L, plan.chunk
    src = np.ascontiguousarray(x).reshape(N, CK, L) if plan.identity else plan.windows(x)
    accs = []

    def work(lo, hi):
        acc = init() if init is not None else None
        buf = None if plan.identity else np.empty((min(chunk, hi - lo),) + src.shape[1:], x.dtype)
        for s in range(lo, hi, chunk):
            e = min(s + chunk, hi)
            if buf is None:
                b = src[s:e]
            else:
                b = buf[:e - s]
                np.copyto(b, src[s:e])
            visit(s, e, b.reshape(e - s, CK, L), acc)
        accs.append((lo, acc))

    _gemm_slabs(N, work, N * CK * L)
    return [acc for _, acc in sorted(accs, key=lambda a: a[0])]   # in batch order: the same sums every run


def _gemm_slabs(N, work, size):
    """``work(lo, hi)`` on one slab of the batch per core, each running its own GEMMs on BLAS's calling
    thread; on one core (or a small job) one call with BLAS's own threads."""
    if min(_threads(), N) > 1 and size >= _SLAB_MIN_ELEMENTS:
        with blas_on_calling_thread():
            for_batch_slabs(N, work, size)
    else:
        work(0, N)


def _conv_per_sample(x, w, stride, pads, dilation, bias=None):
    """y[n] = W (O, C*K) @ cols[n] (C*K, L) (+ bias): into y's (N, O, L) rows, or via a scratch on the padded
    grid. The bias is added chunk by chunk, while the chunk's output is still in cache."""
    N, O = x.shape[0], w.shape[0]
    plan = _ColumnPlan(x.shape, x.itemsize, w.shape[2:], stride, pads, dilation)
    w2 = w.reshape(O, -1).astype(x.dtype, copy=False)
    y = np.empty((N, O) + plan.out, x.dtype)
    rows = y.reshape(N, O, -1)
    b = None if bias is None else bias.astype(x.dtype, copy=False).reshape((O,) + (1,) * len(plan.out))

    def visit(lo, hi, cols, scratch):
        if scratch is None:
            np.matmul(w2, cols, out=rows[lo:hi])
            if b is not None:
                y[lo:hi] += b
        else:
            r = scratch[:hi - lo]
            np.matmul(w2, cols, out=r)
            if b is None:
                y[lo:hi] = plan.valid(r)
            else:
                np.add(plan.valid(r), b, out=y[lo:hi])

    _sample_columns(x, plan, visit,
                    init=None if plan.grid is None else lambda: np.empty((plan.chunk, O, plan.L), x.dtype))
    return y, None


def _weight_grad_per_sample(x, gy, weight_shape, stride, pads, dilation):
    """dW = sum_n gy[n] (O, L) @ cols[n]^T (L, C*K), summed per thread over its chunks, then across threads."""
    N, O = gy.shape[:2]
    plan = _ColumnPlan(x.shape, x.itemsize, weight_shape[2:], stride, pads, dilation, on_grid=False)
    rows = gy.reshape(N, O, -1)

    # the longer side as the GEMM's rows: (CK, L) @ (L, O) when CK > O (77 vs 56 GFLOP/s at O=32, CK=144)
    tall = plan.CK > O

    def visit(lo, hi, cols, acc):
        if tall:
            acc += np.matmul(cols, rows[lo:hi].transpose(0, 2, 1)).sum(axis=0)
        else:
            acc += np.matmul(rows[lo:hi], cols.transpose(0, 2, 1)).sum(axis=0)

    accs = _sample_columns(x, plan, visit, init=lambda: np.zeros((plan.CK, O) if tall else (O, plan.CK), x.dtype))
    dw = sum(accs[1:], accs[0])
    return np.ascontiguousarray(dw.T if tall else dw).reshape(weight_shape)


# ----------------------------------------------------------------------------- direct kernels (ops/direct_conv.py)
def _direct_kernels(x, w_dtype, groups, stride, pads):
    """The compiled direct-convolution module when it serves this convolution (NumPy float32, one group,
    stride 1, no negative padding, llvmlite installed and compiled paths on), else None."""
    if w_dtype != np.float32 or groups != 1 or any(s != 1 for s in stride) or \
            any(lo < 0 or hi < 0 for lo, hi in pads):
        return None
    return float32_kernels(x, direct_conv)


_geometries = {}


class _DirectGeometry:
    """The direct kernels' view of a grid plan, for C input channels: ``table`` (the output rows cut into
    vector segments), ``pos`` (every output position's grid offset), ``offs`` (each weight column's run
    offset within a sample's planes), ``CP`` (the planes' sample stride) and ``run`` (how far past a plane's
    start the row kernels read: the planes' buffer must allow for it)."""

    def __init__(self, K, plan, C):
        V, W = K.lanes(), plan.out[-1]
        rows = plan.row_offsets()
        self.table = K.segments(rows, W)
        self.pos = (rows[:, None] + np.arange(W, dtype=np.int64)).reshape(-1)
        self.offs = plan.channel_offsets(C)
        self.CP = C * math.prod(plan.grid)
        self.run = int(rows[-1]) + -(-W // V) * V


def _direct_geometry(K, plan, C):
    """The cached :class:`_DirectGeometry`: a training loop asks for the same few every step."""
    key = (K.lanes(), C, plan.grid, plan.out, plan.kernel, plan.dilation, tuple(plan.pads))
    if key not in _geometries:
        if len(_geometries) > 64:
            _geometries.clear()
        _geometries[key] = _DirectGeometry(K, plan, C)
    return _geometries[key]


_ROUTE = None     # tests and measurements: "rows" or "channels" forces that direct kernel where either can run
_DIRECT_ACC_BYTES = 4 << 20         # a thread's V partial sums per weight: up to 64 x 64 x 3 x 3 weights (2.4 MiB)
_CHANNELS_WEIGHT_BYTES = 4 << 20    # weights the channel route transposes: up to 256 x 256 x 3 x 3 (2.4 MiB)


def _direct_route(x, w_shape, w_dtype, stride, pads, dilation, groups, weight_grad=False):
    """(route, K, plan) when a direct kernel should run this convolution, else None (Winograd or im2col).

    Two kernel families (``ops/direct_conv.py``): "rows" puts vectors along output rows, "channels" across
    output channels. Measured on two threads (forward / input gradient / weight gradient, ms, batch 32):

    ============================  ====================  ====================  ====================
    layer                         rows                  channels              Winograd or BLAS
    ============================  ====================  ====================  ====================
    64 -> 64 at 32x32             11.3 / 11.3 / 12.9    12.0 / 12.2 / 14.5    15.3 / 15.3 / 15.8
    128 -> 128 at 16x16           11.0 / 11.2 / 15.0    11.8 / 12.0 / 11.8    12.1 / 12.3 / 12.1
    256 -> 256 at 8x8             21.5 / 22.1 / 34.9    12.0 / 12.3 / 13.4    14.2 / 14.2 / 12.8
    64 -> 64 at 8x8               1.76 / 1.81 / 3.52    1.13 / 1.18 / 1.47    3.21 / 3.02 / 3.25
    512 -> 512 at 4x4             (16 outputs)          18.0 / 19.9 / 27.7    14.1 / 16.0 / 14.5
    ============================  ====================  ====================  ====================

    So: rows where rows fill 3/4 of their vectors (and there are 64+ outputs per sample); their weight
    gradient keeps V partial sums per weight, which must fit ``_DIRECT_ACC_BYTES``. Else channels, if the
    output channels fill 3/4 of their vector blocks and the weights are small enough for the two transposes
    the channel layout costs (``_CHANNELS_WEIGHT_BYTES``: 512 x 512 x 3 x 3 is not). Else rows still beat
    im2col on half-filled vectors (16 -> 32 channels at 8x8, batch 64: 0.54 / 0.60 / 0.63 against 0.62 /
    0.77 / 1.14)."""
    K = _direct_kernels(x, w_dtype, groups, stride, pads)
    if K is None:
        return None
    plan = _ColumnPlan(x.shape, x.itemsize, w_shape[2:], stride, pads, dilation)
    if plan.grid is None:                                  # 1x1 without padding: a plain GEMM for BLAS
        return None
    if _ROUTE is not None:
        return _ROUTE, K, plan
    V, W, O, CK = K.lanes(), plan.out[-1], w_shape[0], math.prod(w_shape[1:])
    rows_ok = math.prod(plan.out) >= _PER_SAMPLE_MIN_L and (not weight_grad or _direct_acc_fits(K, O, CK))
    if rows_ok and 4 * W >= 3 * -(-W // V) * V:
        return "rows", K, plan
    (_, NV), _ = K.channel_blocking()
    if 4 * O >= 3 * -(-O // (NV * V)) * NV * V and O * CK * 4 <= _CHANNELS_WEIGHT_BYTES:
        return "channels", K, plan
    return ("rows", K, plan) if rows_ok else None


def _conv_direct(K, x, w, plan, bias):
    """y = conv(x, W) (+ b) at stride 1 by the direct kernel, which writes y's rows in place (their last
    vector masked) with the bias as its accumulators' start. Each thread first copies its samples into
    their padded planes. Returns y and ``("grid", planes)``, which the weight gradient can reuse."""
    N, C = x.shape[:2]
    O = w.shape[0]
    (MR, _), _ = K.blocking()
    Op = -(-O // MR) * MR
    geo = _direct_geometry(K, plan, C)
    table, offs, CP = geo.table, geo.offs, geo.CP
    buf = plan.flat_planes(N, C, geo.run, np.float32)
    wp = np.zeros((Op, offs.size), np.float32)
    wp[:O] = w.reshape(O, -1)
    bp = np.zeros(Op, np.float32)
    if bias is not None:
        bp[:O] = bias
    y = np.empty((N, O) + plan.out, np.float32)
    rows = y.reshape(N, O, -1)

    def work(lo, hi):
        plan.fill_planes(buf, x, lo, hi)
        K.forward(buf[lo * CP:], CP, wp, bp, offs, rows[lo:hi], table, hi - lo)

    for_batch_slabs(N, work, N * O * table.shape[1] * K.lanes())
    return y, ("grid", buf)


def _direct_acc_fits(K, O, CK):
    _, (MR, NK) = K.blocking()
    return -(-O // MR) * MR * -(-CK // NK) * NK * K.lanes() * 4 <= _DIRECT_ACC_BYTES


def _weight_grad_direct(K, x, gy, weight_shape, plan, planes=None):
    """dW at stride 1 by the direct kernel: each thread copies its samples' inputs into padded planes and
    accumulates V partial sums per weight; the threads' sums are added in batch order, then the lanes.
    gy is read in place, its rows' last vectors masked. Masked-off lanes multiply a zero by whatever input
    lies under them, so an inf or NaN input the weight never meets could leak in: a non-finite result is
    recomputed by the per-sample route (None returned). ``planes``: the forward's padded planes of x."""
    N, C = x.shape[:2]
    O = gy.shape[1]
    _, (MR, NK) = K.blocking()
    Op = -(-O // MR) * MR
    geo = _direct_geometry(K, plan, C)
    table, CP, CK = geo.table, geo.CP, geo.offs.size
    offs = np.concatenate([geo.offs, np.zeros(-CK % NK, np.int64)])   # weight rows padded to the register block
    planes = _planes_or_none(planes, N, C, plan, geo.run)
    buf = planes if planes is not None else plan.flat_planes(N, C, geo.run, np.float32)
    g = gy.reshape(N, O, -1)
    accs = []

    def work(lo, hi):
        if planes is None:
            plan.fill_planes(buf, x, lo, hi)
        acc = np.zeros((Op, offs.size, K.lanes()), np.float32)
        K.weight_grad(g[lo:hi], buf[lo * CP:], CP, offs, acc, table, hi - lo)
        accs.append((lo, acc))

    for_batch_slabs(N, work, N * O * table.shape[1] * K.lanes())
    accs = [a for _, a in sorted(accs, key=lambda a: a[0])]
    total = sum(accs[1:], accs[0])
    # the lanes' sum as a matrix-vector product: NumPy's .sum over a 16-long last axis is 10x slower
    dw = (total.reshape(-1, total.shape[-1]) @ np.ones(total.shape[-1], np.float32)).reshape(total.shape[:2])[:O, :CK]
    if not np.isfinite(dw).all():
        return None
    return np.ascontiguousarray(dw).reshape(weight_shape)


def _planes_or_none(planes, N, C, plan, run):
    """The forward's padded planes if they hold N*C planes of this grid and the overhang ``run`` needs."""
    P = math.prod(plan.grid)
    if planes is None or planes.size < N * C * P + max(max(plan.offsets()) + run - P, 0):
        return None
    return planes


def _conv_channels(K, x, w, plan, bias):
    """y = conv(x, W) (+ b) at stride 1 by the channel-vectorised kernel: output channels last, (n, P, Op)
    with the channels padded to whole vector blocks, then transposed into y by each thread for its samples.
    Every position computed is a real output, so small planes (4x4, 8x8) waste nothing on idle lanes."""
    N, C = x.shape[:2]
    O = w.shape[0]
    (_, NV), _ = K.channel_blocking()
    step = NV * K.lanes()
    Op = -(-O // step) * step
    geo = _direct_geometry(K, plan, C)
    P = geo.pos.size
    buf = plan.flat_planes(N, C, 1, np.float32)               # (every read is a real output's input)
    wt = np.zeros((geo.offs.size, Op), np.float32)
    wt[:, :O] = w.reshape(O, -1).T
    bp = np.zeros(Op, np.float32)
    if bias is not None:
        bp[:O] = bias
    y = np.empty((N, O) + plan.out, np.float32)
    rows = y.reshape(N, O, P)
    chunk = max(1, _CHUNK_BYTES // (P * Op * 4))

    def work(lo, hi):
        plan.fill_planes(buf, x, lo, hi)
        yt = np.empty((min(chunk, hi - lo), P, Op), np.float32)
        for s in range(lo, hi, chunk):
            e = min(s + chunk, hi)
            K.forward_channels(buf[s * geo.CP:], geo.CP, wt, bp, geo.offs, yt[:e - s], geo.pos, e - s)
            rows[s:e] = yt[:e - s, :, :O].transpose(0, 2, 1)

    for_batch_slabs(N, work, N * Op * P)
    return y, ("grid", buf)


def _weight_grad_channels(K, x, gy, weight_shape, plan, planes=None):
    """dW at stride 1 by the channel-vectorised kernel: gy transposed to channels last (padded to whole
    vector blocks), then each thread computes whole sums for its share of the weight rows -- no partial
    sums to add up, so any layer width fits. ``planes``: the forward's padded planes of x."""
    N, C = x.shape[:2]
    O = gy.shape[1]
    _, (MR, NV) = K.channel_blocking()
    step = NV * K.lanes()
    Op = -(-O // step) * step
    geo = _direct_geometry(K, plan, C)
    P, CK = geo.pos.size, geo.offs.size
    offs = np.concatenate([geo.offs, np.zeros(-CK % MR, np.int64)])   # weight rows padded to the register block
    buf = _planes_or_none(planes, N, C, plan, 1)
    if buf is None:
        buf = plan.flat_planes(N, C, 1, np.float32)
        for_batch_slabs(N, lambda lo, hi: plan.fill_planes(buf, x, lo, hi), x.size)
    gt = np.zeros((N, P, Op), np.float32) if Op != O else np.empty((N, P, O), np.float32)
    src = gy.reshape(N, O, P)
    for_batch_slabs(N, lambda lo, hi: np.copyto(gt[lo:hi, :, :O], src[lo:hi].transpose(0, 2, 1)), gt.size)
    dwt = np.empty((offs.size, Op), np.float32)

    def work(lo, hi):                    # blocks lo:hi of MR weight rows
        K.weight_grad_channels(gt, buf, geo.CP, offs[lo * MR:hi * MR], dwt[lo * MR:hi * MR], geo.pos, N)

    for_batch_slabs(offs.size // MR, work, gt.size * offs.size // MR)
    return np.ascontiguousarray(dwt[:CK, :O].T).reshape(weight_shape)


def _input_grad_on_grid(gy, w, in_spatial, pads, dilation):
    """dx = C_W^T(gy) at stride 1 as the adjoint of the forward's grid columns, chunk by chunk: spread gy[n]
    onto the padded grid (zeros at the thrown-away positions), dcols = W^T gy (C*K, L) by one GEMM, then for
    each kernel offset add its row block to the padded planes -- one contiguous run per channel, as the
    forward's copy reads them. Each plane has its own slack for the runs' overhang, so threads never touch
    each other's memory. The junk columns of dcols are exactly zero (W finite: checked by the caller), so what
    they add changes nothing."""
    N, O = gy.shape[:2]
    C, nd = w.shape[1], len(in_spatial)
    plan = _ColumnPlan((N, C) + tuple(in_spatial), gy.itemsize, w.shape[2:], (1,) * nd, pads, dilation)
    sp, L, K = plan.grid, plan.L, math.prod(w.shape[2:])
    offsets = plan.offsets()
    P = math.prod(sp)
    plane = max(P, max(offsets) + L)
    gxp = np.zeros((N, C, plane), gy.dtype)
    wt = np.ascontiguousarray(w.reshape(O, C * K).T.astype(gy.dtype, copy=False))      # (C*K, O)
    chunk = max(1, _CHUNK_BYTES // (C * K * L * gy.itemsize))

    def work(lo, hi):
        n = min(chunk, hi - lo)
        spread = np.zeros((n, O, L), gy.dtype)
        dcols = np.empty((n, C * K, L), gy.dtype)
        for s in range(lo, hi, chunk):
            e = min(s + chunk, hi)
            g, d = spread[:e - s], dcols[:e - s]
            plan.valid(g)[...] = gy[s:e]
            np.matmul(wt, g, out=d)
            d4 = d.reshape(e - s, C, K, L)
            for k, off in enumerate(offsets):
                gxp[s:e, :, off:off + L] += d4[:, :, k]

    _gemm_slabs(N, work, N * C * K * L)
    planes = gxp[:, :, :P].reshape((N, C) + sp)
    return np.ascontiguousarray(planes[(slice(None), slice(None)) +
                                       tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, in_spatial))])


def conv_forward(x, w, stride, pads, dilation, groups, bias=None):
    """y[n, o] = sum_{c, k} W[o, c, k] * xpad[n, c, o*s + k*d] (+ b[o])  (per group): one (batched) matmul.

    Returns y and the columns (kept for the weight gradient): ``("t", cols)`` in the (C*K, N*L) layout of
    :func:`im2col_t` when groups == 1, else (N, C*K, L) from :func:`im2col`."""
    N = x.shape[0]
    O = w.shape[0]
    L = math.prod(conv_output_size(x.shape[2 + i], w.shape[2 + i], stride[i], pads[i][0], pads[i][1], dilation[i])
                  for i in range(len(stride)))
    direct = _direct_route(x, w.shape, w.dtype, stride, pads, dilation, groups)
    if direct is not None:
        route, K, plan = direct
        return (_conv_direct if route == "rows" else _conv_channels)(K, x, w, plan, bias)
    wino = winograd.usable(x, w.shape, stride, dilation, groups, pads)
    if _per_sample(x, groups, L) and w.dtype == x.dtype and not wino:
        return _conv_per_sample(x, w, stride, pads, dilation, bias)
    if wino:                                                          # 3x3, stride 1: 2.25x fewer multiplies
        y, cols = winograd.conv3x3(x, w, pads), None
    elif groups == 1:
        c, out = im2col_t(x, w.shape[2:], stride, pads, dilation)     # (C*K, N*L)
        y = _to_rows(w.reshape(O, -1) @ c, N, O, math.prod(out)).reshape((N, O) + tuple(out))
        cols = ("t", c)
    else:
        cols, out = im2col(x, w.shape[2:], stride, pads, dilation)    # (N, C*K, L)
        G = groups
        CK = cols.shape[1] // G
        y = (w.reshape(G, O // G, CK) @ cols.reshape(N, G, CK, -1)).reshape((N, O) + tuple(out))  # (N, G, O/G, L)
    if bias is not None:
        y += bias.reshape((-1,) + (1,) * (y.ndim - 2))
    return y, cols


def conv_input_grad(gy, w, in_spatial, stride, pads, dilation, groups):
    """C_W^T(gy): columns W^T gy, then col2im.  Also the forward of a transposed convolution."""
    gy = array_module(gy).ascontiguousarray(gy)     # e.g. the expanded gradient of .sum(): BLAS needs strides
    N, O = gy.shape[:2]
    out = gy.shape[2:]
    G = groups
    C = w.shape[1] * G
    CK = w.shape[1] * math.prod(w.shape[2:])
    L = math.prod(out)
    nd = len(w.shape) - 2
    tpads = [((k - 1) * d - lo, (k - 1) * d - hi) for (lo, hi), k, d in zip(pads, w.shape[2:], dilation)]
    direct = all(st == 1 for st in stride) and all(lo >= 0 and hi >= 0 for lo, hi in tpads) and \
        _direct_route(gy, (C, O) + tuple(w.shape[2:]), w.dtype, stride, tpads, dilation, G) is not None
    if G == 1 and all(st == 1 for st in stride) and 2 * O >= 5 * C and _per_sample(gy, G, math.prod(in_spatial)) \
            and not direct \
            and w.dtype == gy.dtype and all(lo >= 0 and hi >= 0 for lo, hi in pads) and bool(np.isfinite(w).all()) \
            and (any(k > 1 for k in w.shape[2:]) or any(lo or hi for lo, hi in pads)):      # (1x1: W^T gy below)
        # a layer that widens 2.5x or more: the adjoint of the grid columns beats both routes below (measured
        # on two cores: 6 -> 16 channels at 14x14, 5x5: 1.17 vs 1.39 ms; 16 -> 64 at 28x28: 8.7 vs 10.1;
        # 3 -> 64 at 32x32: 3.3 vs 4.3), but not at 2x (16 -> 32 at 14x14: 1.8 vs 1.6)
        return _input_grad_on_grid(gy, w, in_spatial, pads, dilation)
    if G == 1 and all(st == 1 for st in stride) and (O <= C or direct or
                                                     (O <= 8 * C and _per_sample(gy, G, math.prod(in_spatial))) or
                                                     winograd.usable(gy, (C, O) + tuple(w.shape[2:]), stride,
                                                                     dilation, G, tpads)):
        # stride 1: C_W^T is itself a convolution -- of gy with the kernel flipped and its in/out channels
        # swapped, padded by d*(k-1) - pad: Winograd's where it applies; else im2col of gy (O*K rows) + a
        # GEMM. Streamed per sample (chunks in cache) that beats W^T gy + col2im's strided adds even where the
        # layer widens up to 8x (measured on two cores: 16 -> 32 channels at 14x14 1.5 vs 2.1 ms, 16 -> 64 at
        # 28x28 10.0 vs 12.0; but 3 -> 64 at 32x32 9.2 vs 4.1: gy's columns are 21x what col2im adds); as one
        # batch-wide column matrix it only wins when O <= C (col2im's buffer, C*K rows, is then the bigger one).
        if all(lo >= 0 and hi >= 0 for lo, hi in tpads):
            wt = array_module(w).ascontiguousarray(
                w.swapaxes(0, 1)[(slice(None), slice(None)) + (slice(None, None, -1),) * nd])
            y, _ = conv_forward(gy, wt, (1,) * nd, tpads, dilation, 1)
            if tuple(y.shape[2:]) == tuple(in_spatial):
                return y
    if G == 1:                                                   # (C*K, O) @ (O, N*L): one GEMM
        dcols = w.reshape(O, CK).T @ _from_rows(gy, N, O, L)
        return col2im_t(dcols, (N, C) + tuple(in_spatial), w.shape[2:], stride, pads, dilation, out)
    if O == G:        # depthwise: each group has one filter, so W^T gy is an outer product — broadcast it
        dcols = w.reshape(1, G, CK, 1) * gy.reshape(N, G, 1, L)
    else:
        dcols = w.reshape(G, O // G, CK).transpose(0, 2, 1) @ gy.reshape(N, G, O // G, L)
    return col2im(dcols.reshape(N, G * CK, L), C, in_spatial, w.shape[2:], stride, pads, dilation, out)


def conv_weight_grad(x, gy, weight_shape, stride, pads, dilation, groups, cols=None):
    """dW[o, c, k] = sum_{n, l} gy[n, o, l] * cols[n, c*K + k, l]  (per group)."""
    gy = array_module(gy).ascontiguousarray(gy)
    N, O = gy.shape[:2]
    direct = _direct_route(x, weight_shape, gy.dtype, stride, pads, dilation, groups, weight_grad=True) \
        if gy.dtype == x.dtype else None
    if direct is not None:
        route, K, plan = direct
        planes = cols[1] if isinstance(cols, tuple) and cols[0] == "grid" else None
        dw = (_weight_grad_direct if route == "rows" else _weight_grad_channels)(K, x, gy, weight_shape, plan, planes)
        if dw is not None:
            return dw
    if winograd.usable(x, weight_shape, stride, dilation, groups, pads):
        return winograd.conv3x3_weight_grad(x, gy, pads)
    if _per_sample(x, groups, math.prod(gy.shape[2:])) and gy.dtype == x.dtype:
        return _weight_grad_per_sample(x, gy, weight_shape, stride, pads, dilation)
    if groups == 1:                                              # (O, N*L) @ (N*L, C*K): one GEMM
        if not (isinstance(cols, tuple) and cols[0] == "t"):
            cols = ("t", im2col_t(x, weight_shape[2:], stride, pads, dilation)[0])
        cols = cols[1]
        return (_from_rows(gy, N, O, cols.shape[1] // N) @ cols.T).reshape(weight_shape)
    if cols is None or isinstance(cols, tuple):
        cols, _ = im2col(x, weight_shape[2:], stride, pads, dilation)
    G = groups
    CK = cols.shape[1] // G
    L = cols.shape[2]
    # one (O x L)(L x CK) product per sample, then a sum over the batch: BLAS reads the
    # transposed columns in place, so nothing of size cols is copied
    if G == 1:
        gw = (gy.reshape(N, O, L) @ cols.transpose(0, 2, 1)).sum(axis=0)                     # (O, CK)
    else:
        gw = (gy.reshape(N, G, O // G, L) @ cols.reshape(N, G, CK, L).transpose(0, 1, 3, 2)).sum(axis=0)
    return gw.reshape(weight_shape)


# ----------------------------------------------------------------------------- convolution
_KEEP_COLS_BYTES = 1 << 20   # columns up to 1 MiB stay on ctx for the weight gradient (rebuilding them costs a
                              # pass, keeping them memory: a small CNN step's peak grew 1.3x with 16 MiB)


def _keep_cols(cols, x):
    if cols is None:                                  # (Winograd forward: no columns)
        return False
    c = cols[1] if isinstance(cols, tuple) else cols
    return c.nbytes <= max(_KEEP_COLS_BYTES, 2 * x.nbytes)


class Convolution(Function):
    """y = conv(x, W) + b   (or, transposed, y = C_W^T(x) + b).

    Backward:  dx = C_W^T(dy)   [transposed: C_W(dy)]
               dW = WeightGrad(x, dy)   [transposed: WeightGrad(dy, x)]
               db = dy summed over batch and spatial dims
    Both are written with the same Functions, so double backward works.
    """
    _grad_fn_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, stride, pads, dilation, groups, transposed, out_spatial):
        X, W = x._data, weight._data
        if transposed:
            y = conv_input_grad(X, W, out_spatial, stride, pads, dilation, groups)
            ctx.cols = None
        else:
            y, cols = conv_forward(X, W, stride, pads, dilation, groups, None if bias is None else bias._data)
            # The columns are K times the input (9x for 3x3): keeping them until backward made a ResNet step's
            # peak memory 2.6x torch's, so the weight gradient rebuilds them (one copy) unless they are small.
            ctx.cols = cols if ctx.needs_input_grad[1] and _keep_cols(cols, X) else None
        if bias is not None and transposed:
            y += bias._data.reshape((-1,) + (1,) * (y.ndim - 2))
        # bfloat16: ``@`` accumulated in float32 (NumPy has no bfloat16 kernels), bias added in float32,
        # now one rounding as torch's kernels do. Gradients come back float32; the engine rounds them.
        y = y.astype(X.dtype, copy=False)
        ctx.save_for_backward(x, weight)
        ctx.params = (stride, pads, dilation, groups, transposed)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        stride, pads, dilation, groups, transposed = ctx.params
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = Convolution.apply(gy, w, None, stride, pads, dilation, groups, not transposed,
                                   tuple(x.shape[2:]))
        if ctx.needs_input_grad[1]:
            if transposed:
                gw = ConvolutionWeightGrad.apply(gy, x, tuple(w.shape), stride, pads, dilation, groups, None)
            else:
                gw = ConvolutionWeightGrad.apply(x, gy, tuple(w.shape), stride, pads, dilation, groups, ctx.cols)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gy.sum(dim=(0,) + tuple(range(2, gy.dim())))
        return gx, gw, gb, None, None, None, None, None, None


class ConvolutionWeightGrad(Function):
    """dW = WeightGrad(x, dy) — bilinear in (x, dy), so its own derivatives are convolutions:
    d/dx = C_{ggW}^T(dy),  d/d(dy) = C_{ggW}(x)."""
    _grad_fn_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, gy, weight_shape, stride, pads, dilation, groups, cols):
        ctx.save_for_backward(x, gy)
        ctx.params = (stride, pads, dilation, groups)
        return conv_weight_grad(x._data, gy._data, weight_shape, stride, pads, dilation, groups, cols)

    @staticmethod
    def backward(ctx, ggw):
        x, gy = ctx.saved_tensors
        stride, pads, dilation, groups = ctx.params
        gx = ggy = None
        if ctx.needs_input_grad[0]:
            gx = Convolution.apply(gy, ggw, None, stride, pads, dilation, groups, True, tuple(x.shape[2:]))
        if ctx.needs_input_grad[1]:
            ggy = Convolution.apply(x, ggw, None, stride, pads, dilation, groups, False, None)
        return gx, ggy, None, None, None, None, None, None


# ----------------------------------------------------------------------------- im2col / col2im
class Im2Col(Function):
    """cols = unfold(x): (N, C, *in) -> (N, C*K, L).  Backward: dx = fold(dcols) (col2im)."""
    _grad_fn_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation):
        cols, out = im2col(x._data, kernel, stride, pads, dilation)
        ctx.params = (x.shape[1], tuple(x.shape[2:]), kernel, stride, pads, dilation)
        return cols                              # a fresh buffer (im2col always copies)

    @staticmethod
    def backward(ctx, g):
        C, in_spatial, kernel, stride, pads, dilation = ctx.params
        return Col2Im.apply(g, C, in_spatial, kernel, stride, pads, dilation), None, None, None, None


class Col2Im(Function):
    """x = fold(cols): (N, C*K, L) -> (N, C, *out), summing overlaps.  Backward: dcols = unfold(dx)."""
    _grad_fn_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, channels, out_spatial, kernel, stride, pads, dilation):
        nd = len(kernel)
        L_out = [conv_output_size(out_spatial[i], kernel[i], stride[i], pads[i][0], pads[i][1], dilation[i])
                 for i in range(nd)]
        ctx.params = (kernel, stride, pads, dilation)
        return col2im(cols._data, channels, out_spatial, kernel, stride, pads, dilation, L_out)

    @staticmethod
    def backward(ctx, g):
        kernel, stride, pads, dilation = ctx.params
        return Im2Col.apply(g, kernel, stride, pads, dilation), None, None, None, None, None, None


# ----------------------------------------------------------------------------- max pooling
def _max_pool_flat_indices(masks, kernel, stride, pads, dilation, in_sp, out):
    """Flat index (within the unpadded input plane) of each window's max, from the offset masks."""
    xp = array_module(masks[0])
    nd = len(kernel)
    inner = [math.prod(in_sp[i + 1:]) for i in range(nd)]
    flat = xp.zeros(masks[0].shape, dtype=xp.int64)
    for kidx, m in zip(itertools.product(*[range(k) for k in kernel]), masks):
        delta = sum(kidx[i] * dilation[i] * inner[i] for i in range(nd))
        if delta:
            flat += m * delta
    for i in range(nd):                   # + the flat index of each window's first element
        shape = [1] * flat.ndim
        shape[2 + i] = out[i]
        o = xp.arange(out[i], dtype=xp.int64).reshape(shape)
        flat += (o * stride[i] - pads[i][0]) * inner[i]
    return flat


class MaxPoolNd(Function):
    """y = max over each window; indices = flat position of the max in the (unpadded) input plane.

    Backward: dx = scatter of dy to the argmax positions (summed where windows share a max).
    """
    _grad_fn_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation, indices_out=None):
        X = x._data
        xp = array_module(X)
        nd = len(kernel)
        in_sp = X.shape[2:]
        out = [conv_output_size(in_sp[i], kernel[i], stride[i], pads[i][0], pads[i][1], dilation[i])
               for i in range(nd)]
        K = float32_kernels(X, conv_kernels) if nd == 2 and tuple(kernel) == tuple(stride) == (2, 2) and \
            tuple(dilation) == (1, 1) and all(p == (0, 0) for p in pads) else None
        if K is not None:     # compiled (ops/conv_kernels.py): the 2x2 pool in one pass, max and argmax
            return MaxPoolNd._compiled(ctx, K, X, kernel, stride, pads, dilation, out, indices_out)
        fill = -xp.inf if X.dtype.kind in "fV" else xp.iinfo(X.dtype).min
        xpad = _pad_array(X, pads, fill)
        offsets = list(itertools.product(*[range(k) for k in kernel]))
        N = X.shape[0]
        best = xp.empty(X.shape[:2] + tuple(out), dtype=X.dtype)
        masks = [xp.empty(best.shape, dtype=bool) for _ in offsets]

        # which window entries lie inside the input (not in the padding), per kernel offset
        inside = _pad_array(xp.ones((1, 1) + tuple(in_sp), dtype=bool), pads, False)
        inside = [inside[(slice(None), Ellipsis) + _offset_slices(k, stride, dilation, out)] for k in offsets]

        def work(lo, hi):
            views = [xpad[(slice(lo, hi), Ellipsis) + _offset_slices(k, stride, dilation, out)] for k in offsets]
            b = best[lo:hi]
            # 1. the max: a running elementwise maximum over the K kernel offsets (NaN propagates)
            b[...] = views[0]
            for v in views[1:]:
                xp.maximum(b, v, out=b)
            # 2. where it was, by torch's rule (a later entry wins only if greater, or NaN): the first
            #    in-bounds offset, in scan order, whose value equals the max ...
            found = None
            for v, m, ins in zip(views, masks, inside):
                eq = m[lo:hi]
                xp.equal(v, b, out=eq)
                eq &= ins
                if found is None:
                    found = eq.copy()
                else:
                    eq &= ~found
                    found |= eq
            # ... and in a window holding NaN (the max is NaN, nothing equals it) the last NaN
            if X.dtype.kind in "fV" and bool(xp.isnan(b).any()):
                taken = xp.isnan(b)
                for v, m, ins in zip(views[::-1], masks[::-1], inside[::-1]):
                    last = xp.isnan(v) & ins & taken
                    m[lo:hi] |= last
                    taken &= ~last

        for_batch_slabs(N, work, xpad.size, xp)
        ctx.masks = masks
        ctx.params = (tuple(X.shape), kernel, stride, pads, dilation, out)
        if indices_out is not None:        # the caller asked for return_indices
            indices_out.append(_max_pool_flat_indices(masks, kernel, stride, pads, dilation, in_sp, out))
        return best

    @staticmethod
    def _compiled(ctx, K, X, kernel, stride, pads, dilation, out, indices_out):
        """The 2x2 / stride 2 forward as one compiled loop over (sample, channel) planes, on every core. Keeps
        one byte per window (which of its four entries was the max: row*2 + col) instead of the per-offset
        masks; torch's ``indices`` are made from it only when asked for."""
        N, C, H, W = X.shape
        x3 = np.ascontiguousarray(X).reshape(N * C, H, W)
        y = np.empty((N * C,) + tuple(out), X.dtype)
        code = np.empty(y.shape, np.uint8)
        for_batch_slabs(N * C, lambda lo, hi: K.max_pool2x2_forward(x3, y, code, lo, hi), X.size)
        ctx.masks = code.reshape((N, C) + tuple(out))
        ctx.params = (tuple(X.shape), kernel, stride, pads, dilation, out)
        if indices_out is not None:
            indices_out.append(_window_codes_to_indices(ctx.masks, W))
        return y.reshape((N, C) + tuple(out))

    @staticmethod
    def backward(ctx, gy):
        gx = MaxPoolScatter.apply(gy, ctx.masks, *ctx.params)
        return gx, None, None, None, None, None


def _window_codes_to_indices(code, W):
    """torch's ``indices`` (flat position in the H x W plane) from the 2x2 pool's codes (row*2 + col)."""
    OH, OW = code.shape[-2:]
    base = 2 * W * np.arange(OH).reshape(OH, 1) + 2 * np.arange(OW)
    c = code.astype(np.int64)
    return base + (c >> 1) * W + (c & 1)


class MaxPoolScatter(Function):
    """dx[argmax] += dy (linear in dy).  Backward: d(dy) = the gradient gathered at the argmax."""
    _grad_fn_name = "MaxPool2DWithIndicesBackwardBackward0"

    @staticmethod
    def forward(ctx, gy, masks, shape, kernel, stride, pads, dilation, out):
        """``masks``: the per-offset window masks of MaxPoolNd's NumPy path, or (compiled 2x2 path) one uint8
        code per window saying where its max sat."""
        G = gy._data
        xp = array_module(G)
        nd = len(kernel)
        ctx.masks = masks
        ctx.params = (shape, kernel, stride, pads, dilation, out)
        if not isinstance(masks, list):
            P = math.prod(shape[:2])
            g3 = np.ascontiguousarray(G).reshape((P,) + tuple(out))
            K = float32_kernels(g3, conv_kernels, any_size=True)
            if K is not None:
                gx = np.empty((P,) + tuple(shape[2:]), G.dtype)
                c3 = masks.reshape(g3.shape)
                for_batch_slabs(P, lambda lo, hi: K.max_pool2x2_backward(g3, c3, gx, lo, hi), gx.size)
            else:            # (not float32) the same scatter, by NumPy
                gx = np.zeros((P, math.prod(shape[2:])), G.dtype)
                idx = _window_codes_to_indices(masks, shape[-1]).reshape(g3.shape)
                np.add.at(gx, (np.arange(P).reshape((P,) + (1,) * nd), idx), g3)
            return gx.reshape(shape)
        padded = [shape[2 + i] + pads[i][0] + pads[i][1] for i in range(nd)]
        gx = xp.zeros(tuple(shape[:2]) + tuple(padded), dtype=G.dtype)

        def work(lo, hi):
            for kidx, m in zip(itertools.product(*[range(k) for k in kernel]), masks):
                gx[(slice(lo, hi), Ellipsis) + _offset_slices(kidx, stride, dilation, out)] += G[lo:hi] * m[lo:hi]

        for_batch_slabs(shape[0], work, gx.size, xp)
        return _pad_array(gx, [(-lo, -hi) for lo, hi in pads])

    @staticmethod
    def backward(ctx, ggx):
        shape, kernel, stride, pads, dilation, out = ctx.params
        flat = _window_codes_to_indices(ctx.masks, shape[-1]) if not isinstance(ctx.masks, list) else \
            _max_pool_flat_indices(ctx.masks, kernel, stride, pads, dilation, shape[2:], out)
        N, C = ggx.shape[:2]
        g = ggx.reshape(N, C, -1).gather(2, wrap(flat.reshape(N, C, -1))).reshape(flat.shape)
        return g, None, None, None, None, None, None, None


def _window_sum(xpad, kernel, stride, out):
    """Sum of every window (stride s, no dilation): K strided adds, batch slabs in parallel."""
    xp = array_module(xpad)
    ones = (1,) * len(kernel)
    acc = xp.empty(xpad.shape[:-len(kernel)] + tuple(out), dtype=xpad.dtype)

    def work(lo, hi):
        a = acc[lo:hi]
        for j, kidx in enumerate(itertools.product(*[range(k) for k in kernel])):
            v = xpad[(slice(lo, hi), Ellipsis) + _offset_slices(kidx, stride, ones, out)]
            if j == 0:
                a[...] = v
            else:
                xp.add(a, v, out=a)

    for_batch_slabs(xpad.shape[0], work, xpad.size, xp)
    return acc


class AvgPoolNd(Function):
    """y = (sum of each window) / divisor — linear, so backward is the adjoint: dx = col2im(dy/divisor)."""
    _grad_fn_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, divisor):
        X = x._data
        nd = len(kernel)
        out = [conv_output_size(X.shape[2 + i], kernel[i], stride[i], pads[i][0], pads[i][1], 1)
               for i in range(nd)]
        y = _window_sum(_pad_array(X, pads), kernel, stride, out)
        y /= divisor
        ctx.params = (tuple(X.shape[2:]), kernel, stride, pads, divisor)
        return y

    @staticmethod
    def backward(ctx, gy):
        in_sp, kernel, stride, pads, divisor = ctx.params
        return AvgPoolNdAdjoint.apply(gy, in_sp, kernel, stride, pads, divisor), None, None, None, None


class AvgPoolNdAdjoint(Function):
    """dx = col2im(dy / divisor), each window receiving its share.  Backward: the average pool again."""
    _grad_fn_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, gy, in_sp, kernel, stride, pads, divisor):
        G = gy._data
        xp = array_module(G)
        nd = len(kernel)
        out = G.shape[2:]
        share = G / divisor
        padded = [in_sp[i] + pads[i][0] + pads[i][1] for i in range(nd)]
        gx = xp.zeros(G.shape[:2] + tuple(padded), dtype=G.dtype)

        def work(lo, hi):
            for kidx in itertools.product(*[range(k) for k in kernel]):
                gx[(slice(lo, hi), Ellipsis) + _offset_slices(kidx, stride, (1,) * nd, out)] += share[lo:hi]

        for_batch_slabs(G.shape[0], work, gx.size, xp)
        ctx.params = (kernel, stride, pads, divisor)
        return _pad_array(gx, [(-lo, -hi) for lo, hi in pads])

    @staticmethod
    def backward(ctx, ggx):
        kernel, stride, pads, divisor = ctx.params
        return AvgPoolNd.apply(ggx, kernel, stride, pads, divisor), None, None, None, None, None


# ----------------------------------------------------------------------------- separable linear maps
class AxisLinear(Function):
    """y = M_1 ·_1 M_2 ·_2 ... x : one small matrix applied along each trailing spatial axis.

    Adaptive average pooling, nearest / (bi)linear interpolation and reflect / replicate /
    circular padding are all separable linear maps of this kind (each M_i is (out_i, in_i)).
    Backward: dx = M_1^T ·_1 M_2^T ·_2 ... dy — the same Function with transposed matrices.
    """
    _grad_fn_name = "AxisLinearBackward0"

    @staticmethod
    def forward(ctx, x, mats, name=None):
        y = x._data
        xp = array_module(y)
        nd = len(mats)
        for i, m in enumerate(mats):
            if m is not None:
                axis = y.ndim - nd + i
                y = xp.moveaxis(xp.moveaxis(y, axis, -1) @ m.T, -1, axis)
        ctx.mats = mats
        ctx.label = name
        return xp.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, gy):
        mats_t = tuple(None if m is None else m.T for m in ctx.mats)
        return AxisLinear.apply(gy, mats_t, ctx.label), None, None


def _named(base, name):
    """A subclass of ``base`` whose graph node prints as torch's ``name``."""
    return type(name.replace("Backward0", ""), (base,), {"_grad_fn_name": name})


# ----------------------------------------------------------------------------- constant padding
class ConstantPadNd(Function):
    """y = x surrounded by a constant (negative widths crop).  Backward: dy sliced back (re-padded
    with zeros where x was cropped) — the same Function with negated widths and value 0."""
    _grad_fn_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        return _pad_array(x._data, pads, value).copy()

    @staticmethod
    def backward(ctx, gy):
        return ConstantPadNd.apply(gy, [(-lo, -hi) for lo, hi in ctx.pads], 0.0), None, None
