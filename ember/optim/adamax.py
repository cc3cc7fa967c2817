"""Adamax: Adam with the infinity norm (torch.optim.Adamax)."""
from .optimizer import Optimizer, _adam_moments, _advance, _check_hyperparams, _scalar

__all__ = ["Adamax"]


def _adamax_kernel(xp, p, g, exp_avg, exp_inf, S, beta1, beta2, eps, weight_decay, maximize, clr):
    """One block of Adamax, in place (torch's ``_single_tensor_adamax``)::

        g <- -g if maximize;  g <- g + wd * p
        m <- lerp(m, g, 1 - beta1)
        u <- max(beta2 u, |g| + eps)
        p <- p - clr * m / u,   clr = lr / (1 - beta1^t)
    """
    g = _adam_moments(xp, p, g, exp_avg, None, S, 0.0, beta1, None, weight_decay, False, maximize)
    exp_inf *= beta2
    xp.abs(g, out=S[1])
    S[1] += eps
    xp.maximum(exp_inf, S[1], out=exp_inf)
    xp.multiply(exp_avg, -clr, out=S[1])      # param.addcdiv_(exp_avg, exp_inf, value=-clr)
    S[1] /= exp_inf
    p += S[1]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2014, section 7): Adam with the second moment replaced by a running max.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon),\quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\frac{m_t}{u_t}

    Args:
        lr (float): learning rate (default: 2e-3).
        betas (tuple[float, float]): decay rates (default: (0.9, 0.999)).
        eps (float): added to :math:`|g|` (default: 1e-8).
        weight_decay (float): L2 penalty (default: 0).
        maximize (bool): ascend instead of descend (default: False).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_hyperparams(lr, betas, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(foreach=None, maximize=False, differentiable=False, capturable=False)

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr = _scalar(group["lr"])
        for p, state in self._params_with_grad(group, ("exp_avg", "exp_inf")):
            step = _advance(state["step"])
            clr = lr / (1 - beta1 ** step)
            self._foreach_block(_adamax_kernel, p, p.grad._data,
                                [state["exp_avg"]._data, state["exp_inf"]._data],
                                beta1, beta2, group["eps"], _scalar(group["weight_decay"]),
                                group["maximize"], clr)
