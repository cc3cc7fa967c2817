"""Collation: turn a list of samples into one batch (``torch.utils.data.default_collate``).

The rule is structural and recursive on the *first* sample's type:

=================================  ==============================================
sample element                     batched as
=================================  ==============================================
Tensor                             ``ember.stack(batch)`` -- a new leading dim
ndarray / NumPy scalar             tensor of the same dtype, stacked
Python float / int / bool          tensor: float64 / int64 / bool (torch's rule)
str / bytes                        the list, unchanged
dict (Mapping)                     dict of collated values, key by key
namedtuple                         same namedtuple of collated fields
tuple / list (Sequence)            list of collated columns (samples are transposed)
=================================  ==============================================

So a dataset yielding ``(image, label)`` gives batches ``[images (B, ...), labels (B,)]``.
"""
import collections.abc
import copy
import re

import numpy as np

import ember

__all__ = ["default_collate", "default_convert", "collate"]

_np_str_obj = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, "
    "dicts or lists; found {}")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack_tensors(batch):
    shape0 = tuple(batch[0].shape)
    for i, t in enumerate(batch):
        if tuple(t.shape) != shape0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape0)} at entry 0 and {list(t.shape)} at entry {i}")
    return ember.stack(list(batch), 0)


def _numpy_batch_to_tensor(batch):
    """Several NumPy scalars/arrays of one shape -> one tensor, stacked in NumPy first (one copy)."""
    arrays = [np.asarray(b) for b in batch]
    shape0 = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape0)} at entry 0 and {list(a.shape)} at entry {i}")
    return ember.from_numpy(np.stack(arrays, 0))


def collate(batch, *, collate_fn_map=None):
    """The recursion behind :func:`default_collate`.

    ``collate_fn_map`` maps a type to ``fn(batch, *, collate_fn_map)``; it is consulted first
    (exact type, then ``isinstance``), so you can teach collation about your own types.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, ember.Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray) or (isinstance(elem, np.generic) and not isinstance(elem, (str, bytes))):
        if _np_str_obj.search(elem.dtype.str) is not None:
            raise TypeError(default_collate_err_msg_format.format(elem.dtype))
        return _numpy_batch_to_tensor(batch)
    if isinstance(elem, float):
        return ember.tensor(batch, dtype=ember.float64)
    if isinstance(elem, int):  # bool is an int: all-bool -> bool tensor, mixed -> int64
        return ember.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                          for key in elem})
            return clone
        try:
            return elem_type({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
        except TypeError:
            return {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                    for key in elem}
    if _is_namedtuple(elem):
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):  # tuples become lists, as in PyTorch
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(samples, collate_fn_map=collate_fn_map)
                              for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the rules).

    >>> default_collate([(ember.tensor([1., 2.]), 0), (ember.tensor([3., 4.]), 1)])
    [tensor([[1., 2.],
            [3., 4.]]), tensor([0, 1])]
    """
    return collate(batch)


def default_convert(data):
    """Convert one *unbatched* sample (``batch_size=None``): NumPy arrays/scalars become tensors,
    containers are converted element-wise (tuples become lists), anything else is left as is."""
    if isinstance(data, ember.Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (str, bytes)):
        if _np_str_obj.search(data.dtype.str) is not None:
            return data
        return ember.as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update({key: default_convert(data[key]) for key in data})
            return clone
        try:
            return type(data)({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            for i, d in enumerate(data):
                clone[i] = default_convert(d)
            return clone
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
