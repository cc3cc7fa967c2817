"""SyncBatchNorm on N ranks, each holding a slice of one batch, equals BatchNorm on the whole batch in one
process: outputs (each rank's slice), input gradients, the all-reduced weight/bias gradients and the running
statistics. Rank 0 prints the largest difference as JSON."""
import json

import numpy as np

import ember
import ember.distributed as dist
import ember.nn as nn

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(0)
x = rng.normal(size=(4 * n, 3, 2, 2)) * np.array([1.0, 2.0, 0.5])[:, None, None] + 1.0
w = rng.normal(size=x.shape)
mine = slice(4 * r, 4 * r + 4)

ref = nn.BatchNorm2d(3).double()
xr = ember.tensor(x, requires_grad=True)
(ref(xr) * ember.tensor(w)).sum().backward()

sync = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3))).double()
xs = ember.tensor(x[mine], requires_grad=True)
ys = sync(xs)
(ys * ember.tensor(w[mine])).sum().backward()
bn = sync[0]
for p in (bn.weight, bn.bias):
    dist.all_reduce(p.grad)  # what DDP would do (it averages; the sum is the whole-batch gradient)

diffs = {
    "out": float(np.abs(ys.detach().numpy() - nn.functional.batch_norm(
        ember.tensor(x), None, None, ref.weight, ref.bias, True).detach().numpy()[mine]).max()),
    "grad_input": float(np.abs(xs.grad.numpy() - xr.grad.numpy()[mine]).max()),
    "grad_weight": float(np.abs(bn.weight.grad.numpy() - ref.weight.grad.numpy()).max()),
    "grad_bias": float(np.abs(bn.bias.grad.numpy() - ref.bias.grad.numpy()).max()),
    "running_mean": float(np.abs(bn.running_mean.numpy() - ref.running_mean.numpy()).max()),
    "running_var": float(np.abs(bn.running_var.numpy() - ref.running_var.numpy()).max()),
}
if r == 0:
    print(json.dumps(diffs))
dist.destroy_process_group()
