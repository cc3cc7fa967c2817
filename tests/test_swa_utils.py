"""torch.optim.swa_utils: AveragedModel (SWA, EMA, buffers), SWALR, update_bn -- compared with PyTorch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _model(lib):
    """Linear -> BatchNorm1d -> Linear with weights from arange/sin, equal in both libraries."""
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    with lib.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(lib.sin(lib.arange(p.numel(), dtype=lib.float32) * 0.7 + i).reshape(p.shape))
    return model


def _data(lib):
    x = lib.cos(lib.arange(48, dtype=lib.float32) * 0.3).reshape(16, 3)
    y = lib.sin(lib.arange(32, dtype=lib.float32) * 0.2).reshape(16, 2)
    return x, y


def _train_and_average(lib, make_avg, steps=12):
    model = _model(lib)
    avg = make_avg(lib, model)
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = _data(lib)
    for _ in range(steps):
        opt.zero_grad()
        lib.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        avg.update_parameters(model)
    return model, avg


def _close(a, b, rtol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("make_avg", [
    lambda lib, m: lib.optim.swa_utils.AveragedModel(m),
    lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)),
    lambda lib, m: lib.optim.swa_utils.AveragedModel(m, avg_fn=lib.optim.swa_utils.get_ema_avg_fn(0.8)),
    lambda lib, m: lib.optim.swa_utils.AveragedModel(m, avg_fn=lib.optim.swa_utils.get_swa_avg_fn()),
    lambda lib, m: lib.optim.swa_utils.AveragedModel(m, use_buffers=True),
    lambda lib, m: lib.optim.swa_utils.AveragedModel(m, multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn()),
    lambda lib, m: lib.optim.swa_utils.AveragedModel(
        m, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.5), use_buffers=True),
], ids=["swa", "ema-multi", "ema-avg_fn", "swa-avg_fn", "swa-buffers", "swa-multi", "ema-buffers"])
def test_averaged_model_matches_torch(make_avg):
    _, tavg = _train_and_average(torch, make_avg)
    _, eavg = _train_and_average(ember, make_avg)
    tsd, esd = tavg.state_dict(), eavg.state_dict()
    assert list(esd) == list(tsd)        # module.0.weight ..., n_averaged
    for k in tsd:
        _close(tsd[k], esd[k])
    assert int(eavg.n_averaged) == 12 and eavg.n_averaged.dtype == ember.int64
    x, _ = _data(torch)
    tavg.eval(), eavg.eval()
    _close(tavg(x), eavg(ember.tensor(x.numpy())))


def test_update_bn_recomputes_statistics_like_torch():
    out = []
    for lib in (torch, ember):
        model = _model(lib)
        x, _ = _data(lib)
        loader = [(x[:8], 0), (x[8:], 1)]
        model.eval()
        lib.optim.swa_utils.update_bn(loader, model)
        bn = model[1]
        assert bn.momentum == 0.1 and not model.training
        out.append((bn.running_mean, bn.running_var, bn.num_batches_tracked))
    for t, e in zip(*out):
        _close(t, e)
    lin = ember.nn.Linear(2, 2)
    ember.optim.swa_utils.update_bn([ember.ones(1, 2)], lin)   # no BatchNorm: nothing to do


def test_swalr_and_errors_match_torch():
    seqs = []
    for lib in (torch, ember):
        p = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([{"params": [p]}, {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.3}],
                            lr=1.0)
        scheds = [lib.optim.swa_utils.SWALR(opt, swa_lr=[0.05, 0.01], anneal_epochs=5),
                  lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=3, anneal_strategy="linear")]
        seq = []
        for sched in scheds:
            for _ in range(8):
                opt.step()
                sched.step()
                seq.append(sched.get_last_lr())
        sd = scheds[-1].state_dict()
        assert "anneal_func" not in sd and sd["_anneal_strategy"] == "linear"
        seqs.append(seq)
    np.testing.assert_allclose(np.array(seqs[1]), np.array(seqs[0]), rtol=1e-14)
    opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got exp"):
        ember.optim.swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, got -1"):
        ember.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide a value in \[0,1\]"):
        ember.optim.swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        ember.optim.swa_utils.AveragedModel(ember.nn.Linear(1, 1), avg_fn=lambda *a: a[0],
                                            multi_avg_fn=lambda *a: None)


def test_schedulers_drive_the_new_optimizers_like_torch():
    """OneCycleLR cycles RAdam's beta1 and Adadelta has no momentum to cycle (torch's error)."""
    rows = []
    for lib in (torch, ember):
        opt = lib.optim.RAdam([lib.zeros(2, requires_grad=True)], lr=0.01)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
        row = []
        for _ in range(9):
            opt.step()
            sched.step()
            row.append((sched.get_last_lr()[0], opt.param_groups[0]["betas"][0]))
        rows.append(row)
        opt = lib.optim.Adadelta([lib.zeros(2, requires_grad=True)])
        with pytest.raises(ValueError, match="optimizer must support momentum"):
            lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    np.testing.assert_allclose(np.array(rows[1]), np.array(rows[0]), rtol=1e-14)
