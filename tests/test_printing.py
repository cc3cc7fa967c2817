"""Tensor printing must match PyTorch character for character.

Most tests build a tiny fake tensor (a SimpleNamespace with the attributes ``tensor_repr`` reads) so
they do not depend on the rest of Ember, and compare against ``repr(torch.from_numpy(arr))``.
"""
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from ember import _tensor_str
from ember._tensor_str import get_printoptions, printoptions, set_printoptions, tensor_repr

try:
    import torch
except ImportError:      # the parity tests skip; the hand-written expectations still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def fake(arr, requires_grad=False, grad_fn=None, device="cpu", dtype=None):
    return SimpleNamespace(_data=arr, dtype=dtype, device=device, requires_grad=requires_grad,
                           grad_fn=grad_fn, is_leaf=grad_fn is None)


def node(name):
    """An object whose class is named like a torch autograd node."""
    return type(name, (), {})()


@pytest.fixture(autouse=True)
def _reset_printoptions():
    set_printoptions(profile="default")
    if torch is not None:
        torch.set_printoptions(profile="default")
    yield
    set_printoptions(profile="default")
    if torch is not None:
        torch.set_printoptions(profile="default")


def same_options(**kwargs):
    set_printoptions(**kwargs)
    torch.set_printoptions(**kwargs)


def check(arr):
    expected = repr(torch.from_numpy(arr.copy(order="C")))
    assert tensor_repr(fake(arr)) == expected


# ------------------------------------------------------------------------------------------------
# hand-written expectations (no torch needed)
# ------------------------------------------------------------------------------------------------

def test_known_outputs():
    assert tensor_repr(fake(np.array([1.0, 2.0], np.float32))) == "tensor([1., 2.])"
    assert tensor_repr(fake(np.array(2.1438, np.float32))) == "tensor(2.1438)"
    assert tensor_repr(fake(np.array([True, False]))) == "tensor([ True, False])"
    assert tensor_repr(fake(np.array([], np.float32))) == "tensor([])"
    assert tensor_repr(fake(np.zeros((0, 3), np.float32))) == "tensor([], size=(0, 3))"
    assert tensor_repr(fake(np.zeros((0,), np.int64))) == "tensor([], dtype=torch.int64)"
    assert tensor_repr(fake(np.array([1, 2], np.int32))) == "tensor([1, 2], dtype=torch.int32)"
    assert tensor_repr(fake(np.array([1e-5, 1.0], np.float32))) == "tensor([1.0000e-05, 1.0000e+00])"
    assert tensor_repr(fake(np.array([[1.5, -2.0], [3.0, 4.0]], np.float32))) == (
        "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])")
    assert tensor_repr(fake(np.arange(2000, dtype=np.int64))) == (
        "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])")


def test_float16_and_nonfinite():
    assert tensor_repr(fake(np.array([0.5, np.nan], np.float16))) == (
        "tensor([0.5000,    nan], dtype=torch.float16)")
    assert tensor_repr(fake(np.array([np.inf, -np.inf, np.nan], np.float32))) == (
        "tensor([inf, -inf, nan])")
    assert tensor_repr(fake(np.array([-0.0, 0.0], np.float32))) == "tensor([-0., 0.])"


def test_suffixes_device_dtype_grad():
    a = np.array([1.0, 2.0], np.float32)
    assert tensor_repr(fake(a, device="cuda:0")) == "tensor([1., 2.], device='cuda:0')"
    assert tensor_repr(fake(a, requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert tensor_repr(fake(a, requires_grad=True, grad_fn=node("AddmmBackward0"))) == (
        "tensor([1., 2.], grad_fn=<AddmmBackward0>)")
    b = np.array([1, 2], np.int32)
    assert tensor_repr(fake(b, device="cuda:0")) == (
        "tensor([1, 2], device='cuda:0', dtype=torch.int32)")
    assert tensor_repr(fake(b, device="cuda")) == (
        "tensor([1, 2], device='cuda:0', dtype=torch.int32)")


def test_grad_fn_name_attribute_wins():
    grad_fn = node("Node")
    grad_fn._grad_fn_name = "SoftmaxBackward0"
    out = tensor_repr(fake(np.array([0.5], np.float32), requires_grad=True, grad_fn=grad_fn))
    assert out == "tensor([0.5000], grad_fn=<SoftmaxBackward0>)"


def test_prefix_of_subclasses():
    """Tensor, Parameter and Buffer print ``tensor(``; other Tensor subclasses their class name."""
    class Tensor(SimpleNamespace):
        pass

    class MyTensor(Tensor):
        pass

    class Parameter(Tensor):
        pass
    a = np.array([1.0, 2.0], np.float32)
    kw = dict(_data=a, dtype=None, device="cpu", requires_grad=False, grad_fn=None)
    assert tensor_repr(MyTensor(**kw)) == "MyTensor([1., 2.])"
    assert tensor_repr(Parameter(**kw)) == "tensor([1., 2.])"
    assert tensor_repr(Tensor(**kw)) == "tensor([1., 2.])"


def test_dtype_name_from_ember_dtype_string():
    class D:
        def __str__(self):
            return "ember.float64"
    assert tensor_repr(fake(np.array([1.0]), dtype=D())) == "tensor([1.], dtype=torch.float64)"


def test_default_dtype_float64(monkeypatch):
    monkeypatch.setattr(_tensor_str, "_default_dtype_name", lambda: "float64")
    assert tensor_repr(fake(np.array([1.5], np.float64))) == "tensor([1.5000])"
    assert tensor_repr(fake(np.array([1.5], np.float32))) == "tensor([1.5000], dtype=torch.float32)"
    assert tensor_repr(fake(np.zeros(0, np.float32))) == "tensor([], dtype=torch.float32)"
    assert tensor_repr(fake(np.array([1 + 2j], np.complex128))) == "tensor([1.+2.j])"


def test_printoptions_api():
    assert get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3, linewidth=80,
                                      sci_mode=None)
    set_printoptions(profile="short")
    assert get_printoptions()["precision"] == 2 and get_printoptions()["edgeitems"] == 2
    set_printoptions(profile="full", precision=6)
    assert get_printoptions()["threshold"] == float("inf")
    assert get_printoptions()["precision"] == 6
    set_printoptions(sci_mode=True)
    with printoptions(precision=1, sci_mode=False):
        assert tensor_repr(fake(np.array([1.25], np.float32))) == "tensor([1.2])"
    assert get_printoptions()["precision"] == 6 and get_printoptions()["sci_mode"] is True
    set_printoptions(precision=2)              # like torch, sci_mode resets when not passed
    assert get_printoptions()["sci_mode"] is None


def test_summarizing_reads_only_the_edges(monkeypatch):
    """A huge tensor prints as fast as a small one: only (2*edgeitems)**ndim values are formatted."""
    seen = []
    real = _tensor_str._Formatter

    def spy(values, floating):
        seen.append(np.asarray(values).shape)
        return real(values, floating)
    monkeypatch.setattr(_tensor_str, "_Formatter", spy)
    big = np.zeros((300, 300, 300), np.float32)
    out = tensor_repr(fake(big))
    assert seen == [(6, 6, 6)]
    assert out.count("...") == 1 + 6 + 36


# ------------------------------------------------------------------------------------------------
# parity with torch
# ------------------------------------------------------------------------------------------------

PARITY_CASES = {
    "randn_2d": lambda r: r.standard_normal((3, 4)).astype(np.float32),
    "randn_3d": lambda r: r.standard_normal((2, 3, 4)).astype(np.float32),
    "randn_4d": lambda r: r.standard_normal((2, 2, 2, 3)).astype(np.float32),
    "big_1e3": lambda r: (r.standard_normal((4, 5)) * 1e3).astype(np.float32),
    "huge_1e9": lambda r: (r.standard_normal(6) * 1e9).astype(np.float32),
    "tiny_1e-5": lambda r: (r.standard_normal(6) * 1e-5).astype(np.float32),
    "ratio_sci": lambda r: np.array([1.0, 1001.0, 3.5], np.float32),
    "ratio_no_sci": lambda r: np.array([1.0, 999.0, 3.5], np.float32),
    "int_mode": lambda r: np.array([[1.0, -20.0], [300.0, 4.0]], np.float32),
    "int_mode_sci": lambda r: np.array([1.0, 1e9], np.float32),
    "int_mode_nan": lambda r: np.array([1.0, np.nan, -np.inf, 100.0], np.float32),
    "nan_fixed": lambda r: np.array([np.nan, 1.5, -0.25], np.float32),
    "neg_zero": lambda r: np.array([-0.0, 1.25, 0.0], np.float32),
    "all_zero": lambda r: np.zeros((2, 3), np.float32),
    "all_nan": lambda r: np.full(3, np.nan, np.float32),
    "float64": lambda r: r.standard_normal((3, 3)),
    "float16": lambda r: r.standard_normal((3, 3)).astype(np.float16),
    "float16_big": lambda r: np.array([60000.0, 1.0, 0.001], np.float16),
    "int8": lambda r: r.integers(-128, 127, (4, 4)).astype(np.int8),
    "int16": lambda r: r.integers(-3000, 3000, 7).astype(np.int16),
    "int32": lambda r: r.integers(-10**9, 10**9, (3, 2)).astype(np.int32),
    "int64": lambda r: r.integers(-10**15, 10**15, (3, 2)),
    "uint8": lambda r: r.integers(0, 255, (2, 5)).astype(np.uint8),
    "bool": lambda r: r.random((3, 4)) > 0.5,
    "bool_all_true": lambda r: np.ones(3, bool),
    "scalar_float": lambda r: np.array(2.1438, np.float32),
    "scalar_int": lambda r: np.array(-7, np.int64),
    "scalar_int32": lambda r: np.array(7, np.int32),
    "scalar_bool": lambda r: np.array(True),
    "scalar_nan": lambda r: np.array(np.nan, np.float32),
    "scalar_neg_zero": lambda r: np.array(-0.0, np.float32),
    "scalar_sci": lambda r: np.array(1.5e-7, np.float32),
    "empty": lambda r: np.zeros(0, np.float32),
    "empty_2d": lambda r: np.zeros((0, 3), np.float32),
    "empty_3d_int32": lambda r: np.zeros((2, 0, 3), np.int32),
    "empty_bool": lambda r: np.zeros(0, bool),
    "empty_float64": lambda r: np.zeros((4, 0)),
    "wrap_1d": lambda r: r.standard_normal(40).astype(np.float32),
    "wrap_1d_int": lambda r: np.arange(100),
    "wrap_2d": lambda r: r.standard_normal((3, 30)).astype(np.float32),
    "summarize_1d": lambda r: np.arange(1001, dtype=np.float32),
    "summarize_2d": lambda r: r.standard_normal((100, 100)).astype(np.float32),
    "summarize_3d": lambda r: r.standard_normal((20, 30, 40)).astype(np.float32),
    "summarize_4d": lambda r: r.standard_normal((8, 7, 6, 9)).astype(np.float32),
    "summarize_narrow": lambda r: r.standard_normal((500, 3)).astype(np.float32),
    "summarize_wide": lambda r: r.standard_normal((2, 600)).astype(np.float32),
    "summarize_int": lambda r: r.integers(-5, 10**6, (50, 50)),
    "summarize_edges_differ": lambda r: np.concatenate(
        [np.ones(500, np.float32), np.full(500, 1e-9, np.float32), np.ones(3, np.float32) * 7]),
    "complex64": lambda r: (r.standard_normal((2, 3)) + 1j * r.standard_normal((2, 3))
                            ).astype(np.complex64),
    "complex_int_mode": lambda r: np.array([1 + 2j, -3 - 0j, 0 + 1j], np.complex128),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(PARITY_CASES))
def test_parity_with_torch(name):
    check(PARITY_CASES[name](np.random.default_rng(zlib.crc32(name.encode()))))


@needs_torch
def test_parity_noncontiguous():
    a = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    arr = a.T[::2]
    expected = repr(torch.from_numpy(arr.copy(order="C")))
    assert tensor_repr(fake(arr)) == expected


@needs_torch
@pytest.mark.parametrize("options", [
    dict(precision=2), dict(precision=0), dict(precision=8), dict(threshold=5), dict(threshold=0),
    dict(edgeitems=1, threshold=10), dict(edgeitems=0, threshold=10), dict(linewidth=30),
    dict(linewidth=5), dict(sci_mode=True), dict(sci_mode=False), dict(profile="short"),
    dict(profile="full"), dict(profile="short", sci_mode=True),
])
@pytest.mark.parametrize("case", ["randn_2d", "summarize_2d", "wrap_1d", "int_mode", "tiny_1e-5",
                                  "summarize_int", "scalar_float", "randn_3d", "bool", "empty_2d"])
def test_parity_with_printoptions(options, case):
    same_options(**options)
    check(PARITY_CASES[case](np.random.default_rng(1)))


@needs_torch
def test_parity_requires_grad_and_grad_fn():
    a = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    leaf = torch.from_numpy(a).requires_grad_()
    assert tensor_repr(fake(a, requires_grad=True)) == repr(leaf)
    w = torch.ones(5, 5, requires_grad=True)
    out = torch.addmm(torch.zeros(5), leaf, w)
    expected = repr(out)
    assert "grad_fn=<AddmmBackward0>" in expected
    got = tensor_repr(fake(out.detach().numpy(), requires_grad=True, grad_fn=node("AddmmBackward0")))
    assert got == expected


@needs_torch
def test_parity_suffix_wraps_to_new_line():
    """A long last line pushes the suffixes onto their own indented lines."""
    a = np.arange(10, dtype=np.int32) * 1000000
    same_options(linewidth=60)
    t = torch.from_numpy(a).float().requires_grad_()
    expected = repr(t.double() * 1)
    got = tensor_repr(fake(a.astype(np.float64), requires_grad=True, grad_fn=node("MulBackward0")))
    assert got == expected
    assert "\n" in got.split("]")[-1]


@needs_torch
def test_parity_default_dtype_float64(monkeypatch):
    monkeypatch.setattr(_tensor_str, "_default_dtype_name", lambda: "float64")
    torch.set_default_dtype(torch.float64)
    try:
        for arr in [np.ones(2), np.ones(2, np.float32), np.zeros((0, 2), np.float32),
                    np.ones(2, np.complex64), np.ones(2, np.complex128), np.ones(2, np.int64)]:
            check(arr)
    finally:
        torch.set_default_dtype(torch.float32)


try:
    from hypothesis import given, settings, strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:        # property tests need hypothesis; everything else runs without it
    hnp = None

if hnp is not None:
    _DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8,
                               np.bool_])


    @st.composite
    def _arrays(draw):
        dtype = np.dtype(draw(_DTYPES))
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7))
        if dtype.kind == "f":
            scale = draw(st.sampled_from([1e-9, 1e-5, 1e-3, 1.0, 1e3, 1e5, 1e9]))
            elements = st.floats(-1e4, 1e4, width=16 if dtype == np.float16 else 32) | st.sampled_from(
                [0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, 2.0, 0.5])
            arr = draw(hnp.arrays(dtype, shape, elements=elements))
            with np.errstate(over="ignore", invalid="ignore"):
                arr = (arr * scale).astype(dtype) if draw(st.booleans()) else arr
            return np.asarray(arr, dtype)
        return np.asarray(draw(hnp.arrays(dtype, shape)), dtype)


    @needs_torch
    @settings(max_examples=300, deadline=None)
    @given(arr=_arrays(), precision=st.sampled_from([None, 1, 4, 6]),
           threshold=st.sampled_from([None, 20, 1000]), edgeitems=st.sampled_from([None, 1, 2, 3]),
           linewidth=st.sampled_from([None, 40, 80, 120]), sci_mode=st.sampled_from([None, True, False]))
    def test_parity_random(arr, precision, threshold, edgeitems, linewidth, sci_mode):
        opts = dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth,
                    sci_mode=sci_mode)
        try:
            same_options(**opts)
            check(arr)
        finally:
            same_options(profile="default")


# ------------------------------------------------------------------------------------------------
# the real Tensor (once the core exists)
# ------------------------------------------------------------------------------------------------

def _ember_with_core():
    try:
        import ember
        ember.tensor  # noqa: B018
        from ember._tensor import Tensor  # noqa: F401
    except (ImportError, AttributeError):
        pytest.skip("Ember core is not available yet")
    return ember


@needs_torch
def test_real_tensor_repr_matches_torch():
    ember = _ember_with_core()
    data = [[1.0, 2.0], [3.0, 4.5]]
    assert repr(ember.tensor(data)) == repr(torch.tensor(data))
    assert str(ember.tensor(data)) == str(torch.tensor(data))
    assert repr(ember.tensor(3.25)) == repr(torch.tensor(3.25))
    assert repr(ember.tensor([True, False])) == repr(torch.tensor([True, False]))
    assert repr(ember.tensor([1, 2, 3])) == repr(torch.tensor([1, 2, 3]))
    assert repr(ember.arange(5, dtype=ember.int32)) == repr(torch.arange(5, dtype=torch.int32))
    assert repr(ember.zeros(0, 3)) == repr(torch.zeros(0, 3))
    assert repr(ember.ones(2, dtype=ember.float64)) == repr(torch.ones(2, dtype=torch.float64))
    assert repr(ember.ones(2, dtype=ember.float16)) == repr(torch.ones(2, dtype=torch.float16))
    big = np.random.default_rng(3).standard_normal((40, 50, 60)).astype(np.float32)
    assert repr(ember.from_numpy(big)) == repr(torch.from_numpy(big))


@needs_torch
def test_real_tensor_autograd_suffixes_match_torch():
    ember = _ember_with_core()
    data = [[1.0, 2.0], [3.0, 4.5]]
    x, tx = ember.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    assert repr(x) == repr(tx)
    assert repr(x * 2) == repr(tx * 2)
    assert repr(x.sum()) == repr(tx.sum())
    assert repr(x.double()) == repr(tx.double())
    p = ember.nn.Parameter(ember.tensor(data))
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor(data)))

    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    class TSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g
    assert repr(Square.apply(x)) == repr(TSquare.apply(tx)).replace("TSquare", "Square")


@needs_torch
def test_real_tensor_follows_default_dtype():
    ember = _ember_with_core()
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for name in ("float32", "float64"):
            e = ember.ones(2, dtype=getattr(ember, name))
            t = torch.ones(2, dtype=getattr(torch, name))
            assert repr(e) == repr(t)
        assert repr(ember.zeros(0)) == repr(torch.zeros(0))
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


@needs_torch
def test_ember_exports_printoptions():
    ember = _ember_with_core()
    if not hasattr(ember, "set_printoptions"):
        pytest.skip("ember.set_printoptions is not exported yet")
    ember.set_printoptions(precision=2)
    torch.set_printoptions(precision=2)
    assert repr(ember.tensor([1.12345])) == repr(torch.tensor([1.12345])) == "tensor([1.12])"
