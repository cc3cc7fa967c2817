"""Adafactor: Adam's second moment in factored form (torch.optim.Adafactor)."""
from ..autograd.grad_mode import no_grad
from ..dtypes import finfo
from .. import functions as _F
from .optimizer import Optimizer, _check_tensor_lr, _new_step, _scalar

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018): the second-moment estimate of a matrix gradient is stored
    as one running mean per row and one per column -- O(n + m) memory instead of O(n m) -- and
    their outer product (divided by the mean of the rows) stands in for Adam's :math:`v`.

    Per step :math:`t`: :math:`\beta_{2,t} = 1 - t^{c}` (``beta2_decay`` :math:`c < 0`), the relative step
    :math:`\rho_t = \min(\gamma, 1/\sqrt t)` scaled by the parameter's RMS
    (:math:`\alpha = \max(\epsilon_2, \mathrm{RMS}(\theta))\,\rho_t`), and the update
    :math:`u = g/\sqrt{\hat v}` is clipped so its RMS is at most ``d``. There is no first moment.

    Args:
        lr (float): upper bound of the relative step size (default: 1e-2).
        beta2_decay (float): exponent :math:`c` of :math:`\beta_{2,t}` (default: -0.8).
        eps (tuple[float | None, float]): :math:`\epsilon_1` (floor of :math:`\hat v`; None: the dtype's
            eps) and :math:`\epsilon_2` (floor of the parameter RMS) (default: (None, 1e-3)).
        d (float): clipping threshold on the update's RMS (default: 1.0).
        weight_decay (float): decoupled weight decay (default: 0.0).
        maximize (bool): ascend instead of descend (default: False).

    State per parameter: ``step``, then ``row_var`` and ``col_var`` (matrices and higher) or ``variance``
    (vectors). Written with Tensor operations in torch's order (``_single_tensor_adafactor``).
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._fill_group_defaults(foreach=None)

    def _update_group(self, group):
        with no_grad():
            self._adafactor(group)

    def _adafactor(self, group):
        lr = _scalar(group["lr"])
        eps1, eps2 = group["eps"]
        d, beta2_decay, weight_decay = group["d"], group["beta2_decay"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _new_step()
                if p.grad.dim() > 1:
                    state["row_var"] = p.grad.new_zeros(list(p.grad.shape[:-1]) + [1])
                    state["col_var"] = p.grad.new_zeros(list(p.grad.shape[:-2]) + [1, p.grad.shape[-1]])
                else:
                    state["variance"] = p.grad.new_zeros(p.grad.shape)
            grad = -p.grad if group["maximize"] else p.grad
            e1 = finfo(p.dtype).eps if eps1 is None else eps1
            step_t = state["step"]
            step_t += 1
            step = step_t.item()
            one_minus_beta2_t = step ** beta2_decay
            rho_t = min(lr, 1 / (step ** 0.5))
            alpha = max(eps2, p.norm(2).item() / (p.numel() ** 0.5)) * rho_t
            if weight_decay != 0:
                p.mul_(1 - lr * weight_decay)
            if grad.dim() > 1:
                # factored second moment: running means of the squared gradient per row and per column
                row_mean = _F.norm(grad, dim=-1, keepdim=True).square_().div_(grad.size(-1))
                state["row_var"].lerp_(row_mean, one_minus_beta2_t)
                col_mean = _F.norm(grad, dim=-2, keepdim=True).square_().div_(grad.size(-2))
                state["col_var"].lerp_(col_mean, one_minus_beta2_t)
                var_estimate = state["row_var"] @ state["col_var"]
                var_estimate.div_(state["row_var"].mean(dim=-2, keepdim=True).clamp_(min=e1))
            else:
                state["variance"].lerp_(grad * grad, one_minus_beta2_t)
                var_estimate = state["variance"].clone()
            update = var_estimate.clamp_(min=e1 * e1).rsqrt_()
            update.mul_(grad)
            denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))   # clip the update's RMS
            p.add_(update, alpha=-alpha / denom)
