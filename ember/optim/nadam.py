"""NAdam: Adam with Nesterov momentum (torch.optim.NAdam)."""
from .optimizer import Optimizer, _adam_moments, _advance, _check_hyperparams, _scalar

__all__ = ["NAdam"]


def _nadam_kernel(xp, p, g, exp_avg, exp_avg_sq, S, lr, beta1, beta2, eps, weight_decay, decoupled,
                  maximize, bias_correction2, grad_coef, avg_coef):
    """One block of NAdam, in place (torch's ``_single_tensor_nadam``)::

        p <- p (1 - lr wd)  (decoupled)   or   g <- g + wd p
        m <- lerp(m, g, 1 - beta1);   v <- beta2 v + (1 - beta2) g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p <- p + grad_coef * g / d + avg_coef * m / d
    """
    g = _adam_moments(xp, p, g, exp_avg, exp_avg_sq, S, lr, beta1, beta2, weight_decay, decoupled, maximize)
    denom = S[2]
    xp.divide(exp_avg_sq, bias_correction2, out=denom)
    xp.sqrt(denom, out=denom)
    denom += eps
    xp.multiply(g, grad_coef, out=S[1])       # param.addcdiv_(g, denom, value=grad_coef)
    S[1] /= denom
    p += S[1]
    xp.multiply(exp_avg, avg_coef, out=S[1])  # param.addcdiv_(exp_avg, denom, value=avg_coef)
    S[1] /= denom
    p += S[1]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016): Adam whose first-moment step looks ahead like Nesterov momentum.

    The momentum coefficient warms up: :math:`\mu_t = \beta_1 (1 - \tfrac12 0.96^{t\psi})`
    (:math:`\psi` = ``momentum_decay``), and the update mixes the current gradient and the
    running mean:

    .. math::
        \theta_t = \theta_{t-1} - \gamma\Big(\frac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\,g_t
                   + \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i}\,m_t\Big)
                   \Big/\Big(\sqrt{v_t/(1-\beta_2^t)} + \epsilon\Big)

    Args:
        lr (float): learning rate (default: 2e-3).
        betas (tuple[float, float]): (default: (0.9, 0.999)).
        eps (float): (default: 1e-8).
        weight_decay (float): L2 penalty, or decoupled decay with ``decoupled_weight_decay`` (default: 0).
        momentum_decay (float): :math:`\psi` (default: 4e-3).
        decoupled_weight_decay (bool): AdamW-style decay (NAdamW) (default: False).
        maximize (bool): ascend instead of descend (default: False).

    State per parameter: ``step`` and ``mu_product`` (0-d float32 tensors), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_hyperparams(lr, betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(step_keys=("step", "mu_product"), maximize=False, foreach=None,
                                  capturable=False, differentiable=False, decoupled_weight_decay=False)

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr = _scalar(group["lr"])
        momentum_decay = group["momentum_decay"]
        for p, state in self._params_with_grad(group, ("exp_avg", "exp_avg_sq"), {"mu_product": 1.0}):
            step = _advance(state["step"])
            bias_correction2 = 1 - beta2 ** step
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product_t = state["mu_product"]
            mu_product_t._data *= mu              # a float32 product, as torch keeps it
            mu_product_t._bump()
            mu_product = float(mu_product_t._data)
            mu_product_next = mu_product * mu_next
            grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
            avg_coef = (-lr * mu_next) / (1.0 - mu_product_next)
            self._foreach_block(_nadam_kernel, p, p.grad._data,
                                [state["exp_avg"]._data, state["exp_avg_sq"]._data],
                                lr, beta1, beta2, group["eps"], _scalar(group["weight_decay"]),
                                group["decoupled_weight_decay"], group["maximize"], bias_correction2,
                                grad_coef, avg_coef)
