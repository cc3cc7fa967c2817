"""Compiled (Numba) tile transforms for ``ops/winograd.py``.

The transforms are only additions, but done with NumPy they are a dozen strided passes over data four times
the size of the input. One compiled loop per (sample, channel) plane reads each 4x4 tile once and writes its
16 transformed values straight into the (16, C, tiles) layout the GEMMs want: one read of the input, one
write of the result. Same arithmetic, same order as the NumPy transforms in ``ops/winograd.py`` (the tests
compare the two); ``nogil``, so ``ops/winograd.py`` runs planes on every core.
"""
import numba
import numpy as np

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")


@_jit
def input_transform(xp, v, th, tw, lo, hi):
    """v[4a+b, c, (n, i, j)] = (B^T d B)[a, b] for the tile d = xp[n, c, 2i:2i+4, 2j:2j+4] (xp zero-padded),
    for planes q = n * C + c in lo:hi. Per row of tiles: first the row combinations t_a (B^T d) over the
    whole padded width, then each (a, b) output row from two strided reads of t_a -- short, simple loops
    the compiler vectorises."""
    C, Wp = xp.shape[1], xp.shape[3]
    t = np.empty((4, Wp), xp.dtype)
    for q in range(lo, hi):
        n, c = q // C, q % C
        for i in range(th):
            x0, x1, x2, x3 = xp[n, c, 2 * i], xp[n, c, 2 * i + 1], xp[n, c, 2 * i + 2], xp[n, c, 2 * i + 3]
            for s in range(Wp):                        # rows: B^T d
                t[0, s] = x0[s] - x2[s]
                t[1, s] = x1[s] + x2[s]
                t[2, s] = x2[s] - x1[s]
                t[3, s] = x1[s] - x3[s]
            p0 = (n * th + i) * tw
            for a in range(4):                         # columns: (B^T d) B
                ta = t[a]
                o0, o1 = v[4 * a, c, p0:p0 + tw], v[4 * a + 1, c, p0:p0 + tw]
                o2, o3 = v[4 * a + 2, c, p0:p0 + tw], v[4 * a + 3, c, p0:p0 + tw]
                for j in range(tw):
                    o0[j] = ta[2 * j] - ta[2 * j + 2]
                for j in range(tw):
                    o1[j] = ta[2 * j + 1] + ta[2 * j + 2]
                for j in range(tw):
                    o2[j] = ta[2 * j + 2] - ta[2 * j + 1]
                for j in range(tw):
                    o3[j] = ta[2 * j + 1] - ta[2 * j + 3]


@_jit
def output_transform(m, y, th, tw, lo, hi):
    """y[n, o, 2i:2i+2, 2j:2j+2] = A^T M A for the tile's 16 values m[:, o, (n, i, j)], cropped to y's size,
    for planes q = n * O + o in lo:hi. Per row of tiles: the row combinations z (A^T m) for every tile, then
    the two output rows."""
    O, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    z = np.empty((8, tw), m.dtype)                     # z[4r + b, j]: row r of A^T m, column b, tile j
    for q in range(lo, hi):
        n, o = q // O, q % O
        for i in range(th):
            p0 = (n * th + i) * tw
            for b in range(4):                         # rows: z0 = m0 + m1 + m2, z1 = m1 - m2 - m3
                m0, m1 = m[b, o, p0:p0 + tw], m[4 + b, o, p0:p0 + tw]
                m2, m3 = m[8 + b, o, p0:p0 + tw], m[12 + b, o, p0:p0 + tw]
                for j in range(tw):
                    z[b, j] = m0[j] + m1[j] + m2[j]
                for j in range(tw):
                    z[4 + b, j] = m1[j] - m2[j] - m3[j]
            for r in range(2):                         # columns: (A^T m) A, then into the image
                h = 2 * i + r
                if h >= OH:
                    break
                yr = y[n, o, h]
                for j in range(OW // 2):
                    yr[2 * j] = z[4 * r, j] + z[4 * r + 1, j] + z[4 * r + 2, j]
                    yr[2 * j + 1] = z[4 * r + 1, j] - z[4 * r + 2, j] - z[4 * r + 3, j]
                if OW % 2:                             # an odd width: the last tile's left column only
                    j = OW // 2
                    yr[2 * j] = z[4 * r, j] + z[4 * r + 1, j] + z[4 * r + 2, j]


@_jit
def grad_output_transform(gy, dm, th, tw, lo, hi):
    """dm[4a+b, o, (n, i, j)] = (A dY A^T)[a, b] for the 2x2 block dY = gy[n, o, 2i:2i+2, 2j:2j+2] (zero past
    the edge), for planes q = n * O + o in lo:hi. Per row of tiles: each block row combined along columns
    (c[r, b] for column b = 0..3: g0, g0 + g1, g0 - g1, -g1), then the four rows of A."""
    O, OH, OW = gy.shape[1], gy.shape[2], gy.shape[3]
    c = np.zeros((2, 4, tw), gy.dtype)
    for q in range(lo, hi):
        n, o = q // O, q % O
        for i in range(th):
            for r in range(2):
                h = 2 * i + r
                if h >= OH:                            # an odd height: the last block's second row is zero
                    c[r, :3, :] = 0
                    c[r, 3, :] = -0.0                  # (-g1 of a zero g1, as the NumPy path has it)
                    continue
                g = gy[n, o, h]
                for j in range(OW // 2):
                    g0, g1 = g[2 * j], g[2 * j + 1]
                    c[r, 0, j] = g0
                    c[r, 1, j] = g0 + g1
                    c[r, 2, j] = g0 - g1
                    c[r, 3, j] = -g1
                if OW % 2:                             # an odd width: the last block's right column is zero
                    j = OW // 2
                    c[r, 0, j] = g[2 * j]
                    c[r, 1, j] = g[2 * j]
                    c[r, 2, j] = g[2 * j]
                    c[r, 3, j] = -0.0
            p0 = (n * th + i) * tw
            for b in range(4):                         # rows: A = [[1, 0], [1, 1], [1, -1], [0, -1]]
                r0, r1 = c[0, b], c[1, b]
                d0, d1 = dm[b, o, p0:p0 + tw], dm[4 + b, o, p0:p0 + tw]
                d2, d3 = dm[8 + b, o, p0:p0 + tw], dm[12 + b, o, p0:p0 + tw]
                for j in range(tw):
                    d0[j] = r0[j]
                    d1[j] = r0[j] + r1[j]
                    d2[j] = r0[j] - r1[j]
                    d3[j] = -r1[j]


@_jit
def output_transform_t(mt, y, th, tw, lo, hi):
    """y[n, o, 2i:2i+2, 2j:2j+2] = A^T M A from mt (16, tiles, O) -- the GEMM's output laid out tile-major,
    the layout in which its 16 products run fastest -- for tile rows q = n * th + i in lo:hi, cropped to
    y's size. The innermost loop runs over output channels, reading each of the 16 rows contiguously."""
    O, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    for q in range(lo, hi):
        n, i = q // th, q % th
        r0 = 2 * i
        for j in range(tw):
            p = q * tw + j
            s0 = 2 * j
            for o in range(O):
                # rows: A^T m  (z0 = m0 + m1 + m2, z1 = m1 - m2 - m3), column by column
                z00 = mt[0, p, o] + mt[4, p, o] + mt[8, p, o]
                z01 = mt[1, p, o] + mt[5, p, o] + mt[9, p, o]
                z02 = mt[2, p, o] + mt[6, p, o] + mt[10, p, o]
                z03 = mt[3, p, o] + mt[7, p, o] + mt[11, p, o]
                z10 = mt[4, p, o] - mt[8, p, o] - mt[12, p, o]
                z11 = mt[5, p, o] - mt[9, p, o] - mt[13, p, o]
                z12 = mt[6, p, o] - mt[10, p, o] - mt[14, p, o]
                z13 = mt[7, p, o] - mt[11, p, o] - mt[15, p, o]
                y[n, o, r0, s0] = z00 + z01 + z02
                if s0 + 1 < OW:
                    y[n, o, r0, s0 + 1] = z01 - z02 - z03
                if r0 + 1 < OH:
                    y[n, o, r0 + 1, s0] = z10 + z11 + z12
                    if s0 + 1 < OW:
                        y[n, o, r0 + 1, s0 + 1] = z11 - z12 - z13
