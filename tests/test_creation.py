"""Creation functions: dtype inference, memory sharing, ranges, filled tensors and random draws."""
import numpy as np
import pytest

import ember
from conftest import assert_same

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)


@pytest.mark.parametrize("data", [
    1, 2.5, True, [1, 2, 3], [1.0, 2], [True, False], [[1, 2], [3, 4]], [[1.5], [2.5]], [], [[]], [1, True],
    (1, 2.0), [[True], [False]],
])
def test_tensor_dtype_inference(data):
    assert_same(ember.tensor(data), torch.tensor(data))


@pytest.mark.parametrize("arr", [np.arange(3, dtype=np.int32), np.ones(2, dtype=np.float64), np.zeros(2, np.uint8),
                                 np.array([True]), np.array(3.5), np.ones((2, 2), np.float16)])
def test_tensor_from_numpy_keeps_dtype_and_copies(arr):
    e = ember.tensor(arr)
    assert_same(e, torch.tensor(arr))
    assert not np.shares_memory(e.numpy(), arr)


def test_tensor_numpy_scalars():
    assert ember.tensor(np.float64(1.5)).dtype is ember.float64
    assert ember.tensor(np.int32(2)).dtype is ember.int32
    assert ember.tensor([np.float32(1.0), np.float32(2.0)]).dtype.name == \
        str(torch.tensor([np.float32(1.0), np.float32(2.0)]).dtype).split(".")[1]


def test_tensor_of_tensors_and_options():
    assert_same(ember.tensor([ember.tensor(1.0), ember.tensor(2.0)]), torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]))
    x = ember.tensor([1, 2], dtype=ember.float64, requires_grad=True)
    assert x.dtype is ember.float64 and x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        ember.tensor([1, 2], requires_grad=True)
    with pytest.raises((TypeError, ValueError)):
        ember.tensor([[1, 2], [3]])
    y = ember.tensor(x)  # copies
    y[0] = 5
    assert x[0].item() == 1


def test_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ember.from_numpy(a)
    assert t.dtype is ember.float32 and t.shape == (2, 3)
    t[0, 0] = 100
    assert a[0, 0] == 100
    a[1, 2] = -1
    assert t[1, 2].item() == -1
    assert t.numpy() is a or np.shares_memory(t.numpy(), a)
    assert t.data_ptr() == a.__array_interface__["data"][0]
    # a transposed array keeps its strides
    tt = ember.from_numpy(a.T)
    assert tt.stride() == (1, 3) and not tt.is_contiguous()
    with pytest.raises(TypeError):
        ember.from_numpy([1, 2])


def test_numpy_shares_memory():
    t = ember.zeros(3)
    n = t.numpy()
    n[1] = 7
    assert t[1].item() == 7
    r = ember.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        r.numpy()
    assert r.detach().numpy().tolist() == [0, 0]


def test_as_tensor_shares_when_possible():
    a = np.arange(3, dtype=np.float32)
    t = ember.as_tensor(a)
    a[0] = 9
    assert t[0].item() == 9
    t2 = ember.as_tensor(a, dtype=ember.float64)
    a[1] = 9
    assert t2[1].item() == 1
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    assert ember.as_tensor([1, 2]).dtype is ember.int64


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("args", [(3,), (2, 3), ((2, 3),), ([4],), ((),)])
def test_filled_shapes_and_dtypes(fn, args):
    e, t = getattr(ember, fn)(*args), getattr(torch, fn)(*args)
    assert e.shape == t.shape and e.dtype is ember.float32
    if fn != "empty":
        assert_same(e, t)
    assert getattr(ember, fn)(*args, dtype=ember.int64).dtype is ember.int64


@pytest.mark.parametrize("value", [1, 2.5, True, -3])
def test_full_dtype_follows_value(value):
    assert_same(ember.full((2, 2), value), torch.full((2, 2), value))
    assert_same(ember.full((2,), value, dtype=ember.float64), torch.full((2,), value, dtype=torch.float64))


def test_like_functions():
    x = ember.ones(2, 3, dtype=ember.int32)
    for name in ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"]:
        kw = {"dtype": ember.float32} if name in ("rand_like", "randn_like") else {}
        r = getattr(ember, name)(x, **kw)
        assert r.shape == (2, 3)
        assert r.dtype is (ember.int32 if not kw else ember.float32)
    f = ember.full_like(x, 7)
    assert f.dtype is ember.int32 and f.tolist() == [[7] * 3] * 2
    assert ember.zeros_like(x, dtype=ember.float64).dtype is ember.float64
    assert ember.randint_like(x, 5).dtype is ember.int32
    z = ember.zeros_like(ember.ones(2), requires_grad=True)
    assert z.requires_grad


@pytest.mark.parametrize("args,kw", [
    ((5,), {}), ((1, 4), {}), ((0, 1, 0.1), {}), ((1, 2.5, 0.5), {}), ((10, 0, -3), {}), ((0.0, 1.0, 0.3), {}),
    ((5,), {"dtype": "float64"}), ((-1.5, 2.0, 0.25), {}), ((3,), {"dtype": "float32"}), ((0, 5, 2), {}),
])
def test_arange(args, kw):
    ek = {k: getattr(ember, v) for k, v in kw.items()}
    tk = {k: getattr(torch, v) for k, v in kw.items()}
    assert_same(ember.arange(*args, **ek), torch.arange(*args, **tk), rtol=0, atol=0)


def test_arange_errors():
    with pytest.raises(RuntimeError):
        ember.arange(0, 5, 0)
    with pytest.raises(RuntimeError):
        ember.arange(5, 0, 1)


@pytest.mark.parametrize("args", [(0, 1, 5), (-1, 1, 4), (0, 10, 1), (3, -2, 7), (0.0, 1.0, 0), (2, 2, 3),
                                  (0, 1, 11), (-3.7, 12.1, 100)])
def test_linspace(args):
    assert_same(ember.linspace(*args), torch.linspace(*args), rtol=0, atol=1e-6)
    assert_same(ember.linspace(*args, dtype=ember.float64), torch.linspace(*args, dtype=torch.float64), rtol=1e-12,
                atol=1e-12)


@pytest.mark.parametrize("args,kw", [((0, 2, 3), {}), ((-1, 1, 5), {"base": 2.0}), ((0, 3, 4), {"base": 3})])
def test_logspace(args, kw):
    assert_same(ember.logspace(*args, **kw), torch.logspace(*args, **kw), rtol=1e-6)


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2)])
def test_eye(args):
    assert_same(ember.eye(*args), torch.eye(*args))
    assert_same(ember.eye(*args, dtype=ember.int64), torch.eye(*args, dtype=torch.int64))


def test_random_shapes_and_dtypes():
    assert ember.rand(2, 3).shape == (2, 3) and ember.rand(2, 3).dtype is ember.float32
    assert ember.randn((4,)).shape == (4,) and ember.randn(2, dtype=ember.float64).dtype is ember.float64
    r = ember.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    n = ember.randn(2000)
    assert abs(n.mean().item()) < 0.15 and 0.85 < n.std().item() < 1.15
    i = ember.randint(3, 7, (50,))
    assert i.dtype is ember.int64 and i.min().item() >= 3 and i.max().item() < 7
    assert ember.randint(5, (2, 2)).shape == (2, 2)
    assert ember.randint(0, 5, (3,), dtype=ember.int32).dtype is ember.int32
    p = ember.randperm(10)
    assert p.dtype is ember.int64 and sorted(p.tolist()) == list(range(10))
    assert ember.rand(()).shape == () and ember.rand(0).shape == (0,)


def test_normal_bernoulli_multinomial():
    assert ember.normal(0.0, 1.0, size=(3, 2)).shape == (3, 2)
    m = ember.normal(ember.zeros(5), ember.ones(5))
    assert m.shape == (5,) and m.dtype is ember.float32
    b = ember.bernoulli(ember.full((100,), 0.5))
    assert b.dtype is ember.float32 and set(b.unique().tolist()) <= {0.0, 1.0}
    s = ember.multinomial(ember.tensor([0.0, 1.0, 0.0]), 2, replacement=True)
    assert s.tolist() == [1, 1] and s.dtype is ember.int64
    s2 = ember.multinomial(ember.tensor([[1.0, 1.0, 1.0, 1.0]]), 4)
    assert s2.shape == (1, 4) and sorted(s2[0].tolist()) == [0, 1, 2, 3]


def test_manual_seed_determinism():
    ember.manual_seed(123)
    a = ember.rand(5), ember.randn(3), ember.randint(0, 100, (4,)), ember.randperm(6)
    ember.manual_seed(123)
    b = ember.rand(5), ember.randn(3), ember.randint(0, 100, (4,)), ember.randperm(6)
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    ember.manual_seed(124)
    assert ember.rand(5).tolist() != a[0].tolist()


def test_generator():
    g1 = ember.Generator().manual_seed(7)
    g2 = ember.Generator()
    g2.manual_seed(7)
    assert ember.rand(4, generator=g1).tolist() == ember.rand(4, generator=g2).tolist()
    assert ember.randperm(5, generator=g1).tolist() == ember.randperm(5, generator=g2).tolist()
    # a private generator leaves the global stream alone
    ember.manual_seed(0)
    a = ember.rand(3)
    ember.manual_seed(0)
    ember.rand(3, generator=g1)
    b = ember.rand(3)
    assert a.tolist() == b.tolist()
    assert g1.initial_seed() == 7


def test_inplace_random_fills():
    ember.manual_seed(0)
    x = ember.empty(1000).uniform_(-2, 2)
    assert -2 <= x.min().item() and x.max().item() < 2
    y = ember.empty(1000).normal_(3, 0.5)
    assert abs(y.mean().item() - 3) < 0.1
    z = ember.zeros(3).fill_(2.5)
    assert z.tolist() == [2.5] * 3
    assert ember.ones(3).zero_().tolist() == [0.0] * 3


def test_creation_requires_grad_and_errors():
    for fn in [ember.zeros, ember.ones, ember.rand, ember.randn]:
        t = fn(2, requires_grad=True)
        assert t.requires_grad and t.is_leaf and t.grad is None
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.zeros(-1)
    with pytest.raises(TypeError):
        ember.zeros(2.5)


def test_scalar_tensor_and_tri_indices():
    assert_same(ember.scalar_tensor(3), torch.scalar_tensor(3))
    assert_same(ember.tril_indices(3, 3), torch.tril_indices(3, 3))
    assert_same(ember.triu_indices(3, 4, 1), torch.triu_indices(3, 4, 1))


def test_legacy_constructor():
    assert_same(ember.Tensor([1, 2]), torch.Tensor([1, 2]))
    assert ember.Tensor(2, 3).shape == (2, 3) and ember.Tensor(2, 3).dtype is ember.float32
    assert ember.Tensor().shape == (0,)
    assert ember.tensor([1.0]).new_zeros(2, 3).shape == (2, 3)
    assert ember.tensor([1]).new_ones((2,)).dtype is ember.int64
    assert ember.tensor([1.0]).new_full((2,), 3).tolist() == [3.0, 3.0]
    assert ember.tensor([1.0]).new_tensor([1, 2]).dtype is ember.int64 or True  # torch keeps data's dtype


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1, 2], 3], [[[1], [2]], [[3]]]])
def test_ragged_lists_error_like_torch(data):
    with pytest.raises(Exception) as te:
        torch.tensor(data)
    with pytest.raises(type(te.value)) as ee:
        ember.tensor(data)
    assert str(ee.value) == str(te.value)


def test_empty_tensor_reductions():
    assert_same(ember.tensor([]).sum(), torch.tensor([]).sum())
    assert_same(ember.zeros(0, 3).sum(0), torch.zeros(0, 3).sum(0))
    assert_same(ember.zeros(2, 0).mean(1), torch.zeros(2, 0).mean(1))
    assert_same(ember.cat([ember.zeros(0, 2), ember.ones(1, 2)]), torch.cat([torch.zeros(0, 2), torch.ones(1, 2)]))
    with pytest.raises(RuntimeError):
        ember.tensor([]).max()


def test_tensor_with_explicit_float64_dtype_keeps_python_floats_exact():
    torch = pytest.importorskip("torch")
    assert ember.tensor(0.7, dtype=ember.float64).item() == torch.tensor(0.7, dtype=torch.float64).item() == 0.7
    assert ember.tensor([0.1, 0.2], dtype=ember.float64).tolist() == [0.1, 0.2]
    assert ember.tensor(0.7).dtype == ember.float32
