"""Fused nn primitives: Ember vs PyTorch in one process (run `python benchmarks/bench_nn.py`).

Forward + backward of each primitive on a (4096, 1024) float32 input (override with --rows/--cols):
softmax, log_softmax, cross_entropy (log_softmax + nll fused), layer_norm (with affine weight and bias),
gelu (erf) and gelu (tanh). The upstream gradient is a fixed random tensor, so both libraries run exactly
one forward and one backward pass. Prints best-of-N milliseconds and the ratio ember / torch
(torch is warmed up first and uses its default thread count; the two run alternately, rep by rep).
"""
import argparse
import time

import numpy as np

import ember
import ember.nn.functional as F


def best_of(fns, repeat):
    """Best time of each function, running them alternately so that both libraries see the same machine
    load (other processes on a shared box slow whichever one happens to run during a spike)."""
    for fn in fns:
        fn()  # warm up (allocator, first-call dispatch)
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [min(ts) for ts in times]


def cases(lib, Fn, x, g, t, w, b):
    """name -> closure running forward + backward in library ``lib`` (ember or torch)."""
    def fb(f, grad=True):
        def run():
            x.grad = None
            out = f()
            if grad:
                out.backward(g)
            else:
                out.backward()
        return run

    C = x.shape[1]
    return {
        "softmax": fb(lambda: Fn.softmax(x, dim=-1)),
        "log_softmax": fb(lambda: Fn.log_softmax(x, dim=-1)),
        "cross_entropy": fb(lambda: Fn.cross_entropy(x, t), grad=False),
        "layer_norm": fb(lambda: Fn.layer_norm(x, (C,), w, b)),
        "gelu": fb(lambda: Fn.gelu(x)),
        "gelu_tanh": fb(lambda: Fn.gelu(x, approximate="tanh")),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((args.rows, args.cols)).astype(np.float32)
    ga = rng.standard_normal((args.rows, args.cols)).astype(np.float32)
    ta = rng.integers(0, args.cols, args.rows)
    wa = rng.standard_normal(args.cols).astype(np.float32)
    ba = rng.standard_normal(args.cols).astype(np.float32)

    ex = ember.tensor(xa, requires_grad=True)
    e = cases(ember, F, ex, ember.tensor(ga), ember.tensor(ta), ember.tensor(wa, requires_grad=True),
              ember.tensor(ba, requires_grad=True))
    try:
        import torch
        tx = torch.tensor(xa, requires_grad=True)
        tc = cases(torch, torch.nn.functional, tx, torch.tensor(ga), torch.tensor(ta),
                   torch.tensor(wa, requires_grad=True), torch.tensor(ba, requires_grad=True))
        for f in tc.values():  # warm torch up
            f()
    except ImportError:
        torch, tc = None, {}

    print(f"forward + backward on ({args.rows}, {args.cols}) float32"
          + (f"; torch {torch.__version__} with {torch.get_num_threads()} threads" if torch else ""))
    print(f"{'op':<15}{'ember ms':>10}{'torch ms':>10}{'ratio':>8}")
    for name, fn in e.items():
        if name in tc:
            te, tt = best_of([fn, tc[name]], args.repeat)
            print(f"{name:<15}{te * 1e3:>10.1f}{tt * 1e3:>10.1f}{te / tt:>7.2f}x")
        else:
            te, = best_of([fn], args.repeat)
            print(f"{name:<15}{te * 1e3:>10.1f}{'-':>10}{'-':>8}")


if __name__ == "__main__":
    main()
