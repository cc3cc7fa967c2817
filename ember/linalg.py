"""``torch.linalg``: norms, inverses, solves and factorizations of (batches of) matrices.

Every function accepts leading batch dimensions (``(*, m, n)``). The differentiable primitives are the
Functions in ``ember/ops/decompositions.py`` (inv, det, slogdet, solve, solve_triangular, cholesky, eigh,
svd, qr, pinv); the rest is composed from them and ordinary Tensor ops, so gradients flow through it all.
A singular or non-positive-definite input raises :class:`LinAlgError` (a ``RuntimeError``) with torch's words.
"""
import builtins
from collections import namedtuple

import numpy as np

from ._tensor import Tensor, wrap
from .ops import decompositions as D
from .ops.decompositions import LinAlgError
from .ops import reduce as R

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "inv_ex", "solve", "solve_ex", "det",
           "slogdet", "svd", "svdvals", "qr", "cholesky", "cholesky_ex", "eigh", "eigvalsh", "eig", "eigvals",
           "lstsq", "pinv", "matrix_rank", "cross", "multi_dot", "matrix_power", "matrix_exp", "diagonal", "vecdot",
           "solve_triangular", "lu_factor", "lu_factor_ex", "lu", "lu_solve", "cond", "tensorinv", "tensorsolve",
           "vander", "matmul", "householder_product", "lu_unpack", "ldl_factor", "ldl_factor_ex", "ldl_solve"]


def _nt(name, fields):
    t = namedtuple(name, fields)
    t.__module__ = "torch.return_types"
    from .functions import _return_type_repr
    t.__repr__ = _return_type_repr
    return t


_Slogdet = _nt("linalg_slogdet", ["sign", "logabsdet"])
_Svd = _nt("linalg_svd", ["U", "S", "Vh"])
_Qr = _nt("linalg_qr", ["Q", "R"])
_Eigh = _nt("linalg_eigh", ["eigenvalues", "eigenvectors"])
_Eig = _nt("linalg_eig", ["eigenvalues", "eigenvectors"])
_InvEx = _nt("linalg_inv_ex", ["inverse", "info"])
_CholEx = _nt("linalg_cholesky_ex", ["L", "info"])
_SolveEx = _nt("linalg_solve_ex", ["result", "info"])
_Lstsq = _nt("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
_LuFactor = _nt("linalg_lu_factor", ["LU", "pivots"])
_LuFactorEx = _nt("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_Lu = _nt("linalg_lu", ["P", "L", "U"])


# ---- norms ----------------------------------------------------------------------------------------------
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x_i|^ord)^(1/ord) over ``dim`` (all entries by default); ord = inf/-inf: max/min |x_i|, 0: count."""
    if x._data.dtype.kind not in "fcV":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype.scalar_name}")
    if dtype is not None:
        x = x.to(dtype)
    if x.is_complex():
        x = x.abs()
    if isinstance(dim, int):
        dim = (dim,)
    return R.Norm.apply(x, float(ord), dim, keepdim)


def _svdvals_reduce(A, dims, keepdim, how):
    A = A.movedim(dims, (-2, -1))
    s = svdvals(A)
    out = {"sum": lambda: s.sum(-1), "max": lambda: s.amax(-1), "min": lambda: s.amin(-1)}[how]()
    if keepdim:
        out = out.unsqueeze(min(dims)).unsqueeze(max(dims))
    return out


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms: 'fro', 'nuc' (sum of singular values), 2/-2 (largest/smallest singular value),
    1/-1 (max/min column abs-sum), inf/-inf (max/min row abs-sum)."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        A = A.to(dtype)
    dims = tuple(d % A.ndim for d in dim)
    if len(dims) != 2 or dims[0] == dims[1]:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, dims, keepdim)
    if ord == "nuc":
        return _svdvals_reduce(A, dims, keepdim, "sum")
    if ord in (2, -2):
        return _svdvals_reduce(A, dims, keepdim, "max" if ord == 2 else "min")
    if ord in (1, -1, float("inf"), float("-inf")):
        sum_dim, red_dim = (dims[0], dims[1]) if ord in (1, -1) else (dims[1], dims[0])
        s = A.abs().sum(sum_dim, keepdim=True)
        out = s.amax(red_dim, keepdim=True) if ord > 0 else s.amin(red_dim, keepdim=True)
        return out if keepdim else out.squeeze(max(dims)).squeeze(min(dims))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector norm (1-D input or one ``dim``) or a matrix norm (2-D input or two ``dim`` s)."""
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        if A.ndim == 1:
            return vector_norm(A, ord, None, keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.ndim}D.")
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Order {ord} not supported.")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def cond(A, p=None):
    """Condition number: σ_max/σ_min for p = None/2 (σ_min/σ_max for -2), else norm(A, p) norm(A^-1, p)."""
    if p in (None, 2, -2):
        s = svdvals(A)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


# ---- inverse, determinant, solves ----------------------------------------------------------------------
def inv(A, *, out=None):
    """A^-1 (``LinAlgError`` when A is singular)."""
    return D.Inv.apply(A)


def inv_ex(A, *, check_errors=False, out=None):
    """(A^-1, info): info > 0 names the zero pivot of a singular matrix instead of raising."""
    D.check_matrix(A, "linalg.inv_ex")
    _, _, info = D.lu_factor_array(A._data)
    if check_errors or not bool(info.any()):
        return _InvEx(inv(A), wrap(info))
    with np.errstate(all="ignore"):
        x = A._data
        lu, piv, _ = D.lu_factor_array(x)
        eye = np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape)
        y = _lu_solve_array(lu, piv, eye)
    return _InvEx(wrap(y), wrap(info))


def det(A, *, out=None):
    """The determinant (gradient = det · A^-T; the adjugate where A is singular)."""
    return D.Det.apply(A)


def slogdet(A, *, out=None):
    """(sign, log|det A|): the determinant without overflow."""
    return _Slogdet(*D.Slogdet.apply(A))


def solve(A, B, *, left=True, out=None):
    """X with AX = B (left=False: XA = B); B may be a (batch of) vector(s); batch dims broadcast."""
    return D.Solve.apply(A, B, left)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    _, _, info = D.lu_factor_array(A._data)
    if check_errors or not bool(info.any()):
        return _SolveEx(solve(A, B, left=left), wrap(info))
    return _SolveEx(wrap(np.full(np.broadcast_shapes(A.shape[:-2], B.shape[:-2]) + B.shape[-2:], np.nan,
                                 A._data.dtype)), wrap(info))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with TX = B for the upper or lower triangle T of A (the other triangle is not read)."""
    return D.SolveTriangular.apply(A, B, upper, left, unitriangular)


# ---- factorizations ---------------------------------------------------------------------------------------
def cholesky(A, *, upper=False, out=None):
    """L (lower) with A = L L^H for a Hermitian positive-definite A (``upper=True``: U = L^H)."""
    return D.Cholesky.apply(A, upper)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): info = order of the first leading minor that is not positive-definite (0: success)."""
    D.check_matrix(A, "linalg.cholesky_ex")
    try:
        L = cholesky(A, upper=upper)
        return _CholEx(L, wrap(np.zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
    L, info = D.cholesky_array(A._data)
    L = np.tril(L)
    return _CholEx(wrap(np.conj(L).swapaxes(-1, -2) if upper else L), wrap(info))


def eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a Hermitian matrix (one triangle is read)."""
    return _Eigh(*D.Eigh.apply(A, UPLO))


def eigvalsh(A, UPLO="L", *, out=None):
    return D.Eigh.apply(A, UPLO)[0]


def eig(A, *, out=None):
    """Eigenvalues and eigenvectors (unit columns) of a general square matrix, always complex (as torch);
    differentiable (for losses that do not depend on the eigenvectors' arbitrary phase)."""
    return _Eig(*D.Eig.apply(A))


def eigvals(A, *, out=None):
    return D.Eig.apply(A)[0]


def svd(A, full_matrices=True, *, driver=None, out=None):
    """A = U diag(S) Vh, singular values descending."""
    return _Svd(*D.Svd.apply(A, full_matrices))


def svdvals(A, *, driver=None, out=None):
    return D.Svd.apply(A, False)[1]


def qr(A, mode="reduced", *, out=None):
    """A = QR with orthonormal Q and upper-triangular R (mode 'reduced', 'complete' or 'r')."""
    return _Qr(*D.Qr.apply(A, mode))


def _lu_solve_array(lu, piv, b):
    """Solve with a packed LU and getrf pivots (batched): permute b, then unit-lower and upper solves."""
    n = lu.shape[-1]
    b = np.array(np.broadcast_to(b, np.broadcast_shapes(lu.shape[:-2], b.shape[:-2]) + b.shape[-2:]))
    lu = np.broadcast_to(lu, b.shape[:-2] + lu.shape[-2:])
    piv = np.broadcast_to(piv, b.shape[:-2] + piv.shape[-1:])
    flat_b = b.reshape((-1,) + b.shape[-2:])
    flat_p = piv.reshape(-1, piv.shape[-1])
    rows = np.arange(flat_b.shape[0])
    for j in range(flat_p.shape[-1]):
        p = flat_p[:, j] - 1
        top = flat_b[rows, j].copy()
        flat_b[rows, j] = flat_b[rows, p]
        flat_b[rows, p] = top
    with np.errstate(all="ignore"):  # a zero pivot gives inf/nan, as LAPACK's getrs
        return _substitute(lu, _substitute(lu, b, lower=True), lower=False)


def _substitute(T, b, lower):
    """Forward (unit lower triangle of T) or back (upper triangle) substitution, one row at a time, batched."""
    n = T.shape[-1]
    x = np.array(b, dtype=np.result_type(T.dtype, b.dtype))
    order = range(n) if lower else range(n - 1, -1, -1)
    for i in order:
        rest = slice(0, i) if lower else slice(i + 1, n)
        acc = x[..., i, :] - (T[..., i, rest, None] * x[..., rest, :]).sum(-2)
        x[..., i, :] = acc if lower else acc / T[..., i, i, None]
    return x


def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots): LAPACK's packed partial-pivot LU (pivots 1-based, int32)."""
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    if bool(info._data.any()):
        k = int(info._data.reshape(-1)[np.flatnonzero(info._data.reshape(-1))[0]])
        raise RuntimeError(f"torch.linalg.lu_factor: U[{k},{k}] is zero and using it on lu_solve would result in a "
                           "division by zero. If you still want to perform the factorization, consider calling "
                           "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return _LuFactor(LU, piv)


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    D.check_matrix(A, "linalg.lu_factor_ex", square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    lu_, piv, info = D.lu_factor_array(A._data)
    return _LuFactorEx(wrap(lu_), wrap(piv), wrap(info))


def lu(A, *, pivot=True, out=None):
    """(P, L, U) with A = P L U (L unit lower-triangular, U upper-triangular)."""
    if not pivot:
        raise RuntimeError("linalg.lu: LU without pivoting is not implemented on the CPU")
    D.check_matrix(A, "linalg.lu", square=False)
    return _Lu(*D.Lu.apply(A))


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """X with AX = B from ``lu_factor``'s (LU, pivots)."""
    if not left or adjoint:
        P, L, U = lu_unpack(LU, pivots)
        A = P @ L @ U
        A = A.mH if adjoint else A
        return solve(A, B, left=left)
    return wrap(_lu_solve_array(LU._data, pivots._data, B._data))


def lu_unpack(LU, pivots, unpack_data=True, unpack_pivots=True):
    """(P, L, U) from ``lu_factor``'s packed LU and pivots."""
    x = LU._data
    m, n = x.shape[-2:]
    k = min(m, n)
    return (wrap(D.permutation_from_pivots(pivots._data, m, x.dtype)),
            wrap(np.tril(x[..., :, :k], -1) + np.eye(m, k, dtype=x.dtype)), wrap(np.triu(x[..., :k, :])))


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares X minimising ||AX - B||, computed as pinv(A) B (differentiable). As torch on the CPU:
    ``rank`` for drivers gelsy (default)/gelsd/gelss, ``residuals`` when m > n, A has full rank and the driver is
    not gelsy, ``singular_values`` for gelsd/gelss; otherwise those are empty."""
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vec = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vec else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got {A.shape[-2]} "
                           f"and {Bm.shape[-2]}")
    m, n = A.shape[-2:]
    rtol = rcond if rcond is not None and rcond > 0 else np.finfo(A._data.dtype).eps * max(m, n)
    X = pinv(A, rtol=rtol) @ Bm
    s = np.linalg.svd(A._data, compute_uv=False)
    rank = (s > rtol * s[..., :1]).sum(-1).astype(np.int64) if s.shape[-1] else np.zeros(s.shape[:-1], np.int64)
    empty = wrap(np.zeros((0,), A._data.dtype))
    full = bool((rank == min(m, n)).all())
    residuals = ((A @ X - Bm).abs() ** 2).sum(-2) if (m > n and full and driver != "gelsy") else empty
    if vec and residuals is not empty:
        residuals = residuals.squeeze(-1)
    return _Lstsq(X.squeeze(-1) if vec else X, residuals,
                  wrap(rank) if driver != "gels" else wrap(np.zeros((0,), np.int64)),
                  wrap(s.astype(A._data.real.dtype)) if driver in ("gelsd", "gelss") else empty)


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """Moore-Penrose pseudo-inverse from the SVD (singular values ≤ max(atol, rtol·σ_max) treated as zero)."""
    def val(t):
        return float(t.item()) if isinstance(t, Tensor) else t
    return D.Pinv.apply(A, val(atol), val(rtol), hermitian)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None, out=None):
    """Number of singular values above max(atol, rtol·σ_max) (int64)."""
    D.check_matrix(A, "linalg.matrix_rank", square=False)
    x = A._data
    s = np.abs(np.linalg.eigvalsh(x)) if hermitian else np.linalg.svd(x, compute_uv=False)
    if hermitian:
        s = -np.sort(-s, -1)
    if tol is not None:
        atol, rtol = tol, 0.0
    if rtol is None:
        rtol = 0.0 if (atol is not None and atol > 0) else max(x.shape[-2:]) * np.finfo(s.dtype).eps
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), s.dtype)
    tolv = np.maximum(0.0 if atol is None else atol, rtol * smax)
    return wrap((s > tolv).sum(-1).astype(np.int64))


# ---- products and friends ---------------------------------------------------------------------------------
def cross(input, other, *, dim=-1, out=None):
    """The 3-vector cross product along ``dim`` (inputs broadcast)."""
    from .functions import broadcast_tensors, cross as _cross
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
                           f"{other.shape[dim]}")
    a, b = broadcast_tensors(input, other)
    return _cross(a, b, dim % a.ndim)


def multi_dot(tensors, *, out=None):
    """A chain of matrix products (the first/last may be vectors)."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def matmul(input, other, *, out=None):
    return input @ other


def vecdot(x, y, *, dim=-1, out=None):
    """sum over ``dim`` of conj(x) * y."""
    return ((x.conj() if x.is_complex() else x) * y).sum(dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    from .functions import diagonal as _diagonal
    return _diagonal(A, offset, dim1, dim2)


def matrix_power(A, n, *, out=None):
    """A^n by repeated squaring (n < 0: of the inverse; n = 0: the identity)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    D.check_matrix(A, "linalg.matrix_power", floating=False)
    if n == 0:
        from .creation import eye
        return eye(A.shape[-1], dtype=A.dtype).expand(A.shape).clone()
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def matrix_exp(A):
    """exp(A) by scaling and squaring: a degree-18 Taylor polynomial of A / 2^s (Horner), squared s times.
    Built from matmuls, so its gradient is exact for the computed polynomial."""
    D.check_matrix(A, "linalg.matrix_exp")
    x = A._data
    nrm = float(np.abs(x).sum(-2).max()) if x.size else 0.0
    s = builtins.max(0, int(np.ceil(np.log2(nrm / 0.5)))) if nrm > 0.5 else 0
    B = A / (2.0 ** s) if s else A
    from .creation import eye
    I = eye(A.shape[-1], dtype=A.dtype)
    E = I
    for k in range(18, 0, -1):
        E = I + (B @ E) / k
    for _ in range(s):
        E = E @ E
    return E


def tensorinv(A, ind=2, *, out=None):
    """The inverse of A seen as a matrix (prod(shape[:ind]) x prod(shape[ind:]))."""
    lead, rest = A.shape[:ind], A.shape[ind:]
    return inv(A.reshape(int(np.prod(lead)), int(np.prod(rest)))).reshape(*rest, *lead)


def tensorsolve(A, B, dims=None, *, out=None):
    """X with tensordot(A, X, X.ndim) = B."""
    if dims is not None:
        A = A.movedim(dims, tuple(range(A.ndim - len(dims), A.ndim)))
    rest = A.shape[B.ndim:]
    n = int(np.prod(rest))
    return solve(A.reshape(-1, n), B.reshape(-1)).reshape(*rest)


def vander(x, *, N=None):
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers, as torch.linalg.vander)."""
    N = x.shape[-1] if N is None else N
    from .functions import cumprod, cat
    if N <= 1:
        return x.unsqueeze(-1) ** 0 if N == 1 else x.unsqueeze(-1)[..., :0]
    ones = x.unsqueeze(-1) * 0 + 1
    return cat([ones, cumprod(x.unsqueeze(-1).expand(*x.shape, N - 1), -1)], -1)


def householder_product(A, tau, *, out=None):
    """Q from Householder reflectors (columns of A below the diagonal, scalars tau): Q = H_1 ... H_k,
    H_i = I - tau_i v_i v_i^H."""
    m, n = A.shape[-2:]
    from .creation import eye
    from .functions import tril
    V = tril(A, -1) + eye(m, n, dtype=A.dtype)
    Q = eye(m, dtype=A.dtype).expand(*A.shape[:-2], m, m)
    for i in range(tau.shape[-1]):
        v = V[..., :, i:i + 1]
        Q = Q - (Q @ v) @ (v.mH if v.is_complex() else v.mT) * tau[..., i:i + 1].unsqueeze(-1)
    return Q[..., :, :n]


def geqrf_array(a):
    """LAPACK's geqrf on a batch: R in the upper triangle, the Householder vectors (unit first entry
    implied) below it, and their scalars tau. Column j: beta = -sign(alpha) ||(alpha, x)||,
    tau = (beta - alpha)/beta, v = x/(alpha - beta), then H = I - tau v v^T is applied to the columns right of j."""
    m, n = a.shape[-2:]
    A = np.array(a.reshape((-1, m, n)), dtype=a.dtype, copy=True)
    B, k = A.shape[0], min(m, n)
    tau = np.zeros((B, k), dtype=a.dtype)
    for j in range(k):
        alpha = A[:, j, j].copy()
        x = A[:, j + 1:, j]
        xnorm = np.sqrt((np.abs(x) ** 2).sum(-1))
        act = xnorm != 0
        beta = -np.copysign(np.hypot(alpha, xnorm), alpha)
        t = np.where(act, (beta - alpha) / np.where(act, beta, 1), 0)
        v = x / np.where(act, alpha - beta, 1)[:, None]
        A[:, j + 1:, j] = np.where(act[:, None], v, x)
        A[:, j, j] = np.where(act, beta, alpha)
        tau[:, j] = t
        vfull = np.concatenate([np.ones((B, 1), a.dtype), A[:, j + 1:, j]], 1)       # (B, m - j)
        sub = A[:, j:, j + 1:]
        w = (vfull[:, :, None] * sub).sum(1)                                          # (B, n - j - 1)
        A[:, j:, j + 1:] = sub - t[:, None, None] * vfull[:, :, None] * w[:, None, :]
    return A.reshape(a.shape), tau.reshape(a.shape[:-2] + (k,))


_LdlFactor = _nt("linalg_ldl_factor", ["LD", "pivots"])
_LdlFactorEx = _nt("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
_BK_ALPHA = (1 + np.sqrt(17.0)) / 8


def _sytf2_lower(A):
    """LAPACK's sytf2 (Bunch–Kaufman, lower) on one symmetric matrix: LD (in place), 1-based pivots, info.
    Each step picks a 1x1 pivot (with or without a symmetric interchange) or a 2x2 pivot block."""
    n = A.shape[0]
    piv = np.zeros(n, np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(A[k, k])
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(A[k + 1:, k])))
            colmax = abs(A[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0:
            info = info or k + 1
            kp = k
        else:
            if absakk >= _BK_ALPHA * colmax:
                kp = k
            else:
                rowmax = np.abs(A[imax, k:imax]).max()
                if imax < n - 1:
                    rowmax = max(rowmax, np.abs(A[imax + 1:, imax]).max())
                if absakk >= _BK_ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(A[imax, imax]) >= _BK_ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:  # interchange rows and columns kk and kp of the trailing block (lower storage)
                if kp < n - 1:
                    A[kp + 1:, [kk, kp]] = A[kp + 1:, [kp, kk]]
                seg = A[kk + 1:kp, kk].copy()
                A[kk + 1:kp, kk] = A[kp, kk + 1:kp]
                A[kp, kk + 1:kp] = seg
                A[kk, kk], A[kp, kp] = A[kp, kp], A[kk, kk]
                if kstep == 2:
                    A[k + 1, k], A[kp, k] = A[kp, k], A[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    x = A[k + 1:, k].copy()
                    A[k + 1:, k + 1:] -= np.tril(np.outer(x, x)) / A[k, k]
                    A[k + 1:, k] = x / A[k, k]
            elif k < n - 2:
                d21 = A[k + 1, k]
                d11 = A[k + 1, k + 1] / d21
                d22 = A[k, k] / d21
                t = 1 / (d11 * d22 - 1)
                d21 = t / d21
                ck, ck1 = A[k + 2:, k].copy(), A[k + 2:, k + 1].copy()
                wk = d21 * (d11 * ck - ck1)
                wk1 = d21 * (d22 * ck1 - ck)
                A[k + 2:, k + 2:] -= np.tril(np.outer(ck, wk) + np.outer(ck1, wk1))
                A[k + 2:, k], A[k + 2:, k + 1] = wk, wk1
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    return np.tril(A), piv, info


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """(LD, pivots, info): the Bunch–Kaufman factorization A = P L D L^T P^T of a symmetric matrix (LAPACK's
    sytrf, lower triangle read; D has 1x1 and 2x2 blocks, negative pivots mark a 2x2 block)."""
    D.check_matrix(A, "torch.linalg.ldl_factor_ex")
    x = A._data
    n = x.shape[-1]
    flat = np.tril(x.reshape(-1, n, n)).astype(x.dtype, copy=True)
    flat = flat + np.swapaxes(np.tril(flat, -1), -1, -2).conj()
    res = [_sytf2_lower(m.copy()) for m in flat]  # one matrix at a time: each makes its own pivot choices
    LD = np.stack([r[0] for r in res]).reshape(x.shape) if res else np.zeros(x.shape, x.dtype)
    piv = np.stack([r[1] for r in res]).reshape(x.shape[:-1]) if res else np.zeros(x.shape[:-1], np.int32)
    info = np.array([r[2] for r in res], np.int32).reshape(x.shape[:-2])
    if check_errors and info.any():
        raise LinAlgError(f"torch.linalg.ldl_factor_ex: The factorization could not be completed because the "
                          f"input matrix is singular.")
    return _LdlFactorEx(wrap(LD), wrap(piv), wrap(info))


def ldl_factor(A, *, hermitian=False, out=None):
    LD, piv, _ = ldl_factor_ex(A, hermitian=hermitian)
    return _LdlFactor(LD, piv)


def _sytrs_lower(LD, piv, B):
    """LAPACK's sytrs (lower): solve with a Bunch–Kaufman factorization, B (n, k) in place."""
    n = LD.shape[0]
    k = 0
    while k < n:  # L D y = b
        if piv[k] > 0:
            kp = piv[k] - 1
            B[[k, kp]] = B[[kp, k]]
            B[k + 1:] -= np.outer(LD[k + 1:, k], B[k])
            B[k] /= LD[k, k]
            k += 1
        else:
            kp = -piv[k] - 1
            B[[k + 1, kp]] = B[[kp, k + 1]]
            if k < n - 2:
                B[k + 2:] -= np.outer(LD[k + 2:, k], B[k]) + np.outer(LD[k + 2:, k + 1], B[k + 1])
            akm1k = LD[k + 1, k]
            akm1, ak = LD[k, k] / akm1k, LD[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1, bk = B[k] / akm1k, B[k + 1] / akm1k
            B[k], B[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T x = y
        if piv[k] > 0:
            if k < n - 1:
                B[k] -= LD[k + 1:, k] @ B[k + 1:]
            kp = piv[k] - 1
            B[[k, kp]] = B[[kp, k]]
            k -= 1
        else:
            if k < n - 1:
                B[k] -= LD[k + 1:, k] @ B[k + 1:]
                B[k - 1] -= LD[k + 1:, k - 1] @ B[k + 1:]
            kp = -piv[k] - 1
            B[[k, kp]] = B[[kp, k]]
            k -= 2
    return B


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """X with A X = B from ldl_factor's (LD, pivots)."""
    L, p, b = LD._data, pivots._data, B._data
    n = L.shape[-1]
    shape = np.broadcast_shapes(L.shape[:-2], b.shape[:-2])
    Lb = np.broadcast_to(L, shape + L.shape[-2:]).reshape(-1, n, n)
    pb = np.broadcast_to(p, shape + p.shape[-1:]).reshape(-1, n)
    bb = np.array(np.broadcast_to(b, shape + b.shape[-2:]).reshape((-1,) + b.shape[-2:]), dtype=L.dtype)
    out_ = np.stack([_sytrs_lower(Lm, pm, bm) for Lm, pm, bm in zip(Lb, pb, bb)]) if len(bb) else bb
    return wrap(out_.reshape(shape + b.shape[-2:]))
