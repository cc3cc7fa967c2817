"""Datasets (``torchvision.datasets``-style): the bundled digits, readers for MNIST/Fashion-MNIST
IDX files, and a character-level text dataset.

* :class:`Digits` / :func:`load_digits` -- 1,797 8x8 handwritten digits shipped inside Ember
  (UCI Optical Recognition of Handwritten Digits, CC BY 4.0), float32 ``(N, 1, 8, 8)`` in [0, 1].
* :class:`MNIST`, :class:`FashionMNIST` -- from the standard IDX files in a folder you give.
* :class:`TextFile` -- ``(x, y)`` windows of character ids for language modelling.
"""
from .digits import DIGITS_PATH, Digits, load_digits, split_indices
from .mnist import MNIST, FashionMNIST, read_idx
from .text import TextFile
from .vision import VisionDataset

__all__ = ["Digits", "load_digits", "split_indices", "DIGITS_PATH", "MNIST", "FashionMNIST",
           "read_idx", "TextFile", "VisionDataset"]
