"""AdaptiveLogSoftmaxWithLoss: a softmax over many classes that is cheap for the frequent ones.

Efficient softmax approximation for GPUs (Grave et al., 2017). Classes are sorted by frequency and split by
``cutoffs`` into a shortlist [0, c₀) and clusters [c₀, c₁), [c₁, c₂), ... The *head* scores the shortlist
classes plus one token per cluster; each cluster's *tail* scores the classes inside it, through a
low-rank projection (``in_features // div_value**(j+1)`` hidden units for cluster j):

    log p(c) = head(c)                                 c in the shortlist
    log p(c) = head(cluster j) + tail_j(c)             c in cluster j

(both parts log-softmaxed). Training only runs the tail of the clusters that the batch's targets fall in.
"""
from collections import namedtuple
from collections.abc import Sequence

import ember

from . import functional as F
from .containers import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax; ``forward(input, target)`` returns ``(output, loss)``.

    ``output[i] = log p(target[i] | input[i])`` and ``loss = -output.mean()``. ``log_prob(input)`` gives the
    full (N, n_classes) log-probabilities, ``predict(input)`` the most likely class.
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        if not isinstance(cutoffs, Sequence) or len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        cutoffs = list(cutoffs)
        if (cutoffs != sorted(cutoffs) or len(set(cutoffs)) != len(cutoffs)
                or not all(isinstance(c, int) for c in cutoffs) or min(cutoffs) <= 0
                or max(cutoffs) > n_classes - 1):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        factory = dict(device=device, dtype=dtype)
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for j in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (j + 1)))
            size = self.cutoffs[j + 1] - self.cutoffs[j]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                        Linear(hidden, size, bias=False, **factory)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for projection, output in self.tail:
            projection.reset_parameters()
            output.reset_parameters()

    def forward(self, input, target):
        if target.ndim == 1:
            if input.shape[0] != target.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{input.shape}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{input.shape}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target.ndim == 1
        x, t = (input, target) if batched else (input.unsqueeze(0), target.unsqueeze(0))
        if t.numel() and (bool((t < 0).any()) or bool((t >= self.n_classes).any())):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{int(t.min())}, {int(t.max())}] were found. ")

        # cluster[i] = -1 for a shortlist target, else the index j of its cluster
        cluster = ember.bucketize(t, ember.tensor(self.cutoffs[:-1], device=t.device), right=True) - 1
        head_logprob = F.log_softmax(self.head(x), dim=1)
        head_index = ember.where(cluster < 0, t, self.shortlist_size + cluster)
        output = head_logprob.gather(1, head_index.unsqueeze(1)).squeeze(1)
        for j in range(self.n_clusters):
            rows = (cluster == j).nonzero().flatten()
            if rows.numel() == 0:
                continue
            tail_logprob = F.log_softmax(self.tail[j](x.index_select(0, rows)), dim=1)
            inside = (t.index_select(0, rows) - self.cutoffs[j]).unsqueeze(1)
            output = output.index_add(0, rows, tail_logprob.gather(1, inside).squeeze(1))
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, input, head_output):
        """(N, n_classes): the shortlist from the head, each cluster as head token + its tail."""
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for j in range(self.n_clusters):
            cluster_logprob = head_logprob[:, self.shortlist_size + j].unsqueeze(1)
            parts.append(F.log_softmax(self.tail[j](input), dim=1) + cluster_logprob)
        return ember.cat(parts, dim=1)

    def log_prob(self, input):
        """log p(c | input) for every class c: shape (N, n_classes)."""
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most likely class per row, shape (N,).

        When the head's best entry is a shortlist class, it is the answer (its probability is at least
        that of any whole cluster); only rows whose best head entry is a cluster need the tails.
        """
        head_output = self.head(input)
        best = head_output.argmax(dim=1)
        need_tails = (best >= self.shortlist_size).nonzero().flatten()
        if need_tails.numel() == 0:
            return best
        rows_x = input.index_select(0, need_tails)
        full = self._full_log_prob(rows_x, head_output.index_select(0, need_tails)).argmax(dim=1)
        return best.index_copy(0, need_tails, full)
