"""DDP on N processes vs one process on the concatenated batch: after 40 steps of SGD with momentum and
40 of Adam the parameters agree (printed by rank 0 as JSON)."""
import json
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
B = 8  # per-rank batch


def make_model(seed):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 5))


def data(step):
    rs = np.random.RandomState(step)
    x = rs.randn(B * world, 10).astype(np.float32)
    y = rs.randint(0, 5, size=B * world)
    return ember.tensor(x), ember.tensor(y)


result = {}
for opt_name in ("sgd", "adam"):
    model = make_model(100 + rank)          # different on each rank: DDP must broadcast rank 0's
    ref = make_model(100)                   # what rank 0 starts from, trained on the whole batch
    ddp = DDP(model, bucket_cap_mb=0.001)   # tiny buckets: several reductions per step
    make_opt = ((lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9)) if opt_name == "sgd"
                else (lambda ps: ember.optim.Adam(ps, lr=1e-2)))
    opt, ref_opt = make_opt(ddp.parameters()), make_opt(ref.parameters())
    loss_fn = nn.CrossEntropyLoss()
    for step in range(40):
        x, y = data(step)
        opt.zero_grad()
        loss_fn(ddp(x[rank * B:(rank + 1) * B]), y[rank * B:(rank + 1) * B]).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(x), y).backward()
        ref_opt.step()
    mine = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    everyone = [ember.zeros(mine.size) for _ in range(world)]
    dist.all_gather(everyone, ember.tensor(mine))
    spread = max(float(np.abs(e.numpy() - mine).max()) for e in everyone)
    ref_params = np.concatenate([p.detach().numpy().ravel() for p in ref.parameters()])
    result[opt_name] = {"vs_single": float(np.abs(mine - ref_params).max()), "replica_spread": spread,
                        "keys": list(ddp.state_dict())[:2]}
if rank == 0:
    print(json.dumps(result))
dist.destroy_process_group()
sys.exit(0)
