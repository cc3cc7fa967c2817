"""The special functions the distributions need: lgamma, digamma, polygamma, erfinv (and mvlgamma).

Private to ``ember.distributions`` until ``ember.special`` provides them; each is one Function:

    lgamma(a):          d/da = digamma(a)
    digamma(a):         d/da = polygamma(1, a)
    polygamma(n, a):    d/da = polygamma(n + 1, a)
    erfinv(a):          d/da = sqrt(pi)/2 * exp(erfinv(a)^2)

The array math is vectorised: a fixed number of recurrence steps (not a loop over elements) moves every
argument into the range where an asymptotic series is accurate to float64 precision.
"""
import math

import numpy as np

from ..autograd.function import Function
from ..ops._util import array_module, float_result
from ..ops.pointwise import _unary, _erf

_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)


def _lgamma_pos(xp, x):
    """log Gamma(x) for x > 0.5 by Lanczos' approximation (g = 7, 9 terms; ~1e-15 relative)."""
    z = x - 1
    a = xp.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        a = a + c / (z + i)
    t = z + 7.5
    return 0.5 * math.log(2 * math.pi) + (z + 0.5) * xp.log(t) - t + xp.log(a)


def lgamma_array(x):
    """log|Gamma(x)| on arrays; reflection log(pi/|sin(pi x)|) - lgamma(1-x) below 0.5; +inf at 0, -1, ..."""
    xp = array_module(x)
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        small = x64 < 0.5
        pos = _lgamma_pos(xp, xp.where(small, 1 - x64, x64))
        refl = math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * x64))) - pos
        out = xp.where(small, refl, pos)
        out = xp.where((x64 <= 0) & (x64 == xp.floor(x64)), xp.inf, out)
        out = xp.where(xp.isinf(x64), xp.inf, out)
        out = xp.where((x64 == 1) | (x64 == 2), 0.0, out)
    return out.astype(x.dtype)


def _hurwitz_zeta(xp, s, x):
    """zeta(s, x) = sum_k (x+k)^-s for s > 1, x > 0, by Euler-Maclaurin after 9 direct terms."""
    n = 9
    total = xp.zeros_like(x)
    for k in range(n):
        total = total + (x + k) ** -s
    a = x + n
    total = total + a ** (1 - s) / (s - 1) + 0.5 * a ** -s
    # Bernoulli numbers B2, B4, ... over (2j)!
    b = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)
    fact, rising = 1.0, 1.0
    for j, bj in enumerate(b, 1):
        fact *= (2 * j - 1) * (2 * j)
        rising = rising * (s + 2 * j - 2) * ((s + 2 * j - 3) if j > 1 else 1)
        total = total + bj / fact * rising * a ** (-s - 2 * j + 1)
    return total


def digamma_array(x):
    """psi(x) = d/dx log Gamma(x): reflection below 0.5, six upward steps, then the asymptotic series."""
    xp = array_module(x)
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        small = x64 < 0.5
        y = xp.where(small, 1 - x64, x64)
        acc = xp.zeros_like(y)
        for _ in range(6):  # psi(y) = psi(y+1) - 1/y
            lo = y < 6
            acc = acc - xp.where(lo, 1 / y, 0)
            y = xp.where(lo, y + 1, y)
        r = 1 / (y * y)
        series = xp.log(y) - 0.5 / y - r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132)))))
        pos = acc + series
        out = xp.where(small, pos - math.pi / xp.tan(math.pi * x64), pos)
        out = xp.where(x64 == 0, -xp.inf, out)
        out = xp.where((x64 < 0) & (x64 == xp.floor(x64)), xp.nan, out)
    return out.astype(x.dtype)


def polygamma_array(n, x):
    """psi^(n)(x) = (-1)^(n+1) n! zeta(n+1, x) for n >= 1 (x > 0; reflection for n = 1 below 0.5)."""
    if n == 0:
        return digamma_array(x)
    xp = array_module(x)
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        if n == 1:
            small = x64 < 0.5
            z = _hurwitz_zeta(xp, 2.0, xp.where(small, 1 - x64, x64))
            out = xp.where(small, -z + (math.pi / xp.sin(math.pi * x64)) ** 2, z)
            out = xp.where((x64 <= 0) & (x64 == xp.floor(x64)), xp.inf, out)
        else:
            out = (-1) ** (n + 1) * math.factorial(n) * _hurwitz_zeta(xp, float(n + 1), x64)
            out = xp.where(x64 <= 0, xp.nan, out)
    return out.astype(x.dtype)


def erfinv_array(y):
    """erf^-1(y): Giles' single-precision approximation, then two Newton steps on erf(x) = y."""
    xp = array_module(y)
    y64 = y.astype(np.float64)
    with np.errstate(all="ignore"):
        w = -xp.log((1 - y64) * (1 + y64))
        ws = w - 2.5
        p1 = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p1 = c + p1 * ws
        wl = xp.sqrt(w) - 3
        p2 = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p2 = c + p2 * wl
        x = xp.where(w < 5, p1, p2) * y64
        for _ in range(2):
            x = x - (_erf(xp, x) - y64) / (2 / math.sqrt(math.pi) * xp.exp(-x * x))
        x = xp.where(y64 == 1, xp.inf, xp.where(y64 == -1, -xp.inf, x))
        x = xp.where(xp.abs(y64) > 1, xp.nan, x)
    return x.astype(y.dtype)


Lgamma = _unary("Lgamma", "LgammaBackward0", lambda xp, x: lgamma_array(x), lambda g, a, y: g * digamma(a),
                doc="log|Gamma(a)|: d/da = digamma(a)")
Digamma = _unary("Digamma", "DigammaBackward0", lambda xp, x: digamma_array(x),
                 lambda g, a, y: g * polygamma(1, a), doc="digamma(a): d/da = polygamma(1, a)")
Erfinv = _unary("Erfinv", "ErfinvBackward0", lambda xp, x: erfinv_array(x),
                lambda g, a, y: g * (math.sqrt(math.pi) / 2) * (y * y).exp(), "output",
                "erfinv(a): d/da = sqrt(pi)/2 exp(erfinv(a)^2)")


class Polygamma(Function):
    """polygamma(n, a):  d/da = polygamma(n + 1, a)"""
    _grad_fn_name = "PolygammaBackward0"

    @staticmethod
    def forward(ctx, a, n):
        ctx.n = n
        ctx.save_for_backward(a)
        return polygamma_array(n, float_result(a._data))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, a), None


def lgamma(x):
    return Lgamma.apply(x)


def digamma(x):
    return Digamma.apply(x)


def polygamma(n, x):
    return Polygamma.apply(x, n)


def erfinv(x):
    return Erfinv.apply(x)


def mvlgamma(x, p):
    """Multivariate log-gamma: p(p-1)/4 log(pi) + sum_j lgamma(x - j/2), j = 0..p-1."""
    from .. import arange
    j = arange(p, dtype=x.dtype) / 2
    return lgamma(x.unsqueeze(-1) - j).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


def gammainc_array(a, x):
    """Regularised lower incomplete gamma P(a, x): its power series where x < a + 1, else 1 - Q with Q
    from the continued fraction (modified Lentz, a fixed number of vectorised steps)."""
    xp = array_module(x)
    a64, x64 = xp.broadcast_arrays(a.astype(np.float64), x.astype(np.float64))
    with np.errstate(all="ignore"):
        log_pre = a64 * xp.log(x64) - x64 - lgamma_array(a64)
        # series: P = x^a e^-x / Gamma(a+1) * sum_n x^n / ((a+1)...(a+n))
        term = 1 / a64
        total = term
        for n in range(1, 400):
            term = term * x64 / (a64 + n)
            total = total + term
        p_series = xp.exp(log_pre) * total
        # continued fraction for Q(a, x)
        tiny = 1e-300
        b = x64 + 1 - a64
        c = xp.full_like(b, 1 / tiny)
        d = 1 / xp.where(b == 0, tiny, b)
        h = d
        for i in range(1, 300):
            an = -i * (i - a64)
            b = b + 2
            d = an * d + b
            d = 1 / xp.where(xp.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < tiny, tiny, c)
            h = h * d * c
        q_cf = xp.exp(log_pre) * h
        out = xp.where(x64 < a64 + 1, p_series, 1 - q_cf)
        out = xp.where(x64 <= 0, 0.0, out)
    return out.astype(np.result_type(a.dtype, x.dtype))


class Gammainc(Function):
    """P(a, x):  d/dx = x^(a-1) e^-x / Gamma(a);  d/da is not implemented (as in torch)"""
    _grad_fn_name = "IgammaBackward0"

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        return gammainc_array(float_result(a._data), float_result(x._data))

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0] if hasattr(ctx, "needs_input_grad") else a.requires_grad:
            raise RuntimeError("the derivative for 'igamma: input' is not implemented.")
        return None, g * ((a - 1) * x.log() - x - lgamma(a)).exp()


def gammainc(a, x):
    return Gammainc.apply(a, x)
