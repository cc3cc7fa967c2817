"""Bit-exact float arithmetic that NumPy lacks, so random streams match PyTorch's CPU kernels.

* ``fma32`` / ``fma64``: fused multiply-add ``round(a*b + c)`` with ONE rounding. NumPy has no fma; torch's
  kernels use it (explicitly, or because the compiler contracts ``a*b + c``). float32: ``a*b`` is exact in
  float64, so only the final sum needs care: ``round32(round64(p + c))`` is wrong only when ``round64`` lands
  exactly on a float32 midpoint, which we detect and fix with the sum's exact error (TwoSum). float64: the
  error-free TwoProduct/TwoSum transformations plus "round to odd" (Boldo & Melquiond, 2008).
* ``log``/``log1p``/``sin``/``cos``/``tan``/``exp``: glibc's own results, as torch's CPU kernels call glibc.
  NumPy's float64 ``log``/``log1p``/``exp``/``tan`` are its own SIMD code and differ in the last bit for a
  few inputs per thousand (0.3% for log, 7% for log1p); we call glibc through Python's ``math`` module (or,
  for large arrays, Numba's compiled loops, which call the same libm, when Numba is installed).
* ``avx_log`` / ``avx_sincos``: torch's float32 ``log256_ps``/``sincos256_ps`` (Cephes polynomials from
  ``avx_mathfun.h``), emulated operation by operation in float32, with the multiply-adds GCC contracts into
  fma in torch's build.
"""
import math

import numpy as np

__all__ = ["fma32", "fma64", "libm", "avx_log", "avx_sincos"]

_F = np.float32
_INF = np.float64(np.inf)


def fma32(a, b, c):
    """float32 ``round(a*b + c)`` with a single rounding (arrays or scalars, broadcast)."""
    p = np.multiply(np.asarray(a, np.float64), np.asarray(b, np.float64))   # exact: 24+24 bits <= 53
    c = np.asarray(c, np.float64)
    s = p + c
    # round32(s) equals round32(p + c) unless s sits exactly on a float32 midpoint (then the exact value's
    # side decides): low 29 bits of the double's mantissa == 1 followed by 28 zeros.
    mid = (np.asarray(s).view(np.uint64) & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)
    if mid.any():
        s = np.array(s, copy=True)
        pm = np.broadcast_to(p, s.shape)[mid]
        cm = np.broadcast_to(c, s.shape)[mid]
        sm = s[mid]
        bb = sm - pm
        err = (pm - (sm - bb)) + (cm - bb)
        s[mid] = np.where(err > 0, np.nextafter(sm, _INF), np.where(err < 0, np.nextafter(sm, -_INF), sm))
    return np.asarray(s).astype(np.float32)


_SPLIT = np.float64(134217729.0)  # 2**27 + 1, Veltkamp splitting


def _two_prod(a, b):
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def fma64(a, b, c):
    """float64 ``round(a*b + c)`` with a single rounding: TwoProduct, TwoSum, then round-to-odd addition."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    c = np.asarray(c, np.float64)
    uh, ul = _two_prod(a, b)
    th, tl = _two_sum(c, uh)
    v, ve = _two_sum(tl, ul)
    # round v to odd: if inexact and its last bit is even, step one ulp toward the exact value
    even = (np.asarray(v).view(np.uint64) & np.uint64(1)) == 0
    fix = (ve != 0) & even
    if np.any(fix):
        v = np.where(fix, np.nextafter(v, np.where(ve > 0, _INF, -_INF)), v)
    out = th + v
    # products/sums that overflow or involve inf/nan: plain arithmetic gives the IEEE answer
    bad = ~np.isfinite(out) | ~np.isfinite(uh)
    if np.any(bad):
        out = np.where(bad, a * b + c, out)
    return out


# ---- glibc's libm ------------------------------------------------------------------------------------------
_MATH = {"log": math.log, "log1p": math.log1p, "sin": math.sin, "cos": math.cos, "tan": math.tan,
         "exp": math.exp}
_ufuncs = {}


def libm(name, x):
    """glibc's float64 ``name`` (log, log1p, sin, cos, tan, exp) elementwise on ``x`` (float64 result)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if name in ("sin", "cos"):       # NumPy's float64 sin/cos agree with glibc bit for bit
        return getattr(np, name)(x)
    from ._sampling_jit import kernels
    k = kernels(x.size)
    if k is not None:
        out = np.empty_like(x)
        k.libm[name](x.reshape(-1), out.reshape(-1))
        return out
    u = _ufuncs.get(name)
    if u is None:
        u = _ufuncs[name] = np.frompyfunc(_MATH[name], 1, 1)
    return u(x).astype(np.float64) if x.size else x.copy()


# ---- torch's avx_mathfun.h (float32, AVX2), with GCC's fma contractions ----------------------------------
_SQRTHF = _F(0.707106781186547524)
_LOGP = [_F(v) for v in (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                         1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                         3.3333331174E-1)]
_LOGQ1, _LOGQ2 = _F(-2.12194440e-4), _F(0.693359375)


def avx_log(x):
    """``log256_ps`` for positive normal float32 ``x``."""
    x = np.ascontiguousarray(x, np.float32)
    xi = x.view(np.int32)
    e = ((xi >> 23) - 127).astype(np.float32) + _F(1)
    m = ((xi & ~0x7f800000) | 0x3f000000).view(np.float32)
    small = m < _SQRTHF
    m = (m - _F(1)) + np.where(small, m, _F(0))
    e = e - small.astype(np.float32)
    z = m * m
    y = fma32(_LOGP[0], m, _LOGP[1])
    for p in _LOGP[2:]:
        y = fma32(y, m, p)
    y = fma32(y * m, z, e * _LOGQ1)         # y*z + e*q1, GCC fuses the first product
    y = fma32(z, _F(-0.5), y)               # y - z*0.5
    return fma32(e, _LOGQ2, m + y)          # (x + y) + e*q2


_DP = (_F(-0.78515625), _F(-2.4187564849853515625e-4), _F(-3.77489497744594108e-8))
_SINC = (_F(-1.9515295891E-4), _F(8.3321608736E-3), _F(-1.6666654611E-1))
_COSC = (_F(2.443315711809948E-005), _F(-1.388731625493765E-003), _F(4.166664568298827E-002))
_FOPI = _F(1.27323954473516)


def avx_sincos(x):
    """``sincos256_ps`` for float32 ``x`` (returns sin, cos)."""
    x = np.ascontiguousarray(x, np.float32)
    neg = np.signbit(x)
    x = np.abs(x)
    j = (x * _FOPI).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    swap_sin = (j & 4) != 0
    poly = (j & 2) == 0
    for dp in _DP:                          # extended-precision range reduction x - y*pi/4
        x = fma32(y, dp, x)
    neg_cos = (~(j - 2) & 4) != 0
    z = x * x
    yc = fma32(fma32(_COSC[0], z, _COSC[1]), z, _COSC[2]) * z
    yc = fma32(yc, z, -(z * _F(0.5))) + _F(1)
    ys = fma32(fma32(_SINC[0], z, _SINC[1]), z, _SINC[2]) * z
    ys = fma32(ys, x, x)
    s = np.where(poly, ys, yc)
    c = np.where(poly, yc, ys)
    s = np.where(swap_sin ^ neg, -s, s)
    c = np.where(neg_cos, -c, c)
    return s, c
