"""LKJCholesky(dim, concentration): Cholesky factors L of random correlation matrices C = L L^T.

The LKJ distribution (Lewandowski, Kurowicka & Joe, 2009) has density p(C) proportional to det(C)^(eta - 1):
eta = 1 is uniform over correlation matrices, eta > 1 favours the identity. Written in terms of L (whose
diagonal gives det(C) = prod L_ii^2, and with the Jacobian of L -> L L^T):

    log p(L) = sum_{i=2}^{d} (d - i + 2 eta - 2) log L_ii - log Z_d(eta)      (i counted from 1)

    log Z_d(eta) = sum_{k=1}^{d-1} [(2 eta - 2 + d - k)(d - k) log 2 + (d - k) log B(b_k, b_k)],
                   b_k = eta + (d - k - 1) / 2

Sampling is the onion method: row k of L (k = 1..d-1) is sqrt(y_k) u_k on its first k entries and
sqrt(1 - y_k) on the diagonal, with y_k ~ Beta(k/2, eta + (d - 1 - k)/2) and u_k a uniform unit vector.
"""
import math

import ember as torch
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJ distribution over lower Cholesky factors of ``dim x dim`` correlation matrices."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        super().__init__(self.concentration.size(), torch.Size((dim, dim)), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = torch.Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _rows(self):
        """k = 1..d-1 as a float tensor (the rows below the first)."""
        return torch.arange(1, self.dim, dtype=self.concentration.dtype, device=self.concentration.device)

    def sample(self, sample_shape=torch.Size()):
        """The onion method, all rows at once."""
        with torch.no_grad():
            shape = torch.Size(sample_shape) + self._batch_shape
            k, eta = self._rows(), self.concentration.unsqueeze(-1)
            y = Beta(k / 2, eta + (self.dim - 1 - k) / 2).sample(sample_shape)     # shape + (d-1,)
            y = torch.cat([torch.zeros_like(y[..., :1]), y], -1)                     # row 0 is e_1
            z = torch.tril(torch.randn(shape + (self.dim, self.dim), dtype=y.dtype, device=y.device), diagonal=-1)
            norm = z.norm(dim=-1, keepdim=True).clamp(min=torch.finfo(y.dtype).tiny)
            u = z / norm                                                             # uniform directions
            L = u * y.sqrt().unsqueeze(-1) + torch.diag_embed((1 - y).clamp(min=0).sqrt())
            return L

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d, eta = self.dim, self.concentration
        i = torch.arange(2, d + 1, dtype=value.dtype, device=value.device)
        log_diag = value.diagonal(dim1=-2, dim2=-1)[..., 1:].log()
        unnormalised = ((d - i + 2 * eta.unsqueeze(-1) - 2) * log_diag).sum(-1)
        k = self._rows()
        b = eta.unsqueeze(-1) + (d - k - 1) / 2
        log_beta = 2 * torch.lgamma(b) - torch.lgamma(2 * b)
        log_Z = ((2 * eta.unsqueeze(-1) - 2 + d - k) * (d - k) * math.log(2) + (d - k) * log_beta).sum(-1)
        return unnormalised - log_Z
