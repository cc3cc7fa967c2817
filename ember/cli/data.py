"""The data ``ember train --data ...`` trains on: three disjoint parts, train / validation / test.

* ``digits`` (bundled): 1,258 / 180 / 359 images of 8x8 digits;
* ``mnist DIR``, ``fashion-mnist DIR``: the 60,000 training images less 5,000 kept for validation, and
  the 10,000 test images, from the standard IDX files in DIR (``.gz`` or not);
* ``text FILE``: the first 90% of the characters to train on, the next 5% to validate, the last 5% to
  test; validation and test read evenly spaced, non-overlapping windows (at most ``MAX_VAL_WINDOWS`` /
  ``MAX_TEST_WINDOWS``, so evaluating stays quick on a large file).
"""
import os

from .parsing import UsageError

__all__ = ["load_data", "KINDS", "DATA_URLS"]

KINDS = ("digits", "fashion-mnist", "mnist", "text")
DATA_URLS = {"mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
             "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist (data/fashion/*.gz)"}
TEXT_VAL_FRACTION = TEXT_TEST_FRACTION = 0.05
MAX_VAL_WINDOWS, MAX_TEST_WINDOWS = 256, 1024


def check_data_arg(data):
    """``--data KIND [PATH]``: the kind is known and the path is there exactly when the kind needs one."""
    kind, rest = data[0], data[1:]
    if kind not in KINDS:
        raise UsageError(f"unknown --data {kind!r}: choose digits, fashion-mnist DIR, mnist DIR or text FILE")
    if kind == "digits" and rest:
        raise UsageError("--data digits takes no path (the digits ship with ember)")
    if kind != "digits" and not rest:
        what = "a text file: --data text FILE" if kind == "text" else \
            f"the folder holding the IDX files: --data {kind} DIR"
        raise UsageError(f"--data {kind} needs {what}")
    if len(rest) > 1:
        raise UsageError(f"--data {kind} takes one path, got {len(rest)}: {' '.join(rest)}")


def load_data(data, block_size=None):
    """``(train, val, test)`` datasets and the keyword arguments that shape the model for them."""
    check_data_arg(data)
    kind = data[0]
    if kind == "digits":
        from ember.datasets import load_digits
        from ember.utils.data import TensorDataset
        splits = [TensorDataset(*load_digits(s, seed=0)) for s in ("train", "val", "test")]
        return splits, dict(image_size=8, in_channels=1, num_classes=10)
    if kind == "text":
        return _load_text(data[1], block_size)
    return _load_idx(kind, data[1])


def _load_idx(kind, path):
    import ember
    from ember.datasets import MNIST, FashionMNIST
    from ember.utils.data import TensorDataset, random_split
    if not os.path.isdir(path):
        raise UsageError(f"no such folder: {path} (--data {kind} DIR wants the folder holding the IDX files; "
                         f"get them from {DATA_URLS[kind]})")
    cls = FashionMNIST if kind == "fashion-mnist" else MNIST
    try:
        full, test = cls(path, train=True), cls(path, train=False)
    except RuntimeError as e:
        msg = str(e).splitlines()[0]
        if msg.startswith("Dataset not found"):
            msg = msg.split("; get the files from")[0] + f"; get the files from {DATA_URLS[kind]}"
        raise UsageError(msg) from None

    def tensors(ds):  # uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1], as ToTensor() gives
        return (ds.data.float() / 255.0).unsqueeze(1), ds.targets.long()

    x, y = tensors(full)
    n_val = len(y) // 12
    g = ember.Generator().manual_seed(0)
    train_ds, val_ds = random_split(TensorDataset(x, y), [len(y) - n_val, n_val], generator=g)
    side = int(x.shape[-1])
    return [train_ds, val_ds, TensorDataset(*tensors(test))], dict(image_size=side, in_channels=1, num_classes=10)


def _load_text(path, block_size):
    from ember.datasets import TextFile
    from ember.utils.data import Subset
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    kw = dict(val_fraction=TEXT_VAL_FRACTION, test_fraction=TEXT_TEST_FRACTION)
    try:
        parts = [TextFile(path, block_size, split=s, **kw) for s in ("train", "val", "test")]
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a UTF-8 text file") from None
    except ValueError as e:
        raise UsageError(f"{e} (or pass a smaller --block-size)") from None

    def windows(ds, cap):  # evenly spaced, non-overlapping windows
        step = max(block_size, len(ds) // cap)
        return Subset(ds, list(range(0, len(ds), step))[:cap])

    train, val, test = parts
    return ([train, windows(val, MAX_VAL_WINDOWS), windows(test, MAX_TEST_WINDOWS)],
            dict(vocab_size=train.vocab_size, block_size=block_size))
