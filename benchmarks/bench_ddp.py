"""DistributedDataParallel step time for lesson 003's pre-LN Transformer block (d_model=512, 3,152,384
parameters) on 1 and 2 processes, and how much of the gradient all-reduce hides behind backward.

Run: ``python benchmarks/bench_ddp.py`` (starts itself under the venv's mpiexec). Each process trains on its
own batch of 8 sequences x 64 tokens (weak scaling: 2 processes do twice the work per step). With torch's
default 25 MB buckets this 12.6 MB model has two buckets (1 MB first, then the rest), so almost nothing can
overlap; 2 MB buckets let the reductions start while backward still runs. On a 2-core machine the two
processes already use both cores for compute, so overlap buys little there.
"""
import os
import subprocess
import sys
import time

STEPS, WARMUP = 8, 2


def worker():
    import ember
    import ember.distributed as dist
    from ember import nn
    from ember.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo")
    rank = dist.get_rank()

    class Block(nn.Module):  # lesson 003's pre-LN block
        def __init__(self, d=512, heads=8, ff=2048):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.ff(self.ln2(x))

    ember.manual_seed(0)
    model = Block()
    assert sum(p.numel() for p in model.parameters()) == 3152384
    ddp = DDP(model, bucket_cap_mb=float(os.environ["EMBER_BENCH_BUCKET_MB"]))
    opt = ember.optim.Adam(ddp.parameters(), lr=1e-4)
    x = ember.randn(8, 64, 512)
    times = []
    for step in range(WARMUP + STEPS):
        t0 = time.perf_counter()
        loss = ddp(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    busy, exposed = ddp.comm_stats()
    times = sorted(times[WARMUP:])
    if rank == 0:
        hidden = min(1.0, max(0.0, 1 - exposed / busy)) if dist.get_world_size() > 1 else float("nan")
        print(f"{dist.get_world_size()} {times[len(times) // 2] * 1e3:.1f} {busy * 1e3 / (WARMUP + STEPS):.1f} "
              f"{hidden:.2f}", flush=True)
    dist.destroy_process_group()


def main():
    here = os.path.abspath(__file__)
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    env = dict(os.environ, EMBER_BENCH_DDP_WORKER="1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(here)), os.environ.get("PYTHONPATH", "")]))
    print(f"{'processes':>9s} {'bucket MB':>9s} {'step ms (median)':>17s} {'all-reduce ms/step':>19s} "
          f"{'hidden behind backward':>23s}")
    for n, bucket_mb in ((1, 25), (2, 25), (2, 2)):
        out = subprocess.run([mpiexec, "-n", str(n), sys.executable, here], env=dict(env, EMBER_BENCH_BUCKET_MB=str(
            bucket_mb)), capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            continue
        procs, step, comm, hidden = out.stdout.split()
        hidden = "-" if hidden == "nan" else f"{float(hidden) * 100:.0f}%"
        print(f"{procs:>9s} {bucket_mb:>9d} {step:>17s} {comm:>19s} {hidden:>23s}")


if __name__ == "__main__":
    worker() if os.environ.get("EMBER_BENCH_DDP_WORKER") else main()
