"""GeneralizedPareto(loc, scale, concentration): the law of exceedances over a high threshold."""
import math

import ember as torch
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """With z = (x - loc) / scale and shape k = concentration:

        F(x) = 1 - (1 + k z)^(-1/k)        (k != 0),     F(x) = 1 - exp(-z)        (k = 0),
        log p(x) = -log scale - (1/k + 1) log1p(k z)     (k != 0),  -log scale - z  (k = 0).

    The support is [loc, inf) for k >= 0 and [loc, loc - scale / k] for k < 0. k = 0 is the
    Exponential, k > 0 a shifted Pareto. rsample inverts F."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc, new.scale, new.concentration = (p.expand(batch_shape)
                                                 for p in (self.loc, self.scale, self.concentration))
        super(GeneralizedPareto, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _safe_k(self):
        """(k == 0 mask, k with zeros replaced by 1) so the k != 0 branch never divides by zero."""
        zero = self.concentration == 0
        return zero, torch.where(zero, 1.0, self.concentration)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, k = self._safe_k()
        return -self.scale.log() - torch.where(zero, z, (1 / k + 1) * torch.log1p(k * z))

    def log_survival_function(self, value):
        """log(1 - F(x)) = -log1p(k z) / k, or -z at k = 0."""
        z = (value - self.loc) / self.scale
        zero, k = self._safe_k()
        return torch.where(zero, -z, -torch.log1p(k * z) / k)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -torch.expm1(self.log_survival_function(value))

    def icdf(self, value):
        """loc + scale ((1 - u)^(-k) - 1) / k, or loc - scale log(1 - u) at k = 0."""
        zero, k = self._safe_k()
        log1m = torch.log1p(-value)
        return self.loc + self.scale * torch.where(zero, -log1m, torch.expm1(-k * log1m) / k)

    @property
    def mean(self):
        """loc + scale / (1 - k) for k < 1 (nan otherwise)."""
        k = self.concentration
        return torch.where(k < 1, self.loc + self.scale / (1 - k), math.nan)

    @property
    def variance(self):
        """scale^2 / ((1 - k)^2 (1 - 2k)) for k < 1/2 (nan otherwise)."""
        k = self.concentration
        return torch.where(k < 0.5, self.scale.pow(2) / ((1 - k).pow(2) * (1 - 2 * k)), math.nan)

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        """log(scale) + k + 1."""
        return self.scale.log() + self.concentration + 1

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = torch.where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
