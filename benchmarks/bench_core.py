"""Core overhead and throughput: Ember vs PyTorch in one process (ratios; run `python benchmarks/bench_core.py`).

1. a chain of 1000 ``x = x * 1.0001 + 0.0001`` on a (4, 4) tensor that requires grad, then ``backward()``
   (per-op overhead of Function.apply and the engine);
2. large element-wise ops and a matmul (NumPy/BLAS-bound).
"""
import time

import numpy as np

import ember


def best_of(fn, repeat=5, number=1):
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def chain(lib):
    def run():
        x0 = lib.ones(4, 4, requires_grad=True)
        x = x0
        for _ in range(1000):
            x = x * 1.0001 + 0.0001
        x.sum().backward()
    return run


def elementwise(lib, a, b):
    def run():
        (a * b + a).exp()
    return run


def binary(a, b, op):
    return lambda: getattr(a, op)(b)


def unary(a, op):
    return lambda: getattr(a, op)()


def matmul(lib, a, b):
    return lambda: a @ b


def main():
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2048, 2048), dtype=np.float32)
    B = rng.standard_normal((2048, 2048), dtype=np.float32)
    cases = [
        ("chain of 1000 mul+add, backward", lambda L: chain(L), 5, 1),
        ("a + b 2048x2048", lambda L: binary(L.from_numpy(A), L.from_numpy(B), "add"), 7, 3),
        ("a * b 2048x2048", lambda L: binary(L.from_numpy(A), L.from_numpy(B), "mul"), 7, 3),
        ("a.exp() 2048x2048", lambda L: unary(L.from_numpy(A), "exp"), 7, 3),
        ("a.tanh() 2048x2048", lambda L: unary(L.from_numpy(A), "tanh"), 7, 3),
        ("(a*b+a).exp() 2048x2048", lambda L: elementwise(L, L.from_numpy(A), L.from_numpy(B)), 5, 3),
        ("matmul 2048x2048", lambda L: matmul(L, L.from_numpy(A), L.from_numpy(B)), 5, 2),
    ]
    print(f"{'case':42s} {'ember ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    for name, make, rep, num in cases:
        te = best_of(make(ember), rep, num)
        tt = best_of(make(torch), rep, num) if torch else float("nan")
        print(f"{name:42s} {te * 1e3:10.2f} {tt * 1e3:10.2f} {te / tt:7.2f}")


if __name__ == "__main__":
    main()
