"""Ways a distributed job goes wrong; each must end the whole job quickly with a clear message.

usage: failures.py raise|skip|mismatch|stuck
"""
import datetime
import sys
import time

import ember
import ember.distributed as dist

mode = sys.argv[1]
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=3))
rank = dist.get_rank()
t = ember.ones(4)
if mode == "raise":
    if rank == 1:
        raise ValueError("bad batch on rank 1")
    dist.all_reduce(t)                      # the others wait here: the abort must end them
elif mode == "skip":
    if rank != 1:
        dist.all_reduce(t)                  # rank 1 skips it and goes on to the barrier
    dist.barrier()
elif mode == "mismatch":
    if rank == 0:
        dist.all_reduce(t)
    else:
        dist.broadcast(t, src=0)
elif mode == "stuck":
    if rank == 1:
        time.sleep(60)                      # never joins: the others time out
    dist.all_reduce(t)
print(f"rank {rank} finished", flush=True)
