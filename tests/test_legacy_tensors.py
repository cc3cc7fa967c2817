"""Legacy typed constructors (torch.FloatTensor …), Tensor.type() and torch.*Storage, against torch."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
         "ByteTensor", "BoolTensor", "BFloat16Tensor"]


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


@pytest.mark.parametrize("name", NAMES)
def test_data_and_sizes(name):
    E, T = getattr(ember, name), getattr(torch, name)
    if name == "BFloat16Tensor" and ember.tensor([1.0], dtype=ember.bfloat16).dtype != ember.bfloat16:
        pytest.skip("Ember's bfloat16 is stored as float32 here")
    data = [[1.7, 1.2, 0.0], [2.0, 3.5, 4.9]]
    e, t = E(data), T(data)
    assert _dtype_name(e) == _dtype_name(t) and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.float().numpy(), t.float().numpy())
    e, t = E(2, 3), T(2, 3)  # ints are sizes: an uninitialised 2x3 tensor
    assert tuple(e.shape) == tuple(t.shape) == (2, 3) and _dtype_name(e) == _dtype_name(t)
    assert tuple(E(ember.Size([4, 1])).shape) == tuple(T(torch.Size([4, 1])).shape) == (4, 1)
    assert tuple(E().shape) == tuple(T().shape) == (0,)
    assert tuple(E((2, 3)).shape) == tuple(T((2, 3)).shape) == (2,)  # a tuple is data
    assert isinstance(E([1]), E) and isinstance(T([1]), T)
    assert type(E([1])) is ember.Tensor and type(T([1])) is torch.Tensor


def test_long_tensor_reaches_nll_loss_as_int64():
    logp = ember.log_softmax(ember.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]]), dim=1)
    tlogp = torch.log_softmax(torch.tensor([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]]), dim=1)
    e = ember.nn.functional.nll_loss(logp, ember.LongTensor([1, 2]))
    t = torch.nn.functional.nll_loss(tlogp, torch.LongTensor([1, 2]))
    assert abs(e.item() - t.item()) < 1e-6


def test_isinstance_checks_dtype():
    for name in ("FloatTensor", "LongTensor", "BoolTensor"):
        for src in ([1.0], [1], [True]):
            e, t = ember.tensor(src), torch.tensor(src)
            assert isinstance(e, getattr(ember, name)) == isinstance(t, getattr(torch, name))
    assert not isinstance(3, ember.FloatTensor)


def test_tensor_argument_and_errors():
    x = ember.tensor([1.0, 2.0])
    assert ember.FloatTensor(x) is x
    assert str(ember.Tensor(ember.tensor([1, 2])).dtype) == str(torch.Tensor(torch.tensor([1, 2])).dtype) == "torch.int64"
    with pytest.raises(TypeError):
        torch.FloatTensor(torch.tensor([1, 2]))
    with pytest.raises(TypeError):
        ember.FloatTensor(ember.tensor([1, 2]))
    for bad in (("a",), ([1], [2])):
        with pytest.raises(TypeError) as te:
            torch.FloatTensor(*bad)
        with pytest.raises(TypeError) as ee:
            ember.FloatTensor(*bad)
        assert str(ee.value).split(" - ")[0].split(":")[0] == str(te.value).split(" - ")[0].split(":")[0]


def test_type_names_and_conversions():
    e, t = ember.tensor([1.5, -2.5]), torch.tensor([1.5, -2.5])
    assert e.type() == t.type() == "torch.FloatTensor"
    for target in ("LongTensor", "IntTensor", "DoubleTensor", "ByteTensor", "BoolTensor", "HalfTensor"):
        ec, tc = e.type(getattr(ember, target)), t.type(getattr(torch, target))
        assert ec.type() == tc.type() == f"torch.{target}"
        np.testing.assert_array_equal(ec.numpy(), tc.numpy())
        ec, tc = e.type(f"torch.{target}"), t.type(f"torch.{target}")
        assert ec.type() == tc.type()
    assert e.type(ember.int16).type() == t.type(torch.int16).type() == "torch.ShortTensor"
    assert e.type(ember.float64).dtype == ember.float64
    for dt in ("int8", "float64", "bool", "uint8", "int32"):
        assert getattr(ember, dt) and ember.zeros(1, dtype=getattr(ember, dt)).type() == \
            torch.zeros(1, dtype=getattr(torch, dt)).type()
    with pytest.raises(ValueError):
        e.type("torch.NoSuchTensor")


def test_storages():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: TypedStorage is deprecated
        for name, data in [("FloatStorage", [1.5, 2]), ("LongStorage", [1, 2, 3]), ("ByteStorage", [7]),
                           ("DoubleStorage", [0.25]), ("IntStorage", [4]), ("BoolStorage", [True, False]),
                           ("ShortStorage", [3]), ("CharStorage", [-1]), ("HalfStorage", [0.5])]:
            es, ts = getattr(ember, name)(data), getattr(torch, name)(data)
            assert es.tolist() == ts.tolist() and es.size() == ts.size() == len(data)
            assert str(es.dtype) == str(ts.dtype) and es.element_size() == ts.element_size()
            assert isinstance(es, getattr(ember, name)) and isinstance(ts, getattr(torch, name))
            es, ts = getattr(ember, name)(3), getattr(torch, name)(3)
            assert len(es) == len(ts) == 3
        assert ember.ByteStorage.from_buffer(b"ab").tolist() == torch.ByteStorage.from_buffer(b"ab").tolist()
        x, tx = ember.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
        assert isinstance(x.storage(), ember.FloatStorage) and isinstance(tx.storage(), torch.FloatStorage)
        assert x.storage().tolist() == tx.storage().tolist()
        e = ember.FloatTensor(ember.FloatStorage([1, 2]))
        t = torch.FloatTensor(torch.FloatStorage([1, 2]))
        np.testing.assert_array_equal(e.numpy(), t.numpy())
