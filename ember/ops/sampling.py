"""Random draws that need more than uniform/normal noise: Gamma (with gradients), binomial.

``StandardGamma`` draws x ~ Gamma(alpha, 1). A Gamma sample is not a smooth function of simple noise, so
its gradient comes from *implicit reparameterisation* (Figurnov et al. 2018): hold the sample's CDF value
fixed, F(x; alpha) = u, and differentiate:

    dx/dalpha = -(dF/dalpha) / (dF/dx) = -(dF/dalpha) / p(x; alpha)

With the series F(x; a) = p(x; a+1) * sum_n x^n / ((a+1)...(a+n)) the ratio is a sum of positive weights
w_n = prod_{k<=n} x/(a+k) times (log x - digamma(a+n+1)), computed with one cumprod and one cumsum.
Beta and Dirichlet samples are normalised Gamma samples, so they get their gradients from this one op.
"""
import math

import numpy as np

from ..autograd.function import Function
from ..random import get_rng
from ._util import array_module, wrap
from .special import digamma_array


def standard_gamma_grad(alpha, x):
    """dx/dalpha of x ~ Gamma(alpha, 1) at fixed CDF value (arrays; float64 inside)."""
    xp = array_module(alpha)
    a = alpha.astype(np.float64)
    x64 = xp.maximum(x.astype(np.float64), np.finfo(np.float64).tiny)
    big = a > 200  # normal approximation x ~ a + sqrt(a) z  =>  dx/da ~ (x + a) / (2a)
    a_s = xp.where(big, 1.0, a)
    x_s = xp.where(big, 1.0, x64)
    n_terms = int(min(2000, float(x_s.max(initial=1.0)) + 10 * math.sqrt(float(x_s.max(initial=1.0))) + 40))
    k = xp.arange(n_terms, dtype=np.float64)
    ak = a_s[..., None] + k                                    # a, a+1, ..., a+N-1
    w = xp.cumprod(x_s[..., None] / ak, axis=-1)               # prod_{j<=n} x/(a+j)
    psi = digamma_array(a_s)[..., None] + xp.cumsum(1 / ak, axis=-1)  # digamma(a+n+1)
    dF_over_p = (w * (xp.log(x_s)[..., None] - psi)).sum(-1)
    grad = -dF_over_p
    return xp.where(big, (x64 + a) / (2 * a), grad).astype(alpha.dtype)


def standard_gamma_array(alpha, generator=None):
    """x ~ Gamma(alpha, 1), elementwise, in alpha's dtype; tiny values are kept positive."""
    draw = get_rng(generator).standard_gamma(np.asarray(alpha, dtype=np.float64))
    tiny = np.finfo(alpha.dtype).tiny
    return np.maximum(draw, tiny).astype(alpha.dtype)


class StandardGamma(Function):
    """x ~ Gamma(alpha, 1):  dx/dalpha = -(dF/dalpha)(x; alpha) / p(x; alpha)   (implicit reparameterisation)"""
    _grad_fn_name = "StandardGammaBackward0"

    @staticmethod
    def forward(ctx, alpha, sample=None):
        """``sample``: an array already drawn (for a deterministic gradient check); else draw one."""
        x = standard_gamma_array(alpha._data) if sample is None else sample.astype(alpha._data.dtype)
        ctx.alpha, ctx.x = alpha._data, x
        return x

    @staticmethod
    def backward(ctx, g):
        return g * wrap(standard_gamma_grad(ctx.alpha, ctx.x)), None


def binomial_array(count, prob, generator=None):
    """Binomial(count, prob) draws (as floats of prob's dtype)."""
    n = np.asarray(count).astype(np.int64)
    return get_rng(generator).binomial(n, np.clip(np.asarray(prob, np.float64), 0, 1)).astype(prob.dtype)
