"""Convolution and attention: Ember vs PyTorch in one process (run `python benchmarks/bench_conv_attention.py`).

Each case builds the same module in both libraries (weights copied) and times forward + backward:
1. conv2d: batch 32, 3 -> 32 channels, 28x28, 3x3 kernel, padding 1;
2. the lessons' CNN block: Conv2d(1 -> 32, 3x3) + ReLU + MaxPool2d(2) on (64, 1, 28, 28);
3. MultiheadAttention(512, 8 heads, batch_first) self-attention on (32, 50, 512), need_weights=False;
4. LSTM(128 -> 256) over (50, 32, 128).
Prints milliseconds (best of several runs, the two libraries measured alternately) and the ratio ember / torch.
``--device cuda`` runs both on the GPU (Ember through CuPy), synchronising before each clock read.
"""
import argparse
import time

import numpy as np

import ember


def best_of(fn, repeat=5, sync=lambda: None):
    fn()  # warm up
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_of_pair(fa, fb, repeat=5, sync_a=lambda: None, sync_b=lambda: None):
    """Best times of two workloads measured alternately, so a noisy machine slows both alike."""
    ta, tb = [], []
    fa(), sync_a(), fb(), sync_b()     # warm up
    for _ in range(repeat):
        ta.append(best_of(fa, 1, sync_a))
        tb.append(best_of(fb, 1, sync_b))
    return min(ta), min(tb)


def copy_params(dst, src):
    for (n, p), (m, q) in zip(dst.named_parameters(), src.named_parameters()):
        assert n == m
        p._data[...] = q.detach().numpy()      # both still on the CPU here
        p._bump()


def to_device(model, dev):
    (model.mha if isinstance(model, SelfAttention) else model).to(dev)


def fwd_bwd(model, x):
    def run():
        model.zero_grad()
        out = model(x)
        if isinstance(out, tuple):
            out = out[0]
        out.sum().backward()
    return run


class SelfAttention:
    """Wraps MultiheadAttention(x, x, x, need_weights=False) as a one-argument model."""

    def __init__(self, mha):
        self.mha = mha

    def __call__(self, x):
        return self.mha(x, x, x, need_weights=False)[0]

    def zero_grad(self):
        self.mha.zero_grad()

    def named_parameters(self):
        return self.mha.named_parameters()


def cases(lib):
    nn = lib.nn
    return [
        ("conv2d 32x3x28x28 -> 32, k3 p1", lambda: nn.Conv2d(3, 32, 3, padding=1), (32, 3, 28, 28)),
        ("Conv2d(1->32)+ReLU+MaxPool 64x1x28x28",
         lambda: nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2)), (64, 1, 28, 28)),
        ("MHA(512, 8) self-attn 32x50x512",
         lambda: SelfAttention(nn.MultiheadAttention(512, 8, batch_first=True)), (32, 50, 512)),
        ("LSTM(128->256) 50x32x128", lambda: nn.LSTM(128, 256), (50, 32, 128)),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args()
    dev = args.device
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print(f"device: {dev}")
    print(f"{'case (forward + backward)':42s} {'ember ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    ember_cases = cases(ember)
    torch_cases = cases(torch) if torch is not None else [None] * len(ember_cases)
    e_sync = ember.cuda.synchronize if dev == "cuda" else (lambda: None)
    t_sync = torch.cuda.synchronize if (dev == "cuda" and torch is not None) else (lambda: None)
    for (name, make_e, shape), tc in zip(ember_cases, torch_cases):
        x = rng.standard_normal(shape, dtype=np.float32)
        me = make_e()
        if tc is not None:
            mt = tc[1]()
            copy_params(me, mt)
            to_device(mt, dev)
        to_device(me, dev)
        run_e = fwd_bwd(me, ember.from_numpy(x.copy()).to(dev))
        if tc is None:
            te = best_of(run_e, args.repeat, e_sync)
            print(f"{name:42s} {te * 1e3:10.2f} {'-':>10s} {'-':>7s}")
            continue
        run_t = fwd_bwd(mt, torch.from_numpy(x.copy()).to(dev))
        te, tt = best_of_pair(run_e, run_t, args.repeat, e_sync, t_sync)
        print(f"{name:42s} {te * 1e3:10.2f} {tt * 1e3:10.2f} {te / tt:7.2f}")


if __name__ == "__main__":
    main()
