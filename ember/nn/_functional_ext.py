"""Spatial and sequence functionals: convolution, pooling, padding, resampling, unfold/fold and
attention — the ``torch.nn.functional`` twins of the modules in conv.py, pooling.py and
transformer.py.  Each one checks its arguments, normalises them (ints -> tuples, 'same' -> pads)
and calls one Function from ``ember/ops/conv.py`` or ``ember/ops/attention.py``.
"""
import math

import numpy as np

from .._tensor import Tensor, wrap
from ..device import array_module
from ..ops import conv as _C
from ..creation import zeros as _zeros
from ..ops.attention import ScaledDotProductAttention
from ..ops.grid_sample import GridSampler2d, GridSampler3d

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool1d", "adaptive_max_pool2d",
    "pad", "interpolate", "upsample", "unfold", "fold", "pixel_shuffle", "pixel_unshuffle",
    "scaled_dot_product_attention", "multi_head_attention_forward",
    # the 3-d family, L^p pooling, unpooling, channel shuffle
    "conv_transpose3d", "max_pool3d", "max_pool3d_with_indices", "avg_pool3d", "adaptive_avg_pool3d",
    "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d",
    "max_unpool3d", "channel_shuffle", "native_channel_shuffle",
    "grid_sample", "affine_grid",
    "fractional_max_pool2d", "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices", "conv_tbc",
]


# ----------------------------------------------------------------------------- argument helpers
def _ntuple(v, n, name="argument"):
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        v = tuple(int(a) for a in v)
        if len(v) == 1 and n > 1:
            return v * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values "
                               f"to match the convolution dimensions, but got {name}={list(v)}")
        return v
    return (int(v),) * n


def _cname(dtype):
    """torch's C++ name of a dtype, as its error messages print it (float, double, long ...)."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool"}.get(dtype.name, dtype.name)


def _check_conv_dtypes(x, weight, bias):
    if bias is not None and bias.dtype != x.dtype:
        raise RuntimeError(f"Input type ({_cname(x.dtype)}) and bias type ({_cname(bias.dtype)}) should be the same")
    if weight.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype.scalar_name} but found {weight.dtype.scalar_name}")


def _shape_str(t):
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def _batchify(x, nd, opname):
    """Accept (C, *sp) or (N, C, *sp); return the batched tensor and whether to squeeze after."""
    if x.dim() == nd + 1:
        return x.unsqueeze(0), True
    if x.dim() == nd + 2:
        return x, False
    raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {opname}, "
                       f"but got input of size: {_shape_str(x)}")


# ----------------------------------------------------------------------------- convolution
def _conv(input, weight, bias, stride, padding, dilation, groups, nd, name):
    x, unbatched = _batchify(input, nd, name)
    if weight.dim() != nd + 2:
        raise RuntimeError("weight should have at least three dimensions" if nd == 1 else
                           f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input "
                           f"{_shape_str(x)}, but got {weight.dim()}-dimensional weight of size "
                           f"{_shape_str(weight)} instead")
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    k = tuple(weight.shape[2:])
    C = x.shape[1]
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if weight.shape[0] % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {_shape_str(weight)} instead")
    if C != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_str(weight)}, expected input"
                           f"{_shape_str(x)} to have {weight.shape[1] * groups} channels, but got {C} "
                           f"channels instead")
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = []
            for i in range(nd):
                total = dilation[i] * (k[i] - 1)
                pads.append((total // 2, total - total // 2))
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = [(p, p) for p in _ntuple(padding, nd, "padding")]
    padded = [x.shape[2 + i] + pads[i][0] + pads[i][1] for i in range(nd)]
    eff = [dilation[i] * (k[i] - 1) + 1 for i in range(nd)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                           f"Kernel size: ({' x '.join(map(str, eff))}). "
                           "Kernel size can't be greater than actual input size")
    _check_conv_dtypes(x, weight, bias)
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(f"Given weight of size {_shape_str(weight)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {_shape_str(bias)} instead")
    y = _C.Convolution.apply(x, weight, bias, stride, pads, dilation, groups, False, None)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution over (N, C_in, L) with weight (C_out, C_in/groups, k)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution over (N, C_in, H, W) with weight (C_out, C_in/groups, kh, kw).

    ``padding`` is an int, a pair, 'valid' (none) or 'same' (output size = input size; stride 1).
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution over (N, C_in, D, H, W)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nd, name):
    x, unbatched = _batchify(input, nd, name)
    stride = _ntuple(stride, nd, "stride")
    padding = _ntuple(padding, nd, "padding")
    output_padding = _ntuple(output_padding, nd, "output_padding")
    dilation = _ntuple(dilation, nd, "dilation")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(weight)}, expected input"
                           f"{_shape_str(x)} to have {weight.shape[0]} channels, but got {x.shape[1]} "
                           "channels instead")
    for i in range(nd):
        if output_padding[i] >= max(stride[i], dilation[i]):
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding_height: {output_padding[0]} output_padding_width: "
                               f"{output_padding[-1]} stride_height: {stride[0]} stride_width: {stride[-1]} "
                               f"dilation_height: {dilation[0]} dilation_width: {dilation[-1]}")
    _check_conv_dtypes(x, weight, bias)
    k = weight.shape[2:]
    out = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k[i] - 1)
                + output_padding[i] + 1 for i in range(nd))
    pads = [(p, p) for p in padding]
    y = _C.Convolution.apply(x, weight, bias, stride, pads, dilation, groups, True, out)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-d convolution (the adjoint of conv1d); weight (C_in, C_out/groups, k)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-d convolution: out = (in-1)*s - 2p + d*(k-1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


# ----------------------------------------------------------------------------- pooling
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


# ----------------------------------------------------------------------------- padding
_ReflectionPad = {1: _C._named(_C.AxisLinear, "ReflectionPad1DBackward0"),
                  2: _C._named(_C.AxisLinear, "ReflectionPad2DBackward0"),
                  3: _C._named(_C.AxisLinear, "ReflectionPad3DBackward0")}
_ReplicationPad = {1: _C._named(_C.AxisLinear, "ReplicationPad1DBackward0"),
                   2: _C._named(_C.AxisLinear, "ReplicationPad2DBackward0"),
                   3: _C._named(_C.AxisLinear, "ReplicationPad3DBackward0")}
_CircularPad = _C._named(_C.AxisLinear, "CopySlices")


def _index_matrix(src, n_in, dtype, xp):
    """One-hot (len(src), n_in) matrix selecting input position src[i] for output i."""
    m = (src[:, None] == np.arange(n_in)[None, :]).astype(dtype)
    return xp.asarray(m)


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad)//2 dims: pad = (last_lo, last_hi, 2nd_last_lo, 2nd_last_hi, ...).

    'constant' fills with ``value`` (negative widths crop); 'reflect' mirrors without repeating the
    edge, 'replicate' repeats the edge, 'circular' wraps around.
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    n = len(pad) // 2
    if n > input.dim():
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {input.dim()}")
    pairs = [(pad[2 * (n - 1 - i)], pad[2 * (n - 1 - i) + 1]) for i in range(n)]   # first padded dim first
    if mode == "constant":
        return _C.ConstantPadNd.apply(input, pairs, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if not (input.dim() - 1 <= n + 1 <= input.dim() and n <= 3) or input.dim() < 2:
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    xp = array_module(input._data)
    mats = []
    for i, (lo, hi) in enumerate(pairs):
        size = input.shape[input.dim() - n + i]
        j = np.arange(-lo, size + hi)
        if mode == "reflect":
            if lo >= size or hi >= size:
                raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input "
                                   f"dimension, but got: padding ({lo}, {hi}) at dimension "
                                   f"{input.dim() - n + i} of input {_shape_str(input)}")
            src = (size - 1) - np.abs((size - 1) - np.abs(j))
        elif mode == "replicate":
            src = np.clip(j, 0, size - 1)
        else:
            if lo > size or hi > size:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            src = j % size
        mats.append(_index_matrix(src, size, input._data.dtype, xp))
    fn = {"reflect": _ReflectionPad.get(n), "replicate": _ReplicationPad.get(n)}.get(mode, _CircularPad)
    return fn.apply(input, tuple(mats))


# ----------------------------------------------------------------------------- interpolation
_Upsample = {("nearest", 1): _C._named(_C.AxisLinear, "UpsampleNearest1DBackward0"),
             ("nearest", 2): _C._named(_C.AxisLinear, "UpsampleNearest2DBackward0"),
             ("nearest", 3): _C._named(_C.AxisLinear, "UpsampleNearest3DBackward0"),
             ("nearest-exact", 1): _C._named(_C.AxisLinear, "UpsampleNearestExact1DBackward0"),
             ("nearest-exact", 2): _C._named(_C.AxisLinear, "UpsampleNearestExact2DBackward0"),
             ("linear", 1): _C._named(_C.AxisLinear, "UpsampleLinear1DBackward0"),
             ("bilinear", 2): _C._named(_C.AxisLinear, "UpsampleBilinear2DBackward0"),
             ("bicubic", 2): _C._named(_C.AxisLinear, "UpsampleBicubic2DBackward0"),
             ("bilinear-aa", 2): _C._named(_C.AxisLinear, "UpsampleBilinear2DAaBackward0"),
             ("bicubic-aa", 2): _C._named(_C.AxisLinear, "UpsampleBicubic2DAaBackward0"),
             ("trilinear", 3): _C._named(_C.AxisLinear, "UpsampleTrilinear3DBackward0")}


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) weights of 1-d linear interpolation, torch's source-index rule."""
    o = np.arange(n_out, dtype=np.float32)
    if align_corners:
        ratio = np.float32((n_in - 1) / (n_out - 1)) if n_out > 1 else np.float32(0)
        src = o * ratio
    else:
        src = np.maximum((o + np.float32(0.5)) * np.float32(scale) - np.float32(0.5), np.float32(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = (src - i0).astype(np.float32)
    l0 = np.float32(1) - l1
    j = np.arange(n_in)[None, :]
    m = l0[:, None] * (j == i0[:, None]) + l1[:, None] * (j == i1[:, None])
    return m.astype(dtype)


def _cubic_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) weights of torch's bicubic convolution (A = -0.75), edge indices clamped."""
    o = np.arange(n_out, dtype=np.float32)
    if align_corners:
        src = o * (np.float32((n_in - 1) / (n_out - 1)) if n_out > 1 else np.float32(0))
    else:
        src = (o + np.float32(0.5)) * np.float32(scale) - np.float32(0.5)
    x0 = np.floor(src)
    t = np.clip(src - x0, 0, 1).astype(np.float32)
    A = np.float32(-0.75)
    conv1 = lambda v: ((A + 2) * v - (A + 3)) * v * v + 1            # noqa: E731  |v| <= 1
    conv2 = lambda v: ((A * v - 5 * A) * v + 8 * A) * v - 4 * A       # noqa: E731  1 < |v| < 2
    weights = (conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t))
    j = np.arange(n_in)[None, :]
    m = np.zeros((n_out, n_in), np.float32)
    for k, w in enumerate(weights):
        idx = np.clip(x0.astype(np.int64) + k - 1, 0, n_in - 1)
        m += w[:, None] * (j == idx[:, None])
    return m.astype(dtype)


def _antialias_matrix(n_in, n_out, scale, cubic, dtype):
    """(n_out, n_in) weights of torch's anti-aliased resampling: when shrinking, the triangle (or cubic,
    a = -0.5) filter is stretched by the scale so every input pixel contributes; rows sum to 1."""
    support = (2.0 if cubic else 1.0) * (scale if scale >= 1.0 else 1.0)
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    center = scale * (np.arange(n_out) + 0.5)
    xmin = np.maximum((center - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum((center + support + 0.5).astype(np.int64), n_in)
    j = np.arange(n_in)[None, :]
    x = np.abs((j - center[:, None] + 0.5) * invscale)
    if cubic:
        a = -0.5
        w = np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                     np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))
    else:
        w = np.maximum(1 - x, 0.0)
    w = np.where((j >= xmin[:, None]) & (j < xmax[:, None]), w, 0.0)
    total = w.sum(axis=1, keepdims=True)
    return (w / np.where(total == 0, 1, total)).astype(dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims: mode 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' |
    'trilinear' | 'area'; ``antialias=True`` (bilinear, bicubic) low-pass filters when shrinking.

    Every mode is separable, so it is one (out_i, in_i) matrix per axis applied by one Function.
    """
    nd = input.dim() - 2
    if nd < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) "
                         f"for the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
                         f"(got {mode})")
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None else
                         "either size or scale_factor should be defined")
    in_sp = tuple(input.shape[2:])
    if size is not None:
        out = _ntuple(size, nd) if isinstance(size, (list, tuple)) else (int(size),) * nd
        scales = [None] * nd
    else:
        sf = tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (list, tuple)) \
            else (float(scale_factor),) * nd
        if len(sf) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {list(in_sp)} and scale_factor of shape {list(sf)}. "
                             "Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                             "(s1, s2, ...,sK) format.")
        out = tuple(int(math.floor(in_sp[i] * sf[i])) for i in range(nd))
        scales = [None if recompute_scale_factor else sf[i] for i in range(nd)]
    dtype = input._data.dtype
    xp = array_module(input._data)
    if mode == "area":
        mats = tuple(_adaptive_matrix(in_sp[i], out[i], dtype, xp) for i in range(nd))
        fn = _AdaptiveAvgPool2D if nd == 2 else _C._named(_C.AxisLinear, f"AdaptiveAvgPool{nd}DBackward0")
        return fn.apply(input, mats)
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor "
                         "as input")
    key = (mode + ("-aa" if antialias else ""), nd)
    if key not in _Upsample:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                  f"{ {'linear': 3, 'bilinear': 4, 'trilinear': 5}.get(mode, '?') }D input"
                                  if mode in ("linear", "bilinear", "trilinear") else
                                  f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) "
                                  f"for the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                                  f"nearest-exact (got {mode})")
    mats = []
    for i in range(nd):
        n_in, n_out = in_sp[i], out[i]
        scale = np.float32(1.0 / scales[i]) if scales[i] is not None else np.float32(n_in / n_out)
        if mode == "nearest":
            src = np.minimum(np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64), n_in - 1)
            m = _index_matrix(src, n_in, dtype, xp)
        elif mode == "nearest-exact":
            src = np.minimum(np.floor((np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * scale)
                             .astype(np.int64), n_in - 1)
            m = _index_matrix(src, n_in, dtype, xp)
        elif antialias:
            if align_corners:
                scale = np.float32((n_in - 1) / (n_out - 1)) if n_out > 1 else np.float32(0)
            m = xp.asarray(_antialias_matrix(n_in, n_out, float(scale), mode == "bicubic", dtype))
        elif mode == "bicubic":
            m = xp.asarray(_cubic_matrix(n_in, n_out, scale, bool(align_corners), dtype))
        else:
            m = xp.asarray(_linear_matrix(n_in, n_out, scale, bool(align_corners), dtype))
        mats.append(m)
    return _Upsample[key].apply(input, tuple(mats))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# ----------------------------------------------------------------------------- unfold / fold
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding windows: (N, C, H, W) -> (N, C*kh*kw, L), L = number of windows (im2col)."""
    x, unbatched = _batchify(input, 2, "unfold")
    k = _ntuple(kernel_size, 2, "kernel_size")
    d = _ntuple(dilation, 2, "dilation")
    p = _ntuple(padding, 2, "padding")
    s = _ntuple(stride, 2, "stride")
    pads = [(v, v) for v in p]
    out = [_C.conv_output_size(x.shape[2 + i], k[i], s[i], p[i], p[i], d[i]) for i in range(2)]
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), kernel_size=({k[0]}, "
                           f"{k[1]}), dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape of "
                           f"the array of sliding blocks as ({out[0]}, {out[1]}), but its components must be "
                           "at least one.")
    y = _C.Im2Col.apply(x, k, s, pads, d)
    return y.squeeze(0) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Inverse layout of unfold: sum the columns (N, C*kh*kw, L) back onto an (N, C, H, W) image."""
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    if x.dim() != 3:
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to col2im (got {input.dim()}D input)")
    osz = _ntuple(output_size, 2, "output_size")
    k = _ntuple(kernel_size, 2, "kernel_size")
    d = _ntuple(dilation, 2, "dilation")
    p = _ntuple(padding, 2, "padding")
    s = _ntuple(stride, 2, "stride")
    K = k[0] * k[1]
    if x.shape[1] % K != 0:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={x.shape[1]} and kernel_size=({k[0]}, {k[1]})")
    out = [_C.conv_output_size(osz[i], k[i], s[i], p[i], p[i], d[i]) for i in range(2)]
    if out[0] * out[1] != x.shape[2]:
        raise RuntimeError(f"Given output_size=({osz[0]}, {osz[1]}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), "
                           f"expected size of input's dimension 2 to match the calculated number of sliding "
                           f"blocks {out[0]} * {out[1]} = {out[0] * out[1]}, but got input.size(2)={x.shape[2]}.")
    y = _C.Col2Im.apply(x, x.shape[1] // K, osz, k, s, [(v, v) for v in p], d)
    return y.squeeze(0) if unbatched else y


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): channels become sub-pixel positions (a pure permutation)."""
    r = int(upscale_factor)
    *lead, C, H, W = input.shape
    if C % (r * r) != 0:
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={C} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(tuple(lead) + (C // (r * r), r, r, H, W))
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(tuple(lead) + (C // (r * r), H * r, W * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    *lead, C, H, W = input.shape
    if H % r or W % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, "
                           f"but got {H} x {W} and {r}")
    n = len(lead)
    x = input.reshape(tuple(lead) + (C, H // r, r, W // r, r))
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(tuple(lead) + (C * r * r, H // r, W // r))


# ----------------------------------------------------------------------------- attention
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(Q K^T / sqrt(E) + mask) V, fused in one Function (see ember/ops/attention.py).

    ``attn_mask``: bool (True = may attend) or float (added to the scores), broadcastable to (..., L, S).
    ``is_causal``: position i attends to keys j <= i.  ``enable_gqa``: key/value may have fewer heads
    (dim -3) than query; each is shared by a group of query heads.
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must be at least 2-D")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"Expected query and key to have the same embedding dimension, but got query "
                           f"{_shape_str(query)} and key {_shape_str(key)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"Expected key and value to have the same sequence length, but got key "
                           f"{_shape_str(key)} and value {_shape_str(value)}")
    if query.dtype != key.dtype or query.dtype != value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_cname(query.dtype)} key.dtype: {_cname(key.dtype)} and value.dtype: "
                           f"{_cname(value.dtype)} instead.")
    if attn_mask is not None and attn_mask.dtype.name != "bool" and attn_mask.dtype != query.dtype:
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {_cname(attn_mask.dtype)} and  query.dtype: {_cname(query.dtype)} "
                           "instead.")
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk != 0:
            raise RuntimeError(f"Number of heads in key and value must divide the number of heads in query "
                               f"(got {hk} and {hq})")
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // value.shape[-3], dim=-3)
    sc = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    rng = None
    if dropout_p > 0.0:
        from .. import random as _random
        rng = _random._gen()   # the global Generator: the mask is drawn with torch's dropout algorithm
    return ScaledDotProductAttention.apply(query, key, value, attn_mask, float(dropout_p), bool(is_causal), sc, rng)


def _canonical_mask(mask, mask_name, target_dtype):
    """bool masks (True = blocked) become float masks (-inf where blocked); float masks pass through."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":  # with tensor ops (as torch), so an exported graph computes it too
        import ember
        return ember.zeros_like(mask, dtype=target_dtype).masked_fill_(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                     f"but found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != (num_heads, query.shape[0], key.shape[0]):
                raise AssertionError(f"Expected `attn_mask` shape to be {(num_heads, query.shape[0], key.shape[0])} "
                                     f"but got {tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
                         "query tensor")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """torch's multi-head attention on (L, N, E) inputs (or unbatched (L, E)).

    1. project: [q; k; v] = x W_in^T + b_in  (one matmul when query, key and value are the same tensor)
    2. split heads: (L, N, E) -> (N*H, L, E/H)
    3. attention per head (fused Function when the weights are not needed)
    4. merge heads and project out: out_proj.
    Bool masks mean True = *blocked* here (unlike scaled_dot_product_attention).
    """
    from . import functional as F
    import ember
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    # 1. in-projection
    if not use_separate_proj_weight:
        if query is key and key is value:
            q, k, v = F.linear(query, in_proj_weight, in_proj_bias).chunk(3, dim=-1)
        else:
            w_q, w_kv = in_proj_weight.split([embed_dim, 2 * embed_dim])
            b_q = b_kv = None
            if in_proj_bias is not None:
                b_q, b_kv = in_proj_bias.split([embed_dim, 2 * embed_dim])
            q = F.linear(query, w_q, b_q)
            if key is value:
                k, v = F.linear(key, w_kv, b_kv).chunk(2, dim=-1)
            else:
                w_k, w_v = w_kv.chunk(2)
                b_k = b_v = None
                if b_kv is not None:
                    b_k, b_v = b_kv.chunk(2)
                k, v = F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
    else:
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q = F.linear(query, q_proj_weight, b_q)
        k = F.linear(key, k_proj_weight, b_k)
        v = F.linear(value, v_proj_weight, b_v)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        k = ember.cat([k, bias_k.repeat(1, bsz, 1)])
        v = ember.cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    # 2. split heads: (L, N, E) -> (N*H, L, hd)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = (k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None else static_k)
    v = (v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None else static_v)
    if add_zero_attn:
        zeros = ember.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = ember.cat([k, zeros], dim=1)
        v = ember.cat([v, zeros], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    # 3-4. attention and out-projection
    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        w = q_scaled.matmul(k.transpose(-2, -1))
        if attn_mask is not None:
            w = w + attn_mask
        w = F.softmax(w, dim=-1)
        if dropout_p > 0.0:
            w = F.dropout(w, p=dropout_p)
        out = w.matmul(v)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        w = w.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            w = w.mean(dim=1)
        if not is_batched:
            out, w = out.squeeze(1), w.squeeze(0)
        return out, w
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


# ----------------------------------------------------------------------------- the 3-d family
# (the window machinery above is n-dimensional: these only fix nd = 3)
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 3-d convolution over (N, C, D, H, W); weight (C_in, C_out/groups, kd, kh, kw)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d")


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
    from .functional import relu
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


# ----------------------------------------------------------------------------- channel shuffle
def channel_shuffle(input, groups):
    """Interleave the channels of ``groups`` groups (ShuffleNet): (N, g*k, ...) -> view (N, g, k, ...) ->
    swap g and k -> (N, k*g, ...)."""
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)


native_channel_shuffle = channel_shuffle


# ----------------------------------------------------------------------------- spatial transformers
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. "
                  "See the documentation of grid_sample for details.")


def _linspace_from_neg_one(n, align_corners, like):
    """n points spanning [-1, 1] (pixel corners, align_corners) or the pixel centres inside it."""
    from ..creation import linspace, zeros
    if n <= 1:
        return zeros(1, dtype=like.dtype)
    r = linspace(-1, 1, n, dtype=like.dtype)
    return r if align_corners else r * ((n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of an affine map: for each output pixel (x, y), theta @ (x, y, 1).

    theta (N, 2, 3) and size (N, C, H, W) give a grid (N, H, W, 2) for ``grid_sample``; (N, 3, 4) and
    (N, C, D, H, W) give (N, D, H, W, 3). Differentiable in theta (a matmul)."""
    import warnings
    from ..functions import stack, meshgrid
    from ..creation import ones_like
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
                             f"Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. "
                             f"Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the "
                      "documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    spatial = list(spatial)
    axes = [_linspace_from_neg_one(n, align_corners, theta) for n in spatial]
    mesh = meshgrid(*axes, indexing="ij")            # (D,) H, W grids of z, y, x
    coords = list(reversed(mesh))                    # x first, as grid_sample reads them
    base = stack(coords + [ones_like(coords[0])], dim=-1)  # (..., nd + 1)
    n = size[0]
    flat = base.reshape(1, -1, base.shape[-1]).expand(n, -1, -1)
    grid = flat @ theta.transpose(1, 2)
    return grid.reshape([n] + list(spatial) + [len(spatial)])


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Read ``input`` (N, C, H, W) at the locations ``grid`` (N, H_out, W_out, 2) holds, x then y in [-1, 1]
    (5-d: (N, C, D, H, W) input, (N, D_out, H_out, W_out, 3) grid of x, y, z).

    Bilinear (trilinear), nearest or (4-d) bicubic interpolation; outside the image ``padding_mode`` reads zeros, the border pixel, or
    the mirror image. Differentiable in the input and (bilinear) in the grid: the sampler of a spatial
    transformer network. The op and its derivatives: ``ember/ops/grid_sample.py``."""
    import warnings
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    sizes = lambda t: list(t.shape)  # noqa: E731
    if input.dim() != grid.dim():
        raise RuntimeError(f"grid_sampler(): expected {input.dim()}D input and grid with same number of "
                           f"dimensions, but got input with sizes {sizes(input)} and grid with sizes {sizes(grid)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {sizes(input)} and grid with sizes {sizes(grid)}")
    if grid.shape[-1] != input.dim() - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.dim() - 2} in last dimension, but "
                           f"got grid with sizes {sizes(grid)}")
    if input.dim() not in (4, 5):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                           f"got input with sizes {sizes(input)} and grid with sizes {sizes(grid)}")
    if mode == "bicubic" and input.dim() != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    op = GridSampler2d if input.dim() == 4 else GridSampler3d
    return op.apply(input, grid, mode, padding_mode, bool(align_corners))


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
        from ..creation import rand
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


def conv_tbc(input, weight, bias, pad=0):
    """1-d convolution on (time, batch, channels) input; weight (kernel, in, out) (see ``ember.conv_tbc``)."""
    from ..composite import conv_tbc as _conv_tbc
    return _conv_tbc(input, weight, bias, pad)
