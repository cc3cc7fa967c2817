"""DistributedSampler: give each of ``num_replicas`` processes its own shard of a dataset.

Every replica computes the same (optionally shuffled) index list -- the shuffle is
``randperm(n)`` from a Generator seeded with ``seed + epoch``, never the global one, so all replicas
agree (and agree with torch's sampler wherever Ember's randperm equals torch's) -- pads it (or trims it, with
``drop_last``) to a multiple of ``num_replicas``, and keeps every ``num_replicas``-th index starting
at its ``rank``. Call ``set_epoch(e)`` at the start of each epoch to get a new shuffle.
"""
import math
import os

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Shard ``dataset`` by ``rank`` out of ``num_replicas`` (``torch.utils.data.DistributedSampler``).

    Without an initialized process group, ``num_replicas``/``rank`` default to the ``WORLD_SIZE`` /
    ``RANK`` environment variables, else 1 and 0.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from ... import distributed as dist
        if num_replicas is None:
            num_replicas = dist.get_world_size() if dist.is_initialized() else int(os.environ.get("WORLD_SIZE", 1))
        if rank is None:
            rank = dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", 0))
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            from ...creation import randperm
            from ...random import Generator
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).numpy()
        else:
            indices = np.arange(n)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:  # repeat from the start until the length divides evenly
                indices = np.concatenate([indices, np.resize(indices, padding)])  # = torch's list repeat
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        shard = indices[self.rank:self.total_size:self.num_replicas]
        assert len(shard) == self.num_samples
        return iter(shard.tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use a different shuffle for epoch ``epoch`` (the same on every replica)."""
        self.epoch = epoch
