"""The direct convolution kernels (ember/ops/direct_conv.py) against the NumPy route they replace, and torch.

Each case runs a convolution's forward and backward twice: through the compiled kernels (forced on for any
size, the batch split across threads) and with ``EMBER_JIT=0`` (im2col + BLAS). Values and all three
gradients must agree to float32 rounding, and with torch.
"""
import numpy as np
import pytest

import ember
import ember.nn.functional as F

pytest.importorskip("llvmlite")
from ember import _jit                                   # noqa: E402
from ember.ops import conv, direct_conv                  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture
def forced(monkeypatch):
    """The kernels at every size, several samples per thread split across the threads; returns a counter of
    kernel calls, so a test can check that the route it means to test ran."""
    monkeypatch.setattr(_jit.direct_conv, "min_size", 1)
    monkeypatch.setattr(conv, "_SLAB_MIN_ELEMENTS", 1)
    calls = {"forward": 0, "weight_grad": 0, "forward_channels": 0, "weight_grad_channels": 0}
    for name in calls:
        real = getattr(direct_conv, name)

        def counted(*a, _real=real, _name=name, **k):
            calls[_name] += 1
            return _real(*a, **k)
        monkeypatch.setattr(direct_conv, name, counted)
    return calls


def _run(monkeypatch, f, x, w, b, g, jit):
    if jit:
        monkeypatch.delenv("EMBER_JIT", raising=False)
    else:
        monkeypatch.setenv("EMBER_JIT", "0")
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    be = None if b is None else ember.tensor(b, requires_grad=True)
    y = f(xe, we, be)
    y.backward(ember.tensor(g))
    monkeypatch.delenv("EMBER_JIT", raising=False)
    return [y.detach().numpy(), xe.grad.numpy(), we.grad.numpy()] + ([] if b is None else [be.grad.numpy()])


def _close(a, b):
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("xshape,wshape,kw", [
    ((6, 1, 28, 28), (16, 1, 3, 3), dict(padding=1)),                   # rows longer than a vector, C*K = 9
    ((5, 16, 14, 14), (32, 16, 3, 3), dict(padding=1)),                 # rows shorter than a vector
    ((4, 3, 20, 33), (7, 3, 5, 3), dict(padding=2, dilation=(1, 2))),   # O, C*K not multiples of the blocks
    ((3, 5, 17, 16), (6, 5, 3, 3), dict(padding=0)),                    # rows of exactly one vector
    ((3, 2, 9, 10, 11), (5, 2, 3, 3, 3), dict(padding=1)),              # 3-d
    ((4, 5, 130), (6, 5, 3), dict(padding=2, dilation=2)),              # 1-d: one long row
    ((4, 2, 12, 12), (9, 2, 3, 3), dict(padding=(2, 0))),               # widening 4.5x: dx as a convolution
])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("route", ["rows", "channels"])
def test_direct_kernels_match_the_numpy_route_and_torch(monkeypatch, forced, xshape, wshape, kw, bias, route):
    monkeypatch.setattr(conv, "_ROUTE", route)
    nd = len(xshape) - 2
    conv_nd = getattr(F, f"conv{nd}d")
    x = RNG.standard_normal(xshape).astype(np.float32)
    w = (RNG.standard_normal(wshape) * 0.3).astype(np.float32)
    b = RNG.standard_normal(wshape[0]).astype(np.float32) if bias else None
    y = conv_nd(ember.tensor(x), ember.tensor(w), **kw)
    g = RNG.standard_normal(tuple(y.shape)).astype(np.float32)
    fast = _run(monkeypatch, lambda a, c, d: conv_nd(a, c, d, **kw), x, w, b, g, jit=True)
    suffix = "" if route == "rows" else "_channels"                   # forward, dx and dW all went that way
    assert forced["forward" + suffix] >= 2 and forced["weight_grad" + suffix] >= 1
    ref = _run(monkeypatch, lambda a, c, d: conv_nd(a, c, d, **kw), x, w, b, g, jit=False)
    for a, r in zip(fast, ref):
        _close(a, r)
    torch = pytest.importorskip("torch")
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    yt = getattr(torch.nn.functional, f"conv{nd}d")(xt, wt, bt, **kw)
    yt.backward(torch.tensor(g))
    for a, t in zip(fast, [yt, xt.grad, wt.grad] + ([] if b is None else [bt.grad])):
        _close(a, t.detach().numpy())


def test_an_inf_the_weights_never_meet_stays_out_of_their_gradient(monkeypatch, forced):
    monkeypatch.setattr(conv, "_ROUTE", "rows")
    """The weight-gradient kernel multiplies a zero gradient by the input under masked-off lanes; an inf
    there must not turn dW into NaN (the route recomputes such a result): dW is finite, as in torch."""
    x = RNG.standard_normal((4, 3, 14, 14)).astype(np.float32)
    x[1, 2, 5, 13] = np.inf          # last column: with kernel column 0 no output reads it, junk lanes do
    w = ember.tensor(RNG.standard_normal((8, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(ember.tensor(x), w, padding=1)
    keep = ember.tensor(np.isfinite(y.detach().numpy()).astype(np.float32))
    y.backward(keep)
    assert forced["weight_grad"] >= 1
    gw = w.grad.numpy()
    torch = pytest.importorskip("torch")
    wt = torch.tensor(w.detach().numpy(), requires_grad=True)
    torch.nn.functional.conv2d(torch.tensor(x), wt, padding=1).backward(torch.tensor(keep.numpy()))
    np.testing.assert_array_equal(np.isfinite(gw), np.isfinite(wt.grad.numpy()))
    finite = np.isfinite(gw)
    np.testing.assert_allclose(gw[finite], wt.grad.numpy()[finite], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("route", ["rows", "channels"])
def test_weight_gradient_is_the_same_every_run(monkeypatch, forced, route):
    """Threads finish in any order; their partial sums are added in batch order (rows), or each computes
    whole sums (channels), so dW is bit-identical run to run."""
    monkeypatch.setattr(conv, "_ROUTE", route)
    x = ember.tensor(RNG.standard_normal((16, 3, 12, 12)).astype(np.float32))
    w0 = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    grads = []
    for _ in range(6):
        w = ember.tensor(w0, requires_grad=True)
        F.conv2d(x, w, padding=1).pow(2).sum().backward()
        grads.append(w.grad.numpy())
    assert forced["weight_grad"] + forced["weight_grad_channels"] >= 6
    assert all(np.array_equal(grads[0], g) for g in grads[1:])


def test_segment_table_cuts_rows_into_vectors():
    V = direct_conv.lanes()
    table = direct_conv.segments(np.array([0, 30, 60]), V + 3)       # 3 rows of V+3 positions
    gpos, ypos, lanes = table
    assert table.dtype == np.int64 and table.shape == (3, 6)
    np.testing.assert_array_equal(gpos, [0, V, 30, 30 + V, 60, 60 + V])
    np.testing.assert_array_equal(ypos, [0, V, V + 3, 2 * V + 3, 2 * V + 6, 3 * V + 6])
    np.testing.assert_array_equal(lanes, [V, 3] * 3)


def test_wide_layers_keep_their_weight_gradient_off_the_partial_sums(monkeypatch, forced):
    """A layer whose per-thread partial sums would pass ``_DIRECT_ACC_BYTES`` takes the BLAS route for dW
    (its forward still runs direct): same gradient, no kernel call."""
    monkeypatch.setattr(conv, "_DIRECT_ACC_BYTES", 1024)
    x = RNG.standard_normal((4, 6, 12, 12)).astype(np.float32)
    w = RNG.standard_normal((8, 6, 3, 3)).astype(np.float32)
    g = RNG.standard_normal((4, 8, 12, 12)).astype(np.float32)
    f = lambda a, c, d: F.conv2d(a, c, d, padding=1)       # noqa: E731
    fast = _run(monkeypatch, f, x, w, None, g, jit=True)
    assert forced["forward"] >= 1 and forced["weight_grad"] == forced["weight_grad_channels"] == 0
    for a, r in zip(fast, _run(monkeypatch, f, x, w, None, g, jit=False)):
        _close(a, r)


def test_routes_follow_the_shapes_they_were_measured_on():
    """Rows where output rows fill their vectors, channels for small planes of many channels, neither for
    1x1 convolutions without padding (a plain GEMM) or for weights too big to transpose cheaply."""
    def route(shape, wshape, weight_grad=False):
        x = np.zeros(shape, np.float32)
        r = conv._direct_route(x, wshape, np.float32, (1, 1), [(1, 1)] * 2 if wshape[-1] == 3 else [(0, 0)] * 2,
                               (1, 1), 1, weight_grad)
        return r and r[0]
    V = direct_conv.lanes()
    assert route((32, 64, 2 * V, 2 * V), (64, 64, 3, 3)) == "rows"
    assert route((32, 256, V // 2, V // 2), (256, 256, 3, 3)) == "channels"            # rows half empty
    assert route((32, 128, V, V), (128, 128, 3, 3)) == "rows"
    assert route((32, 128, V, V), (128, 128, 3, 3), weight_grad=True) == "channels"    # partial sums > 4 MiB
    assert route((64, 16, 8, 8), (32, 16, 3, 3)) == "rows"                           # 32 channels: half a block
    assert route((32, 512, 4, 4), (512, 512, 3, 3)) is None
    assert route((32, 64, 16, 16), (64, 64, 1, 1)) is None


@pytest.mark.parametrize("route", ["rows", "channels"])
def test_double_backward_through_the_direct_kernels_matches_torch(monkeypatch, forced, route):
    """The gradient's own gradient (a penalty on dL/dx) runs the kernels inside the backward's Functions."""
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(conv, "_ROUTE", route)
    x = RNG.standard_normal((4, 5, 12, 12)).astype(np.float32)
    w = (RNG.standard_normal((16, 5, 3, 3)) * 0.3).astype(np.float32)
    grads = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(xt, wt, padding=1)
        (gx,) = lib.autograd.grad(y.pow(2).sum(), xt, create_graph=True)
        gx.pow(2).sum().backward()
        grads.append([xt.grad.detach().numpy(), wt.grad.detach().numpy()])
    assert forced["forward" + ("" if route == "rows" else "_channels")] >= 3
    for a, t in zip(*grads):
        _close(a, t)


def test_avx2_build_of_the_kernels_matches_the_numpy_route(monkeypatch, forced):
    """A CPU without AVX-512 gets 8-float vectors and smaller blocks: build that variant here (this CPU runs
    AVX2 code too) and put it behind the same routes."""
    import importlib.util
    import llvmlite.binding as llvm
    features = llvm.get_host_cpu_features()
    if not features.get("avx2", False):
        pytest.skip("the CPU has no AVX2")
    for name in list(features):
        if name.startswith("avx512"):
            features[name] = False
    monkeypatch.setattr(llvm, "get_host_cpu_features", lambda: features)
    spec = importlib.util.spec_from_file_location("direct_conv_avx2", direct_conv.__file__)
    avx2 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(avx2)
    assert avx2.lanes() == 8
    monkeypatch.setattr(_jit.direct_conv, "_mod", avx2)
    monkeypatch.setattr(_jit.direct_conv, "_tried", True)
    x = RNG.standard_normal((5, 6, 13, 11)).astype(np.float32)
    w = (RNG.standard_normal((20, 6, 3, 3)) * 0.3).astype(np.float32)
    b = RNG.standard_normal(20).astype(np.float32)
    g = RNG.standard_normal((5, 20, 13, 11)).astype(np.float32)
    f = lambda a, c, d: F.conv2d(a, c, d, padding=1)       # noqa: E731
    for route in ("rows", "channels"):
        monkeypatch.setattr(conv, "_ROUTE", route)
        fast = _run(monkeypatch, f, x, w, b, g, jit=True)
        for a, r in zip(fast, _run(monkeypatch, f, x, w, b, g, jit=False)):
            _close(a, r)
