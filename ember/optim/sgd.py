"""Stochastic gradient descent, optionally with (Nesterov) momentum (torch.optim.SGD)."""
import numpy as np

from .optimizer import Optimizer, _check_tensor_lr, _grad_in, _scalar, _state_like

__all__ = ["SGD"]


def _sgd_kernel(xp, p, g, buf, S, lr, momentum, dampening, nesterov, maximize, weight_decay, first):
    """One block of SGD, in place (torch's ``_single_tensor_sgd``)::

        g <- -g if maximize;  g <- g + weight_decay * p
        b <- g (first step)  or  b <- momentum * b + (1 - dampening) * g
        g <- g + momentum * b (nesterov)  or  g <- b
        p <- p - lr * g
    """
    g = _grad_in(xp, p, g, S[0], S[1], maximize, weight_decay)
    if momentum != 0:
        if first:
            xp.copyto(buf, g)
        else:
            buf *= momentum
            if dampening == 0:
                buf += g
            else:
                xp.multiply(g, 1 - dampening, out=S[1])
                buf += S[1]
        if nesterov:
            xp.multiply(buf, momentum, out=S[1])
            xp.add(g, S[1], out=S[0])
            g = S[0]
        else:
            g = buf
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run gives inf/nan silently, as in torch
        xp.multiply(g, -lr, out=S[1])   # param.add_(grad, alpha=-lr)
        p += S[1]


def _sgd_compiled(K, p, g, buf, lr, momentum, dampening, nesterov, maximize, weight_decay, first):
    """``_sgd_kernel``'s step as one compiled loop (``K.sgd``, optim/_kernels.py): returns ``work(lo, hi)``.
    The constants are rounded to float32 here, as NumPy rounds them when they meet a float32 array."""
    f = np.float32
    args = (f(-lr), f(momentum), f(1 - dampening), f(weight_decay), bool(maximize), weight_decay != 0,
            momentum != 0, bool(first), dampening != 0, bool(nesterov))
    buf = g if buf is None else buf   # not touched without momentum
    return lambda lo, hi: K.sgd(p, g, buf, lo, hi, *args)


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum).

    .. math::
        g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1},\quad
        b_t = \mu b_{t-1} + (1-\tau) g_t \;(b_1 = g_1),\quad
        \theta_t = \theta_{t-1} - \gamma\,(g_t + \mu b_t \text{ if nesterov else } b_t)

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate :math:`\gamma` (default: 1e-3).
        momentum (float): momentum factor :math:`\mu` (default: 0).
        dampening (float): dampening :math:`\tau` for momentum (default: 0).
        weight_decay (float): L2 penalty :math:`\lambda` (default: 0).
        nesterov (bool): Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize (bool): ascend the objective instead of descending (default: False).

    Like PyTorch, the momentum buffer starts as the first gradient (not zeros), and lr multiplies
    the whole velocity: ``v = mu*v + g; p -= lr*v``.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check_tensor_lr(lr)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(step_keys=None, nesterov=False, maximize=False, foreach=None,
                                  differentiable=False, fused=False)

    def _update_group(self, group):
        lr = _scalar(group["lr"])
        momentum = group["momentum"]
        dampening = group["dampening"]
        weight_decay = _scalar(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            buf, first = None, False
            if momentum != 0:
                state = self.state[p]
                if state.get("momentum_buffer") is None:
                    state["momentum_buffer"] = _state_like(p)
                    first = True
                buf = state["momentum_buffer"]._data
            self._foreach_block(_sgd_kernel, p, p.grad._data, [buf], lr, momentum, dampening,
                                group["nesterov"], group["maximize"], weight_decay, first,
                                compiled=_sgd_compiled)
