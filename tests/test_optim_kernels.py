"""The compiled update loops (ember/optim/_kernels.py) against the NumPy kernels they replace, and torch.

Each optimizer setting runs 20 steps twice on the same float32 parameters and gradients: once as shipped
(compiled, when Numba is installed) and once with ``EMBER_JIT=0`` (the NumPy reference). The parameters
and every state buffer must be bit-for-bit equal: the compiled loops round after each operation exactly
as the NumPy calls do. The sizes are odd (the loops' last vector is partial) and include a small one (compiled too
once the module is loaded); one test covers parameters split across cores (1M elements and more).
"""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import optim
from ember.optim import optimizer as optimizer_module

numba = pytest.importorskip("numba")

SIZES = [(201, 199), (70_001,), (1001,)]   # above the 32K import threshold, and below it


def _run(monkeypatch, jit, name, kwargs, steps=20, sizes=SIZES):
    """(params, states) after ``steps`` steps on random float32 data, compiled (jit) or NumPy only."""
    if jit:
        monkeypatch.delenv("EMBER_JIT", raising=False)
    else:
        monkeypatch.setenv("EMBER_JIT", "0")
    rng = np.random.default_rng(0)
    params = [ember.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in sizes]
    opt = getattr(optim, name)(params, **kwargs)
    for _ in range(steps):
        for p in params:
            p.grad = ember.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    states = [{k: v.numpy().copy() for k, v in opt.state[p].items() if isinstance(v, ember.Tensor)} for p in params]
    monkeypatch.delenv("EMBER_JIT", raising=False)
    return [p.detach().numpy().copy() for p in params], states


def _assert_identical(monkeypatch, name, kwargs, **run_kw):
    fast_p, fast_s = _run(monkeypatch, True, name, kwargs, **run_kw)
    ref_p, ref_s = _run(monkeypatch, False, name, kwargs, **run_kw)
    for a, b in zip(fast_p, ref_p):
        assert a.dtype == np.float32 and np.array_equal(a, b)
    for a, b in zip(fast_s, ref_s):
        assert a.keys() == b.keys() and len(a) > 0
        for k in a:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


SGD_SETTINGS = [dict(lr=0.1, momentum=m, dampening=d, nesterov=n, weight_decay=wd, maximize=mx)
                for m, d, n, wd, mx in itertools.product([0, 0.9], [0, 0.3], [False, True], [0, 0.01], [False, True])
                if not (n and (m == 0 or d != 0))]


@pytest.mark.parametrize("kwargs", SGD_SETTINGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_sgd_compiled_is_bit_identical(monkeypatch, kwargs):
    if kwargs["momentum"] == 0:   # no state buffer: compare the parameters alone
        fast, _ = _run(monkeypatch, True, "SGD", kwargs)
        ref, _ = _run(monkeypatch, False, "SGD", kwargs)
        assert all(np.array_equal(a, b) for a, b in zip(fast, ref))
    else:
        _assert_identical(monkeypatch, "SGD", kwargs)


ADAM_SETTINGS = [(name, dict(lr=0.01, betas=(b1, 0.999), amsgrad=ams, weight_decay=wd, maximize=mx))
                 for name, ams, wd, mx, b1 in itertools.product(["Adam", "AdamW"], [False, True], [0, 0.1],
                                                                [False, True], [0.9, 0.3])]


@pytest.mark.parametrize("name,kwargs", ADAM_SETTINGS,
                         ids=[f"{n}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for n, kw in ADAM_SETTINGS])
def test_adam_compiled_is_bit_identical(monkeypatch, name, kwargs):
    """betas (0.3, .) takes torch's other lerp branch (weight 1 - beta1 >= 0.5)."""
    _assert_identical(monkeypatch, name, kwargs)


def test_adam_decoupled_flag_and_eps_zero(monkeypatch):
    """Adam(decoupled_weight_decay=True) is AdamW; eps=0 with zero gradients divides 0 by 0 (NaN, no error)."""
    _assert_identical(monkeypatch, "Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True))
    monkeypatch.delenv("EMBER_JIT", raising=False)
    p = ember.tensor(np.ones(50_000, np.float32), requires_grad=True)
    p.grad = ember.zeros(50_000)
    optim.Adam([p], eps=0.0).step()
    assert np.isnan(p.detach().numpy()).all()


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
                                         ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True))])
def test_parameters_split_across_cores_are_bit_identical(monkeypatch, name, kwargs):
    """A parameter of 1M+ elements is updated in one slab per core; the slabs join seamlessly."""
    _assert_identical(monkeypatch, name, kwargs, steps=3, sizes=[(1_048_583,)])


def test_the_compiled_path_is_taken(monkeypatch):
    """float32 takes the loops (split across cores from 1M elements); EMBER_JIT=0 and float64 do not."""
    monkeypatch.delenv("EMBER_JIT", raising=False)
    assert optimizer_module._compiled_kernels(1 << 20) is not None
    calls = []
    real = optimizer_module.split_work
    monkeypatch.setattr(optimizer_module, "split_work",
                        lambda n, work, size: calls.append((n, size)) or real(n, work, size))
    cases = ((np.float32, 50_000, [(50_000, 0)]), (np.float32, 100, [(100, 0)]), (np.float64, 50_000, []),
             (np.float32, 1 << 20, [(1 << 20, 1 << 20)]))
    for dtype, n, expected in cases:
        calls.clear()
        p = ember.tensor(np.ones(n, dtype), requires_grad=True)
        p.grad = ember.tensor(np.ones(n, dtype))
        optim.SGD([p], lr=0.1, momentum=0.9).step()
        assert calls == expected, (dtype, n)
    monkeypatch.setenv("EMBER_JIT", "0")
    calls.clear()
    p = ember.tensor(np.ones(50_000, np.float32), requires_grad=True)
    p.grad = ember.tensor(np.ones(50_000, np.float32))
    optim.Adam([p]).step()
    assert calls == []


def test_numba_is_imported_only_for_a_big_parameter():
    """Small models never pay Numba's import; the first 32K-element float32 parameter loads the loops."""
    code = ("import sys, numpy as np, ember\n"
            "p = ember.tensor(np.ones(1000, np.float32), requires_grad=True); p.grad = ember.ones(1000)\n"
            "ember.optim.Adam([p]).step(); print('numba' in sys.modules)\n"
            "q = ember.tensor(np.ones(40000, np.float32), requires_grad=True); q.grad = ember.ones(40000)\n"
            "ember.optim.Adam([q]).step(); print('numba' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k != "EMBER_JIT"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_strided_and_complex_parameters_match_torch():
    """Non-contiguous and complex parameters keep the NumPy path; both still follow torch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for make in (lambda: np.asfortranarray(rng.standard_normal((300, 200)).astype(np.float32)),
                 lambda: (rng.standard_normal(40_000) + 1j * rng.standard_normal(40_000)).astype(np.complex64)):
        w, g = make(), make()
        for name, kw in (("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))):
            tp = torch.tensor(w.copy(), requires_grad=True)
            ep = ember.tensor(w.copy(), requires_grad=True)
            topt, eopt = getattr(torch.optim, name)([tp], **kw), getattr(optim, name)([ep], **kw)
            for _ in range(5):
                tp.grad, ep.grad = torch.tensor(g.copy()), ember.tensor(g.copy())
                topt.step()
                eopt.step()
            np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
                                         ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
                                         ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True))])
def test_compiled_path_matches_torch(name, kwargs):
    """Large parameters (compiled, split across cores) against torch's optimizers, 20 steps."""
    torch = pytest.importorskip("torch")
    if os.environ.get("EMBER_JIT") == "0":
        pytest.skip("compiled paths switched off")
    rng = np.random.default_rng(2)
    ws = [rng.standard_normal(s).astype(np.float32) for s in ((513, 600), (70_001,))]
    tp = [torch.tensor(w.copy(), requires_grad=True) for w in ws]
    ep = [ember.tensor(w.copy(), requires_grad=True) for w in ws]
    topt, eopt = getattr(torch.optim, name)(tp, **kwargs), getattr(optim, name)(ep, **kwargs)
    for _ in range(20):
        for t, e in zip(tp, ep):
            g = (0.5 * t.detach().numpy() + rng.standard_normal(t.shape).astype(np.float32)).astype(np.float32)
            t.grad, e.grad = torch.from_numpy(g), ember.tensor(g.copy())
        topt.step()
        eopt.step()
    for t, e in zip(tp, ep):   # torch fuses multiply-adds (one rounding): an ulp or two per step
        scale = max(1.0, float(np.abs(t.detach().numpy()).max()))
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=2e-6 * scale)
