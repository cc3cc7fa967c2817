"""Optimizer step time, Ember vs PyTorch, side by side in one process.

    python benchmarks/bench_optim.py            # Adam on ~1M float32 parameters
    python benchmarks/bench_optim.py --all      # every optimizer

Both frameworks update the same parameters (an MLP-like set of tensors, ~1M values) with the
same fixed gradients; each step is timed separately and the median is reported, after warm-up.
The ratio is Ember time / PyTorch time (lower is better; < 1 means Ember is faster).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import ember  # noqa: E402

SHAPES = [(1024, 768), (1024,), (256, 1024), (256,)]  # 1,049,856 parameters

CONFIGS = {
    "Adam": dict(lr=1e-3),
    "AdamW": dict(lr=1e-3),
    "SGD": dict(lr=0.01, momentum=0.9),
    "RMSprop": dict(lr=1e-3),
    "Adagrad": dict(lr=1e-2),
    "Adamax": dict(lr=2e-3),
    "NAdam": dict(lr=2e-3),
}


def _median_step_seconds(opt, steps, warmup):
    for _ in range(warmup):
        opt.step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench(name, steps, warmup, torch):
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [(0.01 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]

    eparams = [ember.tensor(w.copy(), requires_grad=True) for w in weights]
    for p, g in zip(eparams, grads):
        p.grad = ember.tensor(g)
    e_time = _median_step_seconds(getattr(ember.optim, name)(eparams, **CONFIGS[name]), steps, warmup)

    t_time = None
    if torch is not None:
        tparams = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
        for p, g in zip(tparams, grads):
            p.grad = torch.tensor(g)
        t_time = _median_step_seconds(getattr(torch.optim, name)(tparams, **CONFIGS[name]), steps, warmup)
    return e_time, t_time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="timed steps (default: 50)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (default: 10)")
    parser.add_argument("--all", action="store_true", help="benchmark every optimizer, not just Adam")
    parser.add_argument("--block", type=int, default=None,
                        help="elements per cache block in Ember's kernels (default: ember.optim's own)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="intra-op threads for PyTorch (default: its own choice, one per core)")
    args = parser.parse_args(argv)
    from ember.optim import optimizer as _optimizer
    if args.block:
        _optimizer._BLOCK = args.block
    try:
        import torch
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        threads = torch.get_num_threads()
    except ImportError:
        torch, threads = None, 0

    n = sum(int(np.prod(s)) for s in SHAPES)
    print(f"{n:,} float32 parameters in {len(SHAPES)} tensors; median of {args.steps} steps; "
          f"ember block {_optimizer._BLOCK}; "
          + (f"torch {torch.__version__}: {threads} threads" if torch else "PyTorch not installed"))
    print(f"{'optimizer':10s} {'ember ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    for name in (CONFIGS if args.all else ["Adam"]):
        e_time, t_time = bench(name, args.steps, args.warmup, torch)
        if t_time is None:
            print(f"{name:10s} {e_time * 1e3:10.2f}")
        else:
            print(f"{name:10s} {e_time * 1e3:10.2f} {t_time * 1e3:10.2f} {e_time / t_time:7.2f}x")


if __name__ == "__main__":
    main()
