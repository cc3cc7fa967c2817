"""The compiled loops behind ``ember/_sampling_jit.py`` (imported only when Numba is installed and a draw is
large enough). Module-level functions so Numba caches their machine code on disk (``cache=True``)."""
import math

import numba
import numpy as np
from numba.extending import intrinsic

from ._sampling_jit import make_poisson


@intrinsic
def _fma(typingctx, a, b, c):
    """fma(a, b, c) with one rounding, in the arguments' float type."""
    sig = a(a, b, c)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return sig, codegen


_f = np.float32
_SQRTHF = _f(0.707106781186547524)
P0, P1, P2, P3, P4 = _f(7.0376836292E-2), _f(-1.1514610310E-1), _f(1.1676998740E-1), _f(-1.2420140846E-1), \
    _f(1.4249322787E-1)
P5, P6, P7, P8 = _f(-1.6668057665E-1), _f(2.0000714765E-1), _f(-2.4999993993E-1), _f(3.3333331174E-1)
Q1, Q2 = _f(-2.12194440e-4), _f(0.693359375)
DP1, DP2, DP3 = _f(-0.78515625), _f(-2.4187564849853515625e-4), _f(-3.77489497744594108e-8)
S0, S1, S2 = _f(-1.9515295891E-4), _f(8.3321608736E-3), _f(-1.6666654611E-1)
C0, C1, C2 = _f(2.443315711809948E-005), _f(-1.388731625493765E-003), _f(4.166664568298827E-002)
FOPI = _f(1.27323954473516)
ONE, HALF, MHALF, ZERO, MTWO = _f(1.0), _f(0.5), _f(-0.5), _f(0.0), _f(-2.0)
TWO_PI = _f(2.0 * math.pi)


@numba.njit(inline="always")
def _avx_log(m, e):
    """log256_ps after the bit split x = m * 2**(e-1) with m in [0.5, 1) (selects, no branches)."""
    small = m < _SQRTHF
    e = e - (ONE if small else ZERO)
    m = (m - ONE) + (m if small else ZERO)
    z = m * m
    y = _fma(P0, m, P1)
    y = _fma(y, m, P2)
    y = _fma(y, m, P3)
    y = _fma(y, m, P4)
    y = _fma(y, m, P5)
    y = _fma(y, m, P6)
    y = _fma(y, m, P7)
    y = _fma(y, m, P8)
    y = _fma(y * m, z, e * Q1)
    y = _fma(z, MHALF, y)
    return _fma(e, Q2, m + y)


@numba.njit(inline="always")
def _avx_sincos(x):
    """sincos256_ps for x >= 0 (Box-Muller's angles)."""
    j = np.int32(x * FOPI)
    j = (j + np.int32(1)) & np.int32(-2)
    y = _f(j)
    x = _fma(y, DP1, x)
    x = _fma(y, DP2, x)
    x = _fma(y, DP3, x)
    z = x * x
    yc = _fma(_fma(C0, z, C1), z, C2) * z
    yc = _fma(yc, z, -(z * HALF)) + ONE
    ys = _fma(_fma(S0, z, S1), z, S2) * z
    ys = _fma(ys, x, x)
    poly = (j & 2) == 0
    s = ys if poly else yc
    c = yc if poly else ys
    s = -s if (j & 4) != 0 else s
    c = -c if ((~(j - np.int32(2))) & 4) != 0 else c
    return s, c


@numba.njit(nogil=True, cache=True)
def box_muller16_f32(d, mean, std, affine):
    """In place on rows of 16 float32 uniforms: torch's AVX2 normal_fill_16, then fma(n, std, mean)."""
    k = d.shape[0] * 8
    u1 = np.empty(k, np.float32)
    u2 = np.empty(k, np.float32)
    for b in range(d.shape[0]):
        for j in range(8):
            u1[b * 8 + j] = ONE - d[b, j]
            u2[b * 8 + j] = d[b, j + 8]
    bits = u1.view(np.int32)
    mant = np.empty(k, np.int32)
    ex = np.empty(k, np.float32)
    for i in range(k):                       # split u1 into mantissa bits and exponent (+1)
        xi = bits[i]
        ex[i] = _f((xi >> 23) - 127) + ONE
        mant[i] = (xi & np.int32(-2139095041)) | np.int32(0x3f000000)   # ~0x7f800000
    mf = mant.view(np.float32)
    for i in range(k):
        r = np.sqrt(MTWO * _avx_log(mf[i], ex[i]))
        s, c = _avx_sincos(TWO_PI * u2[i])
        n1 = r * c
        n2 = r * s
        if affine:
            n1 = _fma(n1, std, mean)
            n2 = _fma(n2, std, mean)
        u1[i] = n1
        u2[i] = n2
    for b in range(d.shape[0]):
        for j in range(8):
            d[b, j] = u1[b * 8 + j]
            d[b, j + 8] = u2[b * 8 + j]


@numba.njit(nogil=True, cache=True)
def uniform_f32(words, lo, span, hi, out):
    """out = fma((w & 0xFFFFFF) * 2**-24, span, lo), a value equal to hi becoming lo."""
    scale = _f(2.0 ** -24)
    for i in range(words.size):
        u = _f(words[i] & np.uint32(0xFFFFFF)) * scale
        v = _fma(u, span, lo)
        out[i] = lo if v == hi else v


@numba.njit(nogil=True, cache=True)
def randint_u32(words, rng, low, out):
    """out = words % rng + low (32-bit words, rng < 2**28). The remainder goes through a float64 quotient
    (exact to within one, then corrected), which vectorises where an integer division would not."""
    d = np.float64(rng)
    inv = 1.0 / d
    di = np.int64(rng)
    for i in range(words.size):
        w = np.float64(words[i])
        r = np.int64(w - math.floor(w * inv) * d)
        r = r + di if r < 0 else r
        r = r - di if r >= di else r
        out[i] = r + low


@numba.njit(nogil=True, cache=True)
def dropout_f32(words, threshold, scale, x, y, mask):
    """torch's dropout mask and output in one pass over float32 ``x``: element i keeps when its 53-bit
    uniform ((w[2i] << 32 | w[2i+1]) & (2**53 - 1)) * 2**-53 is below 1 - p -- compared here as the integer
    below ``threshold`` = ceil((1 - p) * 2**53), the same test -- then mask = scale (1 / (1 - p)) or 0 and
    y = x * mask."""
    for i in range(x.size):
        k = (np.int64(words[2 * i] & np.uint32(0x1FFFFF)) << 32) | np.int64(words[2 * i + 1])
        m = scale if k < threshold else _f(0.0)
        mask[i] = m
        y[i] = x[i] * m


@numba.njit(nogil=True, cache=True)
def swaps(t, r):
    """r[i] <-> r[t[i]] for i in order (torch's randperm)."""
    for i in range(t.size):
        j = t[i]
        x = r[i]
        r[i] = r[j]
        r[j] = x


@numba.njit(nogil=True, cache=True)
def _log(x, out):
    for i in range(x.size):
        out[i] = math.log(x[i])


@numba.njit(nogil=True, cache=True)
def _log1p(x, out):
    for i in range(x.size):
        out[i] = math.log1p(x[i])


@numba.njit(nogil=True, cache=True)
def _tan(x, out):
    for i in range(x.size):
        out[i] = math.tan(x[i])


@numba.njit(nogil=True, cache=True)
def _exp(x, out):
    for i in range(x.size):
        out[i] = math.exp(x[i])


libm = {"log": _log, "log1p": _log1p, "tan": _tan, "exp": _exp}       # glibc's, as torch calls them
poisson = numba.njit(nogil=True)(make_poisson(_fma))
