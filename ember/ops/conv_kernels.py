"""Compiled (Numba) loops for ``ops/conv.py``: the 2x2 max pool, forward and backward.

NumPy computes a max pool as one pass per window offset (a running maximum, then masks of where it was);
this loop visits each window once and keeps torch's ``indices`` instead of masks. ``nogil``: ``ops/conv.py``
runs slabs of (sample, channel) planes on every core. Used for NumPy float32 arrays; the NumPy code stays
the reference the tests compare with (``EMBER_JIT=0``). (A compiled im2col was tried too and measured
2-3x slower than NumPy's strided copy, so im2col stays NumPy.)
"""
import numba
import numpy as np

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")


# ------------------------------------------------------------------------------------------------
# 2-d max pooling, 2x2 windows at stride 2 (the pool of most CNNs): each output's max and the flat index
# of its first maximum. (Other window shapes stay on ops/conv.py's NumPy path: measured, a general compiled
# loop over small windows was slower than its per-offset passes.)
# ------------------------------------------------------------------------------------------------
@numba.njit(inline="always")
def _pool_take(v, k, best, arg):
    """torch's rule: a later value wins if it is greater, or NaN (selects, not branches: on random data
    half of the branches would mispredict)."""
    take = (v > best) | (v != v)
    return (v if take else best), (k if take else arg)


@_jit
def max_pool2x2_forward(x, y, idx, lo, hi):
    """Planes lo:hi of y (P, OH, OW) and idx (the argmax's flat position in the H x W plane, torch's
    ``indices``) from x (P, H, W). Scan order and NaN rule as torch's CPU kernel: the first maximum is kept
    and the last NaN wins."""
    P, H, W = x.shape
    OH, OW = y.shape[1], y.shape[2]
    xf = x.reshape(P, H * W)
    for p in range(lo, hi):
        xr = xf[p]
        for oh in range(OH):
            for ow in range(OW):
                k = 2 * oh * W + 2 * ow
                best, arg = xr[k], k
                best, arg = _pool_take(xr[k + 1], k + 1, best, arg)
                best, arg = _pool_take(xr[k + W], k + W, best, arg)
                best, arg = _pool_take(xr[k + W + 1], k + W + 1, best, arg)
                y[p, oh, ow] = best
                idx[p, oh, ow] = arg


@_jit
def max_pool2d_backward(gy, idx, gx, lo, hi):
    """Planes lo:hi of gx (P, H*W) += gy at each output's argmax (windows may share one: summed)."""
    OH, OW = gy.shape[1], gy.shape[2]
    for p in range(lo, hi):
        for oh in range(OH):
            for ow in range(OW):
                gx[p, idx[p, oh, ow]] += gy[p, oh, ow]
