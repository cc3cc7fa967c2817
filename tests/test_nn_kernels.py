"""The compiled row kernels (ember/ops/nn_kernels.py) against the NumPy path they replace, and against torch.

Every fused primitive that has a compiled path runs twice on the same large float32 input: once as shipped
(compiled, when Numba is installed) and once with ``EMBER_JIT=0`` (the NumPy reference). Values and
gradients must agree to float32 rounding; special values (NaN, +-inf, fully masked rows) must give what
torch gives.
"""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import nn as ops_nn

numba = pytest.importorskip("numba")

ROWS, COLS = 96, 512          # 49,152 elements: above the compiled paths' threshold
RNG = np.random.default_rng(0)


def _both(monkeypatch, fn):
    """fn() with the compiled kernels, then with the NumPy path; returns both results."""
    monkeypatch.delenv("EMBER_JIT", raising=False)
    fast = fn()
    monkeypatch.setenv("EMBER_JIT", "0")
    ref = fn()
    monkeypatch.delenv("EMBER_JIT")
    return fast, ref


def _fwd_bwd(f, x, *others, g=None):
    """(output, grad of x, grads of others) as NumPy arrays."""
    xt = ember.tensor(x, requires_grad=True)
    ot = [ember.tensor(o, requires_grad=True) for o in others]
    y = f(xt, *ot)
    if y.dim() == 0:
        y.backward()
    else:
        y.backward(ember.tensor(g if g is not None else np.ones(y.shape, np.float32)))
    return [y.detach().numpy(), xt.grad.numpy()] + [o.grad.numpy() for o in ot]


def _close(fast, ref, rtol=2e-5, atol=2e-6):
    for a, b in zip(fast, ref):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_the_compiled_path_is_used():
    x = np.zeros((ROWS, COLS), np.float32)
    assert ops_nn._compiled(x) is not None
    assert ops_nn._compiled(x.astype(np.float64)) is None          # float64 stays on NumPy (gradcheck)
    assert ops_nn._compiled(x[:4, :4]) is None                      # small: not worth a call


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_softmax_and_log_softmax(monkeypatch, scale):
    x = (RNG.standard_normal((ROWS, COLS)) * scale).astype(np.float32)
    g = RNG.standard_normal((ROWS, COLS)).astype(np.float32)
    for f in (lambda t: F.softmax(t, -1), lambda t: F.log_softmax(t, -1), lambda t: t.softmax(-1) * 2):
        fast, ref = _both(monkeypatch, lambda: _fwd_bwd(f, x, g=g))
        _close(fast, ref)


def test_softmax_over_3d_rows_and_bfloat16_inputs(monkeypatch):
    x = RNG.standard_normal((4, ROWS, 128)).astype(np.float32)
    fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda t: F.softmax(t, dim=2), x))
    _close(fast, ref)
    xb = ember.tensor(x).to(ember.bfloat16)
    a, b = _both(monkeypatch, lambda: F.log_softmax(xb, -1).float().numpy())
    np.testing.assert_array_equal(a, b)      # rounded to bfloat16: the same bits


def test_softmax_special_values_match_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((ROWS, COLS)).astype(np.float32)
    x[0, :] = -np.inf                 # fully masked row: NaN, as in torch
    x[1, 3] = np.nan                  # NaN anywhere: the row is NaN
    x[2, 5] = np.inf                  # +inf: NaN row (inf - inf)
    x[3, ::2] = -np.inf               # half masked: exact zeros there
    x[4, :] = 1e30                    # huge but equal: uniform
    x[5, 7] = 100.0                   # one dominant logit
    for name in ("softmax", "log_softmax"):
        ours = getattr(F, name)(ember.tensor(x), -1).numpy()
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x), -1).numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        ok = ~np.isnan(theirs)
        np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-5, atol=1e-6)
    sm = F.softmax(ember.tensor(x), -1).numpy()
    assert (sm[3, ::2] == 0).all()


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 3},
                                {"label_smoothing": 0.1}, {"weight": True}])
def test_cross_entropy_index_targets(monkeypatch, kw):
    x = (RNG.standard_normal((ROWS, COLS)) * 4).astype(np.float32)
    t = RNG.integers(0, COLS, ROWS)
    t[:10] = 3
    kw = dict(kw)
    if kw.pop("weight", None):
        kw["weight"] = ember.tensor(RNG.random(COLS).astype(np.float32) + 0.5)

    def f(a):
        out = F.cross_entropy(a, ember.tensor(t), **kw)
        return out.sum() * 1.5 if out.dim() else out
    fast, ref = _both(monkeypatch, lambda: _fwd_bwd(f, x))
    _close(fast, ref)


def test_cross_entropy_probability_targets_and_target_grad(monkeypatch):
    x = RNG.standard_normal((ROWS, COLS)).astype(np.float32)
    q = RNG.random((ROWS, COLS)).astype(np.float32)
    q /= q.sum(1, keepdims=True)
    fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.05), x, q))
    _close(fast, ref)


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    x = (RNG.standard_normal((ROWS, COLS)) * 3).astype(np.float32)
    t = RNG.integers(0, COLS, ROWS)
    ours = _fwd_bwd(lambda a: F.cross_entropy(a, ember.tensor(t)), x)
    tx = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tx, torch.tensor(t))
    loss.backward()
    np.testing.assert_allclose(ours[0], loss.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours[1], tx.grad.numpy(), rtol=1e-5, atol=1e-9)


def _load_kernels():
    """The small-batch routes take the kernels only once something big has imported them."""
    from ember._jit import nn_kernels
    assert nn_kernels(1 << 20) is not None


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 2},
                                {"ignore_index": -1}])
def test_cross_entropy_small_batch_route_matches_numpy_and_torch(monkeypatch, kw):
    torch = pytest.importorskip("torch")
    _load_kernels()
    x = (RNG.standard_normal((64, 10)) * 3).astype(np.float32)
    t = RNG.integers(0, 10, 64)
    t[:5] = 2
    t[5:8] = -1
    if kw.get("ignore_index") != -1:
        t[5:8] = 7
    out = F.cross_entropy(ember.tensor(x, requires_grad=True), ember.tensor(t), **kw)
    assert out.grad_fn.rows is not None                     # the compiled route ran

    fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda a: F.cross_entropy(a, ember.tensor(t), **kw).sum() * 1.5, x))
    _close(fast, ref)
    tx = torch.tensor(x, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(tx, torch.tensor(t), **kw).sum() * 1.5
    theirs.backward()
    np.testing.assert_allclose(fast[0], theirs.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(fast[1], tx.grad.numpy(), rtol=1e-5, atol=1e-8)


def test_cross_entropy_small_batch_route_edges_as_torch():
    torch = pytest.importorskip("torch")
    _load_kernels()
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    x[1, 2] = np.inf                                   # an ignored row's inf still makes its gradient NaN
    t = np.array([1, 1, 1])
    a = ember.tensor(x, requires_grad=True)
    loss = F.cross_entropy(a, ember.tensor(t), ignore_index=1)   # every target ignored: nan loss, zero grad
    loss.backward()
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(t), ignore_index=1).backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(a.grad.numpy(), tx.grad.numpy())
    assert not np.isnan(a.grad.numpy()[[0, 2]]).any()
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(ember.tensor(x), ember.tensor([0, 4, 1]))
    # double backward takes the composed route from the same forward
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    a, ta = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = ember.autograd.grad(F.cross_entropy(a, ember.tensor([0, 1, 2, 0, 1])), a, create_graph=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.cross_entropy(ta, torch.tensor([0, 1, 2, 0, 1])), ta,
                                create_graph=True)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(monkeypatch, affine):
    x = (RNG.standard_normal((ROWS, COLS)) * 3 + 5).astype(np.float32)
    g = RNG.standard_normal((ROWS, COLS)).astype(np.float32)
    w = (RNG.standard_normal(COLS)).astype(np.float32)
    b = (RNG.standard_normal(COLS)).astype(np.float32)
    if affine:
        fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda a, w_, b_: F.layer_norm(a, (COLS,), w_, b_), x, w, b,
                                                        g=g))
    else:
        fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda a: F.layer_norm(a, (COLS,)), x, g=g))
    _close(fast, ref, rtol=1e-4, atol=2e-5)     # dw, db are sums over 96 rows


def test_layer_norm_module_matches_torch_over_two_dims():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((8, 48, 16, 16)).astype(np.float32)
    ln, tln = ember.nn.LayerNorm((16, 16)), torch.nn.LayerNorm((16, 16))
    with ember.no_grad():
        ln.weight.copy_(ember.tensor(RNG.standard_normal((16, 16)).astype(np.float32)))
    with torch.no_grad():
        tln.weight.copy_(torch.tensor(ln.weight.detach().numpy()))
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ln(xe) ** 2).sum().backward()
    (tln(xt) ** 2).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ln.weight.grad.numpy(), tln.weight.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ln.bias.grad.numpy(), tln.bias.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(monkeypatch, approximate):
    x = (RNG.standard_normal((ROWS, COLS)) * 3).astype(np.float32)
    x[0, :8] = [0.0, -0.0, 1e-30, -1e-30, 50.0, -50.0, 1e30, -1e30]
    g = RNG.standard_normal((ROWS, COLS)).astype(np.float32)
    fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda a: F.gelu(a, approximate=approximate), x, g=g))
    # (the NumPy tanh path's 1 - t^2 cancels near x = -3: there it is the less accurate one, by ~4e-6)
    _close(fast, ref, rtol=1e-5, atol=1e-6 if approximate == "none" else 5e-6)


def test_gelu_special_values_match_torch():
    torch = pytest.importorskip("torch")
    x = np.full((ROWS, COLS), 0.5, np.float32)
    x[0, :6] = [np.nan, np.inf, -np.inf, 0.0, 88.0, -88.0]
    for approximate in ("none", "tanh"):
        ours = F.gelu(ember.tensor(x), approximate=approximate).numpy()
        theirs = torch.nn.functional.gelu(torch.tensor(x), approximate=approximate).numpy()
        if approximate == "none":   # torch's erf GELU gives NaN at +inf (its tanh form and Ember give inf)
            assert np.isnan(theirs[0, 1]) and ours[0, 1] == np.inf
            ours[0, 1] = theirs[0, 1]
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)   # NaN in the same places


def test_the_exp_kernel_against_float64():
    from ember.ops import nn_kernels as K
    x = np.linspace(-110, 90, 2_000_001, dtype=np.float32)
    x[:3] = [np.nan, np.inf, -np.inf]
    m, logs = np.empty(x.size, np.float32), np.empty(x.size, np.float32)
    rows = np.stack([x, np.zeros_like(x)], 1)     # logsumexp of [v, 0] exercises exp(v - max) and exp(0)
    K.logsumexp_rows(rows, m, logs, 0, x.size)
    lse = m + logs
    with np.errstate(all="ignore"):
        want = np.logaddexp(x.astype(np.float64), 0.0)
    ok = np.isfinite(want)
    np.testing.assert_allclose(lse[ok], want[ok], rtol=4e-7, atol=4e-7)
    assert np.isnan(lse[0]) and np.isnan(lse[1]) and lse[2] == 0.0    # inf - inf: NaN, as log_softmax gives


# --- ReLU and 2-d max pooling (compiled for big float32 inputs) -------------------------------------------
def test_relu_forward_and_backward(monkeypatch):
    x = RNG.standard_normal((ROWS, COLS)).astype(np.float32)
    x[0, :4] = [0.0, -0.0, np.nan, np.inf]
    g = RNG.standard_normal((ROWS, COLS)).astype(np.float32)
    fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda a: F.relu(a), x, g=g))
    for a, b in zip(fast, ref):
        np.testing.assert_array_equal(a, b)
    assert not np.signbit(fast[1][x <= 0]).any()          # zeros, not -0.0, where the unit is off
    torch = pytest.importorskip("torch")
    theirs = torch.relu(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(fast[0], theirs)
    assert np.signbit(fast[0][0, 1]) == np.signbit(theirs[0, 1])   # torch's x < 0 ? 0 : x keeps -0.0


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(2, 3), stride=(1, 2)),
                                dict(kernel_size=3, stride=2, dilation=2, padding=1),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool2d_matches_torch_and_the_numpy_path(monkeypatch, kw):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((8, 16, 33, 30)).astype(np.float32)
    x[0, 0, :4, :4] = 1.0                                    # ties: the first maximum wins
    x[0, 1, 5, 5] = np.nan
    x[0, 1, 6, 6] = np.nan                                   # NaNs: torch keeps the last one
    x[1, 2] = -np.inf
    g = RNG.standard_normal(F.max_pool2d(ember.tensor(x), **kw).shape).astype(np.float32)

    def run():
        xt = ember.tensor(x, requires_grad=True)
        y, idx = F.max_pool2d(xt, return_indices=True, **kw)
        y.backward(ember.tensor(g))
        return y.detach().numpy(), idx.numpy(), xt.grad.numpy()
    fast, ref = _both(monkeypatch, run)
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kw)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(fast[0], ty.detach().numpy())
    np.testing.assert_array_equal(fast[1], tidx.numpy())
    np.testing.assert_allclose(fast[2], tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    ok = ~np.isnan(ref[0])                                   # the NumPy path agrees away from the NaN windows
    np.testing.assert_array_equal(fast[0][ok], ref[0][ok])


def test_max_pool2x2_every_tie_nan_and_inf_window_as_torch():
    """The compiled 2x2 pool decides column pairs first, then columns; torch scans each window in order.
    Every window over {0, 1, 2, nan, -inf} (625 of them, side by side, 16 planes) must give torch's max,
    indices and gradient."""
    torch = pytest.importorskip("torch")
    import itertools
    combos = np.array(list(itertools.product([0.0, 1.0, 2.0, np.nan, -np.inf], repeat=4)), np.float32)
    win = combos.reshape(-1, 2, 2).transpose(1, 0, 2).reshape(2, -1)          # (2, 1250): windows in a row
    x = np.broadcast_to(win, (16, 1, 2, win.shape[1])).copy()
    assert x.size >= 32768                                                     # the compiled path's size
    xt = ember.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(xt, 2, return_indices=True)
    y.backward(ember.ones_like(y))
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    ty.backward(torch.ones_like(ty))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(xt.grad.numpy(), tx.grad.numpy())


def test_max_pool_padding_bound_is_torchs():
    torch = pytest.importorskip("torch")
    for nd, shape in ((1, (1, 2, 10)), (2, (1, 1, 10, 10)), (3, (1, 1, 10, 10, 10))):
        name = f"max_pool{nd}d"
        with pytest.raises(RuntimeError) as ours:
            getattr(F, name)(ember.zeros(*shape), 3, 2, padding=2, dilation=2)
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch.nn.functional, name)(torch.zeros(*shape), 3, 2, padding=2, dilation=2)
        assert str(ours.value) == str(theirs.value)


def test_max_pool2d_double_backward_and_returned_indices_are_a_copy():
    x = ember.tensor(RNG.standard_normal((8, 16, 32, 32)).astype(np.float32), requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    idx.zero_()                                              # the caller's indices are theirs to change
    (gx,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    assert gx.sum().item() == y.numel()
    (gx * x).sum().backward()                                # d/dx sum(gx * x) = gx (gx is piecewise constant)
    np.testing.assert_array_equal(x.grad.numpy(), gx.detach().numpy())


# --- Winograd F(2x2, 3x3) convolutions (ops/winograd.py) ----------------------------------------------------
@pytest.mark.parametrize("shape,pad", [((4, 32, 19, 17), 1), ((8, 48, 16, 16), 0), ((8, 32, 13, 14), 2)])
def test_winograd_conv_matches_im2col_and_torch(monkeypatch, shape, pad):
    torch = pytest.importorskip("torch")
    from ember.ops import winograd
    x = RNG.standard_normal(shape).astype(np.float32)
    w = (RNG.standard_normal((40, shape[1], 3, 3)) * 0.1).astype(np.float32)
    pads = [(pad, pad), (pad, pad)]
    assert winograd.usable(x, w.shape, (1, 1), (1, 1), 1, pads)
    g = RNG.standard_normal(F.conv2d(ember.tensor(x), ember.tensor(w), padding=pad).shape).astype(np.float32)
    fast, ref = _both(monkeypatch, lambda: _fwd_bwd(lambda a, b: F.conv2d(a, b, padding=pad), x, w, g=g))
    # Winograd vs im2col vs torch: float32 rounding of different sums, so errors scale with the largest term
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(tx, tw, padding=pad).backward(torch.tensor(g))
    for ours, theirs in zip(fast, [None, tx.grad.numpy(), tw.grad.numpy()]):
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())


def test_winograd_compiled_transforms_equal_numpy_ones(monkeypatch):
    from ember.ops import winograd
    x = RNG.standard_normal((4, 32, 21, 19)).astype(np.float32)
    w = RNG.standard_normal((32, 32, 3, 3)).astype(np.float32)
    gy = RNG.standard_normal((4, 32, 21, 19)).astype(np.float32)
    pads = [(1, 1), (1, 1)]
    fast, ref = _both(monkeypatch, lambda: (winograd.conv3x3(x, w, pads), winograd.conv3x3_weight_grad(x, gy, pads)))
    np.testing.assert_array_equal(fast[0], ref[0])
    np.testing.assert_array_equal(fast[1], ref[1])


def test_winograd_is_exact_in_float64():
    from ember.ops import winograd, conv
    x = RNG.standard_normal((2, 5, 7, 6))
    w = RNG.standard_normal((3, 5, 3, 3))
    gy = RNG.standard_normal((2, 3, 7, 6))
    pads = [(1, 1), (1, 1)]
    y, _ = conv.conv_forward(x, w, (1, 1), pads, (1, 1), 1)       # (float64: the im2col path)
    np.testing.assert_allclose(winograd.conv3x3(x, w, pads), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(winograd.conv3x3_weight_grad(x, gy, pads),
                               conv.conv_weight_grad(x, gy, w.shape, (1, 1), pads, (1, 1), 1), rtol=1e-12, atol=1e-12)


def test_winograd_under_conv_transpose_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((8, 40, 14, 14)).astype(np.float32)
    w = (RNG.standard_normal((40, 32, 3, 3)) * 0.1).astype(np.float32)   # (in, out, kh, kw)
    ours = _fwd_bwd(lambda a, b: F.conv_transpose2d(a, b, padding=1), x, w)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.conv_transpose2d(tx, tw, padding=1)
    ty.backward(torch.ones_like(ty))
    for a, b in zip(ours, (ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy())):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_the_exp_kernel_at_its_edges():
    from ember.ops import nn_kernels as K
    x = np.array([[-np.inf, -1e30, -104.0, -103.9, -87.3, 0.0, 1.0, 88.7, 88.7229, 89.0, 1e30, np.inf, np.nan]],
                 np.float32)
    out = np.empty_like(x)
    zero = np.zeros(1, np.float32)
    K.scaled_softmax(x, zero, zero, np.ones(1, np.float32), out, 0, 1)     # exp((x - 0) - 0) * 1
    with np.errstate(all="ignore"):
        want = np.exp(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(out[ok], want[ok], rtol=2e-7, atol=0)     # 0 and inf exactly, 1 ulp elsewhere


@pytest.mark.parametrize("padding_idx, scale", [(None, False), (3, False), (3, True)])
def test_embedding_backward_matches_numpy_path_and_torch_bits(monkeypatch, padding_idx, scale):
    torch = pytest.importorskip("torch")
    idx = RNG.integers(0, 50, (35, 20))                        # 700 rows into 50: many repeats per row
    idx[0, :5] = 3
    g = RNG.standard_normal((35, 20, 256)).astype(np.float32)

    def run():
        w = ember.zeros(50, 256, requires_grad=True)
        F.embedding(ember.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=scale).backward(ember.tensor(g))
        return w.grad.numpy()
    fast, ref = _both(monkeypatch, run)
    np.testing.assert_allclose(fast, ref, rtol=2e-6, atol=2e-6)
    tw = torch.zeros(50, 256, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=padding_idx,
                                  scale_grad_by_freq=scale).backward(torch.tensor(g))
    if scale:   # torch scales each row before summing, Ember the sum: rounding apart
        np.testing.assert_allclose(fast, tw.grad.numpy(), rtol=1e-5, atol=1e-6)
    else:       # rows summed in torch's order: the same bits
        np.testing.assert_array_equal(fast, tw.grad.numpy())


def test_winograd_wide_layers_take_the_transposed_gemm(monkeypatch):
    from ember.ops import winograd
    x = RNG.standard_normal((8, 128, 9, 8)).astype(np.float32)       # 128 channels: M^T = V^T U^T, odd sizes
    w = (RNG.standard_normal((128, 128, 3, 3)) * 0.05).astype(np.float32)
    pads = [(1, 1), (1, 1)]
    fast, ref = _both(monkeypatch, lambda: winograd.conv3x3(x, w, pads))
    np.testing.assert_array_equal(fast, ref)
    from ember.ops import conv
    y, _ = conv.conv_forward(x.astype(np.float64), w.astype(np.float64), (1, 1), pads, (1, 1), 1)
    np.testing.assert_allclose(fast, y, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(monkeypatch, affine):
    torch = pytest.importorskip("torch")
    x = (RNG.standard_normal((16, 24, 12, 11)) * 2 + 3).astype(np.float32)
    g = RNG.standard_normal(x.shape).astype(np.float32)

    def run():
        bn = ember.nn.BatchNorm2d(24, affine=affine)
        if affine:
            with ember.no_grad():
                bn.weight.copy_(ember.tensor(np.linspace(0.5, 1.5, 24, dtype=np.float32)))
        xt = ember.tensor(x, requires_grad=True)
        y = bn(xt)
        y.backward(ember.tensor(g))
        out = [y.detach().numpy(), xt.grad.numpy(), bn.running_mean.numpy(), bn.running_var.numpy()]
        return out + ([bn.weight.grad.numpy(), bn.bias.grad.numpy()] if affine else [])
    fast, ref = _both(monkeypatch, run)
    _close(fast, ref, rtol=1e-4, atol=1e-4)
    tbn = torch.nn.BatchNorm2d(24, affine=affine)
    if affine:
        with torch.no_grad():
            tbn.weight.copy_(torch.linspace(0.5, 1.5, 24))
    tx = torch.tensor(x, requires_grad=True)
    ty = tbn(tx)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(fast[0], ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast[1], tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast[2], tbn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast[3], tbn.running_var.numpy(), rtol=1e-5, atol=1e-6)


def test_sum_around_a_middle_block_matches_numpy_and_torch(monkeypatch):
    """A sum over every axis but a middle block (a conv bias gradient) runs compiled per channel."""
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((16, 12, 20, 18)).astype(np.float32)
    x[3, 4, 5, 6] = np.inf
    x[1, 7, 0, 0] = np.nan
    for dims, keepdim in (((0, 2, 3), False), ((0, 2, 3), True), ((0, 3), False), ((0,), True)):
        fast, ref = _both(monkeypatch, lambda: ember.tensor(x).sum(dim=dims, keepdim=keepdim).numpy())
        theirs = torch.tensor(x).sum(dim=dims, keepdim=keepdim).numpy()
        assert fast.dtype == np.float32 and fast.shape == ref.shape == theirs.shape
        np.testing.assert_allclose(fast, theirs, rtol=1e-5, atol=1e-5 * np.abs(x[np.isfinite(x)]).sum() ** 0.5)
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(fast), np.isinf(ref))
    from ember.ops import reduce
    assert reduce._sum_around(x, (0, 2, 3)) is not None
    assert reduce._sum_around(x, (0, 1)) is None                    # the kept block is last: NumPy's loop is fine
    assert reduce._sum_around(x.transpose(1, 0, 2, 3), (1, 2, 3)) is None   # not contiguous
