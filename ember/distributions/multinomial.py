"""Multinomial(total_count, probs | logits): counts of n independent draws from one Categorical.

    log p(x) = lgamma(n + 1) - sum_i lgamma(x_i + 1) + sum_i x_i log p_i,      sum_i x_i = n

Each count x_i alone is Binomial(n, p_i), which gives the mean n p, the variance n p (1 - p) and the
entropy's sum over the n + 1 values every count can take.
"""
import ember as torch
from . import constraints
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts over ``K = probs.shape[-1]`` categories from ``total_count`` draws (one integer n for the
    whole batch); ``probs`` need not be normalised, ``logits`` are unnormalised log-probabilities."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = torch.Size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        super(Multinomial, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def probs(self):
        """Normalised category probabilities."""
        return self._categorical.probs

    @property
    def logits(self):
        """Normalised log-probabilities (logsumexp = 0)."""
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=torch.Size()):
        """Draw n category indices and count them: compare each index with arange(K) and sum over draws."""
        sample_shape = torch.Size(sample_shape)
        n, K = self.total_count, self._event_shape[0]
        idx = self._categorical.sample(torch.Size((n,)) + sample_shape)            # n + sample + batch
        hits = idx.unsqueeze(-1) == torch.arange(K, device=idx.device)           # ... + (K,)
        return hits.sum(0).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # a category with p = 0 and count 0 must add 0, not 0 * -inf: clamp the log-probability
        logits = torch.clamp(self.logits, min=torch.finfo(self.logits.dtype).min)
        log_factorials = torch.lgamma(value + 1).sum(-1)
        return torch.lgamma(value.sum(-1) + 1) - log_factorials + (value * logits).sum(-1)

    def entropy(self):
        """H = -lgamma(n + 1) - n sum_i p_i log p_i + sum_i E[lgamma(x_i + 1)], with x_i ~ Binomial(n, p_i)
        and the expectation summed over k = 0..n."""
        n, p = self.total_count, self.probs
        k = torch.arange(n + 1, dtype=p.dtype, device=p.device).reshape((n + 1,) + (1,) * p.dim())
        log_pmf = (torch.lgamma(torch.tensor(n + 1.0, dtype=p.dtype)) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
                   + torch.xlogy(k, p) + torch.xlogy(n - k, 1 - p))
        expected_lgamma = (log_pmf.exp() * torch.lgamma(k + 1)).sum(0).sum(-1)
        return -torch.lgamma(torch.tensor(n + 1.0, dtype=p.dtype)) - n * torch.xlogy(p, p).sum(-1) + expected_lgamma
