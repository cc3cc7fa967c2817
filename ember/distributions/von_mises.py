"""VonMises(loc, concentration): the circular normal distribution on angles in [-pi, pi)."""
import math

import ember as torch
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]


# Abramowitz & Stegun 9.8.1-9.8.4: polynomial fits of I0 and I1 (relative error below ~1e-7), in
# (x / 3.75)^2 for x < 3.75 and in 3.75 / x above, where I_n(x) ~ e^x / sqrt(x) * poly. torch evaluates the
# same fits, so log_prob and variance agree with it to rounding.
_SMALL = ([1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813],
          [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411])
_LARGE = ([0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706, 0.02635537,
           -0.01647633, 0.00392377],
          [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967, -0.02895312,
           0.01787654, -0.00420059])


def _horner(coeffs, t):
    result = torch.full_like(t, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        result = result * t + c
    return result


def _log_bessel_i(x, order):
    """log I_order(x) for order 0 or 1 and x > 0 (each branch sees an argument clamped into its range)."""
    small_x = x.clamp(max=3.75)
    small = _horner(_SMALL[order], (small_x / 3.75).pow(2)).log()
    if order == 1:
        small = small + small_x.log()
    large_x = x.clamp(min=3.75)
    large = large_x - 0.5 * large_x.log() + _horner(_LARGE[order], 3.75 / large_x).log()
    return torch.where(x < 3.75, small, large)


class VonMises(Distribution):
    """p(x) = exp(kappa cos(x - loc)) / (2 pi I0(kappa)), with I0 the modified Bessel function of order 0.

    kappa -> 0 gives the uniform law on the circle, large kappa approaches Normal(loc, 1 / sqrt(kappa)).
    The circular variance is 1 - I1(kappa) / I0(kappa). Samples come from Best & Fisher's (1979) rejection
    sampler, which draws with a wrapped-Cauchy envelope; they are not reparameterised."""
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMises, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc, new.concentration = self.loc.expand(batch_shape), self.concentration.expand(batch_shape)
        super(VonMises, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.concentration
        return kappa * torch.cos(value - self.loc) - math.log(2 * math.pi) - _log_bessel_i(kappa, 0)

    @lazy_property
    def _proposal_r(self):
        """The envelope's parameter r = (1 + rho^2) / (2 rho), rho = (tau - sqrt(2 tau)) / (2 kappa),
        tau = 1 + sqrt(1 + 4 kappa^2); rho is rewritten without the cancellation at small kappa."""
        kappa = self.concentration.detach().double().clamp(min=1e-8)
        s = torch.sqrt(1 + 4 * kappa.pow(2))
        tau = 1 + s
        rho = 2 * kappa * tau / ((s + 1) * (tau + torch.sqrt(2 * tau)))
        return (1 + rho.pow(2)) / (2 * rho)

    def sample(self, sample_shape=torch.Size()):
        """Best & Fisher: z = cos(pi u1), f = (1 + r z) / (r + z), c = kappa (r - f); accept when
        c (2 - c) > u2 or log(c / u2) + 1 >= c; the angle is +-acos(f) (sign from u3), shifted by loc."""
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            kappa = self.concentration.double().clamp(min=1e-8).expand(shape)
            r = self._proposal_r.expand(shape)
            theta = torch.zeros(shape, dtype=torch.float64, device=self.loc.device)
            done = torch.zeros(shape, dtype=torch.bool, device=self.loc.device)
            while not bool(done.all()):  # each round redraws only where no angle was accepted yet
                u1, u2, u3 = (torch.rand(shape, dtype=torch.float64, device=self.loc.device) for _ in range(3))
                z = torch.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                new = ~done & accept
                theta = torch.where(new, torch.sign(u3 - 0.5) * torch.acos(f.clamp(-1, 1)), theta)
                done = done | accept
            x = (theta + self.loc.double() + math.pi).remainder(2 * math.pi) - math.pi
            return x.to(self.loc.dtype)

    @property
    def mean(self):
        """The circular mean (the angle of E[e^{iX}]) is loc."""
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        """Circular variance 1 - I1(kappa) / I0(kappa)."""
        kappa = self.concentration
        return 1 - (_log_bessel_i(kappa, 1) - _log_bessel_i(kappa, 0)).exp()
