"""The ``ember`` command: ``ember train`` (the main job) and ``ember run script.py`` (PyTorch programs on Ember).

``ember train`` with no options trains lesson 001's MLP on the bundled 8x8 digits with a train/val/test
split, shows a progress bar per epoch, prints the train loss and validation accuracy of each epoch and
the final test accuracy, and writes into ``--out``:

- ``model.safetensors``: the model's state_dict (PyTorch reads it with ``safetensors.torch.load_file``);
- ``checkpoint.safetensors``: model + optimizer + RNG states + history, for ``--resume``;
- ``config.json``, ``metrics.json`` (per-epoch ``train_loss``, ``val_accuracy``; ``test_accuracy``,
  ``seconds``) and ``training.png`` (loss and accuracy per epoch).
"""
import argparse
import json
import os
import sys
import time

__all__ = ["main", "train"]


class UsageError(Exception):
    """A bad option or a missing file: reported as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    p = _Parser(prog="ember", description="Ember: a small deep learning framework with PyTorch's API.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("train", help="train a model on bundled or local data",
                       description="Train a model (default: lesson 001's MLP on the bundled 8x8 digits).")
    t.add_argument("--model", choices=["mlp", "cnn", "transformer"], default="mlp")
    t.add_argument("--data", nargs="+", default=["digits"], metavar="KIND [PATH]",
                   help="digits | fashion-mnist DIR | mnist DIR | text FILE")
    t.add_argument("--epochs", type=int, default=None, help="default: 20 (digits), 5 (fashion-mnist), 3 (text)")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=None, help="default: 1e-3 (adam/adamw), 0.1 (sgd)")
    t.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--out", default=None, help="output folder (default: runs/<timestamp>)")
    t.add_argument("--resume", default=None, metavar="CKPT", help="continue from a checkpoint.safetensors")
    t.add_argument("--block-size", type=int, default=64, help="context length for --data text")
    t.add_argument("--steps-per-epoch", type=int, default=200, help="batches per epoch for --data text")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    r = sub.add_parser("run", help="run a PyTorch program on Ember (import torch -> ember)", add_help=False)
    r.add_argument("script")
    r.add_argument("args", nargs=argparse.REMAINDER)
    return p


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":  # everything after the script belongs to the script
        if len(argv) < 2:
            print("ember run: error: missing the script to run (ember run script.py [args...])", file=sys.stderr)
            return 2
        from .compat.runner import run_script
        return run_script(argv[1], argv[2:])
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            _parser().print_help()
            return 0
        if args.command == "train":
            train(args)
            return 0
    except UsageError as e:
        print(f"ember: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ember: interrupted", file=sys.stderr)
        return 130
    return 0


# ---------------------------------------------------------------------------------------------------
def _load_data(args):
    """(train, val, test) datasets and a dict describing the data for the model."""
    import ember
    kind = args.data[0]
    path = args.data[1] if len(args.data) > 1 else None
    if kind == "digits":
        if path is not None:
            raise UsageError("--data digits takes no path (the digits ship with ember)")
        from .datasets import load_digits
        from .utils.data import TensorDataset
        splits = [TensorDataset(*load_digits(s, seed=0)) for s in ("train", "val", "test")]
        return splits, dict(image_size=8, in_channels=1, num_classes=10)
    if kind in ("fashion-mnist", "mnist"):
        if path is None:
            raise UsageError(f"--data {kind} needs the folder holding the IDX files: --data {kind} DIR")
        if not os.path.isdir(path):
            raise UsageError(f"no such folder: {path}")
        from .datasets import MNIST, FashionMNIST
        from .utils.data import TensorDataset, random_split
        cls = FashionMNIST if kind == "fashion-mnist" else MNIST
        try:
            full, test = cls(path, train=True), cls(path, train=False)
        except (FileNotFoundError, RuntimeError) as e:
            raise UsageError(str(e).splitlines()[0]) from None

        def tensors(ds):
            x = ember.from_numpy(ds.data.numpy().astype("float32") / 255.0 if hasattr(ds.data, "numpy") else
                                 (ds.data / 255.0).astype("float32"))
            return x.unsqueeze(1), ember.as_tensor(ds.targets).long()
        xtr, ytr = tensors(full)
        n_val = len(ytr) // 12
        g = ember.Generator().manual_seed(0)
        train_ds, val_ds = random_split(TensorDataset(xtr, ytr), [len(ytr) - n_val, n_val], generator=g)
        return [train_ds, val_ds, TensorDataset(*tensors(test))], dict(image_size=28, in_channels=1, num_classes=10)
    if kind == "text":
        if path is None:
            raise UsageError("--data text needs a text file: --data text FILE")
        if not os.path.isfile(path):
            raise UsageError(f"no such file: {path}")
        from .datasets import TextFile
        try:
            tr = TextFile(path, args.block_size, split="train")
            va = TextFile(path, args.block_size, split="val")
        except ValueError as e:
            raise UsageError(str(e)) from None
        return [tr, va, va], dict(vocab_size=tr.vocab_size, block_size=args.block_size)
    raise UsageError(f"unknown --data {kind!r}: choose digits, fashion-mnist DIR, mnist DIR or text FILE")


def _make_optimizer(name, params, lr):
    from . import optim
    if name == "sgd":
        return optim.SGD(params, lr=0.1 if lr is None else lr, momentum=0.9)
    if name == "adamw":
        return optim.AdamW(params, lr=1e-3 if lr is None else lr)
    return optim.Adam(params, lr=1e-3 if lr is None else lr)


def _evaluate(model, loader, text, device):
    """Accuracy (fraction) for classifiers; mean loss for the text model."""
    import ember
    import ember.nn.functional as F
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    with ember.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            if text:
                loss_sum += F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1)).item() * len(y)
            else:
                correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    model.train()
    return (loss_sum / total) if text else correct / max(total, 1)


def train(args):
    """Run the training job described by parsed ``args`` (see ``ember train --help``)."""
    import ember
    import ember.nn.functional as F
    from .models import build_model
    from .utils.data import DataLoader, RandomSampler
    t_start = time.perf_counter()
    if args.device != "cpu" and args.device.startswith("cuda") and not ember.cuda.is_available():
        raise UsageError(f"--device {args.device}: CUDA is not available (needs CuPy and a GPU)")
    try:
        device = ember.device(args.device)
    except RuntimeError as e:
        raise UsageError(str(e)) from None
    if args.resume is not None:
        if os.path.isdir(args.resume):
            args.resume = os.path.join(args.resume, "checkpoint.safetensors")
        if not os.path.isfile(args.resume):
            raise UsageError(f"no such checkpoint: {args.resume}")
    (train_ds, val_ds, test_ds), info = _load_data(args)
    text = "vocab_size" in info
    epochs = args.epochs if args.epochs is not None else (3 if text else 20 if args.data[0] == "digits" else 5)
    if epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be positive")

    ember.manual_seed(args.seed)
    model = build_model(args.model, **info).to(device)
    opt = _make_optimizer(args.optimizer, model.parameters(), args.lr)
    loader_gen = ember.Generator().manual_seed(args.seed)
    if text:
        sampler = RandomSampler(train_ds, replacement=True, num_samples=args.steps_per_epoch * args.batch_size,
                                generator=loader_gen)
        train_loader = DataLoader(train_ds, batch_size=args.batch_size, sampler=sampler)
    else:
        train_loader = DataLoader(train_ds, batch_size=args.batch_size, shuffle=True, generator=loader_gen)
    val_loader = DataLoader(val_ds, batch_size=256)
    test_loader = DataLoader(test_ds, batch_size=256)
    history = {"train_loss": [], "val_accuracy" if not text else "val_loss": []}
    start_epoch = 0
    if args.resume is not None:
        try:
            ck = ember.load(args.resume)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
        except Exception as e:  # a file that is not our checkpoint
            raise UsageError(f"cannot resume from {args.resume}: {str(e).splitlines()[0]}") from None
        start_epoch = int(ck["epoch"])
        history = {k: list(v) for k, v in ck["history"].items()}
        ember.set_rng_state(ck["rng"])
        loader_gen.set_state(ck["loader_rng"])
    out_dir = args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out_dir, exist_ok=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"ember train: {args.model} ({n_params:,} parameters) on {' '.join(args.data)}, {len(train_ds)} train / "
          f"{len(val_ds)} val / {len(test_ds)} test, {epochs} epochs, {args.optimizer}, seed {args.seed}")
    from tqdm import tqdm
    model.train()
    for epoch in range(start_epoch, epochs):
        total, count = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=args.quiet,
                   dynamic_ncols=True)
        for x, y in bar:
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1)) if text else \
                F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            count += len(y)
            bar.set_postfix(loss=f"{total / count:.4f}")
        bar.close()
        history["train_loss"].append(total / count)
        val = _evaluate(model, val_loader, text, device)
        if text:
            history["val_loss"].append(val)
            print(f"epoch {epoch + 1:3d}/{epochs}  train loss {total / count:.4f}  val loss {val:.4f}")
        else:
            history["val_accuracy"].append(val)
            print(f"epoch {epoch + 1:3d}/{epochs}  train loss {total / count:.4f}  val accuracy {val:.4f}")
        _save_checkpoint(out_dir, model, opt, epoch + 1, history, loader_gen, args)
    metrics = dict(history)
    if text:
        metrics["test_loss"] = _evaluate(model, test_loader, text, device)
        sample = _sample_text(model, train_ds, device, args.seed)
        metrics["sample"] = sample
        print(f"val loss {metrics['test_loss']:.4f}\nsample: {sample}")
    else:
        metrics["test_accuracy"] = _evaluate(model, test_loader, text, device)
        print(f"test accuracy {metrics['test_accuracy']:.4f}")
    metrics["seconds"] = round(time.perf_counter() - t_start, 3)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    _plot(history, os.path.join(out_dir, "training.png"))
    print(f"wrote {out_dir}/: model.safetensors, checkpoint.safetensors, config.json, metrics.json, training.png "
          f"({metrics['seconds']:.1f} s)")
    return metrics


def _save_checkpoint(out_dir, model, opt, epoch, history, loader_gen, args):
    import ember
    ember.save(model.state_dict(), os.path.join(out_dir, "model.safetensors"))
    ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "history": history,
                "rng": ember.get_rng_state(), "loader_rng": loader_gen.get_state()},
               os.path.join(out_dir, "checkpoint.safetensors"))
    config = {k: v for k, v in vars(args).items() if k != "command"}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def _sample_text(model, ds, device, seed):
    """One line of text sampled from the trained character model."""
    import ember
    g = ember.Generator().manual_seed(seed)
    model.eval()
    start = ember.tensor([[ds.stoi.get("\n", 0)]], device=device)
    ids = model.generate(start, 80, generator=g)[0, 1:].tolist()
    text = ds.decode(ids)
    return text.split("\n")[0] if text.strip("\n") else text


def _plot(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["train_loss"]) + 1)
    ax[0].plot(epochs, history["train_loss"], marker="o")
    ax[0].set(title="train loss", xlabel="epoch")
    key = "val_accuracy" if "val_accuracy" in history else "val_loss"
    ax[1].plot(epochs, history[key], marker="o", color="tab:green")
    ax[1].set(title=key.replace("_", " "), xlabel="epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
