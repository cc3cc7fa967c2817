"""FisherSnedecor(df1, df2): the F distribution, a ratio of two scaled chi-squares."""
import math

import ember as torch
from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import broadcast_all

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    """X = (U1 / d1) / (U2 / d2) with U_i ~ Chi2(d_i); equivalently a ratio of Gamma(d_i / 2, rate=d_i / 2):

        log p(x) = (d1/2) log d1 + (d2/2) log d2 + (d1/2 - 1) log x - ((d1 + d2)/2) log(d2 + d1 x) - log B(d1/2, d2/2).
    """
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(0.5 * self.df1, 0.5 * self.df1)
        self._gamma2 = Gamma(0.5 * self.df2, 0.5 * self.df2)
        super().__init__(self.df1.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(FisherSnedecor, _instance)
        batch_shape = torch.Size(batch_shape)
        new.df1, new.df2 = self.df1.expand(batch_shape), self.df2.expand(batch_shape)
        new._gamma1, new._gamma2 = self._gamma1.expand(batch_shape), self._gamma2.expand(batch_shape)
        super(FisherSnedecor, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        """d2 / (d2 - 2), defined for d2 > 2 (nan otherwise)."""
        d2 = self.df2
        return torch.where(d2 > 2, d2 / (d2 - 2), math.nan)

    @property
    def mode(self):
        """(d1 - 2) / d1 * d2 / (d2 + 2), defined for d1 > 2 (nan otherwise)."""
        d1, d2 = self.df1, self.df2
        return torch.where(d1 > 2, (d1 - 2) / d1 * d2 / (d2 + 2), math.nan)

    @property
    def variance(self):
        """2 d2^2 (d1 + d2 - 2) / (d1 (d2 - 2)^2 (d2 - 4)), defined for d2 > 4 (nan otherwise)."""
        d1, d2 = self.df1, self.df2
        v = 2 * d2.pow(2) * (d1 + d2 - 2) / (d1 * (d2 - 2).pow(2) * (d2 - 4))
        return torch.where(d2 > 4, v, math.nan)

    def rsample(self, sample_shape=torch.Size()):
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape)
        tiny = torch.finfo(x2.dtype).tiny
        ratio = x1 / x2.clamp(min=tiny)
        return ratio.clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = 0.5 * self.df1, 0.5 * self.df2
        log_beta = torch.lgamma(h1) + torch.lgamma(h2) - torch.lgamma(h1 + h2)
        return (h1 * self.df1.log() + h2 * self.df2.log() + (h1 - 1) * torch.log(value)
                - (h1 + h2) * torch.log(self.df2 + self.df1 * value) - log_beta)
