"""RAdam: Adam with a rectified warm-up (torch.optim.RAdam)."""
import math

from .optimizer import Optimizer, _adam_moments, _advance, _check_hyperparams, _scalar

__all__ = ["RAdam"]


def _radam_kernel(xp, p, g, exp_avg, exp_avg_sq, S, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                  bias_correction1, bias_correction2, rect):
    """One block of RAdam, in place (torch's ``_single_tensor_radam``)::

        (weight decay, maximize, m and v as in Adam)
        rect > 0:  p <- p - (m / (1 - beta1^t)) * lr * (sqrt(1 - beta2^t) / (sqrt(v) + eps)) * rect
        else:      p <- p - (m / (1 - beta1^t)) * lr          (early steps: plain momentum SGD)
    """
    _adam_moments(xp, p, g, exp_avg, exp_avg_sq, S, lr, beta1, beta2, weight_decay, decoupled, maximize)
    update = S[1]
    xp.divide(exp_avg, bias_correction1, out=update)   # bias_corrected_exp_avg * lr
    update *= lr
    if rect is not None:
        adaptive = S[2]
        xp.sqrt(exp_avg_sq, out=adaptive)               # bias_correction2**0.5 / (sqrt(v) + eps)
        adaptive += eps
        xp.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
        update *= adaptive
        update *= rect
    p -= update


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2019): Adam whose adaptive step is switched on only once the variance of
    :math:`v_t` is tractable, and then scaled by a rectification term.

    With :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
    :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`: while :math:`\rho_t \le 5` the step is
    :math:`\gamma\,\hat m_t`; afterwards it is :math:`\gamma\,\hat m_t\, r_t \sqrt{1-\beta_2^t}/(\sqrt{v_t}+\epsilon)`
    with :math:`r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}`.

    Args:
        lr (float): learning rate (default: 1e-3).
        betas (tuple[float, float]): (default: (0.9, 0.999)).
        eps (float): (default: 1e-8).
        weight_decay (float): L2 penalty, or decoupled decay with ``decoupled_weight_decay`` (default: 0).
        decoupled_weight_decay (bool): shrink the weights directly, as AdamW does (default: False).
        maximize (bool): ascend instead of descend (default: False).
        foreach, capturable, differentiable: accepted as torch does.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_hyperparams(lr, betas, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(foreach=None, maximize=False, differentiable=False, capturable=False,
                                  decoupled_weight_decay=False)

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr = _scalar(group["lr"])
        rho_inf = 2 / (1 - beta2) - 1
        for p, state in self._params_with_grad(group, ("exp_avg", "exp_avg_sq")):
            step = _advance(state["step"])
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            rect = None
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            self._foreach_block(_radam_kernel, p, p.grad._data,
                                [state["exp_avg"]._data, state["exp_avg_sq"]._data],
                                lr, beta1, beta2, group["eps"], _scalar(group["weight_decay"]),
                                group["decoupled_weight_decay"], group["maximize"],
                                bias_correction1, bias_correction2, rect)
