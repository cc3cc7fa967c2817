"""Rearranging functionals: ``unfold``/``fold`` (im2col and its adjoint col2im: sliding windows to columns
and back, summing overlaps), and the pure permutations ``pixel_shuffle``/``pixel_unshuffle`` (channels <->
sub-pixel positions) and ``channel_shuffle`` (interleave channel groups).  The permutations are reshapes
and transposes only, so their gradient is the inverse permutation, for free.
"""
from ...ops import conv as _C
from .arguments import _batchify, _ntuple

__all__ = [
    "unfold", "fold", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
]


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
