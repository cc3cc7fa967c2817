"""Training-step speed: lesson 001's MLP and a small Transformer block, Ember vs PyTorch in one process.

Same shapes, same optimizer (Adam), forward + backward + step; prints milliseconds per step and the ratio.
Run: ``python benchmarks/bench_train.py``.
"""
import time

import numpy as np

import ember


def mlp(lib, in_features=64):
    nn = lib.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def block(lib, d=128, heads=4):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.head = nn.Linear(d, 10)

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            x = x + self.ff(self.ln2(x))
            return self.head(x.mean(1))
    return Block()


def step_fn(lib, model, x, y):
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    F = lib.nn.functional

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def per_step(fn, steps):
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def main():
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    cases = [
        ("MLP 64-512-512-10, batch 64", mlp, rng.standard_normal((64, 1, 8, 8)).astype(np.float32), 30),
        ("MLP 784-512-512-10, batch 256", lambda L: mlp(L, 784),
         rng.standard_normal((256, 1, 28, 28)).astype(np.float32), 10),
        ("Transformer block d=128, batch 16x32", block, rng.standard_normal((16, 32, 128)).astype(np.float32), 10),
    ]
    y = rng.integers(0, 10, 256)
    print(f"{'case':40s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, make, x, steps in cases:
        yy = y[:x.shape[0]]
        ember.manual_seed(0)
        te = per_step(step_fn(ember, make(ember), ember.from_numpy(x), ember.from_numpy(yy)), steps)
        if torch is not None:
            torch.manual_seed(0)
            tt = per_step(step_fn(torch, make(torch), torch.from_numpy(x), torch.from_numpy(yy)), steps)
        else:
            tt = float("nan")
        print(f"{name:40s} {te * 1e3:9.2f} {tt * 1e3:9.2f} {te / tt:6.2f}")


if __name__ == "__main__":
    main()
