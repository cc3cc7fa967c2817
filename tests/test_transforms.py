"""ember.transforms: Compose, ToTensor, Normalize, Lambda (torchvision's behaviour and reprs)."""
import numpy as np
import pytest

import ember
from ember import transforms as T


def test_to_tensor_uint8():
    rng = np.random.default_rng(0)
    hw = rng.integers(0, 256, size=(5, 7), dtype=np.uint8)
    t = T.ToTensor()(hw)
    assert isinstance(t, ember.Tensor) and t.dtype == ember.float32 and tuple(t.shape) == (1, 5, 7)
    np.testing.assert_array_equal(t.numpy()[0], hw.astype(np.float32) / np.float32(255))
    hwc = rng.integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    t = T.ToTensor()(hwc)
    assert tuple(t.shape) == (3, 4, 6)
    np.testing.assert_array_equal(t.numpy(), hwc.transpose(2, 0, 1).astype(np.float32) / 255)
    assert t.is_contiguous()


def test_to_tensor_matches_torch():
    torch = pytest.importorskip("torch")
    hwc = np.random.default_rng(1).integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    ref = torch.from_numpy(hwc.transpose(2, 0, 1).copy()).to(torch.float32).div(255)
    np.testing.assert_array_equal(T.ToTensor()(hwc).numpy(), ref.numpy())


def test_to_tensor_other_dtypes_and_errors():
    f = np.linspace(0, 2, 12, dtype=np.float64).reshape(3, 4)
    t = T.to_tensor(f)
    assert t.dtype == ember.float64 and tuple(t.shape) == (1, 3, 4)
    np.testing.assert_array_equal(t.numpy()[0], f)  # non-uint8 values are kept
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'list'>"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))


def test_to_tensor_pil():
    Image = pytest.importorskip("PIL.Image")
    arr = np.random.default_rng(2).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    np.testing.assert_array_equal(T.ToTensor()(img).numpy(), T.ToTensor()(arr).numpy())
    grey = Image.fromarray(arr[:, :, 0])
    assert tuple(T.ToTensor()(grey).shape) == (1, 5, 4)


def test_normalize():
    x = ember.tensor(np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2))
    mean, std = (1.0, 2.0, 3.0), (0.5, 1.0, 2.0)
    out = T.Normalize(mean, std)(x)
    ref = (x.numpy() - np.array(mean, np.float32).reshape(3, 1, 1)) / \
        np.array(std, np.float32).reshape(3, 1, 1)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
    assert out.dtype == ember.float32
    assert x.numpy()[0, 0, 0, 0] == 0.0  # not in place
    y = x.clone()
    r = T.Normalize(mean, std, inplace=True)(y)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-6)
    assert r is y
    scalar = T.Normalize(0.5, 0.25)(ember.ones(1, 2, 2))
    np.testing.assert_allclose(scalar.numpy(), 2.0)


def test_normalize_matches_torch_and_is_differentiable():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(3).standard_normal((3, 4, 5)).astype(np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.9, 1.1, 1.3]
    ref = (torch.from_numpy(data) - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
    x = ember.tensor(data, requires_grad=True)
    out = T.Normalize(mean, std)(x)
    np.testing.assert_allclose(out.numpy() if not out.requires_grad else out.detach().numpy(),
                               ref.numpy(), rtol=1e-6, atol=1e-7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(),
                               np.broadcast_to(1 / np.float32(std)[:, None, None], data.shape),
                               rtol=1e-6)


def test_normalize_errors():
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.int64."):
        T.Normalize((0.5,), (0.5,))(ember.zeros(1, 2, 2, dtype=ember.int64))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        T.Normalize((0.5,), (0.5,))(ember.zeros(2, 2))
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to torch.float32"):
        T.Normalize((0.5,), (0.0,))(ember.zeros(1, 2, 2))


def test_compose_lambda_and_reprs():
    pipeline = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,)),
                          T.Lambda(lambda t: t.flatten())])
    out = pipeline(np.full((2, 2), 255, np.uint8))
    np.testing.assert_allclose(out.numpy(), np.full(4, (1 - 0.1307) / 0.3081, np.float32), rtol=1e-6)
    assert repr(pipeline) == ("Compose(\n    ToTensor()\n    Normalize(mean=(0.1307,), "
                              "std=(0.3081,))\n    Lambda()\n)")
    assert repr(T.Normalize([0.5, 0.5], [0.2, 0.2])) == "Normalize(mean=[0.5, 0.5], std=[0.2, 0.2])"
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)
