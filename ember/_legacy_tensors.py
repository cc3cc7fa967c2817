"""The legacy typed constructors: ``torch.FloatTensor``, ``torch.LongTensor`` … and ``torch.Tensor(...)``.

Old PyTorch code names a dtype by a class: ``torch.LongTensor([1, 2])`` is int64 *data*, while
``torch.FloatTensor(2, 3)`` is an uninitialised 2x3 *shape* (integers alone, or one ``torch.Size``, are sizes).
They are not real subclasses: each call returns a plain :class:`ember.Tensor`, and
``isinstance(t, torch.LongTensor)`` asks whether ``t`` is an int64 CPU tensor -- a metaclass answers both
(``__call__`` builds, ``__instancecheck__`` compares the dtype), as torch's C++ ``TensorType`` does.
``t.type()`` gives these names back ('torch.FloatTensor') and ``t.type(torch.LongTensor)`` converts.
"""
import numpy as np

from . import dtypes as _dt
from ._tensor import Tensor, Size, wrap

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor", "legacy_new", "TYPE_NAMES"]

# legacy class name -> dtype name
TYPE_NAMES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
              "BFloat16Tensor": "bfloat16", "LongTensor": "int64", "IntTensor": "int32", "ShortTensor": "int16",
              "CharTensor": "int8", "ByteTensor": "uint8", "BoolTensor": "bool"}


def _is_sizes(args):
    if len(args) == 1 and isinstance(args[0], Size):
        return True
    return bool(args) and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args)


def legacy_new(dtype, *args, device=None):
    """What ``torch.<Type>Tensor(*args)`` builds for ``dtype``: empty, sizes, a tensor (kept), storage or data."""
    dtype = _dt.to_dtype(dtype)
    if not args:
        t = wrap(np.empty((0,), dtype=dtype.np))
    elif _is_sizes(args):
        t = wrap(np.empty(tuple(int(a) for a in (args[0] if isinstance(args[0], Size) else args)), dtype=dtype.np))
    elif len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != dtype:
            raise TypeError(f"expected {_type_name(dtype)} (got {args[0].type()})")
        return args[0]  # the same tensor, as torch returns an alias
    elif len(args) == 1 and hasattr(args[0], "_root") and hasattr(args[0], "element_size"):  # a storage
        t = wrap(args[0]._root.reshape(-1).view(dtype.np))
    elif len(args) == 1:
        data = args[0]
        if isinstance(data, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
        from .creation import _infer_array
        t = wrap(np.array(_infer_array(data)).astype(dtype.np))
    else:
        raise TypeError("new() received an invalid combination of arguments - got "
                        f"({', '.join(type(a).__name__ for a in args)}), but expected one of: (*, device), "
                        "(Storage storage), (Tensor other), (tuple of ints size, *, device), (object data, *, device)")
    if device is not None:
        t = t.to(device)
    return t


def _type_name(dtype):
    name = _dt.to_dtype(dtype).name
    return "torch." + next((k for k, v in TYPE_NAMES.items() if v == name), "Tensor")


class _LegacyTensorType(type):
    """Metaclass of the typed constructors: calling builds a Tensor, isinstance compares the dtype."""

    def __call__(cls, *args, device=None):
        return legacy_new(cls.dtype, *args, device=device)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device.type == "cpu"

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _make(name):
    return _LegacyTensorType(name, (), {"dtype": getattr(_dt, TYPE_NAMES[name]), "is_cuda": False, "is_sparse": False,
                                        "__module__": "torch", "__doc__": f"``torch.{name}``: legacy constructor of "
                                        f"{TYPE_NAMES[name]} tensors (data, or sizes when given ints)."})


FloatTensor = _make("FloatTensor")
DoubleTensor = _make("DoubleTensor")
HalfTensor = _make("HalfTensor")
BFloat16Tensor = _make("BFloat16Tensor")
LongTensor = _make("LongTensor")
IntTensor = _make("IntTensor")
ShortTensor = _make("ShortTensor")
CharTensor = _make("CharTensor")
ByteTensor = _make("ByteTensor")
BoolTensor = _make("BoolTensor")
