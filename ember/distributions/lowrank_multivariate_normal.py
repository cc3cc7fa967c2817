"""LowRankMultivariateNormal(loc, cov_factor, cov_diag): a Gaussian with covariance W W^T + diag(D).

W is k x m with m small, so the k x k covariance is never factored. Two identities reduce everything to
the m x m *capacitance* C = I + W^T D^-1 W (its Cholesky factor L_C):

    log det(W W^T + D) = log det C + sum(log D)                         (matrix determinant lemma)
    x^T (W W^T + D)^-1 x = x^T D^-1 x - |L_C^-1 W^T D^-1 x|^2            (Woodbury identity)

rsample is loc + W e1 + sqrt(D) e2 with e1 ~ N(0, I_m), e2 ~ N(0, I_k).
"""
import math

import ember as torch
from . import constraints
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["LowRankMultivariateNormal"]


class LowRankMultivariateNormal(Distribution):
    """Gaussian over vectors of size k with covariance ``cov_factor @ cov_factor.mT + diag(cov_diag)``;
    ``cov_factor`` is ``batch_shape + (k, m)``, ``cov_diag`` is ``batch_shape + (k,)``."""
    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = loc.shape[-1:]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if cov_factor.shape[-2:-1] != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {event_shape[0]} x m")
        if cov_diag.shape[-1:] != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        try:
            batch_shape = torch.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1])
        except RuntimeError as e:
            raise ValueError(f"Incompatible batch shapes: loc {loc.shape}, cov_factor {cov_factor.shape}, "
                             f"cov_diag {cov_diag.shape}") from e
        self.loc = loc.expand(batch_shape + event_shape)
        self.cov_factor = cov_factor.expand(batch_shape + cov_factor.shape[-2:])
        self.cov_diag = cov_diag.expand(batch_shape + event_shape)
        self._W, self._D = cov_factor, cov_diag  # unbroadcast: the linear algebra stays parameter-sized
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new.cov_diag = self.cov_diag.expand(batch_shape + self.event_shape)
        new.cov_factor = self.cov_factor.expand(batch_shape + self.cov_factor.shape[-2:])
        new._W, new._D = self._W, self._D
        super(LowRankMultivariateNormal, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def _capacitance_tril(self):
        """Cholesky factor of C = I_m + W^T D^-1 W."""
        W, m = self._W, self._W.shape[-1]
        C = W.transpose(-2, -1) @ (W / self._D.unsqueeze(-1))
        return torch.linalg.cholesky(C + torch.eye(m, dtype=W.dtype, device=W.device))

    def _logdet(self):
        """log det(W W^T + D) = 2 sum(log diag L_C) + sum(log D)."""
        return 2 * self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + self._D.log().sum(-1)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        """diag(W W^T) + D: row sums of W squared, plus D."""
        return (self._W.pow(2).sum(-1) + self._D).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        cov = self._W @ self._W.transpose(-2, -1) + torch.diag_embed(self._D)
        return cov.expand(self._batch_shape + self._event_shape * 2)

    @lazy_property
    def scale_tril(self):
        """Cholesky factor of the full covariance (k x k: only for when a caller asks for it)."""
        return torch.linalg.cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self):
        """Woodbury: D^-1 - D^-1 W C^-1 W^T D^-1 = D^-1 - A^T A with A = L_C^-1 W^T D^-1."""
        A = torch.linalg.solve_triangular(self._capacitance_tril, (self._W / self._D.unsqueeze(-1)).transpose(-2, -1),
                                          upper=False)
        P = torch.diag_embed(1 / self._D) - A.transpose(-2, -1) @ A
        return P.expand(self._batch_shape + self._event_shape * 2)

    def rsample(self, sample_shape=torch.Size()):
        """loc + W e1 + sqrt(D) e2."""
        shape = self._extended_shape(sample_shape)
        e1 = _standard_normal(shape[:-1] + self._W.shape[-1:], dtype=self.loc.dtype, device=self.loc.device)
        e2 = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._W @ e1.unsqueeze(-1)).squeeze(-1) + self._D.sqrt() * e2

    def log_prob(self, value):
        """-(k log 2 pi + log det + Mahalanobis) / 2, with the Woodbury Mahalanobis term."""
        if self._validate_args:
            self._validate_sample(value)
        x = value - self.loc
        Dinv_x = x / self._D
        Wt_Dinv_x = (self._W.transpose(-2, -1) @ Dinv_x.unsqueeze(-1))
        Lc = self._capacitance_tril
        shape = torch.broadcast_shapes(Lc.shape[:-2], Wt_Dinv_x.shape[:-2])
        z = torch.linalg.solve_triangular(Lc.expand(shape + Lc.shape[-2:]), Wt_Dinv_x.expand(shape + (Lc.shape[-1], 1)),
                                          upper=False)
        maha = (x * Dinv_x).sum(-1) - z.squeeze(-1).pow(2).sum(-1)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + self._logdet() + maha)

    def entropy(self):
        """(k (1 + log 2 pi) + log det(W W^T + D)) / 2."""
        k = self._event_shape[0]
        return (0.5 * (k * (1.0 + math.log(2 * math.pi)) + self._logdet())).expand(self._batch_shape)
