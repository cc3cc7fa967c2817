"""Convolution, pooling, padding, interpolation and unfold/fold: values and gradients vs PyTorch,
gradchecks of every Function, module reprs, init, errors."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# ----------------------------------------------------------------------------- helpers
def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def pair(a, requires_grad=True):
    """The same values as an ember tensor and a torch tensor (both leaves)."""
    return (ember.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad))


def close(e, t, rel=1e-5):
    a = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
    b = t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1e-3)
    err = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) if b.size else 0.0
    assert err <= rel * scale, f"max abs err {err} > {rel} * {scale}"


def backward_both(ye, yt, seed=123):
    g = rand(*yt.shape, seed=seed)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))


def check_fn(ef, tf, arrays, grads=True, **kw):
    """Run ember fn and torch fn on the same inputs; compare output and all input grads."""
    es, ts = zip(*[pair(a, grads) for a in arrays])
    ye, yt = ef(*es, **kw), tf(*ts, **kw)
    close(ye, yt)
    if grads:
        backward_both(ye, yt)
        for e, t in zip(es, ts):
            close(e.grad, t.grad)
    return ye, yt


def copy_params(emod, tmod):
    en = dict(emod.named_parameters())
    tn = dict(tmod.named_parameters())
    assert list(en) == list(tn)
    for k, p in en.items():
        p._data[...] = tn[k].detach().numpy()
        p._bump()


# ----------------------------------------------------------------------------- conv
CONV2D_CASES = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=1),
    dict(stride=1, padding="same", dilation=1, groups=1),
    dict(stride=1, padding="same", dilation=2, groups=2),
    dict(stride=1, padding="valid", dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=4),
    dict(stride=3, padding=2, dilation=2, groups=2),
]


@pytest.mark.parametrize("case", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(case, bias):
    x = rand(2, 4, 11, 10, seed=1)
    w = rand(8, 4 // case["groups"], 3, 2, seed=2)   # even kernel width exercises asymmetric 'same'
    arrays = [x, w] + ([rand(8, seed=3)] if bias else [])
    check_fn(lambda *a: F.conv2d(*a, **case), lambda *a: TF.conv2d(*a, **case), arrays)


@pytest.mark.parametrize("case", [dict(stride=1, padding=0), dict(stride=2, padding=2, dilation=3),
                                  dict(padding="same", dilation=2), dict(groups=3, stride=2, padding=1)])
def test_conv1d_matches_torch(case):
    x, w, b = rand(3, 6, 17, seed=4), rand(9, 6 // case.get("groups", 1), 4, seed=5), rand(9, seed=6)
    check_fn(lambda *a: F.conv1d(*a, **case), lambda *a: TF.conv1d(*a, **case), [x, w, b])


def test_conv2d_unbatched_and_conv3d():
    check_fn(F.conv2d, TF.conv2d, [rand(3, 8, 8), rand(5, 3, 3, 3, seed=1)], padding=1)
    check_fn(F.conv3d, TF.conv3d, [rand(2, 2, 5, 6, 4), rand(3, 2, 2, 3, 2, seed=1), rand(3, seed=2)], stride=(1, 2, 1))


@pytest.mark.parametrize("case", [dict(stride=1), dict(stride=2, padding=1, output_padding=1),
                                  dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2), dilation=(1, 2)),
                                  dict(stride=2, groups=2, padding=1)])
def test_conv_transpose2d_matches_torch(case):
    x, w, b = rand(2, 4, 5, 6, seed=7), rand(4, 6 // case.get("groups", 1), 3, 3, seed=8), rand(6, seed=9)
    check_fn(lambda *a: F.conv_transpose2d(*a, **case), lambda *a: TF.conv_transpose2d(*a, **case), [x, w, b])


def test_conv_transpose1d_matches_torch():
    check_fn(F.conv_transpose1d, TF.conv_transpose1d, [rand(2, 3, 7), rand(3, 4, 3, seed=1), rand(4, seed=2)],
             stride=2, padding=1, output_padding=1)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_module_padding_modes(mode):
    torch.manual_seed(0)
    tm = torch.nn.Conv2d(3, 5, (3, 4), padding=(1, 2), padding_mode=mode)
    em = nn.Conv2d(3, 5, (3, 4), padding=(1, 2), padding_mode=mode)
    copy_params(em, tm)
    x = rand(2, 3, 7, 9)
    xe, xt = pair(x)
    ye, yt = em(xe), tm(xt)
    close(ye, yt)
    backward_both(ye, yt)
    close(xe.grad, xt.grad)
    close(em.weight.grad, tm.weight.grad)
    close(em.bias.grad, tm.bias.grad)


def test_conv_module_same_padding_even_kernel_with_mode():
    tm = torch.nn.Conv1d(2, 3, 4, padding="same", dilation=2, padding_mode="reflect")
    em = nn.Conv1d(2, 3, 4, padding="same", dilation=2, padding_mode="reflect")
    copy_params(em, tm)
    x = rand(2, 2, 12)
    close(em(ember.tensor(x)), tm(torch.tensor(x)))
    assert em._reversed_padding_repeated_twice == tm._reversed_padding_repeated_twice


def test_conv_transpose2d_module_output_size():
    tm = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    em = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    copy_params(em, tm)
    x = rand(1, 4, 5, 5)
    ye, yt = em(ember.tensor(x), output_size=[10, 10]), tm(torch.tensor(x), output_size=[10, 10])
    assert tuple(ye.shape) == (1, 2, 10, 10)
    close(ye, yt)
    with pytest.raises(ValueError, match="requested an output size of"):
        em(ember.tensor(x), output_size=[20, 20])


def test_conv_module_repr_and_shapes():
    pairs = [
        (nn.Conv2d(3, 4, 3, padding="same"), torch.nn.Conv2d(3, 4, 3, padding="same")),
        (nn.Conv2d(4, 8, (3, 5), stride=2, padding=1, dilation=2, groups=2, bias=False, padding_mode="reflect"),
         torch.nn.Conv2d(4, 8, (3, 5), stride=2, padding=1, dilation=2, groups=2, bias=False,
                         padding_mode="reflect")),
        (nn.Conv1d(1, 2, 5), torch.nn.Conv1d(1, 2, 5)),
        (nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1), torch.nn.ConvTranspose2d(3, 4, 3, stride=2,
                                                                                          output_padding=1)),
    ]
    for e, t in pairs:
        assert repr(e) == repr(t)
        assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
               [(n, tuple(p.shape)) for n, p in t.named_parameters()]


def test_conv_default_init_bounds():
    ember.manual_seed(0)
    m = nn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    bound = 1 / math.sqrt(fan_in)          # kaiming_uniform(a=sqrt(5)) gives the same bound
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_conv_errors():
    x = ember.randn(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match=r"expected input\[2, 3, 8, 8\] to have 2 channels, but got 3"):
        F.conv2d(x, ember.randn(4, 2, 3, 3))
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(x, ember.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"):
        F.conv2d(ember.randn(8, 8), ember.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(ember.randn(1, 3, 2, 2), ember.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_conv_grad_fn_names_and_dtype():
    x = ember.randn(1, 2, 6, 6, requires_grad=True)
    w = ember.randn(3, 2, 3, 3, requires_grad=True)
    y = F.conv2d(x, w)
    assert y.grad_fn.name() == "ConvolutionBackward0" and y.dtype == ember.float32
    assert F.conv_transpose2d(x, w.transpose(0, 1)).grad_fn.name() == "ConvolutionBackward0"
    assert F.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert F.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
    assert F.adaptive_avg_pool2d(x, 3).grad_fn.name() == "AdaptiveAvgPool2DBackward0"
    assert F.pad(x, (1, 1)).grad_fn.name() == "ConstantPadNdBackward0"
    assert F.pad(x, (1, 1, 1, 1), mode="reflect").grad_fn.name() == "ReflectionPad2DBackward0"
    assert F.pad(x, (1, 1, 1, 1), mode="replicate").grad_fn.name() == "ReplicationPad2DBackward0"
    assert F.interpolate(x, scale_factor=2).grad_fn.name() == "UpsampleNearest2DBackward0"
    assert F.interpolate(x, scale_factor=2, mode="bilinear").grad_fn.name() == "UpsampleBilinear2DBackward0"
    assert F.unfold(x, 2).grad_fn.name() == "Im2ColBackward0"
    assert F.fold(F.unfold(x, 2), (6, 6), 2).grad_fn.name() == "Col2ImBackward0"


def test_conv_double_backward_matches_torch():
    x, w = rand(1, 2, 5, 5), rand(3, 2, 3, 3, seed=1)
    xe, xt = pair(x)
    we, wt = pair(w)
    (gxe,) = ember.autograd.grad(F.conv2d(xe, we, stride=2, padding=1).pow(2).sum(), xe, create_graph=True)
    (gxt,) = torch.autograd.grad(TF.conv2d(xt, wt, stride=2, padding=1).pow(2).sum(), xt, create_graph=True)
    close(gxe, gxt)
    gxe.sum().backward()
    gxt.sum().backward()
    close(we.grad, wt.grad)
    close(xe.grad, xt.grad)


# ----------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("case", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
                                  dict(kernel_size=3, stride=2, ceil_mode=True),
                                  dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)])
def test_max_pool2d_matches_torch(case):
    x = rand(2, 3, 9, 8)
    ye, yt = check_fn(lambda a: F.max_pool2d(a, **case), lambda a: TF.max_pool2d(a, **case), [x])
    _, ie = F.max_pool2d(ember.tensor(x), return_indices=True, **case)
    _, it = TF.max_pool2d(torch.tensor(x), return_indices=True, **case)
    assert ie.dtype == ember.int64
    np.testing.assert_array_equal(ie.numpy(), it.numpy())


def test_max_pool_ties_route_grad_like_torch():
    x = np.ones((1, 1, 4, 4), np.float32)
    check_fn(lambda a: F.max_pool2d(a, 3, 1), lambda a: TF.max_pool2d(a, 3, 1), [x])


def test_max_pool1d_and_modules():
    x = rand(2, 3, 11)
    check_fn(lambda a: F.max_pool1d(a, 3, 2, 1), lambda a: TF.max_pool1d(a, 3, 2, 1), [x])
    ye, ie = nn.MaxPool1d(2, return_indices=True)(ember.tensor(x))
    yt, it = torch.nn.MaxPool1d(2, return_indices=True)(torch.tensor(x))
    close(ye, yt)
    np.testing.assert_array_equal(ie.numpy(), it.numpy())
    close(nn.MaxPool2d(2)(ember.tensor(rand(3, 6, 6))), torch.nn.MaxPool2d(2)(torch.tensor(rand(3, 6, 6))))


@pytest.mark.parametrize("case", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                  dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                  dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                                  dict(kernel_size=(2, 3), divisor_override=4)])
def test_avg_pool2d_matches_torch(case):
    check_fn(lambda a: F.avg_pool2d(a, **case), lambda a: TF.avg_pool2d(a, **case), [rand(2, 3, 9, 8)])


def test_avg_pool1d_matches_torch():
    check_fn(lambda a: F.avg_pool1d(a, 3, 2, 1, count_include_pad=False),
             lambda a: TF.avg_pool1d(a, 3, 2, 1, count_include_pad=False), [rand(2, 3, 10)])


@pytest.mark.parametrize("size", [3, (2, 5), (None, 4), (7, 7), 1])
def test_adaptive_avg_pool2d_matches_torch(size):
    check_fn(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: TF.adaptive_avg_pool2d(a, size),
             [rand(2, 3, 7, 10)])


def test_adaptive_avg_pool1d_and_max_pool():
    check_fn(lambda a: F.adaptive_avg_pool1d(a, 4), lambda a: TF.adaptive_avg_pool1d(a, 4), [rand(2, 3, 10)])
    check_fn(lambda a: F.adaptive_max_pool2d(a, (3, 4)), lambda a: TF.adaptive_max_pool2d(a, (3, 4)),
             [rand(2, 3, 7, 10)])
    ye, ie = F.adaptive_max_pool2d(ember.tensor(rand(2, 3, 7, 10)), (3, 4), return_indices=True)
    yt, it = TF.adaptive_max_pool2d(torch.tensor(rand(2, 3, 7, 10)), (3, 4), return_indices=True)
    np.testing.assert_array_equal(ie.numpy(), it.numpy())


def test_pool_module_reprs():
    for e, t in [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)), (nn.MaxPool1d(3, 1), torch.nn.MaxPool1d(3, 1)),
                 (nn.AvgPool1d(2), torch.nn.AvgPool1d(2)), (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
                 (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3))),
                 (nn.AdaptiveAvgPool1d(5), torch.nn.AdaptiveAvgPool1d(5))]:
        assert repr(e) == repr(t)
    x = rand(2, 3, 8, 8)
    close(nn.AvgPool2d(3, 2, 1)(ember.tensor(x)), torch.nn.AvgPool2d(3, 2, 1)(torch.tensor(x)))
    close(nn.AdaptiveAvgPool2d((2, 3))(ember.tensor(x)), torch.nn.AdaptiveAvgPool2d((2, 3))(torch.tensor(x)))


def test_pool_errors():
    with pytest.raises(RuntimeError, match="pad should be smaller than or equal to half of kernel size"):  # torch's words
        F.max_pool2d(ember.randn(1, 1, 8, 8), 2, padding=2)


# ----------------------------------------------------------------------------- pad / interpolate / unfold
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("p", [(1, 2), (2, 1, 0, 3)])
def test_pad_matches_torch(mode, p):
    x = rand(2, 3, 5, 6) if len(p) == 4 else rand(2, 3, 6)
    kw = {"value": 1.5} if mode == "constant" else {}
    check_fn(lambda a: F.pad(a, p, mode=mode, **kw), lambda a: TF.pad(a, p, mode=mode, **kw), [x])


def test_pad_constant_negative_and_many_dims():
    check_fn(lambda a: F.pad(a, (-1, 2, 1, -2, 1, 1)), lambda a: TF.pad(a, (-1, 2, 1, -2, 1, 1)), [rand(2, 3, 5, 6)])
    check_fn(lambda a: F.pad(a, (1, 1), mode="reflect"), lambda a: TF.pad(a, (1, 1), mode="reflect"), [rand(3, 5)])


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(5, 7)), dict(scale_factor=(0.5, 1.5)),
                                dict(size=(13, 4), mode="bilinear"), dict(scale_factor=2, mode="bilinear"),
                                dict(size=(5, 11), mode="bilinear", align_corners=True),
                                dict(scale_factor=0.6, mode="bilinear"), dict(size=(3, 4), mode="area"),
                                dict(size=(5, 7), mode="nearest-exact")])
def test_interpolate_2d_matches_torch(kw):
    check_fn(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [rand(2, 3, 6, 8)])


def test_interpolate_1d_linear():
    for kw in [dict(scale_factor=3, mode="linear"), dict(size=4, mode="linear", align_corners=True),
               dict(size=9)]:
        check_fn(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [rand(2, 3, 7)])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2, padding=1, dilation=(1, 2))])
def test_unfold_fold_match_torch(kw):
    x = rand(2, 3, 7, 8)
    ye, yt = check_fn(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x])
    check_fn(lambda a: F.fold(a, (7, 8), **kw), lambda a: TF.fold(a, (7, 8), **kw), [yt.detach().numpy()])


def test_pixel_shuffle_round_trip():
    x = rand(2, 8, 3, 4)
    check_fn(lambda a: F.pixel_shuffle(a, 2), lambda a: TF.pixel_shuffle(a, 2), [x])
    check_fn(lambda a: F.pixel_unshuffle(a, 2), lambda a: TF.pixel_unshuffle(a, 2), [rand(2, 2, 6, 4)])


# ----------------------------------------------------------------------------- gradcheck (float64)
def d64(*shape, seed=0):
    return ember.tensor(rand(*shape, seed=seed, dtype=np.float64), requires_grad=True)


def test_gradcheck_conv():
    x, w, b = d64(2, 4, 6, 5), d64(6, 2, 3, 2, seed=1), d64(6, seed=2)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2), groups=2), (x, w, b))
    x1, w1 = d64(2, 3, 7), d64(2, 3, 3, seed=3)
    assert gradcheck(lambda x, w: F.conv1d(x, w, padding="same"), (x1, w1))


def test_gradcheck_conv_transpose():
    x, w, b = d64(2, 4, 4, 3), d64(4, 3, 3, 3, seed=1), d64(6, seed=2)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                                        groups=2), (x, w, b))


def test_gradcheck_pools():
    rng = np.random.default_rng(5)
    # distinct values so the max is unique and differentiable
    x = ember.tensor(rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6).astype(np.float64) / 10,
                     requires_grad=True)
    assert gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), (x,))


def test_gradcheck_resampling_and_windows():
    x = d64(1, 2, 5, 4)
    assert gradcheck(lambda a: F.interpolate(a, size=(7, 3), mode="bilinear", align_corners=False), (x,))
    assert gradcheck(lambda a: F.pad(a, (2, 1, 1, 3), mode="reflect"), (x,))
    assert gradcheck(lambda a: F.pad(a, (1, 0, -1, 2), value=3.0), (x,))
    assert gradcheck(lambda a: F.unfold(a, 2, padding=1, stride=(1, 2)), (x,))
    cols = d64(1, 8, 8)
    assert gradcheck(lambda c: F.fold(c, (4, 5), 2, stride=(2, 1)), (cols,))


# ----------------------------------------------------------------------------- lessons' CNN
def test_lesson_cnn_block_matches_torch():
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    enet = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2))
    copy_params(enet, tnet)
    x = rand(8, 1, 28, 28)
    ye, yt = enet(ember.tensor(x)), tnet(torch.tensor(x))
    assert tuple(ye.shape) == (8, 32, 13, 13)
    close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    close(enet[0].weight.grad, tnet[0].weight.grad)
    close(enet[0].bias.grad, tnet[0].bias.grad)
    assert repr(enet) == repr(tnet)


def test_pool_double_backward_matches_torch():
    x = rand(2, 2, 6, 7)
    for ef, tf in [(lambda a: F.max_pool2d(a, 3, 2, 1), lambda a: TF.max_pool2d(a, 3, 2, 1)),
                   (lambda a: F.avg_pool2d(a, 3, 2, 1, count_include_pad=False),
                    lambda a: TF.avg_pool2d(a, 3, 2, 1, count_include_pad=False))]:
        xe, xt = pair(x)
        ge = ember.tensor(rand(2, 2, 3, 4, seed=1), requires_grad=True)
        gt = torch.tensor(rand(2, 2, 3, 4, seed=1), requires_grad=True)
        (gxe,) = ember.autograd.grad(ef(xe), xe, ge, create_graph=True)
        (gxt,) = torch.autograd.grad(tf(xt), xt, gt, create_graph=True)
        close(gxe, gxt)
        w = rand(*x.shape, seed=2)
        (gxe * ember.tensor(w)).sum().backward()
        (gxt * torch.tensor(w)).sum().backward()
        close(ge.grad, gt.grad)


def test_max_pool_propagates_nan_like_torch():
    x = rand(1, 1, 4, 4)
    x[0, 0, 1, 2] = np.nan
    ye, ie = F.max_pool2d(ember.tensor(x), 2, return_indices=True)
    yt, it = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(np.isnan(ye.numpy()), np.isnan(yt.numpy()))
    np.testing.assert_array_equal(ie.numpy(), it.numpy())


def test_unbatched_pools_and_conv_transpose():
    x = rand(3, 8, 9)
    check_fn(lambda a: F.max_pool2d(a, 2), lambda a: TF.max_pool2d(a, 2), [x])
    check_fn(lambda a: F.avg_pool2d(a, 3, 1, 1), lambda a: TF.avg_pool2d(a, 3, 1, 1), [x])
    check_fn(lambda a: F.adaptive_avg_pool2d(a, 4), lambda a: TF.adaptive_avg_pool2d(a, 4), [x])
    check_fn(F.conv_transpose2d, TF.conv_transpose2d, [x, rand(3, 2, 2, 2, seed=1)], stride=2)


def test_conv_dtype_mismatch_errors_like_torch():
    x = ember.randn(1, 3, 8, 8, dtype=ember.float64)
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(x, ember.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"Input type \(double\) and bias type \(float\) should be the same"):
        nn.Conv2d(3, 4, 3)(x)
    y = nn.Conv2d(3, 4, 3).double()(x)
    assert y.dtype == ember.float64


@pytest.mark.parametrize("kw", [dict(size=(5, 7), mode="bicubic"), dict(scale_factor=2.5, mode="bicubic"),
                                dict(size=(20, 9), mode="bicubic", align_corners=True),
                                dict(size=(5, 7), mode="bilinear", antialias=True),
                                dict(size=(30, 40), mode="bilinear", antialias=True),
                                dict(scale_factor=0.3, mode="bicubic", antialias=True)])
def test_interpolate_bicubic_and_antialias(kw):
    check_fn(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [rand(2, 3, 13, 17)])


def test_padding_resampling_and_fold_modules_match_torch():
    x = rand(2, 4, 6, 5)
    pairs = [
        (nn.ZeroPad2d(1), torch.nn.ZeroPad2d(1)), (nn.ZeroPad1d((1, 2)), torch.nn.ZeroPad1d((1, 2))),
        (nn.ConstantPad2d((1, 2, 3, 0), 3.5), torch.nn.ConstantPad2d((1, 2, 3, 0), 3.5)),
        (nn.ConstantPad1d(2, -1.0), torch.nn.ConstantPad1d(2, -1.0)),
        (nn.ReflectionPad2d((1, 1, 2, 0)), torch.nn.ReflectionPad2d((1, 1, 2, 0))),
        (nn.ReflectionPad1d(2), torch.nn.ReflectionPad1d(2)),
        (nn.ReplicationPad2d(2), torch.nn.ReplicationPad2d(2)), (nn.ReplicationPad1d(1), torch.nn.ReplicationPad1d(1)),
        (nn.CircularPad2d(1), torch.nn.CircularPad2d(1)), (nn.CircularPad1d((2, 1)), torch.nn.CircularPad1d((2, 1))),
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
         torch.nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True)),
        (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
        (nn.UpsamplingBilinear2d(size=7), torch.nn.UpsamplingBilinear2d(size=7)),
        (nn.PixelShuffle(2), torch.nn.PixelShuffle(2)),
        (nn.Unfold((2, 3), dilation=1, padding=1, stride=2), torch.nn.Unfold((2, 3), dilation=1, padding=1, stride=2)),
    ]
    for e, t in pairs:
        assert repr(e) == repr(t)
        check_fn(e, t, [x[:, :, 0] if type(t).__name__.endswith("1d") else x])
    check_fn(nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), [rand(2, 3, 6, 4)])
    fe, ft = nn.Fold((4, 5), 2), torch.nn.Fold((4, 5), 2)
    assert repr(fe) == repr(ft)
    check_fn(fe, ft, [rand(2, 8, 12)])


@pytest.mark.parametrize("transposed", [False, True])
def test_conv_groups_double_backward_matches_torch(transposed):
    if transposed:
        x, w = rand(2, 4, 4, 5), rand(4, 3, 3, 2, seed=1)
        ef = lambda a, b: F.conv_transpose2d(a, b, stride=2, padding=1, groups=2, dilation=(1, 2))  # noqa: E731
        tf = lambda a, b: TF.conv_transpose2d(a, b, stride=2, padding=1, groups=2, dilation=(1, 2))  # noqa: E731
    else:
        x, w = rand(2, 4, 7, 6), rand(6, 2, 3, 2, seed=1)
        ef = lambda a, b: F.conv2d(a, b, stride=2, padding=1, groups=2, dilation=(2, 1))  # noqa: E731
        tf = lambda a, b: TF.conv2d(a, b, stride=2, padding=1, groups=2, dilation=(2, 1))  # noqa: E731
    xe, xt = pair(x)
    we, wt = pair(w)
    gxe, gwe = ember.autograd.grad(ef(xe, we).pow(2).sum(), (xe, we), create_graph=True)
    gxt, gwt = torch.autograd.grad(tf(xt, wt).pow(2).sum(), (xt, wt), create_graph=True)
    close(gxe, gxt)
    close(gwe, gwt)
    (gxe.sum() + (gwe * gwe).sum()).backward()
    (gxt.sum() + (gwt * gwt).sum()).backward()
    close(xe.grad, xt.grad)
    close(we.grad, wt.grad)


def test_gradgradcheck_backward_functions():
    """The backward Functions (weight grad, transposed conv, max/avg scatter) are themselves differentiable."""
    from ember.autograd import gradgradcheck
    x, w = d64(1, 4, 5, 4), d64(4, 2, 2, 3, seed=1)
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=1, groups=2), (x, w))
    xt, wt = d64(1, 2, 3, 3), d64(2, 3, 3, 2, seed=2)
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, dilation=(2, 1)), (xt, wt))
    rng = np.random.default_rng(5)
    xm = ember.tensor(rng.permutation(2 * 5 * 6).reshape(1, 2, 5, 6).astype(np.float64) / 7, requires_grad=True)
    assert gradgradcheck(lambda a: F.max_pool2d(a, 2, 2, 1), (xm,))
    assert gradgradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True), (xm,))
    assert gradgradcheck(lambda a: F.interpolate(a, size=(4, 7), mode="bilinear"), (xm,))


def test_depthwise_conv_matches_torch_and_gradchecks():
    x, w, b = rand(2, 4, 9, 8), rand(4, 1, 3, 3, seed=1), rand(4, seed=2)
    check_fn(lambda *a: F.conv2d(*a, stride=2, padding=1, groups=4),
             lambda *a: TF.conv2d(*a, stride=2, padding=1, groups=4), [x, w, b])
    check_fn(lambda *a: F.conv1d(*a, padding="same", groups=4),
             lambda *a: TF.conv1d(*a, padding="same", groups=4), [rand(2, 4, 9), rand(4, 1, 3, seed=3)])
    xd, wd = d64(1, 3, 5, 4), d64(3, 1, 2, 3, seed=1)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=1, dilation=(2, 1), groups=3), (xd, wd))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_slab_threads_survive_fork():
    """A forked child (e.g. a DataLoader worker) must not wait on the parent's dead worker threads."""
    import os
    x = ember.tensor(rand(64, 8, 40, 40))
    y = F.max_pool2d(x, 2)                      # starts the thread pool in this process
    pid = os.fork()
    if pid == 0:                                # pragma: no cover - runs in the child
        ok = np.allclose(F.max_pool2d(x, 2).numpy(), y.numpy())
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert status == 0


# ----------------------------------------------------------------------------- the per-sample route (ops/conv.py)
@pytest.mark.parametrize("nd,kw", [(2, dict(padding=1)), (2, dict(stride=2, padding=2, dilation=2)),
                                   (1, dict(stride=3, padding=1)), (3, dict(padding=(1, 0, 1))),
                                   (2, dict(kernel=1)), (2, dict(kernel=1, stride=2)), (2, dict(padding=0, kernel=5)),
                                   (2, dict(padding=(2, 1), dilation=(2, 1))), (1, dict(padding=2, dilation=2))])
@pytest.mark.parametrize("cin", [5, 2])      # 2 -> 6 channels: the input gradient as the grid columns' adjoint
def test_per_sample_columns_match_the_batch_gemm_and_torch(monkeypatch, nd, kw, cin):
    """Columns streamed per chunk of samples (several chunks per thread, the batch split across threads; on
    the padded grid at stride 1, as x itself for 1x1) give the batch-wide GEMM's result: forward, input and
    weight gradient."""
    from ember.ops import conv
    kw = dict(kw)
    k = kw.pop("kernel", 3)
    x = rand(*((7, cin) + (11,) * nd))
    w = rand(*((6, cin) + (k,) * nd), seed=1)
    f = getattr(F, f"conv{nd}d")

    b = rand(6, seed=3)

    def run():
        xe, we, be = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
        y = f(xe, we, be, **kw)
        y.backward(ember.tensor(rand(*y.shape, seed=2)))
        return y.detach().numpy(), xe.grad.numpy(), we.grad.numpy(), be.grad.numpy()

    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)            # one sample per chunk
    monkeypatch.setattr(conv, "_SLAB_MIN_ELEMENTS", 1)      # the batch split across the threads
    monkeypatch.setattr(conv, "_PER_SAMPLE_MIN_L", 1)
    per_sample = run()
    monkeypatch.setattr(conv, "_PER_SAMPLE_MIN_L", 1 << 40)
    batch_gemm = run()
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = getattr(TF, f"conv{nd}d")(xt, wt, bt, **kw)
    yt.backward(torch.tensor(rand(*yt.shape, seed=2)))
    for ours, batched, theirs in zip(per_sample, batch_gemm, (yt, xt.grad, wt.grad, bt.grad)):
        close(ours, batched)
        close(ours, theirs)


def test_per_sample_route_in_float64_is_exact():
    from ember.ops import conv
    x, w = rand(2, 3, 12, 14, dtype=np.float64), rand(4, 3, 3, 3, seed=1, dtype=np.float64)
    assert conv._per_sample(x, 1, 12 * 7)           # (the output of the stride (1, 2) convolution below)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=1, stride=(1, 2)),
                     (ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)))
    x, w = rand(2, 1, 9, 9, dtype=np.float64), rand(4, 1, 3, 3, seed=1, dtype=np.float64)   # widening 4x: the
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=(1, 2), dilation=(1, 2)),          # grid adjoint's dx
                     (ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)))


def test_per_sample_weight_gradient_is_the_same_every_run(monkeypatch):
    """Threads finish in any order; their partial sums must still be added in one fixed order."""
    from ember.ops import conv
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "_SLAB_MIN_ELEMENTS", 1)
    x = ember.tensor(rand(16, 3, 12, 12))
    grads = []
    for _ in range(8):
        w = ember.tensor(rand(4, 3, 3, 3, seed=1), requires_grad=True)
        F.conv2d(x, w, padding=1).pow(2).sum().backward()
        grads.append(w.grad.numpy())
    assert all(np.array_equal(grads[0], g) for g in grads[1:])
