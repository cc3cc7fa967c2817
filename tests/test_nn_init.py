"""nn.init: each initialiser fills in place, returns its tensor, and draws from torch's distribution.

Distributions are checked by their exact bounds and by moments on large tensors (mean/std within a
few standard errors), so the tests hold for any seed.
"""
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import init


def arr(t):
    return t.detach().numpy().astype(np.float64)


def test_calculate_gain_matches_torch_values():
    assert init.calculate_gain("linear") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_calculate_gain_parity_with_torch():
    torch = pytest.importorskip("torch")
    for nl, p in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                  ("leaky_relu", 3), ("selu", None), ("conv_transpose2d", None)]:
        assert init.calculate_gain(nl, p) == torch.nn.init.calculate_gain(nl, p)


def test_fans():
    assert init._calculate_fan_in_and_fan_out(ember.empty(20, 10)) == (10, 20)
    assert init._calculate_fan_in_and_fan_out(ember.empty(32, 3, 5, 5)) == (75, 800)
    assert init._calculate_correct_fan(ember.empty(32, 3, 5, 5), "fan_out") == 800
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with fewer than 2"):
        init._calculate_fan_in_and_fan_out(ember.empty(5))
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(ember.empty(3, 3), mode="fan_avg")


def test_in_place_returns_same_tensor_no_grad_and_version():
    p = nn.Parameter(ember.zeros(50, 40))
    v = p._version
    out = init.uniform_(p, -1, 1)
    assert out is p and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p._version > v
    assert p.dtype == ember.float32


def test_uniform_bounds_and_moments():
    t = init.uniform_(ember.empty(400, 500), -2.0, 3.0)
    a = arr(t)
    assert a.min() >= -2.0 and a.max() <= 3.0
    assert a.mean() == pytest.approx(0.5, abs=0.02)
    assert a.std() == pytest.approx(5 / math.sqrt(12), rel=0.01)


def test_normal_moments():
    a = arr(init.normal_(ember.empty(400, 500), mean=1.5, std=0.3))
    assert a.mean() == pytest.approx(1.5, abs=0.003)
    assert a.std() == pytest.approx(0.3, rel=0.01)


def test_float64_tensor_drawn_in_float64():
    t = init.normal_(ember.empty(1000, dtype=ember.float64))
    assert t.dtype == ember.float64
    assert len(np.unique(t.numpy())) == 1000


def test_trunc_normal_bounds_and_moments():
    a = arr(init.trunc_normal_(ember.empty(500, 400), mean=0.0, std=1.0, a=-2.0, b=2.0))
    assert a.min() >= -2.0 and a.max() <= 2.0
    # truncated standard normal on [-2, 2]: variance 1 - 2*2*phi(2)/(Phi(2)-Phi(-2))
    phi = math.exp(-2) / math.sqrt(2 * math.pi)
    Z = math.erf(2 / math.sqrt(2))
    assert a.mean() == pytest.approx(0.0, abs=0.01)
    assert a.std() == pytest.approx(math.sqrt(1 - 4 * phi / Z), rel=0.01)
    b = arr(init.trunc_normal_(ember.empty(100000), mean=1.0, std=0.02, a=0.98, b=1.05))
    assert b.min() >= 0.98 and b.max() <= 1.05
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(ember.empty(10), mean=10.0, std=1.0, a=-2.0, b=2.0)


def test_constant_ones_zeros():
    t = ember.empty(3, 4)
    assert arr(init.constant_(t, 0.25)).tolist() == [[0.25] * 4] * 3
    assert arr(init.ones_(t)).sum() == 12
    assert arr(init.zeros_(t)).sum() == 0


def test_eye_and_dirac_match_torch():
    torch = pytest.importorskip("torch")
    assert arr(init.eye_(ember.empty(3, 5))).tolist() == torch.nn.init.eye_(torch.empty(3, 5)).tolist()
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(ember.empty(3))
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 6, 3, 3, 1), 1), ((2, 4, 5), 2)]:
        got = arr(init.dirac_(ember.empty(*shape), groups))
        want = torch.nn.init.dirac_(torch.empty(*shape), groups).numpy()
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        init.dirac_(ember.empty(3, 3))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(ember.empty(3, 3, 3), 2)


def test_xavier_uniform_exact_bound_and_std():
    t = ember.empty(300, 500)
    a = arr(init.xavier_uniform_(t, gain=2.0))
    bound = 2.0 * math.sqrt(6.0 / (300 + 500))
    assert a.min() >= -bound and a.max() <= bound and a.max() > 0.99 * bound
    assert a.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_xavier_normal_std():
    a = arr(init.xavier_normal_(ember.empty(300, 500)))
    assert a.std() == pytest.approx(math.sqrt(2.0 / 800), rel=0.01)
    assert a.mean() == pytest.approx(0.0, abs=0.001)


def test_kaiming_uniform_linear_default_bound():
    """nn.Linear's init: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    w = ember.empty(512, 784)
    a = arr(init.kaiming_uniform_(w, a=math.sqrt(5)))
    bound = 1 / math.sqrt(784)
    assert a.min() >= -bound and a.max() <= bound and a.max() > 0.99 * bound
    assert a.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_kaiming_modes_and_nonlinearities():
    t = ember.empty(200, 100, 3, 3)
    a = arr(init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"))
    bound = math.sqrt(2) * math.sqrt(3 / (200 * 9))
    assert a.min() >= -bound and a.max() <= bound and a.max() > 0.99 * bound
    b = arr(init.kaiming_normal_(ember.empty(400, 300), nonlinearity="relu"))
    assert b.std() == pytest.approx(math.sqrt(2 / 300), rel=0.01)
    c = arr(init.kaiming_normal_(ember.empty(400, 300), a=0.2, mode="fan_out"))
    assert c.std() == pytest.approx(math.sqrt(2 / (1 + 0.04)) / math.sqrt(400), rel=0.01)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ember.empty(0, 3))


def test_bounds_match_torch_formulas():
    """Same std for both frameworks on the same shapes (torch as the oracle)."""
    torch = pytest.importorskip("torch")
    shape = (256, 128, 3)
    for fn, kw in [("xavier_uniform_", {"gain": 1.5}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
                   ("kaiming_uniform_", {"nonlinearity": "relu", "mode": "fan_out"})]:
        e = arr(getattr(init, fn)(ember.empty(*shape), **kw))
        t = getattr(torch.nn.init, fn)(torch.empty(*shape), **kw).numpy()
        assert e.std() == pytest.approx(t.std(), rel=0.02)


def test_orthogonal():
    w = arr(init.orthogonal_(ember.empty(6, 10), gain=2.0))
    np.testing.assert_allclose(w @ w.T, 4.0 * np.eye(6), atol=1e-5)
    w = arr(init.orthogonal_(ember.empty(10, 6)))
    np.testing.assert_allclose(w.T @ w, np.eye(6), atol=1e-5)
    c = init.orthogonal_(ember.empty(4, 2, 3))
    m = arr(c).reshape(4, 6)
    np.testing.assert_allclose(m @ m.T, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(ember.empty(3))


def test_sparse():
    w = arr(init.sparse_(ember.empty(10, 500), sparsity=0.3, std=0.5))
    zeros_per_col = (w == 0).sum(0)
    assert (zeros_per_col == 3).all()
    nz = w[w != 0]
    assert nz.std() == pytest.approx(0.5, rel=0.05)


def test_generator_reproducible():
    g1 = ember.Generator().manual_seed(7)
    g2 = ember.Generator().manual_seed(7)
    a = arr(init.normal_(ember.empty(5, 5), generator=g1))
    b = arr(init.normal_(ember.empty(5, 5), generator=g2))
    np.testing.assert_array_equal(a, b)
    ember.manual_seed(3)
    c = arr(init.kaiming_uniform_(ember.empty(4, 4)))
    ember.manual_seed(3)
    d = arr(init.kaiming_uniform_(ember.empty(4, 4)))
    np.testing.assert_array_equal(c, d)


def test_init_on_parameter_inside_module_is_untracked():
    p = nn.Parameter(ember.ones(3, 3))
    init.xavier_uniform_(p)
    loss = (p * 2).sum()
    loss.backward()
    assert p.grad.tolist() == [[2.0] * 3] * 3


def test_deprecated_alias_warns():
    with pytest.warns(FutureWarning, match="nn.init.normal` is now deprecated in favor of `nn.init.normal_`"):
        init.normal(ember.empty(2))


def test_integer_tensor_errors_match_torch():
    torch = pytest.importorskip("torch")
    for fn in ["uniform_", "normal_", "xavier_uniform_", "kaiming_normal_", "trunc_normal_", "orthogonal_"]:
        with pytest.raises(NotImplementedError) as ee:
            getattr(init, fn)(ember.zeros(3, 3, dtype=ember.int64))
        with pytest.raises(NotImplementedError) as te:
            getattr(torch.nn.init, fn)(torch.zeros(3, 3, dtype=torch.long))
        assert str(ee.value) == str(te.value)
