"""Optimizers: parity with PyTorch over 20 steps, state dicts, loading, errors, the Optimizer API."""
import importlib
import math

import numpy as np
import pytest

import ember
from ember import optim

SHAPES = [(3, 4), (5,), (), (300, 250)]  # the last spans several 32K-element blocks


def _arrays(dtype=np.float32, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _grad(p, i, step, sign=1):
    """A fixed non-quadratic loss gradient, computed in NumPy in the parameter's dtype.

    The parity tests evaluate it at PyTorch's parameters and hand the same array to both
    frameworks, so they compare the optimizers' arithmetic alone: fed back through the loss, an
    ulp of difference near the loss's minimum (where Adam normalises a ~0 gradient) would grow."""
    c = np.asarray(0.3 * (i + 1), dtype=p.dtype)
    g = (p - c) * np.asarray(1.0 + 0.1 * i, p.dtype) + np.asarray(0.05, p.dtype) * p ** 3
    g = g + np.asarray(0.01 * math.sin(step + i), p.dtype)
    return np.array(g if sign == 1 else -g, dtype=p.dtype)


def _ember_params(arrays):
    return [ember.tensor(a.copy(), requires_grad=True) for a in arrays]


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9), eps=1e-6, amsgrad=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, maximize=True, eps=1e-6)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.4, 0.99), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=3, maximize=True, foreach=True)),
    ("Adam", dict(lr=0.01, foreach=True)),
    ("Adam", dict(lr=0.01, fused=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, foreach=False, fused=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in OPTIMIZERS]


def _run_pair(torch, name, kwargs, steps=20, dtype=np.float32, arrays=None, skip_grad=None):
    arrays = _arrays(dtype) if arrays is None else arrays
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    ep = _ember_params(arrays)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    eopt = getattr(optim, name)(ep, **kwargs)
    sign = -1 if kwargs.get("maximize") else 1  # maximize -loss: the same stable trajectory
    for step in range(steps):
        for i, (t, e) in enumerate(zip(tp, ep)):
            if skip_grad is not None and skip_grad(i, step):
                t.grad = e.grad = None
                continue
            g = _grad(t.detach().numpy(), i, step, sign)
            t.grad, e.grad = torch.from_numpy(g), ember.from_numpy(g.copy())
        topt.step()
        eopt.step()
    return tp, ep, topt, eopt


def _assert_params_close(tp, ep, rtol=1e-6, init=None):
    """Equal within ``rtol`` relative to each tensor's scale: the largest magnitude it held, at the
    start (``init``) or now.

    PyTorch's CPU kernels fuse ``a*b + c`` (lerp, addcmul, add with alpha) into one FMA rounding
    where NumPy rounds twice, so single elements differ by an ulp or two of the values they went
    through -- ~1e-7 of the tensor's scale, which is also what an element near zero sees."""
    init = [None] * len(tp) if init is None else init
    for t, e, a in zip(tp, ep, init):
        tn, en = t.detach().numpy(), e.detach().numpy()
        assert en.dtype == tn.dtype and en.shape == tn.shape
        scale = max(1.0, float(np.abs(tn).max()), 0.0 if a is None else float(np.abs(a).max()))
        np.testing.assert_allclose(en, tn, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=IDS)
def test_parity_20_steps(name, kwargs):
    torch = pytest.importorskip("torch")
    tp, ep, _, _ = _run_pair(torch, name, kwargs)
    _assert_params_close(tp, ep, init=_arrays())


@pytest.mark.parametrize("name,kwargs", [OPTIMIZERS[i] for i in (2, 7, 10, 14, 16, 19, 22)])
def test_parity_float64(name, kwargs):
    torch = pytest.importorskip("torch")
    tp, ep, _, _ = _run_pair(torch, name, kwargs, dtype=np.float64)
    _assert_params_close(tp, ep, rtol=1e-12, init=_arrays(np.float64))


@pytest.mark.parametrize("name,kwargs", [OPTIMIZERS[i] for i in (1, 5, 12, 16, 18, 21)])
def test_parity_when_some_grads_are_missing(name, kwargs):
    """A parameter whose .grad is None is skipped (its state does not advance)."""
    torch = pytest.importorskip("torch")
    tp, ep, topt, eopt = _run_pair(torch, name, kwargs, skip_grad=lambda i, s: (i + s) % 3 == 0)
    _assert_params_close(tp, ep, init=_arrays())
    _assert_state_dicts_match(topt.state_dict(), eopt.state_dict())


def test_parity_non_contiguous_parameter():
    """A Fortran-ordered parameter takes the whole-array path; results are unchanged."""
    torch = pytest.importorskip("torch")
    arr = np.asfortranarray(np.random.default_rng(3).standard_normal((150, 120)).astype(np.float32))
    e = ember.from_numpy(arr.copy(order="F")).requires_grad_()
    assert not e._data.flags.c_contiguous
    t = torch.tensor(arr, requires_grad=True)
    eopt, topt = optim.Adam([e], lr=0.01, amsgrad=True), torch.optim.Adam([t], lr=0.01, amsgrad=True)
    for step in range(20):
        g = _grad(t.detach().numpy(), 0, step)
        t.grad, e.grad = torch.from_numpy(g), ember.from_numpy(np.asfortranarray(g))
        topt.step()
        eopt.step()
    _assert_params_close([t], [e], init=[arr])


def test_param_groups_with_different_hyperparameters():
    torch = pytest.importorskip("torch")
    arrays = _arrays()
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    ep = _ember_params(arrays)
    topt = torch.optim.SGD([{"params": tp[:2]}, {"params": tp[2:], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    eopt = optim.SGD([{"params": ep[:2]}, {"params": ep[2:], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    for step in range(20):
        for i, (t, e) in enumerate(zip(tp, ep)):
            g = _grad(t.detach().numpy(), i, step)
            t.grad, e.grad = torch.from_numpy(g), ember.from_numpy(g.copy())
        topt.step()
        eopt.step()
    _assert_params_close(tp, ep, init=arrays)
    _assert_state_dicts_match(topt.state_dict(), eopt.state_dict())


# ---------------------------------------------------------------------------------- state dicts
def _assert_state_dicts_match(tsd, esd, values=True):
    assert set(esd) == set(tsd) == {"state", "param_groups"}
    assert len(esd["param_groups"]) == len(tsd["param_groups"])
    for tg, eg in zip(tsd["param_groups"], esd["param_groups"]):
        assert list(eg) == list(tg)          # same keys, same order
        assert eg == tg                      # same hyperparameters and param indices
    assert list(esd["state"]) == list(tsd["state"])
    for k, ts in tsd["state"].items():
        es = esd["state"][k]
        assert list(es) == list(ts)
        for key, tv in ts.items():
            ev = es[key]
            assert isinstance(ev, ember.Tensor)
            assert str(ev.dtype) == str(tv.dtype) and tuple(ev.shape) == tuple(tv.shape)
            if values:
                tn = tv.detach().numpy()
                scale = max(1.0, float(np.abs(tn).max())) if tn.size else 1.0
                np.testing.assert_allclose(ev.detach().numpy(), tn, rtol=1e-6, atol=2e-6 * scale)


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=IDS)
def test_state_dict_structure_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    tp, ep, topt, eopt = _run_pair(torch, name, kwargs, steps=3)
    _assert_state_dicts_match(topt.state_dict(), eopt.state_dict())


def test_state_dict_before_any_step():
    torch = pytest.importorskip("torch")
    for name in ("SGD", "Adam", "Adagrad"):
        arrays = _arrays()
        tsd = getattr(torch.optim, name)([torch.tensor(a) for a in arrays]).state_dict()
        esd = getattr(optim, name)(_ember_params(arrays)).state_dict()
        _assert_state_dicts_match(tsd, esd)  # Adagrad creates its state at construction


def test_step_counter_is_a_float32_0d_tensor():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p])
    for _ in range(3):
        p.grad = ember.tensor([0.5, -0.5])
        opt.step()
    step = opt.state_dict()["state"][0]["step"]
    assert isinstance(step, ember.Tensor) and step.dim() == 0 and step.dtype == ember.float32
    assert step.item() == 3.0


@pytest.mark.parametrize("name,kwargs", [OPTIMIZERS[i] for i in (2, 7, 10, 14, 16, 19, 22)])
def test_load_state_dict_round_trip_continues_identically(name, kwargs):
    arrays = _arrays()
    ep = _ember_params(arrays)
    opt = getattr(optim, name)(ep, **kwargs)

    def run(params, o, steps, start):
        for step in range(start, start + steps):
            for i, p in enumerate(params):
                p.grad = ember.from_numpy(_grad(p.detach().numpy(), i, step))
            o.step()

    run(ep, opt, 10, 0)
    sd = opt.state_dict()
    # a fresh optimizer over copies of the parameters, built with different hyperparameters
    ep2 = _ember_params([p.detach().numpy() for p in ep])
    opt2 = getattr(optim, name)(ep2, lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert opt2.param_groups[0]["params"][0] is ep2[0]
    # torch shares the loaded state tensors; clone them so the two runs are independent
    for st in opt2.state.values():
        for k, v in st.items():
            if isinstance(v, ember.Tensor):
                st[k] = v.clone()
    run(ep, opt, 10, 10)
    run(ep2, opt2, 10, 10)
    for a, b in zip(ep, ep2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name,kwargs", [OPTIMIZERS[i] for i in (2, 7, 10, 14, 16, 19, 22)])
def test_load_torch_state_dict_and_continue(name, kwargs):
    """A state dict produced by PyTorch loads into Ember and the run continues in step."""
    torch = pytest.importorskip("torch")
    tp, ep, topt, eopt = _run_pair(torch, name, kwargs, steps=10)
    tsd = topt.state_dict()
    conv = {"state": {k: {kk: ember.from_numpy(vv.detach().numpy().copy()) for kk, vv in v.items()}
                      for k, v in tsd["state"].items()},
            "param_groups": tsd["param_groups"]}
    ep2 = _ember_params([t.detach().numpy() for t in tp])
    eopt2 = getattr(optim, name)(ep2, **kwargs)
    eopt2.load_state_dict(conv)
    for step in range(10, 20):
        for i, (t, e) in enumerate(zip(tp, ep2)):
            g = _grad(t.detach().numpy(), i, step)
            t.grad, e.grad = torch.from_numpy(g), ember.from_numpy(g.copy())
        topt.step()
        eopt2.step()
    _assert_params_close(tp, ep2, init=_arrays())


def test_load_state_dict_casts_state_to_param_dtype_and_keeps_step():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p])
    sd = {"state": {0: {"step": ember.tensor(4.0), "exp_avg": ember.tensor([0.1, 0.2], dtype=ember.float64),
                        "exp_avg_sq": ember.tensor([0.01, 0.02], dtype=ember.float64)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=0.5)]}
    opt.load_state_dict(sd)
    st = opt.state[p]
    assert st["exp_avg"].dtype == ember.float32 and st["exp_avg_sq"].dtype == ember.float32
    assert st["step"].item() == 4.0
    assert opt.param_groups[0]["lr"] == 0.5


def test_load_state_dict_with_python_number_step():
    """Old checkpoints stored ``step`` as a number; it becomes a 0-d tensor, as in torch."""
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p])
    sd = {"state": {0: {"step": 7, "exp_avg": ember.zeros(2), "exp_avg_sq": ember.zeros(2)}},
          "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(sd)
    assert isinstance(opt.state[p]["step"], ember.Tensor) and opt.state[p]["step"].item() == 7.0
    p.grad = ember.tensor([1.0, 1.0])
    opt.step()
    assert opt.state[p]["step"].item() == 8.0


def test_load_state_dict_mismatch_errors():
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(3, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


# -------------------------------------------------------------------------- the Optimizer API
def test_named_parameters_give_param_names():
    torch = pytest.importorskip("torch")
    arrays = _arrays()
    tnamed = [(f"w{i}", torch.tensor(a, requires_grad=True)) for i, a in enumerate(arrays)]
    enamed = [(f"w{i}", t) for i, t in enumerate(_ember_params(arrays))]
    tsd = torch.optim.Adam(tnamed).state_dict()
    esd = optim.Adam(enamed).state_dict()
    _assert_state_dicts_match(tsd, esd)
    assert esd["param_groups"][0]["param_names"] == ["w0", "w1", "w2", "w3"]


def test_add_param_group_and_defaults():
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([a])


def test_errors_like_torch():
    p = ember.zeros(2, requires_grad=True)
    cases = [
        (lambda: optim.SGD([p], lr=-1), "Invalid learning rate: -1"),
        (lambda: optim.SGD([p], momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda: optim.SGD([p], weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda: optim.SGD([p], nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda: optim.Adam([p], lr=-1), "Invalid learning rate: -1"),
        (lambda: optim.Adam([p], eps=-1), "Invalid epsilon value: -1"),
        (lambda: optim.Adam([p], betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
        (lambda: optim.Adam([p], betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        (lambda: optim.Adam([p], betas=(0, 0.9)), "betas must be either both floats or both Tensors"),
        (lambda: optim.AdamW([p], weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda: optim.RMSprop([p], alpha=-1), "Invalid alpha value: -1"),
        (lambda: optim.Adagrad([p], lr_decay=-1), "Invalid lr_decay value: -1"),
        (lambda: optim.Adagrad([p], initial_accumulator_value=-1),
         "Invalid initial_accumulator_value value: -1"),
        (lambda: optim.Adamax([p], betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
        (lambda: optim.NAdam([p], momentum_decay=-1), "Invalid momentum_decay value: -1"),
        (lambda: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    ]
    for fn, msg in cases:
        with pytest.raises(ValueError) as info:
            fn()
        assert str(info.value) == msg


def test_errors_match_torch_messages():
    torch = pytest.importorskip("torch")
    configs = [("SGD", dict(lr=-1)), ("Adam", dict(lr=-1)), ("Adam", dict(betas=(0.9, 1.5))),
               ("RMSprop", dict(momentum=-1)), ("Adagrad", dict(eps=-1)), ("NAdam", dict(weight_decay=-2)),
               ("Adamax", dict(eps=-1)), ("AdamW", dict(lr=-0.5))]
    for name, kw in configs:
        with pytest.raises(ValueError) as t_err:
            getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
        with pytest.raises(ValueError) as e_err:
            getattr(optim, name)([ember.zeros(2, requires_grad=True)], **kw)
        assert str(e_err.value) == str(t_err.value)


def test_param_errors():
    p = ember.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("a", p), ember.zeros(2, requires_grad=True)], lr=0.1)


def test_zero_grad():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = ember.tensor([3.0, 4.0])
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no grads: nothing happens
    assert p.tolist() == [1.0, 2.0]
    (p ** 3).sum().backward(create_graph=True)  # a gradient that is itself in a graph
    assert p.grad.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert p.grad.grad_fn is None and not p.grad.requires_grad and p.grad.tolist() == [0.0, 0.0]


def test_step_with_closure_runs_with_grad_enabled_and_returns_loss():
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        calls.append(ember.is_grad_enabled())
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.detach().numpy(), [0.8, -1.6], rtol=1e-6)


def test_step_updates_in_place_outside_the_graph_and_bumps_version():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    data = p._data
    v0 = p._version
    opt = optim.Adam([p], lr=0.1)
    p.grad = ember.tensor([1.0, 1.0])
    opt.step()
    assert p._data is data            # same ndarray, updated in place
    assert p._version > v0
    assert p.grad_fn is None and p.is_leaf
    assert p.dtype == ember.float32


def test_training_with_autograd_matches_torch():
    """A small least-squares fit driven by real backward passes, Adam in both frameworks."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((32, 5)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    W = rng.standard_normal((5, 1)).astype(np.float32)
    tw, ew = torch.tensor(W.copy(), requires_grad=True), ember.tensor(W.copy(), requires_grad=True)
    topt, eopt = torch.optim.Adam([tw], lr=0.05), optim.Adam([ew], lr=0.05)
    tX, ty, eX, ey = torch.tensor(X), torch.tensor(y), ember.tensor(X), ember.tensor(y)
    for _ in range(20):
        topt.zero_grad()
        ((tX @ tw - ty) ** 2).mean().backward()
        topt.step()
        eopt.zero_grad()
        ((eX @ ew - ey) ** 2).mean().backward()
        eopt.step()
    np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_step_hooks_and_repr():
    p = ember.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    seen = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    opt.step()
    h1.remove()
    opt.step()
    assert seen == ["pre", "post", "post"]
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    assert repr(optim.Adam([ember.zeros(2, requires_grad=True)], lr=0.01)) == \
        repr(torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.01))


def test_custom_optimizer_subclass():
    """A user optimizer in the torch style (its own ``step``) works on the base class."""

    class PlainGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p._data -= group["lr"] * p.grad._data
                        p._bump()

    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = PlainGD([p])
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append(1))
    p.grad = ember.tensor([1.0, 1.0])
    opt.step()
    assert seen == [1]
    np.testing.assert_allclose(p.detach().numpy(), [0.9, 1.9], rtol=1e-6)


def test_differentiable_true_is_refused_clearly():
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        optim.Adam([ember.zeros(2, requires_grad=True)], differentiable=True)


def test_optimizer_with_module_parameters():
    nn = pytest.importorskip("ember.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("ember.nn.Linear not available yet")
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = ember.ones(2, 4)
    before = model.weight.detach().numpy().copy()
    model(x).sum().backward()
    opt.step()
    assert not np.allclose(model.weight.detach().numpy(), before)
    assert set(opt.state_dict()["state"]) == {0, 1}


def test_hooks_fire_once_when_a_subclass_step_calls_super():
    class LoggedSGD(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    p = ember.zeros(2, requires_grad=True)
    opt = LoggedSGD([p], lr=0.1)
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    p.grad = ember.ones(2)
    opt.step()
    assert seen == ["pre", "post"]
    np.testing.assert_allclose(p.detach().numpy(), [-0.1, -0.1], rtol=1e-6)


def _cuda_available():
    dev = importlib.import_module("ember.device")  # the module (ember.device is also the class)
    return dev.cupy is not None and dev._n_gpus > 0


@pytest.mark.skipif(not _cuda_available(), reason="needs CuPy and a GPU")
@pytest.mark.parametrize("name,kwargs", [OPTIMIZERS[i] for i in (2, 7, 10, 14, 16, 19, 22)])
def test_cuda_parameters_match_cpu(name, kwargs):
    """The same kernels run on CuPy arrays (whole-array path); state stays on the GPU."""
    arrays = _arrays()
    cpu = _ember_params(arrays)
    gpu = [ember.tensor(a.copy(), device="cuda", requires_grad=True) for a in arrays]
    ocpu, ogpu = getattr(optim, name)(cpu, **kwargs), getattr(optim, name)(gpu, **kwargs)
    sign = -1 if kwargs.get("maximize") else 1
    for step in range(20):
        for i, (c, g) in enumerate(zip(cpu, gpu)):
            grad = _grad(c.detach().numpy(), i, step, sign)
            c.grad = ember.from_numpy(grad)
            g.grad = ember.from_numpy(grad.copy()).cuda()
        ocpu.step()
        ogpu.step()
    for c, g in zip(cpu, gpu):
        assert g.device.type == "cuda"
        np.testing.assert_allclose(g.detach().cpu().numpy(), c.detach().numpy(), rtol=1e-5, atol=1e-5)
    for st in ogpu.state.values():
        for k, v in st.items():
            assert v.device.type == ("cpu" if k in ("step", "mu_product") else "cuda")


def test_checkpoint_round_trip_through_ember_save(tmp_path):
    """An optimizer state dict survives ember.save / ember.load and the run continues identically."""
    if not hasattr(ember, "save"):
        pytest.skip("ember.save not available")
    arrays = _arrays()
    ep = _ember_params(arrays)
    opt = optim.Adam(ep, lr=0.01, amsgrad=True)
    for step in range(5):
        for i, p in enumerate(ep):
            p.grad = ember.from_numpy(_grad(p.detach().numpy(), i, step))
        opt.step()
    path = tmp_path / "opt.safetensors"
    ember.save(opt.state_dict(), str(path))
    ep2 = _ember_params([p.detach().numpy() for p in ep])
    opt2 = optim.Adam(ep2)
    opt2.load_state_dict(ember.load(str(path)))
    assert opt2.param_groups[0]["amsgrad"] is True and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for step in range(5, 10):
        for i, (p, q) in enumerate(zip(ep, ep2)):
            p.grad = ember.from_numpy(_grad(p.detach().numpy(), i, step))
            q.grad = ember.from_numpy(_grad(q.detach().numpy(), i, step))
        opt.step()
        opt2.step()
    for a, b in zip(ep, ep2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_load_a_pytorch_checkpoint_file(tmp_path):
    """A .pt optimizer checkpoint written by torch.save loads through ember.load into an Ember optimizer."""
    torch = pytest.importorskip("torch")
    if not hasattr(ember, "load"):
        pytest.skip("ember.load not available")
    tp, ep, topt, _ = _run_pair(torch, "AdamW", dict(lr=0.01), steps=5)
    torch.save(topt.state_dict(), str(tmp_path / "opt.pt"))
    ep2 = _ember_params([t.detach().numpy() for t in tp])
    eopt = optim.AdamW(ep2, lr=0.01)
    eopt.load_state_dict(ember.load(str(tmp_path / "opt.pt")))
    _assert_state_dicts_match(topt.state_dict(), eopt.state_dict())
    for step in range(5, 20):
        for i, (t, e) in enumerate(zip(tp, ep2)):
            g = _grad(t.detach().numpy(), i, step)
            t.grad, e.grad = torch.from_numpy(g), ember.from_numpy(g.copy())
        topt.step()
        eopt.step()
    _assert_params_close(tp, ep2, init=_arrays())


def test_tensor_lr_matches_torch():
    """A 0-d tensor lr works (and a scheduler fills it in place); a multi-element one is refused."""
    torch = pytest.importorskip("torch")
    ep, tp = ember.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    eopt, topt = optim.Adam([ep], lr=ember.tensor(0.01)), torch.optim.Adam([tp], lr=torch.tensor(0.01))
    esched = optim.lr_scheduler.StepLR(eopt, 2)
    tsched = torch.optim.lr_scheduler.StepLR(topt, 2)
    lr_tensor = eopt.param_groups[0]["lr"]
    for _ in range(5):
        ep.grad, tp.grad = ember.tensor([1.0, -1.0]), torch.tensor([1.0, -1.0])
        eopt.step()
        topt.step()
        esched.step()
        tsched.step()
    assert eopt.param_groups[0]["lr"] is lr_tensor
    assert lr_tensor.item() == pytest.approx(topt.param_groups[0]["lr"].item(), rel=1e-6)
    np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-6)
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam"):
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            getattr(optim, name)([ember.zeros(2, requires_grad=True)], lr=ember.tensor([0.1, 0.2]))


# ------------------------------------------------------------------------------ LBFGS, SparseAdam
def _lbfgs_pair(torch, dtype, **kwargs):
    """Fit y = sin(3x) with a small tanh network by LBFGS in both frameworks, from equal weights."""
    x = np.linspace(-1, 1, 32, dtype=dtype).reshape(-1, 1)
    y = np.sin(3 * x)
    w1, b1, w2 = _arrays(dtype, seed=3, shapes=[(1, 8), (8,), (8, 1)])
    result = []
    for lib in (torch, ember):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in (w1, b1, w2)]
        xt, yt = lib.tensor(x), lib.tensor(y)
        opt = lib.optim.LBFGS(params, **kwargs)

        def closure():
            opt.zero_grad()
            loss = ((lib.tanh(xt @ params[0] + params[1]) @ params[2] - yt) ** 2).mean()
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(4)]
        result.append((params, opt, losses))
    return result


@pytest.mark.parametrize("kwargs", [dict(), dict(line_search_fn="strong_wolfe"),
                                    dict(lr=0.5, max_iter=5, history_size=3),
                                    dict(line_search_fn="strong_wolfe", history_size=4, max_eval=12)])
def test_lbfgs_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    (tp, topt, tl), (ep, eopt, el) = _lbfgs_pair(torch, np.float64, **kwargs)
    np.testing.assert_allclose(el, tl, rtol=1e-9)
    _assert_params_close(tp, ep, rtol=1e-5)    # 80 iterations amplify float64 rounding in tanh and mean
    ts, es = topt.state_dict()["state"][0], eopt.state_dict()["state"][0]
    assert list(es) == list(ts)
    assert es["func_evals"] == ts["func_evals"] and es["n_iter"] == ts["n_iter"]
    assert len(es["old_dirs"]) == len(ts["old_dirs"])
    np.testing.assert_allclose(es["d"].numpy(), ts["d"].numpy(), rtol=1e-4, atol=1e-7)
    assert eopt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]


def test_lbfgs_float32_and_errors():
    torch = pytest.importorskip("torch")
    (tp, _, tl), (ep, _, el) = _lbfgs_pair(torch, np.float32, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(el[:2], tl[:2], rtol=1e-3)  # float32 rounding then takes the two apart
    assert el[-1] < 1e-3 * el[0] and tl[-1] < 1e-3 * tl[0]
    p = ember.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [ember.zeros(1, requires_grad=True)]}])
    opt = optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = ((p - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


def test_sparse_adam_on_embedding_sparse_matches_torch():
    """torch's SparseAdam needs Embedding(sparse=True)'s sparse gradient; Ember's dense gradient is
    zero in the rows not looked up, and only the other rows (and their moments) move."""
    torch = pytest.importorskip("torch")
    weight = _arrays(seed=5, shapes=[(10, 4)])[0]
    batches = [[1, 3, 3, 7], [0, 1, 2, 2], [9, 8, 1, 1]]
    out = []
    for lib in (torch, ember):
        emb = lib.nn.Embedding(10, 4, sparse=True)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(weight))
        opt = lib.optim.SparseAdam(emb.parameters(), lr=0.05, maximize=lib is ember and False)
        for step in range(20):
            idx = lib.tensor(batches[step % 3])
            opt.zero_grad()
            (emb(idx) * lib.arange(4.0)).sin().sum().backward()
            opt.step()
        out.append((emb, opt))
    (temb, topt), (eemb, eopt) = out
    _assert_params_close([temb.weight], [eemb.weight])
    ts, es = topt.state_dict()["state"][0], eopt.state_dict()["state"][0]
    assert list(es) == list(ts) and es["step"] == ts["step"] == 20
    np.testing.assert_allclose(es["exp_avg"].numpy(), ts["exp_avg"].numpy(), rtol=1e-5, atol=1e-7)
    untouched = [4, 5, 6]
    np.testing.assert_array_equal(eemb.weight.detach().numpy()[untouched], weight[untouched])


def test_sparse_adam_maximize_and_errors():
    torch = pytest.importorskip("torch")
    weight = _arrays(seed=6, shapes=[(6, 3)])[0]
    res = []
    for lib in (torch, ember):
        emb = lib.nn.Embedding(6, 3, sparse=True)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(weight))
        opt = lib.optim.SparseAdam(list(emb.parameters()), lr=0.1, betas=(0.5, 0.9), maximize=True)
        for step in range(20):
            opt.zero_grad()
            (-(emb(lib.tensor([step % 6, 2])) - 0.5) ** 2).sum().backward()
            opt.step()
        res.append(emb.weight)
    _assert_params_close([res[0]], [res[1]], rtol=1e-5)
    p = [ember.zeros(2, requires_grad=True)]
    for kwargs, msg in [(dict(lr=0.0), "Invalid learning rate: 0.0"), (dict(eps=0.0), "Invalid epsilon value"),
                        (dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1")]:
        with pytest.raises(ValueError, match=msg):
            optim.SparseAdam(p, **kwargs)
        with pytest.raises(ValueError, match=msg):
            torch.optim.SparseAdam([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="SparseAdam does not support complex"):
        optim.SparseAdam([ember.zeros(2, dtype=ember.complex64, requires_grad=True)])


@pytest.mark.parametrize("name,kwargs,msg", [
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(eps=-1), "Invalid epsilon value: -1"),
    ("RAdam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("Rprop", dict(etas=(1.2, 0.5)), "Invalid eta values: 1.2, 0.5"),
    ("ASGD", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("LBFGS", dict(lr=-1), "Invalid learning rate: -1"),
])
def test_new_optimizer_errors_match_torch(name, kwargs, msg):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=msg):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=msg):
        getattr(optim, name)([ember.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adadelta", "RAdam", "Rprop", "ASGD", "NAdam", "Adamax",
                                  "RMSprop"])
def test_capturable_on_cpu_is_refused_at_step_like_torch(name):
    torch = pytest.importorskip("torch")
    for lib, opt_mod in ((torch, torch.optim), (ember, optim)):
        p = lib.zeros(3, requires_grad=True)
        p.grad = lib.ones(3)
        opt = getattr(opt_mod, name)([p], capturable=True)    # accepted at construction
        with pytest.raises(AssertionError, match="If capturable=True, params"):
            opt.step()


def test_new_optimizers_train_a_model_like_torch():
    """Through autograd (not hand-made gradients): a linear fit, 20 steps, every new optimizer."""
    torch = pytest.importorskip("torch")
    x = np.sin(np.arange(24, dtype=np.float32)).reshape(8, 3)
    y = np.cos(np.arange(8, dtype=np.float32)).reshape(8, 1)
    w0 = _arrays(seed=9, shapes=[(1, 3)])[0]
    for name, kwargs in [("Adadelta", {}), ("RAdam", dict(lr=0.05)), ("Rprop", {}), ("ASGD", dict(t0=4))]:
        res = []
        for lib in (torch, ember):
            model = lib.nn.Linear(3, 1)
            with lib.no_grad():
                model.weight.copy_(lib.tensor(w0))
                model.bias.fill_(0.1)
            opt = getattr(lib.optim, name)(model.parameters(), **kwargs)
            for _ in range(20):
                opt.zero_grad()
                lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y)).backward()
                opt.step()
            res.append(model)
        _assert_params_close([res[0].weight, res[0].bias], [res[1].weight, res[1].bias], rtol=1e-5)


def test_sgd_overflow_is_silent_as_in_torch():
    """A diverging SGD step (grad * lr beyond float32) gives inf without a NumPy RuntimeWarning, as torch does."""
    import warnings
    torch = pytest.importorskip("torch")
    res = []
    for lib in (ember, torch):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
        p.grad = lib.tensor([1e30, -1e30])
        opt = lib.optim.SGD([p], lr=1e20, momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            opt.step()
        res.append(p.detach().numpy().copy())
    np.testing.assert_array_equal(res[0], res[1])


def test_named_new_optimizers_step_like_torch():
    """The new optimizers spelled out (torch.optim.ASGD ... / ember.optim.ASGD ...), one model, 20 steps."""
    torch = pytest.importorskip("torch")
    pairs = [(torch.optim.ASGD, ember.optim.ASGD, dict(lr=0.05, t0=5)),
             (torch.optim.Rprop, ember.optim.Rprop, dict(lr=0.02)),
             (torch.optim.Adadelta, ember.optim.Adadelta, dict(lr=0.5)),
             (torch.optim.RAdam, ember.optim.RAdam, dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.1)),
             (torch.optim.Adamax, ember.optim.Adamax, dict(lr=0.05, maximize=False)),
             (torch.optim.NAdam, ember.optim.NAdam, dict(lr=0.05))]
    x = np.cos(np.arange(12, dtype=np.float32)).reshape(4, 3)
    for tcls, ecls, kwargs in pairs:
        w0 = _arrays(seed=11, shapes=[(3,)])[0]
        tw, ew = torch.tensor(w0.copy(), requires_grad=True), ember.tensor(w0.copy(), requires_grad=True)
        topt, eopt = tcls([tw], **kwargs), ecls([ew], **kwargs)
        for _ in range(20):
            for lib, w, opt in ((torch, tw, topt), (ember, ew, eopt)):
                opt.zero_grad()
                (lib.tanh(lib.tensor(x) @ w) ** 2).sum().backward()
                opt.step()
        _assert_params_close([tw], [ew], rtol=1e-5)
        assert list(eopt.state_dict()["state"][0]) == list(topt.state_dict()["state"][0])


def _matrix_params(lib):
    return [lib.tensor(np.sin(np.arange(12, dtype=np.float32)).reshape(3, 4), requires_grad=True),
            lib.tensor(np.cos(np.arange(30, dtype=np.float32)).reshape(6, 5), requires_grad=True),
            lib.tensor(np.sin(np.arange(24, dtype=np.float32)).reshape(2, 3, 4), requires_grad=True),
            lib.tensor(np.cos(np.arange(5, dtype=np.float32)), requires_grad=True)]


def _train_20(lib, make_opt, params):
    opt = make_opt(lib, params)
    for _ in range(20):
        opt.zero_grad()
        sum((lib.tanh(p) ** 2).sum() for p in params).backward()
        opt.step()
    return opt


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.05, weight_decay=0.1, maximize=True, d=1.5, eps=(1e-20, 1e-3)),
                                    dict(beta2_decay=-0.5, eps=(None, 1e-2))])
def test_adafactor_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    tp, ep = _matrix_params(torch), _matrix_params(ember)
    topt = _train_20(torch, lambda lib, ps: lib.optim.Adafactor(ps, **kwargs), tp)
    eopt = _train_20(ember, lambda lib, ps: lib.optim.Adafactor(ps, **kwargs), ep)
    _assert_params_close(tp, ep, rtol=1e-6)
    _assert_state_dicts_match(topt.state_dict(), eopt.state_dict())
    with pytest.raises(ValueError, match="beta2_decay should be <= 0 but is: 0.5"):
        ember.optim.Adafactor(ep, beta2_decay=0.5)
    with pytest.raises(ValueError, match="Clipping threshold d should be >= 1 but is: 0.5"):
        torch.optim.Adafactor(tp, d=0.5)


def test_muon_newton_schulz_is_torch_bit_for_bit_in_bfloat16():
    torch = pytest.importorskip("torch")
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns

    from ember.optim.muon import _zeropower_via_newtonschulz as ember_ns
    for shape in [(6, 5), (4, 7)]:
        g = np.sin(np.arange(np.prod(shape), dtype=np.float32) * 1.3).reshape(shape)
        t = torch_ns(torch.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7)
        e = ember_ns(ember.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7)
        assert e.dtype is ember.bfloat16
        np.testing.assert_array_equal(e.float().numpy(), t.float().numpy())


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.02, nesterov=False, adjust_lr_fn="match_rms_adamw",
                                                 weight_decay=0.0)])
def test_muon_matches_torch(kwargs):
    """20 steps: the bfloat16 orthogonalisation turns float32 ulps of the momentum into bfloat16 ulps of the
    update now and then, so parameters agree to a few bfloat16 ulps of the total movement."""
    torch = pytest.importorskip("torch")
    tp, ep = _matrix_params(torch)[:2], _matrix_params(ember)[:2]
    topt = _train_20(torch, lambda lib, ps: lib.optim.Muon(ps, **kwargs), tp)
    eopt = _train_20(ember, lambda lib, ps: lib.optim.Muon(ps, **kwargs), ep)
    for t, e in zip(tp, ep):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=3e-3)
    _assert_state_dicts_match(topt.state_dict(), eopt.state_dict(), values=False)
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        ember.optim.Muon([ember.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="Adjust learning rate function x is not supported"):
        ember.optim.Muon(ep, adjust_lr_fn="x")
