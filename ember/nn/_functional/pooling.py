"""Pooling functionals: max, average, adaptive, L^p, fractional max pooling and max unpooling, in 1, 2
and 3 dimensions.

A pooling window is a convolution window without weights, so the geometry (``_pool_geometry``: output size,
``ceil_mode``'s extra right padding) is shared, and the 1-d forms run as 2-d pools over (N, C, 1, L), as
torch does.  Max/avg pooling call the window Functions in ``ember/ops/conv.py``; adaptive average pooling
is separable, one small averaging matrix per axis; adaptive and fractional max pooling gather their windows
with Tensor ops, so autograd sends the gradient to each window's maximum.
"""
import math

import numpy as np

from ..._tensor import wrap
from ...device import array_module
from ...ops import conv as _C
from ...creation import zeros as _zeros
from .arguments import _batchify, _ntuple, _shape_str

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d",
    "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]


# ----------------------------------------------------------------------------- max and average pooling
_MaxPool3D = _C._named(_C.MaxPoolNd, "MaxPool3DWithIndicesBackward0")
_AvgPool3D = _C._named(_C.AvgPoolNd, "AvgPool3DBackward0")


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, nd):
    k = _ntuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _ntuple(stride, nd, "stride")
    p = _ntuple(padding, nd, "padding")
    d = _ntuple(dilation, nd, "dilation")
    for i in range(nd):
        if p[i] > (d[i] * (k[i] - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[i]}, "
                               f"kernel_size={k[i]} and dilation={d[i]}")
    out = [_C.pool_output_size(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(nd)]
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size: ({'x'.join(str(v) for v in x.shape[1:])}). Calculated output "
                           f"size: ({'x'.join(str(v) for v in [x.shape[1]] + out)}). Output size is too small")
    # right pad so that exactly `out` windows fit (ceil_mode may need more than p)
    pads = [(p[i], max(p[i], (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - x.shape[2 + i] - p[i]))
            for i in range(nd)]
    return k, s, p, d, pads, out


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, name):
    x, unbatched = _batchify(input, nd, name)
    k, p = _ntuple(kernel_size, nd, "kernel_size"), _ntuple(padding, nd, "padding")
    if any(p[i] > k[i] // 2 for i in range(nd)):      # torch bounds the padding by the kernel, not its dilated span
        if nd == 2:
            msg = f"pad should be smaller than or equal to half of kernel size, but got padW = {p[1]}, " \
                  f"padH = {p[0]}, kW = {k[1]}, kH = {k[0]}"
        else:
            msg = f"pad should be smaller than or equal to half of kernel size, but got kT: {k[0]} kW: {k[2]} " \
                  f"kH: {k[1]} padT: {p[0]} padW: {p[2]} padH: {p[1]}"
        raise RuntimeError(msg)
    k, s, p, d, pads, out = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, nd)
    holder = [] if return_indices else None
    fn = _C.MaxPoolNd if nd == 2 else _MaxPool3D
    y = fn.apply(x, k, s, pads, d, holder)
    if return_indices:
        idx = wrap(holder[0])
        if unbatched:
            return y.squeeze(0), idx.squeeze(0)
        return y, idx
    return y.squeeze(0) if unbatched else y


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each kh x kw window; with return_indices also the flat (h*W + w) argmax positions."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over (N, C, L) — computed, as torch does, as a 2-d pool over (N, C, 1, L)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"max_pool1d() Expected 2D or 3D input tensor, but got {_shape_str(input)}")
    k = _ntuple(kernel_size, 1)
    s = k if stride is None else _ntuple(stride, 1)
    if _ntuple(padding, 1)[0] > k[0] // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                           f"padding={_ntuple(padding, 1)[0]} and kernel_size={k[0]}")
    r = max_pool2d(input.unsqueeze(-2), (1,) + k, (1,) + s, (0,) + _ntuple(padding, 1),
                   (1,) + _ntuple(dilation, 1), ceil_mode, return_indices)
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd, name):
    x, unbatched = _batchify(input, nd, name)
    k, s, p, d, pads, out = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, nd)
    xp = array_module(x._data)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        divisor = float(divisor_override)
    else:
        # divisor = number of counted cells under each window: pool a 0/1 mask of the padded plane
        in_sp = x.shape[2:]
        mask = xp.zeros(tuple(in_sp[i] + pads[i][0] + pads[i][1] for i in range(nd)), dtype=x._data.dtype)
        if count_include_pad:
            region = tuple(slice(0, in_sp[i] + 2 * p[i]) for i in range(nd))
        else:
            region = tuple(slice(p[i], p[i] + in_sp[i]) for i in range(nd))
        mask[region] = 1
        divisor = _C._window_sum(mask[None, None], k, s, out)
        if float(divisor.min()) == float(divisor.max()):
            divisor = float(divisor.reshape(-1)[0])
    fn = _C.AvgPoolNd if nd == 2 else _AvgPool3D
    y = fn.apply(x, k, s, pads, divisor)
    return y.squeeze(0) if unbatched else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window (padding zeros counted unless count_include_pad=False)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                     2, "avg_pool2d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean pooling over (N, C, L), as a 2-d pool over (N, C, 1, L) like torch."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"avg_pool1d() Expected 2D or 3D input tensor, but got {_shape_str(input)}")
    k = _ntuple(kernel_size, 1)
    s = k if stride is None else _ntuple(stride, 1)
    return avg_pool2d(input.unsqueeze(-2), (1,) + k, (1,) + s, (0,) + _ntuple(padding, 1), ceil_mode,
                      count_include_pad).squeeze(-2)


# 3-d: the window machinery above is n-dimensional, these only fix nd = 3
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each kd x kh x kw window of (N, C, D, H, W); indices are flat (d*H*W + h*W + w)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each kd x kh x kw window of (N, C, D, H, W)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                     3, "avg_pool3d")


# ----------------------------------------------------------------------------- adaptive pooling
def _adaptive_bounds(n_in, n_out):
    o = np.arange(n_out)
    start = (o * n_in) // n_out
    end = -((-(o + 1) * n_in) // n_out)
    return start, end


def _adaptive_matrix(n_in, n_out, dtype, xp):
    """(n_out, n_in) averaging matrix of torch's adaptive windows [floor(i*in/out), ceil((i+1)*in/out))."""
    start, end = _adaptive_bounds(n_in, n_out)
    j = np.arange(n_in)
    m = ((j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])) / (end - start)[:, None]
    return xp.asarray(m.astype(dtype))


_AdaptiveAvgPool2D = _C._named(_C.AxisLinear, "AdaptiveAvgPool2DBackward0")


def _adaptive_sizes(x, output_size, nd):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise ValueError(f"adaptive pool output_size must have {nd} elements, got {len(output_size)}")
        sizes = tuple(x.shape[x.dim() - nd + i] if o is None else int(o) for i, o in enumerate(output_size))
    else:
        sizes = (int(output_size),) * nd
    return sizes


def adaptive_avg_pool2d(input, output_size):
    """Average over torch's adaptive windows; separable, so one small matrix per spatial axis."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {_shape_str(input)}")
    sizes = _adaptive_sizes(input, output_size, 2)
    xp = array_module(input._data)
    mats = tuple(_adaptive_matrix(input.shape[-2 + i], sizes[i], input._data.dtype, xp) for i in range(2))
    return _AdaptiveAvgPool2D.apply(input, mats)


def adaptive_avg_pool1d(input, output_size):
    """Adaptive average over (N, C, L) (as a 2-d pool over (N, C, 1, L), like torch)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got {_shape_str(input)}")
    sizes = _adaptive_sizes(input, output_size, 1)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, sizes[0])).squeeze(-2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over torch's adaptive windows.  Each window is gathered (padded to the largest window with
    -inf) and reduced with Tensor ops, so autograd routes the gradient to the max."""
    sizes = _adaptive_sizes(input, output_size, 2)
    x = input
    H, W = x.shape[-2], x.shape[-1]
    idx, valid = [], []
    for n_in, n_out in ((H, sizes[0]), (W, sizes[1])):
        start, end = _adaptive_bounds(n_in, n_out)
        kmax = int((end - start).max())
        ii = start[:, None] + np.arange(kmax)[None, :]
        valid.append(ii < end[:, None])
        idx.append(np.minimum(ii, n_in - 1))
    xp = array_module(x._data)
    ih = wrap(xp.asarray(idx[0].reshape(-1)))
    iw = wrap(xp.asarray(idx[1].reshape(-1)))
    g = x.index_select(-2, ih).index_select(-1, iw)            # (..., OH*kh, OW*kw)
    lead = tuple(x.shape[:-2])
    oh, kh = idx[0].shape
    ow, kw = idx[1].shape
    g = g.reshape(lead + (oh, kh, ow, kw))
    ok = valid[0][:, :, None, None] & valid[1][None, None, :, :]
    neg = np.where(ok, 0.0, -np.inf).astype(x._data.dtype)
    g = g + wrap(xp.asarray(neg))
    g = g.transpose(-3, -2).reshape(lead + (oh, ow, kh * kw))
    y, arg = g.max(dim=-1)
    if not return_indices:
        return y
    a = arg._data
    ah, aw = a // kw, a % kw
    hh = xp.asarray(idx[0])[xp.arange(oh)[:, None], ah]
    ww = xp.asarray(idx[1])[xp.arange(ow)[None, :], aw]
    return y, wrap((hh * W + ww).astype(xp.int64))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    sizes = _adaptive_sizes(input, output_size, 1)
    r = adaptive_max_pool2d(input.unsqueeze(-2), (1, sizes[0]), return_indices)
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


_AdaptiveAvgPool3D = _C._named(_C.AxisLinear, "AdaptiveAvgPool3DBackward0")


def adaptive_avg_pool3d(input, output_size):
    """Average over torch's adaptive windows in D, H and W (separable: one small matrix per axis)."""
    if input.dim() not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {_shape_str(input)}")
    sizes = _adaptive_sizes(input, output_size, 3)
    xp = array_module(input._data)
    mats = tuple(_adaptive_matrix(input.shape[-3 + i], sizes[i], input._data.dtype, xp) for i in range(3))
    return _AdaptiveAvgPool3D.apply(input, mats)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over adaptive 3-d windows. A max over a box is a max over D of maxes over (H, W): the 2-d pool
    runs on every depth slice, then a 1-d pool runs along D; the flat index d*H*W + (h*W + w) is
    assembled from the two argmaxes."""
    if input.dim() not in (4, 5):
        raise RuntimeError(f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got {_shape_str(input)}")
    od, oh, ow = _adaptive_sizes(input, output_size, 3)
    H, W = input.shape[-2], input.shape[-1]
    y2, i2 = adaptive_max_pool2d(input, (oh, ow), True)           # (..., D, oh, ow)
    y, a = adaptive_max_pool1d(y2.movedim(-3, -1), od, True)       # (..., oh, ow, od): a indexes D
    y = y.movedim(-1, -3)
    if not return_indices:
        return y
    hw = i2.movedim(-3, -1).gather(-1, a)                           # the (h*W + w) of the chosen slice
    return y, (a * (H * W) + hw).movedim(-1, -3)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


# ----------------------------------------------------------------------------- L^p pooling
def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd):
    """(sum over the window of x^p)^(1/p): an average pool of x^p times the window size, as torch computes it."""
    k = _ntuple(kernel_size, nd, "kernel_size")
    pool = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}[nd]
    out = pool(input.pow(norm_type), k, stride, 0, ceil_mode)
    from ..functional import relu
    return (out.sign() * relu(out.abs())).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, L): p = 1 is sum pooling, p = inf is max pooling."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, H, W)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, D, H, W)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


# ----------------------------------------------------------------------------- unpooling
def _unpool_size(x, kernel_size, stride, padding, output_size, nd):
    k = _ntuple(kernel_size, nd, "kernel_size")
    s = k if stride is None else _ntuple(stride, nd, "stride")
    p = _ntuple(padding, nd, "padding")
    default = [(x.shape[-nd + i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(nd)]
    if output_size is None:
        return default
    output_size = list(output_size)
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    elif len(output_size) == nd + 1:
        output_size = output_size[1:]
    if len(output_size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                         f"length of '{len(output_size)}'")
    for i in range(nd):
        lo, hi = default[i] - s[i], default[i] + s[i]
        if not lo < output_size[i] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {i} must be between {lo} and {hi})')
    return output_size


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd):
    """Put each value back where ``max_pool`` found it (``indices``), zeros elsewhere: a scatter into the
    flattened output plane, so the gradient flows back to exactly those positions."""
    out_sp = _unpool_size(input, kernel_size, stride, padding, output_size, nd)
    unbatched = input.dim() == nd + 1
    x, idx = (input.unsqueeze(0), indices.unsqueeze(0)) if unbatched else (input, indices)
    n, c = x.shape[0], x.shape[1]
    plane = math.prod(out_sp)
    flat_idx = idx.reshape(n, c, -1)
    if flat_idx.numel() and (int(flat_idx.min()) < 0 or int(flat_idx.max()) >= plane):
        raise RuntimeError(f"Found an invalid max index: {int(flat_idx.max())} (output volumes are of size "
                           f"{'x'.join(str(v) for v in out_sp)}")
    zeros = _zeros((n, c, plane), dtype=x.dtype, device=x.device)
    y = zeros.scatter(2, flat_idx, x.reshape(n, c, -1)).reshape((n, c) + tuple(out_sp))
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d: maxima back at their positions, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d (indices are the flat h*W + w positions it returned)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool3d."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# ----------------------------------------------------------------------------- fractional max pooling
def _fractional_starts(samples, n_in, n_out, k, dtype):
    """torch's pseudo-random window starts: alpha = (in - k) / (out - 1); start_i = int((i + u) * alpha) -
    int(u * alpha), the last window flush with the end. ``samples`` (N, C) are the u in [0, 1), one per plane
    (computed in the input's float type, as torch does, so the windows are the same)."""
    u = samples.astype(dtype)[..., None]
    starts = np.empty(samples.shape + (n_out,), dtype=np.int64)
    if n_out > 1:
        alpha = dtype.type(n_in - k) / dtype.type(n_out - 1)
        i = np.arange(n_out - 1, dtype=dtype)
        starts[..., :-1] = ((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    if n_out > 0:
        starts[..., -1] = n_in - k
    return starts


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, nd, name):
    x, unbatched = _batchify(input, nd, name)
    k = _ntuple(kernel_size, nd, "kernel_size")
    sp = tuple(x.shape[2:])
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
        ratio = tuple(output_ratio) if isinstance(output_ratio, (list, tuple)) else (output_ratio,) * nd
        output_size = tuple(int(sp[i] * ratio[i]) for i in range(nd))
    out = _ntuple(output_size, nd, "output_size")
    axes = ("time", "height", "width")[3 - nd:]
    for i in range(nd):  # torch's bounds: 2-d allows out + k - 1 == in, 3-d does not
        if out[i] + k[i] - 1 > sp[i] - (nd == 3):
            where = f"{name}()" if nd == 2 else f"{name}_out()"
            raise RuntimeError(f"{where}: pool {axes[i]} {k[i]} too large relative to input {axes[i]} {sp[i]}")
    n, c = x.shape[0], x.shape[1]
    if _random_samples is None:
        from ...creation import rand
        _random_samples = rand(n, c, nd, dtype=x.dtype, device=x.device)
    smp = np.asarray(_random_samples.detach().cpu().numpy() if hasattr(_random_samples, "detach") else
                     _random_samples).reshape(n, c, nd)
    dtype = np.dtype(x._data.dtype) if x.dtype.is_floating_point else np.dtype(np.float32)
    # torch pairs the samples with the axes from the last one: 2-d (W, H), 3-d (T, H, W)
    order = [1, 0] if nd == 2 else [0, 1, 2]
    starts = [_fractional_starts(smp[..., order[i]], sp[i], out[i], k[i], dtype) for i in range(nd)]
    # flat index (into the product of the spatial sizes) of every element of every window
    flat = np.zeros((n, c) + tuple(out) + tuple(k), dtype=np.int64)
    stride = 1
    for i in reversed(range(nd)):
        pos = starts[i][..., :, None] + np.arange(k[i])                      # (N, C, out_i, k_i)
        shape = [n, c] + [1] * nd + [1] * nd
        shape[2 + i], shape[2 + nd + i] = out[i], k[i]
        flat = flat + pos.reshape(shape) * stride
        stride *= sp[i]
    xp = array_module(x._data)
    idx = wrap(xp.asarray(flat.reshape(n, c, -1)))
    windows = x.reshape(n, c, -1).gather(2, idx).reshape((n, c) + tuple(out) + (math.prod(k),))
    y, arg = windows.max(dim=-1)
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    where = wrap(xp.asarray(flat.reshape((n, c) + tuple(out) + (math.prod(k),))))
    ind = where.gather(-1, arg.unsqueeze(-1)).squeeze(-1)
    return y, (ind.squeeze(0) if unbatched else ind)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Max over kh x kw windows placed at pseudo-random, overlapping-or-not starts that shrink the plane to
    ``output_size`` (or ``output_ratio`` of it) -- Graham's fractional max-pooling. ``_random_samples``
    (N, C, 2) in [0, 1) fixes the windows (as in torch); otherwise they are drawn with ``ember.rand``."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2,
                                "fractional_max_pool2d")


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=True, _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Fractional max pooling over (N, C, T, H, W)."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3,
                                "fractional_max_pool3d")


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=True, _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)
