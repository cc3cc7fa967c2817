"""Special functions (``torch.special``): array kernels of double-precision accuracy, and their Functions.

No SciPy: each kernel is a short, vectorised numerical method, chosen so that every term is positive or
the error is bounded (the methods Cephes and Numerical Recipes use):

* erf: the series erf x = 2/√π e^{-x²} Σ 2ⁿ x^{2n+1}/(2n+1)!! (all terms positive) for |x| < 2.5;
  erfc: the continued fraction e^{-x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))) for x ≥ 1.5.
* erfinv / ndtri: a closed-form first guess (Winitzki), then Newton steps on erf (or on log erfc in the tails).
* lgamma, digamma: shift x up by 10 with Γ(x+1) = xΓ(x), then Stirling's / the asymptotic series;
  reflection formulas for x < ½. zeta (Hurwitz) and polygamma: Euler–Maclaurin summation.
* gammainc: the power series below x = a + 1, the continued fraction for Q above (Numerical Recipes).
* Airy Ai: its power series near 0, Bessel K_{1/3} / J_{±1/3} of (2/3)|x|^{3/2} beyond.
* Bessel I: the power series Σ (x²/4)ᵏ/(k!(k+ν)!) below |x| = 20, Hankel's asymptotic series above.
  Bessel J, Y, K: Gauss–Legendre quadrature of their integral representations (J, Y: x < 25), asymptotic
  series beyond.

Kernels compute in float64 and return the input's float dtype. Each Function's docstring is its derivative.
"""
import math
from fractions import Fraction

import numpy as np

from ..autograd.function import Function
from ._util import float_result, array_module, wrap, arrays2

SQRT_PI = math.sqrt(math.pi)
SQRT2 = math.sqrt(2.0)
EULER = 0.57721566490153286061


def _bernoulli(n):
    """Bernoulli numbers B_0..B_n (exact fractions, B_1 = -1/2)."""
    B = [Fraction(0)] * (n + 1)
    for m in range(n + 1):
        A = [Fraction(0)] * (m + 1)
        for j in range(m + 1):
            A[j] = Fraction(1, j + 1)
            for k in range(j, 0, -1):
                A[k - 1] = k * (A[k - 1] - A[k])
        B[m] = A[0] if m != 1 else Fraction(-1, 2)
    return B


_B = _bernoulli(26)
_B2K = [float(_B[2 * k]) for k in range(1, 13)]                     # B_2, B_4, ..., B_24
_ZETA_A = [math.factorial(2 * k) / float(_B[2 * k]) for k in range(1, 13)]  # (2k)!/B_2k, as Cephes' table


# ---- error function family ------------------------------------------------------------------------------
def _erf_series(x):
    x2 = x * x
    term, total = x.copy(), x.copy()
    n_terms = 50 if x.size == 0 or float(x2.max()) > 2.25 else 30  # |x| < 1.5 converges in 30 terms
    for n in range(n_terms):
        term *= x2
        term *= 2 / (2 * n + 3)
        total += term
    total *= array_module(x).exp(-x2)
    total *= 2 / SQRT_PI
    return total


def _erfc_cf(x, depth=100):
    """t(x) with erfc(x) = e^{-x²}/(√π t(x)), for x ≥ 1.5 (the continued fraction, ``depth`` levels deep:
    100 gives full double precision from 1.5 on, 40 from 2.5 on)."""
    xp = array_module(x)
    t = x.copy()
    for k in range(depth, 0, -1):
        xp.divide(k / 2, t, out=t)
        t += x
    return t


def _split(x, small):
    """Evaluate two branches only where each applies: (values of x where small, where not)."""
    return x[small], x[~small]


def erf_array(x):
    xp = array_module(x)
    a = xp.abs(x)
    small = a < 2.5
    out = xp.empty_like(a)
    lo, hi = _split(a, small)
    with np.errstate(all="ignore"):
        out[small] = _erf_series(lo)
        out[~small] = 1 - xp.exp(-hi * hi) / (SQRT_PI * _erfc_cf(hi, 40))
    return xp.where(xp.isnan(x), x, xp.sign(x) * out)


def erfc_array(x):
    xp = array_module(x)
    a = xp.abs(x)
    tail = a >= 1.5
    pos = xp.empty_like(a)
    hi, lo = _split(a, tail)
    with np.errstate(all="ignore"):
        pos[tail] = xp.exp(-hi * hi) / (SQRT_PI * _erfc_cf(hi, 100 if hi.size and float(hi.min()) < 2.5 else 40))
        pos[~tail] = 1 - _erf_series(lo)
    return xp.where(xp.isnan(x), x, xp.where(x < 0, 2 - pos, pos))


def erfcx_array(x):
    """e^{x²} erfc(x), without overflow for large positive x."""
    xp = array_module(x)
    tail = x >= 1.5
    with np.errstate(all="ignore"):
        cf = 1 / (SQRT_PI * _erfc_cf(xp.where(tail, x, 1.5)))
        near = xp.exp(x * x) * erfc_array(xp.where(tail, 0.0, x))
    return xp.where(tail, cf, near)


def log_erfc_array(x):
    """log erfc(x), accurate far into the right tail."""
    xp = array_module(x)
    tail = x >= 1.5
    with np.errstate(all="ignore"):
        far = -x * x - math.log(SQRT_PI) - xp.log(_erfc_cf(xp.where(tail, x, 1.5)))
        near = xp.log(erfc_array(xp.where(tail, 0.0, x)))
    return xp.where(tail, far, near)


def ndtr_array(x):
    return 0.5 * erfc_array(-x / SQRT2)


def log_ndtr_array(x):
    xp = array_module(x)
    with np.errstate(all="ignore"):
        left = math.log(0.5) + log_erfc_array(-x / SQRT2)
        right = xp.log1p(-0.5 * erfc_array(x / SQRT2))
    return xp.where(x < 0, left, right)


def _guess_inv(log1mx2):
    """Winitzki's closed form for erfinv from ln(1 - y²) (relative error ~2e-3)."""
    a = 0.147
    b = 2 / (math.pi * a) + log1mx2 / 2
    return np.sqrt(np.sqrt(b * b - log1mx2 / a) - b)


def _erfcinv_small(q):
    """erfcinv(q) for 0 < q ≤ 0.5: Newton steps on log erfc(x) = log q."""
    xp = array_module(q)
    with np.errstate(all="ignore"):
        x = _guess_inv(xp.log(q) + xp.log(2 - q))
        lq = xp.log(q)
        for _ in range(6):
            le = log_erfc_array(x)
            slope = -2 / SQRT_PI * xp.exp(-x * x - le)   # d log erfc / dx
            x = x - (le - lq) / slope
    return x


def erfinv_array(y):
    xp = array_module(y)
    a = xp.abs(y)
    mid = a <= 0.5
    with np.errstate(all="ignore"):
        ym = xp.where(mid, y, 0.0)
        x = _guess_inv(xp.log1p(-ym * ym)) * xp.sign(ym)
        for _ in range(4):  # Halley on erf(x) = y: cubic convergence
            f = erf_array(x) - ym
            d = 2 / SQRT_PI * xp.exp(-x * x)
            x = x - f / (d + x * f)
        tail = _erfcinv_small(xp.where(mid | (a >= 1), 0.5, 1 - a))
    out = xp.where(mid, x, xp.sign(y) * tail)
    out = xp.where(a == 1, xp.sign(y) * np.inf, out)
    return xp.where((a > 1) | xp.isnan(y), np.nan, out)


def ndtri_array(p):
    """Φ^-1(p) = -√2 erfcinv(2p)."""
    xp = array_module(p)
    q = 2 * p
    with np.errstate(all="ignore"):
        lo = -SQRT2 * _erfcinv_small(xp.where((q > 0) & (q <= 0.5), q, 0.5))
        hi = SQRT2 * _erfcinv_small(xp.where((q >= 1.5) & (q < 2), 2 - q, 0.5))
        mid = -SQRT2 * erfinv_array(xp.where((q > 0.5) & (q < 1.5), 1 - q, 0.0))
    out = xp.where(q <= 0.5, lo, xp.where(q >= 1.5, hi, mid))
    out = xp.where(p == 0, -np.inf, xp.where(p == 1, np.inf, out))
    return xp.where((p < 0) | (p > 1) | xp.isnan(p), np.nan, out)


# ---- gamma family -------------------------------------------------------------------------------------
def _stirling_lgamma(z):
    """log Γ(z) for z ≥ 10: Stirling's series with 8 Bernoulli terms."""
    xp = array_module(z)
    s = (z - 0.5) * xp.log(z) - z + 0.5 * math.log(2 * math.pi)
    zi = 1 / z
    z2 = zi * zi
    corr = 0
    p = zi
    for k in range(1, 9):
        corr = corr + _B2K[k - 1] / (2 * k * (2 * k - 1)) * p
        p = p * z2
    return s + corr


def _lgamma_pos(x):
    """log Γ(x) for x ≥ 0.5 (shifted by 10 where x < 10)."""
    xp = array_module(x)
    low = x < 10
    prod = xp.ones_like(x)
    for k in range(10):
        prod = prod * xp.where(low, x + k, 1.0)
    return _stirling_lgamma(xp.where(low, x + 10, x)) - xp.log(prod)


def _sin_pi(x):
    """sin(πx) with the argument reduced first (exact zeros at the integers)."""
    xp = array_module(x)
    r = x - 2 * xp.floor(x / 2)
    return xp.sin(math.pi * r)


_ZETA_K = []


def _lgamma_near_1_2(x):
    """log Γ for 0.5 ≤ x < 2.5 from log Γ(1 + e) = -γe + Σ_k (-1)^k ζ(k) e^k / k (|e| ≤ ½), and
    log Γ(2 + e) = log(1 + e) + log Γ(1 + e): exact zeros at 1 and 2, full relative precision near them."""
    xp = array_module(x)
    if not _ZETA_K:
        _ZETA_K.extend(zeta_array(np.arange(2.0, 62.0), np.ones(60)).tolist())
    up = x >= 1.5
    e = xp.where(up, x - 2, x - 1)
    total = xp.zeros_like(e)
    for k in range(61, 1, -1):  # Horner in e
        total = (total + (-1) ** k * _ZETA_K[k - 2] / k) * e
    total = (total - EULER) * e
    return xp.where(up, xp.log1p(e) + total, total) + 0.0  # + 0.0: log Γ(1) is +0, not -0


def lgamma_array(x):
    xp = array_module(x)
    neg = x < 0.5
    with np.errstate(all="ignore"):
        y = xp.where(neg, 1 - x, x)
        near = (y >= 0.5) & (y < 2.5)
        pos = xp.where(near, _lgamma_near_1_2(xp.where(near, y, 1.0)), _lgamma_pos(y))
        refl = math.log(math.pi) - xp.log(xp.abs(_sin_pi(x))) - pos
    out = xp.where(neg, refl, pos)
    out = xp.where((x <= 0) & (x == xp.floor(x)), np.inf, out)
    return xp.where(xp.isinf(x), np.inf, out)


def _digamma_pos(x):
    xp = array_module(x)
    low = x < 10
    shift = xp.zeros_like(x)
    for k in range(10):
        shift = shift + xp.where(low, 1 / (x + k), 0.0)
    z = xp.where(low, x + 10, x)
    zi2 = 1 / (z * z)
    s = xp.log(z) - 0.5 / z
    p = zi2
    for k in range(1, 9):
        s = s - _B2K[k - 1] / (2 * k) * p
        p = p * zi2
    return s - shift


def digamma_array(x):
    xp = array_module(x)
    neg = x < 0.5
    with np.errstate(all="ignore"):
        pos = _digamma_pos(xp.where(neg, 1 - x, x))
        refl = pos - math.pi / xp.tan(math.pi * xp.where(neg, x, 0.25))
        refl = xp.where(x == 0, -math.pi / xp.tan(math.pi * x) + 0 * pos, refl)  # ψ(±0) = ∓inf
    out = xp.where(neg, refl, pos)
    return xp.where((x < 0) & (x == xp.floor(x)), np.nan, out)


def zeta_array(s, q):
    """Hurwitz ζ(s, q) = Σ_k (q + k)^-s by Euler–Maclaurin (as Cephes' zeta: sum until q + k > 9, 12 terms)."""
    xp = array_module(s)
    s, q = xp.broadcast_arrays(s, q)
    with np.errstate(all="ignore"):
        n = 10 + int(max(0.0, math.ceil(-float(xp.nanmin(q))))) if q.size and np.isfinite(xp.nanmin(q)) else 10
        n = min(n, 10000)
        total = xp.zeros(s.shape, np.float64)
        for k in range(n):
            total = total + (q + k) ** -s
        w = q + n
        b = w ** -s
        total = total + b  # the term at w itself, as Cephes
        total = total + b * w / (s - 1) - 0.5 * b
        a = xp.ones(s.shape, np.float64)
        kk = 0.0
        for i in range(12):
            a = a * (s + kk)
            b = b / w
            total = total + a * b / _ZETA_A[i]
            kk += 1
            a = a * (s + kk)
            b = b / w
            kk += 1
    out = xp.where(s == 1, np.inf, total)
    out = xp.where(s < 1, np.nan, out)
    qint = (q <= 0) & (q == xp.floor(q))
    out = xp.where(qint & (s >= 1), np.inf, out)
    return xp.where((q <= 0) & ~qint & (s != xp.floor(s)), np.nan, out)


def polygamma_array(n, x):
    if n == 0:
        return digamma_array(x)
    return (-1) ** (n + 1) * math.factorial(n) * zeta_array(np.float64(n + 1), x)


def gammainc_array(a, x, upper=False):
    """Regularised incomplete gamma P(a, x) (upper=True: Q = 1 - P)."""
    xp = array_module(a)
    a, x = xp.broadcast_arrays(a, x)
    with np.errstate(all="ignore"):
        use_series = x < a + 1
        # series for P
        aa = xp.where(use_series, a, 1.0)
        xs = xp.where(use_series, x, 0.5)
        ap = aa.copy()
        term = 1 / aa
        total = term.copy()
        for _ in range(300):
            ap = ap + 1
            term = term * xs / ap
            total = total + term
        P_series = total * xp.exp(-xs + aa * xp.log(xs) - lgamma_array(aa))
        # continued fraction for Q (modified Lentz)
        ac = xp.where(use_series, 1.0, a)
        xc = xp.where(use_series, 2.0, x)
        tiny = 1e-300
        b = xc + 1 - ac
        c = xp.full(b.shape, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for i in range(1, 300):
            an = -i * (i - ac)
            b = b + 2
            d = an * d + b
            d = xp.where(xp.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < tiny, tiny, c)
            d = 1 / d
            h = h * d * c
        Q_cf = xp.exp(-xc + ac * xp.log(xc) - lgamma_array(ac)) * h
    P = xp.where(use_series, P_series, 1 - Q_cf)
    Q = xp.where(use_series, 1 - P_series, Q_cf)
    out = Q if upper else P
    out = xp.where(x == 0, 1.0 if upper else 0.0, out)
    out = xp.where((a == 0) & (x > 0), 0.0 if upper else 1.0, out)
    out = xp.where(xp.isinf(x) & (x > 0), 0.0 if upper else 1.0, out)
    return xp.where((a < 0) | (x < 0) | xp.isnan(a) | xp.isnan(x), np.nan, out)


# ---- Bessel functions ---------------------------------------------------------------------------------
def _hankel_coef(nu, k):
    """a_k(ν) = (4ν² - 1)(4ν² - 9)···(4ν² - (2k-1)²) / (k! 8^k)."""
    mu = 4 * nu * nu
    c = 1.0
    for j in range(1, k + 1):
        c *= (mu - (2 * j - 1) ** 2) / (j * 8)
    return c


def _bessel_i_scaled(nu, x):
    """e^{-|x|} I_ν(|x|) for ν = 0, 1 (the sign of x is applied by the caller)."""
    xp = array_module(x)
    a = xp.abs(x)
    small = a < 20
    xs = xp.where(small, a, 0.0)
    q = xs * xs / 4
    term = (xs / 2) ** nu
    total = term.copy()
    for k in range(1, 80):
        term = term * q / (k * (k + nu))
        total = total + term
    series = total * xp.exp(-xs)
    xl = xp.where(small, 20.0, a)
    asym = xp.zeros_like(xl)
    p = xp.ones_like(xl)
    for k in range(0, 30):
        asym = asym + (-1) ** k * _hankel_coef(nu, k) * p
        p = p / xl
    asym = asym / xp.sqrt(2 * math.pi * xl)
    return xp.where(small, series, asym)


def i0e_array(x):
    return _bessel_i_scaled(0, x)


def i1e_array(x):
    return array_module(x).sign(x) * _bessel_i_scaled(1, x)


def i0_array(x):
    with np.errstate(over="ignore", invalid="ignore"):
        xp = array_module(x)
        a = xp.abs(x)
        return xp.where(xp.isinf(x), np.nan, _bessel_i_scaled(0, x) * xp.exp(a))  # nan at ±inf, as torch


def i1_array(x):
    with np.errstate(over="ignore", invalid="ignore"):
        xp = array_module(x)
        return xp.where(xp.isinf(x), np.nan, i1e_array(x) * xp.exp(xp.abs(x)))  # nan at ±inf, as torch


_GL_X, _GL_W = np.polynomial.legendre.leggauss(96)


def _gauss(lo, hi):
    """Gauss–Legendre nodes and weights on [lo, hi] (96 points)."""
    return (hi - lo) / 2 * _GL_X + (hi + lo) / 2, (hi - lo) / 2 * _GL_W


def _bessel_jy_asym(nu, x, kind):
    """Hankel's asymptotic series for J_ν, Y_ν at large x."""
    xp = array_module(x)
    P = xp.zeros_like(x)
    Q = xp.zeros_like(x)
    for k in range(0, 40):
        c = _hankel_coef(nu, k) / x ** k
        if k % 2 == 0:
            P = P + (-1) ** (k // 2) * c
        else:
            Q = Q + (-1) ** (k // 2) * c
    chi = x - (nu / 2 + 0.25) * math.pi
    amp = xp.sqrt(2 / (math.pi * x))
    if kind == "j":
        return amp * (P * xp.cos(chi) - Q * xp.sin(chi))
    return amp * (P * xp.sin(chi) + Q * xp.cos(chi))


def _blocked(fn):
    """Quadrature kernels make a (n, 96) array of nodes: run them on blocks of 16K elements."""
    def run(nu, x):
        xp = array_module(x)
        flat = x.reshape(-1)
        if flat.size <= 16384:
            return fn(nu, flat).reshape(x.shape)
        parts = [fn(nu, flat[i:i + 16384]) for i in range(0, flat.size, 16384)]
        return xp.concatenate(parts).reshape(x.shape)
    run.__doc__ = fn.__doc__
    return run


@_blocked
def bessel_j_array(nu, x):
    """J_ν(x) = (1/π) ∫_0^π cos(νθ - x sin θ) dθ (ν = 0, 1); J_ν(-x) = (-1)^ν J_ν(x)."""
    xp = array_module(x)
    a = xp.abs(x)
    small = a < 25
    xs = xp.where(small, a, 0.0)
    t, w = (xp.asarray(v) for v in _gauss(0.0, math.pi))
    quad = (xp.cos(nu * t - xs[..., None] * xp.sin(t)) * w).sum(-1) / math.pi
    with np.errstate(all="ignore"):
        asym = _bessel_jy_asym(nu, xp.where(small, 25.0, a), "j")
    out = xp.where(small, quad, asym)
    out = out * xp.sign(x) if nu == 1 else out
    return xp.where(xp.isinf(x), 0.0, out)


@_blocked
def bessel_y_array(nu, x):
    """Y_ν(x) = (1/π) ∫_0^π sin(x sin θ - νθ) dθ
    - (1/π) ∫_0^∞ (e^{νt} + (-1)^ν e^{-νt}) e^{-x sinh t} dt."""
    xp = array_module(x)
    small = (x > 0) & (x < 25)
    xs = xp.where(small, x, 1.0)
    t, w = (xp.asarray(v) for v in _gauss(0.0, math.pi))
    gx, gw = xp.asarray(_GL_X), xp.asarray(_GL_W)
    first = (xp.sin(xs[..., None] * xp.sin(t) - nu * t) * w).sum(-1) / math.pi
    # second integral: split [0, T] at the scale where x sinh t ~ 1 so both pieces stay smooth
    with np.errstate(all="ignore"):
        T = xp.arcsinh(50 / xs)
        mid = xp.minimum(xp.arcsinh(1 / xs), T)
        second = 0
        for lo, hi in ((0 * T, mid), (mid, T)):
            half = (hi - lo) / 2
            tt = half[..., None] * gx + (hi + lo)[..., None] / 2
            f = (xp.exp(nu * tt) + (-1) ** nu * xp.exp(-nu * tt)) * xp.exp(-xs[..., None] * xp.sinh(tt))
            second = second + (f * gw).sum(-1) * half
        quad = first - second / math.pi
        asym = _bessel_jy_asym(nu, xp.where(small | (x <= 0), 25.0, x), "y")
    out = xp.where(small, quad, asym)
    out = xp.where(x == 0, -np.inf, out)
    out = xp.where(xp.isinf(x) & (x > 0), 0.0, out)
    return xp.where((x < 0) | xp.isnan(x), np.nan, out)


@_blocked
def bessel_k_scaled_array(nu, x):
    """e^x K_ν(x) = ∫_0^∞ e^{-x (cosh t - 1)} cosh(νt) dt (split where x(cosh t - 1) ~ 1)."""
    xp = array_module(x)
    ok = x > 0
    xs = xp.where(ok, x, 1.0)
    gx, gw = xp.asarray(_GL_X), xp.asarray(_GL_W)
    with np.errstate(all="ignore"):
        T = xp.arccosh(1 + 60 / xs)
        mid = xp.minimum(xp.arccosh(1 + 1 / xs), T)
        total = 0
        for lo, hi in ((0 * T, mid), (mid, T)):
            half = (hi - lo) / 2
            tt = half[..., None] * gx + (hi + lo)[..., None] / 2
            f = xp.exp(-xs[..., None] * (xp.cosh(tt) - 1)) * xp.cosh(nu * tt)
            total = total + (f * gw).sum(-1) * half
    out = xp.where(x == 0, np.inf, total)
    out = xp.where(xp.isinf(x) & (x > 0), 0.0, out)
    return xp.where((x < 0) | xp.isnan(x), np.nan, out)


def bessel_k_array(nu, x):
    xp = array_module(x)
    with np.errstate(all="ignore"):
        out = bessel_k_scaled_array(nu, x) * xp.exp(-xp.where(x > 0, x, 0.0))
    return xp.where(xp.isinf(x) & (x > 0), 0.0, out)


# ---- Functions ----------------------------------------------------------------------------------------
def _kernel_f64(kernel, x, *args):
    """Run a float64 kernel on a float array and cast back (float32 in, float32 out)."""
    x = float_result(x)
    dt = x.dtype
    with np.errstate(all="ignore"):
        out = kernel(x.astype(np.float64), *args)
    return out.astype(dt, copy=False)


def _special_unary(name, torch_name, kernel, bwd, doc):
    """A one-input Function: forward ``kernel`` on arrays, backward ``bwd(g, a)`` with Tensor ops."""

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _kernel_f64(kernel, a._data)

    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return bwd(g, a)

    return type(name, (Function,), {"_grad_fn_name": torch_name, "__doc__": doc,
                                    "forward": staticmethod(forward), "backward": staticmethod(backward)})


def _pair(a, b):
    """Two operands (tensors or numbers) as float64 arrays, and torch's float result dtype for them."""
    from ..dtypes import result_type, get_default_dtype
    xa, xb = arrays2(a, b)
    dt = result_type(a, b)
    dt = dt.np if dt.is_floating_point else get_default_dtype().np
    xp = array_module(xa if hasattr(xa, "dtype") else xb)
    return xp.asarray(xa, dtype=np.float64), xp.asarray(xb, dtype=np.float64), dt


def _where(c, x, y):
    from ..functions import where
    return where(c, x, y)


Erfc = _special_unary("Erfc", "ErfcBackward0", erfc_array, lambda g, a: g * (-(a * a)).exp() * (-2 / SQRT_PI),
                      "erfc(a):  d/da = -2/√π exp(-a²)")
Erfcx = _special_unary("Erfcx", "SpecialErfcxBackward0", erfcx_array,
                       lambda g, a: g * (2 * a * Erfcx.apply(a) - 2 / SQRT_PI),
                       "erfcx(a):  d/da = 2a erfcx(a) - 2/√π")
Erfinv = _special_unary("Erfinv", "ErfinvBackward0", erfinv_array,
                        lambda g, a: g * (SQRT_PI / 2) * (Erfinv.apply(a) ** 2).exp(),
                        "erfinv(a):  d/da = √π/2 exp(erfinv(a)²)")
Ndtr = _special_unary("Ndtr", "SpecialNdtrBackward0", ndtr_array,
                      lambda g, a: g * (-(a * a) / 2).exp() / math.sqrt(2 * math.pi),
                      "Φ(a):  d/da = exp(-a²/2)/√(2π)")
Ndtri = _special_unary("Ndtri", "SpecialNdtriBackward0", ndtri_array,
                       lambda g, a: g * math.sqrt(2 * math.pi) * (Ndtri.apply(a) ** 2 / 2).exp(),
                       "Φ^-1(a):  d/da = √(2π) exp(Φ^-1(a)²/2)")
LogNdtr = _special_unary("LogNdtr", "SpecialLogNdtrBackward0", log_ndtr_array,
                         lambda g, a: g * (-(a * a) / 2 - LogNdtr.apply(a)).exp() / math.sqrt(2 * math.pi),
                         "log Φ(a):  d/da = exp(-a²/2 - log Φ(a))/√(2π)")
Lgamma = _special_unary("Lgamma", "LgammaBackward0", lgamma_array, lambda g, a: g * Digamma.apply(a),
                        "log|Γ(a)|:  d/da = ψ(a)")
Digamma = _special_unary("Digamma", "DigammaBackward0", digamma_array, lambda g, a: g * Polygamma.apply(a, 1),
                         "ψ(a):  d/da = ψ'(a) = polygamma(1, a)")
I0 = _special_unary("I0", "I0Backward0", i0_array, lambda g, a: g * I1.apply(a), "I0(a):  d/da = I1(a)")
I0e = _special_unary("I0e", "SpecialI0EBackward0", i0e_array, lambda g, a: g * (I1e.apply(a) - a.sign() * I0e.apply(a)),
                     "e^-|a| I0(a):  d/da = i1e(a) - sgn(a) i0e(a)")
I1 = _special_unary("I1", "SpecialI1Backward0", i1_array,
                    lambda g, a: g * _where(a == 0, 0.5, I0.apply(a) - I1.apply(a) / _where(a == 0, 1.0, a)),
                    "I1(a):  d/da = I0(a) - I1(a)/a  (1/2 at 0)")
I1e = _special_unary("I1e", "SpecialI1EBackward0", i1e_array,
                     lambda g, a: g * _where(a == 0, 0.5, I0e.apply(a) - I1e.apply(a) *
                                             (a.sign() + 1 / _where(a == 0, 1.0, a))),
                     "e^-|a| I1(a):  d/da = i0e(a) - i1e(a) (sgn(a) + 1/a)  (1/2 at 0)")


def _sinc_array(x):
    xp = array_module(x)
    px = math.pi * x
    return xp.where(x == 0, 1.0, xp.sin(px) / xp.where(x == 0, 1.0, px))


def _sinc_grad(g, a):
    pa = a * math.pi
    safe = _where(a == 0, 1.0, a)
    return g * _where(a == 0, 0.0, (pa * pa.cos() - pa.sin()) / (math.pi * safe * safe))


Sinc = _special_unary("Sinc", "SincBackward0", _sinc_array, _sinc_grad,
                      "sin(πa)/(πa):  d/da = (πa cos πa - sin πa)/(πa²)  (0 at a = 0)")


def _entr_array(x):
    xp = array_module(x)
    out = xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1.0)), xp.where(x == 0, 0.0, -np.inf))
    return xp.where(xp.isnan(x), x, out)


Entr = _special_unary("Entr", "SpecialEntrBackward0", _entr_array, lambda g, a: g * -(1 + a.log()),
                      "-a log a:  d/da = -(1 + log a)")


class Polygamma(Function):
    """ψ^(n)(a):  d/da = ψ^(n+1)(a)"""
    _grad_fn_name = "PolygammaBackward0"

    @staticmethod
    def forward(ctx, a, n):
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        ctx.n = n
        ctx.save_for_backward(a)
        return _kernel_f64(lambda x: polygamma_array(n, x), a._data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * Polygamma.apply(a, ctx.n + 1), None


class Zeta(Function):
    """Hurwitz ζ(x, q):  d/dq = -x ζ(x + 1, q)   (torch has no derivative in x either)"""
    _grad_fn_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q):
        xa, qa, dt = _pair(x, q)
        ctx.save_for_backward(x if hasattr(x, "_data") else None, q if hasattr(q, "_data") else None)
        ctx.x = x
        with np.errstate(all="ignore"):
            return zeta_array(xa, qa).astype(dt)

    @staticmethod
    def backward(ctx, g):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError("the derivative for 'x' of special_zeta is not implemented (as in torch)")
        xv = x if x is not None else ctx.x
        return None, g * -xv * Zeta.apply(xv + 1, q)


class Gammainc(Function):
    """P(a, x) (upper: Q = 1 - P):  d/dx = ±exp(-x) x^(a-1) / Γ(a)   (no derivative in a, as torch)"""
    _grad_fn_name = "SpecialGammaincBackward0"

    @staticmethod
    def forward(ctx, a, x, upper=False):
        aa, xa, dt = _pair(a, x)
        ctx.upper = upper
        ctx.save_for_backward(a, x)
        return gammainc_array(aa, xa, upper).astype(dt)

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise RuntimeError(f"the derivative for 'self' of special_gamma{'incc' if ctx.upper else 'inc'} "
                               "is not implemented (as in torch)")
        d = (-x + (a - 1) * x.log() - Lgamma.apply(a)).exp()
        return None, g * (-d if ctx.upper else d), None


class Xlog1py(Function):
    """a log(1 + b):  d/da = log1p(b) (0 where a = 0 and b ≤ -1),  d/db = a / (1 + b)"""
    _grad_fn_name = "SpecialXlog1PyBackward0"

    @staticmethod
    def forward(ctx, a, b):
        xa, xb, dt = _pair(a, b)
        xp = array_module(xa)
        ctx.save_for_backward(a if hasattr(a, "_data") else None, b if hasattr(b, "_data") else None)
        ctx.a, ctx.b = a, b
        with np.errstate(all="ignore"):
            out = xp.where(xa == 0, 0, xa * xp.log1p(xb))
        return xp.where(xp.isnan(xb), np.nan, out).astype(dt)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a = a if a is not None else ctx.a
        b = b if b is not None else ctx.b
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _where((a == 0) & (b <= -1), 0.0, g * (b + 1).log() if hasattr(b, "_data") else g * math.log1p(b))
        if ctx.needs_input_grad[1]:
            gb = g * a / (b + 1)
        return ga, gb


def nondiff(kernel, x, *args):
    """A special function torch does not differentiate (Bessel J/Y/K, polynomials): a plain result."""
    return wrap(_kernel_f64(kernel, x._data, *args))


def _bessel_j_frac(nu, z):
    """J_ν(z), z > 0, any real ν:
    (1/π)∫_0^π cos(νθ - z sin θ)dθ - (sin νπ/π)∫_0^∞ e^{-z sinh t - νt} dt
    (Gauss–Legendre on both; the second split where z sinh t ~ 1); Hankel's series for z ≥ 25."""
    xp = array_module(z)
    small = z < 25
    zs = xp.where(small, z, 1.0)
    t, w = (xp.asarray(v) for v in _gauss(0.0, math.pi))
    first = (xp.cos(nu * t - zs[..., None] * xp.sin(t)) * w).sum(-1) / math.pi
    gx, gw = xp.asarray(_GL_X), xp.asarray(_GL_W)
    with np.errstate(all="ignore"):
        T = xp.arcsinh(60 / zs)
        mid = xp.minimum(xp.arcsinh(1 / zs), T)
        second = 0
        for lo, hi in ((0 * T, mid), (mid, T)):
            half = (hi - lo) / 2
            tt = half[..., None] * gx + (hi + lo)[..., None] / 2
            second = second + (xp.exp(-zs[..., None] * xp.sinh(tt) - nu * tt) * gw).sum(-1) * half
        quad = first - math.sin(nu * math.pi) / math.pi * second
        asym = _bessel_jy_asym(nu, xp.where(small, 25.0, z), "j")
    return xp.where(small, quad, asym)


_AI0, _AIP0 = 0.355028053887817239260, 0.258819403792806798405  # Ai(0), -Ai'(0)


@_blocked
def _airy_blocks(_, x):
    xp = array_module(x)
    out = xp.empty_like(x)
    small = xp.abs(x) <= 2
    # power series near 0: Ai = c1 f - c2 g,  f = Σ 3^k (1/3)_k x^{3k}/(3k)!,  g = Σ 3^k (2/3)_k x^{3k+1}/(3k+1)!
    xs = x[small]
    x3 = xs ** 3
    f = xp.ones_like(xs)
    g = xs.copy()
    tf, tg = xp.ones_like(xs), xs.copy()
    for k in range(1, 40):
        tf = tf * x3 / ((3 * k - 1) * (3 * k))
        tg = tg * x3 / ((3 * k) * (3 * k + 1))
        f = f + tf
        g = g + tg
    out[small] = _AI0 * f - _AIP0 * g
    pos = (~small) & (x > 0)
    xp_ = x[pos]
    zeta = 2 / 3 * xp_ ** 1.5
    with np.errstate(all="ignore"):
        out[pos] = xp.sqrt(xp_ / 3) / math.pi * _k_scaled_any(1 / 3, zeta) * xp.exp(-zeta)
    neg = (~small) & (x < 0)
    xn = -x[neg]
    zeta = 2 / 3 * xn ** 1.5
    out[neg] = xp.sqrt(xn) / 3 * (_bessel_j_frac(1 / 3, zeta) + _bessel_j_frac(-1 / 3, zeta))
    out = xp.where(xp.isinf(x) & (x > 0), 0.0, out)
    return xp.where(xp.isnan(x) | (xp.isinf(x) & (x < 0)), np.nan, out)


def _k_scaled_any(nu, x):
    """e^x K_ν(x) for x > 0 and any real ν (bessel_k_scaled_array's quadrature holds for every order)."""
    return bessel_k_scaled_array(nu, x)


def airy_ai_array(x):
    """The Airy function Ai(x): its power series for |x| ≤ 2; beyond, Ai(x) = √(x/3)/π K_{1/3}(ζ) and
    Ai(-x) = √x/3 (J_{1/3}(ζ) + J_{-1/3}(ζ)), ζ = (2/3)|x|^{3/2}."""
    return _airy_blocks(0, x)
