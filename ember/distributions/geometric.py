"""Geometric(probs= or logits=): the number of failures before the first success of a p-coin."""
import math

import ember as torch
from ember.nn.functional import binary_cross_entropy_with_logits
from . import constraints
from .distribution import Distribution
from .utils import BinaryEventParams, broadcast_all

__all__ = ["Geometric"]


class Geometric(BinaryEventParams, Distribution):
    """P(k) = (1 - p)^k p for k = 0, 1, 2, ...; mean (1 - p) / p, variance (1 - p) / p^2.
    Sampled by inversion: floor(log U / log(1 - p))."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            param = self.logits
        super().__init__(param.size(), validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs (Tensor of shape {tuple(self.probs.shape)}) of "
                             f"distribution {self!r} to be positive but found invalid values:\n"
                             f"{self.probs[self.probs <= 0]}")

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Geometric, _instance)
        batch_shape = torch.Size(batch_shape)
        self._expand_probs_logits(new, batch_shape)
        super(Geometric, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return torch.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        tiny = torch.finfo(self.probs.dtype).tiny
        with torch.no_grad():
            u = torch.rand(shape, dtype=self.probs.dtype, device=self.probs.device).clamp(min=tiny)
            return (u.log() / torch.log1p(-self.probs)).floor()

    def log_prob(self, value):
        """k log(1 - p) + log p, with 0 log 0 = 0 (so P(0) = 1 when p = 1)."""
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        safe = torch.where((probs == 1) & (value == 0), 0.0, probs)
        return value * torch.log1p(-safe) + self.probs.log()

    def entropy(self):
        """(-(1 - p) log(1 - p) - p log p) / p: one coin's entropy per expected toss."""
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs
