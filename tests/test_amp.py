"""torch.amp: autocast (CPU lists, nesting, decorator, old spellings) and GradScaler -- against torch."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _init(lib, model):
    with lib.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(lib.sin(lib.arange(p.numel(), dtype=lib.float32) * 0.37 + i).reshape(p.shape) * 0.5)
    return model


def _mlp(lib):
    return _init(lib, lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2)))


def _data(lib):
    return lib.cos(lib.arange(12.)).reshape(3, 4), lib.sin(lib.arange(6.)).reshape(3, 2)


def _train(lib, steps=3):
    model, (x, y) = _mlp(lib), _data(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    for _ in range(steps):
        opt.zero_grad()
        with lib.autocast(device_type="cpu", dtype=lib.bfloat16):
            pred = model(x)
            loss = lib.nn.functional.mse_loss(pred, y)
        loss.backward()
        opt.step()
        rows.append((pred, loss, model[0].weight.grad))
    return rows, model


def test_autocast_training_step_matches_torch():
    (trows, tmodel), (erows, emodel) = _train(torch), _train(ember)
    for (tp, tl, tg), (ep, el, eg) in zip(trows, erows):
        assert ep.dtype is ember.bfloat16 and el.dtype is ember.float32 and eg.dtype is ember.float32
        assert repr(ep) == repr(tp) and repr(el) == repr(tl)
        np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=1e-5, atol=1e-7)
    for tp, ep in zip(tmodel.parameters(), emodel.parameters()):
        np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("expr", [
    lambda lib, x: lib.mm(x, x.T),
    lambda lib, x: x @ x.T,
    lambda lib, x: lib.matmul(x[0], x.T),
    lambda lib, x: lib.bmm(x[None], x.T[None]),
    lambda lib, x: lib.addmm(x[0, :3], x, x.T),
    lambda lib, x: lib.nn.functional.linear(x, x),
    lambda lib, x: lib.nn.functional.conv1d(x[None], x[:2, :3, None]),
    lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x[None], x[None], x[None]),
    lambda lib, x: lib.relu(x),                                              # not on a list: unchanged
    lambda lib, x: x.double() @ x.double().T,                               # float64 is never cast
    lambda lib, x: lib.nn.functional.mse_loss(x.bfloat16(), x),             # float32 list
    lambda lib, x: lib.nn.functional.cross_entropy(x.bfloat16(), lib.tensor([0, 1, 2])),
    lambda lib, x: lib.nn.functional.nll_loss(x.bfloat16(), lib.tensor([0, 1, 2])),
    lambda lib, x: lib.nn.functional.binary_cross_entropy_with_logits(x.bfloat16(), x.sigmoid()),
    lambda lib, x: lib.nn.functional.smooth_l1_loss(x.bfloat16(), x),
    lambda lib, x: lib.nn.functional.huber_loss(x.bfloat16(), x),
], ids=["mm", "matmul-op", "vecmat", "bmm", "addmm", "linear", "conv1d", "sdpa", "relu", "float64", "mse",
        "cross_entropy", "nll", "bce_logits", "smooth_l1", "huber"])
def test_cpu_autocast_lists_match_torch(expr):
    out = []
    for lib in (torch, ember):
        x = lib.cos(lib.arange(12.)).reshape(3, 4) * 0.5
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out.append(expr(lib, x))
    t, e = out
    assert repr(e.dtype) == repr(t.dtype)
    # bfloat16 results within one bfloat16 rounding (2**-8); float32 ones to float32 summation order
    rtol = 2 ** -8 if t.dtype == torch.bfloat16 else 1e-5
    np.testing.assert_allclose(e.detach().float().numpy(), t.detach().float().numpy(), rtol=rtol, atol=rtol * 1e-2)


def test_float16_autocast_and_state_functions():
    for lib in (torch, ember):
        assert lib.is_autocast_enabled("cpu") is False and lib.is_autocast_enabled() is False
        assert repr(lib.get_autocast_dtype("cpu")) == "torch.bfloat16"
        assert repr(lib.get_autocast_dtype("cuda")) == "torch.float16"
        with lib.autocast("cpu", dtype=lib.float16):
            assert lib.is_autocast_enabled("cpu") and repr(lib.get_autocast_dtype("cpu")) == "torch.float16"
            assert (lib.ones(2, 2) @ lib.ones(2, 2)).dtype == lib.float16
            with lib.autocast("cpu", enabled=False):
                assert not lib.is_autocast_enabled("cpu")
                assert (lib.ones(2, 2) @ lib.ones(2, 2)).dtype == lib.float32
            assert lib.is_autocast_enabled("cpu")
        assert not lib.is_autocast_enabled("cpu") and repr(lib.get_autocast_dtype("cpu")) == "torch.bfloat16"
        assert lib.amp.is_autocast_available("cpu") and lib.is_autocast_cache_enabled()


def test_autocast_as_decorator_and_errors_like_torch():
    for lib in (torch, ember):
        @lib.autocast("cpu")
        def f(a):
            return a @ a
        assert f(lib.eye(2)).dtype == lib.bfloat16 and (lib.eye(2) @ lib.eye(2)).dtype == lib.float32

        @lib.amp.autocast("cpu", dtype=lib.bfloat16)
        def g(a):
            return lib.nn.functional.linear(a, a)
        assert g(lib.eye(2)).dtype == lib.bfloat16
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.autocast(0)
        with pytest.raises(RuntimeError):
            lib.autocast("fpga")
    with pytest.raises(RuntimeError, match="User specified an unsupported autocast device_type 'fpga'"):
        ember.autocast("fpga")


def _messages(w):
    return [str(i.message) for i in w]


def test_deprecated_spellings_and_cuda_without_gpu_warn_like_torch():
    if torch.cuda.is_available() or ember.cuda.is_available():
        pytest.skip("checks the no-GPU behaviour")
    got = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with lib.cpu.amp.autocast():
                d1 = (lib.ones(2, 2) @ lib.ones(2, 2)).dtype
            with lib.cuda.amp.autocast():
                d2 = (lib.ones(2, 2) @ lib.ones(2, 2)).dtype
            with lib.autocast("cuda"):
                d3 = (lib.ones(2, 2) @ lib.ones(2, 2)).dtype
            with lib.autocast("cpu", dtype=lib.float32):
                pass
            s1 = lib.cuda.amp.GradScaler()
            s2 = lib.amp.GradScaler()
            s3 = lib.cpu.amp.GradScaler()
        got.append((repr(d1), repr(d2), repr(d3), _messages(w), s1.is_enabled(), s2.is_enabled(), s3.is_enabled(),
                    s1.get_scale(), s1.state_dict()))
    assert got[1] == got[0]
    assert got[0][4:7] == (False, False, True)


def _scaler_run(lib, grads_per_step, **kwargs):
    p = lib.zeros(3, requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.5)
    scaler = lib.amp.GradScaler("cpu", **kwargs)
    log = []
    for g in grads_per_step:
        opt.zero_grad()
        loss = (p * lib.tensor(g)).sum()
        scaled = scaler.scale(loss)
        scaled.backward()
        log.append((float(scaled), p.grad.tolist()))
        scaler.step(opt)
        scaler.update()
        log.append((scaler.get_scale(), p.tolist(), scaler._get_growth_tracker()))
    return log, scaler


def test_grad_scaler_on_cpu_matches_torch():
    inf, nan = float("inf"), float("nan")
    grads = [[1.0, 2.0, 3.0], [inf, 1.0, 0.0], [0.5, 0.5, 0.5], [1.0, nan, 1.0], [1.0, 1.0, 1.0], [2.0, 0, 0],
             [1.0, 1.0, 1.0]]
    kwargs = dict(init_scale=1024.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=2)
    (tlog, ts), (elog, es) = _scaler_run(torch, grads, **kwargs), _scaler_run(ember, grads, **kwargs)
    assert repr(elog) == repr(tlog)
    assert es.state_dict() == ts.state_dict()
    fresh = ember.amp.GradScaler("cpu")
    fresh.load_state_dict(es.state_dict())
    assert fresh.get_scale() == es.get_scale() and fresh._get_growth_tracker() == es._get_growth_tracker()


def test_grad_scaler_unscale_then_clip_and_errors_like_torch():
    for lib in (torch, ember):
        p = lib.ones(2, requires_grad=True)
        opt = lib.optim.SGD([p], lr=1.0)
        scaler = lib.amp.GradScaler("cpu", init_scale=8.0)
        scaler.scale((p * 3).sum()).backward()
        assert p.grad.tolist() == [24.0, 24.0]
        scaler.unscale_(opt)
        assert p.grad.tolist() == [3.0, 3.0]
        with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this optimizer"):
            scaler.unscale_(opt)
        scaler.step(opt)
        assert p.tolist() == [-2.0, -2.0]
        with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last update\(\)"):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)"):
            scaler.unscale_(opt)
        scaler.update(new_scale=2.0)
        assert scaler.get_scale() == 2.0
        assert [t.tolist() for t in scaler.scale([p.sum(), (p * 2, p)])[1]] == [[-8.0, -8.0], [-4.0, -4.0]]
        with pytest.raises(RuntimeError, match="The source state dict is empty"):
            lib.amp.GradScaler("cpu").load_state_dict({})
        with pytest.raises(AssertionError, match="The growth factor must be > 1.0."):
            lib.amp.GradScaler("cpu", growth_factor=1.0)
        with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
            lib.amp.GradScaler("cpu").step(opt)
        disabled = lib.amp.GradScaler("cpu", enabled=False)
        assert disabled.scale(p) is p and disabled.state_dict() == {} and disabled.get_scale() == 1.0


def test_custom_fwd_casts_inputs_like_torch():
    for lib in (torch, ember):
        class MyMM(lib.autograd.Function):
            @staticmethod
            @lib.amp.custom_fwd(device_type="cpu", cast_inputs=lib.float32)
            def forward(ctx, a, b):
                ctx.save_for_backward(a, b)
                return a.mm(b)

            @staticmethod
            @lib.amp.custom_bwd(device_type="cpu")
            def backward(ctx, g):
                a, b = ctx.saved_tensors
                return g.mm(b.t()), a.t().mm(g)
        a = lib.ones(2, 2, requires_grad=True)
        with lib.autocast("cpu"):
            out = MyMM.apply(a.bfloat16(), lib.ones(2, 2))
            assert out.dtype == lib.float32
        out.sum().backward()
        assert a.grad.dtype == lib.float32 and a.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]
