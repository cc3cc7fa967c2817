"""``ember train``: train a model, show its progress, save what a user wants to keep (see :mod:`.rundir`).

The loop is the ordinary PyTorch one -- ``zero_grad``, ``backward``, ``step`` over a DataLoader --
wrapped in what tools like Keras' ``fit()`` and Lightning's ``Trainer`` add around it:

* settings: every option has a default that depends on the data; ``config.json`` and the checkpoint
  record the values used, so ``--resume`` needs no option repeated (options given override them);
* checkpoints: ``checkpoint.safetensors`` is the last state (written after each epoch, and on Ctrl-C
  in the middle of one), ``model.safetensors`` the best model by validation loss; resuming is bit-exact,
  also from the middle of an epoch: the batch order comes from a generator saved at the epoch's start;
* ``--early-stopping PATIENCE``: stop when the validation loss has not improved for PATIENCE epochs;
* a loss that becomes nan/inf stops the run with advice (a smaller ``--lr``) instead of training on.
"""
import argparse
import json
import math
import os
import shlex
import signal
import sys
import threading
import time

from .data import check_data_arg, load_data
from .parsing import HelpFormatter, UsageError
from .progress import Progress, format_seconds
from .rundir import OUTPUTS, RunDir, now_iso

__all__ = ["add_parser", "train", "Interrupted", "TrainingError"]

DESCRIPTION = """\
Train a small neural network, show its progress, and save the model, its metrics and a plot.

With no options it trains a multi-layer perceptron on the 8x8 handwritten digits that ship with
Ember: a few seconds, about 97% test accuracy. Ctrl-C stops after the current batch and saves a
checkpoint that --resume continues from."""

EPILOG = """\
examples:
  ember train
      an MLP on the bundled digits (a few seconds)
  ember train --model cnn --data fashion-mnist ~/data/fashion-mnist --epochs 5
      a small convolutional network on Fashion-MNIST (the four IDX files in that folder)
  ember train --data text input.txt
      a character-level Transformer that learns to write like input.txt (about a minute);
      samples of its writing go to samples.txt after each epoch
  ember train --resume runs/20261205-101500 --epochs 40
      continue that run (interrupted, or finished at fewer epochs) with its own settings

files written into the run folder (--out):
""" + "\n".join(f"  {name:24s}{what}" for name, what in OUTPUTS.items())

# The settings a run records (config.json, the checkpoint); block_size and steps_per_epoch only for text.
SETTINGS = ("model", "data", "epochs", "batch_size", "lr", "optimizer", "seed", "device", "early_stopping",
            "tensorboard", "block_size", "steps_per_epoch")
TEXT_ONLY = ("block_size", "steps_per_epoch")
DEFAULT_EPOCHS = {"digits": 20, "mnist": 5, "fashion-mnist": 5, "text": 5}
TEXT_DEFAULTS = dict(batch_size=32, block_size=64, steps_per_epoch=60, optimizer="adamw", lr=3e-3)


def add_parser(sub):
    """The ``train`` subcommand's options; every default is spelled out in the help."""
    t = sub.add_parser("train", help="train a model on the bundled digits, MNIST, Fashion-MNIST or a text file",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    t.add_argument("--model", choices=["mlp", "cnn", "transformer"],
                   help="the network: mlp (three fully connected layers), cnn (two convolution layers), "
                        "transformer (attention over the image rows; over characters for --data text). "
                        "Default: mlp; transformer for --data text")
    t.add_argument("--data", nargs="+", metavar=("KIND", "PATH"),
                   help="what to learn from: digits (bundled), mnist DIR, fashion-mnist DIR (folders with "
                        "the four standard IDX files, .gz or not), text FILE (any UTF-8 text). Default: digits")
    t.add_argument("--epochs", type=int, metavar="N",
                   help="passes over the training data. Default: 20 for digits, 5 for mnist and "
                        f"fashion-mnist, {DEFAULT_EPOCHS['text']} for text")
    t.add_argument("--batch-size", type=int, metavar="N",
                   help=f"examples per step. Default: 64; {TEXT_DEFAULTS['batch_size']} for text")
    t.add_argument("--lr", type=float, metavar="LR",
                   help=f"learning rate. Default: 0.001 for adam and adamw ({TEXT_DEFAULTS['lr']:g} for text), "
                        "0.1 for sgd")
    t.add_argument("--optimizer", choices=["adam", "adamw", "sgd"],
                   help="Default: adam; adamw for text (sgd uses momentum 0.9)")
    t.add_argument("--seed", type=int, metavar="S",
                   help="seed of the random numbers; the same seed gives the same numbers. Default: 0")
    t.add_argument("--device", metavar="cpu|cuda", help="where to compute. Default: cpu")
    t.add_argument("--out", metavar="DIR",
                   help="the run folder. Default: runs/<date>-<time>; with --resume, the checkpoint's folder")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (otherwise ember train refuses to)")
    t.add_argument("--resume", metavar="RUN",
                   help="continue the run saved in the folder RUN (or in its checkpoint.safetensors) with "
                        "its settings; options you give override them, e.g. a larger --epochs")
    t.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="stop when the validation loss has not improved for PATIENCE epochs. "
                        "Default: 0 (train all epochs)")
    t.add_argument("--block-size", type=int, metavar="N",
                   help=f"text: characters the model sees at once. Default: {TEXT_DEFAULTS['block_size']}")
    t.add_argument("--steps-per-epoch", type=int, metavar="N",
                   help=f"text: batches per epoch. Default: {TEXT_DEFAULTS['steps_per_epoch']}")
    t.add_argument("--tensorboard", action="store_true", default=None,
                   help="also log the metrics for TensorBoard into RUN/tensorboard (needs the tensorboard extra: "
                        "pip install \"ember[tensorboard]\"); view with: tensorboard --logdir RUN")
    t.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines, only the result")
    t.add_argument("--nproc", type=int, metavar="N", default=1,
                   help="train data-parallel on N processes of this machine (MPI: the distributed extra); each "
                        "takes 1/N of every batch, so the results match one process. Default: 1")
    return t


class Interrupted(Exception):
    """Ctrl-C: a resumable checkpoint was saved (exit code 130)."""


class TrainingError(Exception):
    """The run cannot go on, e.g. the loss became nan (exit code 1)."""


# --------------------------------------------------------------------------------------- settings
def _resolve_settings(args, saved):
    """The run's settings: options given > the checkpoint's ``saved`` settings > defaults for the data."""
    given = {k: getattr(args, k, None) for k in SETTINGS}
    given = {k: v for k, v in given.items() if v is not None}
    s = {**saved, **given}
    s.setdefault("data", ["digits"])
    check_data_arg(s["data"])
    kind = s["data"][0]
    text = kind == "text"
    if kind != "digits" and "data" in given:
        s["data"] = [kind, os.path.abspath(os.path.expanduser(s["data"][1]))]
    if text and s.get("model", "transformer") != "transformer":
        raise UsageError(f"--data text trains a character-level Transformer: use --model transformer "
                         f"(or leave --model out), not --model {s['model']}")
    s.setdefault("model", "transformer" if text else "mlp")
    s.setdefault("epochs", DEFAULT_EPOCHS[kind])
    s.setdefault("batch_size", TEXT_DEFAULTS["batch_size"] if text else 64)
    s.setdefault("optimizer", TEXT_DEFAULTS["optimizer"] if text else "adam")
    s.setdefault("lr", 0.1 if s["optimizer"] == "sgd" else TEXT_DEFAULTS["lr"] if text else 1e-3)
    s.setdefault("seed", 0)
    s.setdefault("device", "cpu")
    s.setdefault("early_stopping", 0)
    s.setdefault("tensorboard", False)
    if text:
        s.setdefault("block_size", TEXT_DEFAULTS["block_size"])
        s.setdefault("steps_per_epoch", TEXT_DEFAULTS["steps_per_epoch"])
    else:
        for k in TEXT_ONLY:
            s.pop(k, None)
    for k in ("epochs", "batch_size", "block_size", "steps_per_epoch"):
        if k in s and s[k] < 1:
            raise UsageError(f"--{k.replace('_', '-')} must be a positive whole number, got {s[k]}")
    if s["early_stopping"] < 0:
        raise UsageError(f"--early-stopping must be 0 (off) or a positive number of epochs, got {s['early_stopping']}")
    if not (math.isfinite(s["lr"]) and s["lr"] > 0):
        raise UsageError(f"--lr must be a positive number, got {s['lr']}")
    return {k: s[k] for k in SETTINGS if k in s}


def _device(name):
    import ember
    try:
        dev = ember.device(name)
    except (RuntimeError, ValueError, TypeError) as e:
        raise UsageError(f"--device {name}: {e}") from None
    if dev.type not in ("cpu", "cuda"):
        raise UsageError(f"--device {name}: ember trains on cpu or cuda")
    if dev.type == "cuda" and not ember.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available (it needs an NVIDIA GPU and CuPy: "
                         f"pip install \"ember[cuda]\")")
    return dev


# ------------------------------------------------------------------------------------- checkpoints
def _read_checkpoint(path):
    """``(checkpoint dict, its path)`` for ``--resume path`` (a run folder or a checkpoint file)."""
    import ember
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.safetensors")
    if not os.path.isfile(path):
        raise UsageError(f"no such checkpoint: {path}")
    try:
        ck = ember.load(path)
    except Exception as e:  # noqa: BLE001 -- any unreadable file: one line saying why
        raise UsageError(f"cannot resume from {path}: {str(e).splitlines()[0]}") from None
    if not (isinstance(ck, dict) and {"model", "optimizer", "epoch"} <= set(ck)):
        raise UsageError(f"cannot resume from {path}: it is not a checkpoint written by ember train "
                         f"(model.safetensors holds only weights; resume from the run folder)")
    return ck, path


def _check_fits(model_name, own, saved, path, saved_settings):
    """Refuse, naming missing/unexpected keys and shape clashes, when ``saved`` weights do not fit."""
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    clashes = [f"{k}: checkpoint {tuple(saved[k].shape)}, model {tuple(own[k].shape)}"
               for k in own if k in saved and tuple(saved[k].shape) != tuple(own[k].shape)]
    if not (missing or unexpected or clashes):
        return
    was = saved_settings.get("model")
    head = f"cannot resume from {path}: its weights do not fit --model {model_name}"
    if was and was != model_name:
        head += f" (the checkpoint holds a {was} model; leave --model out to continue it)"
    lines = [head]
    for what, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape clashes", clashes)):
        if items:
            more = f", ... ({len(items) - 6} more)" if len(items) > 6 else ""
            lines.append(f"  {what}: {', '.join(items[:6])}{more}")
    raise UsageError("\n".join(lines))


def _prepare_out(out, ckpt_path, overwrite):
    """The run folder: created (with a clear error when it cannot be), never silently overwritten."""
    resuming_here = ckpt_path is not None and (out is None or (
        os.path.isdir(out) and os.path.samefile(out, os.path.dirname(os.path.abspath(ckpt_path)))))
    if ckpt_path is not None and out is None:
        out = os.path.dirname(os.path.abspath(ckpt_path)) or "."
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out, n = os.path.join("runs", stamp), 1
        while os.path.exists(out):
            out, n = os.path.join("runs", f"{stamp}-{n}"), n + 1
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a folder")
    run = RunDir(out)
    if not resuming_here and os.path.isdir(out) and run.existing_outputs():
        if not overwrite:
            raise UsageError(f"--out {out} already holds a run ({', '.join(run.existing_outputs())}): choose "
                             f"another --out, continue it with --resume {out}, or replace it with --overwrite")
    try:
        os.makedirs(out, exist_ok=True)
        if not os.access(out, os.W_OK):
            raise PermissionError(13, "Permission denied")
        if overwrite and not resuming_here:
            run.clear()
    except OSError as e:
        raise UsageError(f"cannot write the run folder --out {out}: {e.strerror or e}") from None
    return run, resuming_here


class _StopOnCtrlC:
    """The first Ctrl-C asks the loop to stop after the current batch (and save); a second one stops at once."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


# --------------------------------------------------------------------------------------- the loop
def _make_optimizer(name, params, lr):
    from ember import optim
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    return (optim.AdamW if name == "adamw" else optim.Adam)(params, lr=lr)


def _epoch_batches(dataset, settings, generator, text):
    """This epoch's batches of indices, drawn from ``generator`` (so they can be drawn again on resume)."""
    from ember.utils.data import BatchSampler, RandomSampler
    bs = settings["batch_size"]
    if text:  # random windows of the text, steps_per_epoch batches of them
        sampler = RandomSampler(dataset, replacement=True, num_samples=settings["steps_per_epoch"] * bs,
                                generator=generator)
    else:
        sampler = RandomSampler(dataset, generator=generator)
    return list(BatchSampler(sampler, bs, drop_last=False))


def _evaluate(model, loader, device):
    """Mean cross-entropy and accuracy (per character for text) over ``loader``."""
    import ember
    import ember.nn.functional as F
    model.eval()
    loss_sum, correct, total = 0.0, 0, 0
    with ember.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            out, y = out.reshape(-1, out.shape[-1]), y.reshape(-1)
            loss_sum += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
            total += y.numel()
    model.train()
    return loss_sum / max(total, 1), correct / max(total, 1)


def _sample_text(model, ds, device, seed, length=200):
    """``length`` characters written by the character model, starting after a newline."""
    import ember
    g = ember.Generator().manual_seed(seed)
    model.eval()
    try:
        start = ember.tensor([[ds.stoi.get("\n", 0)]], device=device)
        return ds.decode(model.generate(start, length, generator=g)[0, 1:].tolist())
    finally:
        model.train()


def _launch_data_parallel(args, nproc):
    """``--nproc N``: run this same command as N MPI processes (``mpiexec`` beside this Python)."""
    import subprocess
    import ember.distributed as dist
    if not dist.is_available():
        raise UsageError('--nproc needs MPI: pip install "ember[distributed]"')
    from ember.distributed.run import find_mpiexec
    argv = getattr(args, "argv", None) or sys.argv[1:]
    env = dict(os.environ, EMBER_TRAIN_WORLD=str(nproc))
    code = subprocess.call([find_mpiexec(), "-n", str(nproc), sys.executable, "-m", "ember", *argv], env=env)
    if code:
        raise SystemExit(code)
    return None


class _DataParallel:
    """``ember train --nproc N`` inside one of the N processes: DistributedDataParallel over MPI.

    Every process draws the same batches (same seed) and takes every N-th example of each, so the N
    gradients averaged by DDP are the gradient of the whole batch: the run matches one process with the
    same --batch-size. Validation and test run on every process (they agree); rank 0 writes the files."""

    def __init__(self, dist):
        self.dist = dist
        self.rank, self.world = dist.get_rank(), dist.get_world_size()

    @classmethod
    def start(cls):
        import ember.distributed as dist
        dist.init_process_group("mpi")
        return cls(dist)

    def prepare_out(self, prepare):
        """Rank 0 prepares the run folder; its outcome (folder or error) is shared with the others."""
        outcome, error = [None], None
        if self.rank == 0:
            try:
                run, here = prepare()
                outcome = [("ok", run.path, here)]
            except UsageError as e:
                error, outcome = e, [("error", str(e), False)]
        self.dist.broadcast_object_list(outcome, src=0)
        kind, value, here = outcome[0]
        if kind == "error":
            if error is not None:
                raise error
            raise SystemExit(2)  # rank 0 reports it
        return (run if self.rank == 0 else _NoFiles(value)), here

    def wrap(self, model):
        from ember.nn.parallel import DistributedDataParallel
        return DistributedDataParallel(model)

    def sum(self, *values):
        import ember
        t = ember.tensor([float(v) for v in values], dtype=ember.float64)
        self.dist.all_reduce(t)
        return tuple(t.tolist())


class _NoFiles:
    """The run folder as seen by ranks other than 0: every write is skipped."""

    def __init__(self, path):
        self.path, self.written = path, []

    def file(self, name):
        return os.path.join(self.path, name)

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _model_summary(model, ds, device):
    """The model's torchinfo-style summary (ember.viz.summary) on one training example. It runs in eval
    mode with the random state restored, so printing it changes nothing in the training that follows."""
    import ember
    from ember.viz import summary
    x = ds[0][0].unsqueeze(0).to(device)
    was_training = model.training
    model.eval()
    try:
        with ember.random.fork_rng():
            return str(summary(model, input_data=x, verbose=0, depth=2))
    finally:
        model.train(was_training)


FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def _test_errors(model, ds, device, num_classes, data_name, keep=24):
    """For the report: the test set's confusion matrix (rows: true class) and the first ``keep``
    misclassified images with their true and predicted classes."""
    import numpy as np

    import ember
    from ember.utils.data import DataLoader
    preds, targets = [], []
    model.eval()
    with ember.no_grad():
        for x, y in DataLoader(ds, batch_size=256):
            preds.append(model(x.to(device)).argmax(1).cpu().numpy())
            targets.append(y.cpu().numpy())
    model.train()
    p, t = np.concatenate(preds), np.concatenate(targets)
    confusion = np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, -1)
    wrong = np.flatnonzero(p != t)[:keep]
    images = [(ds[int(i)][0].cpu().numpy(), int(t[i]), int(p[i])) for i in wrong]
    names = FASHION_CLASSES if data_name.startswith("fashion-mnist") else None
    return dict(confusion=confusion, misclassified=images, class_names=names)


def _clone_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train(args):
    """Run the training job described by parsed ``args`` (see ``ember train --help``); return its metrics,
    or ``None`` when there was nothing left to train."""
    import ember
    import ember.nn.functional as F
    from ember.models import build_model
    from ember.utils.data import DataLoader
    nproc = getattr(args, "nproc", 1) or 1
    if nproc < 1:
        raise UsageError(f"--nproc must be at least 1, got {nproc}")
    if nproc > 1 and "EMBER_TRAIN_WORLD" not in os.environ:
        return _launch_data_parallel(args, nproc)
    dp = _DataParallel.start() if "EMBER_TRAIN_WORLD" in os.environ else None
    t_start, started = time.perf_counter(), now_iso()
    ck = ck_path = None
    saved = {}
    if getattr(args, "resume", None):
        ck, ck_path = _read_checkpoint(args.resume)
        saved = json.loads(ck["settings"]) if isinstance(ck.get("settings"), str) else {}
    s = _resolve_settings(args, saved)
    device = _device(s["device"])
    (train_ds, val_ds, test_ds), info = load_data(s["data"], s.get("block_size"))
    text = "vocab_size" in info
    data_name = s["data"][0] + ("" if len(s["data"]) == 1 else f" {os.path.basename(s['data'][1])}")

    ember.manual_seed(s["seed"])
    model = build_model(s["model"], **info).to(device)
    opt = _make_optimizer(s["optimizer"], model.parameters(), s["lr"])
    loader_gen = ember.Generator().manual_seed(s["seed"])
    history = {"train_loss": [], "val_loss": [], "val_accuracy": [], "lr": [], "epoch_seconds": []}
    start_epoch = first_step = 0
    partial = {"loss_sum": 0.0, "count": 0, "seconds": 0.0}
    best = {"epoch": 0, "val_loss": math.inf}
    best_state = None
    if ck is not None:
        _check_fits(s["model"], model.state_dict(), ck["model"], ck_path, saved)
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise UsageError(f"cannot resume from {ck_path}: {str(e).splitlines()[0]}") from None
        if getattr(args, "lr", None) is not None:  # a new learning rate asked for explicitly
            for group in opt.param_groups:
                group["lr"] = s["lr"]
        start_epoch, first_step = int(ck["epoch"]), int(ck.get("step", 0))
        history.update({k: list(v) for k, v in ck["history"].items() if k in history})
        for k in history:  # a checkpoint from an older Ember may lack a column: nan for its epochs
            history[k] += [math.nan] * (start_epoch - len(history[k]))
        partial.update(ck.get("partial", {}))
        best.update(ck.get("best", {}))
        best_state = ck.get("best_model")
        ember.set_rng_state(ck["rng"])
        loader_gen.set_state(ck["loader_rng"])
    epochs, patience = s["epochs"], s["early_stopping"]
    if first_step == 0 and start_epoch >= epochs:
        print(f"nothing to train: {ck_path} already holds {start_epoch} epochs and --epochs is {epochs}; "
              f"pass a larger --epochs to train further. No files were written.")
        return None
    if first_step == 0 and patience and best["epoch"] and start_epoch - best["epoch"] >= patience:
        print(f"nothing to train: the run stopped early at epoch {start_epoch} (no better validation loss "
              f"since epoch {best['epoch']}, patience {patience}); pass a larger --early-stopping or 0 to "
              f"train further. No files were written.")
        return None

    if s["tensorboard"]:
        try:
            import ember.utils.tensorboard  # noqa: F401 -- fails without tensorboardX
        except ImportError:
            raise UsageError('--tensorboard needs tensorboardX: pip install "ember[tensorboard]"') from None
    if dp is None:
        run, resuming_here = _prepare_out(getattr(args, "out", None), ck_path, getattr(args, "overwrite", False))
    else:  # rank 0 makes the folder and writes everything; the others only train
        run, resuming_here = dp.prepare_out(lambda: _prepare_out(getattr(args, "out", None), ck_path,
                                                                 getattr(args, "overwrite", False)))
    argv = getattr(args, "argv", None)
    argv = sys.argv[1:] if argv is None else argv
    n_params = sum(p.numel() for p in model.parameters())
    config = {**s, "out": run.path, "ember_version": ember.__version__, "started": started,
              "command": "ember " + shlex.join(argv), "parameters": n_params,
              "train_examples": len(train_ds), "val_examples": len(val_ds), "test_examples": len(test_ds)}
    if dp is not None:
        config["processes"] = dp.world
    if ck_path is not None:
        config["resumed_from"] = os.path.abspath(ck_path)
        config["resumed_at_epoch"] = start_epoch
    run.write_config(config)
    rows = [dict(epoch=i + 1, seconds=history["epoch_seconds"][i], **{k: history[k][i] for k in history})
            for i in range(len(history["train_loss"]))]
    run.start_metrics(rows)
    if best_state is not None and not resuming_here:
        run.save_model(best_state)

    summary_text = _model_summary(model, train_ds, device)
    steps = s["steps_per_epoch"] if text else math.ceil(len(train_ds) / s["batch_size"])
    progress = Progress(epochs * steps, start_epoch * steps + first_step,
                        quiet=getattr(args, "quiet", False) or (dp is not None and dp.rank != 0))
    net = model if dp is None else dp.wrap(model)
    what = "windows of text" if text else "examples"
    progress.print(f"ember train: {s['model']} ({n_params:,} parameters) on {data_name}: {len(train_ds):,} train / "
                   f"{len(val_ds):,} val / {len(test_ds):,} test {what}; {epochs} epochs of {steps} batches of "
                   f"{s['batch_size']}, {s['optimizer']} lr {s['lr']:g}, seed {s['seed']} -> {run.path}/")
    progress.print(summary_text)
    if ck_path is not None:
        at = f"epoch {start_epoch + 1}, batch {first_step + 1}" if first_step else f"epoch {start_epoch + 1}"
        progress.print(f"resuming {ck_path} at {at}")

    def checkpoint(epoch_done, step, loss_sum, count, seconds, epoch_rng):
        run.save_checkpoint({
            "model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch_done, "step": step,
            "partial": {"loss_sum": loss_sum, "count": count, "seconds": seconds}, "history": history,
            "best": best, "best_model": best_state, "rng": ember.get_rng_state(), "loader_rng": epoch_rng,
            "settings": json.dumps(s), "ember_version": ember.__version__})

    # TensorBoard: one point per epoch; a resumed run drops points after its checkpoint (purge_step)
    tb = run.tensorboard_writer(purge_step=start_epoch + 1 if start_epoch else None) if s["tensorboard"] else None
    stopped_early = False
    samples = []
    val_loader = DataLoader(val_ds, batch_size=256)
    model.train()
    try:
        with _StopOnCtrlC() as stop:
            for epoch in range(start_epoch, epochs):
                t_epoch = time.perf_counter()
                epoch_rng = loader_gen.get_state()
                batches = _epoch_batches(train_ds, s, loader_gen, text)
                loss_sum, count, seconds_before = partial["loss_sum"], partial["count"], partial["seconds"]
                partial = {"loss_sum": 0.0, "count": 0, "seconds": 0.0}
                progress.start_epoch(epoch + 1, epochs, len(batches), first_step)
                mine = batches[first_step:] if dp is None else [b[dp.rank::dp.world] for b in batches[first_step:]]
                loader = DataLoader(train_ds, batch_sampler=mine)
                for i, (x, y) in enumerate(loader, start=first_step):
                    x, y = x.to(device), y.to(device)
                    out = net(x)
                    loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    value = loss.item()
                    if not math.isfinite(value):
                        progress.close()
                        saved_at = (f"the last good epoch ({epoch}) is in {run.file('checkpoint.safetensors')}"
                                    if epoch else "no checkpoint was saved")
                        raise TrainingError(f"training diverged: the loss became {value} in epoch {epoch + 1}, "
                                            f"batch {i + 1}; try a smaller --lr than {s['lr']:g} ({saved_at})")
                    loss_sum += value * y.numel()
                    count += y.numel()
                    progress.step(loss_sum / count)
                    if stop.requested and i + 1 < len(batches):
                        checkpoint(epoch, i + 1, loss_sum, count,
                                   seconds_before + time.perf_counter() - t_epoch, epoch_rng)
                        raise Interrupted(f"epoch {epoch + 1}, batch {i + 1} of {len(batches)}")
                first_step = 0
                if dp is not None:  # the epoch's loss over every process's share of the batches
                    loss_sum, count = dp.sum(loss_sum, count)
                val_loss, val_acc = _evaluate(model, val_loader, device)
                seconds = seconds_before + time.perf_counter() - t_epoch
                row = dict(epoch=epoch + 1, train_loss=loss_sum / count, val_loss=val_loss, val_accuracy=val_acc,
                           lr=opt.param_groups[0]["lr"], seconds=round(seconds, 3))
                for k in history:
                    history[k].append(row["seconds" if k == "epoch_seconds" else k])
                run.append_metrics(row)
                if tb is not None:
                    for tag, key in (("loss/train", "train_loss"), ("loss/val", "val_loss"),
                                     ("accuracy/val", "val_accuracy"), ("lr", "lr")):
                        tb.add_scalar(tag, row[key], epoch + 1)
                    tb.flush()
                mark = ""
                if val_loss < best["val_loss"]:
                    best = {"epoch": epoch + 1, "val_loss": val_loss}
                    best_state = _clone_state(model)
                    run.save_model(best_state)
                    mark = "  (best)"
                checkpoint(epoch + 1, 0, 0.0, 0, 0.0, loader_gen.get_state())
                if text:
                    samples.append((epoch + 1, _sample_text(model, train_ds, device, s["seed"] + epoch)))
                    run.append_sample(*samples[-1])
                progress.end_epoch(f"epoch {epoch + 1:3d}/{epochs}  train loss {row['train_loss']:.4f}  "
                                   f"val loss {val_loss:.4f}  val accuracy {val_acc:.4f}  "
                                   f"{format_seconds(seconds)}{mark}",
                                   {"val_loss": f"{val_loss:.4f}", "val_acc": f"{val_acc:.4f}"})
                if stop.requested and epoch + 1 < epochs:
                    raise Interrupted(f"the end of epoch {epoch + 1}")
                if patience and epoch + 1 - best["epoch"] >= patience and epoch + 1 < epochs:
                    progress.print(f"early stopping: no better validation loss for {patience} epoch{'s' * (patience != 1)} "
                                   f"(best: epoch {best['epoch']})")
                    stopped_early = True
                    break
    except Interrupted as e:
        progress.close()
        raise Interrupted(f"interrupted at {e}: saved {run.file('checkpoint.safetensors')}\n"
                          f"resume with: ember train --resume {shlex.quote(run.path)}") from None
    finally:
        progress.close()
        if tb is not None:
            tb.close()

    # the test numbers are those of the best model, the one in model.safetensors
    if best_state is not None:
        model.load_state_dict(best_state)
    test_loss, test_acc = _evaluate(model, DataLoader(test_ds, batch_size=256), device)
    metrics = {**{k: v for k, v in history.items()}, "best_epoch": best["epoch"], "test_loss": test_loss,
               "test_accuracy": test_acc, "stopped_early": stopped_early}
    if text:
        metrics["sample"] = _sample_text(model, train_ds, device, s["seed"])
    metrics["seconds"] = round(time.perf_counter() - t_start, 3)
    run.write_summary(metrics)
    if tb is not None:
        tb.add_scalar("accuracy/test", test_acc, len(history["train_loss"]))
        tb.add_scalar("loss/test", test_loss, len(history["train_loss"]))
        tb.close()
    title = f"{s['model']} on {data_name}: test accuracy {100 * test_acc:.1f}%"
    run.plot(history, title, best["epoch"])
    report = dict(title=title, command=config["command"], config=config, summary=summary_text,
                  history=[dict(epoch=i + 1, **{k: history[k][i] for k in ("train_loss", "val_loss", "val_accuracy",
                                                                         "lr", "epoch_seconds")})
                           for i in range(len(history["train_loss"]))],
                  test_accuracy=test_acc, samples=samples)
    if not text:
        report.update(_test_errors(model, test_ds, device, info.get("num_classes", 10), data_name))
    run.write_report(**report)
    if dp is not None and dp.rank != 0:
        return metrics
    print(f"test accuracy {test_acc:.4f}  test loss {test_loss:.4f}  (model of epoch {best['epoch']}, "
          f"the best by validation loss)")
    if text:
        print("sample:\n" + metrics["sample"])
    print(f"wrote {run.path}/: {', '.join(run.written)} ({format_seconds(metrics['seconds'])})")
    return metrics
