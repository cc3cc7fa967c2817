"""Resampling functionals: ``interpolate``/``upsample`` (resize by a scale or to a size) and the spatial
transformer pair ``affine_grid``/``grid_sample`` (read the input at arbitrary coordinates).

Every ``interpolate`` mode is separable: along each axis the output is a fixed weighted sum of inputs, one
(out_i, in_i) matrix (nearest = one-hot rows, linear = two weights, bicubic = four, antialias = a stretched
filter, area = adaptive average pooling), applied by one ``AxisLinear`` Function.  ``grid_sample`` is not
separable (each output reads its own location), so it is its own Function in ``ember/ops/grid_sample.py``.
"""
import math

import numpy as np

from ...device import array_module
from ...ops import conv as _C
from ...ops.grid_sample import GridSampler2d, GridSampler3d
from .arguments import _ntuple
from .padding import _index_matrix
from .pooling import _AdaptiveAvgPool2D, _adaptive_matrix

__all__ = [
    "interpolate", "upsample", "affine_grid", "grid_sample",
]


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


# ----------------------------------------------------------------------------- spatial transformers
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. "
                  "See the documentation of grid_sample for details.")


def _linspace_from_neg_one(n, align_corners, like):
    """n points spanning [-1, 1] (pixel corners, align_corners) or the pixel centres inside it."""
    from ...creation import linspace, zeros
    if n <= 1:
        return zeros(1, dtype=like.dtype)
    r = linspace(-1, 1, n, dtype=like.dtype)
    return r if align_corners else r * ((n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of an affine map: for each output pixel (x, y), theta @ (x, y, 1).

    theta (N, 2, 3) and size (N, C, H, W) give a grid (N, H, W, 2) for ``grid_sample``; (N, 3, 4) and
    (N, C, D, H, W) give (N, D, H, W, 3). Differentiable in theta (a matmul)."""
    import warnings
    from ...functions import stack, meshgrid
    from ...creation import ones_like
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
