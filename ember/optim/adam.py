"""Adam: adaptive moment estimation (torch.optim.Adam)."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _adam_moments, _advance, _check_hyperparams, _scalar

__all__ = ["Adam"]


def _adam_kernel(xp, p, g, m, v, vmax, S, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                 step_size, bias_correction2_sqrt):
    """One block of Adam, in place (torch's ``_single_tensor_adam``)::

        p <- p * (1 - lr * wd)              (decoupled weight decay: AdamW)
        g <- -g if maximize;  g <- g + wd * p   (L2 penalty: Adam)
        m <- lerp(m, g, 1 - beta1)          = beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        vmax <- max(vmax, v)                (amsgrad; then used instead of v)
        p <- p - step_size * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),  step_size = lr / (1 - beta1^t)
    """
    _adam_moments(xp, p, g, m, v, S, lr, beta1, beta2, weight_decay, decoupled, maximize)
    if vmax is not None:
        xp.maximum(vmax, v, out=vmax)
        v = vmax
    denom = S[2]
    xp.sqrt(v, out=denom)
    denom /= bias_correction2_sqrt
    denom += eps
    xp.multiply(m, -step_size, out=S[1])     # param.addcdiv_(m, denom, value=-step_size)
    S[1] /= denom
    p += S[1]


def _adam_compiled(K, p, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                   step_size, bias_correction2_sqrt):
    """``_adam_kernel``'s step as one compiled loop (``K.adam``, optim/_kernels.py): returns ``work(lo, hi)``.
    The constants are formed in float64 and rounded to float32 here, as NumPy rounds them when they
    meet a float32 array; the flags pick the branches ``_adam_moments`` and ``_lerp_`` take."""
    f = np.float32
    w = 1 - beta1
    small = abs(w) < 0.5
    shrink = bool(decoupled) and weight_decay != 0
    args = (f(1 - lr * weight_decay) if shrink else f(1), f(weight_decay), f(w if small else 1 - w), small,
            f(1 - beta2), f(beta2), f(bias_correction2_sqrt), f(eps), f(-step_size), shrink,
            not decoupled and weight_decay != 0, bool(maximize), vmax is not None)
    vmax = v if vmax is None else vmax   # not touched without amsgrad
    return lambda lo, hi: K.adam(p, g, m, v, vmax, lo, hi, *args)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014).

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,
                   \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate :math:`\gamma` (default: 1e-3).
        betas (tuple[float, float]): :math:`(\beta_1, \beta_2)`, decay rates of the running mean
            of the gradient and of its square (default: (0.9, 0.999)).
        eps (float): added to the denominator for numerical stability (default: 1e-8).
        weight_decay (float): L2 penalty added to the gradient (default: 0).
        amsgrad (bool): use the running maximum of :math:`v_t` (AMSGrad) (default: False).
        maximize (bool): ascend instead of descend (default: False).
        decoupled_weight_decay (bool): shrink the weights directly instead (AdamW) (default: False).

    State per parameter: ``step`` (0-d float32 tensor), ``exp_avg``, ``exp_avg_sq``
    (and ``max_exp_avg_sq`` with amsgrad) -- the same keys as torch, so state dicts interchange.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check_hyperparams(lr, betas, eps=eps, weight_decay=weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        betas = tuple(betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(amsgrad=False, maximize=False, foreach=None, capturable=False,
                                  differentiable=False, decoupled_weight_decay=False, fused=None)

    def _update_group(self, group):
        beta1, beta2 = (_scalar(b) for b in group["betas"])
        lr = _scalar(group["lr"])
        weight_decay = _scalar(group["weight_decay"])
        amsgrad = group["amsgrad"]
        buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        for p, state in self._params_with_grad(group, buffers):
            step = _advance(state["step"])
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5
            vmax = state["max_exp_avg_sq"]._data if amsgrad else None
            self._foreach_block(_adam_kernel, p, p.grad._data,
                                [state["exp_avg"]._data, state["exp_avg_sq"]._data, vmax],
                                lr, beta1, beta2, group["eps"], weight_decay,
                                group["decoupled_weight_decay"], group["maximize"],
                                step_size, bias_correction2_sqrt, compiled=_adam_compiled)
