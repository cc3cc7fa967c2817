"""ember.nn.functional and the fused Functions of ember/ops/nn.py: values (NumPy / hand), torch parity
(outputs and grads, float32), gradcheck (float64) for every Function, torch's errors."""
import math

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from ember.ops import nn as ops

RNG = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def E(a, grad=None):
    """An ember leaf from a NumPy array (floats require grad unless told otherwise)."""
    g = a.dtype.kind == "f" if grad is None else grad
    return ember.tensor(a, requires_grad=g)


def close(a, b, rtol=1e-5, atol=1e-6):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def parity(ember_fn, torch_fn, *arrays, rtol=1e-5, atol=1e-6, grad=True):
    """Run both frameworks on the same inputs; compare outputs and the grads of every float input."""
    torch = pytest.importorskip("torch")
    ei = [E(a) if isinstance(a, np.ndarray) else a for a in arrays]
    ti = [torch.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
          for a in arrays]
    eo, to = ember_fn(*ei), torch_fn(*ti)
    close(eo, to, rtol, atol)
    assert tuple(eo.shape) == tuple(to.shape)
    assert str(eo.dtype) == str(to.dtype)
    if not grad:
        return eo, to
    g = randn(*to.shape)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    for e, t in zip(ei, ti):
        if isinstance(e, ember.Tensor) and e.requires_grad:
            close(e.grad, t.grad, rtol, atol)
    return eo, to


def D(*shape, lo=None):
    """A float64 leaf for gradcheck."""
    a = RNG.standard_normal(shape)
    if lo is not None:
        a = lo + np.abs(a)
    return ember.tensor(a, dtype=ember.float64, requires_grad=True)


# ---------------------------------------------------------------------------------------------- erf
def test_erf_accuracy_float32():
    import math
    x = np.linspace(-6, 6, 200001).astype(np.float32)
    got = ops.erf(x)
    assert got.dtype == np.float32
    want = np.vectorize(math.erf)(x.astype(np.float64))  # the standard library's double-precision erf
    assert np.abs(got - want).max() < 2.5e-7


def test_erf_known_values():
    x = np.array([0.0, 0.5, 1.0, 2.0, -1.0, 10.0], np.float32)
    want = [0.0, 0.5204998778, 0.8427007929, 0.9953222650, -0.8427007929, 1.0]
    np.testing.assert_allclose(ops.erf(x), want, atol=3e-7)


# ---------------------------------------------------------------------------------------------- softmax
def test_softmax_values_and_rows_sum_to_one():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]], np.float32)
    y = F.softmax(E(x), dim=1)
    e = np.exp(x - x.max(1, keepdims=True))
    close(y, e / e.sum(1, keepdims=True))
    close(y.sum(1), [1.0, 1.0])
    assert y.grad_fn.name() == "SoftmaxBackward0"


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_parity(dim):
    torch = pytest.importorskip("torch")
    x = randn(6, 7, 5)
    parity(lambda a: F.softmax(a, dim), lambda a: torch.softmax(a, dim), x)
    parity(lambda a: F.log_softmax(a, dim), lambda a: torch.log_softmax(a, dim), x)
    parity(lambda a: F.softmin(a, dim), lambda a: torch.nn.functional.softmin(a, dim), x)


def test_log_softmax_grad_fn_and_extreme_logits():
    x = E(np.array([[0.0, 1e4, -1e4]], np.float32))
    y = F.log_softmax(x, 1)
    assert y.grad_fn.name() == "LogSoftmaxBackward0"
    close(y, [[-1e4, 0.0, -2e4]])
    assert np.isfinite(y.detach().numpy()).all()


def test_softmax_implicit_dim_warns_and_follows_torch_rule():
    x = E(randn(2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(x)
    close(y, F.softmax(x, 1))  # 2-D -> dim 1
    with pytest.warns(UserWarning):
        y3 = F.softmax(E(randn(2, 3, 4)))
    close(y3.sum(0), np.ones((3, 4)))  # 3-D -> dim 0


def test_softmax_dtype_argument():
    y = F.softmax(E(randn(2, 3)), 1, dtype=ember.float64)
    assert y.dtype == ember.float64


def test_softmax_dim_out_of_range():
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.softmax(E(randn(2, 3)), 2)


def test_softmax_gradchecks():
    assert gradcheck(lambda a: ops.Softmax.apply(a, 1), (D(3, 4),))
    assert gradcheck(lambda a: ops.Softmax.apply(a, 0), (D(3, 4),))
    assert gradcheck(lambda a: ops.LogSoftmax.apply(a, 1), (D(3, 4),))
    assert gradcheck(lambda a: ops.LogSoftmax.apply(a, 2), (D(2, 3, 4),))


def test_softmax_double_backward():
    assert gradgradcheck(lambda a: ops.Softmax.apply(a, 1), (D(2, 4),))
    assert gradgradcheck(lambda a: ops.LogSoftmax.apply(a, 1), (D(2, 4),))


# ---------------------------------------------------------------------------------------------- cross entropy
def test_cross_entropy_gradchecks():
    t = ember.tensor([1, 0, 3, 2])
    w = ember.tensor([0.5, 1.0, 2.0, 1.5], dtype=ember.float64)
    assert gradcheck(lambda a: ops.CrossEntropy.apply(a, t, None, -100, "mean", 0.0), (D(4, 4),))
    assert gradcheck(lambda a: ops.CrossEntropy.apply(a, t, w, -100, "sum", 0.0), (D(4, 4),))
    assert gradcheck(lambda a: ops.CrossEntropy.apply(a, t, w, 3, "mean", 0.2), (D(4, 4),))
    assert gradcheck(lambda a: ops.CrossEntropy.apply(a, t, None, 0, "none", 0.1), (D(4, 4),))
    t4 = ember.tensor(RNG.integers(0, 3, (2, 2, 3)))
    assert gradcheck(lambda a: ops.CrossEntropy2d.apply(a, t4, None, -100, "mean", 0.0), (D(2, 3, 2, 3),))
    q = ember.tensor(RNG.dirichlet(np.ones(4), 3))
    assert gradcheck(lambda a, b: ops.CrossEntropy.apply(a, b, w, -100, "mean", 0.1),
                     (D(3, 4), q.requires_grad_()))
    assert gradcheck(lambda a: ops.CrossEntropy.apply(a, ember.tensor(2), None, -100, "mean", 0.0), (D(5),))
    assert gradgradcheck(lambda a: ops.CrossEntropy.apply(a, t, w, -100, "mean", 0.1), (D(4, 4),))


def test_nll_loss_gradcheck():
    t = ember.tensor([1, 0, 3])
    w = ember.tensor([0.5, 1.0, 2.0, 1.5], dtype=ember.float64)
    assert gradcheck(lambda a: ops.NllLoss.apply(a, t, w, 0, "mean"), (D(3, 4),))
    assert gradcheck(lambda a: ops.NllLoss.apply(a, t, None, -100, "none"), (D(3, 4),))


def test_cross_entropy_hand_value():
    x = np.array([[1.0, 2.0, 0.5]], np.float32)
    loss = F.cross_entropy(E(x), ember.tensor([1]))
    want = np.log(np.exp(x).sum()) - 2.0
    assert abs(loss.item() - want) < 1e-6
    assert loss.grad_fn.name() == "NllLossBackward0"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"ignore_index": 1}, {"label_smoothing": 0.15},
                                  {"weight": True, "ignore_index": 2, "label_smoothing": 0.3}])
def test_cross_entropy_parity(reduction, opts):
    torch = pytest.importorskip("torch")
    x = randn(8, 5) * 3
    t = RNG.integers(0, 5, 8)
    w = np.abs(randn(5)) + 0.1
    kw = dict(reduction=reduction, ignore_index=opts.get("ignore_index", -100),
              label_smoothing=opts.get("label_smoothing", 0.0))
    ew = ember.tensor(w) if opts.get("weight") else None
    tw = torch.tensor(w) if opts.get("weight") else None
    parity(lambda a: F.cross_entropy(a, ember.tensor(t), weight=ew, **kw),
           lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(t), weight=tw, **kw), x)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_spatial_parity(reduction):
    torch = pytest.importorskip("torch")
    x = randn(2, 4, 3, 5)
    t = RNG.integers(0, 4, (2, 3, 5))
    t[0, 0, 0] = -100
    out, _ = parity(lambda a: F.cross_entropy(a, ember.tensor(t), reduction=reduction),
                    lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(t), reduction=reduction), x)
    assert out.grad_fn.name() == "NllLoss2DBackward0"
    x3 = randn(2, 4, 6)
    t3 = RNG.integers(0, 4, (2, 6))
    parity(lambda a: F.cross_entropy(a, ember.tensor(t3), label_smoothing=0.1, reduction=reduction),
           lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(t3), label_smoothing=0.1,
                                                      reduction=reduction), x3)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_targets_parity(reduction):
    torch = pytest.importorskip("torch")
    x = randn(6, 4)
    q = RNG.dirichlet(np.ones(4), 6).astype(np.float32)
    w = (np.abs(randn(4)) + 0.1)
    parity(lambda a, b: F.cross_entropy(a, b, weight=ember.tensor(w), reduction=reduction, label_smoothing=0.2),
           lambda a, b: torch.nn.functional.cross_entropy(a, b, weight=torch.tensor(w), reduction=reduction,
                                                          label_smoothing=0.2), x, q)
    parity(lambda a: F.cross_entropy(a, ember.tensor(q), reduction=reduction),
           lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(q), reduction=reduction), x)


def test_cross_entropy_all_ignored_is_nan():
    loss = F.cross_entropy(E(randn(2, 3)), ember.tensor([-100, -100]))
    assert math.isnan(loss.item())


def test_cross_entropy_errors():
    x = E(randn(4, 5))
    with pytest.raises(IndexError, match="^Target 12 is out of bounds.$"):
        F.cross_entropy(x, ember.tensor([1, 2, 12, 0]))
    with pytest.raises(IndexError, match="Target -3 is out of bounds."):
        F.nll_loss(x, ember.tensor([1, 2, -3, 0]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        F.cross_entropy(x, ember.tensor([1.0, 2.0, 3.0, 0.0]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(3\)."):
        F.cross_entropy(x, ember.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        F.cross_entropy(x, ember.tensor(RNG.integers(0, 5, (4, 3))))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.nll_loss(x, ember.tensor([1, 2, 3, 0], dtype=ember.int32))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, ember.tensor([1, 2, 3, 0]), reduction="avg")


def test_nll_loss_parity():
    torch = pytest.importorskip("torch")
    x = randn(5, 4)
    t = np.array([0, 3, 1, 1, 2])
    w = np.abs(randn(4)) + 0.1
    for red in ("mean", "sum", "none"):
        parity(lambda a: F.nll_loss(a, ember.tensor(t), ember.tensor(w), ignore_index=1, reduction=red),
               lambda a: torch.nn.functional.nll_loss(a, torch.tensor(t), torch.tensor(w), ignore_index=1,
                                                      reduction=red), x)


def test_legacy_size_average_reduce():
    x, t = E(randn(4, 3)), ember.tensor([0, 1, 2, 0])
    with pytest.warns(UserWarning):
        s = F.cross_entropy(x, t, size_average=False)
    close(s, F.cross_entropy(x, t, reduction="sum"))
    with pytest.warns(UserWarning):
        n = F.cross_entropy(x, t, reduce=False)
    assert tuple(n.shape) == (4,)


# ---------------------------------------------------------------------------------------------- normalization
def test_layer_norm_values():
    x = randn(3, 8)
    w, b = randn(8), randn(8)
    y = F.layer_norm(E(x), (8,), E(w), E(b), eps=1e-5)
    m, v = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    close(y, (x - m) / np.sqrt(v + 1e-5) * w + b, atol=1e-5)
    assert y.grad_fn.name() == "NativeLayerNormBackward0"


def test_layer_norm_parity():
    torch = pytest.importorskip("torch")
    x, w, b = randn(4, 3, 6, 5), randn(6, 5), randn(6, 5)
    parity(lambda a, c, d: F.layer_norm(a, (6, 5), c, d),
           lambda a, c, d: torch.nn.functional.layer_norm(a, (6, 5), c, d), x, w, b, atol=1e-5)
    parity(lambda a: F.layer_norm(a, (5,)), lambda a: torch.nn.functional.layer_norm(a, (5,)), x, atol=1e-5)
    big, wb, bb = randn(300, 512), randn(512), randn(512)   # several row blocks, the last one partial
    parity(lambda a, c, d: F.layer_norm(a, (512,), c, d),
           lambda a, c, d: torch.nn.functional.layer_norm(a, (512,), c, d), big, wb, bb, atol=1e-4, rtol=1e-4)


def test_layer_norm_gradcheck():
    assert gradcheck(lambda a, w, b: ops.LayerNorm.apply(a, w, b, 1, 1e-5), (D(3, 5), D(5), D(5)))
    assert gradcheck(lambda a: ops.LayerNorm.apply(a, None, None, 2, 1e-5), (D(2, 3, 4),))
    assert gradgradcheck(lambda a, w, b: ops.LayerNorm.apply(a, w, b, 1, 1e-5), (D(3, 5), D(5), D(5)))


def test_layer_norm_shape_error():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], "
                                           r"but got input of size\[4, 5\]"):
        F.layer_norm(E(randn(4, 5)), (4,))


def test_rms_norm_parity_and_gradcheck():
    torch = pytest.importorskip("torch")
    x, w = randn(4, 6), randn(6)
    parity(lambda a, c: F.rms_norm(a, (6,), c), lambda a, c: torch.nn.functional.rms_norm(a, (6,), c), x, w,
           atol=1e-5)
    parity(lambda a: F.rms_norm(a, (6,), eps=1e-3), lambda a: torch.nn.functional.rms_norm(a, (6,), eps=1e-3),
           x, atol=1e-5)
    assert gradcheck(lambda a, c: ops.RmsNorm.apply(a, c, 1, 1e-6), (D(3, 5), D(5)))
    assert gradgradcheck(lambda a, c: ops.RmsNorm.apply(a, c, 1, 1e-6), (D(3, 5), D(5)))


def test_group_norm_parity_and_gradcheck():
    torch = pytest.importorskip("torch")
    x, w, b = randn(3, 6, 4, 2), randn(6), randn(6)
    out, _ = parity(lambda a, c, d: F.group_norm(a, 3, c, d),
                    lambda a, c, d: torch.nn.functional.group_norm(a, 3, c, d), x, w, b, atol=1e-5)
    assert out.grad_fn.name() == "NativeGroupNormBackward0"
    assert gradcheck(lambda a, c, d: ops.GroupNorm.apply(a, c, d, 2, 1e-5), (D(2, 4, 3), D(4), D(4)))
    assert gradgradcheck(lambda a, c, d: ops.GroupNorm.apply(a, c, d, 2, 1e-5), (D(2, 4, 3), D(4), D(4)))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(E(randn(2, 2, 5)), 3)


def test_batch_norm_functional_parity_and_running_stats():
    torch = pytest.importorskip("torch")
    x, w, b = randn(5, 3, 4), randn(3), randn(3)
    rm, rv = ember.zeros(3), ember.ones(3)
    trm, trv = torch.zeros(3), torch.ones(3)
    out, _ = parity(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, training=True, momentum=0.3),
                    lambda a, c, d: torch.nn.functional.batch_norm(a, trm, trv, c, d, training=True,
                                                                   momentum=0.3), x, w, b, atol=1e-5)
    assert out.grad_fn.name() == "NativeBatchNormBackward0"
    close(rm, trm)
    close(rv, trv)
    parity(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, training=False),
           lambda a, c, d: torch.nn.functional.batch_norm(a, trm, trv, c, d, training=False), x, w, b, atol=1e-5)


def test_batch_norm_gradcheck():
    rm = ember.zeros(3, dtype=ember.float64)
    rv = ember.ones(3, dtype=ember.float64)
    assert gradcheck(lambda a, c, d: ops.BatchNorm.apply(a, c, d, None, None, True, 0.1, 1e-5),
                     (D(4, 3, 2), D(3), D(3)))
    assert gradcheck(lambda a, c, d: ops.BatchNorm.apply(a, c, d, rm, rv, False, 0.1, 1e-5),
                     (D(4, 3), D(3), D(3)))
    assert gradgradcheck(lambda a, c, d: ops.BatchNorm.apply(a, c, d, None, None, True, 0.1, 1e-5),
                         (D(4, 3), D(3), D(3)))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"torch.Size\(\[1, 5\]\)"):
        F.batch_norm(E(randn(1, 5)), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean should contain 5 elements not 3"):
        F.batch_norm(E(randn(4, 5)), ember.zeros(3), ember.ones(3))


def test_normalize_and_distances_parity():
    torch = pytest.importorskip("torch")
    x, y = randn(4, 6), randn(4, 6)
    out, _ = parity(lambda a: F.normalize(a, dim=-1), lambda a: torch.nn.functional.normalize(a, dim=-1), x)
    close(out.norm(dim=-1), np.ones(4), atol=1e-6)
    parity(lambda a: F.normalize(a, p=1, dim=0), lambda a: torch.nn.functional.normalize(a, p=1, dim=0), x)
    parity(lambda a, b: F.cosine_similarity(a, b), lambda a, b: torch.nn.functional.cosine_similarity(a, b), x, y)
    parity(lambda a, b: F.pairwise_distance(a, b), lambda a, b: torch.nn.functional.pairwise_distance(a, b),
           x, y)
    parity(lambda a, b: F.pairwise_distance(a, b, p=1, keepdim=True),
           lambda a, b: torch.nn.functional.pairwise_distance(a, b, p=1, keepdim=True), x, y)


# ---------------------------------------------------------------------------------------------- activations
ACTS = [
    ("relu", lambda F_, a: F_.relu(a)),
    ("relu6", lambda F_, a: F_.relu6(a)),
    ("leaky_relu", lambda F_, a: F_.leaky_relu(a, 0.2)),
    ("elu", lambda F_, a: F_.elu(a, 0.7)),
    ("selu", lambda F_, a: F_.selu(a)),
    ("celu", lambda F_, a: F_.celu(a, 1.3)),
    ("gelu", lambda F_, a: F_.gelu(a)),
    ("gelu_tanh", lambda F_, a: F_.gelu(a, approximate="tanh")),
    ("silu", lambda F_, a: F_.silu(a)),
    ("mish", lambda F_, a: F_.mish(a)),
    ("softplus", lambda F_, a: F_.softplus(a)),
    ("softplus_beta", lambda F_, a: F_.softplus(a, beta=2.0, threshold=3.0)),
    ("sigmoid", lambda F_, a: F_.sigmoid(a)),
    ("tanh", lambda F_, a: F_.tanh(a)),
    ("hardtanh", lambda F_, a: F_.hardtanh(a, -0.5, 1.5)),
    ("hardsigmoid", lambda F_, a: F_.hardsigmoid(a)),
    ("hardswish", lambda F_, a: F_.hardswish(a)),
    ("logsigmoid", lambda F_, a: F_.logsigmoid(a)),
    ("softsign", lambda F_, a: F_.softsign(a)),
    ("tanhshrink", lambda F_, a: F_.tanhshrink(a)),
    ("softshrink", lambda F_, a: F_.softshrink(a, 0.3)),
    ("hardshrink", lambda F_, a: F_.hardshrink(a, 0.3)),
    ("threshold", lambda F_, a: F_.threshold(a, 0.1, 20.0)),
    ("glu", lambda F_, a: F_.glu(a, -1)),
]


@pytest.mark.parametrize("name,fn", ACTS, ids=[n for n, _ in ACTS])
def test_activation_parity(name, fn):
    torch = pytest.importorskip("torch")
    x = randn(5, 8) * 3
    x[np.abs(x) < 1e-3] = 0.5
    eo, to = parity(lambda a: fn(F, a), lambda a: fn(torch.nn.functional, a), x, atol=2e-6)
    tname = type(to.grad_fn).__name__
    if name not in ("softsign", "tanhshrink", "softshrink", "hardshrink", "threshold", "glu"):  # composed here
        assert eo.grad_fn.name() == tname


def test_activation_extreme_inputs_match_torch():
    torch = pytest.importorskip("torch")
    x = np.array([-100.0, -30.0, -5.0, 0.0, 5.0, 30.0, 100.0], np.float32)
    for fn in (lambda F_, a: F_.softplus(a), lambda F_, a: F_.logsigmoid(a), lambda F_, a: F_.silu(a),
               lambda F_, a: F_.mish(a), lambda F_, a: F_.elu(a), lambda F_, a: F_.gelu(a)):
        parity(lambda a: fn(F, a), lambda a: fn(torch.nn.functional, a), x, atol=1e-6)


def test_gelu_values():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0], np.float32)
    want = [-0.0040496993, -0.15865526, 0.0, 0.34573123, 1.9544997]
    close(F.gelu(E(x)), want, atol=2e-7)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(E(x), approximate="fast")


def test_gelu_gradchecks():
    assert gradcheck(lambda a: ops.Gelu.apply(a, "none"), (D(4, 3),))
    assert gradcheck(lambda a: ops.Gelu.apply(a, "tanh"), (D(4, 3),))
    assert gradgradcheck(lambda a: ops.Gelu.apply(a, "none"), (D(3, 2),))
    assert gradgradcheck(lambda a: ops.Gelu.apply(a, "tanh"), (D(3, 2),))


def _away_from(a, points, gap=0.05):
    """Move float64 samples away from the kinks of piecewise activations (finite differences break there)."""
    x = a._data
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + gap * 2
    return a


def test_activation_gradchecks():
    assert gradcheck(lambda a: ops.LeakyRelu.apply(a, 0.1), (_away_from(D(3, 4), [0]),))
    assert gradcheck(lambda a: ops.Elu.apply(a, 0.7, 1.0, 1.0), (_away_from(D(3, 4), [0]),))
    assert gradcheck(lambda a: ops.Elu.apply(a, 1.67, 1.05, 1.0), (_away_from(D(3, 4), [0]),))
    assert gradcheck(lambda a: ops.Celu.apply(a, 1.3, 1.0, 1 / 1.3), (_away_from(D(3, 4), [0]),))
    assert gradcheck(lambda a: ops.Silu.apply(a), (D(3, 4),))
    assert gradcheck(lambda a: ops.Mish.apply(a), (D(3, 4),))
    assert gradcheck(lambda a: ops.Softplus.apply(a, 2.0, 3.0), (_away_from(D(3, 4), [1.5]),))
    assert gradcheck(lambda a: ops.Hardtanh.apply(a, -0.5, 0.5), (_away_from(D(3, 4), [-0.5, 0.5]),))
    x = ember.tensor(RNG.standard_normal((3, 4)) * 3, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda a: ops.Hardsigmoid.apply(a), (_away_from(x, [-3, 3]),))
    assert gradcheck(lambda a: ops.Hardswish.apply(a), (_away_from(x, [-3, 3]),))
    assert gradcheck(lambda a: ops.LogSigmoid.apply(a), (D(3, 4),))
    assert gradgradcheck(lambda a: ops.Silu.apply(a), (D(2, 3),))


def test_inplace_activations_write_into_input():
    x = ember.tensor([-1.0, 2.0, -3.0])
    y = F.leaky_relu(x, 0.5, inplace=True)
    assert y is x
    close(x, [-0.5, 2.0, -1.5])
    z = ember.tensor([-1.0, 2.0])
    assert F.relu(z, inplace=True) is z
    close(z, [0.0, 2.0])


def test_hardtanh_min_greater_than_max():
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(E(randn(2)), 1.0, -1.0)


# ---------------------------------------------------------------------------------------------- linear
def test_linear_addmm_and_parity():
    torch = pytest.importorskip("torch")
    x, w, b = randn(4, 5), randn(3, 5), randn(3)
    out, _ = parity(lambda a, c, d: F.linear(a, c, d), lambda a, c, d: torch.nn.functional.linear(a, c, d),
                    x, w, b)
    assert out.grad_fn.name() == "AddmmBackward0"
    parity(lambda a, c, d: F.linear(a, c, d), lambda a, c, d: torch.nn.functional.linear(a, c, d),
           randn(2, 4, 5), w, b)
    parity(lambda a, c: F.linear(a, c), lambda a, c: torch.nn.functional.linear(a, c), randn(5), w)


def test_linear_shape_error():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x4 and 3x5\)"):
        F.linear(E(randn(3, 4)), E(randn(5, 3)), E(randn(5)))


def test_bilinear_parity():
    torch = pytest.importorskip("torch")
    parity(lambda a, b, w, c: F.bilinear(a, b, w, c), lambda a, b, w, c: torch.nn.functional.bilinear(a, b, w, c),
           randn(4, 3), randn(4, 2), randn(5, 3, 2), randn(5), atol=1e-5)


# ---------------------------------------------------------------------------------------------- dropout
def test_dropout_mask_scale_and_grad():
    ember.manual_seed(0)
    x = ember.ones(1000, 10, requires_grad=True)
    y = F.dropout(x, 0.3)
    v = y.detach().numpy()
    assert np.all(np.isclose(v, 0) | np.isclose(v, 1 / 0.7))
    assert abs((v == 0).mean() - 0.3) < 0.02
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    close(x.grad, v)  # d/dx = mask / (1 - p) = y for x = 1


def test_dropout_eval_p0_p1_and_errors():
    x = E(randn(3, 4))
    assert F.dropout(x, 0.5, training=False) is x
    close(F.dropout(x, 1.0), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)


def test_dropout_reproducible_with_seed():
    ember.manual_seed(3)
    a = F.dropout(ember.ones(50)).numpy()
    ember.manual_seed(3)
    b = F.dropout(ember.ones(50)).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_gradcheck():
    def fn(a):
        ember.manual_seed(7)
        return ops.Dropout.apply(a, 0.4, None)
    assert gradcheck(fn, (D(4, 5),))


def test_dropout2d_drops_whole_channels():
    ember.manual_seed(1)
    y = F.dropout2d(ember.ones(8, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(ember.ones(2, 2, 2, 2))
    y1 = F.dropout1d(ember.ones(4, 6), 0.5).numpy()  # unbatched (C, L)
    assert np.all((y1 == 0).all(-1) | (y1 == 2).all(-1))


# ---------------------------------------------------------------------------------------------- embedding
def test_embedding_lookup_and_grad_with_repeats():
    w = E(randn(6, 3))
    idx = ember.tensor([[1, 4, 1], [0, 1, 5]])
    y = F.embedding(idx, w, padding_idx=0)
    close(y, w.detach().numpy()[idx.numpy()])
    assert y.grad_fn.name() == "EmbeddingBackward0"
    g = randn(2, 3, 3)
    y.backward(ember.tensor(g))
    want = np.zeros((6, 3), np.float32)
    np.add.at(want, idx.numpy().reshape(-1), g.reshape(-1, 3))
    want[0] = 0
    close(w.grad, want)


def test_embedding_parity_max_norm():
    torch = pytest.importorskip("torch")
    w = randn(7, 4) * 2
    idx = np.array([[1, 2], [2, 6]])
    ew, tw = E(w.copy()), torch.tensor(w.copy(), requires_grad=True)
    eo = F.embedding(ember.tensor(idx), ew, max_norm=1.0)
    to = torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=1.0)
    close(eo, to)
    close(ew, tw)  # rows renormalised in place identically


def test_embedding_gradcheck():
    idx = ember.tensor([[0, 2], [2, 3]])
    assert gradcheck(lambda w: ops.Embedding.apply(w, idx, None), (D(4, 3),))  # padding rows: by design no grad
    assert gradgradcheck(lambda w: ops.Embedding.apply(w, idx, None), (D(4, 3),))


def test_embedding_errors():
    w = E(randn(5, 3))
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(ember.tensor([7]), w)
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices' to have one of the following "
                                           "scalar types: Long, Int; but got torch.FloatTensor instead"):
        F.embedding(ember.tensor([1.0]), w)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_parity(mode):
    torch = pytest.importorskip("torch")
    w = randn(10, 3)
    inp = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    off = np.array([0, 4, 4, 6])  # includes an empty bag
    parity(lambda a: F.embedding_bag(ember.tensor(inp), a, ember.tensor(off), mode=mode),
           lambda a: torch.nn.functional.embedding_bag(torch.tensor(inp), a, torch.tensor(off), mode=mode), w)
    inp2 = np.array([[1, 2, 0], [4, 0, 0]])
    parity(lambda a: F.embedding_bag(ember.tensor(inp2), a, mode=mode, padding_idx=0),
           lambda a: torch.nn.functional.embedding_bag(torch.tensor(inp2), a, mode=mode, padding_idx=0), w)


def test_embedding_bag_per_sample_weights():
    torch = pytest.importorskip("torch")
    w, psw = randn(10, 3), randn(5)
    inp, off = np.array([1, 2, 4, 5, 4]), np.array([0, 2])
    parity(lambda a, p: F.embedding_bag(ember.tensor(inp), a, ember.tensor(off), mode="sum",
                                        per_sample_weights=p),
           lambda a, p: torch.nn.functional.embedding_bag(torch.tensor(inp), a, torch.tensor(off), mode="sum",
                                                          per_sample_weights=p), w, psw)


# ---------------------------------------------------------------------------------------------- one_hot
def test_one_hot():
    y = F.one_hot(ember.tensor([0, 2, 1]))
    assert y.dtype == ember.int64
    np.testing.assert_array_equal(y.numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert tuple(F.one_hot(ember.tensor([[1], [0]]), 4).shape) == (2, 1, 4)
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor of type LongTensor."):
        F.one_hot(ember.tensor([1.0]))
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(ember.tensor([7]), 3)


def test_spatial_functionals_visible_from_functional():
    """conv, pooling, padding, ... live in ``ember/nn/_functional/``; ``nn.functional`` re-exports every one
    (the same object) and lists it in ``__all__``, so ``from torch.nn.functional import *`` sees them."""
    from ember.nn import _functional
    for module in (_functional.conv, _functional.pooling, _functional.padding, _functional.resampling,
                   _functional.fold, _functional.attention):
        for name in module.__all__:
            assert getattr(F, name) is getattr(module, name)
            assert name in F.__all__
    for name in ("conv2d", "max_pool2d", "scaled_dot_product_attention", "pad", "interpolate", "unfold"):
        assert callable(getattr(F, name))
        assert name in F.__all__
    namespace = {}
    exec("from ember.nn.functional import *", namespace)
    assert namespace["grid_sample"] is F.grid_sample and namespace["max_unpool3d"] is F.max_unpool3d


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "cross_entropy", "layer_norm", "gelu", "gelu_tanh"])
def test_large_inputs_blocked_and_threaded_paths_match_torch(op):
    """Inputs above the size where the fused kernels split rows/elements into blocks and across cores."""
    torch = pytest.importorskip("torch")
    x = randn(700, 513) * 2                       # 359k elements; 513 columns -> uneven row blocks
    tF = torch.nn.functional
    t = RNG.integers(0, 513, 700)
    w, b = randn(513), randn(513)
    fns = {
        "softmax": (lambda a: F.softmax(a, -1), lambda a: tF.softmax(a, -1)),
        "log_softmax": (lambda a: F.log_softmax(a, 1), lambda a: tF.log_softmax(a, 1)),
        "cross_entropy": (lambda a: F.cross_entropy(a, ember.tensor(t), reduction="none"),
                          lambda a: tF.cross_entropy(a, torch.tensor(t), reduction="none")),
        "layer_norm": (lambda a: F.layer_norm(a, (513,), ember.tensor(w), ember.tensor(b)),
                       lambda a: tF.layer_norm(a, (513,), torch.tensor(w), torch.tensor(b))),
        "gelu": (lambda a: F.gelu(a), lambda a: tF.gelu(a)),
        "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), lambda a: tF.gelu(a, approximate="tanh")),
    }
    e_fn, t_fn = fns[op]
    parity(e_fn, t_fn, x, rtol=1e-4, atol=2e-5)


def test_layer_norm_large_weight_grads_match_torch():
    torch = pytest.importorskip("torch")
    x, w, b = randn(800, 384), randn(384), randn(384)
    parity(lambda a, c, d: F.layer_norm(a, (384,), c, d),
           lambda a, c, d: torch.nn.functional.layer_norm(a, (384,), c, d), x, w, b, rtol=1e-4, atol=1e-4)


def test_erf_and_gelu_at_huge_and_nan_inputs():
    x = np.array([-3e38, -1e20, -50.0, 50.0, 1e20, 3e38, np.nan], np.float32)
    np.testing.assert_array_equal(ops.erf(x)[:6], [-1, -1, -1, 1, 1, 1])
    assert np.isnan(ops.erf(x)[6])
    y = F.gelu(E(x[:5].copy(), grad=False)).numpy()
    np.testing.assert_array_equal(y, np.array([0, 0, 0, 50.0, 1e20], np.float32))


def test_embedding_scale_grad_by_freq_and_padding_parity():
    torch = pytest.importorskip("torch")
    idx = np.array([[1, 2, 1, 0], [4, 1, 0, 3]])
    parity(lambda w: F.embedding(ember.tensor(idx), w, padding_idx=0, scale_grad_by_freq=True),
           lambda w: torch.nn.functional.embedding(torch.tensor(idx), w, padding_idx=0, scale_grad_by_freq=True),
           randn(5, 3))
    assert gradgradcheck(lambda w: ops.Embedding.apply(w, ember.tensor(idx), 0, True), (D(5, 3),))


@pytest.mark.parametrize("name,call", [
    ("softmax_lastdim_kernel_impl", lambda x: F.softmax(x, 1)),
    ("softmax_kernel_impl", lambda x: F.softmax(x, 0)),
    ("log_softmax_lastdim_kernel_impl", lambda x: F.log_softmax(x, -1)),
    ("GeluKernelImpl", lambda x: F.gelu(x)),
    ("LayerNormKernelImpl", lambda x: F.layer_norm(x, (3,))),
    ("silu_cpu", lambda x: F.silu(x)),
    ("mse_cpu", lambda x: F.mse_loss(x, x)),
])
def test_integer_inputs_refused_like_torch(name, call):
    x = ember.tensor([[1, 2, 3]])
    with pytest.raises(NotImplementedError, match=f'"{name}" not implemented for \'Long\''):
        call(x)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        F.dropout(x)


GRADGRAD = {
    "nll": lambda a: ops.NllLoss.apply(a, ember.tensor([1, 0, 2]), None, -100, "mean"),
    "cross_entropy_prob": lambda a: ops.CrossEntropy.apply(
        a, ember.tensor(np.full((3, 4), 0.25)), None, -100, "sum", 0.0),
    "group_norm_noaffine": lambda a: ops.GroupNorm.apply(a, None, None, 2, 1e-5),
    "batch_norm_eval": lambda a: ops.BatchNorm.apply(a, None, None, ember.zeros(4, dtype=ember.float64),
                                                     ember.ones(4, dtype=ember.float64), False, 0.1, 1e-5),
    "bce": lambda a: ops.BinaryCrossEntropy.apply(a.sigmoid(), ember.tensor(np.full((3, 4), 0.3)), None, "mean"),
    "bce_logits": lambda a: ops.BinaryCrossEntropyWithLogits.apply(
        a, ember.tensor(np.full((3, 4), 0.3)), None, ember.tensor([2.0, 1.0, 0.5, 1.0], dtype=ember.float64), "sum"),
    "mse": lambda a: ops.MseLoss.apply(a, ember.tensor(np.ones((3, 4))), "mean"),
    "elu": lambda a: ops.Elu.apply(a, 0.7, 1.0, 1.0),
    "mish": lambda a: ops.Mish.apply(a),
    "softplus": lambda a: ops.Softplus.apply(a, 1.0, 20.0),
    "logsigmoid": lambda a: ops.LogSigmoid.apply(a),
}


@pytest.mark.parametrize("name", sorted(GRADGRAD))
def test_double_backward(name):
    x = _away_from(ember.tensor(RNG.standard_normal((3, 4)), dtype=ember.float64, requires_grad=True), [0])
    assert gradgradcheck(GRADGRAD[name], (x,))


def test_pdist_local_response_norm_parity():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    parity(lambda a: F.pdist(a), lambda a: tF.pdist(a), randn(5, 4))
    parity(lambda a: F.pdist(a, p=1), lambda a: tF.pdist(a, p=1), randn(4, 3))
    for shape, size in (((2, 6, 5), 3), ((2, 5, 3, 4), 2), ((1, 4, 2, 2, 2), 4)):
        parity(lambda a: F.local_response_norm(a, size, alpha=0.1, beta=0.6, k=2.0),
               lambda a: tF.local_response_norm(a, size, alpha=0.1, beta=0.6, k=2.0), randn(*shape) * 3, atol=1e-5)


def test_gumbel_softmax_soft_and_hard():
    ember.manual_seed(0)
    logits = E(randn(4, 6))
    y = F.gumbel_softmax(logits, tau=0.5)
    close(y.sum(-1), np.ones(4))
    h = F.gumbel_softmax(logits, hard=True)
    hv = h.detach().numpy()
    assert set(np.unique(hv)) <= {0.0, 1.0} and np.all(hv.sum(-1) == 1)
    h.sum().backward()     # straight-through: the soft sample's gradient reaches the logits
    assert logits.grad is not None and np.abs(logits.grad.numpy()).max() < 1e-5  # d(sum softmax) = 0


def test_triplet_margin_with_distance_loss_parity():
    torch = pytest.importorskip("torch")
    a, p, n = randn(4, 5), randn(4, 5), randn(4, 5)
    parity(lambda x, y, z: F.triplet_margin_with_distance_loss(x, y, z, swap=True),
           lambda x, y, z: torch.nn.functional.triplet_margin_with_distance_loss(x, y, z, swap=True), a, p, n)
    cos = lambda F_: (lambda x, y: 1 - F_.cosine_similarity(x, y))  # noqa: E731
    parity(lambda x, y, z: F.triplet_margin_with_distance_loss(x, y, z, distance_function=cos(F), margin=0.5,
                                                               reduction="none"),
           lambda x, y, z: torch.nn.functional.triplet_margin_with_distance_loss(
               x, y, z, distance_function=cos(torch.nn.functional), margin=0.5, reduction="none"), a, p, n)


# ---- grid_sample / affine_grid -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(mode, padding_mode, align_corners):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(2, 3, 5, 6)), rng.uniform(-1.3, 1.3, size=(2, 4, 7, 2))
    w = rng.normal(size=(2, 3, 4, 7))
    xe, ge = ember.tensor(x, requires_grad=True), ember.tensor(g, requires_grad=True)
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    ye = F.grid_sample(xe, ge, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    yt = torch.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__ == "GridSampler2DBackward0"
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ge.grad.numpy(), gt.grad.numpy(), atol=1e-11)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_gradcheck(padding_mode):
    from ember.ops.grid_sample import GridSampler2d, GridSampler3d
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.normal(size=(1, 2, 4, 5)), requires_grad=True)
    g = ember.tensor(rng.uniform(-1.1, 1.1, size=(1, 3, 3, 2)), requires_grad=True)
    assert gradcheck(lambda a, b: GridSampler2d.apply(a, b, "bilinear", padding_mode, False), (x, g))
    assert gradcheck(lambda a: GridSampler2d.apply(a, g.detach(), "nearest", padding_mode, True), (x,))
    assert gradcheck(lambda a, b: GridSampler2d.apply(a, b, "bicubic", padding_mode, False), (x, g))
    x3 = ember.tensor(rng.normal(size=(1, 2, 3, 4, 3)), requires_grad=True)
    g3 = ember.tensor(rng.uniform(-1.1, 1.1, size=(1, 2, 2, 2, 3)), requires_grad=True)
    assert gradcheck(lambda a, b: GridSampler3d.apply(a, b, "bilinear", padding_mode, True), (x3, g3))
    assert gradcheck(lambda a: GridSampler3d.apply(a, g3.detach(), "nearest", padding_mode, False), (x3,))


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_3d_matches_torch(mode, padding_mode, align_corners):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, g = rng.normal(size=(2, 2, 3, 4, 5)), rng.uniform(-1.3, 1.3, size=(2, 2, 3, 4, 3))
    w = rng.normal(size=(2, 2, 2, 3, 4))
    xe, ge = ember.tensor(x, requires_grad=True), ember.tensor(g, requires_grad=True)
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    ye = F.grid_sample(xe, ge, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    yt = torch.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__ == "GridSampler3DBackward0"
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ge.grad.numpy(), gt.grad.numpy(), atol=1e-11)


def test_affine_grid_matches_torch_and_errors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for size, shape in [((2, 3, 4, 5), (2, 2, 3)), ((2, 3, 4, 5, 3), (2, 3, 4)), ((2, 1, 1, 5), (2, 2, 3))]:
        th = rng.normal(size=shape)
        for ac in (False, True):
            if ac and min(size[2:]) == 1:
                continue
            te, tt = ember.tensor(th, requires_grad=True), torch.tensor(th, requires_grad=True)
            a = F.affine_grid(te, size, align_corners=ac)
            b = torch.nn.functional.affine_grid(tt, size, align_corners=ac)
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
            (a ** 2).sum().backward()
            (b ** 2).sum().backward()
            np.testing.assert_allclose(te.grad.numpy(), tt.grad.numpy(), atol=1e-11)
    # a spatial transformer: identity theta reproduces the image
    img = rng.normal(size=(1, 1, 4, 4)).astype(np.float32)
    ident = ember.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    out = F.grid_sample(ember.tensor(img), F.affine_grid(ident, (1, 1, 4, 4), align_corners=False), align_corners=False)
    np.testing.assert_allclose(out.numpy(), img, atol=1e-6)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(ident, (1, 1, 4, 4))
    for lib, fn in ((ember, F), (torch, torch.nn.functional)):
        msgs = []
        for call in (lambda: fn.affine_grid(lib.zeros(1, 3, 3), (1, 1, 4, 4), align_corners=False),
                     lambda: fn.affine_grid(lib.zeros(1, 2, 3, dtype=lib.int64), (1, 1, 4, 4), align_corners=False),
                     lambda: fn.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(2, 2, 2, 2), align_corners=False),
                     lambda: fn.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 2, 2, 3), align_corners=False),
                     lambda: fn.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 2, 2, 2), mode="cubic"),
                     lambda: fn.grid_sample(lib.zeros(1, 1, 2, 2, 2), lib.zeros(1, 2, 2, 2, 3), mode="bicubic",
                                            align_corners=False)):
            with pytest.raises((ValueError, RuntimeError)) as ei:
                call()
            msgs.append((type(ei.value), str(ei.value)))
        if lib is ember:
            ember_msgs = msgs
    assert ember_msgs == msgs
