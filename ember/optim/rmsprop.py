"""RMSprop (torch.optim.RMSprop)."""
from .optimizer import (Optimizer, _advance, _check_hyperparams, _decay_square_, _grad_in, _lerp_,
                        _scalar)

__all__ = ["RMSprop"]


def _rmsprop_kernel(xp, p, g, square_avg, grad_avg, buf, S, lr, alpha, eps, weight_decay, momentum,
                    maximize):
    """One block of RMSprop, in place (torch's ``_single_tensor_rmsprop``)::

        g <- -g if maximize;  g <- g + wd * p
        v <- alpha v + (1 - alpha) g^2
        centered:  a <- lerp(a, g, 1 - alpha);  avg = sqrt(v - a^2) + eps   else avg = sqrt(v) + eps
        momentum:  b <- momentum b + g / avg;  p <- p - lr b              else p <- p - lr g / avg
    """
    g = _grad_in(xp, p, g, S[0], S[1], maximize, weight_decay)
    _decay_square_(xp, square_avg, g, alpha, S[1])
    avg = S[2]
    if grad_avg is not None:
        _lerp_(xp, grad_avg, g, 1 - alpha, S[1])
        xp.negative(grad_avg, out=avg)        # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        avg *= grad_avg
        avg += square_avg
        xp.sqrt(avg, out=avg)
    else:
        xp.sqrt(square_avg, out=avg)
    avg += eps
    if momentum > 0:
        buf *= momentum                       # buf.mul_(momentum).addcdiv_(g, avg)
        xp.divide(g, avg, out=S[1])
        buf += S[1]
        xp.multiply(buf, -lr, out=S[1])       # param.add_(buf, alpha=-lr)
        p += S[1]
    else:
        xp.multiply(g, -lr, out=S[1])         # param.addcdiv_(g, avg, value=-lr)
        S[1] /= avg
        p += S[1]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes; centered version from Graves, 2013).

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\qquad
        \theta_t = \theta_{t-1} - \gamma\,\frac{g_t}{\sqrt{v_t} + \epsilon}

    Args:
        lr (float): learning rate (default: 1e-2).
        alpha (float): smoothing constant of the squared-gradient average (default: 0.99).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): L2 penalty (default: 0).
        momentum (float): momentum factor (default: 0).
        centered (bool): normalise by the estimated variance :math:`v_t - \bar g_t^2` (default: False).
        maximize (bool): ascend instead of descend (default: False).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_hyperparams(lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(momentum=0, centered=False, foreach=None, maximize=False,
                                  differentiable=False, capturable=False)

    def _update_group(self, group):
        lr = _scalar(group["lr"])
        momentum = group["momentum"]
        centered = group["centered"]
        buffers = ["square_avg"] + ["momentum_buffer"] * (momentum > 0) + ["grad_avg"] * centered
        for p, state in self._params_with_grad(group, buffers):
            _advance(state["step"])
            self._foreach_block(_rmsprop_kernel, p, p.grad._data,
                                [state["square_avg"]._data,
                                 state["grad_avg"]._data if centered else None,
                                 state["momentum_buffer"]._data if momentum > 0 else None],
                                lr, group["alpha"], group["eps"], _scalar(group["weight_decay"]), momentum,
                                group["maximize"])
