"""``ExponentialFamily``: densities p(x; theta) = h(x) exp(<t(x), theta> - F(theta)).

A subclass names its natural parameters theta (``_natural_params``) and log-normaliser F
(``_log_normalizer``). Entropy then follows from the Bregman divergence of F, with F's gradient taken
by autograd: H = F(theta) - <theta, grad F(theta)> - E[log h(x)].
"""
import ember as torch
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base class of exponential-family distributions (their entropy and same-family KL come from F)."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """Entropy by the Bregman divergence of the log-normaliser (its gradient from autograd)."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = torch.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for np_, g in zip(nparams, gradients):
            result = result - (np_ * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
