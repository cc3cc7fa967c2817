"""SparseAdam: Adam that updates only the rows a gradient touches (torch.optim.SparseAdam).

Ember has no sparse tensors: ``nn.Embedding(sparse=True)`` gives an ordinary dense gradient, zero in
the rows no index looked up. So SparseAdam here takes *dense* gradients (torch insists on sparse
ones) and treats the rows (slices along dim 0) with a nonzero gradient as the sparse gradient's
indices. That equals torch for embeddings, with one difference: a row that was looked up but
received an exactly-zero gradient is skipped here, while torch (which knows it was looked up)
decays its moments.
"""
import math

from .optimizer import Optimizer, _check_tensor_lr, _scalar, _state_like
from ..device import array_module

__all__ = ["SparseAdam"]


def _sparse_adam_rows(xp, p, g, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step):
    """torch's ``F.sparse_adam`` on the touched rows ``g != 0``, in its order of operations::

        m[r] += (g[r] - m[r]) (1 - beta1);   v[r] += (g[r]^2 - v[r]) (1 - beta2)
        p[r] -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m[r] / (sqrt(v[r]) + eps)
    """
    rows = xp.nonzero(g.reshape(g.shape[0], -1).any(axis=1))[0] if g.ndim else xp.nonzero(g.reshape(1))[0]
    if rows.size == 0:
        return
    if g.ndim == 0:  # a 0-d parameter is one row
        p, g, exp_avg, exp_avg_sq = (a.reshape(1) for a in (p, g, exp_avg, exp_avg_sq))
    values = g[rows]
    old_exp_avg = exp_avg[rows]
    exp_avg_update = (values - old_exp_avg) * (1 - beta1)
    exp_avg[rows] += exp_avg_update
    old_exp_avg_sq = exp_avg_sq[rows]
    exp_avg_sq_update = (values ** 2 - old_exp_avg_sq) * (1 - beta2)
    exp_avg_sq[rows] += exp_avg_sq_update
    numer = exp_avg_update + old_exp_avg
    denom = xp.sqrt(exp_avg_sq_update + old_exp_avg_sq)
    denom += eps
    step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    numer /= denom
    p[rows] += -step_size * numer


class SparseAdam(Optimizer):
    r"""A masked Adam for embedding tables: only the rows that received a gradient move.

    Adam over a large embedding with a few rows looked up per batch would decay every row's moments
    and move every row each step; SparseAdam leaves the untouched rows (and their moments) alone.

    Args:
        lr (float): learning rate (default: 1e-3).
        betas (tuple[float, float]): (default: (0.9, 0.999)).
        eps (float): (default: 1e-8).
        maximize (bool): ascend instead of descend (default: False).

    State per parameter: ``step`` (a Python int, as in torch), ``exp_avg``, ``exp_avg_sq``.
    See the module docstring for how dense gradients stand in for torch's sparse ones.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        _check_tensor_lr(lr)
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        complex_params = [[i, j] for i, g in enumerate(self.param_groups)
                          for j, p in enumerate(g["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support "
                             "complex parameters")

    def _update_group(self, group):
        beta1, beta2 = group["betas"]
        lr = _scalar(group["lr"])
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0
                state["exp_avg"] = _state_like(p)
                state["exp_avg_sq"] = _state_like(p)
            state["step"] += 1
            g = p.grad._data.astype(p._data.dtype, copy=False)
            xp = array_module(g)
            if group.get("maximize", False):
                g = -g
            _sparse_adam_rows(xp, p._data, g, state["exp_avg"]._data, state["exp_avg_sq"]._data, lr,
                              beta1, beta2, group["eps"], state["step"])
            p._bump()
