"""torch vs ember for the multivariate distributions beyond tests/test_distributions.py: precision-given
MultivariateNormal, expand, LowRank precision/scale_tril/gradients, constructor errors."""
import numpy as np
import pytest

import ember
import ember.distributions as ed

torch = pytest.importorskip("torch")
import torch.distributions as td  # noqa: E402

RNG = np.random.default_rng(11)


def _close(e, t, rtol=1e-8, atol=1e-9):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def _spd(n, batch=()):
    a = RNG.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def test_multivariate_normal_expand_and_broadcast_batches():
    loc, cov, x = RNG.normal(size=(3,)), _spd(3, (2,)), RNG.normal(size=(5, 2, 3))
    de = ed.MultivariateNormal(ember.tensor(loc), precision_matrix=ember.tensor(cov))
    dt = td.MultivariateNormal(torch.tensor(loc), precision_matrix=torch.tensor(cov))
    _close(de.scale_tril, dt.scale_tril)
    ee, et = de.expand((4, 2)), dt.expand((4, 2))
    assert tuple(ee.batch_shape) == (4, 2) and tuple(ee.precision_matrix.shape) == (4, 2, 3, 3)
    _close(ee.log_prob(ember.tensor(x[:, None])), et.log_prob(torch.tensor(x[:, None])))
    _close(ee.entropy(), et.entropy())
    _close(ee.variance, et.variance)


def test_lowrank_precision_scale_tril_grads_and_errors():
    loc, W, D, x = RNG.normal(size=(3,)), RNG.normal(size=(2, 3, 2)), RNG.uniform(0.5, 2, (3,)), RNG.normal(size=(4, 2, 3))
    pe = [ember.tensor(v, requires_grad=True) for v in (loc, W, D)]
    pt = [torch.tensor(v, requires_grad=True) for v in (loc, W, D)]
    de, dt = ed.LowRankMultivariateNormal(*pe), td.LowRankMultivariateNormal(*pt)
    assert tuple(de.batch_shape) == (2,) and tuple(de.loc.shape) == (2, 3)
    _close(de.precision_matrix, dt.precision_matrix)
    _close(de.scale_tril, dt.scale_tril)
    _close(de.mode, dt.mode)
    le, lt = de.log_prob(ember.tensor(x)), dt.log_prob(torch.tensor(x))
    (le.sum() + de.entropy().sum()).backward()
    (lt.sum() + dt.entropy().sum()).backward()
    for a, b in zip(pe, pt):
        _close(a.grad, b.grad, 1e-7, 1e-9)
    ee, et = de.expand((3, 2)), dt.expand((3, 2))
    _close(ee.log_prob(ember.tensor(x[:3])), et.log_prob(torch.tensor(x[:3])))
    ember.manual_seed(0)
    s = ed.LowRankMultivariateNormal(ember.zeros(2), ember.tensor([[1.0], [0.5]]), ember.ones(2)).sample((20000,))
    np.testing.assert_allclose(np.cov(s.numpy().T), [[2.0, 0.5], [0.5, 1.25]], atol=0.08)
    for lib, mod in ((ember, ed), (torch, td)):
        with pytest.raises(ValueError, match="cov_factor must be a batch of matrices with shape 3 x m"):
            mod.LowRankMultivariateNormal(lib.zeros(3), lib.zeros(2, 1), lib.ones(3))
        with pytest.raises(ValueError, match="cov_diag must be a batch of vectors"):
            mod.LowRankMultivariateNormal(lib.zeros(3), lib.zeros(3, 1), lib.ones(2))
        with pytest.raises(ValueError, match="Incompatible batch shapes"):
            mod.LowRankMultivariateNormal(lib.zeros(2, 3), lib.zeros(3, 3, 1), lib.ones(3))


def test_multinomial_zero_probability_entropy_sample_and_moments():
    p, x = np.array([[0.2, 0.3, 0.5], [0.0, 0.4, 0.6]]), np.array([[1.0, 1, 3], [0, 2, 3]])
    e, t = ed.Multinomial(5, probs=ember.tensor(p)), td.Multinomial(5, probs=torch.tensor(p))
    _close(e.log_prob(ember.tensor(x)), t.log_prob(torch.tensor(x)))
    _close(e.entropy(), t.entropy(), 1e-7)  # torch rounds lgamma(n + 1) through float32
    _close(e.mean, t.mean)
    _close(e.variance, t.variance)
    ember.manual_seed(0)
    s = e.sample((4000,))
    assert tuple(s.shape) == (4000, 2, 3) and s.dtype == ember.float64
    assert s.sum(-1).eq(5).all() and float(s[:, 1, 0].abs().max()) == 0.0
    np.testing.assert_allclose(s.mean(0).numpy(), 5 * p, atol=0.1)
    assert tuple(e.expand((4, 2)).sample().shape) == (4, 2, 3)
    for mod in (ed, td):
        with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
            mod.Multinomial(2.5, probs=(ember if mod is ed else torch).tensor([0.5, 0.5]))


def test_mixture_with_vector_components_sample_expand_and_errors():
    w, loc, scale, x = np.array([[0.2, 0.8], [0.5, 0.5]]), RNG.normal(size=(2, 2, 3)), RNG.uniform(0.5, 1.5, (2, 2, 3)), \
        RNG.normal(size=(4, 2, 3))
    e = ed.MixtureSameFamily(ed.Categorical(ember.tensor(w)),
                             ed.Independent(ed.Normal(ember.tensor(loc), ember.tensor(scale)), 1))
    t = td.MixtureSameFamily(td.Categorical(torch.tensor(w)),
                             td.Independent(td.Normal(torch.tensor(loc), torch.tensor(scale)), 1))
    _close(e.log_prob(ember.tensor(x)), t.log_prob(torch.tensor(x)))
    _close(e.mean, t.mean)
    _close(e.variance, t.variance)
    assert repr(e) == repr(t)
    ember.manual_seed(1)
    s = e.sample((20000,))
    assert tuple(s.shape) == (20000, 2, 3)
    np.testing.assert_allclose(s.mean(0).numpy(), t.mean.numpy(), atol=0.05)
    ee, et = e.expand((3, 2)), t.expand((3, 2))
    _close(ee.log_prob(ember.tensor(x[:3])), et.log_prob(torch.tensor(x[:3])))
    for lib, mod in ((ember, ed), (torch, td)):
        with pytest.raises(ValueError, match="does not equal"):
            mod.MixtureSameFamily(mod.Categorical(lib.ones(3) / 3), mod.Normal(lib.zeros(2), lib.ones(2)))
        with pytest.raises(ValueError, match="is not compatible"):
            mod.MixtureSameFamily(mod.Categorical(lib.ones(3, 2) / 2), mod.Normal(lib.zeros(4, 2), lib.ones(4, 2)))


def test_wishart_precision_batch_df_grads_and_rsample():
    S, df = _spd(3, (2,)), np.array([4.5, 6.0])
    de, Se = ember.tensor(df, requires_grad=True), ember.tensor(S, requires_grad=True)
    dt, St = torch.tensor(df, requires_grad=True), torch.tensor(S, requires_grad=True)
    e, t = ed.Wishart(de, precision_matrix=Se), td.Wishart(dt, precision_matrix=St)
    for name in ("mean", "mode", "variance", "covariance_matrix", "scale_tril", "precision_matrix"):
        _close(getattr(e, name), getattr(t, name))
    x = _spd(3, (4, 2))
    le, lt = e.log_prob(ember.tensor(x)), t.log_prob(torch.tensor(x))
    _close(le, lt)
    (le.sum() + e.entropy().sum()).backward()
    (lt.sum() + t.entropy().sum()).backward()
    _close(de.grad, dt.grad, 1e-7)
    _close(Se.grad, St.grad, 1e-7)
    ember.manual_seed(0)
    s = e.rsample((20000,))
    assert tuple(s.shape) == (20000, 2, 3, 3) and s.requires_grad
    np.testing.assert_allclose(s.mean(0).detach().numpy(), t.mean.detach().numpy(), rtol=0.05, atol=0.05)
    assert tuple(e.expand((3, 2)).sample().shape) == (3, 2, 3, 3)
    for lib, mod in ((ember, ed), (torch, td)):
        with pytest.raises(ValueError, match="expected to be greater than ndim - 1 = 2"):
            mod.Wishart(lib.tensor(1.5), covariance_matrix=lib.eye(3))
        with pytest.raises(AssertionError, match="Exactly one of"):
            mod.Wishart(lib.tensor(4.0))


@pytest.mark.parametrize("dim,eta", [(2, 0.5), (3, 1.0), (4, 2.5)])
def test_lkj_cholesky_log_prob_and_onion_sample_marginals(dim, eta):
    t = td.LKJCholesky(dim, torch.tensor([eta, eta + 1.0], dtype=torch.float64))
    e = ed.LKJCholesky(dim, ember.tensor([eta, eta + 1.0], dtype=ember.float64))
    L = t.sample((3,))
    _close(e.log_prob(ember.tensor(L.numpy())), t.log_prob(L), 1e-10, 1e-10)
    ember.manual_seed(3)
    s = e.sample((20000,))
    assert tuple(s.shape) == (20000, 2, dim, dim) and bool(ed.constraints.corr_cholesky.check(s).all())
    C = (s @ s.transpose(-2, -1)).numpy()[:, 0]
    off = C[:, np.tril_indices(dim, -1)[0], np.tril_indices(dim, -1)[1]]
    # every off-diagonal correlation of LKJ(eta) has (C_ij + 1)/2 ~ Beta(a, a), a = eta - 1 + dim/2
    np.testing.assert_allclose(off.mean(0), 0.0, atol=0.03)
    np.testing.assert_allclose(off.var(0), 1 / (2 * eta + dim - 1), rtol=0.06)
    assert tuple(e.expand((4, 2)).sample().shape) == (4, 2, dim, dim)
    for mod in (ed, td):
        with pytest.raises(ValueError, match="greater than or equal to 2. Found dim=1"):
            mod.LKJCholesky(1, 1.0)
