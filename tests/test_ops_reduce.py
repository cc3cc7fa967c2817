"""Reductions vs torch: values, dtypes, dim/keepdim handling, named tuples, grads; gradcheck of every Function."""
import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.ops import reduce as R
from conftest import assert_same, to_torch

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)

rng = np.random.default_rng(1)


def pair(shape=(2, 3, 4), dtype=np.float64, requires_grad=True, distinct=True):
    a = rng.permutation(int(np.prod(shape))).reshape(shape).astype(dtype) / 3.0 - 2 if distinct else \
        rng.integers(0, 3, shape).astype(dtype)
    e = ember.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")
    return e, to_torch(torch, e)


def check(fe, ft, shape=(2, 3, 4), rtol=1e-6, atol=1e-8, names=True, **kw):
    e, t = pair(shape, **kw)
    oe, ot = fe(e), ft(t)
    assert_same(oe, ot, rtol, atol)
    oe0, ot0 = (oe[0], ot[0]) if isinstance(ot, tuple) else (oe, ot)
    if ot0.requires_grad:
        if names:
            assert type(oe0.grad_fn).__name__ == type(ot0.grad_fn).__name__
        g = rng.standard_normal(tuple(ot0.shape))
        oe0.backward(ember.tensor(g))
        ot0.backward(torch.tensor(g))
        assert_same(e.grad, t.grad, rtol, atol)


DIMS = [None, 0, -1, 1, (0, 2), (-1, 0), (), [1]]


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean", "amax", "amin", "logsumexp"])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_dim_reductions(name, dim, keepdim):
    if name == "logsumexp" and (dim is None or dim == ()):
        pytest.skip("logsumexp needs dim (and torch itself fails on dim=())")
    if name in ("amax", "amin") and dim is None:
        dim = ()
    names = not name.startswith("nan")  # composites: torch has a fused node
    if dim is None:
        check(lambda x: getattr(ember, name)(x), lambda x: getattr(torch, name)(x), names=names)
        return
    kw = dict(keepdim=keepdim)
    check(lambda x: getattr(ember, name)(x, dim, **kw), lambda x: getattr(torch, name)(x, dim, **kw), names=names)
    check(lambda x: getattr(x, name)(dim=dim, **kw), lambda x: getattr(x, name)(dim=dim, **kw), names=names)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "amax", "std", "var", "norm", "logsumexp"])
def test_zero_dim_input(name):
    e, t = ember.tensor(1.5, dtype=ember.float64, requires_grad=True), torch.tensor(1.5, dtype=torch.float64,
                                                                                   requires_grad=True)
    if name in ("std", "var"):
        assert_same(getattr(ember, name)(e, correction=0), getattr(torch, name)(t, correction=0))
        return
    if name == "logsumexp":
        assert_same(ember.logsumexp(e, 0), torch.logsumexp(t, 0))
        return
    assert_same(getattr(ember, name)(e), getattr(torch, name)(t))
    if name not in ("amax", "norm"):
        assert_same(getattr(ember, name)(e, 0), getattr(torch, name)(t, 0))


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(dim, keepdim):
    if dim is None:
        check(lambda x: x.prod(), lambda x: x.prod())
    else:
        check(lambda x: x.prod(dim, keepdim), lambda x: x.prod(dim, keepdim))


def test_prod_with_zeros_grad():
    for vals in ([2.0, 0.0, 3.0], [0.0, 0.0, 3.0], [1.0, 2.0, 4.0]):
        e = ember.tensor(vals, dtype=ember.float64, requires_grad=True)
        t = to_torch(torch, e)
        e.prod().backward()
        t.prod().backward()
        assert_same(e.grad, t.grad)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_dim_namedtuple(name, dim, keepdim):
    e, t = pair()
    re, rt = getattr(e, name)(dim, keepdim), getattr(t, name)(dim, keepdim)
    assert type(re).__name__ == type(rt).__name__ == name
    assert_same(re.values, rt.values)
    assert_same(re.indices, rt.indices)
    v, i = re
    assert v is re.values and i is re.indices
    assert type(re.values.grad_fn).__name__ == type(rt.values.grad_fn).__name__
    assert not re.indices.requires_grad
    g = rng.standard_normal(tuple(rt.values.shape))
    re.values.backward(ember.tensor(g))
    rt.values.backward(torch.tensor(g))
    assert_same(e.grad, t.grad)
    assert "values=" in repr(re) and repr(re).startswith(f"torch.return_types.{name}(")


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_all_and_binary(name):
    check(lambda x: getattr(x, name)(), lambda x: getattr(x, name)())
    a, b = pair((3, 4)), pair((4,))
    assert_same(getattr(ember, name)(a[0], b[0]), getattr(torch, name)(a[1], b[1]))
    with pytest.raises(IndexError, match="Dimension out of range"):
        getattr(ember, name)(a[0], 5)


def test_max_ties_grad():
    e = ember.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=ember.float64, requires_grad=True)
    t = to_torch(torch, e)
    e.max().backward()
    t.max().backward()
    assert_same(e.grad, t.grad)
    e.grad = None
    t.grad = None
    e.amax(1).sum().backward()
    t.amax(1).sum().backward()
    assert_same(e.grad, t.grad)
    re, rt = e.max(1), t.max(1)
    assert_same(re.indices, rt.indices)  # first occurrence


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin(name, dim, keepdim):
    e, t = pair(requires_grad=False)
    assert_same(getattr(ember, name)(e, dim, keepdim), getattr(torch, name)(t, dim, keepdim))


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("dim", [None, 0, (1, 2), -1])
@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_var_std_correction(name, dim, correction, keepdim):
    check(lambda x: getattr(x, name)(dim=dim, correction=correction, keepdim=keepdim),
          lambda x: getattr(x, name)(dim=dim, correction=correction, keepdim=keepdim))


def test_var_std_unbiased_and_mean():
    e, t = pair()
    assert_same(e.var(), t.var())
    assert_same(e.std(unbiased=False), t.std(unbiased=False))
    assert_same(e.var(1, unbiased=False), t.var(1, unbiased=False))
    assert_same(e.std(0, True, True), t.std(0, True, True))
    assert_same(ember.var_mean(e, 1), torch.var_mean(t, 1))
    assert_same(ember.std_mean(e, dim=(0, 1), correction=0), torch.std_mean(t, dim=(0, 1), correction=0))
    with pytest.warns(None) if False else _nullcontext():
        assert_same(ember.ones(1).var(), torch.ones(1).var())  # n - correction = 0 -> nan


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_cumprod(name, dim):
    check(lambda x: getattr(x, name)(dim), lambda x: getattr(x, name)(dim))
    assert_same(getattr(ember, name)(ember.tensor([[1, 2], [3, 4]]), dim if dim != 1 else 0),
                getattr(torch, name)(torch.tensor([[1, 2], [3, 4]]), dim if dim != 1 else 0))


def test_cumprod_with_zeros_grad():
    e = ember.tensor([[2.0, 0.0, 3.0, 0.5], [1.0, 2.0, 0.0, 0.0]], dtype=ember.float64, requires_grad=True)
    t = to_torch(torch, e)
    g = rng.standard_normal((2, 4))
    e.cumprod(1).backward(ember.tensor(g))
    t.cumprod(1).backward(torch.tensor(g))
    assert_same(e.grad, t.grad)


@pytest.mark.parametrize("p", [2, 1, 3, float("inf"), float("-inf"), 0, "fro", 0.5])
@pytest.mark.parametrize("dim", [None, 1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm(p, dim, keepdim):
    if p == 0:  # torch gives no gradient at all here, ember a zero one
        e, t = pair()
        assert_same(e.norm(p, dim, keepdim), t.norm(p, dim, keepdim))
        return
    check(lambda x: x.norm(p, dim, keepdim), lambda x: x.norm(p, dim, keepdim))


def test_norm_at_zero_grad():
    e = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    t = to_torch(torch, e)
    e.norm().backward()
    t.norm().backward()
    assert_same(e.grad, t.grad)


def test_logsumexp_stability():
    x = ember.tensor([1000.0, 1000.0, -float("inf")])
    assert_same(ember.logsumexp(x, 0), torch.logsumexp(torch.tensor([1000.0, 1000.0, -float("inf")]), 0))
    assert_same(ember.logsumexp(ember.full((3,), -float("inf")), 0), torch.logsumexp(torch.full((3,), -float("inf")), 0))


def test_all_any_count_nonzero():
    v = [[True, False, True], [True, True, True]]
    for name in ["all", "any"]:
        e, t = ember.tensor(v), torch.tensor(v)
        assert_same(getattr(e, name)(), getattr(t, name)())
        assert_same(getattr(e, name)(1), getattr(t, name)(1))
        assert_same(getattr(e, name)(0, keepdim=True), getattr(t, name)(0, keepdim=True))
        assert_same(getattr(ember.tensor([[1.0, 0.0]]), name)(), getattr(torch.tensor([[1.0, 0.0]]), name)())
    assert_same(ember.count_nonzero(ember.tensor(v)), torch.count_nonzero(torch.tensor(v)))
    assert_same(ember.count_nonzero(ember.tensor(v), 0), torch.count_nonzero(torch.tensor(v), 0))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort(dim, descending):
    e, t = pair((3, 4))
    re, rt = e.sort(dim, descending), t.sort(dim, descending)
    assert type(re).__name__ == "sort"
    assert_same(re.values, rt.values)
    assert_same(re.indices, rt.indices)
    assert_same(e.argsort(dim, descending), t.argsort(dim, descending))
    g = rng.standard_normal((3, 4))
    re.values.backward(ember.tensor(g))
    rt.values.backward(torch.tensor(g))
    assert_same(e.grad, t.grad)


def test_sort_stable_ties():
    v = [3, 1, 2, 1, 3, 2]
    assert_same(ember.sort(ember.tensor(v), stable=True), torch.sort(torch.tensor(v), stable=True))
    assert_same(ember.sort(ember.tensor(v), descending=True, stable=True),
                torch.sort(torch.tensor(v), descending=True, stable=True))
    assert_same(ember.sort(ember.tensor([True, False, True])), torch.sort(torch.tensor([True, False, True])))


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("largest", [True, False])
def test_topk(k, dim, largest):
    e, t = pair((4, 5))
    re, rt = e.topk(k, dim, largest), t.topk(k, dim, largest)
    assert type(re).__name__ == "topk"
    assert_same(re, rt)
    g = rng.standard_normal(tuple(rt.values.shape))
    re.values.backward(ember.tensor(g))
    rt.values.backward(torch.tensor(g))
    assert_same(e.grad, t.grad)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        e.topk(10, 0)


def test_kthvalue_median_mode():
    e, t = pair((3, 5), requires_grad=False)
    assert_same(e.kthvalue(2, 1), t.kthvalue(2, 1))
    assert_same(e.median(), t.median())
    assert_same(e.median(1), t.median(1))
    assert_same(ember.tensor([1.0, 2.0, 3.0, 4.0]).median(), torch.tensor([1.0, 2.0, 3.0, 4.0]).median())
    m = [[1, 2, 2, 3], [4, 4, 1, 1]]
    assert_same(ember.tensor(m).mode(1).values, torch.tensor(m).mode(1).values)


def test_aminmax_cummax():
    e, t = pair((3, 4), requires_grad=False)
    assert_same(ember.aminmax(e), torch.aminmax(t))
    assert_same(ember.aminmax(e, dim=1), torch.aminmax(t, dim=1))
    v = [[1.0, 3.0, 2.0, 5.0], [4.0, 1.0, 4.0, 0.0]]
    assert_same(ember.cummax(ember.tensor(v), 1), torch.cummax(torch.tensor(v), 1))
    assert_same(ember.cummin(ember.tensor(v), 1), torch.cummin(torch.tensor(v), 1))


def test_reduction_errors():
    e = ember.ones(2, 3)
    with pytest.raises(IndexError) as ee:
        e.sum(2)
    with pytest.raises(IndexError) as te:
        torch.ones(2, 3).sum(2)
    assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        e.sum((0, 0))
    with pytest.raises(IndexError):
        ember.ones(2, 0).max(1)


def test_integer_reduction_dtypes():
    i = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32)
    ti = torch.tensor([[1, 2], [3, 4]], dtype=torch.int32)
    for name in ["sum", "prod", "max", "amax", "min"]:
        assert_same(getattr(i, name)(), getattr(ti, name)())
    assert_same(i.sum(1, dtype=ember.float32), ti.sum(1, dtype=torch.float32))
    assert_same(i.float().mean(0), ti.float().mean(0))
    assert_same(i.max(0), ti.max(0))


# ---- gradcheck of every Function in ember/ops/reduce.py ---------------------------------------------
def g64(shape, distinct=True):
    a = rng.permutation(int(np.prod(shape))).reshape(shape) / 4.0 - 1.3 if distinct else rng.uniform(-1, 1, shape)
    return ember.tensor(a, dtype=ember.float64, requires_grad=True)


GRADCHECK = [
    ("Sum", lambda x: R.Sum.apply(x, (0, 2), False)), ("Sum_keep", lambda x: R.Sum.apply(x, 1, True)),
    ("SumAll", lambda x: R.SumAll.apply(x)), ("Mean", lambda x: R.Mean.apply(x, -1, False)),
    ("MeanAll", lambda x: R.MeanAll.apply(x)), ("Prod", lambda x: R.Prod.apply(x, 1, False)),
    ("ProdAll", lambda x: R.ProdAll.apply(x * 0.5)), ("MaxDim", lambda x: R.MaxDim.apply(x, 1)[0]),
    ("MinDim", lambda x: R.MinDim.apply(x, 0, True)[0]), ("Amax", lambda x: R.Amax.apply(x, (0, 1))),
    ("Amin", lambda x: R.Amin.apply(x, -1, True)), ("MaxAll", lambda x: R.MaxAll.apply(x)),
    ("MinAll", lambda x: R.MinAll.apply(x)), ("Var", lambda x: R.Var.apply(x, 1, 1)),
    ("Var_all", lambda x: R.Var.apply(x, None, 0)), ("Std", lambda x: R.Std.apply(x, (0, 2), 1, True)),
    ("LogSumExp", lambda x: R.LogSumExp.apply(x, (1, 2))),
    ("Cumsum", lambda x: R.Cumsum.apply(x, 1)), ("Cumprod", lambda x: R.Cumprod.apply(x, -1)),
    ("Norm", lambda x: R.Norm.apply(x, 2, (1,))), ("Norm_p3", lambda x: R.Norm.apply(x, 3.0, None)),
    ("Norm_p1", lambda x: R.Norm.apply(x, 1.0, (0, 2))), ("Norm_inf", lambda x: R.Norm.apply(x, float("inf"), (2,))),
]


@pytest.mark.parametrize("name,fn", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn):
    assert gradcheck(fn, (g64((2, 3, 2)),))


def test_gradcheck_cumprod_with_zero():
    x = ember.tensor([[0.5, 0.0, 2.0], [1.5, -1.0, 0.0]], dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda a: R.Cumprod.apply(a, 1), (x,))
    assert gradcheck(lambda a: R.ProdAll.apply(a), (x,))


def test_every_reduce_function_is_gradchecked():
    from ember.autograd import Function
    names = {n for n, v in vars(R).items() if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    assert names <= {g[0].split("_")[0] for g in GRADCHECK}, names


# ---- property tests ------------------------------------------------------------------------------------------
from hypothesis import given, settings, strategies as st, HealthCheck  # noqa: E402


@st.composite
def shape_and_dims(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    dims = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1).map(tuple)))
    return shape, dims


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(sd=shape_and_dims(), keepdim=st.booleans(),
       op=st.sampled_from(["sum", "mean", "amax", "amin", "var", "std", "logsumexp", "norm", "prod"]),
       dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2 ** 16))
def test_property_reductions_vs_torch(sd, keepdim, op, dtype, seed):
    shape, dims = sd
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    e = ember.tensor(a, requires_grad=True)
    t = to_torch(torch, e)
    if op in ("amax", "amin") and dims is None:
        dims = ()
    if op in ("logsumexp",) and dims is None:
        dims = 0
    if op == "prod" and not isinstance(dims, int):
        dims = None
    kw = {} if (dims is None and op == "prod") else {"keepdim": keepdim}
    fe = (lambda x: getattr(x, op)(dims, **kw)) if op not in ("norm",) else (lambda x: x.norm(2, dims, keepdim))
    if op in ("var", "std"):
        fe = lambda x: getattr(x, op)(dims, correction=0, keepdim=keepdim)
    if op == "prod" and dims is None:
        fe = lambda x: x.prod()
    oe, ot = fe(e), fe(t)
    tol = 1e-4 if dtype == "float32" else 1e-9
    assert_same(oe, ot, rtol=tol, atol=tol)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(ot.shape)).astype(dtype)
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    assert_same(e.grad, t.grad, rtol=tol * 10, atol=tol * 10)


def test_mode_bincount_fmax_like_torch():
    m = [[1, 2, 2, 3], [4, 4, 1, 1]]
    assert_same(ember.tensor(m).mode(1), torch.tensor(m).mode(1))
    assert_same(ember.bincount(ember.tensor([0, 1, 1]), weights=ember.tensor([0.5, 1.0, 2.0])),
                torch.bincount(torch.tensor([0, 1, 1]), weights=torch.tensor([0.5, 1.0, 2.0])))
    a, b = [float("nan"), 1.0, float("nan"), 2.0], [2.0, float("nan"), float("nan"), 1.0]
    for name in ("fmax", "fmin"):
        assert_same(getattr(ember, name)(ember.tensor(a), ember.tensor(b)), getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
