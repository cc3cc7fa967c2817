"""torch.distributions.kl_divergence vs ember.distributions.kl_divergence beyond tests/test_distributions.py:
the remaining cross-family pairs, support edges (inf), zero probabilities, the inf-only pairs, the wrappers
(TransformedDistribution) and the dispatch rules (most specific pair, unknown pair)."""
import math

import numpy as np
import pytest

import ember
import ember.distributions as ed

torch = pytest.importorskip("torch")
import torch.distributions as td  # noqa: E402

RNG = np.random.default_rng(7)


def _pos(n=4):
    return RNG.uniform(0.5, 2.5, n)


def _real(n=4):
    return RNG.normal(size=n)


def _both(name, **params):
    e = getattr(ed, name)(**{k: ember.tensor(v) for k, v in params.items()})
    t = getattr(td, name)(**{k: torch.tensor(v) for k, v in params.items()})
    return e, t


def _check(pe, qe, pt, qt, rtol=1e-8):
    ke, kt = ed.kl_divergence(pe, qe), td.kl_divergence(pt, qt)
    np.testing.assert_allclose(ke.detach().numpy(), kt.detach().numpy(), rtol=rtol, atol=1e-9)


CROSS = [
    ("Gumbel", dict(loc=_real(), scale=_pos()), "Normal", dict(loc=_real(), scale=_pos())),
    ("Normal", dict(loc=_real(), scale=_pos()), "Gumbel", dict(loc=_real(), scale=_pos())),
    ("Gamma", dict(concentration=_pos(), rate=_pos()), "Gumbel", dict(loc=_real(), scale=_pos())),
    ("Uniform", dict(low=_real() - 2, high=_real() + 2), "Gumbel", dict(loc=_real(), scale=_pos())),
    ("Pareto", dict(scale=_pos(), alpha=_pos() + 2), "Exponential", dict(rate=_pos())),
    ("Pareto", dict(scale=_pos(), alpha=_pos() + 2), "Gamma", dict(concentration=_pos(), rate=_pos())),
    ("Pareto", dict(scale=_pos(), alpha=_pos() + 2), "Normal", dict(loc=_real(), scale=_pos())),
    ("Uniform", dict(low=np.array([1.0, 2.0, 0.2, 3.0]), high=np.array([4.0, 3.0, 1.0, 5.0])), "Pareto",
     dict(scale=np.array([0.5, 2.5, 0.5, 1.0]), alpha=_pos())),
    ("ContinuousBernoulli", dict(probs=RNG.uniform(0.1, 0.9, 4)), "Exponential", dict(rate=_pos())),
    ("ContinuousBernoulli", dict(probs=RNG.uniform(0.1, 0.9, 4)), "Uniform",
     # torch also answers inf when q's interval merely touches [0, 1] (low == 0 or high == 1); Ember gives
     # the finite value there, so only strictly-inside and clearly-outside intervals are compared
     dict(low=np.array([-1.0, 0.2, -0.5, -0.1]), high=np.array([2.0, 2.0, 0.7, 1.5]))),
    ("Beta", dict(concentration1=_pos(), concentration0=_pos()), "ContinuousBernoulli",
     dict(probs=RNG.uniform(0.1, 0.9, 4))),
    ("Uniform", dict(low=np.array([0.1, -0.2, 0.3, 0.05]), high=np.array([0.9, 0.5, 1.2, 0.95])),
     "ContinuousBernoulli", dict(probs=RNG.uniform(0.1, 0.9, 4))),
    ("Uniform", dict(low=np.array([0.1, -0.2, 0.3, 0.0]), high=np.array([0.9, 0.5, 1.2, 0.6])), "Beta",
     dict(concentration1=_pos(), concentration0=_pos())),
    ("Uniform", dict(low=np.array([1.0, -0.2, 0.3, 0.0]), high=np.array([2.0, 0.5, 1.2, 0.6])), "Exponential",
     dict(rate=_pos())),
    ("Cauchy", dict(loc=_real(), scale=_pos()), "Cauchy", dict(loc=_real(), scale=_pos())),
    ("HalfNormal", dict(scale=_pos()), "HalfNormal", dict(scale=_pos())),
    ("Uniform", dict(low=np.array([0.0, -1.0]), high=np.array([1.0, 1.0])), "Uniform",
     dict(low=np.array([-1.0, -0.5]), high=np.array([2.0, 1.0]))),
    ("Bernoulli", dict(probs=np.array([0.0, 1.0, 0.5, 0.0])), "Bernoulli", dict(probs=np.array([0.0, 1.0, 0.0, 0.3]))),
    ("Categorical", dict(probs=np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])), "Categorical",
     dict(probs=np.array([[0.4, 0.6, 0.0], [0.0, 0.5, 0.5]]))),
    ("Poisson", dict(rate=np.array([0.5, 1.0])), "Poisson", dict(rate=np.array([2.0, 1.5]))),
]


@pytest.mark.parametrize("pair", CROSS, ids=[f"{p[0]}-{p[2]}" for p in CROSS])
def test_cross_family_kl_matches_torch(pair):
    pe, pt = _both(pair[0], **pair[1])
    qe, qt = _both(pair[2], **pair[3])
    _check(pe, qe, pt, qt)


INFINITE = [("Normal", "Exponential"), ("Laplace", "Beta"), ("Gumbel", "Uniform"), ("Exponential", "Pareto"),
            ("Gamma", "ContinuousBernoulli"), ("Pareto", "Uniform"), ("Beta", "Pareto"), ("Poisson", "Bernoulli"),
            ("Normal", "Pareto")]
PARAMS = {"Normal": dict(loc=_real(2), scale=_pos(2)), "Laplace": dict(loc=_real(2), scale=_pos(2)),
          "Gumbel": dict(loc=_real(2), scale=_pos(2)), "Exponential": dict(rate=_pos(2)),
          "Gamma": dict(concentration=_pos(2), rate=_pos(2)), "Pareto": dict(scale=_pos(2), alpha=_pos(2)),
          "Beta": dict(concentration1=_pos(2), concentration0=_pos(2)), "Poisson": dict(rate=_pos(2)),
          "Uniform": dict(low=np.zeros(2), high=np.ones(2)), "ContinuousBernoulli": dict(probs=np.full(2, 0.3)),
          "Bernoulli": dict(probs=np.full(2, 0.3))}


@pytest.mark.parametrize("pair", INFINITE, ids=[f"{a}-{b}" for a, b in INFINITE])
def test_support_mismatch_gives_inf_like_torch(pair):
    pe, pt = _both(pair[0], **PARAMS[pair[0]])
    qe, qt = _both(pair[1], **PARAMS[pair[1]])
    ke, kt = ed.kl_divergence(pe, qe), td.kl_divergence(pt, qt)
    assert tuple(ke.shape) == tuple(kt.shape) == (2,)
    assert ke.tolist() == kt.tolist() == [math.inf, math.inf]


def test_transformed_distribution_kl_and_binomial_total_count():
    loc, scale = _real(3), _pos(3)
    pe, pt = ed.LogNormal(ember.tensor(loc), ember.tensor(scale)), td.LogNormal(torch.tensor(loc), torch.tensor(scale))
    qe, qt = ed.LogNormal(0.0, 1.0), td.LogNormal(0.0, 1.0)
    _check(pe, qe, pt, qt)
    te = ed.TransformedDistribution(ed.Normal(0.0, 1.0), [ed.ExpTransform()])
    se = ed.TransformedDistribution(ed.Normal(0.0, 1.0), [ed.SigmoidTransform()])
    with pytest.raises(NotImplementedError):
        ed.kl_divergence(te, se)
    with pytest.raises(NotImplementedError):
        td.kl_divergence(td.TransformedDistribution(td.Normal(0.0, 1.0), [td.ExpTransform()]),
                         td.TransformedDistribution(td.Normal(0.0, 1.0), [td.SigmoidTransform()]))
    for mod, T in ((ed, ember), (td, torch)):
        with pytest.raises(NotImplementedError):
            mod.kl_divergence(mod.Binomial(3, T.tensor([0.3])), mod.Binomial(4, T.tensor([0.3])))


def test_dispatch_most_specific_pair_wins_and_unknown_pair_message():
    class MyNormal(ed.Normal):
        pass

    class MyOtherNormal(MyNormal):
        pass

    @ed.register_kl(MyNormal, ed.Normal)
    def _kl_mine(p, q):
        return ember.full(p.batch_shape, 7.0)

    p, q = MyOtherNormal(ember.tensor([0.0]), 1.0), ed.Normal(1.0, 2.0)
    assert ed.kl_divergence(p, q).tolist() == [7.0]           # (MyNormal, Normal) beats (Normal, Normal)
    ref = td.kl_divergence(td.Normal(torch.tensor([1.0]), 2.0), td.Normal(0.0, 1.0))
    assert abs(ed.kl_divergence(q, p).item() - ref.item()) < 1e-6  # q-side unchanged: Normal-Normal
    with pytest.raises(TypeError):
        ed.register_kl(int, ed.Normal)
    for mod, T in ((ed, ember), (td, torch)):
        with pytest.raises(NotImplementedError) as ei:
            mod.kl_divergence(mod.Cauchy(0.0, 1.0), mod.Normal(0.0, 1.0))
        assert str(ei.value) == "No KL(p || q) is implemented for p type Cauchy and q type Normal"


def test_multivariate_normal_kl_broadcasts_and_rejects_event_mismatch():
    a = RNG.normal(size=(2, 3, 3))
    cov = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    loc = RNG.normal(size=(2, 3))
    pe = ed.MultivariateNormal(ember.tensor(loc), ember.tensor(cov))
    pt = td.MultivariateNormal(torch.tensor(loc), torch.tensor(cov))
    qe = ed.MultivariateNormal(ember.zeros(3, dtype=ember.float64), ember.eye(3, dtype=ember.float64) * 2)
    qt = td.MultivariateNormal(torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64) * 2)
    _check(pe, qe, pt, qt)
    _check(qe, pe, qt, pt)
    for mod, T in ((ed, ember), (td, torch)):
        with pytest.raises(ValueError, match="different event shapes"):
            mod.kl_divergence(mod.MultivariateNormal(T.zeros(2), T.eye(2)), mod.MultivariateNormal(T.zeros(3), T.eye(3)))


def test_wishart_kl_by_bregman_divergence_matches_closed_form():
    """The ExponentialFamily (Bregman) KL sums each natural parameter over its own non-batch dims, so a
    batch of Wisharts gets the textbook value (torch's batched answer differs; its unbatched one agrees)."""
    sp = pytest.importorskip("scipy.special")
    a = RNG.normal(size=(2, 3, 3))
    S = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    df = np.array([5.0, 7.0])

    def closed(n1, S1, n2, S2):
        p = S1.shape[0]
        psi = sum(sp.digamma(n1 / 2 - i / 2) for i in range(p))
        return (n1 / 2 * (np.trace(np.linalg.solve(S2, S1)) - p)
                + n2 / 2 * (np.linalg.slogdet(S2)[1] - np.linalg.slogdet(S1)[1])
                + sp.multigammaln(n2 / 2, p) - sp.multigammaln(n1 / 2, p) + (n1 - n2) / 2 * psi)

    p = ed.Wishart(ember.tensor(df), covariance_matrix=ember.tensor(S))
    q = ed.Wishart(ember.tensor(6.0, dtype=ember.float64), covariance_matrix=ember.eye(3, dtype=ember.float64))
    np.testing.assert_allclose(ed.kl_divergence(p, q).detach().numpy(),
                               [closed(n, S[i], 6.0, np.eye(3)) for i, n in enumerate(df)], rtol=1e-10)
    pt = td.Wishart(torch.tensor(df[0]), covariance_matrix=torch.tensor(S[0]))
    qt = td.Wishart(torch.tensor(6.0, dtype=torch.float64), covariance_matrix=torch.eye(3, dtype=torch.float64))
    pe = ed.Wishart(ember.tensor(df[0]), covariance_matrix=ember.tensor(S[0]))
    _check(pe, q, pt, qt, 1e-10)
