"""Devices and the array module behind them.

A tensor's device is read off its array: a NumPy array lives on the CPU, a CuPy array on a CUDA GPU.
Op code never imports NumPy or CuPy by name; it asks ``array_module(x)`` and gets the right one (``xp``),
so one implementation serves both devices (the trick Chainer introduced).
"""
import numpy as np

__all__ = ["device", "array_module", "cupy"]

try:  # CuPy is optional: without it (or without a GPU) there is only the CPU.
    import cupy  # type: ignore
    try:
        _n_gpus = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no driver / no device
        _n_gpus = 0
except ImportError:
    cupy = None
    _n_gpus = 0


class device:
    """``device('cpu')``, ``device('cuda')``, ``device('cuda:1')`` or ``device('cuda', 1)``."""

    __slots__ = ("type", "index")

    def __new__(cls, type_or_str, index=None):
        if isinstance(type_or_str, device):
            return type_or_str
        if isinstance(type_or_str, int):  # torch.device(0) means cuda:0
            type_or_str, index = "cuda", type_or_str
        s = str(type_or_str)
        if ":" in s:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {s}")
            s, idx = s.split(":", 1)
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type_or_str}'")
            index = int(idx)
        if s not in ("cpu", "cuda", "meta"):
            raise RuntimeError(
                f"Expected one of cpu, cuda, meta device type at start of device string: {type_or_str}")
        self = object.__new__(cls)
        self.type, self.index = s, index
        return self

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __enter__(self):
        """``with torch.device('cuda'):`` -- creators without ``device=`` use this device inside the block."""
        from . import _settings
        _settings.push_default_device(self)
        return self

    def __exit__(self, *exc):
        from . import _settings
        _settings.pop_default_device()
        return False


CPU = device("cpu")


def array_module(x):
    """NumPy for NumPy arrays (and anything else), CuPy for CuPy arrays."""
    if cupy is not None and isinstance(x, cupy.ndarray):
        return cupy
    return np


def device_of(arr):
    """The device an array lives on."""
    if cupy is not None and isinstance(arr, cupy.ndarray):
        return device("cuda", arr.device.id)
    return CPU


def to_device_array(arr, dev):
    """Move an array to ``dev`` (copies across devices; returns ``arr`` itself when already there)."""
    dev = device(dev)
    if dev.type == "cpu":
        return arr.get() if (cupy is not None and isinstance(arr, cupy.ndarray)) else arr
    if dev.type == "cuda":
        if cupy is None or _n_gpus == 0:
            raise AssertionError("Torch not compiled with CUDA enabled" if cupy is None else
                                 "CUDA is not available: no GPU was found")
        with cupy.cuda.Device(dev.index or 0):
            return cupy.asarray(arr)
    raise RuntimeError(f"ember cannot place tensors on device '{dev}'")
