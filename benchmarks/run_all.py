"""Ember vs PyTorch on the workloads people train on a CPU: one table, one ratio per row.

Run: ``python -m benchmarks`` (or ``python benchmarks/run_all.py``) from the repository root.
Options: ``--only NAME`` (substring of a row), ``--runs N`` (timed runs per row, default 7),
``--memory`` (also peak memory per train step, each library in a fresh process), ``--threads N``,
``--profile`` (under each row that misses its target, the ops that cost most, from each library's profiler;
``--profile all`` under every row).

Each row builds the same model in both libraries (same shapes, same optimizer), warms both up, then
times them in blocks ordered Ember, torch, torch, Ember -- so machine noise hits both alike -- and reports
the median of each library's timed runs. The ratio is Ember's time / torch's: below 1.0 Ember is faster. For per-core
figures pin both: ``taskset -c 1 env OMP_NUM_THREADS=1 python -m benchmarks --threads 1``.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

TARGETS = {}  # row name -> target ratio (from the performance issue)


# --- the workloads: each returns a closure running one step in ``lib`` (ember or torch) ----------------
def _train_step(lib, model, make_batch, opt="adam", lr=1e-3, loss="ce"):
    params = list(model.parameters())
    optim = {"adam": lambda: lib.optim.Adam(params, lr=lr), "adamw": lambda: lib.optim.AdamW(params, lr=lr),
             "sgd": lambda: lib.optim.SGD(params, lr=lr, momentum=0.9)}[opt]()
    F = lib.nn.functional
    x, y = make_batch(lib)

    def step():
        out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        if loss == "ce":
            l = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        else:
            l = out.pow(2).mean()
        optim.zero_grad()
        l.backward()
        optim.step()
    return step


def _data(lib, shape, classes=None, seed=0, dtype="float"):
    rng = np.random.default_rng(seed)
    if dtype == "long":
        return lib.from_numpy(rng.integers(0, classes, shape).astype(np.int64))
    return lib.from_numpy(rng.standard_normal(shape).astype(np.float32))


def mlp(batch):
    def build(lib):
        nn = lib.nn
        model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10))
        return _train_step(lib, model, lambda L: (_data(L, (batch, 1, 28, 28)), _data(L, (batch,), 10, 1, "long")),
                           opt="sgd")
    return build


def transformer_block(lib):
    nn = lib.nn

    class Block(nn.Module):  # lesson 003's pre-LN block, d_model=512
        def __init__(self, d=512, heads=8, ff=2048):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, heads, dropout=0.1, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Dropout(0.1), nn.Linear(ff, d))
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.drop(self.attn(h, h, h, need_weights=False)[0])
            return x + self.drop(self.ff(self.ln2(x)))
    return _train_step(lib, Block(), lambda L: (_data(L, (8, 64, 512)), None), loss="mse")


def small_cnn(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(32 * 7 * 7, 10))
    return _train_step(lib, model, lambda L: (_data(L, (64, 1, 28, 28)), _data(L, (64,), 10, 1, "long")))


def resnet18(lib):
    nn = lib.nn

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = nn.Sequential()
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = nn.functional.relu(self.b1(self.c1(x)))
            return nn.functional.relu(self.b2(self.c2(out)) + self.short(x))

    class ResNet18(nn.Module):  # the CIFAR variant: 3x3 stem, no max-pool
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
            layers, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers += [Basic(cin, cout, stride), Basic(cout, cout, 1)]
                cin = cout
            self.layers = nn.Sequential(*layers)
            self.head = nn.Linear(512, 10)

        def forward(self, x):
            x = self.layers(self.stem(x))
            return self.head(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))
    return _train_step(lib, ResNet18(), lambda L: (_data(L, (32, 3, 32, 32)), _data(L, (32,), 10, 1, "long")),
                       opt="sgd", lr=0.01)


def recurrent(kind):
    def build(lib):
        nn = lib.nn

        class LM(nn.Module):
            def __init__(self, vocab=1000, hidden=256):
                super().__init__()
                self.emb = nn.Embedding(vocab, hidden)
                self.rnn = getattr(nn, kind)(hidden, hidden, num_layers=2)
                self.out = nn.Linear(hidden, vocab)

            def forward(self, x):
                return self.out(self.rnn(self.emb(x))[0])
        return _train_step(lib, LM(), lambda L: (_data(L, (35, 20), 1000, 0, "long"), _data(L, (35, 20), 1000, 1, "long")),
                           opt="sgd", lr=0.1)
    return build


def char_gpt(lib):
    nn = lib.nn
    F = nn.functional
    n_embd, heads, block, vocab = 128, 4, 64, 65

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=False)
            self.proj = nn.Linear(n_embd, n_embd)
            self.register_buffer("tril", lib.tril(lib.ones(block, block)))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.qkv(x).split(n_embd, dim=2)
            q, k, v = (t.view(B, T, heads, C // heads).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (C // heads) ** -0.5
            att = att.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            return self.proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))

    class BlockG(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
            self.sa = Head()
            self.ff = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ff(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, n_embd)
            self.pos = nn.Embedding(block, n_embd)
            self.blocks = nn.Sequential(BlockG(), BlockG())
            self.ln = nn.LayerNorm(n_embd)
            self.head = nn.Linear(n_embd, vocab)

        def forward(self, idx):
            T = idx.shape[1]
            x = self.tok(idx) + self.pos(lib.arange(T))
            return self.head(self.ln(self.blocks(x)))
    return _train_step(lib, GPT(), lambda L: (_data(L, (16, block), vocab, 0, "long"),
                                              _data(L, (16, block), vocab, 1, "long")), opt="adamw", lr=3e-4)


def primitive(name):
    def build(lib):
        F = lib.nn.functional
        x = _data(lib, (4096, 1024)).requires_grad_()
        g = _data(lib, (4096, 1024), seed=2)
        t = _data(lib, (4096,), 1024, 3, "long")
        w, b = lib.ones(1024, requires_grad=True), lib.zeros(1024, requires_grad=True)
        fns = {"softmax": lambda: F.softmax(x, dim=-1), "log_softmax": lambda: F.log_softmax(x, dim=-1),
               "cross_entropy": lambda: F.cross_entropy(x, t), "layer_norm": lambda: F.layer_norm(x, (1024,), w, b),
               "gelu (erf)": lambda: F.gelu(x), "gelu (tanh)": lambda: F.gelu(x, approximate="tanh"),
               "dropout": lambda: F.dropout(x, 0.1, training=True)}
        f = fns[name]

        def run():
            x.grad = None
            out = f()
            if out.dim() == 0:
                out.backward()
            else:
                out.backward(g)
        return run
    return build


def per_op_overhead(lib):
    x = lib.ones(4, 4, requires_grad=True)

    def run():
        y = x
        for _ in range(1000):
            y = y * 1.0001 + 0.0001
        y.sum().backward()
        x.grad = None
    return run


ROWS = [
    ("lesson-001 MLP step, batch 64", mlp(64), 1.0),
    ("lesson-001 MLP step, batch 512", mlp(512), 1.0),
    ("lesson-003 Transformer block step (Adam)", transformer_block, 1.25),
    ("small CNN step, batch 64", small_cnn, 1.0),
    ("ResNet-18 CIFAR step, batch 32", resnet18, 1.5),
    ("LSTM 2x256, seq 35, batch 20 step", recurrent("LSTM"), 1.5),
    ("GRU 2x256, seq 35, batch 20 step", recurrent("GRU"), 1.5),
    ("char-level GPT step (AdamW)", char_gpt, 1.25),
] + [(f"{n} fwd+bwd (4096, 1024)", primitive(n), 1.5) for n in
     ("softmax", "log_softmax", "cross_entropy", "layer_norm", "gelu (erf)", "gelu (tanh)", "dropout")] + [
    ("per-op overhead (1000 small ops + backward)", per_op_overhead, 1.0),
]


def time_row(build, runs, torch):
    import ember
    ember.manual_seed(0)
    fe = build(ember)
    ft = None
    if torch is not None:
        torch.manual_seed(0)
        ft = build(torch)
    for _ in range(2):  # warm-up: allocators, torch's first-call dispatch
        fe()
        if ft is not None:
            ft()
    # Blocks in the order Ember, torch, torch, Ember (each half the runs), so both libraries see the
    # machine's slow and quiet spells alike; each block starts after a pause and one untimed step, so each
    # library is timed in its steady state, as in a training loop. Run-by-run alternation measured
    # something else: torch's OpenMP workers keep spinning on the cores for a while after torch's last op
    # (softmax fwd+bwd: Ember 6.2 ms right after torch, 3.9 ms with OMP_WAIT_POLICY=PASSIVE, 3.6 ms alone),
    # and torch's own steps ran slower after Ember's (small CNN: 15 ms vs 7.6 ms back to back).
    # A block warms up for a quarter of a second (a core that idled through the pause runs the first
    # milliseconds slowly: a 3 ms softmax step measured 7 ms right after it), and fast rows time more
    # runs, so that each block spans at least a quarter of a second too.
    te, tt = [], []
    half = -(-runs // 2)
    for fn, times in ((fe, te), (ft, tt), (ft, tt), (fe, te)):
        if fn is None:
            continue
        time.sleep(0.3)
        t_end, n_warm = time.perf_counter() + 0.25, 0
        while n_warm == 0 or time.perf_counter() < t_end:
            t0 = time.perf_counter()
            fn()
            step, n_warm = time.perf_counter() - t0, n_warm + 1
        for _ in range(max(half, min(50, int(0.25 / max(step, 1e-6))))):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(te), (statistics.median(tt) if tt else float("nan"))


_MEMORY_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from benchmarks.run_all import ROWS
lib = __import__({lib!r})
build = dict((n, b) for n, b, _ in ROWS)[{row!r}]
fn = build(lib)
fn()  # warm-up: one-time costs (lazy imports such as Numba's ~100 MB, compiled kernels, torch's first calls)
try:  # hand the heap's free memory back, so it neither hides nor inflates what the timed steps need
    import ctypes
    ctypes.CDLL(None).malloc_trim(0)
except (OSError, AttributeError):
    pass

def status(key):  # kB, from /proc/self/status
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key + ":"))

try:  # reset the high-water mark to the current RSS (ru_maxrss would include the parent's peak: it survives exec)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before, peak = status("VmRSS"), lambda: status("VmHWM")
except OSError:
    before, peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, \
        lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for _ in range(3):
    fn()
print((peak() - before) / 1024)
"""


def peak_memory_mb(row, lib):
    """Growth of the peak RSS (VmHWM) over three steps, after building the model and one warm-up step, in a
    fresh process (MB)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = _MEMORY_CHILD.format(root=root, lib=lib, row=row)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    return float(out.stdout.strip()) if out.returncode == 0 else float("nan")


def ember_train_wall_time():
    t0 = time.perf_counter()
    import tempfile
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run([sys.executable, "-m", "ember", "train", "--model", "transformer", "--quiet", "--out",
                            os.path.join(out, "run")], capture_output=True, text=True, timeout=900)
    return time.perf_counter() - t0 if p.returncode == 0 else float("nan")


def top_costs(lib, build, steps=5, top=6):
    """The ops and backward nodes that take most of a step, as each library's own profiler (``torch.profiler``
    or ``ember.profiler``, one API) reports them: [(name, self CPU ms per step)], biggest first."""
    import importlib
    profiler = importlib.import_module(lib.__name__ + ".profiler")
    fn = build(lib)
    for _ in range(2):
        fn()
    with profiler.profile() as prof:
        for _ in range(steps):
            fn()
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [(e.key, e.self_cpu_time_total / steps / 1e3) for e in rows]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Ember vs PyTorch: training steps and primitives")
    ap.add_argument("--only", default=None, help="run rows whose name contains this text")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--memory", action="store_true", help="also peak memory per step (fresh processes)")
    ap.add_argument("--threads", type=int, default=None, help="threads for both libraries")
    ap.add_argument("--skip-train", action="store_true", help="skip the `ember train --model transformer` row")
    ap.add_argument("--profile", nargs="?", const="miss", choices=["miss", "all"], default=None,
                    help="under each row that misses its target (or every row: --profile all), the top self-time "
                         "ops of a step in each library, from its profiler")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    import ember
    if args.threads is not None:
        ember.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    print(f"ember {ember.__version__}, torch {torch.__version__ if torch else '(not installed)'}, "
          f"threads: ember {ember.get_num_threads()}, torch {torch.get_num_threads() if torch else '-'}; "
          f"median of at least {2 * -(-args.runs // 2)} runs")
    head = f"{'workload':48s} {'ember ms':>10s} {'torch ms':>10s} {'ratio':>7s} {'target':>7s}"
    if args.memory:
        head += f" {'ember MB':>9s} {'torch MB':>9s} {'mem ratio':>9s}"
    print(head)
    for name, build, target in ROWS:
        if args.only and args.only not in name:
            continue
        te, tt = time_row(build, args.runs, torch)
        ratio = te / tt
        mark = "ok" if ratio <= target else "MISS"
        line = f"{name:48s} {te * 1e3:10.2f} {tt * 1e3:10.2f} {ratio:6.2f}x {target:5.2f}x {mark}"
        if args.memory:
            me, mt = peak_memory_mb(name, "ember"), (peak_memory_mb(name, "torch") if torch else float("nan"))
            line += f" {me:9.1f} {mt:9.1f} {me / mt if mt else float('nan'):8.2f}x"
        print(line, flush=True)
        if args.profile == "all" or (args.profile == "miss" and mark == "MISS"):
            for lib in (ember, torch) if torch is not None else (ember,):
                costs = ", ".join(f"{n} {ms:.2f}" for n, ms in top_costs(lib, build))
                print(f"    {lib.__name__:5s} top self CPU ms/step: {costs}", flush=True)
    if not args.skip_train and (args.only is None or "ember train" in args.only):
        wall = ember_train_wall_time()
        print(f"{'`ember train --model transformer` (digits), s':48s} {wall:10.1f} {'-':>10s} {'':7s} {'<=20 s':>7s} "
              f"{'ok' if wall <= 20 else 'MISS'}")


if __name__ == "__main__":
    main()
