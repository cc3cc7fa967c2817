"""torch.utils.checkpoint vs ember.utils.checkpoint: the same outputs and gradients as without checkpointing
(and as torch), activations not kept, dropout replayed with the saved RNG state, both use_reentrant modes,
checkpoint_sequential, autograd.grad through a checkpoint, torch's warnings."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import ember
from ember.utils.checkpoint import checkpoint as e_checkpoint, checkpoint_sequential as e_checkpoint_sequential

torch = pytest.importorskip("torch")
from torch.utils.checkpoint import checkpoint as t_checkpoint, checkpoint_sequential as t_checkpoint_sequential  # noqa


def make(L, seed=0):
    m = L.nn.Sequential(L.nn.Linear(4, 8), L.nn.Tanh(), L.nn.Linear(8, 8), L.nn.ReLU(), L.nn.Linear(8, 2)).double()
    with L.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(L.tensor(np.sin(np.arange(p.numel()) * 0.7 + i).reshape(tuple(p.shape))))
    return m


X = np.cos(np.arange(12.0)).reshape(3, 4)


def grads(m):
    return [p.grad.numpy().copy() for p in m.parameters()]


@pytest.mark.parametrize("reentrant", [True, False])
def test_gradients_equal_plain_and_torch(reentrant):
    results = []
    for L, ckpt in ((ember, e_checkpoint), (torch, t_checkpoint)):
        m = make(L)
        x = L.tensor(X, requires_grad=True)
        y = ckpt(lambda a: m[2](m[1](m[0](a))), x, use_reentrant=reentrant)
        out = m[4](m[3](y))
        (out ** 2).sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy(), grads(m)))
        m2 = make(L)
        x2 = L.tensor(X, requires_grad=True)
        (m2(x2) ** 2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-12)
        for a, b in zip(grads(m), grads(m2)):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    (oe, xe, ge), (ot, xt, gt) = results
    np.testing.assert_allclose(oe, ot, rtol=1e-12)
    np.testing.assert_allclose(xe, xt, rtol=1e-12)
    for a, b in zip(ge, gt):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_activations_are_not_kept():
    m = make(ember)
    kept = []

    def block(a):
        h = m[1](m[0](a))
        kept.append(weakref.ref(h))
        return m[2](h)
    x = ember.tensor(X, requires_grad=True)
    y = e_checkpoint(block, x, use_reentrant=False)
    gc.collect()
    assert kept[0]() is None  # the forward's intermediate tensor is gone
    assert type(y.grad_fn).__name__ == "CheckpointFunctionBackward"
    # the node's edges: the input and the three parameters of the block, nothing in between
    assert len([n for n, _ in y.grad_fn.next_functions if n is not None]) == 5
    z = block(x)  # without checkpoint the graph holds it
    gc.collect()
    assert kept[1]() is not None and z.grad_fn is not None
    y.sum().backward()
    assert x.grad is not None and m[0].weight.grad is not None


@pytest.mark.parametrize("reentrant", [True, False])
def test_dropout_replays_the_same_mask(reentrant):
    ember.manual_seed(0)
    drop = ember.nn.Dropout(0.5)
    lin = ember.nn.Linear(6, 6).double()
    x = ember.tensor(np.ones((4, 6)), requires_grad=True)
    y = e_checkpoint(lambda a: lin(drop(a)), x, use_reentrant=reentrant)
    y.sum().backward()
    assert 0 < int((x.grad == 0).sum()) < 24  # some units dropped
    ember.manual_seed(0)
    drop2 = ember.nn.Dropout(0.5)
    ember.nn.Linear(6, 6)  # the same draws as before the first forward
    x2 = ember.tensor(np.ones((4, 6)), requires_grad=True)
    lin(drop2(x2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy())  # the recompute drew the forward's mask


def test_autograd_grad_and_kwargs_non_reentrant():
    m = make(ember)
    x = ember.tensor(X, requires_grad=True)
    y = e_checkpoint(lambda a, scale: m(a) * scale, x, scale=2.0, use_reentrant=False)
    gx, gw = ember.autograd.grad(y.sum(), (x, m[0].weight))
    x2 = ember.tensor(X, requires_grad=True)
    gx2, gw2 = ember.autograd.grad((m(x2) * 2.0).sum(), (x2, m[0].weight))
    np.testing.assert_allclose(gx.numpy(), gx2.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), gw2.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        e_checkpoint(lambda a, scale: a, x, scale=2.0, use_reentrant=True)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        t_checkpoint(lambda a, scale: a, torch.ones(1), scale=2.0, use_reentrant=True)


def test_tuple_outputs_and_non_tensor_args():
    for L, ckpt in ((ember, e_checkpoint), (torch, t_checkpoint)):
        x = L.tensor(X, requires_grad=True)
        a, b = ckpt(lambda t, k: (t.sin() * k, t.cos()), x, 3.0, use_reentrant=False)
        (a.sum() + (b ** 2).sum()).backward()
        if L is ember:
            ge = x.grad.numpy()
        else:
            np.testing.assert_allclose(ge, x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential(segments):
    results = []
    for L, seq in ((ember, e_checkpoint_sequential), (torch, t_checkpoint_sequential)):
        m = make(L)
        x = L.tensor(X, requires_grad=True)
        out = seq(m, segments, x, use_reentrant=False)
        out.sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy(), grads(m)))
    (oe, xe, ge), (ot, xt, gt) = results
    np.testing.assert_allclose(oe, ot, rtol=1e-12)
    np.testing.assert_allclose(xe, xt, rtol=1e-12)
    for a, b in zip(ge, gt):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_warnings_like_torch():
    for L, ckpt in ((ember, e_checkpoint), (torch, t_checkpoint)):
        lin = L.nn.Linear(2, 2)
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
            ckpt(lin, L.ones(1, 2, requires_grad=True))
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            y = ckpt(lin, L.ones(1, 2), use_reentrant=True)
        assert not y.requires_grad  # the reentrant variant's pitfall, as torch
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = ckpt(lin, L.ones(1, 2), use_reentrant=False)
        assert y.requires_grad
        with L.no_grad():
            assert ckpt(lin, L.ones(1, 2, requires_grad=True), use_reentrant=False).grad_fn is None
