"""Sampling an image at arbitrary points: ``grid_sample`` (the spatial transformer's sampler).

For every output pixel the grid gives a source location (x, y) in [-1, 1] (-1: the left/top edge). The
location is mapped to pixel coordinates, folded back in by the padding mode, and the input is read there:

    unnormalise   align_corners: x = (g + 1)/2 (W - 1)      else: x = ((g + 1) W - 1)/2
    padding       zeros: taps outside read 0;  border: clip x to [0, W-1];  reflection: mirror at the edges
    bilinear      out = sum over the 4 neighbours of  v(y_i, x_j) * (1 - |y - y_i|)(1 - |x - x_j|)
    nearest       out = v(round(y), round(x))   (round half to even, as torch)

    d out / d v   the same weights, scattered back to the taps (an add.at)
    d out / d x   sum_taps v * d weight / d x, times dx/dg (the unnormalise scale, and -1 where mirrored,
                  0 where clipped)
"""
import numpy as np

from ..autograd.function import Function
from ._util import array_module, wrap


def _reflect(xp, c, twice_low, twice_high):
    """Mirror coordinates into [twice_low/2, twice_high/2]; returns (coordinate, d coordinate / d c)."""
    if twice_low == twice_high:
        return xp.zeros_like(c), xp.zeros_like(c)
    lo, span = twice_low / 2, (twice_high - twice_low) / 2
    d = c - lo
    sign = xp.where(d < 0, -1.0, 1.0)
    a = xp.abs(d)
    extra = xp.fmod(a, span)
    flips = xp.floor(a / span)
    even = (flips % 2) == 0
    return xp.where(even, extra + lo, span - extra + lo), sign * xp.where(even, 1.0, -1.0)


def _source(xp, g, size, padding_mode, align_corners):
    """Pixel coordinate for normalised grid values ``g`` along an axis of ``size``, and its derivative."""
    if align_corners:
        c, dc = (g + 1) / 2 * (size - 1), (size - 1) / 2
    else:
        c, dc = ((g + 1) * size - 1) / 2, size / 2
    dc = xp.full_like(c, dc)
    if padding_mode == "border":
        inside = (c > 0) & (c < size - 1)
        c, dc = xp.clip(c, 0, size - 1), dc * inside
    elif padding_mode == "reflection":
        c, dr = (_reflect(xp, c, 0, 2 * (size - 1)) if align_corners else _reflect(xp, c, -1, 2 * size - 1))
        dc = dc * dr
        inside = (c > 0) & (c < size - 1)
        c, dc = xp.clip(c, 0, size - 1), dc * inside
    return c, dc


def _taps(xp, ix, iy, W, H, mode):
    """The neighbour pixels read for each location: list of (x index, y index, weight, dw/dx, dw/dy)."""
    if mode == "nearest":
        x, y = xp.rint(ix).astype(np.int64), xp.rint(iy).astype(np.int64)
        one, zero = xp.ones_like(ix), xp.zeros_like(ix)
        return [(x, y, one, zero, zero)]
    x0, y0 = xp.floor(ix), xp.floor(iy)
    tx, ty = ix - x0, iy - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    return [(x0, y0, (1 - tx) * (1 - ty), -(1 - ty), -(1 - tx)),
            (x0 + 1, y0, tx * (1 - ty), (1 - ty), -tx),
            (x0, y0 + 1, (1 - tx) * ty, -ty, (1 - tx)),
            (x0 + 1, y0 + 1, tx * ty, ty, tx)]


class GridSample2d(Function):
    """out[n, c, i, j] = input[n, c] read at grid[n, i, j] (bilinear or nearest; see the module docstring)"""
    _grad_fn_name = "GridSampler2DBackward0"

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        x, g = input._data, grid._data
        xp = array_module(x)
        N, C, H, W = x.shape
        ix, dix = _source(xp, g[..., 0].astype(x.dtype), W, padding_mode, align_corners)
        iy, diy = _source(xp, g[..., 1].astype(x.dtype), H, padding_mode, align_corners)
        n = xp.arange(N).reshape(N, 1, 1)
        xl = xp.moveaxis(x, 1, -1)                             # (N, H, W, C): gather whole channel vectors
        out = xp.zeros(g.shape[:3] + (C,), dtype=x.dtype)
        taps = []
        for tx, ty, w, dwx, dwy in _taps(xp, ix, iy, W, H, mode):
            valid = (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)
            cx, cy = xp.clip(tx, 0, W - 1), xp.clip(ty, 0, H - 1)
            v = xl[n, cy, cx] * valid[..., None]               # (N, Ho, Wo, C), 0 outside the image
            out += v * w[..., None].astype(x.dtype)
            taps.append((cx, cy, valid, w, dwx, dwy, v))
        ctx.taps, ctx.dix, ctx.diy, ctx.shape, ctx.mode = taps, dix, diy, x.shape, mode
        return xp.ascontiguousarray(xp.moveaxis(out, -1, 1))

    @staticmethod
    def backward(ctx, gout):
        g = gout._data
        xp = array_module(g)
        N, C, H, W = ctx.shape
        gl = xp.moveaxis(g, 1, -1)                             # (N, Ho, Wo, C)
        n = xp.broadcast_to(xp.arange(N).reshape(N, 1, 1), gl.shape[:3])
        ginput = xp.zeros((N, H, W, C), dtype=g.dtype)
        gx = xp.zeros(gl.shape[:3], dtype=g.dtype)
        gy = xp.zeros(gl.shape[:3], dtype=g.dtype)
        for cx, cy, valid, w, dwx, dwy, v in ctx.taps:
            xp.add.at(ginput, (n, cy, cx), gl * (w * valid)[..., None].astype(g.dtype))
            if ctx.mode != "nearest":
                gv = (gl * v).sum(-1)
                gx += gv * dwx
                gy += gv * dwy
        ggrid = xp.stack([gx * ctx.dix, gy * ctx.diy], axis=-1)
        return wrap(xp.ascontiguousarray(xp.moveaxis(ginput, -1, 1))), wrap(ggrid.astype(g.dtype)), None, None, None
