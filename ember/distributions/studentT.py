"""StudentT(df, loc, scale): the heavy-tailed law of a Normal divided by sqrt(Chi2(df) / df)."""
import math

import ember as torch
from . import constraints
from .chi2 import Chi2
from .distribution import Distribution
from .utils import _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    """Student's t: with y = (x - loc) / scale and nu = df,

        p(x) = Gamma((nu + 1) / 2) / (Gamma(nu / 2) sqrt(nu pi) scale) * (1 + y^2 / nu)^(-(nu + 1) / 2).

    rsample draws z ~ Normal(0, 1) and v ~ Chi2(nu) and returns loc + scale * z / sqrt(v / nu), so
    gradients reach df through the reparameterised Gamma sampler."""
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(StudentT, _instance)
        batch_shape = torch.Size(batch_shape)
        new.df, new.loc, new.scale = (p.expand(batch_shape) for p in (self.df, self.loc, self.scale))
        new._chi2 = self._chi2.expand(batch_shape)
        super(StudentT, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        """loc, undefined (nan) when df <= 1."""
        return torch.where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """scale^2 df / (df - 2) for df > 2; infinite for 1 < df <= 2; nan for df <= 1."""
        df = self.df
        finite = self.scale.pow(2) * df / (df - 2).clamp(min=torch.finfo(df.dtype).tiny)
        return torch.where(df > 2, finite, torch.where(df > 1, math.inf, math.nan))

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        z = _standard_normal(shape, dtype=self.df.dtype, device=self.df.device)
        v = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * z * torch.rsqrt(v / self.df)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        df, y = self.df, (value - self.loc) / self.scale
        log_norm = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
                    + torch.lgamma(0.5 * df) - torch.lgamma(0.5 * (df + 1)))
        return -0.5 * (df + 1) * torch.log1p(y.pow(2) / df) - log_norm

    def entropy(self):
        """(nu + 1)/2 (psi((nu + 1)/2) - psi(nu/2)) + log(sqrt(nu) B(nu/2, 1/2)) + log(scale)."""
        half, half_next = 0.5 * self.df, 0.5 * (self.df + 1)
        log_beta = torch.lgamma(half) + math.lgamma(0.5) - torch.lgamma(half_next)
        return (half_next * (torch.digamma(half_next) - torch.digamma(half))
                + 0.5 * self.df.log() + log_beta + self.scale.log())
