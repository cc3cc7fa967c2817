"""MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril): the k-dimensional Gaussian.

    log p(x) = -(k log(2 pi) + |L^-1 (x - loc)|^2) / 2 - sum(log diag L),     Sigma = L L^T

Everything runs through the Cholesky factor L of the covariance (one triangular solve per density, no
inverse). Whichever of the three matrices is given, the others are derived on first access. rsample is
loc + L eps with eps ~ N(0, I), so gradients reach loc and the matrix.
"""
import math

import ember as torch
from . import constraints
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _precision_to_scale_tril(P):
    """Lower L with L L^T = P^-1, without inverting P first.

    Reverse the order of the coordinates (J P J, J the flip): its Cholesky factor C gives P = U U^T with
    U = J C J upper-triangular, so P^-1 = U^-T U^-1 and L = U^-T is lower-triangular with positive diagonal."""
    C = torch.linalg.cholesky(P.flip(-2, -1))
    U = C.flip(-2, -1)
    eye = torch.eye(P.shape[-1], dtype=P.dtype, device=P.device).expand(U.shape)
    return torch.linalg.solve_triangular(U, eye, upper=True).transpose(-2, -1)


def _mahalanobis(L, x):
    """|L^-1 x|^2 over the last axis, broadcasting L's batch against x's."""
    shape = torch.broadcast_shapes(L.shape[:-2], x.shape[:-1])
    k = x.shape[-1]
    z = torch.linalg.solve_triangular(L.expand(shape + (k, k)), x.expand(shape + (k,)).unsqueeze(-1), upper=False)
    return z.squeeze(-1).pow(2).sum(-1)


class MultivariateNormal(Distribution):
    """Gaussian over vectors of size k = loc.shape[-1], with exactly one of the covariance matrix, its
    inverse (precision) or its lower Cholesky factor; leading dims of loc and the matrix are batch dims."""
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix,
                 "scale_tril": scale_tril}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        (name, matrix), = given.items()
        if matrix.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        batch_shape = torch.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        # the factor at the matrix's own (unbroadcast) batch shape: solves stay as small as the parameters
        if name == "scale_tril":
            self._tril = matrix
        elif name == "covariance_matrix":
            self._tril = torch.linalg.cholesky(matrix)
        else:
            self._tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new._tril = self._tril
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape + self.event_shape * 2))
        super(MultivariateNormal, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _full(self, matrix):
        return matrix.expand(self._batch_shape + self._event_shape * 2)

    @lazy_property
    def scale_tril(self):
        """L, lower-triangular with positive diagonal, L L^T = covariance."""
        return self._full(self._tril)

    @lazy_property
    def covariance_matrix(self):
        """L L^T."""
        return self._full(self._tril @ self._tril.transpose(-2, -1))

    @lazy_property
    def precision_matrix(self):
        """(L L^T)^-1 = L^-T L^-1."""
        eye = torch.eye(self._event_shape[0], dtype=self.loc.dtype, device=self.loc.device)
        Linv = torch.linalg.solve_triangular(self._tril, eye.expand(self._tril.shape), upper=False)
        return self._full(Linv.transpose(-2, -1) @ Linv)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """The covariance diagonal: row sums of L squared."""
        return self._tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=torch.Size()):
        """loc + L eps, eps ~ N(0, I)."""
        eps = _standard_normal(self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self._event_shape[0]
        half_logdet = self._tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (k * math.log(2 * math.pi) + _mahalanobis(self._tril, value - self.loc)) - half_logdet

    def entropy(self):
        """k (1 + log 2 pi) / 2 + sum(log diag L)."""
        k = self._event_shape[0]
        H = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return H.expand(self._batch_shape)
