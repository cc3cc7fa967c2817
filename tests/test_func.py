"""torch.func vs ember.func: grad/grad_and_value/vjp/jvp/jacrev/jacfwd/hessian/vmap/functional_call values
against torch's, composition (vmap(grad), jacfwd(jacrev), grad(grad)), pytrees, errors."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def data(seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal(4), r.standard_normal((3, 4)), r.standard_normal((5, 4))


def same(e, t, tol=1e-10):
    if isinstance(e, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            same(a, b, tol)
        return
    if isinstance(e, dict):
        assert set(e) == set(t)
        for k in e:
            same(e[k], t[k], tol)
        return
    ea, ta = e.detach().numpy(), t.detach().numpy()
    assert ea.shape == ta.shape and ea.dtype == ta.dtype, (ea.shape, ta.shape, ea.dtype, ta.dtype)
    np.testing.assert_allclose(ea, ta, rtol=tol, atol=tol)
    assert e.requires_grad == t.requires_grad


def both(make):
    """Run ``make(lib)`` for Ember and torch and compare the results."""
    same(make(ember), make(torch))


def f_scalar(L):
    return lambda x: (x.sin() * x).sum() + (x ** 3).mean()


def test_grad_and_value():
    x, W, X = data()
    both(lambda L: L.func.grad(f_scalar(L))(L.tensor(x)))
    both(lambda L: L.func.grad_and_value(f_scalar(L))(L.tensor(x)))
    both(lambda L: L.func.grad(lambda w, x: (w @ x).tanh().sum(), argnums=(0, 1))(L.tensor(W), L.tensor(x)))
    both(lambda L: L.func.grad(lambda x: ((x ** 2).sum(), x.cos()), has_aux=True)(L.tensor(x)))
    both(lambda L: L.func.grad_and_value(lambda x: ((x ** 2).sum(), x.cos()), has_aux=True)(L.tensor(x)))
    # pytrees: a dict of parameters in, a dict of gradients out
    both(lambda L: L.func.grad(lambda p, x: (p["w"] @ x + p["b"]).pow(2).sum())(
        {"w": L.tensor(W), "b": L.tensor(x[:3])}, L.tensor(x)))
    # higher order
    both(lambda L: L.func.grad(L.func.grad(lambda x: x.sin() * x))(L.tensor(0.7, dtype=L.float64)))


def test_grad_outside_no_grad_and_closures():
    x, W, _ = data()
    both(lambda L: _under_no_grad(L, lambda: L.func.grad(f_scalar(L))(L.tensor(x))))
    # a closure over a tensor that requires grad: the result stays differentiable w.r.t. it
    for L in (ember, torch):
        w = L.tensor(W, requires_grad=True)
        g = L.func.grad(lambda x: (w @ x).tanh().sum())(L.tensor(x))
        assert g.requires_grad
    we, wt = ember.tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    ember.func.grad(lambda x: (we @ x).tanh().sum())(ember.tensor(x)).sum().backward()
    torch.func.grad(lambda x: (wt @ x).tanh().sum())(torch.tensor(x)).sum().backward()
    same(we.grad, wt.grad)


def _under_no_grad(L, fn):
    with L.no_grad():
        return fn()


def test_vjp_jvp_linearize():
    x, W, _ = data()

    def g(L):
        return lambda x: L.matmul(L.tensor(W), x.tanh())
    both(lambda L: L.func.vjp(g(L), L.tensor(x))[0])
    both(lambda L: L.func.vjp(g(L), L.tensor(x))[1](L.ones(3, dtype=L.float64)))
    both(lambda L: L.func.jvp(g(L), (L.tensor(x),), (L.ones(4, dtype=L.float64),)))
    both(lambda L: L.func.jvp(lambda a, b: (a * b).sin(), (L.tensor(x), L.tensor(x[::-1].copy())),
                              (L.ones(4, dtype=L.float64), L.tensor(x))))
    both(lambda L: L.func.linearize(g(L), L.tensor(x))[1](L.ones(4, dtype=L.float64)))
    both(lambda L: L.func.vjp(lambda a, b: (a @ b, b.exp()), L.tensor(W), L.tensor(x))[1](
        (L.ones(3, dtype=L.float64), L.ones(4, dtype=L.float64))))


def test_jacobians_and_hessian():
    x, W, _ = data()

    def g(L):
        return lambda x: L.matmul(L.tensor(W), x.tanh()) * x[:3]
    both(lambda L: L.func.jacrev(g(L))(L.tensor(x)))
    both(lambda L: L.func.jacfwd(g(L))(L.tensor(x)))
    both(lambda L: L.func.jacrev(lambda w, x: (w @ x).sin(), argnums=(0, 1))(L.tensor(W), L.tensor(x)))
    both(lambda L: L.func.jacfwd(lambda w, x: (w @ x).sin(), argnums=(0, 1))(L.tensor(W), L.tensor(x)))
    both(lambda L: L.func.hessian(f_scalar(L))(L.tensor(x)))
    both(lambda L: L.func.hessian(lambda w, x: (w @ x).tanh().sum(), argnums=1)(L.tensor(W), L.tensor(x)))
    both(lambda L: L.func.jacrev(lambda x: (x.sin(), x.sum()))(L.tensor(x)))
    both(lambda L: L.func.jacrev(lambda x: (x.exp(), x.sum()), has_aux=True)(L.tensor(x)))


def test_vmap():
    x, W, X = data()
    both(lambda L: L.func.vmap(lambda a: (a ** 2).sum())(L.tensor(X)))
    both(lambda L: L.func.vmap(lambda a, b: a * b, in_dims=(0, None))(L.tensor(X), L.tensor(x)))
    both(lambda L: L.func.vmap(lambda a, b: a * b, in_dims=(1, None), out_dims=1)(L.tensor(X), L.tensor(x[0])))
    both(lambda L: L.func.vmap(lambda a: (a, a.sum()), out_dims=(0, 0))(L.tensor(X)))
    both(lambda L: L.func.vmap(L.func.vmap(lambda a: a.sin() * 2))(L.tensor(X)))
    both(lambda L: L.func.vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": None},))(
        {"a": L.tensor(X), "b": L.tensor(x)}))
    both(lambda L: L.func.vmap(lambda a: a @ L.tensor(W).T, chunk_size=2)(L.tensor(X)))
    # gradients flow through vmap
    for L in (ember, torch):
        w = L.tensor(W, requires_grad=True)
        L.func.vmap(lambda a: (w @ a).tanh().sum())(L.tensor(X)).sum().backward()
        if L is ember:
            ge = w.grad
        else:
            same(ge, w.grad)


def test_per_sample_gradients_vmap_grad():
    """The torch.func tutorial's per-sample gradients: vmap(grad(loss)) over (params, buffers, x, y)."""
    x, W, X = data()
    y = np.array([0, 2, 1, 1, 0])
    res = []
    for L in (ember, torch):
        L.manual_seed(0)
        model = L.nn.Sequential(L.nn.Linear(4, 6), L.nn.Tanh(), L.nn.Linear(6, 3)).double()
        with L.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(L.tensor(np.cos(np.arange(p.numel()) + i).reshape(tuple(p.shape))))
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def loss(params, buffers, sample, target):
            out = L.func.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
            return L.nn.functional.cross_entropy(out, target.unsqueeze(0))
        per_sample = L.func.vmap(L.func.grad(loss), in_dims=(None, None, 0, 0))(params, buffers, L.tensor(X),
                                                                                   L.tensor(y))
        res.append(per_sample)
        # the mean of per-sample gradients is the batch gradient
        model.zero_grad()
        L.nn.functional.cross_entropy(model(L.tensor(X)), L.tensor(y)).backward()
        for k, p in model.named_parameters():
            np.testing.assert_allclose(per_sample[k].mean(0).numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)
    same(res[0], res[1])


def test_functional_call_swaps_and_restores():
    x, W, X = data()
    for L in (ember, torch):
        L.manual_seed(0)
        m = L.nn.Linear(4, 3).double()
        orig = m.weight
        out = L.func.functional_call(m, {"weight": L.tensor(W), "bias": L.zeros(3, dtype=L.float64)},
                                     (L.tensor(X),))
        np.testing.assert_allclose(out.numpy(), X @ W.T)
        assert m.weight is orig  # restored
        out = L.func.functional_call(m, {"weight": L.tensor(W)}, L.tensor(X))  # partial: bias stays
        np.testing.assert_allclose(out.detach().numpy(), X @ W.T + m.bias.detach().numpy())
        with pytest.raises(RuntimeError, match="Missing key"):
            L.func.functional_call(m, {"weight": L.tensor(W)}, (L.tensor(X),), strict=True)


def test_functional_call_tied_weights_and_buffers():
    for L in (ember, torch):
        class Tied(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = L.nn.Linear(2, 2, bias=False)
                self.b = L.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight
                self.register_buffer("scale", L.ones(1))

            def forward(self, x):
                return self.b(self.a(x)) * self.scale
        m = Tied()
        x = L.ones(1, 2)
        out = L.func.functional_call(m, {"a.weight": 2 * L.eye(2), "scale": L.tensor([3.0])}, (x,))
        assert out.tolist() == [[12.0, 12.0]]
        out = L.func.functional_call(m, {"a.weight": 2 * L.eye(2)}, (x,), tie_weights=False)
        assert out.shape == (1, 2)
        with pytest.raises(ValueError, match="tied"):
            L.func.functional_call(m, {"a.weight": L.eye(2), "b.weight": 2 * L.eye(2)}, (x,))


def test_stack_module_state_ensemble():
    x, W, X = data()
    outs = []
    for L in (ember, torch):
        models = []
        for i in range(3):
            m = L.nn.Linear(4, 2).double()
            with L.no_grad():
                m.weight.copy_(L.tensor(np.cos(np.arange(8) + i).reshape(2, 4)))
                m.bias.fill_(float(i))
            models.append(m)
        params, buffers = L.func.stack_module_state(models)
        assert params["weight"].shape == (3, 2, 4) and params["weight"].requires_grad
        base = models[0]

        def call(p, b, x):
            return L.func.functional_call(base, (p, b), (x,))
        outs.append(L.func.vmap(call, in_dims=(0, 0, None))(params, buffers, L.tensor(X)))
    same(outs[0].detach(), outs[1].detach())


def test_errors_like_torch():
    x, W, X = data()

    def err(make, exact=True):
        msgs = []
        for L in (ember, torch):
            with pytest.raises(Exception) as info:
                make(L)
            msgs.append((type(info.value).__name__, str(info.value)))
        if exact:
            assert msgs[0] == msgs[1], msgs
        else:  # torch prints its pytree specs; the sentence is the same
            assert msgs[0][0] == msgs[1][0] and "in_dims is not compatible with the structure of `inputs`" in \
                msgs[0][1] and "in_dims is not compatible with the structure of `inputs`" in msgs[1][1], msgs
    err(lambda L: L.func.grad(lambda x: x * 2)(L.tensor(x)))
    err(lambda L: L.func.vmap(lambda a, b: a + b)(L.tensor(X), L.tensor(W)))
    err(lambda L: L.func.vmap(lambda a: a, in_dims=(0, 0))(L.tensor(X)), exact=False)
    err(lambda L: L.func.vmap(lambda a: a, randomness="foo")(L.tensor(X)))
