"""A text file as a character-level language-modelling dataset.

The vocabulary is the sorted set of characters in the file; a character's id is its position
there. Item ``i`` is a pair of int64 tensors of length ``block_size``: ``x`` the ids of characters
``i .. i+block_size-1`` and ``y`` the same window shifted by one -- so ``y[t]`` is the character
that follows ``x[:t+1]``, which is what a causal model learns to predict.
"""
import operator

import numpy as np

import ember
from ember.utils.data import Dataset

__all__ = ["TextFile"]


class TextFile(Dataset):
    """Character-level LM dataset over the UTF-8 text at ``path``.

    Args:
        path: the text file.
        block_size: the context length (characters per item).
        split: ``None`` (the whole text), ``"train"`` (its first ``1 - val_fraction - test_fraction``),
            ``"val"`` (the next ``val_fraction``) or ``"test"`` (the last ``test_fraction``). The
            vocabulary always comes from the whole text, so ids agree across splits.
        val_fraction: the share of the text kept for ``"val"``.
        test_fraction: the share kept for ``"test"`` (default 0: no test part, ``"val"`` is the rest).

    >>> ds = TextFile("input.txt", block_size=64)
    >>> x, y = ds[0]
    >>> ds.decode(x[1:]) == ds.decode(y[:-1])
    True
    """

    def __init__(self, path, block_size, split=None, val_fraction=0.1, test_fraction=0.0):
        if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size <= 0:
            raise ValueError(f"block_size should be a positive integer value, but got "
                             f"block_size={block_size}")
        if split not in (None, "train", "val", "test"):
            raise ValueError(f"split should be None, 'train', 'val' or 'test', but got split={split!r}")
        for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 <= frac < 1:
                raise ValueError(f"{name} should be in [0, 1), but got {name}={frac}")
        if val_fraction + test_fraction >= 1:
            raise ValueError(f"val_fraction={val_fraction} and test_fraction={test_fraction} leave no text "
                             f"for training")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.path = path
        self.block_size = block_size
        self.split = split
        self.chars = sorted(set(text))
        self.vocab_size = len(self.chars)
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        ids = self._encode_array(text)
        n_train = int(round(len(ids) * (1 - val_fraction - test_fraction)))
        n_val = len(ids) - n_train if test_fraction == 0 else int(round(len(ids) * val_fraction))
        if split == "train":
            ids = ids[:n_train]
        elif split == "val":
            ids = ids[n_train:n_train + n_val]
        elif split == "test":
            ids = ids[n_train + n_val:]
        if len(ids) < block_size + 1:
            part = "" if split is None else f" ({split} split: {len(ids)} characters)"
            raise ValueError(f"{path}: the text{part} is too short for block_size={block_size}; "
                             f"it needs at least {block_size + 1} characters")
        self.data = ids

    def _encode_array(self, text):
        # Vectorized lookup: code points -> ids through a sorted table of the vocabulary's code points.
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        table = np.array([ord(c) for c in self.chars], dtype=np.int64)
        pos = np.searchsorted(table, codes)
        pos = np.minimum(pos, len(table) - 1) if len(table) else pos
        bad = (table[pos] != codes) if len(table) else np.ones(len(codes), dtype=bool)
        if bad.any():
            c = chr(int(codes[np.argmax(bad)]))
            raise ValueError(f"character {c!r} is not in the vocabulary of {self.path}")
        return pos

    def encode(self, s):
        """The list of ids of the characters of ``s``."""
        return self._encode_array(s).tolist()

    def decode(self, ids):
        """The string of the ids ``ids`` (a list, ndarray or tensor of ints)."""
        if isinstance(ids, ember.Tensor):
            ids = ids.tolist()
        return "".join(self.chars[i] for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist())

    def __len__(self):
        return len(self.data) - self.block_size

    def __getitem__(self, idx):
        n = len(self)
        idx = operator.index(idx)
        if idx < 0:
            idx += n
        if not 0 <= idx < n:
            raise IndexError(f"index {idx} is out of range for TextFile of length {n}")
        chunk = self.data[idx:idx + self.block_size + 1]
        return ember.from_numpy(chunk[:-1].copy()), ember.from_numpy(chunk[1:].copy())

    def __repr__(self):
        return (f"TextFile(path={self.path!r}, block_size={self.block_size}, "
                f"vocab_size={self.vocab_size}, samples={len(self)})")
