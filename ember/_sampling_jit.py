"""Compiled (Numba) inner loops for ``ember/_sampling.py``, used when Numba is installed.

Same arithmetic as the NumPy code paths, one element at a time in machine code: a hardware fused
multiply-add (LLVM's ``fma``) where torch's kernels fuse, float32 where torch computes in float32. The
NumPy paths and these loops give identical bits (tests/test_random.py checks both against torch); these
are just several times faster for ``randn``/``uniform_``/``randint`` on large tensors.
"""
import math

import numpy as np

try:
    import numba
    from numba.extending import intrinsic
except Exception:  # pragma: no cover - Numba is optional
    numba = None

__all__ = ["available", "box_muller16_f32", "uniform_f32", "randint_u32"]

available = numba is not None

if available:
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
        """out = words % rng + low (32-bit words, rng < 2**28)."""
        for i in range(words.size):
            out[i] = np.int64(words[i] % rng) + low


if not available:
    def _fma(a, b, c):
        from ._exact_math import fma64
        return float(fma64(a, b, c))


def poisson(lam, u, out, fused):
    """torch's CPU sample_poisson for each rate in ``lam``, drawing 53-bit uniforms from ``u`` in order.
    Returns how many uniforms were used, or -1 if ``u`` ran out (the caller retries with more)."""
    j = 0
    nu = u.size
    for i in range(lam.size):
        lmb = lam[i]
        if lmb >= 10:   # transformed rejection (Hoermann, 1993)
            slam = math.sqrt(lmb)
            loglam = math.log(lmb)
            b = _fma(2.53, slam, 0.931) if fused else 0.931 + 2.53 * slam
            a = _fma(0.02483, b, -0.059) if fused else -0.059 + 0.02483 * b
            invalpha = 1.1239 + 1.1328 / (b - 3.4)
            vr = 0.9277 - 3.6224 / (b - 2)
            while True:
                if j + 2 > nu:
                    return -1
                U = u[j] - 0.5
                V = u[j + 1]
                j += 2
                us = 0.5 - abs(U)
                t = (_fma(2 * a / us + b, U, lmb) if fused else (2 * a / us + b) * U + lmb) + 0.43
                k = np.int64(math.floor(t))
                if us >= 0.07 and V <= vr:
                    break
                if k < 0 or (us < 0.013 and V > us):
                    continue
                rhs = (_fma(float(k), loglam, -lmb) if fused else -lmb + k * loglam) - math.lgamma(float(k) + 1)
                if math.log(V) + math.log(invalpha) - math.log(a / (us * us) + b) <= rhs:
                    break
            out[i] = k
        elif lmb == 0:
            out[i] = 0
        else:           # multiply uniforms until the product falls below exp(-lambda)
            enlam = math.exp(-lmb)
            x = 0
            prod = 1.0
            while True:
                if j >= nu:
                    return -1
                prod *= u[j]
                j += 1
                if prod > enlam:
                    x += 1
                else:
                    break
            out[i] = x
    return j


if available:
    poisson = numba.njit(nogil=True, cache=True)(poisson)
