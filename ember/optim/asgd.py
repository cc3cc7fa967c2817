"""ASGD: averaged stochastic gradient descent (torch.optim.ASGD)."""
from .optimizer import Optimizer, _advance, _check_tensor_lr, _grad_in, _scalar

__all__ = ["ASGD"]


def _asgd_kernel(xp, p, g, ax, S, eta, lambd, weight_decay, maximize, mu):
    """One block of ASGD, in place (torch's ``_single_tensor_asgd``)::

        g <- -g if maximize;  g <- g + wd * p
        p <- p (1 - lambd eta) - eta g
        ax <- ax + mu (p - ax)      (ax <- p while mu == 1, i.e. before averaging starts at step t0)
    """
    g = _grad_in(xp, p, g, S[0], S[1], maximize, weight_decay)
    p *= 1 - lambd * eta
    xp.multiply(g, -eta, out=S[1])           # param.add_(grad, alpha=-eta)
    p += S[1]
    if mu != 1:
        xp.subtract(p, ax, out=S[1])         # ax.add_(param.sub(ax).mul_(mu))
        S[1] *= mu
        ax += S[1]
    else:
        xp.copyto(ax, p)


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992): plain SGD with a decaying step, plus a running
    average ``ax`` of the iterates from step ``t0`` on -- the average is the estimate to use.

    .. math::
        \eta_t = \frac{\gamma}{(1 + \lambda\gamma t)^\alpha},\quad
        \theta_t = \theta_{t-1}(1 - \lambda\eta_{t-1}) - \eta_{t-1} g_t,\quad
        \bar\theta_t = \bar\theta_{t-1} + \mu_{t-1}(\theta_t - \bar\theta_{t-1}),\quad
        \mu_t = 1/\max(1, t - t_0)

    Args:
        lr (float): learning rate :math:`\gamma` (default: 1e-2).
        lambd (float): decay term :math:`\lambda` (default: 1e-4).
        alpha (float): power of the step decay (default: 0.75).
        t0 (float): step at which averaging starts (default: 1e6).
        weight_decay (float): L2 penalty (default: 0).
        maximize (bool): ascend instead of descend (default: False).
        foreach, capturable, differentiable: accepted as torch does.

    State per parameter: ``step``, ``eta``, ``mu`` (0-d float32 tensors), ``ax`` (the average).
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(step_keys=("step", "eta", "mu"), foreach=None, maximize=False,
                                  differentiable=False, capturable=False)

    def _update_group(self, group):
        lr = _scalar(group["lr"])
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        for p, state in self._params_with_grad(group, ("ax",), {"eta": lr, "mu": 1.0}):
            step = _advance(state["step"])
            eta, mu = state["eta"], state["mu"]
            self._foreach_block(_asgd_kernel, p, p.grad._data, [state["ax"]._data],
                                float(eta._data), lambd, _scalar(group["weight_decay"]), group["maximize"],
                                float(mu._data))
            # eta and mu for the next step, rounded to the counters' float32 as torch stores them
            eta._data[...] = lr / ((1 + lambd * lr * step) ** alpha)
            mu._data[...] = 1 / max(1, step - t0)
            eta._bump()
            mu._bump()
