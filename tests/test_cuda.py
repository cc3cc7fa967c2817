"""The CUDA path: the same op code on CuPy arrays. Skipped where there is no CuPy or no GPU."""
import numpy as np
import pytest

import ember
from ember import nn
import ember.nn.functional as F

pytestmark = pytest.mark.skipif(not ember.cuda.is_available(), reason="needs CuPy and a CUDA GPU")


def test_device_moves_and_printing():
    x = ember.arange(6.0).view(2, 3)
    g = x.cuda()
    assert g.device == ember.device("cuda:0") and g.is_cuda
    assert "device='cuda:0'" in repr(g)
    assert np.array_equal(g.cpu().numpy(), x.numpy())
    assert g.to("cpu").device.type == "cpu"
    with pytest.raises(RuntimeError, match="same device"):
        _ = x + g


def test_ops_and_autograd_match_cpu():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    results = []
    for dev in ("cpu", "cuda"):
        x = ember.tensor(a, device=dev, requires_grad=True)
        w = ember.tensor(b, device=dev, requires_grad=True)
        y = (x @ w).tanh().sum(dim=1).exp().mean() + x.softmax(-1).max() + x[1:, ::2].abs().sum()
        y.backward()
        results.append((y.item(), x.grad.cpu().numpy(), w.grad.cpu().numpy()))
    (y0, gx0, gw0), (y1, gx1, gw1) = results
    assert abs(y0 - y1) < 1e-4
    np.testing.assert_allclose(gx0, gx1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gw0, gw1, rtol=1e-4, atol=1e-5)


def test_training_step_on_gpu():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 3)).cuda()
    assert all(p.is_cuda for p in model.parameters())
    opt = ember.optim.Adam(model.parameters(), lr=1e-2)
    x = ember.randn(32, 8).cuda()
    y = ember.randint(0, 3, (32,)).cuda()
    losses = []
    for _ in range(20):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_conv_and_attention_on_gpu():
    ember.manual_seed(0)
    conv = nn.Conv2d(1, 4, 3, padding=1).cuda()
    out = conv(ember.randn(2, 1, 8, 8).cuda())
    out.sum().backward()
    assert out.shape == (2, 4, 8, 8) and conv.weight.grad.is_cuda
    mha = nn.MultiheadAttention(16, 4, batch_first=True).cuda()
    q = ember.randn(2, 5, 16).cuda()
    o, w = mha(q, q, q)
    o.sum().backward()
    assert o.is_cuda and w.shape == (2, 5, 5)
