"""A collective inside the graph: the sum over processes of a tensor, differentiable.

    y = sum_r x_r   (every rank gets y):   d L / d x_r = sum_r' dL_r' / d y

where L = sum_r L_r is the loss of the whole (distributed) batch: each rank's gradient of its own loss
with respect to y is summed over ranks in backward, by the same all-reduce. SyncBatchNorm uses it for the
batch statistics, so every rank normalises with, and differentiates through, the global mean and variance.
"""
from ..autograd.function import Function
from ._util import wrap


class AllReduceSum(Function):
    """y = all_reduce(x, SUM):  dx = all_reduce(dy, SUM)"""
    _grad_fn_name = "AllReduceSumBackward0"

    @staticmethod
    def forward(ctx, x, group):
        from .. import distributed as dist
        ctx.group = group
        out = wrap(x._data.copy())
        dist.all_reduce(out, group=group)
        return out._data

    @staticmethod
    def backward(ctx, g):
        from .. import distributed as dist
        out = wrap(g._data.copy())
        dist.all_reduce(out, group=ctx.group)
        return out, None
