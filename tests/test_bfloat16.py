"""bfloat16 (a real 2-byte dtype through ml_dtypes): printing, promotion, conversion, math -- against torch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _both(fn):
    return fn(torch), fn(ember)


def _same_repr(fn):
    t, e = _both(fn)
    assert repr(e) == repr(t)


def test_bfloat16_is_a_real_two_byte_float():
    assert ember.bfloat16.itemsize == torch.bfloat16.itemsize == 2
    assert ember.bfloat16.is_floating_point and repr(ember.bfloat16) == "torch.bfloat16"
    x = ember.ones(3, dtype=ember.bfloat16)
    assert x.element_size() == 2 and x.dtype is ember.bfloat16
    assert str(ember.finfo(ember.bfloat16)) == str(torch.finfo(torch.bfloat16))
    assert ember.finfo(ember.bfloat16).eps == torch.finfo(torch.bfloat16).eps
    assert str(ember.finfo(ember.float32)) == str(torch.finfo(torch.float32))


@pytest.mark.parametrize("a,b", [("bfloat16", "float16"), ("bfloat16", "float32"), ("bfloat16", "float64"),
                                 ("bfloat16", "int64"), ("bfloat16", "bool"), ("bfloat16", "complex64"),
                                 ("float16", "bfloat16")])
def test_promotion_matches_torch(a, b):
    assert repr(ember.promote_types(getattr(ember, a), getattr(ember, b))) == \
        repr(torch.promote_types(getattr(torch, a), getattr(torch, b)))
    t, e = _both(lambda lib: (lib.ones(2, dtype=getattr(lib, a)) + lib.ones(2, dtype=getattr(lib, b))).dtype)
    assert repr(e) == repr(t)


@pytest.mark.parametrize("expr", [
    lambda lib: (lib.arange(6.).reshape(2, 3) / 3).to(lib.bfloat16),
    lambda lib: (lib.arange(6.).reshape(2, 3) / 3).bfloat16().float(),
    lambda lib: (lib.arange(6.) / 7).bfloat16().double(),
    lambda lib: (lib.arange(6.) * 1.37).bfloat16().to(lib.int64),
    lambda lib: lib.tensor([1.1, 2.7, -1e10, 3e-3], dtype=lib.bfloat16),
    lambda lib: lib.zeros(2, 2, dtype=lib.bfloat16),
    lambda lib: lib.arange(5.).bfloat16() + 1,
    lambda lib: lib.arange(5.).bfloat16() * 2.5,
    lambda lib: (lib.arange(4.) / 3).bfloat16() + (lib.arange(4.) / 3).half(),
    lambda lib: (lib.arange(4.) / 3).bfloat16() - lib.arange(4.) / 7,
    lambda lib: lib.tensor(2.5, dtype=lib.bfloat16),
    lambda lib: lib.exp((lib.arange(6.) / 5).bfloat16()),
    lambda lib: lib.sigmoid((lib.arange(6.) - 3).bfloat16()),
    lambda lib: lib.tanh((lib.arange(6.) - 3).bfloat16()),
    lambda lib: lib.relu((lib.arange(6.) - 3).bfloat16()),
    lambda lib: (lib.sin(lib.arange(12.)) * 3).bfloat16().sum(),
    lambda lib: (lib.sin(lib.arange(12.)) * 3).bfloat16().reshape(3, 4).sum(0),
    lambda lib: (lib.sin(lib.arange(12.)) * 3).bfloat16().mean(),
    lambda lib: (lib.sin(lib.arange(12.)) * 3).bfloat16().max(),
    lambda lib: lib.softmax((lib.sin(lib.arange(12.)) * 3).bfloat16().reshape(3, 4), -1),
    lambda lib: lib.nn.functional.layer_norm((lib.sin(lib.arange(24.)) * 3).bfloat16().reshape(4, 6), (6,)),
    lambda lib: lib.nn.functional.cross_entropy((lib.sin(lib.arange(24.)) * 3).bfloat16().reshape(4, 6),
                                                lib.tensor([0, 1, 2, 3])),
    lambda lib: lib.nn.functional.mse_loss((lib.sin(lib.arange(24.)) * 3).bfloat16(),
                                           lib.ones(24, dtype=lib.bfloat16)),
], ids=lambda f: "")
def test_values_and_printing_match_torch(expr):
    _same_repr(expr)


def test_item_tolist_and_numpy_like_torch():
    t, e = _both(lambda lib: (lib.arange(4.) / 3).bfloat16())
    assert e.tolist() == t.tolist() and e[1].item() == t[1].item()
    assert isinstance(e[1].item(), float)
    with pytest.raises(TypeError, match="BFloat16"):
        t.numpy()
    with pytest.raises(TypeError, match="BFloat16"):
        e.numpy()


def _weights(lib, shape, seed):
    n = int(np.prod(shape))
    return (lib.sin(lib.arange(n, dtype=lib.float32) * 0.7 + seed) * 0.5).reshape(shape)


@pytest.mark.parametrize("op", [
    lambda lib, a, b: a @ b,
    lambda lib, a, b: lib.mm(a, b),
    lambda lib, a, b: lib.matmul(a[0], b),
    lambda lib, a, b: lib.bmm(a.unsqueeze(0).expand(2, 5, 7), b.unsqueeze(0).expand(2, 7, 3)),
    lambda lib, a, b: lib.nn.functional.linear(a, b.T, _weights(lib, (3,), 4).bfloat16()),
    lambda lib, a, b: lib.addmm(_weights(lib, (3,), 5).bfloat16(), a, b, beta=0.5, alpha=2),
    lambda lib, a, b: lib.nn.functional.linear(a, b.T),
], ids=["matmul", "mm", "vecmat", "bmm", "linear", "addmm", "linear-nobias"])
def test_matrix_products_round_once_like_torch(op):
    """NumPy has no bfloat16 matmul: Ember multiplies in float32 and rounds the result once, as torch."""
    t, e = _both(lambda lib: op(lib, _weights(lib, (5, 7), 1).bfloat16(), _weights(lib, (7, 3), 2).bfloat16()))
    assert e.dtype is ember.bfloat16
    assert repr(e) == repr(t)


def test_conv2d_and_gradients_in_bfloat16_match_torch():
    def run(lib):
        conv = lib.nn.Conv2d(2, 3, 3).bfloat16()
        with lib.no_grad():
            for i, p in enumerate(conv.parameters()):
                p.copy_(lib.cos(lib.arange(p.numel()) + i).reshape(p.shape))
        x = lib.sin(lib.arange(50.)).reshape(1, 2, 5, 5).bfloat16().requires_grad_()
        y = conv(x)
        y.float().square().sum().backward()
        return y, x.grad, conv.bias.grad
    for t, e in zip(*_both(run)):
        assert e.dtype is ember.bfloat16
        np.testing.assert_allclose(e.float().detach().numpy(), t.float().detach().numpy(), rtol=2 ** -7, atol=1e-2)
    t, e = _both(run)
    assert repr(e[0]) == repr(t[0])


def test_softmax_backward_reads_the_rounded_output_like_torch():
    def run(lib):
        x = (lib.sin(lib.arange(24.)) * 3).reshape(4, 6).bfloat16().requires_grad_()
        y = lib.softmax(x, -1)
        (y * lib.cos(lib.arange(24.)).reshape(4, 6).bfloat16()).sum().backward()
        return x.grad
    t, e = _both(run)
    assert e.dtype is ember.bfloat16 and repr(e) == repr(t)


def test_gradient_flows_back_through_a_cast_as_float32():
    t, e = _both(lambda lib: lib.tensor([0.3, 1.7, -2.2], requires_grad=True))
    for lib, a in ((torch, t), (ember, e)):
        b = a.bfloat16()
        (b * b).sum().backward()
    assert e.grad.dtype is ember.float32 and repr(e.grad) == repr(t.grad)


def test_bfloat16_module_and_state_dict():
    m = ember.nn.Linear(3, 2).to(ember.bfloat16)
    assert all(p.dtype is ember.bfloat16 for p in m.parameters())
    assert m.weight.requires_grad and m(ember.ones(1, 3, dtype=ember.bfloat16)).dtype is ember.bfloat16
    assert m.float().weight.dtype is ember.float32


def test_random_bfloat16_tensors_match_torch_for_the_same_seed():
    t, e = _both(lambda lib: (lib.manual_seed(3), lib.rand(4, dtype=lib.bfloat16), lib.randn(4, dtype=lib.bfloat16),
                              lib.empty(3, dtype=lib.bfloat16).uniform_(-1, 1))[1:])
    assert [repr(a) for a in e] == [repr(a) for a in t]
