"""``torch.distributions``: probability distributions with sampling, log-densities, entropies and KL.

The shapes (batch_shape, event_shape), ``sample`` vs ``rsample`` (reparameterised, differentiable) and
argument validation are explained in ``distribution.py``; transforms and TransformedDistribution build new
distributions from old (``LogNormal = exp(Normal)``); ``kl.py`` holds the closed-form KL table.
All math is Ember Tensor ops, so gradients reach the parameters through ordinary autograd.
"""
from . import constraints, transforms  # noqa: F401
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .constraint_registry import biject_to, transform_to
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F401,F403
from .uniform import Uniform
from .cauchy import Cauchy
from .chi2 import Chi2
from .continuous_bernoulli import ContinuousBernoulli
from .fishersnedecor import FisherSnedecor
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .inverse_gamma import InverseGamma
from .kumaraswamy import Kumaraswamy
from .logistic_normal import LogisticNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .negative_binomial import NegativeBinomial
from .pareto import Pareto
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
from .studentT import StudentT
from .weibull import Weibull
from .multivariate_normal import MultivariateNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .wishart import Wishart
from .lkj_cholesky import LKJCholesky
from .von_mises import VonMises

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Dirichlet", "Distribution", "Exponential",
           "ExponentialFamily", "Gamma", "Independent", "Laplace", "LogNormal", "Normal", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Poisson", "TransformedDistribution", "Uniform", "biject_to",
           "kl_divergence", "register_kl", "transform_to", "Cauchy", "Chi2", "ContinuousBernoulli",
           "FisherSnedecor", "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "InverseGamma",
           "Kumaraswamy", "LogisticNormal", "MixtureSameFamily", "Multinomial", "NegativeBinomial", "Pareto",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT", "Weibull", "MultivariateNormal",
           "LowRankMultivariateNormal", "Wishart", "LKJCholesky", "VonMises"]
__all__.extend(transforms.__all__)
