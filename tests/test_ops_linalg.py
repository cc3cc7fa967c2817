"""Matrix products vs torch: values, batch broadcasting, grads, node names, errors; gradcheck of every Function."""
import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.ops import linalg as L
from conftest import assert_same, to_torch

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)

rng = np.random.default_rng(3)


def pair(shape, dtype=np.float64):
    e = ember.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    return e, to_torch(torch, e)


def check(fe, ft, *shapes, names=True, rtol=1e-6, atol=1e-8):
    ps = [pair(s) for s in shapes]
    es, ts = [p[0] for p in ps], [p[1] for p in ps]
    oe, ot = fe(*es), ft(*ts)
    assert_same(oe, ot, rtol, atol)
    if names:
        assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
    g = rng.standard_normal(tuple(ot.shape))
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    for e, t in zip(es, ts):
        assert_same(e.grad, t.grad, rtol, atol)


MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)), ((2, 1, 2, 3), (4, 3, 2)), ((1, 2, 3), (5, 3, 4)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
def test_matmul_vs_torch(sa, sb):
    # torch's node for broadcast batches depends on strides and requires_grad; names checked where fixed
    names = len(sa) <= 2 and len(sb) <= 2 or sa == (5, 2, 3)
    check(lambda a, b: a @ b, lambda a, b: a @ b, sa, sb, names=names)
    check(lambda a, b: ember.matmul(a, b), lambda a, b: torch.matmul(a, b), sa, sb, names=names)


def test_mm_bmm_dot_mv_outer():
    check(lambda a, b: ember.mm(a, b), lambda a, b: torch.mm(a, b), (2, 3), (3, 4))
    check(lambda a, b: a.mm(b), lambda a, b: a.mm(b), (2, 3), (3, 4))
    check(lambda a, b: ember.bmm(a, b), lambda a, b: torch.bmm(a, b), (2, 2, 3), (2, 3, 4))
    check(lambda a, b: ember.dot(a, b), lambda a, b: torch.dot(a, b), (4,), (4,))
    check(lambda a, b: ember.mv(a, b), lambda a, b: torch.mv(a, b), (2, 4), (4,))
    check(lambda a, b: ember.outer(a, b), lambda a, b: torch.outer(a, b), (2,), (3,), names=False)
    check(lambda a, b: ember.inner(a, b), lambda a, b: torch.inner(a, b), (3,), (3,))
    check(lambda a, b: ember.inner(a, b), lambda a, b: torch.inner(a, b), (2, 3), (4, 3))
    check(lambda a, b: ember.kron(a, b), lambda a, b: torch.kron(a, b), (2, 2), (2, 3), names=False)
    check(lambda a, b: ember.tensordot(a, b, 1), lambda a, b: torch.tensordot(a, b, 1), (2, 3), (3, 4), names=False)
    check(lambda a, b: ember.cross(a, b, dim=1), lambda a, b: torch.linalg.cross(a, b, dim=1), (2, 3), (2, 3), names=False)


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
@pytest.mark.parametrize("cshape", [(2, 4), (4,), (1, 4), (2, 1)])
def test_addmm(beta, alpha, cshape):
    check(lambda c, a, b: ember.addmm(c, a, b, beta=beta, alpha=alpha),
          lambda c, a, b: torch.addmm(c, a, b, beta=beta, alpha=alpha), cshape, (2, 3), (3, 4))


@pytest.mark.parametrize("cshape", [(4,), (3, 3), (2, 4), (5, 2, 3)])
def test_addmm_bad_c_shape_errors_as_torch(cshape):
    want = None
    try:
        torch.addmm(torch.ones(*cshape), torch.ones(2, 5), torch.ones(5, 3))
    except RuntimeError as e:
        want = str(e)
    with pytest.raises(RuntimeError) as got:
        ember.addmm(ember.ones(*cshape), ember.ones(2, 5), ember.ones(5, 3))
    assert str(got.value) == want


def test_linear_backward_with_and_without_a_graph_agree():
    """The usual backward takes matrix products on the arrays (no graph); create_graph=True the Tensor ops."""
    x = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    lin = ember.nn.Linear(3, 5).double()
    y = (lin(x) ** 2).sum()
    gx, gw = ember.autograd.grad(y, (x, lin.weight), retain_graph=True)
    gx2, gw2 = ember.autograd.grad(y, (x, lin.weight), create_graph=True)
    assert gx2.requires_grad and gw2.grad_fn is not None
    np.testing.assert_allclose(gx.numpy(), gx2.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), gw2.detach().numpy(), rtol=1e-12)
    assert gw.shape == lin.weight.shape and gw.is_contiguous()


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 5)),
                                   ((3, 4), (2, 4, 5)), ((2, 3, 4), (1, 4, 5))])
def test_stacked_matmul_backward_with_and_without_a_graph_agree(sa, sb):
    a = ember.tensor(rng.standard_normal(sa), requires_grad=True)
    b = ember.tensor(rng.standard_normal(sb), requires_grad=True)
    y = (ember.matmul(a, b.transpose(-1, -2).transpose(-1, -2)) ** 2).sum()
    ga, gb = ember.autograd.grad(y, (a, b), retain_graph=True)
    ga2, gb2 = ember.autograd.grad(y, (a, b), create_graph=True)
    assert ga.shape == a.shape and gb.shape == b.shape
    np.testing.assert_allclose(ga.numpy(), ga2.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), gb2.detach().numpy(), rtol=1e-12)
    if torch is not None:
        ta, tb = to_torch(torch, a), to_torch(torch, b)
        (torch.matmul(ta, tb) ** 2).sum().backward()
        np.testing.assert_allclose(ga.numpy(), ta.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(gb.numpy(), tb.grad.numpy(), rtol=1e-10)


def test_baddbmm_addmv():
    check(lambda c, a, b: ember.baddbmm(c, a, b, beta=0.5, alpha=2), lambda c, a, b: torch.baddbmm(c, a, b, beta=0.5, alpha=2),
          (2, 2, 4), (2, 2, 3), (2, 3, 4), names=False)
    check(lambda c, a, b: ember.addmv(c, a, b), lambda c, a, b: torch.addmv(c, a, b), (2,), (2, 3), (3,), names=False)


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]), ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]), ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)]), ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ij->j", [(3, 4)]), ("i j , j k -> i k", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum(eq, shapes):
    check(lambda *xs: ember.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), *shapes, names=False)
    check(lambda *xs: ember.einsum(eq, list(xs)), lambda *xs: torch.einsum(eq, list(xs)), *shapes, names=False)


def test_matmul_errors_match_torch():
    cases = [((3, 784), (20, 10)), ((3,), (4,)), ((2, 3), (4,)), ((5, 2, 3), (5, 4, 2)), ((2, 3), (2, 3)),
             ((3,), (4, 5)), ((5, 2, 3), (4, 2)), ((2, 3), (5, 4, 2)), ((5, 2, 3), (4,)), ((2, 1, 2, 3), (4, 4, 2))]
    for sa, sb in cases:
        with pytest.raises(RuntimeError) as te:
            torch.ones(sa) @ torch.ones(sb)
        with pytest.raises(RuntimeError) as ee:
            ember.ones(sa) @ ember.ones(sb)
        assert str(ee.value) == str(te.value)
    for sa, sb in [((2, 3), (3, 2)), ((2, 2, 3), (2, 3, 2)), ((3,), (3,))]:
        with pytest.raises(RuntimeError) as te:
            torch.ones(sa) @ torch.ones(sb, dtype=torch.float64)
        with pytest.raises(RuntimeError) as ee:
            ember.ones(sa) @ ember.ones(sb, dtype=ember.float64)
        assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x784 and 20x10\)"):
        ember.ones(3, 784) @ ember.ones(20, 10)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x784 and 20x10\)"):
        ember.addmm(ember.ones(10), ember.ones(3, 784), ember.ones(20, 10))
    with pytest.raises(RuntimeError):
        ember.mm(ember.ones(3), ember.ones(3, 2))
    with pytest.raises(RuntimeError):
        ember.bmm(ember.ones(2, 3, 4), ember.ones(3, 4, 2))
    with pytest.raises(RuntimeError):
        ember.dot(ember.ones(2, 2), ember.ones(2))
    with pytest.raises(RuntimeError) as ee:
        ember.ones(2, 3) @ ember.ones(3, 2, dtype=ember.float64)
    with pytest.raises(RuntimeError) as te:
        torch.ones(2, 3) @ torch.ones(3, 2, dtype=torch.float64)
    assert str(ee.value) == str(te.value)


def test_matmul_dtypes():
    assert_same(ember.tensor([[1, 2], [3, 4]]) @ ember.tensor([[1], [1]]), torch.tensor([[1, 2], [3, 4]]) @ torch.tensor([[1], [1]]))
    assert (ember.ones(2, 3) @ ember.ones(3, 2)).dtype is ember.float32


def test_linear_layer_grad_fn_chain():
    """x @ W.t() + b through addmm, like nn.Linear: the node torch records."""
    x, tx = pair((4, 3))
    w, tw = pair((2, 3))
    b, tb = pair((2,))
    oe, ot = ember.addmm(b, x, w.t()), torch.addmm(tb, tx, tw.t())
    assert type(oe.grad_fn).__name__ == "AddmmBackward0" == type(ot.grad_fn).__name__
    names_e = [type(f).__name__ for f, _ in oe.grad_fn.next_functions]
    names_t = [type(f).__name__ for f, _ in ot.grad_fn.next_functions]
    assert names_e == names_t


# ---- gradcheck of every Function in ember/ops/linalg.py ---------------------------------------------------
def g64(*shapes):
    return [ember.tensor(rng.standard_normal(s), dtype=ember.float64, requires_grad=True) for s in shapes]


GRADCHECK = [
    ("MatMul", lambda a, b: L.MatMul.apply(a, b), [(2, 3), (3, 2)]),
    ("MatMul_vec", lambda a, b: L.MatMul.apply(a, b), [(3,), (3, 2)]),
    ("Mm", lambda a, b: L.Mm.apply(a, b), [(2, 3), (3, 4)]),
    ("Bmm", lambda a, b: L.Bmm.apply(a, b), [(2, 2, 3), (2, 3, 2)]),
    ("Dot", lambda a, b: L.Dot.apply(a, b), [(3,), (3,)]), ("VecMat", lambda a, b: L.VecMat.apply(a, b), [(3,), (3, 2)]), ("Mv", lambda a, b: L.Mv.apply(a, b), [(2, 3), (3,)]),
    ("UnsafeMatMul", lambda a, b: L.UnsafeMatMul.apply(a, b), [(2, 1, 2, 3), (3, 3, 2)]),
    ("UnsafeMatMul_vec", lambda a, b: L.UnsafeMatMul.apply(a, b), [(3,), (2, 3, 2)]),
    ("Addmm", lambda c, a, b: L.Addmm.apply(c, a, b, 0.5, 2.0), [(2,), (2, 3), (3, 2)]),
    ("Addmm_full", lambda c, a, b: L.Addmm.apply(c, a, b), [(2, 2), (2, 3), (3, 2)]),
    ("Einsum", lambda a, b: L.Einsum.apply("bij,jk->bk", a, b), [(2, 2, 3), (3, 2)]),
    ("Einsum_three", lambda a, b, c: L.Einsum.apply("ij,jk,k->i", a, b, c), [(2, 3), (3, 2), (2,)]),
    ("Einsum_diag", lambda a: L.Einsum.apply("ii->i", a), [(3, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shapes):
    assert gradcheck(fn, g64(*shapes))


def test_every_linalg_function_is_gradchecked():
    from ember.autograd import Function
    names = {n for n, v in vars(L).items() if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    assert names <= {g[0].split("_")[0] for g in GRADCHECK}, names


def test_matmul_and_addmm_overflow_silently_as_torch():
    """Products too big for float32 give inf without a NumPy RuntimeWarning, as in torch."""
    import warnings
    pytest.importorskip("torch")
    a = np.array([[1e30, 1e30], [1.0, 2.0]], dtype=np.float32)
    b = np.array([[1e30, 1.0], [1e30, 3.0]], dtype=np.float32)
    c = np.ones(2, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = [ember.matmul(ember.tensor(a), ember.tensor(b)), ember.addmm(ember.tensor(c), ember.tensor(a),
                                                                        ember.tensor(b))]
    want = [torch.matmul(torch.tensor(a), torch.tensor(b)), torch.addmm(torch.tensor(c), torch.tensor(a),
                                                                       torch.tensor(b))]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
