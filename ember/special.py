"""``torch.special``: error, gamma, Bessel and related functions, elementwise.

The kernels and their Functions live in ``ember/ops/special.py`` (double-precision numerical methods on
NumPy, no SciPy); the top-level ``ember.lgamma``, ``ember.digamma``, ``ember.erfinv``, ``ember.i0`` …
are these same functions. Functions torch differentiates have gradients here too.
"""
import math

import numpy as np

from ._tensor import Tensor, wrap
from .ops import special as S

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "logit", "gammaln", "digamma", "psi", "polygamma",
           "multigammaln", "xlogy", "xlog1py", "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "sinc", "entr",
           "logsumexp", "softmax", "log_softmax", "zeta", "round", "exp2", "expm1", "log1p", "gammainc", "gammaincc",
           "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "spherical_bessel_j0", "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
           "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
           "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]


def _F():
    from . import functions
    return functions


def _t(x):
    return x if isinstance(x, Tensor) else wrap(np.asarray(x, dtype=np.float32 if isinstance(x, float) else None))


# ---- error functions ------------------------------------------------------------------------------------
def erf(input, *, out=None):
    return _F().erf(input)


def erfc(input, *, out=None):
    """1 - erf(x), accurate in the tail (a continued fraction, not 1 - erf)."""
    return S.Erfc.apply(input)


def erfcx(input, *, out=None):
    """The scaled complementary error function e^{x²} erfc(x)."""
    return S.Erfcx.apply(input)


def erfinv(input, *, out=None):
    return S.Erfinv.apply(input)


def ndtr(input, *, out=None):
    """The standard normal CDF Φ(x)."""
    return S.Ndtr.apply(input)


def ndtri(input, *, out=None):
    """Φ^-1(p), the standard normal quantile."""
    return S.Ndtri.apply(input)


def log_ndtr(input, *, out=None):
    """log Φ(x), accurate far into the left tail."""
    return S.LogNdtr.apply(input)


# ---- logistic and friends (the top-level implementations) ---------------------------------------------------
def expit(input, *, out=None):
    return _F().sigmoid(input)


def logit(input, eps=None, *, out=None):
    return _F().logit(input, eps)


def exp2(input, *, out=None):
    return _F().exp2(input)


def expm1(input, *, out=None):
    return _F().expm1(input)


def log1p(input, *, out=None):
    return _F().log1p(input)


def round(input, *, decimals=0, out=None):
    return _F().round(input, decimals=decimals)


def xlogy(input, other, *, out=None):
    return _F().xlogy(input, other)


def xlog1py(input, other, *, out=None):
    """x log(1 + y), 0 where x = 0."""
    return S.Xlog1py.apply(input, other)


def entr(input, *, out=None):
    """-x log x (0 at 0, -inf for x < 0)."""
    return S.Entr.apply(input)


def sinc(input, *, out=None):
    """The normalised sinc sin(πx)/(πx)."""
    return S.Sinc.apply(input)


def logsumexp(input, dim, keepdim=False, *, out=None):
    return _F().logsumexp(input, dim, keepdim)


def softmax(input, dim, *, dtype=None):
    from .nn import functional as Fn
    return Fn.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    from .nn import functional as Fn
    return Fn.log_softmax(input, dim, dtype=dtype)


# ---- gamma family ---------------------------------------------------------------------------------------
def gammaln(input, *, out=None):
    """log |Γ(x)|."""
    return S.Lgamma.apply(input)


def digamma(input, *, out=None):
    """ψ(x) = d/dx log Γ(x)."""
    return S.Digamma.apply(input)


psi = digamma


def polygamma(n, input, *, out=None):
    """ψ^(n)(x), the n-th derivative of the digamma function."""
    return S.Polygamma.apply(input, int(n))


def multigammaln(input, p, *, out=None):
    """log of the multivariate gamma function: p(p-1)/4 log π + Σ_j log Γ(x - j/2)."""
    from .creation import arange
    j = arange(p, dtype=input.dtype) / 2
    return gammaln(input.unsqueeze(-1) - j).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function ζ(x, q) = Σ_k (q + k)^-x."""
    return S.Zeta.apply(input, other)


def gammainc(input, other, *, out=None):
    """The regularised lower incomplete gamma function P(a, x)."""
    return S.Gammainc.apply(input, other, False)


def gammaincc(input, other, *, out=None):
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return S.Gammainc.apply(input, other, True)


# ---- Bessel functions -------------------------------------------------------------------------------------
def i0(input, *, out=None):
    """The modified Bessel function of the first kind, order 0."""
    return S.I0.apply(input)


def i0e(input, *, out=None):
    return S.I0e.apply(input)


def i1(input, *, out=None):
    return S.I1.apply(input)


def i1e(input, *, out=None):
    return S.I1e.apply(input)


modified_bessel_i0, modified_bessel_i1 = i0, i1


def bessel_j0(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_j_array(0, x), input)


def bessel_j1(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_j_array(1, x), input)


def bessel_y0(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_y_array(0, x), input)


def bessel_y1(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_y_array(1, x), input)


def modified_bessel_k0(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_k_array(0, x), input)


def modified_bessel_k1(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_k_array(1, x), input)


def scaled_modified_bessel_k0(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_k_scaled_array(0, x), input)


def scaled_modified_bessel_k1(input, *, out=None):
    return S.nondiff(lambda x: S.bessel_k_scaled_array(1, x), input)


def airy_ai(input, *, out=None):
    """The Airy function Ai(x), a solution of y'' = x y that decays for x → +∞."""
    return S.nondiff(S.airy_ai_array, input)


def spherical_bessel_j0(input, *, out=None):
    """sin(x)/x (1 at 0)."""
    def k(x):
        return np.where(x == 0, 1.0, np.sin(x) / np.where(x == 0, 1.0, x))
    return S.nondiff(k, input)


# ---- orthogonal polynomials (three-term recurrences, vectorised over x; one step per degree) --------------
def _poly(x, n, p0, p1, step, shift=False):
    """P_n(x) from P_0, P_1 and P_{k+1} = step(k, x, P_k, P_{k-1}); ``n`` a number or a tensor of degrees."""
    x, n = _t(x), _t(n)
    xa = x._data.astype(np.float64)
    na = np.asarray(n._data)
    xa, na = np.broadcast_arrays(xa, na)
    if shift:
        xa = 2 * xa - 1
    nmax = int(na.max()) if na.size else 0
    prev, cur = p0(xa), p1(xa)
    out = np.where(na == 0, prev, np.where(na == 1, cur, 0.0))
    for k in range(1, nmax):
        prev, cur = cur, step(k, xa, cur, prev)
        out = np.where(na == k + 1, cur, out)
    out = np.where(na < 0, 0.0, out)
    dt = x._data.dtype if x._data.dtype.kind == "f" else np.float32
    return wrap(out.astype(np.result_type(dt, n._data.dtype) if n._data.dtype.kind == "f" else dt))


def _ones(x):
    return np.ones_like(x)


def chebyshev_polynomial_t(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: x, lambda k, x, c, p: 2 * x * c - p)


def chebyshev_polynomial_u(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: 2 * x, lambda k, x, c, p: 2 * x * c - p)


def chebyshev_polynomial_v(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: 2 * x - 1, lambda k, x, c, p: 2 * x * c - p)


def chebyshev_polynomial_w(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: 2 * x + 1, lambda k, x, c, p: 2 * x * c - p)


def shifted_chebyshev_polynomial_t(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: x, lambda k, x, c, p: 2 * x * c - p, shift=True)


def shifted_chebyshev_polynomial_u(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: 2 * x, lambda k, x, c, p: 2 * x * c - p, shift=True)


def shifted_chebyshev_polynomial_v(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: 2 * x - 1, lambda k, x, c, p: 2 * x * c - p, shift=True)


def shifted_chebyshev_polynomial_w(input, n, *, out=None):
    return _poly(input, n, _ones, lambda x: 2 * x + 1, lambda k, x, c, p: 2 * x * c - p, shift=True)


def hermite_polynomial_h(input, n, *, out=None):
    """Physicists' Hermite: H_{k+1} = 2x H_k - 2k H_{k-1}."""
    return _poly(input, n, _ones, lambda x: 2 * x, lambda k, x, c, p: 2 * x * c - 2 * k * p)


def hermite_polynomial_he(input, n, *, out=None):
    """Probabilists' Hermite: He_{k+1} = x He_k - k He_{k-1}."""
    return _poly(input, n, _ones, lambda x: x, lambda k, x, c, p: x * c - k * p)


def laguerre_polynomial_l(input, n, *, out=None):
    """L_{k+1} = ((2k + 1 - x) L_k - k L_{k-1}) / (k + 1)."""
    return _poly(input, n, _ones, lambda x: 1 - x, lambda k, x, c, p: ((2 * k + 1 - x) * c - k * p) / (k + 1))


def legendre_polynomial_p(input, n, *, out=None):
    """P_{k+1} = ((2k + 1) x P_k - k P_{k-1}) / (k + 1)."""
    return _poly(input, n, _ones, lambda x: x, lambda k, x, c, p: ((2 * k + 1) * x * c - k * p) / (k + 1))
