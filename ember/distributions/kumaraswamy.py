"""Kumaraswamy(concentration1, concentration0): a Beta look-alike with a closed-form CDF."""
import ember as torch
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _moment(a, b, n):
    """E[X^n] = b B(1 + n / a, b) = b Gamma(1 + n/a) Gamma(b) / Gamma(1 + n/a + b)."""
    t = 1 + n / a
    return torch.exp(b.log() + torch.lgamma(t) + torch.lgamma(b) - torch.lgamma(t + b))


class Kumaraswamy(TransformedDistribution):
    """With a = concentration1, b = concentration0 on (0, 1):

        p(x) = a b x^(a - 1) (1 - x^a)^(b - 1),   F(x) = 1 - (1 - x^a)^b,

    so inverting F gives the sampler X = (1 - U^(1/b))^(1/a) for U uniform on (0, 1)."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(torch.zeros_like(self.concentration0), torch.ones_like(self.concentration0),
                       validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()),
                      AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        """((a - 1) / (a b - 1))^(1 / a) where a, b >= 1 (not both 1); nan where there is no interior mode."""
        a, b = self.concentration1, self.concentration0
        log_mode = ((a - 1).log() - (a * b - 1).log()) / a
        return torch.where((a < 1) | (b < 1), torch.nan, log_mode.exp())

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return _moment(a, b, 2) - _moment(a, b, 1).pow(2)

    def entropy(self):
        """(1 - 1/b) + (1 - 1/a) H_b - log(a b), with the harmonic number H_b = digamma(b + 1) + gamma."""
        a, b = self.concentration1, self.concentration0
        harmonic_b = torch.digamma(b + 1) + euler_constant
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic_b - torch.log(a * b)
