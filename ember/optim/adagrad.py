"""Adagrad (torch.optim.Adagrad)."""
from .optimizer import (Optimizer, _advance, _check_hyperparams, _grad_in, _new_step, _scalar, _state_like)

__all__ = ["Adagrad"]


def _adagrad_kernel(xp, p, g, state_sum, S, clr, eps, weight_decay, maximize):
    """One block of Adagrad, in place (torch's ``_single_tensor_adagrad``)::

        g <- -g if maximize;  g <- g + wd * p
        s <- s + g^2
        p <- p - clr * g / (sqrt(s) + eps),   clr = lr / (1 + (t - 1) * lr_decay)
    """
    g = _grad_in(xp, p, g, S[0], S[1], maximize, weight_decay)
    xp.multiply(g, g, out=S[1])               # state_sum.addcmul_(g, g, value=1)
    state_sum += S[1]
    std = S[2]
    xp.sqrt(state_sum, out=std)
    std += eps
    xp.multiply(g, -clr, out=S[1])            # param.addcdiv_(g, std, value=-clr)
    S[1] /= std
    p += S[1]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011): per-coordinate step sizes shrinking with the summed squared gradient.

    .. math::
        s_t = s_{t-1} + g_t^2,\qquad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1 + (t-1)\eta}\,\frac{g_t}{\sqrt{s_t} + \epsilon}

    Args:
        lr (float): learning rate (default: 1e-2).
        lr_decay (float): learning-rate decay :math:`\eta` (default: 0).
        weight_decay (float): L2 penalty (default: 0).
        initial_accumulator_value (float): starting value of :math:`s` (default: 0).
        eps (float): added to the denominator (default: 1e-10).
        maximize (bool): ascend instead of descend (default: False).

    Like torch, the state (``step``, ``sum``) is created for every parameter at construction.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_hyperparams(lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = _new_step()
        state["sum"] = _state_like(p, self.defaults["initial_accumulator_value"])

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(foreach=None, maximize=False, differentiable=False, fused=None)

    def _update_group(self, group):
        lr = _scalar(group["lr"])
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                self._init_state(p)
            step = _advance(state["step"])
            clr = lr / (1 + (step - 1) * group["lr_decay"])
            self._foreach_block(_adagrad_kernel, p, p.grad._data, [state["sum"]._data],
                                clr, group["eps"], _scalar(group["weight_decay"]), group["maximize"])
