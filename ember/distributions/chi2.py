"""Chi2(df): the sum of df squared standard normals, i.e. Gamma(df / 2, rate=1/2)."""
import ember as torch
from . import constraints
from .gamma import Gamma

__all__ = ["Chi2"]


class Chi2(Gamma):
    """Chi-squared with df degrees of freedom: p(x) = x^(df/2 - 1) e^(-x/2) / (2^(df/2) Gamma(df/2)).
    Everything (log_prob, moments, entropy, reparameterised samples) is the Gamma's."""
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(Chi2, _instance))

    @property
    def df(self):
        return self.concentration * 2
