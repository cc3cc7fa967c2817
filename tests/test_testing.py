"""torch.testing vs ember.testing: assert_close passes and fails on the same inputs, with torch's exception
classes and failure reports; default tolerances by dtype; make_tensor's ranges, dtypes and flags."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def conv(L, x):
    """Build the same structure with tensors of library L (numpy arrays become tensors)."""
    if isinstance(x, np.ndarray):
        return L.tensor(x)
    if isinstance(x, list):
        return [conv(L, v) for v in x]
    if isinstance(x, tuple):
        return tuple(conv(L, v) for v in x)
    if isinstance(x, dict):
        return {k: conv(L, v) for k, v in x.items()}
    return x


def outcome(L, a, e, **kw):
    try:
        L.testing.assert_close(conv(L, a), conv(L, e), **kw)
        return None
    except Exception as exc:  # noqa: BLE001  (compare whatever torch raises)
        text = str(exc).replace("ember._tensor.Tensor", "Tensor").replace("torch.Tensor", "Tensor")
        return type(exc).__name__, text


f32, f64 = np.float32, np.float64
nan = float("nan")
CASES = [
    (np.array([1, 2, 3], f32), np.array([1, 2.5, 3], f32), {}),
    (np.array([1, 2, 3], f32), np.array([1, 2 + 1e-6, 3], f32), {}),
    (np.array([1, 2, 3], f32), np.array([1, 2, 3], f64), {}),
    (np.array([1, 2, 3], f32), np.array([1, 2, 3], f64), {"check_dtype": False}),
    (np.array([1, 2], f32), np.array([1, 2, 3], f32), {}),
    (np.array([1, 2, 3]), np.array([1, 2, 4]), {}),
    (np.array([[1, 2], [3, nan]], f32), np.array([[1, 2.1], [3, nan]], f32), {}),
    (np.array([nan], f32), np.array([nan], f32), {}),
    (np.array([nan], f32), np.array([nan], f32), {"equal_nan": True}),
    (np.array([np.inf, 1], f64), np.array([np.inf, 1], f64), {}),
    (np.array([np.inf], f64), np.array([-np.inf], f64), {}),
    (1.0, 1.1, {}),
    (1.0, 1.0 + 1e-9, {}),
    (3, 3, {}),
    (2, 3, {}),
    ([np.array(1.0, f32), np.array(2.0, f32)], [np.array(1.0, f32), np.array(3.0, f32)], {}),
    ({"a": np.array(1.0, f32)}, {"a": np.array(2.0, f32)}, {}),
    ({"a": [np.array([1.0, 2.0], f32)]}, {"a": [np.array([1.0, 2.5], f32)]}, {}),
    ([np.array(1.0, f32)], [np.array(1.0, f32), np.array(1.0, f32)], {}),
    (np.array([1, 2], f32), np.array([1, 2], f32), {"rtol": 1e-3}),
    (np.array([1, 2], f32), [1.0, 2.0], {}),
    (np.array([1, 2], f32), np.array([1, 3], f32), {"msg": "custom"}),
    (np.array([1, 2], f32), np.array([1, 3], f32), {"msg": lambda m: m.splitlines()[0] + " (extra)"}),
    (np.array([True]), np.array([False]), {}),
    (np.array(1 + 1j, np.complex64), np.array(1 + 2j, np.complex64), {}),
    (np.array([1 + 1j, 2], np.complex128), np.array([1 + 1j, 2 + 1e-3j], np.complex128), {}),
    (np.array(5.0, f32), np.array(6.0, f32), {}),
    (np.array([1.0, 2.0], f64), np.array([1.1, 2.0], f64), {"rtol": 0.2, "atol": 0.0}),
    (np.array([1.0, 2.0], f64), np.array([1.1, 2.0], f64), {"rtol": 0.0, "atol": 0.05}),
    (np.array([1.0, 2.0], np.float16), np.array([1.0005, 2.0], np.float16), {}),
]


@pytest.mark.parametrize("a,e,kw", CASES, ids=[str(i) for i in range(len(CASES))])
def test_assert_close_like_torch(a, e, kw):
    assert outcome(ember, a, e, **kw) == outcome(torch, a, e, **kw)


def test_assert_close_on_tensors_with_grad_and_devices():
    x = ember.ones(3, requires_grad=True)
    ember.testing.assert_close(x * 2, ember.full((3,), 2.0))
    with pytest.raises(AssertionError, match="Tensor-likes are not close!"):
        ember.testing.assert_close(x, x + 1)


def test_assert_allclose_deprecated():
    for L in (ember, torch):
        with pytest.warns(FutureWarning, match="deprecated"):
            L.testing.assert_allclose(L.tensor([1.0, 2.0]), [1.0, 2.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(AssertionError, match="Tensor-likes are not close!"):
                L.testing.assert_allclose(L.tensor([1.0, 2.0]), [1.0, 2.5])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "uint8", "bool", "complex64"])
def test_make_tensor_like_torch(dtype):
    for L in (ember, torch):
        dt = getattr(L, dtype)
        t = L.testing.make_tensor((4, 5), dtype=dt, device="cpu")
        assert t.shape == (4, 5) and t.dtype == dt
        t = L.testing.make_tensor(3, 4, dtype=dt, device="cpu", low=1, high=5)
        if dtype != "bool":
            vals = np.abs(t.numpy()) if dtype == "complex64" else t.numpy()
            assert (t.numpy().real >= 1).all() and (t.numpy().real < 5 + 1e-6).all(), vals
    for L in (ember, torch):
        t = L.testing.make_tensor((3, 4), dtype=L.float32, device="cpu", requires_grad=True, noncontiguous=True)
        assert t.requires_grad and not t.is_contiguous()
        t = L.testing.make_tensor((50,), dtype=L.int64, device="cpu", low=-1, high=2, exclude_zero=True)
        assert (t.numpy() != 0).all()
        with pytest.raises(ValueError, match="`low` must be less than `high`, but got 3 >= 1"):
            L.testing.make_tensor((2,), dtype=L.float32, device="cpu", low=3, high=1)
