"""MixtureSameFamily(mixture_distribution, component_distribution): K weighted components of one family.

    p(x) = sum_k w_k p_k(x),   log p(x) = logsumexp_k(log w_k + log p_k(x))

The components are one distribution whose rightmost batch dim has size K; the mixture weights are a
Categorical over those K. Moments follow from the law of total expectation / variance:
E[X] = sum_k w_k m_k and Var[X] = sum_k w_k v_k + sum_k w_k (m_k - E[X])^2.
"""
import ember as torch
from . import constraints
from .categorical import Categorical
from .constraints import MixtureSameFamilyConstraint
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """Mixture of the K components in ``component_distribution``'s last batch dim, weighted by the
    Categorical ``mixture_distribution``. Not reparameterisable (the component choice is discrete)."""
    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of torch.distributions.Distribution")
        mix_batch, comp_batch = mixture_distribution.batch_shape, component_distribution.batch_shape[:-1]
        for a, b in zip(reversed(mix_batch), reversed(comp_batch)):
            if a != 1 and b != 1 and a != b:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mix_batch}) is not compatible with "
                                 f"`component_distribution.batch_shape`({comp_batch})")
        km, kc = mixture_distribution.logits.shape[-1], component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(comp_batch, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component, new._event_ndims = self._num_component, self._event_ndims
        super(MixtureSameFamily, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    def _weights(self):
        """Mixture probabilities shaped batch + (K,) + (1,) * event_ndims, to broadcast with component moments."""
        return self._mixture_distribution.probs.reshape(
            self._mixture_distribution.probs.shape + (1,) * self._event_ndims)

    def _component_axis(self):
        return -1 - self._event_ndims

    @property
    def mean(self):
        return (self._weights() * self._component_distribution.mean).sum(self._component_axis())

    @property
    def variance(self):
        """Within-component variance plus the spread of the component means."""
        w, axis = self._weights(), self._component_axis()
        means = self._component_distribution.mean
        within = (w * self._component_distribution.variance).sum(axis)
        between = (w * (means - self.mean.unsqueeze(axis)).pow(2)).sum(axis)
        return within + between

    def cdf(self, x):
        """sum_k w_k F_k(x)."""
        x = x.unsqueeze(self._component_axis())
        return (self._component_distribution.cdf(x) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        """logsumexp over components of log w_k + log p_k(x)."""
        if self._validate_args:
            self._validate_sample(x)
        x = x.unsqueeze(self._component_axis())  # one copy of x per component
        log_w = torch.log_softmax(self._mixture_distribution.logits, dim=-1)
        return torch.logsumexp(self._component_distribution.log_prob(x) + log_w, dim=-1)

    def sample(self, sample_shape=torch.Size()):
        """Pick a component index per draw, sample every component, keep the picked one (gather on K)."""
        with torch.no_grad():
            sample_shape = torch.Size(sample_shape)
            idx = self._mixture_distribution.sample(sample_shape)                  # sample + batch
            xs = self._component_distribution.sample(sample_shape)                 # sample + batch + K + event
            idx = idx.reshape(idx.shape + (1,) * (1 + self._event_ndims))
            idx = idx.expand(idx.shape[:-self._event_ndims] + self.event_shape) if self._event_ndims else idx
            return xs.gather(self._component_axis(), idx).squeeze(self._component_axis())

    def __repr__(self):
        return f"MixtureSameFamily(\n  {self.mixture_distribution},\n  {self.component_distribution})"
