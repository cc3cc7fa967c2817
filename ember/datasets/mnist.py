"""MNIST and Fashion-MNIST from the standard IDX files you bring (``torchvision.datasets.MNIST``).

Ember never downloads. Put the four files (``.gz`` or not) in ``root``, or where torchvision keeps
them, ``root/MNIST/raw/`` (``root/FashionMNIST/raw/``)::

    train-images-idx3-ubyte[.gz]   train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]    t10k-labels-idx1-ubyte[.gz]

An item is ``(image, label)``: the image is the ``(28, 28)`` uint8 ndarray (the picture that
torchvision would hand over as a PIL image), so ``transforms.ToTensor()`` makes it a float32
``(1, 28, 28)`` tensor in [0, 1]; the label is an int.

The IDX format: 2 zero bytes, a type code byte, the number of dimensions, each dimension as a
big-endian int32, then the values (big-endian), row-major.
"""
import gzip
import math
import os

import numpy as np

import ember

from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "read_idx"]

_IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path):
    """Read one IDX file (gzip-compressed or not) into a native-endian ndarray.

    A truncated or malformed file raises ``RuntimeError`` naming the file and what is wrong.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise RuntimeError(f"{path}: corrupt gzip data ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise RuntimeError(f"{path}: not an IDX file (it should start with two zero bytes, a type "
                           f"code and the number of dimensions)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise RuntimeError(f"{path}: unknown IDX type code 0x{code:02X} (expected one of "
                           f"{', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # exact Python ints: no overflow on hostile dims
    if len(raw) - header != expected:
        raise RuntimeError(f"{path}: IDX data has {len(raw) - header} bytes, but shape {shape} of "
                           f"{dtype.name} needs {expected} (truncated or corrupt file)")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, writable copy


class MNIST(VisionDataset):
    """MNIST handwritten digits (60,000 train / 10,000 test, 28x28) read from IDX files in ``root``.

    Args:
        root: the folder with the IDX files (also searched: ``root/<ClassName>/raw``,
            ``root/<ClassName>``).
        train: the training files (``train-*``) if True, else the test files (``t10k-*``).
        transform: applied to the ``(28, 28)`` uint8 ndarray, e.g. ``transforms.ToTensor()``.
        target_transform: applied to the int label.
        download: Ember has no network download; with ``download=True`` and the files present it
            just reads them (as torchvision does), with the files missing it says where to put them.

    Attributes: ``data`` uint8 ``(N, 28, 28)``, ``targets`` int64 ``(N,)``, ``classes``.
    """

    resources_url = "https://ossci-datasets.s3.amazonaws.com/mnist/"
    training_file_names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    test_file_names = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        names = self.training_file_names if train else self.test_file_names
        paths = self._find_files(names)
        if paths is None:
            raise RuntimeError(self._not_found_message(names, download))
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(f"{paths[0]} and {paths[1]} do not match: images of shape "
                               f"{images.shape} (expected (N, H, W)) and labels of shape "
                               f"{labels.shape} (expected (N,))")
        self._images = images.astype(np.uint8, copy=False)
        self._labels = labels.astype(np.int64)
        self.data = ember.from_numpy(self._images)
        self.targets = ember.from_numpy(self._labels)

    # where to look, in order: root itself, torchvision's layout, root/<ClassName>
    def _search_dirs(self):
        name = self.__class__.__name__
        return [self.root, os.path.join(self.root, name, "raw"), os.path.join(self.root, name)]

    @property
    def raw_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "raw")

    def _find_files(self, names):
        for d in self._search_dirs():
            found = []
            for n in names:
                for candidate in (os.path.join(d, n), os.path.join(d, n + ".gz")):
                    if os.path.isfile(candidate):
                        found.append(candidate)
                        break
            if len(found) == len(names):
                return found
        return None

    def _not_found_message(self, names, download):
        """Which files are missing (from the folder that has the most of them), where we looked, and
        where to get them."""
        dirs = self._search_dirs()

        def present(d):
            return [n for n in names if any(os.path.isfile(os.path.join(d, n + ext)) for ext in ("", ".gz"))]
        best = max(dirs, key=lambda d: len(present(d)))  # the first folder wins a tie: root itself
        missing = [n for n in names if n not in present(best)]
        others = " or ".join(repr(d) for d in dirs[:2] if d != best)
        msg = (f"Dataset not found: {self.__class__.__name__}(train={self.train}) needs "
               f"{', '.join(f'{n}[.gz]' for n in missing)} in {best!r} (also looked in {others}); "
               f"get the files from {self.resources_url}.")
        if download:
            msg += (f" Ember has no network download (download=True only reads files that are "
                    f"already there): fetch them yourself and put them in {self.raw_folder!r}.")
        return msg

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        img, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing, MNIST's file format and
    file names (see :class:`MNIST`); also found in ``root/FashionMNIST/raw``."""

    resources_url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
