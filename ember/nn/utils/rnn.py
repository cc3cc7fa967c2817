"""Variable-length sequences: padding them into one tensor and packing them for RNNs.

* ``pad_sequence([a, b, c])``: stack sequences of lengths ``L_i`` into ``(max_L, B, *)``
  (``(B, max_L, *)`` with ``batch_first``), filling the tail (or head, ``padding_side='left'``).
* ``pack_padded_sequence(x, lengths)``: keep only the real time steps, time-major:
  ``data`` holds step 0 of every sequence, then step 1 of those still running, ...;
  ``batch_sizes[t]`` says how many sequences are still running at step ``t``.
* ``pad_packed_sequence`` undoes it. Everything is built from differentiable indexing ops.
"""
from collections import namedtuple

import numpy as np

import ember
from ember._tensor import Tensor
from ember.autograd import Function
from ember.device import array_module

__all__ = ["PadSequence", "PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _as_long(values):
    return ember.tensor(np.asarray(values, dtype=np.int64))


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)`` of a packed batch (made by the pack functions)."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes,
                          None if self.sorted_indices is None else self.sorted_indices.to(data.device),
                          None if self.unsorted_indices is None else self.unsorted_indices.to(data.device))

    def cuda(self, *args, **kwargs):
        return self.to("cuda")

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=ember.float64)

    def float(self):
        return self.to(dtype=ember.float32)

    def half(self):
        return self.to(dtype=ember.float16)

    def long(self):
        return self.to(dtype=ember.int64)

    def int(self):
        return self.to(dtype=ember.int32)

    @property
    def is_cuda(self):
        return self.data.is_cuda


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (``None`` stays ``None``)."""
    if permutation is None:
        return None
    perm = np.asarray(permutation.cpu().numpy(), dtype=np.int64)
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.size, dtype=np.int64)
    return _as_long(out).to(permutation.device)


class PadSequence(Function):
    """Stack sequences ``s_i`` of shape ``(L_i, *)`` into one padded ``(B, max_L, *)`` array
    (``(max_L, B, *)`` unless ``batch_first``); padding goes after (``left=False``) or before.

    Each output entry is a copy of one input entry or the constant, so
    ``dL/ds_i = dL/dout`` restricted to the slots where ``s_i`` was written.
    """

    @staticmethod
    def forward(ctx, batch_first, padding_value, left, *seqs):
        first = seqs[0]._data
        xp = array_module(first)
        lengths = [int(s._data.shape[0]) for s in seqs]
        max_len = max(lengths)
        out = xp.full((len(seqs), max_len) + first.shape[1:], padding_value, dtype=first.dtype)
        for i, (s, n) in enumerate(zip(seqs, lengths)):
            if left:
                out[i, max_len - n:] = s._data
            else:
                out[i, :n] = s._data
        ctx.lengths, ctx.max_len, ctx.batch_first, ctx.left = lengths, max_len, batch_first, left
        return out if batch_first else xp.ascontiguousarray(out.swapaxes(0, 1))

    @staticmethod
    def backward(ctx, grad):
        if not ctx.batch_first:
            grad = grad.transpose(0, 1)
        m = ctx.max_len
        grads = [grad[i, m - n:] if ctx.left else grad[i, :n] for i, n in enumerate(ctx.lengths)]
        return (None, None, None) + tuple(grads)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape ``(L_i, *)`` into ``(max_L, B, *)`` (or ``(B, max_L, *)``), padded.

    Differentiable: the gradient of each sequence is its slice of the padded result's gradient.
    """
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    else:
        try:
            sequences = list(sequences)
        except TypeError:
            raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                               f"{type(sequences)}") from None
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if s.dim() == 0:
            raise RuntimeError("pad_sequence: every sequence needs at least one dimension (its length), "
                               "but got a 0-d tensor")
        if tuple(s.shape[1:]) != trailing:
            if s.dim() - 1 != len(trailing):
                raise RuntimeError(f"pad_sequence: all sequences must have the same trailing dimensions, but got "
                                   f"{list(trailing)} and {list(s.shape[1:])}")
            d = next(i for i, (a, b) in enumerate(zip(trailing, s.shape[1:])) if a != b) + 1
            raise RuntimeError(f"The size of tensor a ({trailing[d - 1]}) must match the size of tensor b "
                               f"({s.shape[d]}) at non-singleton dimension {d}")
    dtype = sequences[0].dtype
    sequences = [s if s.dtype == dtype else s.to(dtype) for s in sequences]
    return PadSequence.apply(batch_first, padding_value, padding_side == "left", *sequences)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of tensors of the given lengths."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = [int(n) for n in (lengths.tolist() if isinstance(lengths, Tensor) else lengths)]
    return [padded_sequences[i, :n] for i, n in enumerate(lengths)]


def _check_lengths(lengths, enforce_sorted):
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if enforce_sorted and np.any(np.diff(lengths) > 0):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                           "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                           "sidestep this requirement if you do not need ONNX exportability.")


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of ``lengths``."""
    lengths = np.asarray(lengths.cpu().numpy() if isinstance(lengths, Tensor) else lengths, dtype=np.int64)
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _as_long(order).to(input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    _check_lengths(lengths, enforce_sorted)
    if batch_first:
        input = input.transpose(0, 1)
    T, B = int(input.shape[0]), int(input.shape[1])
    if int(lengths.shape[0]) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.shape[0]} "
                           f"(batch_size={B})")
    if lengths[0] > T:
        raise RuntimeError(f"Expected sequence length to be smaller than or equal to the padded length {T}, "
                           f"but got {lengths[0]}")
    steps = np.arange(int(lengths[0]))
    mask = steps[:, None] < lengths[None, :]                  # (max_len, B): real entries, time-major
    flat = np.flatnonzero(mask)                                # their positions in the (T*B) flattening
    data = input.reshape((T * B,) + tuple(input.shape[2:]))[_as_long(flat).to(input.device)]
    batch_sizes = _as_long(mask.sum(1))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of ``pack_padded_sequence``: returns ``(padded, lengths)`` in the original batch order."""
    batch_sizes = np.asarray(sequence.batch_sizes.cpu().numpy(), dtype=np.int64)
    max_seq_length = int(batch_sizes.shape[0])
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    B = int(batch_sizes[0])
    mask = np.zeros((max_seq_length, B), dtype=bool)
    mask[:batch_sizes.shape[0]] = np.arange(B)[None, :] < batch_sizes[:, None]
    n = int(data.shape[0])
    # index into data with one extra row holding the padding value
    index = np.full(mask.shape, n, dtype=np.int64)
    index[mask] = np.arange(n)
    filler = ember.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = ember.cat([data, filler], 0)[_as_long(index).to(data.device)]   # (T, B, *)
    lengths = mask.sum(0)
    if batch_first:
        padded = padded.transpose(0, 1)
    lengths_t = _as_long(lengths)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths_t = lengths_t[sequence.unsorted_indices.cpu()]
    return padded, lengths_t


def pack_sequence(sequences, enforce_sorted=True):
    """``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [int(v.size(0)) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """A PackedSequence back into the list of its sequences."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
