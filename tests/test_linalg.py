"""torch.linalg vs ember.linalg: values, gradients (float64, vs torch's), errors; gradcheck of every Function
in ember/ops/decompositions.py."""
import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.ops import decompositions as D

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


def arr(*shape, spd=False, dtype=np.float64):
    a = rng.standard_normal(shape)
    if spd:
        a = a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
    return a.astype(dtype)


def both(a, grad=True):
    return (ember.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def close(e, t, tol=1e-8):
    if isinstance(e, (tuple, list)):
        for x, y in zip(e, t):
            close(x, y, tol)
        return
    te = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
    tt = t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)
    assert te.shape == tt.shape, (te.shape, tt.shape)
    np.testing.assert_allclose(te, tt, rtol=tol, atol=tol)


def check(fe, ft, *arrays, grad=True, tol=1e-7, out=lambda r: r):
    """Same values and (through sum of outputs times fixed weights) same gradients as torch."""
    es, ts = zip(*[both(a, grad) for a in arrays])
    re, rt = fe(*es), ft(*ts)
    close(out(re), out(rt), tol)
    if grad:
        le, lt = _loss(out(re), ember), _loss(out(rt), torch)
        le.backward()
        lt.backward()
        for e, t in zip(es, ts):
            close(e.grad, t.grad, tol * 100)


def _loss(r, lib):
    rs = r if isinstance(r, (tuple, list)) else (r,)
    total = 0
    for i, x in enumerate(rs):
        if x.dtype.is_floating_point and x.numel():
            w = lib.tensor(np.cos(np.arange(x.numel()) + i).reshape(tuple(x.shape)))
            total = total + (x * w).sum()
    return total


def test_inv_det_slogdet():
    a = arr(2, 3, 3)
    check(ember.linalg.inv, torch.linalg.inv, a)
    check(ember.linalg.det, torch.linalg.det, a)
    check(lambda x: tuple(ember.linalg.slogdet(x)), lambda x: tuple(torch.linalg.slogdet(x)), a)
    check(ember.linalg.inv, torch.linalg.inv, arr(4, 4).astype(np.float32), tol=1e-4)
    s = ember.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=ember.float64, requires_grad=True)
    ember.linalg.det(s).backward()  # singular: the gradient is the adjugate (gradchecked below)
    close(s.grad, np.array([[4.0, -2.0], [-2.0, 1.0]]))


def test_solve_variants():
    A, B, b = arr(2, 3, 3), arr(2, 3, 2), arr(3)
    check(ember.linalg.solve, torch.linalg.solve, A, B)
    check(ember.linalg.solve, torch.linalg.solve, A, b)  # vector right side, broadcast over the batch
    check(ember.linalg.solve, torch.linalg.solve, A[0], arr(3))
    check(lambda x, y: ember.linalg.solve(x, y, left=False), lambda x, y: torch.linalg.solve(x, y, left=False),
          A, arr(2, 4, 3))
    for upper in (True, False):
        for left in (True, False):
            for unit in (False, True):
                B2 = arr(3, 2) if left else arr(2, 3)
                check(lambda x, y: ember.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit),
                      lambda x, y: torch.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit),
                      arr(3, 3) + 3 * np.eye(3), B2)


def test_factorizations():
    check(ember.linalg.cholesky, torch.linalg.cholesky, arr(2, 3, 3, spd=True))
    check(lambda x: ember.linalg.cholesky(x, upper=True), lambda x: torch.linalg.cholesky(x, upper=True),
          arr(3, 3, spd=True))
    sym = arr(2, 4, 4)
    sym = sym + np.swapaxes(sym, -1, -2)
    # eigenvectors are defined up to sign: compare gauge-invariant functions of them
    check(lambda x: (ember.linalg.eigh(x)[0], ember.linalg.eigh(x)[1].abs()),
          lambda x: (torch.linalg.eigh(x)[0], torch.linalg.eigh(x)[1].abs()), sym)
    check(ember.linalg.eigvalsh, torch.linalg.eigvalsh, sym)
    check(lambda x: ember.linalg.eigvalsh(x, UPLO="U"), lambda x: torch.linalg.eigvalsh(x, UPLO="U"), arr(3, 3))
    for shape in [(4, 3), (3, 4), (2, 3, 3)]:
        for full in (False, True):
            check(lambda x: (lambda u, s, vh: (s, (u[..., :, :2] @ vh[..., :2, :]), u.abs()))(
                      *ember.linalg.svd(x, full_matrices=full)),
                  lambda x: (lambda u, s, vh: (s, (u[..., :, :2] @ vh[..., :2, :]), u.abs()))(
                      *torch.linalg.svd(x, full_matrices=full)), arr(*shape),
                  grad=not full or shape[0] == shape[1])
        check(ember.linalg.svdvals, torch.linalg.svdvals, arr(*shape))
        check(lambda x: tuple(ember.linalg.qr(x)), lambda x: tuple(torch.linalg.qr(x)), arr(*shape))
    check(lambda x: tuple(ember.linalg.qr(x, mode="complete")), lambda x: tuple(torch.linalg.qr(x, mode="complete")),
          arr(3, 4))
    check(lambda x: ember.linalg.qr(x, mode="r")[1], lambda x: torch.linalg.qr(x, mode="r")[1], arr(4, 3), grad=False)
    check(lambda x: tuple(ember.linalg.lu(x)), lambda x: tuple(torch.linalg.lu(x)), arr(2, 4, 4))
    check(lambda x: tuple(ember.linalg.lu(x)), lambda x: tuple(torch.linalg.lu(x)), arr(3, 5), grad=False)
    check(lambda x: tuple(ember.linalg.lu_factor(x)), lambda x: tuple(torch.linalg.lu_factor(x)), arr(2, 4, 4),
          grad=False)
    A, B = arr(2, 4, 4), arr(2, 4, 3)
    LU, piv = ember.linalg.lu_factor(ember.tensor(A))
    close(ember.linalg.lu_solve(LU, piv, ember.tensor(B)), torch.linalg.solve(torch.tensor(A), torch.tensor(B)))
    close(ember.linalg.lu_unpack(LU, piv), torch.lu_unpack(*torch.linalg.lu_factor(torch.tensor(A))))
    w_e, w_t = ember.linalg.eigvals(ember.tensor(sym[0])), torch.linalg.eigvals(torch.tensor(sym[0]))
    assert w_e.dtype == ember.complex128
    close(np.sort(w_e.numpy().real), np.sort(w_t.numpy().real))
    e_vals, e_vecs = ember.linalg.eig(ember.tensor(arr(3, 3)))
    a3 = arr(3, 3)
    e_vals, e_vecs = ember.linalg.eig(ember.tensor(a3))
    np.testing.assert_allclose(a3 @ e_vecs.numpy(), e_vecs.numpy() * e_vals.numpy(), atol=1e-10)
    close(torch.linalg.eigvals(torch.tensor(a3)).abs().sort().values.numpy(), np.sort(np.abs(e_vals.numpy())))


def test_pinv_lstsq_rank():
    for shape in [(4, 3), (3, 4), (2, 3, 3)]:
        check(ember.linalg.pinv, torch.linalg.pinv, arr(*shape))
        check(ember.linalg.matrix_rank, torch.linalg.matrix_rank, arr(*shape), grad=False)
    low = arr(4, 2) @ arr(2, 4)
    check(ember.linalg.matrix_rank, torch.linalg.matrix_rank, low, grad=False)
    check(lambda x: ember.linalg.matrix_rank(x, hermitian=True), lambda x: torch.linalg.matrix_rank(x, hermitian=True),
          low @ low.T, grad=False)
    for driver in (None, "gelsd", "gelss", "gels"):
        check(lambda a, b: tuple(ember.linalg.lstsq(a, b, driver=driver)),
              lambda a, b: tuple(torch.linalg.lstsq(a, b, driver=driver)), arr(5, 3), arr(5, 2),
              out=lambda r: r[:2] + r[3:])
        re = ember.linalg.lstsq(ember.tensor(arr(5, 3)), ember.tensor(arr(5, 2)), driver=driver)
        rt = torch.linalg.lstsq(torch.tensor(arr(5, 3)), torch.tensor(arr(5, 2)), driver=driver)
        assert re.rank.shape == rt.rank.shape and re.rank.dtype == ember.int64
    check(lambda a, b: ember.linalg.lstsq(a, b).solution, lambda a, b: torch.linalg.lstsq(a, b).solution,
          arr(2, 4, 3), arr(2, 4, 1))


@pytest.mark.parametrize("ord", [None, 1, 2, -1, -2, float("inf"), float("-inf"), "fro", "nuc"])
def test_matrix_norms(ord):
    a = arr(2, 3, 4)
    if ord not in (None,):
        check(lambda x: ember.linalg.matrix_norm(x, ord), lambda x: torch.linalg.matrix_norm(x, ord), a)
        check(lambda x: ember.linalg.matrix_norm(x, ord, dim=(0, 2), keepdim=True),
              lambda x: torch.linalg.matrix_norm(x, ord, dim=(0, 2), keepdim=True), a)
    check(lambda x: ember.linalg.norm(x, ord), lambda x: torch.linalg.norm(x, ord), a[0])
    if ord in (1, 2, float("inf"), None):
        check(lambda x: ember.linalg.norm(x, ord), lambda x: torch.linalg.norm(x, ord), a[0, 0])


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, 0, float("inf"), float("-inf")])
def test_vector_norm(ord):
    a = arr(3, 4)
    check(lambda x: ember.linalg.vector_norm(x, ord), lambda x: torch.linalg.vector_norm(x, ord), a, grad=ord != 0)
    check(lambda x: ember.linalg.vector_norm(x, ord, dim=1, keepdim=True),
          lambda x: torch.linalg.vector_norm(x, ord, dim=1, keepdim=True), a, grad=ord != 0)
    check(lambda x: ember.linalg.norm(x, ord, dim=0), lambda x: torch.linalg.norm(x, ord, dim=0), a, grad=ord != 0)


def test_composed_functions():
    a, b = arr(2, 3), arr(2, 3)
    check(ember.linalg.cross, torch.linalg.cross, a, b)
    check(lambda x, y: ember.linalg.cross(x, y, dim=0), lambda x, y: torch.linalg.cross(x, y, dim=0), arr(3, 2),
          arr(3, 1))
    check(ember.linalg.vecdot, torch.linalg.vecdot, a, b)
    check(lambda x, y, z: ember.linalg.multi_dot([x, y, z]), lambda x, y, z: torch.linalg.multi_dot([x, y, z]),
          arr(3), arr(3, 4), arr(4, 2))
    check(ember.linalg.matmul, torch.linalg.matmul, arr(2, 3), arr(3, 2))
    for n in (0, 1, 2, 3, 5, -1, -2):
        check(lambda x: ember.linalg.matrix_power(x, n), lambda x: torch.linalg.matrix_power(x, n),
              arr(2, 3, 3), grad=n != 0)
    check(ember.linalg.matrix_exp, torch.linalg.matrix_exp, arr(2, 3, 3))
    check(ember.linalg.matrix_exp, torch.linalg.matrix_exp, 0.1 * arr(4, 4))
    check(ember.matrix_exp, torch.matrix_exp, 3 * arr(3, 3))
    check(lambda x: ember.linalg.diagonal(x, offset=1), lambda x: torch.linalg.diagonal(x, offset=1), arr(2, 3, 3))
    check(ember.linalg.cond, torch.linalg.cond, arr(3, 3))
    check(lambda x: ember.linalg.cond(x, "fro"), lambda x: torch.linalg.cond(x, "fro"), arr(3, 3), grad=False)
    check(ember.linalg.tensorinv, torch.linalg.tensorinv, arr(4, 2, 2, 4).reshape(4, 2, 8)[..., :4].reshape(4, 2, 2, 2)
          if False else arr(2, 3, 6).reshape(6, 6).reshape(2, 3, 6))
    check(ember.linalg.tensorsolve, torch.linalg.tensorsolve, arr(6, 2, 3), arr(6))
    check(lambda x: ember.linalg.vander(x), lambda x: torch.linalg.vander(x), arr(4))
    check(lambda x: ember.linalg.vander(x, N=3), lambda x: torch.linalg.vander(x, N=3), arr(2, 4))
    A = arr(4, 3)
    geqrf_a, tau = torch.geqrf(torch.tensor(A))
    check(ember.linalg.householder_product, torch.linalg.householder_product, geqrf_a.numpy(), tau.numpy())


def test_ex_variants_and_info():
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    batch = np.stack([np.eye(2), s])
    re, rt = ember.linalg.inv_ex(ember.tensor(batch)), torch.linalg.inv_ex(torch.tensor(batch))
    assert re.info.tolist() == rt.info.tolist() and re.info.dtype == ember.int32
    re, rt = ember.linalg.cholesky_ex(ember.tensor(s)), torch.linalg.cholesky_ex(torch.tensor(s))
    close(re.L, rt.L)
    assert re.info.item() == rt.info.item() == 2
    good = arr(3, 3, spd=True)
    close(ember.linalg.cholesky_ex(ember.tensor(good)).L, torch.linalg.cholesky_ex(torch.tensor(good)).L)
    re, rt = ember.linalg.solve_ex(ember.tensor(good), ember.tensor(arr(3))), \
        torch.linalg.solve_ex(torch.tensor(good), torch.tensor(arr(3)))
    assert re.info.item() == rt.info.item() == 0
    re, rt = ember.linalg.lu_factor_ex(ember.tensor(s)), torch.linalg.lu_factor_ex(torch.tensor(s))
    close(re.LU, rt.LU)
    assert re.info.item() == rt.info.item() and re.pivots.tolist() == rt.pivots.tolist()


def _err(fe, ft):
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(type(et.value) if type(et.value).__name__ != "_LinAlgError" else ember.linalg.LinAlgError) \
            as ee:
        fe()
    assert str(ee.value) == str(et.value)


def test_errors_match_torch():
    s = [[1.0, 2.0], [2.0, 4.0]]
    batch = [[[1.0, 0.0], [0.0, 1.0]], s]
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    for name, args in [("inv", (s,)), ("inv", (batch,)), ("solve", (s, [1.0, 1.0])), ("solve", (batch, [1.0, 1.0])),
                       ("cholesky", (s,)), ("cholesky", (batch,)), ("cholesky", ([[-1.0, 0], [0, -1]],)),
                       ("lu_factor", (s,))]:
        _err(lambda: getattr(ember.linalg, name)(*[ember.tensor(a) for a in args]),
             lambda: getattr(torch.linalg, name)(*[torch.tensor(a) for a in args]))
    for name, args in [("inv", ([[1.0, 2, 3], [4, 5, 6]],)), ("inv", ([1.0, 2.0],)), ("det", ([[1.0, 2, 3]],)),
                       ("eigh", ([[1.0, 2, 3]],)), ("solve", (np.eye(2), [1.0, 2, 3])),
                       ("matrix_norm", ([1.0, 2.0],))]:
        _err(lambda: getattr(ember.linalg, name)(*[ember.tensor(a) for a in args]),
             lambda: getattr(torch.linalg, name)(*[torch.tensor(a) for a in args]))
    _err(lambda: ember.linalg.inv(ember.ones(2, 2, dtype=ember.long)),
         lambda: torch.linalg.inv(torch.ones(2, 2, dtype=torch.long)))
    _err(lambda: ember.linalg.svd(ember.ones(2, 3, dtype=ember.long)),
         lambda: torch.linalg.svd(torch.ones(2, 3, dtype=torch.long)))
    _err(lambda: ember.linalg.vector_norm(ember.ones(2, dtype=ember.long)),
         lambda: torch.linalg.vector_norm(torch.ones(2, dtype=torch.long)))
    _err(lambda: ember.linalg.qr(ember.ones(2, 3), mode="foo"), lambda: torch.linalg.qr(torch.ones(2, 3), mode="foo"))
    _err(lambda: ember.linalg.cross(ember.ones(2), ember.ones(2)),
         lambda: torch.linalg.cross(torch.ones(2), torch.ones(2)))
    _err(lambda: ember.linalg.multi_dot([ember.ones(2, 2)]), lambda: torch.linalg.multi_dot([torch.ones(2, 2)]))
    _err(lambda: ember.linalg.norm(ember.ones(2, 2), "foo"), lambda: torch.linalg.norm(torch.ones(2, 2), "foo"))
    _err(lambda: ember.linalg.matrix_power(ember.tensor(s), -1), lambda: torch.linalg.matrix_power(torch.tensor(s), -1))
    _err(lambda: ember.linalg.matrix_power(ember.eye(2), 1.5), lambda: torch.linalg.matrix_power(torch.eye(2), 1.5))


def test_qr_backward_errors():
    x = ember.tensor(arr(4, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        ember.linalg.qr(x, mode="r")[1].sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        ember.linalg.qr(x, mode="complete")[0].sum().backward()


def test_float32_results_stay_float32():
    x = ember.tensor(arr(3, 3, spd=True, dtype=np.float32))
    for fn in (ember.linalg.inv, ember.linalg.det, ember.linalg.cholesky, ember.linalg.pinv, ember.linalg.svdvals,
               ember.linalg.eigvalsh, ember.linalg.matrix_exp, ember.linalg.norm):
        assert fn(x).dtype == ember.float32, fn


# ---- gradcheck of every Function in ember/ops/decompositions.py -------------------------------------------
def g64(a):
    return ember.tensor(a, requires_grad=True)


def _sym(f):
    return lambda a: f(a + a.mT)


GRADCHECK = [
    ("Inv", lambda a: D.Inv.apply(a), [arr(2, 3, 3)]),
    ("Det", lambda a: D.Det.apply(a), [arr(2, 3, 3)]),
    ("Det_singular", lambda a: D.Det.apply(a), [np.array([[1.0, 2.0], [2.0, 4.0]])]),
    ("Slogdet", lambda a: D.Slogdet.apply(a)[1], [arr(3, 3)]),
    ("Solve", lambda a, b: D.Solve.apply(a, b), [arr(2, 3, 3), arr(3, 2)]),
    ("Solve_vec_right", lambda a, b: D.Solve.apply(a, b, False), [arr(3, 3), arr(3)]),
    ("SolveTriangular", lambda a, b: D.SolveTriangular.apply(a, b, True), [arr(3, 3) + 3 * np.eye(3), arr(3, 2)]),
    ("SolveTriangular_right_unit", lambda a, b: D.SolveTriangular.apply(a, b, False, False, True),
     [arr(3, 3), arr(2, 3)]),
    ("Cholesky", _sym(lambda a: D.Cholesky.apply(a + 6 * ember.eye(3, dtype=ember.float64))), [arr(3, 3)]),
    ("Cholesky_upper", _sym(lambda a: D.Cholesky.apply(a + 6 * ember.eye(3, dtype=ember.float64), True)),
     [arr(3, 3)]),
    ("Eigh", _sym(lambda a: (lambda w, v: (w, v.abs()))(*D.Eigh.apply(a))), [arr(3, 3)]),
    ("Svd", lambda a: (lambda u, s, vh: (s, u.abs(), vh.abs()))(*D.Svd.apply(a, False)), [arr(4, 3)]),
    ("Svd_wide", lambda a: (lambda u, s, vh: (u @ vh, s))(*D.Svd.apply(a, False)), [arr(2, 4)]),
    ("Qr", lambda a: D.Qr.apply(a), [arr(4, 3)]),
    ("Qr_wide", lambda a: D.Qr.apply(a), [arr(2, 4)]),
    ("Pinv", lambda a: D.Pinv.apply(a), [arr(4, 3)]),
    ("Lu", lambda a: D.Lu.apply(a)[1:], [arr(3, 3)]),
    ("Eig", lambda a: (lambda w, v: (ember.view_as_real(w), v.abs()))(*D.Eig.apply(a)), [arr(3, 3)]),
]


@pytest.mark.parametrize("name,fn,arrays", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, arrays):
    assert gradcheck(fn, [g64(a) for a in arrays])


def test_every_decomposition_function_is_gradchecked():
    from ember.autograd import Function
    names = {n for n, v in vars(D).items() if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    assert names <= {g[0].split("_")[0] for g in GRADCHECK}, names


def test_top_level_matrix_functions():
    a, spd = arr(2, 3, 3), arr(3, 3, spd=True)
    check(ember.det, torch.det, a)
    check(ember.logdet, torch.logdet, spd)
    close(ember.logdet(ember.tensor(a)), torch.logdet(torch.tensor(a)))  # nan where det < 0
    check(lambda x: tuple(ember.slogdet(x)), lambda x: tuple(torch.slogdet(x)), a)
    check(ember.inverse, torch.inverse, a)
    check(ember.pinverse, torch.pinverse, arr(4, 3))
    check(lambda x: ember.matrix_power(x, 3), lambda x: torch.matrix_power(x, 3), a)
    check(ember.cholesky, torch.cholesky, spd)
    check(lambda x: x.det(), lambda x: x.det(), a)
    check(lambda x: x.inverse(), lambda x: x.inverse(), a)
    check(lambda x: x.matrix_exp(), lambda x: x.matrix_exp(), a)
    L = np.linalg.cholesky(spd)
    for upper in (False, True):
        F = L.T if upper else L
        check(lambda b, f: ember.cholesky_solve(b, f, upper), lambda b, f: torch.cholesky_solve(b, f, upper),
              arr(3, 2), F)
        check(lambda f: ember.cholesky_inverse(f, upper), lambda f: torch.cholesky_inverse(f, upper), F)
    check(lambda x: (lambda u, s, v: (s, u @ v.mT))(*ember.svd(x)), lambda x: (lambda u, s, v: (s, u @ v.mT))(
        *torch.svd(x)), arr(4, 3))
    check(lambda x: tuple(ember.qr(x)), lambda x: tuple(torch.qr(x)), arr(4, 3))


def test_older_matrix_apis():
    A, b = arr(2, 4, 4) + 4 * np.eye(4), arr(2, 4, 3)
    for upper in (True, False):
        for transpose in (False, True):
            check(lambda a, y: torch_like_tri(ember, a, y, upper, transpose),
                  lambda a, y: torch_like_tri(torch, a, y, upper, transpose), A, b)
    check(lambda a: tuple(ember.lu(a)), lambda a: tuple(torch.lu(a)), A, grad=False)
    check(lambda a: tuple(a.lu(get_infos=True)), lambda a: tuple(a.lu(get_infos=True)), A, grad=False)
    LUe, pe = ember.lu(ember.tensor(A))
    LUt, pt = torch.lu(torch.tensor(A))
    close(ember.lu_solve(ember.tensor(b), LUe, pe), torch.lu_solve(torch.tensor(b), LUt, pt))
    close(ember.tensor(b).lu_solve(LUe, pe), torch.tensor(b).lu_solve(LUt, pt))
    for shape in [(5, 3), (3, 3), (3, 5), (2, 4, 3)]:
        M = arr(*shape)
        check(lambda a: tuple(ember.geqrf(a)), lambda a: tuple(torch.geqrf(a)), M, grad=False)
        ge, gt = ember.geqrf(ember.tensor(M)), torch.geqrf(torch.tensor(M))
        if shape[-2] >= shape[-1]:
            close(ember.orgqr(ge.a, ge.tau), torch.orgqr(gt.a, gt.tau))
            close(ge.a.orgqr(ge.tau), gt.a.orgqr(gt.tau))
        other = arr(*shape[:-2], shape[-2], 2)
        for transpose in (False, True):
            close(ember.ormqr(ge.a, ge.tau, ember.tensor(other), transpose=transpose),
                  torch.ormqr(gt.a, gt.tau, torch.tensor(other), transpose=transpose))
        close(ge.a.ormqr(ge.tau, ember.tensor(other.swapaxes(-1, -2)), left=False),
              gt.a.ormqr(gt.tau, torch.tensor(other.swapaxes(-1, -2)), left=False))
    x = np.array([1.5, 2.5])
    e, t = ember.tensor(x), torch.tensor(x)
    e.polygamma_(1), t.polygamma_(1)
    close(e, t)
    e, t = ember.tensor(x + 1), torch.tensor(x + 1)
    e.mvlgamma_(2), t.mvlgamma_(2)
    close(e, t)


def torch_like_tri(lib, a, y, upper, transpose):
    X, C = lib.triangular_solve(y, a, upper=upper, transpose=transpose)
    X2, _ = y.triangular_solve(a, upper=upper, transpose=transpose)
    return X, C, X2


def test_eig_gradients_match_torch():
    a = np.random.default_rng(1).standard_normal((2, 3, 3))
    res = []
    for lib in (ember, torch):
        A = lib.tensor(a, requires_grad=True)
        w, v = lib.linalg.eig(A)
        weights = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
        ((w.real ** 2).sum() + (w.imag * weights).sum() + v.abs().sum()).backward()
        A2 = lib.tensor(a, requires_grad=True)
        lib.linalg.eigvals(A2).abs().sum().backward()
        res.append((w, v.abs(), A.grad, A2.grad))
    for e, t in zip(*res):
        close(e.detach().numpy(), t.detach().numpy(), 1e-10)


def test_ldl_factor_and_solve_like_torch():
    r = np.random.default_rng(3)
    mats = []
    for n in (2, 3, 5, 8):
        for trial in range(4):
            a = r.standard_normal((n, n))
            a = a + a.T
            if trial == 1:
                a[0, 0] = 0  # forces an interchange
            if trial == 2:
                a[np.arange(n), np.arange(n)] = 0.01  # forces 2x2 pivot blocks
            mats.append(a)
    for a in mats:
        b = r.standard_normal((a.shape[0], 2))
        le, pe = ember.linalg.ldl_factor(ember.tensor(a))
        lt, pt = torch.linalg.ldl_factor(torch.tensor(a))
        close(le, lt, 1e-10)
        assert pe.tolist() == pt.tolist() and pe.dtype == ember.int32
        close(ember.linalg.ldl_solve(le, pe, ember.tensor(b)), torch.linalg.ldl_solve(lt, pt, torch.tensor(b)), 1e-8)
    batch = np.stack(mats[4:8])
    re, rt = ember.linalg.ldl_factor_ex(ember.tensor(batch)), torch.linalg.ldl_factor_ex(torch.tensor(batch))
    close(re.LD, rt.LD, 1e-10)
    assert re.pivots.tolist() == rt.pivots.tolist() and re.info.tolist() == rt.info.tolist()
    lower_only = np.tril(mats[5]) + np.triu(np.full_like(mats[5], 7.0), 1)  # only the lower triangle is read
    close(ember.linalg.ldl_factor(ember.tensor(lower_only)).LD, torch.linalg.ldl_factor(torch.tensor(lower_only)).LD,
          1e-10)
