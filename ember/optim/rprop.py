"""Rprop: resilient backpropagation (torch.optim.Rprop)."""
from .optimizer import Optimizer, _advance, _check_tensor_lr, _scalar

__all__ = ["Rprop"]


def _rprop_kernel(xp, p, g, prev, step_size, S, etaminus, etaplus, step_size_min, step_size_max, maximize):
    """One block of Rprop, in place (torch's ``_single_tensor_rprop``)::

        g <- -g if maximize
        s = sign(g * prev)
        step_size <- clamp(step_size * (etaplus if s > 0, etaminus if s < 0, 1 if s == 0), min, max)
        g <- 0 where s < 0          (the sign flipped: we overshot, so skip this step and forget g)
        p <- p - sign(g) * step_size;   prev <- g
    """
    if maximize:
        xp.negative(g, out=S[0])
    else:
        xp.copyto(S[0], g)
    g = S[0]
    sign = S[1]
    xp.multiply(g, prev, out=sign)
    xp.sign(sign, out=sign)
    factor = S[2]
    factor.fill(1)
    xp.copyto(factor, factor.dtype.type(etaplus), where=sign > 0)
    flipped = sign < 0
    xp.copyto(factor, factor.dtype.type(etaminus), where=flipped)
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    xp.copyto(g, 0, where=flipped)
    xp.sign(g, out=S[3])                      # param.addcmul_(g.sign(), step_size, value=-1)
    S[3] *= step_size
    p -= S[3]
    xp.copyto(prev, g)


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun, 1993): each coordinate moves by its own step size, using only the
    *sign* of the gradient.

    The step size grows by ``etaplus`` while the gradient keeps its sign and shrinks by ``etaminus``
    when it flips (the last step jumped over a minimum); on a flip the coordinate waits one step.
    Works well for full-batch training, not with noisy mini-batch gradients.

    Args:
        lr (float): initial step size of every coordinate (default: 1e-2).
        etas (tuple[float, float]): (etaminus, etaplus), with 0 < etaminus < 1 < etaplus (default: (0.5, 1.2)).
        step_sizes (tuple[float, float]): the smallest and largest step size (default: (1e-6, 50)).
        maximize (bool): ascend instead of descend (default: False).
        foreach, capturable, differentiable: accepted as torch does.

    State per parameter: ``step``, ``prev`` (last gradient used), ``step_size``.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(foreach=None, maximize=False, differentiable=False, capturable=False)

    def _update_group(self, group):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p, state in self._params_with_grad(group, ("prev", ("step_size", _scalar(group["lr"])))):
            _advance(state["step"])
            self._foreach_block(_rprop_kernel, p, p.grad._data, [state["prev"]._data, state["step_size"]._data],
                                etaminus, etaplus, step_size_min, step_size_max, group["maximize"])
