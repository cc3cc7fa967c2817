"""Convolution functionals: ``conv1d/2d/3d``, ``conv_transpose1d/2d/3d`` and ``conv_tbc``.

Each one checks shapes, groups and dtypes the way torch does, turns ``stride``/``padding``/``dilation`` into
one tuple per spatial axis ('same' becomes explicit (lo, hi) pads), and calls the one n-dimensional
``Convolution`` Function in ``ember/ops/conv.py`` (a transposed convolution is the same Function run as
its adjoint).  The functionals only normalise arguments; the op computes values and gradients.
"""
from ...ops import conv as _C
from .arguments import _batchify, _cname, _ntuple, _shape_str

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_tbc",
]


def _check_conv_dtypes(x, weight, bias):
    if bias is not None and bias.dtype != x.dtype:
        raise RuntimeError(f"Input type ({_cname(x.dtype)}) and bias type ({_cname(bias.dtype)}) should be the same")
    if weight.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype.scalar_name} but found {weight.dtype.scalar_name}")


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


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 3-d convolution over (N, C, D, H, W); weight (C_in, C_out/groups, kd, kh, kw)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d")


def conv_tbc(input, weight, bias, pad=0):
    """1-d convolution on (time, batch, channels) input; weight (kernel, in, out) (see ``ember.conv_tbc``)."""
    from ...composite import conv_tbc as _conv_tbc
    return _conv_tbc(input, weight, bias, pad)
