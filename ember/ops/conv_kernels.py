"""Compiled (Numba) loops for ``ops/conv.py``: the 2x2 max pool, forward and backward.

NumPy computes a max pool as one pass per window offset (a running maximum, then masks of where it was);
this loop visits each window once and keeps one byte per window, where its max sat, instead of masks. ``nogil``: ``ops/conv.py``
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
@_jit
def max_pool2x2_forward(x, y, code, lo, hi):
    """Planes lo:hi of y (P, OH, OW) and ``code`` (uint8: where in its 2x2 window the max sat, row*2 + col)
    from x (P, H, W). One byte per output instead of torch's int64 flat index (``codes_to_indices`` makes
    those when asked for); the backward needs nothing more.

    torch's CPU kernel scans a window in order (0,0), (0,1), (1,0), (1,1) and takes an entry if it is
    greater than the best so far, or NaN: the first maximum wins, and among NaNs the last. That chain of
    three dependent selects does not vectorise (0.93 ms for 1024 28x28 planes on one core). Here each column
    pair is decided first (bottom wins if greater or NaN), then the two columns: a NaN column wins, the later
    code among two NaNs; otherwise the greater, and on a tie the earlier code. Same results on every case of
    ties, NaN and inf (tested), in straight-line code LLVM vectorises (0.31 ms)."""
    OH, OW = y.shape[1], y.shape[2]
    for p in range(lo, hi):
        for oh in range(OH):
            r0, r1 = x[p, 2 * oh], x[p, 2 * oh + 1]
            yr, cr = y[p, oh], code[p, oh]
            for ow in range(OW):
                a, b, c, d = r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]
                t0 = (c > a) | (c != c)
                m0 = c if t0 else a
                k0 = np.uint8(2) if t0 else np.uint8(0)
                t1 = (d > b) | (d != d)
                m1 = d if t1 else b
                k1 = np.uint8(3) if t1 else np.uint8(1)
                n0, n1 = m0 != m0, m1 != m1
                take1 = (n1 & ((not n0) | (k1 > k0))) | \
                    ((not n0) & (not n1) & ((m1 > m0) | ((m1 == m0) & (k1 < k0))))
                yr[ow] = m1 if take1 else m0
                cr[ow] = k1 if take1 else k0


@_jit
def max_pool2x2_backward(gy, code, gx, lo, hi):
    """Planes lo:hi of gx (P, H, W), every element written once: the 2x2 windows tile the plane, so each
    window's four entries get gy where its code points and 0 elsewhere (no zero-fill pass, no scatter-add);
    a last row or column no window covers (odd H or W) gets 0."""
    OH, OW = gy.shape[1], gy.shape[2]
    H, W = gx.shape[1], gx.shape[2]
    zero = gx.dtype.type(0)
    for p in range(lo, hi):
        for oh in range(OH):
            r0, r1 = gx[p, 2 * oh], gx[p, 2 * oh + 1]
            gr, cr = gy[p, oh], code[p, oh]
            for w in range(2 * OW):          # along the gx rows (contiguous stores: 3x faster than by window)
                g, c, col = gr[w >> 1], cr[w >> 1], w & 1
                r0[w] = g if c == col else zero
                r1[w] = g if c == col + 2 else zero
            for w in range(2 * OW, W):
                r0[w] = zero
                r1[w] = zero
        for h in range(2 * OH, H):
            for w in range(W):
                gx[p, h, w] = zero
