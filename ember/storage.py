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
