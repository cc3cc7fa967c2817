"""NegativeBinomial(total_count, probs= or logits=): successes seen before ``total_count`` failures."""
import ember as torch
from ember.nn import functional as F
from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import BinaryEventParams, broadcast_all, lazy_property

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryEventParams, Distribution):
    """With r = total_count and success probability p (logits l = log(p / (1 - p))):

        P(k) = Gamma(k + r) / (k! Gamma(r)) p^k (1 - p)^r,   mean r p / (1 - p),  variance mean / (1 - p).

    It is a Gamma-Poisson mixture: sample lambda ~ Gamma(r, rate=(1 - p) / p), then k ~ Poisson(lambda)."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
            param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
            param = self.logits
        super().__init__(param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = torch.Size(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_probs_logits(new, batch_shape)
        super(NegativeBinomial, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / torch.sigmoid(-self.logits)

    @lazy_property
    def _gamma(self):
        """The mixing Gamma(r, rate=exp(-logits)) (built lazily, with grad as lazy_property does)."""
        return Gamma(self.total_count, torch.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            return torch.poisson(self._gamma.sample(sample_shape))

    def log_prob(self, value):
        """r log(1 - p) + k log p - log B-like normaliser; the normaliser is 0 when r + k = 0."""
        if self._validate_args:
            self._validate_sample(value)
        unnormalised = self.total_count * F.logsigmoid(-self.logits) + value * F.logsigmoid(self.logits)
        log_norm = torch.lgamma(1.0 + value) + torch.lgamma(self.total_count) - torch.lgamma(self.total_count + value)
        log_norm = torch.where(self.total_count + value == 0.0, 0.0, log_norm)
        return unnormalised - log_norm
