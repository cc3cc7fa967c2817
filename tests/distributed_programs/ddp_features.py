"""no_sync() gradient accumulation, find_unused_parameters, buffers, the unused-parameter error, and a
model mismatch; rank 0 prints 'ok'."""
import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
r, n = dist.get_rank(), dist.get_world_size()


def close(a, b, tol=1e-6):
    assert np.abs(a.numpy() - b.numpy()).max() <= tol, (a, b)


# 1. no_sync: two micro-batches accumulated locally, reduced once == the average over all ranks' sums
ember.manual_seed(0)
model = nn.Linear(4, 3)
ddp = DDP(model)
xs = [ember.full((2, 4), float(r + 1 + k)) for k in range(2)]
with ddp.no_sync():
    ddp(xs[0]).sum().backward()
local_after_first = model.weight.grad.clone()
ddp(xs[1]).sum().backward()
expected = sum(ember.full((3, 4), float(2 * (q + 1) + 2 * (q + 2))) for q in range(n)) / n
close(model.weight.grad, expected)
assert not np.array_equal(local_after_first.numpy(), model.weight.grad.numpy()) or n == 1


# 2. find_unused_parameters: a branch used only on rank 0 still gets the average gradient everywhere
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = nn.Linear(2, 2)
        self.never = nn.Linear(2, 2)

    def forward(self, x, use_b):
        return self.b(self.a(x)) if use_b else self.a(x)


m = Branchy()
ddp = DDP(m, find_unused_parameters=True)
ddp(ember.ones(1, 2), use_b=(r == 0)).sum().backward()
assert m.b.weight.grad is not None                      # rank 0 used it: everyone gets the average
assert m.never.weight.grad is None                      # nobody used it: stays None, as in torch
g = m.b.weight.grad.clone()
everyone = [ember.zeros(2, 2) for _ in range(n)]
dist.all_gather(everyone, g)
for e in everyone:
    close(e, g)

# 3. without find_unused_parameters, an unused parameter is reported at the next forward
ddp = DDP(Branchy())
ddp(ember.ones(1, 2), use_b=False).sum().backward()
try:
    ddp(ember.ones(1, 2), use_b=False)
    raise AssertionError("expected the unused-parameter error")
except RuntimeError as e:
    assert "find_unused_parameters=True" in str(e) and "b.weight" in str(e), e

# 4. buffers follow rank 0 at each forward in training mode (BatchNorm running stats)
bn = nn.BatchNorm1d(3)
ddp = DDP(bn)
ddp(ember.full((4, 3), float(r)) + ember.arange(4.0).reshape(4, 1))
ddp(ember.zeros(4, 3))                                  # start of this forward: buffers := rank 0's
stats = [ember.zeros(3) for _ in range(n)]
dist.all_gather(stats, bn.running_mean.clone())
for s in stats:
    close(s, stats[0])

# 5. gradients are views into the flat buckets, and state_dict keys carry "module."
assert list(DDP(nn.Linear(2, 2)).state_dict()) == ["module.weight", "module.bias"]

# 6. a rank that built a different model is refused with the parameter named
try:
    DDP(nn.Linear(2, 3 if r == 0 else 4))
    assert n == 1, "expected a model mismatch"
except RuntimeError as e:
    assert "DDP expects same model across all ranks" in str(e), e
dist.barrier()
if r == 0:
    print("ok")
