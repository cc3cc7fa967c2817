"""The 8x8 handwritten digits that ship with Ember (no download, no network).

1,797 grey-scale images of the digits 0-9, 8x8 pixels, each pixel a count 0..16 of "on" cells in a
4x4 block of the original 32x32 bitmap: the test part of the UCI *Optical Recognition of
Handwritten Digits* set (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0; see ``data/README.md``).

Layout (torchvision's conventions, as after ``ToTensor``): images are float32 ``(N, 1, 8, 8)``
(channels first) scaled to [0, 1] by dividing by 16; labels are int64 ``(N,)``.

The split is a fixed function of ``seed`` and the fractions, independent of the global generator:
with the defaults (``val_fraction=0.1, test_fraction=0.2, seed=0``) it is 1,258 train, 180 val and
359 test images, the same on every machine.
"""
import functools
import gzip
import os

import numpy as np

import ember

from .vision import VisionDataset

__all__ = ["Digits", "load_digits", "split_indices", "DIGITS_PATH"]

DIGITS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")

SPLITS = ("train", "val", "test", "all")


@functools.lru_cache(maxsize=1)
def _read_digits_csv():
    """Parse the bundled CSV once: 65 integer columns, 64 pixels (row-major) then the label."""
    if not os.path.exists(DIGITS_PATH):
        raise FileNotFoundError(f"The bundled digits file is missing: {DIGITS_PATH} "
                                f"(reinstall ember; the file ships as package data)")
    with gzip.open(DIGITS_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = (table[:, :64] / np.float32(16)).reshape(-1, 1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def split_indices(n, val_fraction=0.1, test_fraction=0.2, seed=0):
    """A deterministic train/val/test split of ``range(n)``: ``{"train", "val", "test"}`` -> sorted
    int64 index arrays that are disjoint and cover ``range(n)``.

    Sizes: ``test = round(n * test_fraction)``, ``val = round(n * val_fraction)``, train the rest.
    The permutation comes from ``numpy.random.default_rng(seed)``, so it never depends on (or
    disturbs) Ember's global generator.
    """
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= frac < 1:
            raise ValueError(f"{name} should be in [0, 1), but got {name}={frac}")
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    if n_test + n_val >= n:
        raise ValueError(f"val_fraction={val_fraction} and test_fraction={test_fraction} leave no "
                         f"training samples out of {n}")
    perm = np.random.default_rng(seed).permutation(n)
    return {"train": np.sort(perm[n_test + n_val:]),
            "val": np.sort(perm[n_test:n_test + n_val]),
            "test": np.sort(perm[:n_test])}


def _digits_arrays(split, val_fraction, test_fraction, seed):
    if split not in SPLITS:
        raise ValueError(f"split should be one of {SPLITS}, but got split={split!r}")
    images, labels = _read_digits_csv()
    if split != "all":
        idx = split_indices(len(labels), val_fraction, test_fraction, seed)[split]
        images, labels = images[idx], labels[idx]
    return np.array(images), np.array(labels)  # fresh, writable copies


def load_digits(split="all", *, val_fraction=0.1, test_fraction=0.2, seed=0):
    """The bundled digits as two tensors: images float32 ``(N, 1, 8, 8)`` in [0, 1], labels int64 ``(N,)``.

    ``split`` is ``"all"`` (1,797 images) or one of ``"train"``, ``"val"``, ``"test"`` of
    :func:`split_indices` ``(1797, val_fraction, test_fraction, seed)``.

    >>> X, y = load_digits("train")
    >>> X.shape, y.shape
    (torch.Size([1258, 1, 8, 8]), torch.Size([1258]))
    """
    images, labels = _digits_arrays(split, val_fraction, test_fraction, seed)
    return ember.from_numpy(images), ember.from_numpy(labels)


class Digits(VisionDataset):
    """The bundled 8x8 digits as a torchvision-style dataset.

    Args:
        root: accepted for torchvision compatibility and ignored (the data ships with Ember).
        train: ``True`` -> the ``"train"`` split, ``False`` -> ``"test"`` (when ``split`` is not given).
        transform: applied to the image. It receives what torchvision would give it -- the
            picture, here an ``(8, 8)`` float32 ndarray in [0, 1] -- so ``ToTensor()`` turns it into
            the ``(1, 8, 8)`` tensor. Without a transform the item *is* that ``(1, 8, 8)`` tensor.
        target_transform: applied to the int label.
        download: accepted and ignored (nothing to download).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"`` (overrides ``train``).
        val_fraction, test_fraction, seed: the split (see :func:`split_indices`).

    Attributes: ``data`` float32 ``(N, 1, 8, 8)``, ``targets`` int64 ``(N,)``, ``classes``.
    """

    classes = [str(i) for i in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False, *, split=None, val_fraction=0.1, test_fraction=0.2, seed=0):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = split if split is not None else ("train" if train else "test")
        self.train = self.split == "train"
        self._images, self._labels = _digits_arrays(self.split, val_fraction, test_fraction, seed)
        self.data = ember.from_numpy(self._images)
        self.targets = ember.from_numpy(self._labels)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        target = int(self._labels[index])
        if self.transform is None:
            img = ember.from_numpy(self._images[index])
        else:
            img = self.transform(self._images[index, 0])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self):
        return f"Split: {self.split.capitalize()}"
