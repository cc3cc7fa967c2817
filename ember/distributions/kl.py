"""KL(p || q) = E_p[log p(X) - log q(X)]: a table of closed forms, looked up by the two distribution types.

``register_kl(P, Q)`` files a function under the pair of classes; ``kl_divergence(p, q)`` picks the most
specific registered pair that ``type(p), type(q)`` inherit from (nearest in each MRO, p's first), so a
subclass inherits its parents' KL until it registers its own.

Most cross-family entries use one identity instead of a formula each:

    KL(p || q) = -H(p) + E_p[-log q(X)]        (entropy of p plus the cross-entropy)

and the cross-entropy of q only needs a few expectations under p (mean, variance, E[log X], ...), which
``_moments`` below lists per family. Where p puts mass outside q's support, KL is +inf.
"""
import math
import warnings

import ember as torch
from ember import Tensor
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .independent import Independent
from .laplace import Laplace
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .pareto import Pareto
from .poisson import Poisson
from .transformed_distribution import TransformedDistribution
from .uniform import Uniform
from .utils import _sum_rightmost, euler_constant

__all__ = ["register_kl", "kl_divergence"]

_REGISTRY = {}  # (type_p, type_q) -> fn(p, q)
_CACHE = {}     # (type(p), type(q)) -> the fn dispatch chose


def register_kl(type_p, type_q):
    """Decorator: ``@register_kl(Normal, Normal) def f(p, q): ...`` files ``f`` as KL(Normal || Normal)."""
    if not (isinstance(type_p, type) and issubclass(type_p, Distribution)):
        raise TypeError(f"Expected type_p to be a Distribution subclass but got {type_p}")
    if not (isinstance(type_q, type) and issubclass(type_q, Distribution)):
        raise TypeError(f"Expected type_q to be a Distribution subclass but got {type_q}")

    def decorator(fn):
        _REGISTRY[type_p, type_q] = fn
        _CACHE.clear()  # a new entry can change what an earlier lookup would pick
        return fn
    return decorator


def _dispatch(type_p, type_q):
    """The registered fn whose pair is nearest to (type_p, type_q) in the two MROs."""
    mro_p, mro_q = type_p.__mro__, type_q.__mro__
    ranks = {(mro_p.index(P), mro_q.index(Q)): (P, Q) for P, Q in _REGISTRY
             if issubclass(type_p, P) and issubclass(type_q, Q)}
    if not ranks:
        return None
    best_pq = min(ranks)                                   # nearest p class first
    best_qp = min(ranks, key=lambda r: (r[1], r[0]))       # nearest q class first
    if best_pq != best_qp:
        (p1, q1), (p2, q2) = ranks[best_pq], ranks[best_qp]
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}), please register_kl "
                      f"({p1.__name__}, {q1.__name__}) vs ({p2.__name__}, {q2.__name__})", RuntimeWarning)
    return _REGISTRY[ranks[best_pq]]


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) = E_p[log p(X) - log q(X)], one value per batch element (shape = broadcast batch_shape).

    Raises NotImplementedError when no closed form is registered for the pair of types."""
    key = type(p), type(q)
    if key not in _CACHE:
        _CACHE[key] = _dispatch(*key)
    fn = _CACHE[key]
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} "
                                  f"and q type {type(q).__name__}")
    return fn(p, q)


def _inf_where(bad, value):
    """value, with +inf wherever the support condition ``bad`` holds."""
    return torch.where(bad, torch.full_like(value, math.inf), value)


# ---------------------------------------------------------------------------------------------------------
# Same-family closed forms
# ---------------------------------------------------------------------------------------------------------

@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """log(s_q/s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2."""
    ratio = (p.scale / q.scale).pow(2)
    return 0.5 * (ratio + ((p.loc - q.loc) / q.scale).pow(2) - 1 - ratio.log())


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    """The Normal formula with both locations at 0 (folding both at 0 keeps the likelihood ratio)."""
    ratio = (p.scale / q.scale).pow(2)
    return 0.5 * (ratio - 1 - ratio.log())


def _bernoulli_terms(pp, pq):
    """sum over the two outcomes of p log(p/q); xlogy makes 0 log 0 = 0 and p log(p/0) = inf."""
    return (torch.xlogy(pp, pp) - torch.xlogy(pp, pq)
            + torch.xlogy(1 - pp, 1 - pp) - torch.xlogy(1 - pp, 1 - pq))


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p log(p/q) + (1-p) log((1-p)/(1-q))."""
    return _bernoulli_terms(p.probs, q.probs)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    """n * KL(Bernoulli(p) || Bernoulli(q)): n independent trials; only defined for equal total_count."""
    if bool((p.total_count != q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count != p.total_count is not implemented")
    return p.total_count * _bernoulli_terms(p.probs, q.probs)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """sum_k p_k (log p_k - log q_k); a class p gives mass and q does not makes it inf."""
    terms = torch.xlogy(p.probs, p.probs) - torch.xlogy(p.probs, q.probs)
    return terms.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    """Same as Categorical: a one-hot vector carries exactly the category."""
    return _kl_categorical_categorical(p, q)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """log((b_q - a_q) / (b_p - a_p)) when [a_p, b_p] lies inside [a_q, b_q], else inf."""
    kl = ((q.high - q.low) / (p.high - p.low)).log()
    return _inf_where((p.low < q.low) | (p.high > q.high), kl)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    """log(r_p / r_q) + r_q / r_p - 1."""
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    """log(b_q/b_p) + |m_p - m_q| / b_q + (b_p/b_q) exp(-|m_p - m_q| / b_p) - 1."""
    ratio, dist = p.scale / q.scale, (p.loc - q.loc).abs()
    return -ratio.log() + dist / q.scale + ratio * (-dist / p.scale).exp() - 1


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    """(a_p - a_q) psi(a_p) - lgamma(a_p) + lgamma(a_q) + a_q log(b_p/b_q) + a_p (b_q - b_p) / b_p."""
    ap, bp, aq, bq = p.concentration, p.rate, q.concentration, q.rate
    return ((ap - aq) * torch.digamma(ap) - torch.lgamma(ap) + torch.lgamma(aq)
            + aq * (bp.log() - bq.log()) + ap * (bq / bp - 1))


def _kl_dirichlet_like(a, b):
    """KL(Dir(a) || Dir(b)) over the last axis:
    lgamma(sum a) - sum lgamma(a) - lgamma(sum b) + sum lgamma(b) + sum (a - b)(psi(a) - psi(sum a))."""
    a0, b0 = a.sum(-1), b.sum(-1)
    return (torch.lgamma(a0) - torch.lgamma(a).sum(-1) - torch.lgamma(b0) + torch.lgamma(b).sum(-1)
            + ((a - b) * (torch.digamma(a) - torch.digamma(a0).unsqueeze(-1))).sum(-1))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    return _kl_dirichlet_like(p.concentration, q.concentration)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    """Beta(a, b) is the two-category Dirichlet(a, b)."""
    return _kl_dirichlet_like(torch.stack([p.concentration1, p.concentration0], -1),
                              torch.stack([q.concentration1, q.concentration0], -1))


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    """r_p log(r_p / r_q) - r_p + r_q."""
    return torch.xlogy(p.rate, p.rate) - torch.xlogy(p.rate, q.rate) - p.rate + q.rate


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    """-H(p) - E_p[log q(K)], and log q(k) = k log(1 - q) + log q with E_p[K] = (1 - p) / p."""
    return -p.entropy() - (1 - p.probs) / p.probs * torch.log1p(-q.probs) - q.probs.log()


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    return -p.entropy() + _cross_entropy_gumbel(p, q)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    """log(a_p/a_q) + a_q log(s_p/s_q) + a_q/a_p - 1; inf where p reaches below q's scale."""
    kl = (p.alpha / q.alpha).log() + q.alpha * (p.scale / q.scale).log() + q.alpha / p.alpha - 1
    return _inf_where(p.scale < q.scale, kl)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    """log(((s_p + s_q)^2 + (m_p - m_q)^2) / (4 s_p s_q))  (Chyzak & Nielsen, 2019)."""
    return ((p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)).log() - (4 * p.scale * q.scale).log()


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    return -p.entropy() + _cross_entropy_cb(p, q)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    """Same family, natural parameters t_p, t_q and log-normaliser F: KL is F's Bregman divergence,
    F(t_q) - F(t_p) - <t_q - t_p, grad F(t_p)>, with grad F from autograd."""
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential families cannot "
                                  "be computed using Bregman divergences")
    tp = [t.detach().requires_grad_() for t in p._natural_params]
    tq = list(q._natural_params)
    Fp = p._log_normalizer(*tp)
    grads = torch.autograd.grad(Fp.sum(), tp, create_graph=True)
    kl = q._log_normalizer(*tq) - Fp
    shape = torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    for a, b, g in zip(tq, tp, grads):  # each parameter's inner product over its non-batch dims
        kl = kl - ((a - b) * g).reshape(shape + (-1,)).sum(-1)
    return kl


# ---------------------------------------------------------------------------------------------------------
# Gaussians with full or low-rank-plus-diagonal covariance
# ---------------------------------------------------------------------------------------------------------

def _kl_gaussians(p, q):
    """KL(N(m_p, S_p) || N(m_q, S_q)) with Cholesky factors S = L L^T:
    sum log diag L_q - sum log diag L_p + (|L_q^-1 L_p|_F^2 + |L_q^-1 (m_p - m_q)|^2 - k) / 2."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes "
                         "cannot be computed")
    k = p.event_shape[0]
    shape = torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    Lp, Lq = p.scale_tril.expand(shape + (k, k)), q.scale_tril.expand(shape + (k, k))
    diff = (p.loc - q.loc).expand(shape + (k,)).unsqueeze(-1)
    trace = torch.linalg.solve_triangular(Lq, Lp, upper=False).pow(2).sum((-2, -1))
    maha = torch.linalg.solve_triangular(Lq, diff, upper=False).pow(2).sum((-2, -1))
    half_logdet = (Lq.diagonal(dim1=-2, dim2=-1).log().sum(-1)
                   - Lp.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    return half_logdet + 0.5 * (trace + maha - k)


for _P in (MultivariateNormal, LowRankMultivariateNormal):
    for _Q in (MultivariateNormal, LowRankMultivariateNormal):
        register_kl(_P, _Q)(_kl_gaussians)


# ---------------------------------------------------------------------------------------------------------
# Wrappers: Independent and TransformedDistribution reduce to their base distributions
# ---------------------------------------------------------------------------------------------------------

@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    """KL of a product is the sum of the KLs over the reinterpreted dims."""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    """A bijection applied to both sides leaves KL unchanged, so the same transforms reduce to the bases."""
    if p.transforms != q.transforms:
        raise NotImplementedError
    if p.event_shape != q.event_shape:
        raise NotImplementedError
    extra = len(p.event_shape) - len(p.base_dist.event_shape)
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), extra)


# ---------------------------------------------------------------------------------------------------------
# Cross families: KL = -H(p) + cross-entropy, from expectations under p
# ---------------------------------------------------------------------------------------------------------

def _xlogx_diff(high, low):
    """(h log h - l log l) / (h - l): used for E[log X] of a Uniform on [l, h]."""
    return (torch.xlogy(high, high) - torch.xlogy(low, low)) / (high - low)


def _mean_log(p):
    """E_p[log X] for a positive random variable."""
    if isinstance(p, Exponential):
        return -euler_constant - p.rate.log()
    if isinstance(p, Gamma):
        return torch.digamma(p.concentration) - p.rate.log()
    if isinstance(p, Beta):
        return torch.digamma(p.concentration1) - torch.digamma(p.concentration1 + p.concentration0)
    if isinstance(p, Pareto):
        return p.scale.log() + 1 / p.alpha
    if isinstance(p, Uniform):
        return _xlogx_diff(p.high, p.low) - 1
    raise NotImplementedError(type(p).__name__)


def _mean_log1m(p):
    """E_p[log(1 - X)] for a variable in (0, 1)."""
    if isinstance(p, Beta):
        return torch.digamma(p.concentration0) - torch.digamma(p.concentration1 + p.concentration0)
    if isinstance(p, Uniform):  # 1 - X is Uniform on [1 - h, 1 - l]
        return _xlogx_diff(1 - p.low, 1 - p.high) - 1
    raise NotImplementedError(type(p).__name__)


def _mean_exp(p, t):
    """E_p[exp(-t X)], the Laplace transform of p at t > 0."""
    if isinstance(p, Exponential):
        return p.rate / (p.rate + t)
    if isinstance(p, Gamma):
        return (1 + t / p.rate).pow(-p.concentration)
    if isinstance(p, Normal):
        return (-t * p.loc + 0.5 * (t * p.scale).pow(2)).exp()
    if isinstance(p, Gumbel):  # X = m + s G with E[exp(-u G)] = Gamma(1 + u)
        return (-t * p.loc + torch.lgamma(1 + t * p.scale)).exp()
    if isinstance(p, Uniform):
        return ((-t * p.low).exp() - (-t * p.high).exp()) / (t * (p.high - p.low))
    raise NotImplementedError(type(p).__name__)


def _lower(p):
    """The smallest value p can take (used to test support inclusion)."""
    if isinstance(p, Uniform):
        return p.low
    if isinstance(p, Pareto):
        return p.scale
    return torch.zeros_like(p.mean)  # Exponential, Gamma, Beta, ContinuousBernoulli: support from 0


def _upper(p):
    """The largest value p can take."""
    if isinstance(p, Uniform):
        return p.high
    if isinstance(p, (Beta, ContinuousBernoulli)):
        return torch.ones_like(p.mean)
    return torch.full_like(p.mean, math.inf)


def _cross_entropy_normal(p, q):
    """E_p[-log N(X; m, s)] = log(s sqrt(2 pi)) + (Var_p + (E_p X - m)^2) / (2 s^2)."""
    return q.scale.log() + 0.5 * math.log(2 * math.pi) + (p.variance + (p.mean - q.loc).pow(2)) / (2 * q.scale.pow(2))


def _cross_entropy_gamma(p, q):
    """E_p[-log Gamma(X; a, b)] = lgamma(a) - a log b - (a - 1) E_p[log X] + b E_p[X]."""
    a, b = q.concentration, q.rate
    ce = torch.lgamma(a) - a * b.log() - (a - 1) * _mean_log(p) + b * p.mean
    return _inf_where(_lower(p) < 0, ce)


def _cross_entropy_exponential(p, q):
    """E_p[-log Exp(X; r)] = r E_p[X] - log r."""
    return _inf_where(_lower(p) < 0, q.rate * p.mean - q.rate.log())


def _cross_entropy_gumbel(p, q):
    """E_p[-log Gumbel(X; m, s)] = log s + E[Z] + E[exp(-Z)], Z = (X - m)/s."""
    return q.scale.log() + (p.mean - q.loc) / q.scale + (q.loc / q.scale).exp() * _mean_exp(p, 1 / q.scale)


def _cross_entropy_beta(p, q):
    """E_p[-log Beta(X; a, b)] = log B(a, b) - (a - 1) E[log X] - (b - 1) E[log(1 - X)]."""
    a, b = q.concentration1, q.concentration0
    ce = (torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)
          - (a - 1) * _mean_log(p) - (b - 1) * _mean_log1m(p))
    return _inf_where((_lower(p) < 0) | (_upper(p) > 1), ce)


def _cross_entropy_uniform(p, q):
    """E_p[-log U(X; l, h)] = log(h - l) when p stays inside [l, h], else inf."""
    ce = (q.high - q.low).log().expand(torch.broadcast_shapes(q.batch_shape, p.batch_shape))
    return _inf_where((_lower(p) < q.low) | (_upper(p) > q.high), ce)


def _cross_entropy_pareto(p, q):
    """E_p[-log Pareto(X; s, a)] = (a + 1) E_p[log X] - log a - a log s, when p stays above s."""
    ce = (q.alpha + 1) * _mean_log(p) - q.alpha.log() - q.alpha * q.scale.log()
    return _inf_where(_lower(p) < q.scale, ce)


def _cross_entropy_cb(p, q):
    """log q(x) of a ContinuousBernoulli is affine in x, so E_p[-log q(X)] = -log q(E_p X) on [0, 1]."""
    mean = p.mean
    inside = (_lower(p) >= 0) & (_upper(p) <= 1)
    ce = -q.log_prob(torch.where(inside, mean, torch.full_like(mean, 0.5)))
    return _inf_where(~inside, ce)


def _cross_entropy_laplace(p, q):
    """E_p[-log Laplace(X; m, b)] = log(2b) + E_p|X - m| / b; for p = N(mu, s), with d = mu - m,
    E|X - m| = s sqrt(2/pi) exp(-d^2 / 2s^2) + d (1 - 2 Phi(-d/s))  (the folded-normal mean)."""
    d, s = p.loc - q.loc, p.scale
    mean_abs = (s * math.sqrt(2 / math.pi) * (-0.5 * (d / s).pow(2)).exp()
                + d * torch.erf(d / (s * math.sqrt(2))))
    return (2 * q.scale).log() + mean_abs / q.scale


def _register_cross(q_type, cross_entropy, p_types):
    def kl(p, q):
        return -p.entropy() + cross_entropy(p, q)
    kl.__doc__ = f"KL(p || {q_type.__name__}) = -H(p) + {cross_entropy.__name__}(p, q)."
    for P in p_types:
        register_kl(P, q_type)(kl)


_register_cross(Normal, _cross_entropy_normal,
                (Laplace, Exponential, Gamma, Beta, Uniform, Gumbel, ContinuousBernoulli, Pareto))
_register_cross(Gamma, _cross_entropy_gamma, (Exponential, Beta, Uniform, Pareto))
_register_cross(Exponential, _cross_entropy_exponential, (Gamma, Beta, Uniform, Pareto, ContinuousBernoulli))
_register_cross(Gumbel, _cross_entropy_gumbel, (Exponential, Gamma, Normal, Uniform))
_register_cross(Beta, _cross_entropy_beta, (Uniform,))
_register_cross(Uniform, _cross_entropy_uniform, (Beta, ContinuousBernoulli))
_register_cross(Pareto, _cross_entropy_pareto, (Uniform,))
_register_cross(ContinuousBernoulli, _cross_entropy_cb, (Beta, Uniform))
_register_cross(Laplace, _cross_entropy_laplace, (Normal,))


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    """E_p[-log Poisson(X; r)] = r - p log r (log 0! = log 1! = 0)."""
    return -p.entropy() + q.rate - p.probs * q.rate.log()


def _kl_infinite(p, q):
    """p puts mass where q has none (e.g. real line vs (0, inf), or unbounded vs bounded): KL = inf."""
    shape = torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    return torch.full(shape, math.inf, dtype=p.mean.dtype)


for _P, _Qs in (
        ((Normal, Laplace, Gumbel), (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform)),
        ((Exponential, Gamma), (Beta, ContinuousBernoulli, Pareto, Uniform)),
        ((Pareto,), (Beta, ContinuousBernoulli, Uniform)),
        ((Beta, ContinuousBernoulli), (Pareto,)),
        ((Poisson,), (Bernoulli, Binomial))):
    for _p in _P:
        for _q in _Qs:
            register_kl(_p, _q)(_kl_infinite)
