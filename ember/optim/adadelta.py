"""Adadelta (torch.optim.Adadelta)."""
from .optimizer import Optimizer, _advance, _check_hyperparams, _decay_square_, _grad_in, _scalar

__all__ = ["Adadelta"]


def _adadelta_kernel(xp, p, g, square_avg, acc_delta, S, lr, rho, eps, weight_decay, maximize):
    """One block of Adadelta, in place (torch's ``_single_tensor_adadelta``)::

        g <- -g if maximize;  g <- g + wd * p
        v <- rho v + (1 - rho) g^2
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho u + (1 - rho) delta^2
        p <- p - lr * delta
    """
    g = _grad_in(xp, p, g, S[0], S[1], maximize, weight_decay)
    _decay_square_(xp, square_avg, g, rho, S[1])
    std = S[2]
    xp.add(square_avg, eps, out=std)          # square_avg.add(eps).sqrt_()
    xp.sqrt(std, out=std)
    delta = S[3]
    xp.add(acc_delta, eps, out=delta)         # acc_delta.add(eps).sqrt_().div_(std).mul_(g)
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= g
    _decay_square_(xp, acc_delta, delta, rho, S[1])
    delta *= -lr                              # param.add_(delta, alpha=-lr)
    p += delta


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012): a per-coordinate step whose size is the ratio of two running RMS values.

    .. math::
        v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad
        \Delta_t = \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}}\, g_t,\quad
        u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\quad \theta_t = \theta_{t-1} - \gamma\Delta_t

    The numerator carries the units of the parameter, so ``lr`` defaults to 1.0.

    Args:
        lr (float): scales the step :math:`\Delta_t` (default: 1.0).
        rho (float): decay of both running averages (default: 0.9).
        eps (float): added inside both square roots (default: 1e-6).
        weight_decay (float): L2 penalty (default: 0).
        maximize (bool): ascend instead of descend (default: False).
        foreach, capturable, differentiable: accepted as torch does (one code path runs here).

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check_hyperparams(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_hyperparams(lr, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(foreach=None, maximize=False, differentiable=False, capturable=False)

    def _update_group(self, group):
        lr = _scalar(group["lr"])
        for p, state in self._params_with_grad(group, ("square_avg", "acc_delta")):
            _advance(state["step"])
            self._foreach_block(_adadelta_kernel, p, p.grad._data,
                                [state["square_avg"]._data, state["acc_delta"]._data],
                                lr, group["rho"], group["eps"], _scalar(group["weight_decay"]), group["maximize"])
