"""Storage: the flat memory a tensor and all its views look into.

Ember's storage is the NumPy array that owns the memory (the root of the ``.base`` chain). Two tensors
share storage exactly when their storages' ``data_ptr()`` are equal.
"""
import numpy as np

__all__ = ["UntypedStorage", "TypedStorage"]


class UntypedStorage:
    """The bytes under a tensor (``t.untyped_storage()``)."""

    def __init__(self, root, tensor=None):
        self._root = root
        self._tensor = tensor

    def data_ptr(self):
        r = self._root
        return r.data.ptr if hasattr(r.data, "ptr") else r.__array_interface__["data"][0]

    def nbytes(self):
        return int(self._root.nbytes)

    def size(self):
        return self.nbytes()

    def __len__(self):
        return self.nbytes()

    def element_size(self):
        return 1

    @property
    def device(self):
        from .device import device_of
        return device_of(self._root)

    def tolist(self):
        return list(np.asarray(self._root).reshape(-1).view(np.uint8))

    def __getitem__(self, i):
        return np.asarray(self._root).reshape(-1).view(np.uint8)[i]

    def __iter__(self):
        return iter(self.tolist())

    def __eq__(self, other):
        return isinstance(other, UntypedStorage) and self.data_ptr() == other.data_ptr()

    def __hash__(self):
        return self.data_ptr()

    def __repr__(self):
        vals = "\n".join(" " + str(v) for v in self.tolist()[:20])
        return f"{vals}\n[torch.storage.UntypedStorage(device={self.device}) of size {self.nbytes()}]"


class TypedStorage(UntypedStorage):
    """Elements of the storage in the tensor's dtype (``t.storage()``, deprecated in torch)."""

    def size(self):
        return int(self._root.size)

    def __len__(self):
        return self.size()

    def element_size(self):
        return self._root.itemsize

    def tolist(self):
        return np.asarray(self._root).reshape(-1).tolist()

    def __getitem__(self, i):
        return np.asarray(self._root).reshape(-1)[i].item()

    def __repr__(self):
        vals = "\n".join(" " + str(v) for v in self.tolist()[:20])
        return f"{vals}\n[torch.storage.TypedStorage(dtype=torch.{self._root.dtype}, device={self.device}) of size {self.size()}]"


def _typed_dtype(self):
    from .dtypes import to_dtype
    return to_dtype(self._root.dtype)


TypedStorage.dtype = property(_typed_dtype, doc="The element dtype (``torch.float32`` …).")


class _LegacyStorageType(type):
    """Metaclass of ``torch.FloatStorage`` and kin: calling builds a :class:`TypedStorage` of the class's dtype
    (``FloatStorage(3)``: 3 uninitialised elements; ``LongStorage([1, 2])``: those values); ``isinstance``
    compares the dtype, as torch's legacy storage classes do."""

    def __call__(cls, *args, device=None):
        dt = cls.dtype.np
        if not args:
            root = np.empty((0,), dtype=dt)
        elif len(args) == 1 and isinstance(args[0], (int, np.integer)) and not isinstance(args[0], bool):
            root = np.empty((int(args[0]),), dtype=dt)
        elif len(args) == 1 and not isinstance(args[0], (str, bytes)):
            root = np.array(args[0]).astype(dt).reshape(-1)
        else:
            raise TypeError(f"{cls.__name__}(): expected a size or a sequence of numbers, got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        return TypedStorage(root)

    def from_buffer(cls, buffer, byte_order="native", count=-1, offset=0):
        """The bytes of ``buffer`` read as elements of this storage's dtype (a copy)."""
        dt = np.dtype(cls.dtype.np)
        if byte_order in ("big", "little"):
            dt = dt.newbyteorder(">" if byte_order == "big" else "<")
        return TypedStorage(np.frombuffer(buffer, dtype=dt, count=count, offset=offset).astype(cls.dtype.np))

    def __instancecheck__(cls, obj):
        return isinstance(obj, TypedStorage) and obj.dtype == cls.dtype

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _legacy_storage(name, dtype_name):
    from . import dtypes
    return _LegacyStorageType(name, (), {"dtype": getattr(dtypes, dtype_name), "__module__": "torch"})


_STORAGE_DTYPES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                   "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                   "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
                   "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128"}
for _name, _dt in _STORAGE_DTYPES.items():
    globals()[_name] = _legacy_storage(_name, _dt)
    __all__.append(_name)
del _name, _dt
