"""ContinuousBernoulli(probs= or logits=): the Bernoulli likelihood made a proper density on [0, 1].

    p(x; lam) = C(lam) lam^x (1 - lam)^(1 - x),   C(lam) = 2 atanh(1 - 2 lam) / (1 - 2 lam)   (C(1/2) = 2).

Several quantities divide by (1 - 2 lam), so near lam = 1/2 (inside ``lims``) they switch to their Taylor
series in x = lam - 1/2 (Loaiza-Ganem & Cunningham, 2019).
"""
import math

import ember as torch
from ember.nn.functional import binary_cross_entropy_with_logits
from . import constraints
from .exp_family import ExponentialFamily
from .utils import BinaryEventParams, broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(BinaryEventParams, ExponentialFamily):
    """A density on [0, 1] with natural parameter eta = logits: p(x) = exp(eta x) / Z(eta),
    Z(eta) = (e^eta - 1) / eta. Reparameterised sampling inverts the closed-form CDF."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            param = self.logits
        self._lims = lims
        super().__init__(param.size(), validate_args=validate_args)
        if probs is not None:  # validated above as [0, 1]; keep the logs finite from here on
            self.probs = clamp_probs(self.probs)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        batch_shape = torch.Size(batch_shape)
        new._lims = self._lims
        self._expand_probs_logits(new, batch_shape)
        super(ContinuousBernoulli, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    def _stable(self):
        """(mask of probs outside the lims band, probs with the band replaced by a safe lims[0])."""
        outside = (self.probs <= self._lims[0]) | (self.probs > self._lims[1])
        return outside, torch.where(outside, self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """log C(lam) = log|log(1 - lam) - log lam| - log|1 - 2 lam|;  near 1/2: log 2 + 4/3 x^2 + 104/45 x^4."""
        outside, p = self._stable()
        exact = torch.log(torch.abs(torch.log1p(-p) - torch.log(p))) - torch.log(torch.abs(1 - 2 * p))
        x2 = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x2) * x2
        return torch.where(outside, exact, taylor)

    @property
    def mean(self):
        """lam / (2 lam - 1) + 1 / (2 atanh(1 - 2 lam));  near 1/2: 1/2 + x/3 + 16/45 x^3."""
        outside, p = self._stable()
        exact = p / (2 * p - 1) + 1 / (torch.log1p(-p) - torch.log(p))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return torch.where(outside, exact, taylor)

    @property
    def variance(self):
        """lam (lam - 1) / (1 - 2 lam)^2 + 1 / (2 atanh(1 - 2 lam))^2;  near 1/2: 1/12 - x^2/15 - 128/945 x^4."""
        outside, p = self._stable()
        exact = p * (p - 1) / (1 - 2 * p).pow(2) + 1 / (torch.log1p(-p) - torch.log(p)).pow(2)
        x2 = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 + 128.0 / 945.0 * x2) * x2
        return torch.where(outside, exact, taylor)

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        u = torch.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        """x log lam + (1 - x) log(1 - lam) + log C(lam)."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        """(lam^x (1 - lam)^(1 - x) + lam - 1) / (2 lam - 1), clipped to 0 below 0 and 1 above 1."""
        if self._validate_args:
            self._validate_sample(value)
        outside, p = self._stable()
        exact = (p.pow(value) * (1 - p).pow(1 - value) + p - 1) / (2 * p - 1)
        cdf = torch.where(outside, exact, value)
        return torch.where(value <= 0, 0.0, torch.where(value >= 1, 1.0, cdf))

    def icdf(self, value):
        """log1p((2 lam - 1) u / (1 - lam)) / log(lam / (1 - lam)): the CDF solved for x (u itself near 1/2)."""
        outside, p = self._stable()
        exact = (torch.log1p(-p + value * (2 * p - 1)) - torch.log1p(-p)) / (torch.log(p) - torch.log1p(-p))
        return torch.where(outside, exact, value)

    def entropy(self):
        """-E[log p(X)] = mean (log(1 - lam) - log lam) - log(1 - lam) - log C(lam)."""
        log_q, log_p = torch.log1p(-self.probs), torch.log(self.probs)
        return self.mean * (log_q - log_p) - self._cont_bern_log_norm() - log_q

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, eta):
        """log Z(eta) = log(expm1(eta) / eta);  near 0: eta/2 + eta^2/24 - eta^4/2880."""
        outside = (eta <= self._lims[0] - 0.5) | (eta > self._lims[1] - 0.5)
        safe = torch.where(outside, eta, torch.ones_like(eta))
        exact = torch.log(torch.abs(torch.expm1(safe))) - torch.log(torch.abs(safe))
        taylor = 0.5 * eta + eta.pow(2) / 24.0 - eta.pow(4) / 2880.0
        return torch.where(outside, exact, taylor)
