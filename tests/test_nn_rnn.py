"""RNN, LSTM, GRU and their cells: parameter names/shapes/init, repr, outputs and all gradients vs PyTorch."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def close(e, t, rel=1e-5):
    a = e.detach().numpy()
    b = t.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(float(np.abs(b).max()), 1e-3)
    err = float(np.abs(a.astype(np.float64) - b).max())
    assert err <= rel * scale, f"max abs err {err} > {rel} * {scale}"


def copy_params(emod, tmod):
    en, tn = dict(emod.named_parameters()), dict(tmod.named_parameters())
    assert list(en) == list(tn)
    for k, p in en.items():
        p._data[...] = tn[k].detach().numpy()
        p._bump()


def make(kind, *args, **kw):
    torch.manual_seed(0)
    t = getattr(torch.nn, kind)(*args, **kw)
    e = getattr(nn, kind)(*args, **kw)
    copy_params(e, t)
    return e, t


def flat_outputs(out):
    if isinstance(out, tuple):
        res = []
        for o in out:
            res.extend(flat_outputs(o))
        return res
    return [out]


def run_both(e, t, x, hx=None, seed=7):
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    args_e, args_t = [xe], [xt]
    hxe = hxt = None
    if hx is not None:
        if isinstance(hx, tuple):
            hxe = tuple(ember.tensor(h, requires_grad=True) for h in hx)
            hxt = tuple(torch.tensor(h, requires_grad=True) for h in hx)
        else:
            hxe, hxt = ember.tensor(hx, requires_grad=True), torch.tensor(hx, requires_grad=True)
        args_e.append(hxe)
        args_t.append(hxt)
    oe, ot = flat_outputs(e(*args_e)), flat_outputs(t(*args_t))
    assert len(oe) == len(ot)
    loss_e = loss_t = 0
    for i, (a, b) in enumerate(zip(oe, ot)):
        close(a, b)
        g = rand(*b.shape, seed=seed + i)
        loss_e = loss_e + (a * ember.tensor(g)).sum()
        loss_t = loss_t + (b * torch.tensor(g)).sum()
    loss_e.backward()
    loss_t.backward()
    close(xe.grad, xt.grad)
    if hx is not None:
        for a, b in zip(hxe if isinstance(hxe, tuple) else (hxe,), hxt if isinstance(hxt, tuple) else (hxt,)):
            close(a.grad, b.grad)
    tn = dict(t.named_parameters())
    for n, p in e.named_parameters():
        close(p.grad, tn[n].grad)


CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(bias=False, batch_first=True),
]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_recurrent_matches_torch(kind, cfg):
    e, t = make(kind, 4, 5, **cfg)
    x = rand(3, 6, 4) if not cfg.get("batch_first") else rand(6, 3, 4)
    run_both(e, t, x)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_with_initial_state(kind):
    e, t = make(kind, 3, 4, num_layers=2, bidirectional=True)
    h0 = rand(4, 2, 4, seed=3)
    hx = (h0, rand(4, 2, 4, seed=4)) if kind == "LSTM" else h0
    run_both(e, t, rand(5, 2, 3), hx)


def test_rnn_relu_and_unbatched():
    e, t = make("RNN", 3, 4, nonlinearity="relu", num_layers=2)
    run_both(e, t, rand(5, 2, 3))
    run_both(e, t, rand(5, 3), rand(2, 4, seed=1))
    e2, t2 = make("LSTM", 3, 4, batch_first=True)
    run_both(e2, t2, rand(6, 3))


def test_lstm_proj_size():
    e, t = make("LSTM", 3, 6, proj_size=2, num_layers=2)
    assert [tuple(p.shape) for p in e.parameters()] == [tuple(p.shape) for p in t.parameters()]
    run_both(e, t, rand(4, 2, 3))


def test_dropout_between_layers_only_in_training():
    e, t = make("GRU", 3, 4, num_layers=2, dropout=0.5)
    e.eval()
    t.eval()
    run_both(e, t, rand(4, 2, 3))
    e.train()
    ember.manual_seed(0)
    out1, _ = e(ember.tensor(rand(4, 2, 3)))
    out2, _ = e(ember.tensor(rand(4, 2, 3)))
    assert not np.allclose(out1.detach().numpy(), out2.detach().numpy())   # dropout is random in train mode


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_train_mode_dropout_between_layers_matches_torch(kind):
    # torch draws one dropout mask for each whole layer output; so does Ember's whole-sequence path
    e, t = make(kind, 8, 16, num_layers=3, dropout=0.3)
    x = rand(5, 4, 8)
    torch.manual_seed(1)
    ember.manual_seed(1)
    run_both(e, t, x)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind):
    e, t = make(kind, 3, 5)
    h = rand(2, 5, seed=1)
    hx = (h, rand(2, 5, seed=2)) if kind == "LSTMCell" else h
    run_both(e, t, rand(2, 3), hx)
    run_both(e, t, rand(2, 3))
    run_both(e, t, rand(3))                 # unbatched
    assert repr(e) == repr(t)


def test_rnn_cell_relu_repr():
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu", bias=False)) == \
        repr(torch.nn.RNNCell(3, 4, nonlinearity="relu", bias=False))


def test_parameter_names_shapes_and_repr():
    for kind, kw in [("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", dict(batch_first=True, bias=False)),
                     ("RNN", dict(nonlinearity="relu", dropout=0.2, num_layers=3))]:
        e = getattr(nn, kind)(3, 4, **kw)
        t = getattr(torch.nn, kind)(3, 4, **kw)
        assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
               [(n, tuple(p.shape)) for n, p in t.named_parameters()]
        assert repr(e) == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
    names = [n for n, _ in nn.LSTM(3, 4, bidirectional=True).named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"]


def test_default_init_is_uniform_in_bound():
    ember.manual_seed(0)
    m = nn.LSTM(10, 64, num_layers=2)
    bound = 1 / math.sqrt(64)
    for p in m.parameters():
        a = p.detach().numpy()
        assert a.dtype == np.float32
        assert np.abs(a).max() <= bound
    allv = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert abs(allv.std() - bound / math.sqrt(3)) < 0.02 * bound


def test_errors():
    m = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"):
        m(ember.randn(2, 1, 5))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D instead"):
        m(ember.randn(2, 1, 3, 1))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 1, 4\), got \[2, 1, 4\]"):
        nn.GRU(3, 4)(ember.randn(2, 1, 3), ember.zeros(2, 1, 4))
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.RNN(3, 4, dropout=2)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_sequence_matches_torch(kind, batch_first):
    from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    e, t = make(kind, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    lengths = [3, 5, 2, 5]
    x = rand(4, 5, 3) if batch_first else rand(5, 4, 3)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    h0 = rand(4, 4, 4, seed=2)
    hx = (h0, rand(4, 4, 4, seed=3)) if kind == "LSTM" else h0
    hxe = tuple(ember.tensor(h) for h in hx) if kind == "LSTM" else ember.tensor(hx)
    hxt = tuple(torch.tensor(h) for h in hx) if kind == "LSTM" else torch.tensor(hx)
    pe = pack_padded_sequence(xe, lengths, batch_first=batch_first, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=False)
    oe, he = e(pe, hxe)
    ot, ht = t(pt, hxt)
    close(oe.data, ot.data)
    np.testing.assert_array_equal(oe.batch_sizes.numpy(), ot.batch_sizes.numpy())
    for a, b in zip(flat_outputs(he), flat_outputs(ht)):
        close(a, b)
    pad_e, len_e = pad_packed_sequence(oe, batch_first=batch_first)
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=batch_first)
    close(pad_e, pad_t)
    g = rand(*pad_t.shape, seed=9)
    loss_e = (pad_e * ember.tensor(g)).sum()
    loss_t = (pad_t * torch.tensor(g)).sum()
    for a, b in zip(flat_outputs(he), flat_outputs(ht)):
        loss_e = loss_e + a.sum()
        loss_t = loss_t + b.sum()
    loss_e.backward()
    loss_t.backward()
    close(xe.grad, xt.grad)
    tn = dict(t.named_parameters())
    for n, p in e.named_parameters():
        close(p.grad, tn[n].grad)


# ---- the fused sequence Functions (ember/ops/rnn.py): gradcheck, double backward, guard -----------------
import ember.ops.rnn as _R  # noqa: E402


def _seq_inputs(gates, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    T, N, H = 4, 3, 2

    def t(*shape):
        return ember.tensor(rng.standard_normal(shape) * 0.5, dtype=ember.float64, requires_grad=True)
    return t(T, N, gates * H), t(N, H), t(N, H), t(gates * H, H), (t(gates * H) if bias else None)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_lstm_sequence(reverse):
    xw, h0, c0, w, _ = _seq_inputs(4)
    f = lambda xw, h0, c0, w: _R.LSTMSequence.apply(xw, h0, c0, w, reverse)  # noqa: E731
    assert ember.autograd.gradcheck(f, (xw, h0, c0, w))
    assert ember.autograd.gradgradcheck(f, (xw, h0, c0, w))


@pytest.mark.parametrize("reverse, bias", [(False, True), (True, True), (False, False)])
def test_gradcheck_gru_sequence(reverse, bias):
    xw, h0, _, w, b = _seq_inputs(3, bias)
    if bias:
        f = lambda xw, h0, w, b: _R.GRUSequence.apply(xw, h0, w, b, reverse)  # noqa: E731
        args = (xw, h0, w, b)
    else:
        f = lambda xw, h0, w: _R.GRUSequence.apply(xw, h0, w, None, reverse)  # noqa: E731
        args = (xw, h0, w)
    assert ember.autograd.gradcheck(f, args)
    assert ember.autograd.gradgradcheck(f, args)


def test_every_fused_rnn_function_has_a_gradcheck():
    from ember.autograd import Function
    names = {n for n, v in vars(_R).items() if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    assert names == {"LSTMSequence", "GRUSequence"}


# --- the compiled LSTM/GRU steps (ember/ops/rnn_kernels.py) against the NumPy path ------------------
def _recurrent_run(kind, x, hx, bidirectional, bias):
    """Outputs and every gradient of a 2-layer LSTM or GRU, as NumPy arrays (bidirectional ones take
    batch-first input: the layers then see non-contiguous views)."""
    ember.manual_seed(0)
    m = getattr(nn, kind)(x.shape[-1], 64, num_layers=2, bidirectional=bidirectional, bias=bias,
                          batch_first=bidirectional)
    if bidirectional:
        x = np.ascontiguousarray(x.transpose(1, 0, 2))
    xe = ember.tensor(x, requires_grad=True)
    hs = [ember.tensor(h, requires_grad=True) for h in hx]
    y, state = m(xe, tuple(hs) if kind == "LSTM" else hs[0])
    loss = (y * ember.tensor(rand(*y.shape, seed=3))).sum()
    for i, s in enumerate(state if kind == "LSTM" else (state,)):
        loss = loss + (s * s).sum() * (i + 1)
    loss.backward()
    return ([y.detach().numpy(), xe.grad.numpy()] + [h.grad.numpy() for h in hs]
            + [p.grad.numpy() for p in m.parameters()])


@pytest.mark.parametrize("kind, bidirectional, bias", [("LSTM", False, True), ("LSTM", True, False),
                                                       ("GRU", False, True), ("GRU", True, False)])
def test_compiled_steps_match_the_numpy_path(monkeypatch, kind, bidirectional, bias):
    pytest.importorskip("numba")
    from ember import _jit
    T, N, I, D = 12, 24, 32, 2 if bidirectional else 1
    x = rand(T, N, I, seed=1) * 2                          # gates well into the nonlinear range
    hx = [rand(2 * D, N, 64, seed=2)] + ([rand(2 * D, N, 64, seed=4) * 3] if kind == "LSTM" else [])
    assert _jit.float32_kernels(np.empty((T, N, 3 * 64), np.float32), _jit.rnn_kernels) is not None
    monkeypatch.delenv("EMBER_JIT", raising=False)
    fast = _recurrent_run(kind, x, hx, bidirectional, bias)
    monkeypatch.setenv("EMBER_JIT", "0")
    ref = _recurrent_run(kind, x, hx, bidirectional, bias)
    for a, b in zip(fast, ref):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6 * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_compiled_steps_match_torch(kind):
    pytest.importorskip("numba")
    e, t = make(kind, 32, 64, num_layers=2)
    x = rand(12, 24, 32, seed=5)
    hx = (rand(2, 24, 64, seed=6), rand(2, 24, 64, seed=8))
    run_both(e, t, x, hx if kind == "LSTM" else hx[0])


def test_compiled_tanh_and_sigmoid_special_values():
    pytest.importorskip("numba")
    from ember.ops import rnn_kernels as K
    x = np.concatenate([np.linspace(-12, 12, 4001), [0.0, -0.0, 1e-30, -1e-8, 0.6249, 0.625, 50, -50, 100,
                                                      np.inf, -np.inf, np.nan]]).astype(np.float32)
    a = np.empty((1, 4 * x.size), np.float32)
    xs = np.zeros_like(a)
    xs[0, 2 * x.size:3 * x.size] = x                       # the g gate: tanh
    c_prev = np.zeros((1, x.size), np.float32)
    c, tc, y = (np.empty_like(c_prev) for _ in range(3))
    K.lstm_forward_step(np.zeros((4 * x.size, 1), np.float32), xs, c_prev, a, c, tc, y)
    g = a[0, 2 * x.size:3 * x.size]
    want = np.tanh(x)
    np.testing.assert_allclose(g, want, rtol=3e-7, atol=0)  # relative: exact near 0 too
    np.testing.assert_allclose(a[0, :x.size], 0.5)           # sigmoid(0)
