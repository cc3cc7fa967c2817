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


def f_scalar(lib):
    return lambda x: (x.sin() * x).sum() + (x ** 3).mean()


def test_grad_and_value():
    x, W, X = data()
    both(lambda lib: lib.func.grad(f_scalar(lib))(lib.tensor(x)))
    both(lambda lib: lib.func.grad_and_value(f_scalar(lib))(lib.tensor(x)))
    both(lambda lib: lib.func.grad(lambda w, x: (w @ x).tanh().sum(), argnums=(0, 1))(lib.tensor(W), lib.tensor(x)))
    both(lambda lib: lib.func.grad(lambda x: ((x ** 2).sum(), x.cos()), has_aux=True)(lib.tensor(x)))
    both(lambda lib: lib.func.grad_and_value(lambda x: ((x ** 2).sum(), x.cos()), has_aux=True)(lib.tensor(x)))
    # pytrees: a dict of parameters in, a dict of gradients out
    both(lambda lib: lib.func.grad(lambda p, x: (p["w"] @ x + p["b"]).pow(2).sum())(
        {"w": lib.tensor(W), "b": lib.tensor(x[:3])}, lib.tensor(x)))
    # higher order
    both(lambda lib: lib.func.grad(lib.func.grad(lambda x: x.sin() * x))(lib.tensor(0.7, dtype=lib.float64)))


def test_grad_outside_no_grad_and_closures():
    x, W, _ = data()
    both(lambda lib: _under_no_grad(lib, lambda: lib.func.grad(f_scalar(lib))(lib.tensor(x))))
    # a closure over a tensor that requires grad: the result stays differentiable w.r.t. it
    for lib in (ember, torch):
        w = lib.tensor(W, requires_grad=True)
        g = lib.func.grad(lambda x: (w @ x).tanh().sum())(lib.tensor(x))
        assert g.requires_grad
    we, wt = ember.tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    ember.func.grad(lambda x: (we @ x).tanh().sum())(ember.tensor(x)).sum().backward()
    torch.func.grad(lambda x: (wt @ x).tanh().sum())(torch.tensor(x)).sum().backward()
    same(we.grad, wt.grad)


def _under_no_grad(lib, fn):
    with lib.no_grad():
        return fn()


def test_vjp_jvp_linearize():
    x, W, _ = data()

    def g(lib):
        return lambda x: lib.matmul(lib.tensor(W), x.tanh())
    both(lambda lib: lib.func.vjp(g(lib), lib.tensor(x))[0])
    both(lambda lib: lib.func.vjp(g(lib), lib.tensor(x))[1](lib.ones(3, dtype=lib.float64)))
    both(lambda lib: lib.func.jvp(g(lib), (lib.tensor(x),), (lib.ones(4, dtype=lib.float64),)))
    both(lambda lib: lib.func.jvp(lambda a, b: (a * b).sin(), (lib.tensor(x), lib.tensor(x[::-1].copy())),
                              (lib.ones(4, dtype=lib.float64), lib.tensor(x))))
    both(lambda lib: lib.func.linearize(g(lib), lib.tensor(x))[1](lib.ones(4, dtype=lib.float64)))
    both(lambda lib: lib.func.vjp(lambda a, b: (a @ b, b.exp()), lib.tensor(W), lib.tensor(x))[1](
        (lib.ones(3, dtype=lib.float64), lib.ones(4, dtype=lib.float64))))


def test_jacobians_and_hessian():
    x, W, _ = data()

    def g(lib):
        return lambda x: lib.matmul(lib.tensor(W), x.tanh()) * x[:3]
    both(lambda lib: lib.func.jacrev(g(lib))(lib.tensor(x)))
    both(lambda lib: lib.func.jacfwd(g(lib))(lib.tensor(x)))
    both(lambda lib: lib.func.jacrev(lambda w, x: (w @ x).sin(), argnums=(0, 1))(lib.tensor(W), lib.tensor(x)))
    both(lambda lib: lib.func.jacfwd(lambda w, x: (w @ x).sin(), argnums=(0, 1))(lib.tensor(W), lib.tensor(x)))
    both(lambda lib: lib.func.hessian(f_scalar(lib))(lib.tensor(x)))
    both(lambda lib: lib.func.hessian(lambda w, x: (w @ x).tanh().sum(), argnums=1)(lib.tensor(W), lib.tensor(x)))
    both(lambda lib: lib.func.jacrev(lambda x: (x.sin(), x.sum()))(lib.tensor(x)))
    both(lambda lib: lib.func.jacrev(lambda x: (x.exp(), x.sum()), has_aux=True)(lib.tensor(x)))


def test_vmap():
    x, W, X = data()
    both(lambda lib: lib.func.vmap(lambda a: (a ** 2).sum())(lib.tensor(X)))
    both(lambda lib: lib.func.vmap(lambda a, b: a * b, in_dims=(0, None))(lib.tensor(X), lib.tensor(x)))
    both(lambda lib: lib.func.vmap(lambda a, b: a * b, in_dims=(1, None), out_dims=1)(lib.tensor(X), lib.tensor(x[0])))
    both(lambda lib: lib.func.vmap(lambda a: (a, a.sum()), out_dims=(0, 0))(lib.tensor(X)))
    both(lambda lib: lib.func.vmap(lib.func.vmap(lambda a: a.sin() * 2))(lib.tensor(X)))
    both(lambda lib: lib.func.vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": None},))(
        {"a": lib.tensor(X), "b": lib.tensor(x)}))
    both(lambda lib: lib.func.vmap(lambda a: a @ lib.tensor(W).T, chunk_size=2)(lib.tensor(X)))
    # gradients flow through vmap
    for lib in (ember, torch):
        w = lib.tensor(W, requires_grad=True)
        lib.func.vmap(lambda a: (w @ a).tanh().sum())(lib.tensor(X)).sum().backward()
        if lib is ember:
            ge = w.grad
        else:
            same(ge, w.grad)


def test_per_sample_gradients_vmap_grad():
    """The torch.func tutorial's per-sample gradients: vmap(grad(loss)) over (params, buffers, x, y)."""
    x, W, X = data()
    y = np.array([0, 2, 1, 1, 0])
    res = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Tanh(), lib.nn.Linear(6, 3)).double()
        with lib.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(lib.tensor(np.cos(np.arange(p.numel()) + i).reshape(tuple(p.shape))))
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def loss(params, buffers, sample, target):
            out = lib.func.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, target.unsqueeze(0))
        per_sample = lib.func.vmap(lib.func.grad(loss), in_dims=(None, None, 0, 0))(params, buffers, lib.tensor(X),
                                                                                   lib.tensor(y))
        res.append(per_sample)
        # the mean of per-sample gradients is the batch gradient
        model.zero_grad()
        lib.nn.functional.cross_entropy(model(lib.tensor(X)), lib.tensor(y)).backward()
        for k, p in model.named_parameters():
            np.testing.assert_allclose(per_sample[k].mean(0).numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)
    same(res[0], res[1])


def test_functional_call_swaps_and_restores():
    x, W, X = data()
    for lib in (ember, torch):
        lib.manual_seed(0)
        m = lib.nn.Linear(4, 3).double()
        orig = m.weight
        out = lib.func.functional_call(m, {"weight": lib.tensor(W), "bias": lib.zeros(3, dtype=lib.float64)},
                                     (lib.tensor(X),))
        np.testing.assert_allclose(out.numpy(), X @ W.T)
        assert m.weight is orig  # restored
        out = lib.func.functional_call(m, {"weight": lib.tensor(W)}, lib.tensor(X))  # partial: bias stays
        np.testing.assert_allclose(out.detach().numpy(), X @ W.T + m.bias.detach().numpy())
        with pytest.raises(RuntimeError, match="Missing key"):
            lib.func.functional_call(m, {"weight": lib.tensor(W)}, (lib.tensor(X),), strict=True)


def test_functional_call_tied_weights_and_buffers():
    for lib in (ember, torch):
        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(2, 2, bias=False)
                self.b = lib.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight
                self.register_buffer("scale", lib.ones(1))

            def forward(self, x):
                return self.b(self.a(x)) * self.scale
        m = Tied()
        x = lib.ones(1, 2)
        out = lib.func.functional_call(m, {"a.weight": 2 * lib.eye(2), "scale": lib.tensor([3.0])}, (x,))
        assert out.tolist() == [[12.0, 12.0]]
        out = lib.func.functional_call(m, {"a.weight": 2 * lib.eye(2)}, (x,), tie_weights=False)
        assert out.shape == (1, 2)
        with pytest.raises(ValueError, match="tied"):
            lib.func.functional_call(m, {"a.weight": lib.eye(2), "b.weight": 2 * lib.eye(2)}, (x,))


def test_stack_module_state_ensemble():
    x, W, X = data()
    outs = []
    for lib in (ember, torch):
        models = []
        for i in range(3):
            m = lib.nn.Linear(4, 2).double()
            with lib.no_grad():
                m.weight.copy_(lib.tensor(np.cos(np.arange(8) + i).reshape(2, 4)))
                m.bias.fill_(float(i))
            models.append(m)
        params, buffers = lib.func.stack_module_state(models)
        assert params["weight"].shape == (3, 2, 4) and params["weight"].requires_grad
        base = models[0]

        def call(p, b, x):
            return lib.func.functional_call(base, (p, b), (x,))
        outs.append(lib.func.vmap(call, in_dims=(0, 0, None))(params, buffers, lib.tensor(X)))
    same(outs[0].detach(), outs[1].detach())


def test_errors_like_torch():
    x, W, X = data()

    def err(make, exact=True):
        msgs = []
        for lib in (ember, torch):
            with pytest.raises(Exception) as info:
                make(lib)
            msgs.append((type(info.value).__name__, str(info.value)))
        if exact:
            assert msgs[0] == msgs[1], msgs
        else:  # torch prints its pytree specs; the sentence is the same
            assert msgs[0][0] == msgs[1][0] and "in_dims is not compatible with the structure of `inputs`" in \
                msgs[0][1] and "in_dims is not compatible with the structure of `inputs`" in msgs[1][1], msgs
    err(lambda lib: lib.func.grad(lambda x: x * 2)(lib.tensor(x)))
    err(lambda lib: lib.func.vmap(lambda a, b: a + b)(lib.tensor(X), lib.tensor(W)))
    err(lambda lib: lib.func.vmap(lambda a: a, in_dims=(0, 0))(lib.tensor(X)), exact=False)
    err(lambda lib: lib.func.vmap(lambda a: a, randomness="foo")(lib.tensor(X)))


@pytest.mark.parametrize("pattern,kw", [("a b c -> c (a b)", {}), ("a b (c d) -> a (b c) d", {"d": 2}),
                                        ("... c -> c ...", {}), ("a ... -> (a ...)", {}), ("a b c -> a c b", {}),
                                        ("(a1 a2) b c -> a2 b (a1 c)", {"a1": 2})])
def test_rearrange(pattern, kw):
    x = np.arange(24.0).reshape(2, 3, 4)
    same(ember.func.rearrange(ember.tensor(x), pattern, **kw), torch.func.rearrange(torch.tensor(x), pattern, **kw))


def test_rearrange_errors_and_lists():
    x = np.arange(24.0).reshape(2, 3, 4)
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=r"Number of dimensions in pattern \(2\) must be equal to the number of "
                                             r"dimensions in the tensor \(3\)"):
            lib.func.rearrange(lib.tensor(x), "a b -> b a")
    same(ember.func.rearrange([ember.tensor(x[0]), ember.tensor(x[1])], "n b c -> b (n c)"),
         torch.func.rearrange(torch.tensor(x), "n b c -> b (n c)"))


def test_small_helpers():
    x = np.arange(6.0)
    for lib in (ember, torch):
        t = lib.tensor(x)
        assert lib.func.debug_unwrap(t) is t
        f = lib.func.functionalize(lambda a: a * 2)
        np.testing.assert_allclose(f(t).numpy(), 2 * x)
        bn = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        assert lib.func.replace_all_batch_norm_modules_(bn) is bn
        assert bn[1].running_mean is None and bn[1].running_var is None and not bn[1].track_running_stats
        # top-level alias: torch.vmap is torch.func.vmap
        same(lib.vmap(lambda a: a * a)(lib.tensor(x.reshape(3, 2))), lib.func.vmap(lambda a: a * a)(
            lib.tensor(x.reshape(3, 2))))


def test_vmap_randomness_modes():
    msg = "vmap: called random operation while in randomness error mode"
    for lib in (ember, torch):
        x = lib.ones(3, 2)
        with pytest.raises(RuntimeError, match=msg):
            lib.func.vmap(lambda a: lib.nn.functional.dropout(a, 0.5))(x)
        assert lib.func.vmap(lambda a: lib.nn.functional.dropout(a, 0.5, training=False))(x).shape == (3, 2)
        same_rows = lib.func.vmap(lambda a: a + lib.rand(2), randomness="same")(x)
        assert lib.equal(same_rows[0], same_rows[1])
        diff_rows = lib.func.vmap(lambda a: a + lib.rand(2), randomness="different")(x)
        assert not lib.equal(diff_rows[0], diff_rows[1])
