"""Loss modules and functionals: the lessons' numbers, hand values, torch parity (outputs and grads), errors."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck
from ember.ops import nn as ops

RNG = np.random.default_rng(1)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def close(a, b, rtol=1e-5, atol=1e-6):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def parity(ember_mod, torch_mod, *arrays, rtol=1e-5, atol=1e-6, grad_mask=None):
    """Same inputs through an ember and a torch loss; compare loss and grads of the float inputs."""
    torch = pytest.importorskip("torch")
    grad_mask = grad_mask or [a.dtype.kind == "f" for a in arrays]
    ei = [ember.tensor(a, requires_grad=m) for a, m in zip(arrays, grad_mask)]
    ti = [torch.tensor(a, requires_grad=m) for a, m in zip(arrays, grad_mask)]
    eo, to = ember_mod(*ei), torch_mod(*ti)
    close(eo, to, rtol, atol)
    assert tuple(eo.shape) == tuple(to.shape)
    g = randn(*to.shape)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    for e, t in zip(ei, ti):
        if e.requires_grad:
            close(e.grad, t.grad, rtol, atol)
    return eo, to


# ------------------------------------------------------------------------------------------ lesson 002
SCORES = [0.8982, 0.805, 0.6393, 0.9983, 0.5731, 0.0469, 0.556, 0.1476, 0.8404, 0.5544]


def test_lesson_002_unbatched_cross_entropy_by_hand_and_module():
    score = ember.tensor(SCORES)
    target = ember.tensor(1)
    assert tuple(score.shape) == (10,) and tuple(target.shape) == ()
    by_hand = ember.log(ember.sum(ember.exp(score))) - score[target.item()]
    criterion = nn.CrossEntropyLoss()
    loss = criterion(score, target)
    assert round(loss.item(), 4) == 2.1438
    assert abs(loss.item() - by_hand.item()) < 1e-6
    assert loss.shape == ember.Size([])
    assert repr(loss) == "tensor(2.1438)"


def test_lesson_002_batch_mean_equals_loop():
    ember.manual_seed(0)
    score = ember.randn(64, 10)
    target = ember.randint(9, size=(64,))
    acc = 0
    for i in range(len(score)):
        acc += ember.log(ember.sum(ember.exp(score[i]))) - score[i, target[i].item()]
    loss = nn.CrossEntropyLoss()(score, target)
    assert abs((acc / len(score)).item() - loss.item()) < 1e-5


def test_lesson_002_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.nn.CrossEntropyLoss()(torch.tensor(SCORES), torch.tensor(1))
    e = nn.CrossEntropyLoss()(ember.tensor(SCORES), ember.tensor(1))
    assert abs(t.item() - e.item()) < 1e-6


def test_unbatched_reduction_none_is_0d():
    loss = nn.CrossEntropyLoss(reduction="none")(ember.tensor(SCORES), ember.tensor(3))
    assert loss.shape == ember.Size([])


# ------------------------------------------------------------------------------------------ lesson 004
def test_lesson_004_bce_vs_bce_with_logits_at_large_logits():
    torch = pytest.importorskip("torch")
    logits = np.array([-200.0, -100.0, -30.0, 0.0, 30.0, 100.0, 200.0], np.float32)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0], np.float32)
    e_stable = nn.BCEWithLogitsLoss()(ember.tensor(logits), ember.tensor(y))
    t_stable = torch.nn.BCEWithLogitsLoss()(torch.tensor(logits), torch.tensor(y))
    close(e_stable, t_stable)
    # the exact value: mean of softplus(-x) for y=1, softplus(x) for y=0
    sp = np.logaddexp(0, np.where(y == 1, -logits, logits).astype(np.float64))
    assert abs(e_stable.item() - sp.mean()) < 1e-4
    # BCELoss on probabilities saturates: p rounds to 0 or 1 in float32, the log is clamped at -100
    p = (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    e_naive = nn.BCELoss()(ember.tensor(p), ember.tensor(y))
    t_naive = torch.nn.BCELoss()(torch.tensor(p), torch.tensor(y))
    assert math.isfinite(e_naive.item())
    close(e_naive, t_naive, rtol=1e-5)
    assert e_naive.item() != pytest.approx(e_stable.item(), rel=1e-3)


def test_lesson_004_bce_on_sigmoid_outputs_matches_torch():
    """The lesson's pipeline: BCELoss(sigmoid(logits)). Needs sigmoid accurate for very negative logits
    (sigmoid(-30) = 9.36e-14, not 0)."""
    torch = pytest.importorskip("torch")
    logits = np.array([-200.0, -100.0, -30.0, 0.0, 30.0, 100.0, 200.0], np.float32)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0], np.float32)
    e = nn.BCELoss()(ember.tensor(logits).sigmoid(), ember.tensor(y))
    t = torch.nn.BCELoss()(torch.tensor(logits).sigmoid(), torch.tensor(y))
    close(e, t, rtol=1e-5)


def test_lesson_004_multi_margin_svm_hinge_by_hand():
    x = np.array([[0.1, 0.2, 0.4, 0.8], [0.5, -0.3, 0.2, 0.0]], np.float32)
    t = np.array([3, 0])
    loss = nn.MultiMarginLoss()(ember.tensor(x), ember.tensor(t))
    want = []
    for i in range(2):
        m = np.maximum(0, 1 - x[i, t[i]] + x[i])
        m[t[i]] = 0
        want.append(m.sum() / 4)
    assert abs(loss.item() - np.mean(want)) < 1e-6


# ------------------------------------------------------------------------------------------ BCE
def test_bce_hand_value_and_clamp():
    p = ember.tensor([0.0, 1.0, 0.25])
    y = ember.tensor([1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    close(loss, [100.0, 0.0, -math.log(0.75)])
    assert loss.grad_fn is None


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_parity(reduction):
    torch = pytest.importorskip("torch")
    p = RNG.uniform(0.02, 0.98, (4, 3)).astype(np.float32)
    y = RNG.uniform(0, 1, (4, 3)).astype(np.float32)
    w = np.abs(randn(4, 3))
    parity(nn.BCELoss(weight=ember.tensor(w), reduction=reduction),
           torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction), p, y, rtol=1e-4)
    eo, _ = parity(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), p, y, rtol=1e-4)
    assert eo.grad_fn.name() == "BinaryCrossEntropyBackward0"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_parity(reduction):
    torch = pytest.importorskip("torch")
    x = randn(5, 3) * 4
    x[0, 0], x[1, 1] = 150.0, -150.0
    y = RNG.uniform(0, 1, (5, 3)).astype(np.float32)
    pw, w = np.abs(randn(3)) + 0.5, np.abs(randn(5, 3))
    eo, _ = parity(nn.BCEWithLogitsLoss(reduction=reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction),
                   x, y, atol=1e-5)
    assert eo.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    parity(nn.BCEWithLogitsLoss(weight=ember.tensor(w), pos_weight=ember.tensor(pw), reduction=reduction),
           torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pw), reduction=reduction),
           x, y, atol=1e-5, rtol=1e-5)


def test_bce_gradchecks():
    p = ember.tensor(RNG.uniform(0.1, 0.9, (3, 2)), requires_grad=True)
    y = ember.tensor(RNG.uniform(0, 1, (3, 2)), requires_grad=True)
    w = ember.tensor(RNG.uniform(0.5, 2, (3, 2)))
    assert gradcheck(lambda a, b: ops.BinaryCrossEntropy.apply(a, b, w, "mean"), (p, y))
    x = ember.tensor(RNG.standard_normal((3, 2)) * 3, requires_grad=True)
    pw = ember.tensor([0.5, 3.0], dtype=ember.float64)
    assert gradcheck(lambda a, b: ops.BinaryCrossEntropyWithLogits.apply(a, b, w, pw, "sum"), (x, y))
    assert gradcheck(lambda a, b: ops.BinaryCrossEntropyWithLogits.apply(a, b, None, None, "none"), (x, y))


def test_bce_errors():
    with pytest.raises(ValueError, match=r"^Using a target size \(torch.Size\(\[3\]\)\) that is different to the "
                                         r"input size \(torch.Size\(\[3, 1\]\)\) is deprecated. Please ensure they "
                                         r"have the same size.$"):
        F.binary_cross_entropy(ember.rand(3, 1), ember.rand(3))
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[3\]\)\) must be the same as input size "
                                         r"\(torch.Size\(\[3, 1\]\)\)"):
        F.binary_cross_entropy_with_logits(ember.rand(3, 1), ember.rand(3))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([1.5, 0.5]), ember.tensor([1.0, 0.0]))


# ------------------------------------------------------------------------------------------ regression losses
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_parity(reduction):
    torch = pytest.importorskip("torch")
    x, y = randn(4, 5) * 2, randn(4, 5) * 2
    for em, tm in [(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction)),
                   (nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction)),
                   (nn.SmoothL1Loss(reduction=reduction), torch.nn.SmoothL1Loss(reduction=reduction)),
                   (nn.SmoothL1Loss(reduction=reduction, beta=0.5),
                    torch.nn.SmoothL1Loss(reduction=reduction, beta=0.5)),
                   (nn.HuberLoss(reduction=reduction, delta=0.7), torch.nn.HuberLoss(reduction=reduction, delta=0.7)),
                   (nn.SoftMarginLoss(reduction=reduction), torch.nn.SoftMarginLoss(reduction=reduction))]:
        eo, to = parity(em, tm, x, y, atol=1e-5, grad_mask=[True, not isinstance(em, nn.SoftMarginLoss)])
        if reduction != "none" or not isinstance(em, nn.L1Loss):
            assert eo.grad_fn.name() == type(to.grad_fn).__name__ or isinstance(em, nn.SoftMarginLoss)


def test_mse_hand_value_and_grad_fn():
    x = ember.tensor([1.0, 2.0, 4.0], requires_grad=True)
    loss = F.mse_loss(x, ember.tensor([1.0, 0.0, 1.0]))
    assert abs(loss.item() - 13 / 3) < 1e-6
    assert loss.grad_fn.name() == "MseLossBackward0"
    loss.backward()
    close(x.grad, [0.0, 4 / 3, 2.0])


def test_mse_broadcast_warning_and_weight():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(ember.rand(3, 1), ember.rand(3))
    x, y, w = randn(3, 4), randn(3, 4), np.abs(randn(3, 4))
    close(F.mse_loss(ember.tensor(x), ember.tensor(y), weight=ember.tensor(w)),
          torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(y), weight=torch.tensor(w)))
    close(F.l1_loss(ember.tensor(x), ember.tensor(y), weight=ember.tensor(w), reduction="sum"),
          torch.nn.functional.l1_loss(torch.tensor(x), torch.tensor(y), weight=torch.tensor(w), reduction="sum"))


def test_pointwise_loss_gradchecks():
    x = ember.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    y = ember.tensor(RNG.standard_normal((3, 4)) + 0.3, requires_grad=True)
    assert gradcheck(lambda a, b: ops.MseLoss.apply(a, b, "mean"), (x, y))
    assert gradcheck(lambda a, b: ops.SmoothL1Loss.apply(a, b, "sum", 0.4), (x, y))
    assert gradcheck(lambda a, b: ops.HuberLoss.apply(a, b, "none", 0.6), (x, y))


# ------------------------------------------------------------------------------------------ class losses
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_and_nll_modules_parity(reduction):
    torch = pytest.importorskip("torch")
    x = randn(6, 4)
    t = np.array([0, 3, 2, 1, 1, 2])
    w = np.abs(randn(4)) + 0.2
    parity(lambda a: nn.CrossEntropyLoss(weight=ember.tensor(w), ignore_index=2, reduction=reduction,
                                         label_smoothing=0.1)(a, ember.tensor(t)),
           lambda a: torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=2, reduction=reduction,
                                               label_smoothing=0.1)(a, torch.tensor(t)), x)
    parity(lambda a: nn.NLLLoss(weight=ember.tensor(w), reduction=reduction)(nn.LogSoftmax(1)(a), ember.tensor(t)),
           lambda a: torch.nn.NLLLoss(weight=torch.tensor(w), reduction=reduction)(
               torch.nn.LogSoftmax(1)(a), torch.tensor(t)), x)


def test_cross_entropy_module_holds_weight_buffer():
    w = ember.tensor([1.0, 2.0])
    m = nn.CrossEntropyLoss(weight=w)
    assert "weight" in dict(m.named_buffers())
    assert repr(m) == "CrossEntropyLoss()"
    assert repr(nn.BCEWithLogitsLoss(pos_weight=ember.tensor([2.0]))) == "BCEWithLogitsLoss()"


@pytest.mark.parametrize("p,margin", [(1, 1.0), (2, 0.5)])
def test_multi_margin_parity(p, margin):
    torch = pytest.importorskip("torch")
    x, t = randn(5, 4), np.array([0, 3, 1, 2, 3])
    w = np.abs(randn(4)) + 0.1
    for red in ("mean", "none"):
        parity(lambda a: nn.MultiMarginLoss(p=p, margin=margin, weight=ember.tensor(w), reduction=red)(
                   a, ember.tensor(t)),
               lambda a: torch.nn.MultiMarginLoss(p=p, margin=margin, weight=torch.tensor(w), reduction=red)(
                   a, torch.tensor(t)), x)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)


def test_multilabel_losses_parity():
    torch = pytest.importorskip("torch")
    x = randn(3, 5)
    t = np.array([[3, 0, -1, 1, 1], [1, 2, 4, 0, -1], [-1, 0, 0, 0, 0]])
    for red in ("mean", "none"):
        parity(lambda a: nn.MultiLabelMarginLoss(reduction=red)(a, ember.tensor(t)),
               lambda a: torch.nn.MultiLabelMarginLoss(reduction=red)(a, torch.tensor(t)), x)
    y = (RNG.uniform(size=(3, 5)) > 0.5).astype(np.float32)
    parity(nn.MultiLabelSoftMarginLoss(), torch.nn.MultiLabelSoftMarginLoss(), x, y)


def test_embedding_losses_parity():
    torch = pytest.importorskip("torch")
    a, b = randn(4, 6), randn(4, 6)
    y = np.array([1.0, -1.0, 1.0, -1.0], np.float32)
    for red in ("mean", "sum", "none"):
        parity(lambda u, v, t: nn.CosineEmbeddingLoss(margin=0.2, reduction=red)(u, v, t),
               lambda u, v, t: torch.nn.CosineEmbeddingLoss(margin=0.2, reduction=red)(u, v, t), a, b, y,
               grad_mask=[True, True, False])
        parity(lambda u, v, t: nn.MarginRankingLoss(margin=0.1, reduction=red)(u, v, t),
               lambda u, v, t: torch.nn.MarginRankingLoss(margin=0.1, reduction=red)(u, v, t),
               a[:, 0].copy(), b[:, 0].copy(), y, grad_mask=[True, True, False])
        parity(lambda u, t: nn.HingeEmbeddingLoss(margin=0.5, reduction=red)(u, t),
               lambda u, t: torch.nn.HingeEmbeddingLoss(margin=0.5, reduction=red)(u, t), a[:, 0].copy(), y,
               grad_mask=[True, False])
        n = randn(4, 6)
        parity(lambda u, v, w: nn.TripletMarginLoss(margin=0.5, swap=True, reduction=red)(u, v, w),
               lambda u, v, w: torch.nn.TripletMarginLoss(margin=0.5, swap=True, reduction=red)(u, v, w),
               a, b, n, atol=1e-5)


def test_kl_div_parity():
    torch = pytest.importorskip("torch")
    logp = np.log(RNG.dirichlet(np.ones(5), 4)).astype(np.float32)
    q = RNG.dirichlet(np.ones(5), 4).astype(np.float32)
    q[0, 0] = 0.0
    for red in ("batchmean", "sum", "none"):
        parity(nn.KLDivLoss(reduction=red), torch.nn.KLDivLoss(reduction=red), logp, q, atol=1e-6)
        parity(nn.KLDivLoss(reduction=red, log_target=True), torch.nn.KLDivLoss(reduction=red, log_target=True),
               logp, np.log(q + 0.1).astype(np.float32), atol=1e-6)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(ember.tensor(logp), ember.tensor(q))


def test_gaussian_and_poisson_nll_parity():
    torch = pytest.importorskip("torch")
    x, y = randn(4, 3), randn(4, 3)
    var = np.abs(randn(4, 3)) + 0.1
    for red in ("mean", "sum", "none"):
        parity(nn.GaussianNLLLoss(reduction=red, full=True), torch.nn.GaussianNLLLoss(reduction=red, full=True),
               x, y, var, atol=1e-5)
        yc = RNG.poisson(2.0, (4, 3)).astype(np.float32)
        parity(nn.PoissonNLLLoss(reduction=red), torch.nn.PoissonNLLLoss(reduction=red), x, yc, atol=1e-5,
               grad_mask=[True, False])
        parity(nn.PoissonNLLLoss(log_input=False, full=True, reduction=red),
               torch.nn.PoissonNLLLoss(log_input=False, full=True, reduction=red), np.abs(x) + 0.1, yc,
               atol=1e-5, grad_mask=[True, False])
    parity(nn.GaussianNLLLoss(), torch.nn.GaussianNLLLoss(), x, y, var[:, 0].copy(), atol=1e-5)  # homoscedastic
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(ember.tensor(x), ember.tensor(y), ember.tensor(-var))


def test_invalid_reduction_raises():
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(ember.rand(3), ember.rand(3), reduction="foo")


def test_loss_training_step_decreases():
    ember.manual_seed(0)
    model = nn.Linear(4, 3)
    x, t = ember.randn(32, 4), ember.randint(0, 3, (32,))
    lossf = nn.CrossEntropyLoss()
    first = lossf(model(x), t).item()
    for _ in range(50):
        model.zero_grad()
        loss = lossf(model(x), t)
        loss.backward()
        with ember.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < first


# ------------------------------------------------------------------------------------------ CTC
def _ctc_case(T=12, N=3, C=6, S=4):
    logits = randn(T, N, C)
    targets = RNG.integers(1, C, (N, S))
    targets[0, 1] = targets[0, 0]                  # a repeat needs a blank between
    in_len = np.array([T, T - 2, T - 5][:N])
    tgt_len = np.array([S, S - 1, 2][:N])
    return logits, targets, in_len, tgt_len


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_loss_parity_through_log_softmax(reduction):
    torch = pytest.importorskip("torch")
    logits, targets, il, tl = _ctc_case()
    parity(lambda a: nn.CTCLoss(reduction=reduction)(a.log_softmax(2) if hasattr(a, "log_softmax") else
                                                     F.log_softmax(a, 2), ember.tensor(targets),
                                                     ember.tensor(il), ember.tensor(tl)),
           lambda a: torch.nn.CTCLoss(reduction=reduction)(a.log_softmax(2), torch.tensor(targets),
                                                           torch.tensor(il), torch.tensor(tl)), logits, atol=1e-5)


def test_ctc_loss_grad_on_log_probs_leaf_and_concatenated_targets():
    torch = pytest.importorskip("torch")
    logits, targets, il, tl = _ctc_case()
    lp = torch.tensor(logits).log_softmax(2).numpy()
    flat = np.concatenate([targets[i, :tl[i]] for i in range(3)])
    eo, to = parity(lambda a: F.ctc_loss(a, ember.tensor(flat), ember.tensor(il), ember.tensor(tl)),
                    lambda a: torch.nn.functional.ctc_loss(a, torch.tensor(flat), torch.tensor(il),
                                                           torch.tensor(tl)), lp, atol=1e-5)
    assert eo.grad_fn.name() == type(to.grad_fn).__name__ == "MeanBackward0"


def test_ctc_loss_unbatched_and_impossible_target():
    torch = pytest.importorskip("torch")
    lp = torch.randn(5, 4).log_softmax(1).numpy()
    parity(lambda a: F.ctc_loss(a, ember.tensor([1, 2]), ember.tensor(5), ember.tensor(2), reduction="sum"),
           lambda a: torch.nn.functional.ctc_loss(a, torch.tensor([1, 2]), torch.tensor(5), torch.tensor(2),
                                                  reduction="sum"), lp, atol=1e-5)
    # 3 labels with a repeat need 4 frames; 3 frames are impossible: inf, or 0 with zero_infinity
    lp3 = torch.randn(3, 1, 4).log_softmax(2)
    t, il, tl = torch.tensor([[1, 1, 2]]), torch.tensor([3]), torch.tensor([3])
    e = F.ctc_loss(ember.tensor(lp3.numpy()), ember.tensor(t.numpy()), ember.tensor(il.numpy()),
                   ember.tensor(tl.numpy()), reduction="sum")
    assert math.isinf(e.item()) and math.isinf(torch.nn.functional.ctc_loss(lp3, t, il, tl, reduction="sum"))
    x = ember.tensor(lp3.numpy(), requires_grad=True)
    z = F.ctc_loss(x, ember.tensor(t.numpy()), ember.tensor(il.numpy()), ember.tensor(tl.numpy()),
                   zero_infinity=True)
    assert z.item() == 0.0
    z.backward()
    assert np.all(x.grad.numpy() == 0)
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 3, but got value 4"):
        F.ctc_loss(ember.tensor(lp3.numpy()), ember.tensor(t.numpy()), ember.tensor([4]), ember.tensor(tl.numpy()))


def test_ctc_loss_gradcheck_through_log_softmax():
    """CtcLoss's backward is torch's: the gradient for the logits under a log_softmax, so check that chain."""
    t = np.array([[1, 2, 2], [3, 1, 0]])
    il, tl = np.array([7, 6]), np.array([3, 2])
    x = ember.tensor(RNG.standard_normal((7, 2, 4)), requires_grad=True)
    assert gradcheck(lambda a: ops.CtcLoss.apply(ops.LogSoftmax.apply(a, 2), t, il, tl, 0, False), (x,))
