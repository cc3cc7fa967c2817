"""Learning-rate schedulers: the lr sequences equal PyTorch's, state dicts round-trip."""
import math

import numpy as np
import pytest

import ember
from ember import optim
from ember.optim import lr_scheduler as ls


def _opts(torch, name="SGD", n_groups=2, **kw):
    """A torch and an ember optimizer with the same groups (lr 0.1 and 0.05)."""
    kw = dict(kw)
    kw.setdefault("lr", 0.1)
    tgroups = [{"params": [torch.zeros(2, requires_grad=True)]} for _ in range(n_groups)]
    egroups = [{"params": [ember.zeros(2, requires_grad=True)]} for _ in range(n_groups)]
    if n_groups > 1:
        tgroups[1]["lr"] = egroups[1]["lr"] = 0.05
    return getattr(torch.optim, name)(tgroups, **kw), getattr(optim, name)(egroups, **kw)


def _lr_sequence(opt, sched, steps, metrics=None, momentum=False):
    seq = [list(sched.get_last_lr())]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        row = list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups]
        if momentum:
            row += [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
        seq.append(row)
    return seq


def _eq(a, b, tol=1e-12):
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert len(ra) == len(rb)
        for x, y in zip(ra, rb):
            assert abs(float(x) - float(y)) <= tol * max(1.0, abs(float(y))), (ra, rb)


SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD", {}),
    ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.3), "SGD", {}),
    ("ExponentialLR", dict(gamma=0.9), "SGD", {}),
    ("CosineAnnealingLR", dict(T_max=10), "SGD", {}),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001), "Adam", {}),
    ("CosineAnnealingWarmRestarts", dict(T_0=5), "SGD", {}),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01), "SGD", {}),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e), "SGD", {}),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9), "SGD", {}),
    ("LinearLR", dict(), "SGD", {}),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=12), "Adam", {}),
    ("ConstantLR", dict(), "SGD", {}),
    ("ConstantLR", dict(factor=0.25, total_iters=10), "SGD", {}),
    ("PolynomialLR", dict(total_iters=20, power=2.0), "SGD", {}),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=31), "SGD", dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=31, anneal_strategy="linear"), "Adam", {}),
    ("OneCycleLR", dict(max_lr=0.5, epochs=4, steps_per_epoch=8, three_phase=True), "SGD", dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=40, cycle_momentum=False, pct_start=0.25), "SGD", {}),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4), "SGD", dict(momentum=0.9)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular2"),
     "SGD", dict(momentum=0.9)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.9), "Adam", {}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items() if k != 'lr_lambda')}" for n, kw, _, _ in SCHEDULERS]


@pytest.mark.parametrize("name,kwargs,opt_name,opt_kwargs", SCHEDULERS, ids=IDS)
def test_lr_sequence_matches_torch(name, kwargs, opt_name, opt_kwargs):
    torch = pytest.importorskip("torch")
    topt, eopt = _opts(torch, opt_name, **opt_kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    esched = getattr(ls, name)(eopt, **kwargs)
    momentum = name in ("OneCycleLR", "CyclicLR") and kwargs.get("cycle_momentum", True)
    _eq(_lr_sequence(eopt, esched, 30, momentum=momentum), _lr_sequence(topt, tsched, 30, momentum=momentum))


def test_reduce_lr_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = list(np.concatenate([np.linspace(1, 0.5, 8), 0.5 + 0.01 * rng.random(30)]))
    configs = [dict(), dict(patience=2), dict(mode="max", factor=0.5, patience=1, threshold=0.1),
               dict(patience=1, threshold_mode="abs", threshold=0.05, cooldown=3, min_lr=[0.01, 0.02]),
               dict(patience=0, factor=0.5, min_lr=0.004, eps=1e-3)]
    for cfg in configs:
        topt, eopt = _opts(torch)
        tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **cfg)
        esched = ls.ReduceLROnPlateau(eopt, **cfg)
        _eq(_lr_sequence(eopt, esched, 38, metrics=metrics), _lr_sequence(topt, tsched, 38, metrics=metrics))
        assert esched.num_bad_epochs == tsched.num_bad_epochs and esched.best == tsched.best


def test_reduce_lr_on_plateau_accepts_tensor_metric():
    opt = optim.SGD([ember.zeros(2, requires_grad=True)], lr=1.0)
    sched = ls.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    sched.step(ember.tensor(1.0))
    sched.step(ember.tensor(2.0))
    assert sched.get_last_lr() == [0.5]


def test_sequential_lr_matches_torch():
    torch = pytest.importorskip("torch")
    topt, eopt = _opts(torch)
    scheds = []
    for mod, opt in ((torch.optim.lr_scheduler, topt), (ls, eopt)):
        warm = mod.LinearLR(opt, start_factor=0.1, total_iters=5)
        cos = mod.CosineAnnealingLR(opt, T_max=12, eta_min=0.001)
        step = mod.StepLR(opt, step_size=3, gamma=0.5)
        scheds.append(mod.SequentialLR(opt, [warm, cos, step], milestones=[5, 17]))
    _eq(_lr_sequence(eopt, scheds[1], 30), _lr_sequence(topt, scheds[0], 30))


def test_chained_scheduler_matches_torch():
    torch = pytest.importorskip("torch")
    topt, eopt = _opts(torch)
    scheds = []
    for mod, opt in ((torch.optim.lr_scheduler, topt), (ls, eopt)):
        scheds.append(mod.ChainedScheduler([mod.ConstantLR(opt, factor=0.5, total_iters=4),
                                            mod.ExponentialLR(opt, gamma=0.9),
                                            mod.CosineAnnealingLR(opt, T_max=9)]))
    _eq(_lr_sequence(eopt, scheds[1], 30), _lr_sequence(topt, scheds[0], 30))


def test_step_with_epoch_uses_closed_form_like_torch():
    torch = pytest.importorskip("torch")
    import warnings
    for name, kw in [("StepLR", dict(step_size=3)), ("ExponentialLR", dict(gamma=0.8)),
                     ("CosineAnnealingLR", dict(T_max=10)), ("MultiStepLR", dict(milestones=[2, 5])),
                     ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2)), ("PolynomialLR", dict(total_iters=8))]:
        topt, eopt = _opts(torch)
        tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
        esched = getattr(ls, name)(eopt, **kw)
        tl, el = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in [3, 1, 7, 12, 5.5 if name == "CosineAnnealingWarmRestarts" else 5]:
                topt.step()
                tsched.step(epoch)
                esched.step(epoch)
                tl.append(tsched.get_last_lr())
                el.append(esched.get_last_lr())
        _eq(el, tl)


def test_initial_lr_and_base_lrs():
    opt = optim.SGD([{"params": [ember.zeros(1, requires_grad=True)]},
                     {"params": [ember.zeros(1, requires_grad=True)], "lr": 0.5}], lr=0.1)
    sched = ls.StepLR(opt, step_size=2, gamma=0.1)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert sched.base_lrs == [0.1, 0.5] and sched.last_epoch == 0
    assert sched.get_last_lr() == [0.1, 0.5]
    for _ in range(2):
        opt.step()
        sched.step()
    assert sched.last_epoch == 2
    np.testing.assert_allclose(sched.get_last_lr(), [0.01, 0.05], rtol=1e-15)
    with pytest.raises(KeyError, match="initial_lr"):
        ls.StepLR(optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1), step_size=2, last_epoch=3)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        ls.StepLR(object(), step_size=2)


@pytest.mark.parametrize("name,kwargs,opt_name,opt_kwargs", SCHEDULERS, ids=IDS)
def test_state_dict_keys_match_torch_and_round_trip(name, kwargs, opt_name, opt_kwargs):
    torch = pytest.importorskip("torch")
    topt, eopt = _opts(torch, opt_name, **opt_kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    esched = getattr(ls, name)(eopt, **kwargs)
    for _ in range(5):
        topt.step()
        tsched.step()
        eopt.step()
        esched.step()
    tsd, esd = tsched.state_dict(), esched.state_dict()
    assert set(esd) == set(tsd)
    for k in ("last_epoch", "_step_count", "base_lrs", "_last_lr"):
        if k in tsd:
            assert esd[k] == pytest.approx(tsd[k], rel=1e-12)
    # resume: a new optimizer + scheduler loaded from the dicts continues like the original
    # (torch's order: build the scheduler, load its state, then load the optimizer's state)
    eopt2 = getattr(optim, opt_name)([{"params": g["params"]} for g in eopt.param_groups], lr=0.1, **opt_kwargs)
    esched2 = getattr(ls, name)(eopt2, **kwargs)
    esched2.load_state_dict(esched.state_dict())
    eopt2.load_state_dict(eopt.state_dict())
    _eq(_lr_sequence(eopt2, esched2, 10), _lr_sequence(eopt, esched, 10))


def test_scheduler_with_a_custom_optimizer():
    """Schedulers only need param_groups; any Optimizer subclass works."""

    class Fake(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=1.0))

        def step(self, closure=None):
            return None

    opt = Fake([ember.zeros(1, requires_grad=True)])
    sched = ls.LambdaLR(opt, lambda e: 1.0 / (e + 1))
    lrs = []
    for _ in range(4):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1 / 2, 1 / 3, 1 / 4, 1 / 5]


def test_one_cycle_errors():
    opt = optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        ls.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="Expected positive integer total_steps"):
        ls.OneCycleLR(opt, max_lr=1.0, total_steps=0)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        ls.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp")
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
    no_momentum = optim.Adagrad([ember.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        ls.OneCycleLR(no_momentum, max_lr=1.0, total_steps=10)


def test_lambda_state_dict_keeps_callable_object_state():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0)
    fn = Decay()
    sched = ls.LambdaLR(opt, fn)
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}]
    fn2 = Decay()
    fn2.rate = 0.1
    ls.LambdaLR(optim.SGD([ember.zeros(1, requires_grad=True)], lr=1.0), fn2).load_state_dict(sd)
    assert fn2.rate == 0.5
    assert math.isclose(ls.LambdaLR(opt, lambda e: 2.0).get_last_lr()[0], 2.0)


def test_named_schedulers_match_torch():
    """ChainedScheduler, ConstantLR, CyclicLR, MultiplicativeLR and a custom LRScheduler, spelled out."""
    torch = pytest.importorskip("torch")

    def build(lib, opt):
        class HalfEveryTwo(lib.optim.lr_scheduler.LRScheduler):
            def get_lr(self):
                return [g["lr"] * (0.5 if self.last_epoch and self.last_epoch % 2 == 0 else 1.0)
                        for g in self.optimizer.param_groups]
        return [lib.optim.lr_scheduler.ChainedScheduler([lib.optim.lr_scheduler.ConstantLR(opt, factor=0.5,
                                                                                            total_iters=3),
                                                         lib.optim.lr_scheduler.MultiplicativeLR(
                                                             opt, lr_lambda=lambda e: 0.9)]),
                HalfEveryTwo(opt)]

    seqs = []
    for lib, opt_mod in ((torch, torch.optim), (ember, optim)):
        opt = opt_mod.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        scheds = build(lib, opt)
        cyc_opt = opt_mod.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        cyc = lib.optim.lr_scheduler.CyclicLR(cyc_opt, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2")
        seq = []
        for _ in range(10):
            opt.step()
            cyc_opt.step()
            for s in scheds:
                s.step()
            cyc.step()
            seq.append([scheds[0].get_last_lr()[0], scheds[1].get_last_lr()[0], cyc.get_last_lr()[0],
                        cyc_opt.param_groups[0]["momentum"]])
        seqs.append(seq)
    _eq(seqs[1], seqs[0])
