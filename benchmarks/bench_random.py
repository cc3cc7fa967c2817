"""Time Ember's torch-compatible samplers against PyTorch's at 10**6 elements (best of several runs).

Per-core figures: ``OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/bench_random.py``. Targets (issue 12):
within 2x of torch for rand, uniform_, randint, bernoulli_ and dropout, within 4x for randn.
"""
import argparse
import timeit

import ember

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def best_ms(fn, repeat):
    fn()  # warm up (Numba compiles on first use)
    return min(timeit.repeat(fn, number=1, repeat=repeat)) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10 ** 6)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    n = args.n
    if torch is not None:
        torch.set_num_threads(1)
    xe = ember.empty(n)
    xt = torch.empty(n) if torch is not None else None
    cases = [
        ("rand", lambda: ember.rand(n), lambda: torch.rand(n), 2),
        ("uniform_(-1, 1)", lambda: xe.uniform_(-1, 1), lambda: xt.uniform_(-1, 1), 2),
        ("randint(0, 10)", lambda: ember.randint(0, 10, (n,)), lambda: torch.randint(0, 10, (n,)), 2),
        ("bernoulli_(0.5)", lambda: xe.bernoulli_(0.5), lambda: xt.bernoulli_(0.5), 2),
        ("dropout(p=0.5)", lambda: ember.nn.functional.dropout(xe, 0.5), lambda: torch.nn.functional.dropout(xt, 0.5),
         2),
        ("randn", lambda: ember.randn(n), lambda: torch.randn(n), 4),
        ("randn float64", lambda: ember.randn(n, dtype=ember.float64),
         lambda: torch.randn(n, dtype=torch.float64), None),
        ("randperm", lambda: ember.randperm(n), lambda: torch.randperm(n), None),
    ]
    for _, fe, ft, _ in cases:      # warm up everything first (Numba loads its cached loops on first use)
        fe()
        if torch is not None:
            ft()
    print(f"{'op':18s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}  target")
    for name, fe, ft, target in cases:
        te = best_ms(fe, args.repeat)
        tt = best_ms(ft, args.repeat) if torch is not None else float("nan")
        tgt = f"<= {target}x" if target else ""
        print(f"{name:18s} {te:9.2f} {tt:9.2f} {te / tt:6.2f}  {tgt}")


if __name__ == "__main__":
    main()
