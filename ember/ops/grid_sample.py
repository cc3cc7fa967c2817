"""Sampling an image at arbitrary points: ``grid_sample`` (the spatial transformer's sampler).

For every output pixel the grid gives a source location (x, y) in [-1, 1] (-1: the left/top edge). The
location is mapped to pixel coordinates, folded back in by the padding mode, and the input is read there:

    unnormalise   align_corners: x = (g + 1)/2 (W - 1)      else: x = ((g + 1) W - 1)/2
    padding       zeros: taps outside read 0;  border: clip x to [0, W-1];  reflection: mirror at the edges
    bilinear      out = sum over the 4 neighbours of  v(y_i, x_j) * (1 - |y - y_i|)(1 - |x - x_j|)
                  (5-d input: trilinear, over the 8 corners of the cell)
    nearest       out = v(round(y), round(x))   (round half to even, as torch)
    bicubic       out = sum over the 4 x 4 neighbours of v * w(y - y_i) w(x - x_j), w Keys' cubic kernel
                  (a = -0.75); each neighbour's index is folded in by the padding mode on its own

    d out / d v   the same weights, scattered back to the taps (an add.at)
    d out / d x   sum_taps v * d weight / d x, times dx/dg (the unnormalise scale, and -1 where mirrored,
                  0 where clipped)
"""
import functools
import itertools
import operator

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


def _unnormalize(xp, g, size, align_corners):
    """Pixel coordinate of normalised grid values along an axis of ``size``, and d coordinate / d g."""
    if align_corners:
        return (g + 1) / 2 * (size - 1), xp.full_like(g, (size - 1) / 2)
    return ((g + 1) * size - 1) / 2, xp.full_like(g, size / 2)


def _pad(xp, c, size, padding_mode, align_corners):
    """Fold a pixel coordinate back in as ``padding_mode`` says; returns it and its derivative factor."""
    one = xp.ones_like(c)
    if padding_mode == "border":
        return xp.clip(c, 0, size - 1), one * ((c > 0) & (c < size - 1))
    if padding_mode == "reflection":
        c, dr = (_reflect(xp, c, 0, 2 * (size - 1)) if align_corners else _reflect(xp, c, -1, 2 * size - 1))
        return xp.clip(c, 0, size - 1), dr * ((c > 0) & (c < size - 1))
    return c, one


def _source(xp, g, size, padding_mode, align_corners):
    """Pixel coordinate for normalised grid values ``g`` along an axis of ``size``, and its derivative."""
    c, dc = _unnormalize(xp, g, size, align_corners)
    c, dp = _pad(xp, c, size, padding_mode, align_corners)
    return c, dc * dp


_A = -0.75  # the cubic convolution constant torch (and OpenCV) use


def _cubic_weights(xp, t):
    """Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for fractional offset t, and d/dt."""
    def near(x):   # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1, (3 * (_A + 2) * x - 2 * (_A + 3)) * x

    def far(x):    # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A, (3 * _A * x - 10 * _A) * x + 8 * _A

    w0, d0 = far(t + 1)
    w1, d1 = near(t)
    w2, d2 = near(1 - t)
    w3, d3 = far(2 - t)
    return [w0, w1, w2, w3], [d0, d1, -d2, -d3]


def _bicubic_taps(xp, coords, sizes, padding_mode, align_corners):
    """The 4 x 4 taps of bicubic sampling: each tap index is folded in by the padding mode on its own."""
    lo = [xp.floor(c) for c in coords]
    ws, ds = zip(*[_cubic_weights(xp, c - f) for c, f in zip(coords, lo)])
    taps = []
    for ky, kx in itertools.product(range(4), repeat=2):
        idx = []
        for axis, k in ((0, ky), (1, kx)):
            i, _ = _pad(xp, lo[axis] - 1 + k, sizes[axis], padding_mode, align_corners)
            idx.append(xp.rint(i).astype(np.int64))
        w = ws[0][ky] * ws[1][kx]
        taps.append((idx, w, [ds[0][ky] * ws[1][kx], ws[0][ky] * ds[1][kx]]))
    return taps


def _taps(xp, coords, mode):
    """The pixels read for each location: (indices per axis, weight, d weight / d coordinate per axis).

    ``coords``: one array of source coordinates per spatial axis. Bilinear/trilinear reads the 2^nd corners
    of the cell around the point with weights prod_d (t_d or 1 - t_d); nearest reads the rounded point."""
    if mode == "nearest":
        idx = [xp.rint(c).astype(np.int64) for c in coords]
        return [(idx, xp.ones_like(coords[0]), [xp.zeros_like(coords[0])] * len(coords))]
    lo = [xp.floor(c) for c in coords]
    t = [c - f for c, f in zip(coords, lo)]
    lo = [f.astype(np.int64) for f in lo]
    taps = []
    for corner in itertools.product((0, 1), repeat=len(coords)):
        factors = [td if k else 1 - td for td, k in zip(t, corner)]
        w = functools.reduce(operator.mul, factors)
        dw = []
        for d, k in enumerate(corner):
            others = [f for e, f in enumerate(factors) if e != d]
            rest = functools.reduce(operator.mul, others) if others else xp.ones_like(w)
            dw.append(rest if k else -rest)
        taps.append(([f + k for f, k in zip(lo, corner)], w, dw))
    return taps


class GridSampler(Function):
    """out[n, c, o] = input[n, c] read at grid[n, o] (bi/trilinear or nearest; see the module docstring)"""

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        x, g = input._data, grid._data
        xp = array_module(x)
        N, C = x.shape[:2]
        spatial = x.shape[2:]
        nd = len(spatial)
        coords, dcoords = [], []
        for axis in range(nd):                        # grid's last dim is (x, y[, z]): the axes reversed
            ga = g[..., nd - 1 - axis].astype(x.dtype)
            if mode == "bicubic":                     # padding applies to each tap, not to the point
                c, dc = _unnormalize(xp, ga, spatial[axis], align_corners)
            else:
                c, dc = _source(xp, ga, spatial[axis], padding_mode, align_corners)
            coords.append(c)
            dcoords.append(dc)
        n = xp.arange(N).reshape((N,) + (1,) * nd)
        xl = xp.moveaxis(x, 1, -1)                    # (N, *S, C): gather whole channel vectors
        out = xp.zeros(g.shape[:-1] + (C,), dtype=x.dtype)
        taps = []
        taps_of = (_bicubic_taps(xp, coords, spatial, padding_mode, align_corners) if mode == "bicubic"
                   else _taps(xp, coords, mode))
        for idx, w, dw in taps_of:
            valid = functools.reduce(operator.and_, [(i >= 0) & (i < size) for i, size in zip(idx, spatial)])
            clipped = tuple(xp.clip(i, 0, size - 1) for i, size in zip(idx, spatial))
            v = xl[(n,) + clipped] * valid[..., None]  # (N, *O, C), 0 outside the input
            out += v * w[..., None].astype(x.dtype)
            taps.append((clipped, valid, w, dw, v))
        ctx.taps, ctx.dcoords, ctx.shape, ctx.mode = taps, dcoords, x.shape, mode
        return xp.ascontiguousarray(xp.moveaxis(out, -1, 1))

    @staticmethod
    def backward(ctx, gout):
        g = gout._data
        xp = array_module(g)
        N, C = ctx.shape[:2]
        spatial = ctx.shape[2:]
        nd = len(spatial)
        gl = xp.moveaxis(g, 1, -1)                    # (N, *O, C)
        n = xp.broadcast_to(xp.arange(N).reshape((N,) + (1,) * nd), gl.shape[:-1])
        ginput = xp.zeros((N,) + tuple(spatial) + (C,), dtype=g.dtype)
        gcoord = [xp.zeros(gl.shape[:-1], dtype=g.dtype) for _ in range(nd)]
        for clipped, valid, w, dw, v in ctx.taps:
            xp.add.at(ginput, (n,) + clipped, gl * (w * valid)[..., None].astype(g.dtype))
            if ctx.mode != "nearest":
                gv = (gl * v).sum(-1)
                for d in range(nd):
                    gcoord[d] += gv * dw[d]
        ggrid = xp.stack([gcoord[nd - 1 - k] * ctx.dcoords[nd - 1 - k] for k in range(nd)], axis=-1)
        return (wrap(xp.ascontiguousarray(xp.moveaxis(ginput, -1, 1))), wrap(ggrid.astype(g.dtype)),
                None, None, None)


class GridSampler2d(GridSampler):
    """grid_sample of (N, C, H, W) input at (N, H_out, W_out, 2) locations"""
    _grad_fn_name = "GridSampler2DBackward0"


class GridSampler3d(GridSampler):
    """grid_sample of (N, C, D, H, W) input at (N, D_out, H_out, W_out, 3) locations"""
    _grad_fn_name = "GridSampler3DBackward0"
