"""Matrix inverses, solves and factorizations (``torch.linalg``): one Function each, derivative beside it.

Forward passes call LAPACK through ``xp.linalg`` (batched over leading dims); backward passes are written
with Tensor ops (matmul, solve, triangular solve), so a second derivative reuses the same formulas.
Notation: ``X^H`` is the conjugate transpose (``.mH``; the plain transpose for real tensors), ``g`` the
incoming gradient. The formulas are those of PyTorch's ``derivatives.yaml`` / ``FunctionsManual.cpp``.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ._util import wrap, array_module

__all__ = ["LinAlgError", "Inv", "Det", "Slogdet", "Solve", "SolveTriangular", "Cholesky", "Eigh", "Svd", "Qr",
           "Pinv", "Lu", "Eig", "lu_factor_array", "permutation_from_pivots", "cholesky_array", "check_matrix"]


class LinAlgError(RuntimeError):
    """A matrix was singular / not positive-definite (torch.linalg.LinAlgError, a RuntimeError)."""

    __module__ = "torch.linalg"


# ---- checks and error messages ------------------------------------------------------------------------
def check_matrix(A, name, square=True, floating=True):
    """torch's argument errors for a (batch of) matrix input."""
    x = A._data
    if x.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if floating and x.dtype.kind not in "fcV":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {A.dtype.scalar_name}")
    if square and x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {x.shape[-2]} by "
                           f"{x.shape[-1]} matrices")


def _batch_prefix(x, bad):
    """'(Batch element k): ' for the first failing matrix of a batch (nothing for a single matrix)."""
    return f"(Batch element {int(np.flatnonzero(bad.reshape(-1))[0])}): " if x.ndim > 2 else ""


def lu_factor_array(a):
    """Partial-pivot LU of a batch of matrices, as LAPACK's getrf: (LU packed, 1-based int32 pivots, info).

    One Python step per column, vectorised over the batch: row swap, scale the column, rank-1 update of
    the trailing block. ``info`` is the 1-based index of the first zero pivot (0 when none)."""
    xp = array_module(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    A = a.reshape((-1, m, n)).astype(a.dtype, copy=True)
    B = A.shape[0]
    rows = xp.arange(B)
    piv = xp.zeros((B, k), dtype=np.int32)
    info = xp.zeros(B, dtype=np.int32)
    for j in range(k):
        p = j + xp.argmax(xp.abs(A[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        top = A[rows, j].copy()
        A[rows, j] = A[rows, p]
        A[rows, p] = top
        pivot = A[:, j, j]
        zero = pivot == 0
        info = xp.where((info == 0) & zero, j + 1, info)
        col = A[:, j + 1:, j] / xp.where(zero, 1, pivot)[:, None]
        A[:, j + 1:, j] = col
        A[:, j + 1:, j + 1:] -= col[:, :, None] * A[:, j, None, j + 1:]
    shape = a.shape[:-2]
    return A.reshape(a.shape), piv.reshape(shape + (k,)), info.reshape(shape)


def cholesky_array(a):
    """Lower Cholesky factor of a batch, as LAPACK's potrf: (L, info). Where a leading minor of order j is
    not positive-definite, info = j, that column keeps the offending value and later columns the input's."""
    xp = array_module(a)
    n = a.shape[-1]
    A = xp.tril(a.reshape((-1, n, n))).astype(a.dtype, copy=True)
    info = xp.zeros(A.shape[0], dtype=np.int32)
    for j in range(n):
        live = info == 0
        d = A[:, j, j] - (A[:, j, :j] * A[:, j, :j].conj()).sum(-1)
        bad = live & ~(d.real > 0)
        info = xp.where(bad, j + 1, info)
        live = info == 0
        root = xp.sqrt(xp.where(live, d.real, 1)).astype(a.dtype)
        A[:, j, j] = xp.where(live, root, xp.where(bad, d, A[:, j, j]))
        col = (A[:, j + 1:, j] - (A[:, j + 1:, :j] * A[:, j, None, :j].conj()).sum(-1)) / root[:, None]
        A[:, j + 1:, j] = xp.where(live[:, None], col, A[:, j + 1:, j])
    return A.reshape(a.shape), info.reshape(a.shape[:-2])


def _singular_inv(name, x):
    _, _, info = lu_factor_array(x)
    bad = info != 0
    k = int(info.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
    return LinAlgError(f"{name}: {_batch_prefix(x, bad)}The diagonal element {k} is zero, the inversion could not "
                       "be completed because the input matrix is singular.")


def _singular_solve(x):
    _, _, info = lu_factor_array(x)
    return LinAlgError(f"torch.linalg.solve: {_batch_prefix(x, info != 0)}The solver failed because the input "
                       "matrix is singular.")


def _not_pd(name, x):
    _, info = cholesky_array(x)
    bad = info != 0
    k = int(info.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
    return LinAlgError(f"{name}: {_batch_prefix(x, bad)}The factorization could not be completed because the input "
                       f"is not positive-definite (the leading minor of order {k} is not positive-definite).")


def _H(t):
    """Conjugate transpose of the last two dims."""
    return t.mH if t.is_complex() else t.mT


def _out(ctx, arr, recompute):
    """Keep an output array for backward; under create_graph rebuild it from the input (so it is differentiable)."""
    ctx.saved_out = arr
    ctx.recompute = recompute


def _saved(ctx, i=None):
    if STATE.enabled:
        out = ctx.recompute()
        return out if i is None else out[i]
    arr = ctx.saved_out if i is None else ctx.saved_out[i]
    return wrap(arr)


def _diag_embed(v):
    from ..functions import diag_embed
    return diag_embed(v)


# ---- inverse, determinant --------------------------------------------------------------------------------
class Inv(Function):
    """Y = A^-1:  gA = -Y^H g Y^H"""
    _grad_fn_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        check_matrix(A, "linalg.inv")
        x = A._data
        try:
            y = array_module(x).linalg.inv(x)
        except np.linalg.LinAlgError:
            raise _singular_inv("linalg.inv", x) from None
        ctx.A = A
        _out(ctx, y, lambda: Inv.apply(A))
        return y

    @staticmethod
    def backward(ctx, g):
        Yh = _H(_saved(ctx))
        return -(Yh @ g @ Yh)


class Det(Function):
    """d = det(A):  gA = g d A^-H  (the adjugate; computed from an SVD where A is singular)"""
    _grad_fn_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, A):
        check_matrix(A, "linalg.det")
        ctx.save_for_backward(A)
        return array_module(A._data).linalg.det(A._data)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        x = A._data
        xp = array_module(x)
        d = xp.linalg.det(x)
        if bool((d != 0).all()):
            return (g * Det.apply(A) if STATE.enabled else g * wrap(d)).unsqueeze(-1).unsqueeze(-1) * _H(Inv.apply(A))
        # singular: adj(A) = det(U) det(V) V diag(prod_{j != i} s_j) U^H, with no division by a zero s_i
        u, s, vh = xp.linalg.svd(x)
        ones = xp.ones(s.shape[:-1] + (1,), s.dtype)
        left = xp.cumprod(xp.concatenate([ones, s[..., :-1]], -1), -1)
        right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(s, -1)[..., :-1]], -1), -1), -1)
        scale = (xp.linalg.det(u) * xp.linalg.det(vh))[..., None]
        adj = (xp.conj(vh).swapaxes(-1, -2) * (left * right * scale)[..., None, :]) @ xp.conj(u).swapaxes(-1, -2)
        return g.unsqueeze(-1).unsqueeze(-1) * _H(wrap(adj.astype(x.dtype)))


class Slogdet(Function):
    """(sign, log|det A|):  gA = g_logabsdet A^-H   (sign is not differentiable)"""
    _grad_fn_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, A):
        check_matrix(A, "linalg.slogdet")
        sign, logabs = array_module(A._data).linalg.slogdet(A._data)
        ctx.save_for_backward(A)
        s = wrap(sign.astype(A._data.dtype))
        ctx.mark_non_differentiable(s)
        return s, logabs.astype(A._data.dtype.type(0).real.dtype)

    @staticmethod
    def backward(ctx, gsign, glog):
        (A,) = ctx.saved_tensors
        return glog.unsqueeze(-1).unsqueeze(-1) * _H(Inv.apply(A))


# ---- solves ---------------------------------------------------------------------------------------------
def _is_vector_rhs(A, B):
    """torch: B is a (batch of) vector(s) when it is 1-D or has A's shape without the last dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


class Solve(Function):
    """X = A^-1 B  (left=False: X = B A^-1):  gB = A^-H g,  gA = -gB X^H  (left=False: gB = g A^-H, gA = -X^H gB)"""
    _grad_fn_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B, left=True):
        check_matrix(A, "linalg.solve")
        a, b = A._data, B._data
        if a.dtype != b.dtype:
            raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                               f"{A.dtype.scalar_name} and B of type {B.dtype.scalar_name} instead")
        xp = array_module(a)
        vec = _is_vector_rhs(a, b)
        if vec:
            b = b[..., None] if left else b[..., None, :]
        rows = b.shape[-2] if left else b.shape[-1]
        if rows != a.shape[-1]:
            bs = "x".join(map(str, b.shape[-2:])) if not vec else (f"{b.shape[-2]}x1" if left else f"1x{b.shape[-1]}")
            eq = "AX = B" if left else "XA = B"
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} "
                               f"({a.shape[-2]}x{a.shape[-1]} and {bs})")
        try:
            if left:
                x = xp.linalg.solve(a, b)
            else:
                x = xp.linalg.solve(a.swapaxes(-1, -2), b.swapaxes(-1, -2)).swapaxes(-1, -2)
        except np.linalg.LinAlgError:
            raise _singular_solve(a) from None
        ctx.left, ctx.vec = left, vec
        ctx.save_for_backward(A)
        x = x[..., 0] if vec and left else (x[..., 0, :] if vec else x)
        _out(ctx, x, lambda: Solve.apply(A, B, left))
        return x

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        X = _saved(ctx)
        gB = Solve.apply(_H(A), g, ctx.left)
        gA = None
        if ctx.needs_input_grad[0]:
            if ctx.vec:
                gA = -(gB.unsqueeze(-1) * X.conj().unsqueeze(-2)) if ctx.left else \
                    -(X.conj().unsqueeze(-1) * gB.unsqueeze(-2))
            else:
                gA = -(gB @ _H(X)) if ctx.left else -(_H(X) @ gB)
        return gA, (gB if ctx.needs_input_grad[1] else None), None


def _tri(x, upper, unitriangular):
    xp = array_module(x)
    t = xp.triu(x) if upper else xp.tril(x)
    if unitriangular:
        n = x.shape[-1]
        t = t.copy()
        t[..., xp.arange(n), xp.arange(n)] = 1
    return t


class SolveTriangular(Function):
    """X = T^-1 B with T the upper/lower triangle of A (left=False: X = B T^-1):
    gB = T^-H g (a triangular solve of the other kind),  gA = -triangle(gB X^H)  (left=False: -triangle(X^H gB))"""
    _grad_fn_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, A, B, upper, left=True, unitriangular=False):
        a, b = A._data, B._data
        if a.dtype != b.dtype:
            dt = np.result_type(a.dtype, b.dtype)
            a, b = a.astype(dt), b.astype(dt)
        if a.ndim < 2 or b.ndim < 2:
            raise RuntimeError("linalg.solve_triangular: The input tensor " + ("A" if a.ndim < 2 else "B") +
                               " must have at least 2 dimensions.")
        rows = b.shape[-2] if left else b.shape[-1]
        if rows != a.shape[-1] or a.shape[-1] != a.shape[-2]:
            raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation "
                               f"{'AX = B' if left else 'XA = B'} ({a.shape[-2]}x{a.shape[-1]} and "
                               f"{b.shape[-2]}x{b.shape[-1]})")
        xp = array_module(a)
        t = _tri(a, upper, unitriangular)
        with np.errstate(all="ignore"):
            try:
                if left:
                    x = xp.linalg.solve(t, b)
                else:
                    x = xp.linalg.solve(t.swapaxes(-1, -2), b.swapaxes(-1, -2)).swapaxes(-1, -2)
            except np.linalg.LinAlgError:  # a zero on the diagonal: torch (trsm) divides by it, giving inf/nan
                x = xp.full(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:], np.nan, t.dtype)
        ctx.args = (upper, left, unitriangular)
        ctx.save_for_backward(A)
        _out(ctx, x, lambda: SolveTriangular.apply(A, B, upper, left, unitriangular))
        return x

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        upper, left, unit = ctx.args
        X = _saved(ctx)
        gB = SolveTriangular.apply(_H(A), g, not upper, left, unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ _H(X)) if left else -(_H(X) @ gB)
            gA = gA.triu(1 if unit else 0) if upper else gA.tril(-1 if unit else 0)
        return gA, (gB if ctx.needs_input_grad[1] else None), None, None, None


# ---- factorizations -------------------------------------------------------------------------------------
class Cholesky(Function):
    """A = L L^H:  gA = L^-H Φ(L^H gL) L^-1, Φ(X) = tril(X) with its diagonal halved, symmetrised
    (upper=True: U = L^H and the same with gL = gU^H)"""
    _grad_fn_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A, upper=False):
        check_matrix(A, "linalg.cholesky")
        x = A._data
        xp = array_module(x)
        try:
            L = xp.linalg.cholesky(x)
        except np.linalg.LinAlgError:
            raise _not_pd("linalg.cholesky", x) from None
        ctx.upper = upper
        out = xp.conj(L).swapaxes(-1, -2) if upper else L
        _out(ctx, out, lambda: Cholesky.apply(A, upper))
        return out

    @staticmethod
    def backward(ctx, g):
        L = _saved(ctx)
        if ctx.upper:
            L, g = _H(L), _H(g)
        gA = (_H(L) @ g).tril()
        gA = 0.5 * (gA + _H(gA.tril(-1)))
        gA = SolveTriangular.apply(_H(L), gA, True, True)
        gA = SolveTriangular.apply(L, gA, False, False)
        return gA, None


class Eigh(Function):
    """A = V diag(L) V^H (Hermitian):  gA = V (diag(gL) + skew(V^H gV) / E) V^H,
    skew(X) = (X - X^H)/2,  E_ij = L_j - L_i (off the diagonal)"""
    _grad_fn_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, A, UPLO="L"):
        check_matrix(A, "linalg.eigh")
        if UPLO not in ("L", "U"):
            raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
        w, v = array_module(A._data).linalg.eigh(A._data, UPLO=UPLO)
        _out(ctx, (w, v), lambda: Eigh.apply(A, UPLO))
        return w, v

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = _saved(ctx, 0), _saved(ctx, 1)
        Vh = _H(V)
        inner = _diag_embed(gL).to(V.dtype) if gL is not None else 0
        if gV is not None:
            VhgV = Vh @ gV
            VhgV = 0.5 * (VhgV - _H(VhgV))
            E = L.unsqueeze(-2) - L.unsqueeze(-1)
            n = E.shape[-1]
            eye = wrap(array_module(E._data).eye(n, dtype=E._data.dtype))
            inner = inner + VhgV / (E + eye) * (1 - eye)
        return V @ inner @ Vh, None


class Svd(Function):
    """A = U diag(S) V^H:  gA = U [(skew(U^H gU)/E) S + S (skew(V^H gV)/E) + diag(gS)] V^H
    + (I - U U^H) gU S^-1 V^H + U S^-1 gV^H (I - V V^H),   skew(X) = X - X^H,  E_jk = S_k^2 - S_j^2
    (full_matrices: the columns beyond min(m, n) get no gradient, as in torch)"""
    _grad_fn_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A, full_matrices=True):
        check_matrix(A, "linalg.svd", square=False)
        u, s, vh = array_module(A._data).linalg.svd(A._data, full_matrices=full_matrices)
        ctx.full = full_matrices
        _out(ctx, (u, s, vh), lambda: Svd.apply(A, full_matrices))
        return u, s.astype(A._data.real.dtype), vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = _saved(ctx, 0), _saved(ctx, 1), _saved(ctx, 2)
        m, n = U.shape[-2], Vh.shape[-1]
        k = min(m, n)
        if ctx.full:
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = gU[..., :, :k] if gU is not None else None
            gVh = gVh[..., :k, :] if gVh is not None else None
        V = _H(Vh)
        if gU is None and gVh is None:
            return (U * gS.unsqueeze(-2).to(U.dtype)) @ Vh, None
        gV = _H(gVh) if gVh is not None else None
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1)
        eye = wrap(array_module(E._data).eye(k, dtype=E._data.dtype))
        E = E + eye
        Sc = S.to(U.dtype)
        inner = _diag_embed(gS).to(U.dtype) if gS is not None else 0
        if gU is not None:
            UhgU = _H(U) @ gU
            inner = inner + ((UhgU - _H(UhgU)) / E) * Sc.unsqueeze(-2)
        if gV is not None:
            VhgV = Vh @ gV
            inner = inner + Sc.unsqueeze(-1) * ((VhgV - _H(VhgV)) / E)
        gA = U @ inner @ Vh
        if gU is not None and m > k:
            gA = gA + ((gU - U @ (_H(U) @ gU)) / Sc.unsqueeze(-2)) @ Vh
        if gV is not None and n > k:
            gA = gA + U @ ((_H(gV) - (_H(gV) @ V) @ Vh) / Sc.unsqueeze(-1))
        return gA, None


def _copyltu(M):
    """The Hermitian matrix with M's lower triangle (diagonal made real)."""
    low = M.tril(-1)
    d = M.diagonal(0, -2, -1)
    return low + _H(low) + _diag_embed(d.real if M.is_complex() else d)


def _qr_square_backward(gQ, gR, Q, R):
    """m >= n:  gA = (gQ + Q copyltu(M)) R^-H,  M = R gR^H - gQ^H Q"""
    M = 0
    if gR is not None:
        M = R @ _H(gR)
    b = gQ if gQ is not None else 0
    if gQ is not None:
        M = M - _H(gQ) @ Q
    b = b + Q @ _copyltu(M)
    return SolveTriangular.apply(_H(R), b, False, False)


class Qr(Function):
    """A = QR:  m >= n: gA = (gQ + Q copyltu(M)) R^-H, M = R gR^H - gQ^H Q;  m < n: A = [X|Y], R = [U|W]:
    gY = Q gW, and X gets the square formula with gQ + Y gW^H"""
    _grad_fn_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, A, mode="reduced"):
        if mode not in ("reduced", "complete", "r"):
            raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                               "'r', or 'complete'")
        check_matrix(A, "linalg.qr", square=False)
        x = A._data
        xp = array_module(x)
        q, r = xp.linalg.qr(x, mode="complete" if mode == "complete" else "reduced")
        ctx.mode, ctx.shape = mode, x.shape
        _out(ctx, (q, r), lambda: Qr.apply(A, mode))
        if mode == "r":
            q = xp.zeros((0,), x.dtype)
        return q, r

    @staticmethod
    def backward(ctx, gQ, gR):
        m, n = ctx.shape[-2:]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        Q, R = _saved(ctx, 0), _saved(ctx, 1)
        if m >= n:
            return _qr_square_backward(gQ, gR, Q, R), None
        from ..functions import cat
        U, W = R[..., :, :m], R[..., :, m:]
        Y = Q @ W
        gU = gR[..., :, :m] if gR is not None else None
        gW = gR[..., :, m:] if gR is not None else None
        gQ2 = gQ
        if gW is not None:
            gQ2 = (gQ if gQ is not None else 0) + Y @ _H(gW)
        gX = _qr_square_backward(gQ2, gU, Q, U)
        gY = Q @ gW if gW is not None else gX[..., :, :0].new_zeros(Y.shape)
        return cat([gX, gY], -1), None


class Pinv(Function):
    """P = A^+ (singular values below max(atol, rtol σ_max) dropped):
    gA = -P^H g P^H + (I - A P) g^H P P^H + P^H P g^H (I - P A)   (Golub & Pereyra; rank held fixed)"""
    _grad_fn_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, A, atol=None, rtol=None, hermitian=False):
        check_matrix(A, "linalg.pinv", square=False)
        x = A._data
        xp = array_module(x)
        u, s, vh = xp.linalg.svd(x, full_matrices=False)
        smax = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
        if rtol is None:
            rtol = 0.0 if (atol is not None and atol > 0) else max(x.shape[-2:]) * np.finfo(s.dtype).eps
        tol = xp.maximum(0.0 if atol is None else atol, rtol * smax)
        with np.errstate(divide="ignore"):
            sinv = xp.where(s > tol, 1 / xp.where(s > tol, s, 1), 0).astype(s.dtype)
        p = (xp.conj(vh).swapaxes(-1, -2) * sinv[..., None, :]) @ xp.conj(u).swapaxes(-1, -2)
        ctx.save_for_backward(A)
        _out(ctx, p.astype(x.dtype), lambda: Pinv.apply(A, atol, rtol, hermitian))
        return p.astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        P = _saved(ctx)
        Ph, gh = _H(P), _H(g)
        m, n = A.shape[-2], A.shape[-1]
        xp = array_module(A._data)
        Im = wrap(xp.eye(m, dtype=A._data.dtype))
        In = wrap(xp.eye(n, dtype=A._data.dtype))
        return (-(Ph @ g @ Ph) + (Im - A @ P) @ gh @ (P @ Ph) + (Ph @ P) @ gh @ (In - P @ A)), None, None, None


def permutation_from_pivots(piv, m, dtype):
    """The permutation matrix P (A = P L U) from getrf's 1-based row swaps, batched."""
    xp = array_module(piv)
    k = piv.shape[-1]
    batch = piv.shape[:-1]
    perm = xp.broadcast_to(xp.arange(m), batch + (m,)).reshape(-1, m).copy()
    rows = xp.arange(perm.shape[0])
    fp = piv.reshape(-1, k)
    for j in range(k):
        p = fp[:, j] - 1
        top = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = top
    P = xp.zeros((perm.shape[0], m, m), dtype)
    P[rows[:, None], perm, xp.arange(m)[None, :]] = 1
    return P.reshape(batch + (m, m))


class Lu(Function):
    """A = P L U:  (square)  gA = P L^-H [tril(L^H gL, -1) + triu(gU U^H)] U^-H"""
    _grad_fn_name = "LinalgLuBackward0"

    @staticmethod
    def forward(ctx, A):
        x = A._data
        xp = array_module(x)
        lu, piv, _ = lu_factor_array(x)
        m, n = x.shape[-2:]
        k = min(m, n)
        P = permutation_from_pivots(piv, m, x.dtype)
        L = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=x.dtype)
        U = xp.triu(lu[..., :k, :])
        ctx.square = m == n
        _out(ctx, (P, L, U), lambda: Lu.apply(A))
        p = wrap(P)
        ctx.mark_non_differentiable(p)
        return p, L, U

    @staticmethod
    def backward(ctx, gP, gL, gU):
        if not ctx.square:
            raise RuntimeError("linalg.lu: the derivative is implemented in Ember for square matrices only")
        P, L, U = _saved(ctx, 0), _saved(ctx, 1), _saved(ctx, 2)
        inner = 0
        if gL is not None:
            inner = (_H(L) @ gL).tril(-1)
        if gU is not None:
            inner = inner + (gU @ _H(U)).triu()
        left = SolveTriangular.apply(_H(L), inner, True, True, True)   # L^-H inner
        gA = SolveTriangular.apply(_H(U), left, False, False)           # ... U^-H
        return P @ gA


class Eig(Function):
    """A = V diag(L) V^-1 (general; L, V complex, columns of V of unit norm):
    gA = V^-H (diag(gL) + (V^H gV - V^H V Re(diag(V^H gV))) / conj(E)) V^H,  E_ij = L_j - L_i
    (a real A keeps the real part of gA)"""
    _grad_fn_name = "LinalgEigBackward0"

    @staticmethod
    def forward(ctx, A):
        check_matrix(A, "linalg.eig")
        x = A._data
        w, v = array_module(x).linalg.eig(x)
        c = np.complex64 if x.dtype in (np.float32, np.complex64) else np.complex128
        w, v = w.astype(c), v.astype(c)
        _out(ctx, (w, v), lambda: Eig.apply(A))
        return w, v

    @staticmethod
    def backward(ctx, gL, gV):
        from .complex import Conj, Real, Complex
        L, V = _saved(ctx, 0), _saved(ctx, 1)
        Vh = _H(V)
        n = L.shape[-1]
        xp = array_module(L._data)
        eye = wrap(xp.eye(n, dtype=L._data.dtype))
        inner = 0
        if gV is not None:
            VhgV = Vh @ gV
            d = Real.apply(VhgV.diagonal(0, -2, -1))
            dc = Complex.apply(d, d * 0)
            inner = VhgV - Vh @ (V * dc.unsqueeze(-2))
            Lc = Conj.apply(L)
            E = Lc.unsqueeze(-2) - Lc.unsqueeze(-1)
            inner = inner / (E + eye) * (1 - eye)
        if gL is not None:
            inner = inner + _diag_embed(gL)
        return Solve.apply(Vh, inner @ Vh)
