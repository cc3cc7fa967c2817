"""dtypes and torch's type promotion: every pair of dtypes, Python scalars, 0-d tensors, finfo/iinfo."""
import itertools

import numpy as np
import pytest

import ember
from conftest import DTYPE_NAMES

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)

PAIRS = list(itertools.product(DTYPE_NAMES, DTYPE_NAMES))


def _e(name, shape=(2,)):
    return ember.ones(shape, dtype=getattr(ember, name))


def _t(name, shape=(2,)):
    return torch.ones(shape, dtype=getattr(torch, name))


def _name(d):
    return str(d).replace("torch.", "")


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types_all_pairs(a, b):
    assert ember.promote_types(getattr(ember, a), getattr(ember, b)).name == \
        _name(torch.promote_types(getattr(torch, a), getattr(torch, b)))


@pytest.mark.parametrize("a,b", PAIRS)
@pytest.mark.parametrize("shapes", [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())])
def test_result_type_tensors(a, b, shapes):
    sa, sb = shapes
    assert ember.result_type(_e(a, sa), _e(b, sb)).name == _name(torch.result_type(_t(a, sa), _t(b, sb)))


@pytest.mark.parametrize("a", DTYPE_NAMES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5, -3])
@pytest.mark.parametrize("shape", [(2,), ()])
def test_result_type_python_scalar(a, scalar, shape):
    assert ember.result_type(_e(a, shape), scalar).name == _name(torch.result_type(_t(a, shape), scalar))


@pytest.mark.parametrize("a,b", PAIRS)
def test_add_mul_result_dtype(a, b):
    """The dtype of a + b and a * b for every pair, dimensioned and 0-d on the right."""
    for sb in [(2,), ()]:
        ea, eb, ta, tb = _e(a), _e(b, sb), _t(a), _t(b, sb)
        assert (ea * eb).dtype.name == _name((ta * tb).dtype)
        if not (a == "bool" and b == "bool"):
            assert (ea + eb).dtype.name == _name((ta + tb).dtype)
        np.testing.assert_array_equal((ea * eb).numpy(), (ta * tb).numpy())


@pytest.mark.parametrize("a", DTYPE_NAMES)
@pytest.mark.parametrize("scalar", [True, 3, 2.5])
@pytest.mark.parametrize("op", ["add", "mul", "radd", "rmul", "truediv", "rtruediv"])
def test_scalar_ops_dtype(a, scalar, op):
    ea, ta = _e(a), _t(a)
    fn = {"add": lambda x: x + scalar, "mul": lambda x: x * scalar, "radd": lambda x: scalar + x,
          "rmul": lambda x: scalar * x, "truediv": lambda x: x / scalar, "rtruediv": lambda x: scalar / x}[op]
    if a == "bool" and op in ("add", "radd") and scalar is True:
        pytest.skip("bool + bool is logical or in torch")
    er, tr = fn(ea), fn(ta)
    assert er.dtype.name == _name(tr.dtype)
    np.testing.assert_allclose(er.numpy().astype(float), tr.numpy().astype(float), rtol=1e-3)


def test_headline_rules():
    """The rules the lessons lean on, spelled out."""
    i = ember.tensor([1, 2, 3])
    assert i.dtype is ember.int64
    assert (i + 2.5).dtype is ember.float32
    assert (ember.ones(3) * 2.0).dtype is ember.float32
    assert (i / ember.tensor([2, 2, 2])).dtype is ember.float32
    assert (i / 2).dtype is ember.float32
    assert (i // 2).dtype is ember.int64
    assert (i < 2).dtype is ember.bool
    assert (ember.ones(3) == 1).dtype is ember.bool
    assert i.sum().dtype is ember.int64
    assert ember.tensor([True, False]).sum().dtype is ember.int64
    assert ember.tensor([1, 2], dtype=ember.int32).sum().dtype is ember.int64
    assert ember.tensor([1, 2], dtype=ember.uint8).cumsum(0).dtype is ember.int64
    # a 0-d float64 tensor does not widen a float32 tensor, but a float 0-d lifts an int tensor
    assert (ember.ones(3) + ember.tensor(1.0, dtype=ember.float64)).dtype is ember.float32
    assert (i + ember.tensor(1.0, dtype=ember.float64)).dtype is ember.float64
    assert (ember.ones(3, dtype=ember.float16) + 1.5).dtype is ember.float16
    assert (ember.ones(3, dtype=ember.int8) + 1000).dtype is ember.int8


@pytest.mark.parametrize("a,b", PAIRS)
def test_comparisons_bool(a, b):
    ea, eb, ta, tb = _e(a), _e(b), _t(a), _t(b)
    for op in ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]:
        r = getattr(ea, op)(eb)
        assert r.dtype is ember.bool
        np.testing.assert_array_equal(r.numpy(), getattr(ta, op)(tb).numpy())


@pytest.mark.parametrize("a", DTYPE_NAMES)
def test_sum_prod_cumsum_dtype(a):
    ea, ta = _e(a, (2, 3)), _t(a, (2, 3))
    assert ea.sum().dtype.name == _name(ta.sum().dtype)
    assert ea.sum(0).dtype.name == _name(ta.sum(0).dtype)
    assert ea.prod().dtype.name == _name(ta.prod().dtype)
    assert ea.cumsum(1).dtype.name == _name(ta.cumsum(1).dtype)
    assert ea.sum(dtype=ember.float64).dtype is ember.float64


@pytest.mark.parametrize("a", DTYPE_NAMES)
def test_unary_float_ops_dtype(a):
    """exp/sqrt/sin... of integer tensors give the default float dtype, like torch."""
    ea, ta = _e(a), _t(a)
    for op in ["exp", "sqrt", "sin", "log", "sigmoid", "tanh"]:
        assert getattr(ea, op)().dtype.name == _name(getattr(ta, op)().dtype), op


@pytest.mark.parametrize("a", DTYPE_NAMES[1:])
def test_abs_neg_floor_keep_dtype(a):
    ea, ta = _e(a), _t(a)
    assert ea.abs().dtype.name == _name(ta.abs().dtype)
    assert ea.floor().dtype.name == _name(ta.floor().dtype)
    if a != "bool":
        assert (-ea).dtype.name == _name((-ta).dtype)


def test_mean_of_int_raises():
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        ember.tensor([1, 2]).mean()
    assert ember.tensor([1, 2]).mean(dtype=ember.float32).item() == 1.5


def test_dtype_objects():
    assert ember.float is ember.float32 and ember.double is ember.float64 and ember.half is ember.float16
    assert ember.long is ember.int64 and ember.int is ember.int32 and ember.short is ember.int16
    assert repr(ember.float32) == "torch.float32" and str(ember.int64) == "torch.int64"
    assert ember.float32.is_floating_point and not ember.int64.is_floating_point
    assert ember.int8.is_signed and not ember.uint8.is_signed
    assert ember.float64.itemsize == 8 and ember.bool.itemsize == 1
    assert ember.zeros(2, dtype=ember.float16).element_size() == 2
    assert isinstance(ember.float32, ember.dtype)


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo(name):
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in ["bits", "eps", "max", "min", "tiny", "resolution", "smallest_normal"]:
        assert getattr(e, attr) == pytest.approx(getattr(t, attr)), attr
    assert ember.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert (e.bits, e.min, e.max) == (t.bits, t.min, t.max)


def test_set_default_dtype():
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.get_default_dtype() is ember.float64
        assert ember.tensor([1.5]).dtype is ember.float64
        assert ember.zeros(2).dtype is ember.float64
        assert ember.arange(0.0, 1.0, 0.5).dtype is ember.float64
        assert (ember.tensor([1, 2]) / 2).dtype is ember.float64
        assert (ember.tensor([1, 2]) * 0.5).dtype is ember.float64
        assert ember.rand(2).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.tensor([1.5]).dtype is ember.float32
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)


def test_can_cast():
    for a, b in PAIRS:
        assert ember.can_cast(getattr(ember, a), getattr(ember, b)) == \
            torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


def test_inplace_cannot_downcast_category():
    x = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x.add_(1.5)
    y = ember.ones(2)
    y.add_(ember.tensor([1, 2]))  # int into float is fine
    assert y.tolist() == [2.0, 3.0] and y.dtype is ember.float32


@pytest.mark.parametrize("src", DTYPE_NAMES)
@pytest.mark.parametrize("dst", ["float32", "int64", "bool", "uint8", "float16"])
def test_to_dtype_values(src, dst):
    vals = [0, 1, 2, 3] if src in ("uint8", "bool") else [-2, 0, 1, 3]
    if src == "bool":
        vals = [0, 1, 1, 0]
    e = ember.tensor(vals, dtype=getattr(ember, src)).to(getattr(ember, dst))
    t = torch.tensor(vals, dtype=getattr(torch, src)).to(getattr(torch, dst))
    assert e.dtype.name == dst
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_conversion_methods():
    x = ember.tensor([1.7, -2.2])
    assert x.long().tolist() == [1, -2] and x.long().dtype is ember.int64
    assert x.int().dtype is ember.int32 and x.double().dtype is ember.float64 and x.half().dtype is ember.float16
    assert x.bool().tolist() == [True, True]
    assert x.type(ember.float64).dtype is ember.float64
    assert x.type() == "torch.FloatTensor"
    assert x.type_as(ember.tensor([1])).dtype is ember.int64
    assert x.to(ember.float32) is x
    assert x.to("float64").dtype is ember.float64


def test_python_types_as_dtypes():
    for py in (float, int, bool):
        assert ember.zeros(2, dtype=py).dtype.name == str(torch.zeros(2, dtype=py).dtype).split(".")[1]
        assert ember.ones(2).to(py).dtype.name == str(torch.ones(2).to(py).dtype).split(".")[1]
    assert ember.tensor([1, 2], dtype=float).dtype is ember.float64
