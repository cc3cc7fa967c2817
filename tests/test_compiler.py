"""torch.compile / torch.compiler: Ember runs the model eagerly; same results, torch's wrapper and errors."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _pair():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    em = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh(), ember.nn.Linear(4, 2))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, em


def test_compile_module_is_an_optimized_module_like_torch():
    tm, em = _pair()
    tc, ec = torch.compile(tm), ember.compile(em, mode="max-autotune", dynamic=False, fullgraph=True)
    assert type(ec).__name__ == type(tc).__name__ == "OptimizedModule"
    assert ec._orig_mod is em and list(ec.state_dict()) == list(tc.state_dict())   # "_orig_mod." prefix
    assert repr(ec) == repr(tc)
    lin = ember.nn.Linear(2, 2)
    assert ember.compile(lin).weight is lin.weight and ec.training                # attributes read through
    assert torch.compile(tm[0]).weight is tm[0].weight
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_allclose(ec(ember.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    ec(ember.tensor(x)).sum().backward()
    assert em[0].weight.grad is not None                                            # trains the original


def test_compile_function_and_decorator_forms():
    def f(a, b):
        return ember.sin(a) * b + 1

    cf = ember.compile(f, backend="eager")
    a = ember.arange(4.0)
    assert cf.__name__ == "f" and ember.equal(cf(a, a), f(a, a))

    @ember.compile
    def g(x):
        return x * 2

    @ember.compile(mode="reduce-overhead", dynamic=True)
    def h(x):
        return x + 3

    assert g(a).tolist() == [0.0, 2.0, 4.0, 6.0] and h(a).tolist() == [3.0, 4.0, 5.0, 6.0]
    assert ember.compile(f, disable=True) is f
    assert torch.compiler.is_compiling() is ember.compiler.is_compiling() is False
    assert ember.compiler.disable(f) is f and "eager" in ember.compiler.list_backends()


def test_compile_errors_like_torch():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Either mode or options can be specified, but both can't"):
            lib.compile(lambda x: x, mode="default", options={"trace.enabled": True})
        with pytest.raises(RuntimeError, match="Model can't be None"):
            lib.compile()(None)
    with pytest.raises(RuntimeError, match="Unrecognized mode=fastest"):
        ember.compile(lambda x: x, mode="fastest")


def test_module_compile_in_place_like_torch():
    tm, em = _pair()
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    expected = tm(torch.tensor(x)).detach().numpy()             # torch compiles lazily, at the next call
    assert tm.compile(mode="max-autotune") is None and em.compile(mode="max-autotune") is None
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert list(em.state_dict()) == list(tm.state_dict())          # in place: no _orig_mod prefix
    with pytest.raises(RuntimeError, match="Either mode or options can be specified"):
        em.compile(mode="default", options={})
