"""Wishart(df, covariance_matrix | precision_matrix | scale_tril): random p x p positive-definite matrices.

X = sum of df outer products g g^T with g ~ N(0, S) (for integer df); S = L L^T is the scale. Density:

    log p(X) = (df - p - 1)/2 log|X| - tr(S^-1 X)/2 - df p/2 log 2 - df/2 log|S| - log Gamma_p(df/2)

with Gamma_p the multivariate gamma function. Sampling uses the Bartlett decomposition: X = (L A)(L A)^T
where A is lower-triangular, A_ii = sqrt(chi2(df - i)) (i = 0..p-1) and A_ij ~ N(0, 1) below the diagonal;
the chi2 draws are reparameterised Gammas, so rsample carries gradients to df and the scale.
"""
import math
import warnings
from numbers import Number

import ember as torch
from . import constraints
from .exp_family import ExponentialFamily
from .gamma import Gamma
from .multivariate_normal import _precision_to_scale_tril
from .utils import _standard_normal, lazy_property

__all__ = ["Wishart"]


def _mvdigamma(a, p):
    """psi_p(a) = sum_{i=0}^{p-1} psi(a - i/2), the derivative of log Gamma_p."""
    if not bool((a > (p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    halves = torch.arange(p, dtype=a.dtype, device=a.device) / 2
    return torch.digamma(a.unsqueeze(-1) - halves).sum(-1)


class Wishart(ExponentialFamily):
    """Wishart with ``df`` > p - 1 degrees of freedom and a positive-definite scale, given as exactly one
    of its covariance, precision or lower Cholesky factor. Mean = df S."""
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix,
                 "scale_tril": scale_tril}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        (name, matrix), = given.items()
        if matrix.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Number):
            batch_shape = torch.Size(matrix.shape[:-2])
            self.df = torch.tensor(df, dtype=matrix.dtype, device=matrix.device)
        else:
            batch_shape = torch.broadcast_shapes(matrix.shape[:-2], df.shape)
            self.df = df.expand(batch_shape)
        event_shape = matrix.shape[-2:]
        p = event_shape[-1]
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        if bool(self.df.lt(p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.",
                          stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if name == "scale_tril":
            self._tril = matrix
        elif name == "covariance_matrix":
            self._tril = torch.linalg.cholesky(matrix)
        else:
            self._tril = _precision_to_scale_tril(matrix)
        self._tril = self._tril.expand(batch_shape + (-1, -1))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = torch.Size(batch_shape)
        new._tril = self._tril.expand(batch_shape + self.event_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape + self.event_shape))
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _logdet_scale(self):
        """log|S| = 2 sum(log diag L)."""
        return 2 * self._tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    @lazy_property
    def scale_tril(self):
        return self._tril

    @lazy_property
    def covariance_matrix(self):
        return self._tril @ self._tril.transpose(-2, -1)

    @lazy_property
    def precision_matrix(self):
        """S^-1 = L^-T L^-1."""
        eye = torch.eye(self._event_shape[-1], dtype=self._tril.dtype, device=self._tril.device)
        Linv = torch.linalg.solve_triangular(self._tril, eye.expand(self._tril.shape), upper=False)
        return Linv.transpose(-2, -1) @ Linv

    def _df_matrix(self):
        return self.df.reshape(self._batch_shape + (1, 1))

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        """(df - p - 1) S, defined (not nan) only for df > p + 1."""
        factor = self.df - self._event_shape[-1] - 1
        factor = torch.where(factor > 0, factor, torch.full_like(factor, math.nan))
        return factor.reshape(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        """Var(X_ij) = df (S_ij^2 + S_ii S_jj)."""
        S = self.covariance_matrix
        d = S.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (S.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett(self, sample_shape):
        """One batch of draws (L A)(L A)^T, symmetrised so that rounding leaves it exactly symmetric."""
        p = self._event_shape[-1]
        shape = sample_shape + self._batch_shape
        chi2_df = self.df.unsqueeze(-1) - torch.arange(p, dtype=self._tril.dtype, device=self._tril.device)
        diag = Gamma(chi2_df / 2, torch.full_like(chi2_df, 0.5)).rsample(sample_shape).sqrt()
        noise = _standard_normal(shape + (p, p), dtype=self._tril.dtype, device=self._tril.device)
        A = torch.tril(noise, diagonal=-1) + torch.diag_embed(diag)
        LA = self._tril @ A
        X = LA @ LA.transpose(-2, -1)
        return (X + X.transpose(-2, -1)) / 2

    def rsample(self, sample_shape=torch.Size(), max_try_correction=None):
        """Bartlett draws; draws that come out numerically singular are redrawn up to
        ``max_try_correction`` (default 10) times, with a warning."""
        sample_shape = torch.Size(sample_shape)
        max_try_correction = 10 if max_try_correction is None else max_try_correction
        X = self._bartlett(sample_shape)
        bad = ~self.support.check(X)
        if bool(bad.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                X = torch.where(bad.reshape(bad.shape + (1, 1)), self._bartlett(sample_shape), X)
                bad = ~self.support.check(X)
                if not bool(bad.any()):
                    break
        return X

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        trace = (self.precision_matrix * value).sum((-2, -1))  # tr(S^-1 X) for symmetric X
        return (0.5 * (nu - p - 1) * torch.linalg.slogdet(value).logabsdet - 0.5 * trace
                - 0.5 * nu * (p * math.log(2) + self._logdet_scale()) - torch.mvlgamma(nu / 2, p=p))

    def entropy(self):
        """(p+1)/2 (log|S| + p log 2) + log Gamma_p(df/2) - (df - p - 1)/2 psi_p(df/2) + df p / 2."""
        nu, p = self.df, self._event_shape[-1]
        return (0.5 * (p + 1) * (self._logdet_scale() + p * math.log(2)) + torch.mvlgamma(nu / 2, p=p)
                - 0.5 * (nu - p - 1) * _mvdigamma(nu / 2, p) + 0.5 * nu * p)

    @property
    def _natural_params(self):
        """theta1 = -S^-1 / 2 (pairs with X), theta2 = (df - p - 1)/2 (pairs with log|X|)."""
        return -self.precision_matrix / 2, (self.df - self._event_shape[-1] - 1) / 2

    def _log_normalizer(self, theta1, theta2):
        """F = (df/2)(p log 2 - log|-2 theta1|) + log Gamma_p(df/2), with df/2 = theta2 + (p + 1)/2."""
        p = self._event_shape[-1]
        half_df = theta2 + (p + 1) / 2
        return half_df * (p * math.log(2) - torch.linalg.slogdet(-2 * theta1).logabsdet) + torch.mvlgamma(half_df, p=p)
