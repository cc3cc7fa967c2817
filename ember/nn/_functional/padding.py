"""``pad``: constant, reflect, replicate and circular padding of the last dims.

Constant padding is its own Function (``ConstantPadNd``).  The other modes only *select* input positions
(mirrored, clamped or wrapped indices), so each padded axis is one one-hot (out, in) matrix and the whole
pad is one ``AxisLinear`` Function: its backward is the transposed matrices, which sums the gradient of
every copy back onto its source.
"""
import numpy as np

from ...device import array_module
from ...ops import conv as _C
from .arguments import _shape_str

__all__ = [
    "pad",
]


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
