"""Ready-made parametrizations: ``orthogonal``, ``weight_norm``, ``spectral_norm``.

Each one registers a small Module with ``nn.utils.parametrize.register_parametrization``, so the trained
tensor lives in ``module.parametrizations.<name>.original`` and ``module.<name>`` is recomputed from it:

- ``orthogonal``:    W = B · φ(A), φ maps an unconstrained A to an orthogonal matrix (exp, Cayley, Householder)
- ``weight_norm``:   W = g · v / ‖v‖      (direction and magnitude trained separately)
- ``spectral_norm``: W = W₀ / σ(W₀)       (σ: the largest singular value, by power iteration)
"""
import ember
import ember.nn.functional as F
from ember import Tensor

from ..module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]

_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _is_orthogonal(Q):
    """Qᴴ Q = I up to a few ulps per row."""
    n, k = Q.shape[-2:]
    eps = 10.0 * n * ember.finfo(Q.dtype).eps
    return ember.allclose(Q.mH @ Q, ember.eye(k, dtype=Q.dtype, device=Q.device), atol=eps)


def _make_orthogonal(A):
    """The Q of A = QR (A tall), signs fixed so that diag(R) > 0: the orthogonal matrix nearest in spirit to A."""
    Q, R = ember.linalg.qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _Orthogonal(Module):
    """Q = B · φ(X) for a tall X (a wide weight is handled transposed).

    φ of the skew-symmetric A = L - Lᴴ (L the lower triangle of X, padded to square):
    ``matrix_exp`` exp(A), ``cayley`` (I - A/2)⁻¹(I + A/2), first k columns. ``householder``: the product of the
    reflectors I - τ vvᴴ stored below X's diagonal (τ = 2/‖v‖²), column signs from X's diagonal.
    With ``use_trivialization`` the buffer B (``base``) holds the current orthogonal matrix and X starts at
    the point where φ(X) = I, so that training moves around the current weight ("dynamic trivialization").
    """

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def _tall(self, X):
        n, k = X.shape[-2:]
        return (X.mT, True) if n < k else (X, False)

    def forward(self, X):
        X, transposed = self._tall(X)
        n, k = X.shape[-2:]
        if self.orthogonal_map == "householder":
            V = X.tril(-1)
            tau = 2.0 / (1.0 + (V * V).sum(dim=-2))
            Q = ember.linalg.householder_product(V, tau)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            L = X.tril()
            if n != k:
                L = ember.cat([L, L.new_zeros(*L.shape[:-1], n - k)], dim=-1)
            A = L - L.mH
            if self.orthogonal_map == "matrix_exp":
                Q = ember.linalg.matrix_exp(A)
            else:
                eye = ember.eye(n, dtype=A.dtype, device=A.device)
                Q = ember.linalg.solve(eye - A / 2, eye + A / 2)
            Q = Q[..., :k]
        if hasattr(self, "base"):
            Q = self.base @ Q
        return Q.mT if transposed else Q

    @ember.no_grad()
    def right_inverse(self, Q):
        """An X with forward(X) = Q (Q is first orthogonalised by QR if it is not orthogonal)."""
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q, transposed = self._tall(Q)
        n, k = Q.shape[-2:]
        if not hasattr(self, "base"):
            if self.orthogonal_map != "householder":
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            A, _ = ember.geqrf(Q)  # reflectors below the diagonal, R on and above it
            signs = A.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)
            diag = ember.eye(n, k, dtype=Q.dtype, device=Q.device)
            X = A * (1 - diag) + diag * signs  # the diagonal keeps only the signs of R's
            return X.mT if transposed else X
        if not _is_orthogonal(Q):
            Q = _make_orthogonal(Q)
        if n != k:  # complete the columns to an n x n orthogonal basis
            extra = ember.randn(*Q.shape[:-1], n - k, dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(ember.cat([Q, extra], dim=-1))
        self.base = Q
        X = -ember.eye(n, k, dtype=Q.dtype, device=Q.device).expand(*Q.shape[:-2], n, k)
        return X.mT if transposed else X


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Keep ``module.<name>`` orthogonal (QᵀQ = I or QQᵀ = I, whichever fits its shape; unitary if complex).

    ``orthogonal_map``: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; the default is ``"matrix_exp"``
    for square or complex matrices and ``"householder"`` otherwise. The current weight is orthogonalised
    (QR) at registration. Returns ``module``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        n, k = weight.shape[-2:]
        orthogonal_map = "matrix_exp" if n == k or weight.is_complex() else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    """W = g · v / ‖v‖, the norm over every dim but ``dim`` (``dim=-1``: the whole tensor)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Split ``module.<name>`` into a magnitude ``original0`` (g) and a direction ``original1`` (v).

    W = g · v / ‖v‖ (Salimans & Kingma, 2016). ``dim``: the dim that keeps one g per slice (0: one per
    output unit); ``None``: a single g for the whole tensor. State dicts saved by the legacy
    ``nn.utils.weight_norm`` (keys ``<name>_g``/``<name>_v``) still load. Returns ``module``.
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_legacy_keys(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        g, v = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g in state_dict and v in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v)

    module._register_load_state_dict_pre_hook(load_legacy_keys)
    return module


class _SpectralNorm(Module):
    """W / σ(W), σ the largest singular value of W seen as a matrix (``dim`` first, the rest flattened).

    σ ≈ uᵀ W v with u, v from power iteration (u ← Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖), run ``n_power_iterations``
    times per forward in training mode and carried between calls in the buffers ``_u`` and ``_v``.
    A 1-D weight is simply normalised: σ = ‖w‖.
    """

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] "
                             f"but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            W = self._as_matrix(weight)
            h, w = W.shape
            self.register_buffer("_u", F.normalize(W.new_empty(h).normal_(0, 1), dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(W.new_empty(w).normal_(0, 1), dim=0, eps=eps))
            self._power_method(W, 15)  # start from a good estimate

    def _as_matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    @ember.no_grad()
    def _power_method(self, W, n_iterations):
        for _ in range(n_iterations):
            self._u = F.normalize(W @ self._v, dim=0, eps=self.eps)
            self._v = F.normalize(W.mH @ self._u, dim=0, eps=self.eps)

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        W = self._as_matrix(weight)
        if self.training:
            self._power_method(W, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = ember.vdot(u, W @ v)
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm on every access (Miyato et al., 2018, for GAN critics).

    ``dim`` defaults to 1 for ConvTranspose layers (their output channels) and 0 otherwise. The power
    iteration only advances in training mode. Returns ``module``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
