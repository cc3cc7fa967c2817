"""torch.autograd.functional vs ember.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
r = np.random.default_rng(0)
X, Y, V3 = r.standard_normal(3), r.standard_normal(3), r.standard_normal(3)


def same(e, t):
    if isinstance(e, tuple):
        assert isinstance(t, tuple) and len(e) == len(t)
        for a, b in zip(e, t):
            same(a, b)
        return
    assert tuple(e.shape) == tuple(t.shape) and e.requires_grad == t.requires_grad
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


def f(x):
    return (x.sin() * x).sum()


def g(x, y):
    return x.exp() * y, (x * y).sum()


@pytest.mark.parametrize("case", range(10))
def test_functional_api_like_torch(case):
    def run(lib):
        AF = lib.autograd.functional
        x, y, v = lib.tensor(X), lib.tensor(Y), lib.tensor(V3)
        return [
            lambda: AF.vjp(f, x),
            lambda: AF.vjp(lambda a: a.tanh(), x, v),
            lambda: AF.jvp(lambda a: a.tanh() * 2, x, v),
            lambda: AF.jacobian(lambda a: a.tanh() * a[0], x),
            lambda: AF.jacobian(g, (x, y)),
            lambda: AF.jacobian(lambda a: a.tanh() * a[0], x, strategy="forward-mode", vectorize=True),
            lambda: AF.hessian(f, x),
            lambda: AF.hessian(lambda a, b: (a * b.sin()).sum(), (x, y)),
            lambda: AF.hvp(f, x, v),
            lambda: AF.vhp(f, x, v),
        ][case]()
    same(run(ember), run(torch))


def test_create_graph_keeps_the_graph():
    for lib in (ember, torch):
        x = lib.tensor(X, requires_grad=True)
        _, gx = lib.autograd.functional.vjp(f, x, create_graph=True)
        assert gx.requires_grad
        _, gx = lib.autograd.functional.vjp(f, x)
        assert not gx.requires_grad


def test_forward_mode_needs_vectorize_like_torch():
    for lib in (ember, torch):
        with pytest.raises(NotImplementedError, match="only implemented for `vectorize=True`"):
            lib.autograd.functional.jacobian(f, lib.tensor(X), strategy="forward-mode")
