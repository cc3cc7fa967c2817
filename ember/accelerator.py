"""ember.accelerator: the device-agnostic questions a program asks before choosing where to run.

PyTorch's tutorials open with::

    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"

Ember's only accelerator is a CUDA GPU reached through CuPy (see :mod:`ember.cuda`). Without one,
``current_accelerator()`` is ``None`` and the index functions raise torch's RuntimeError, so the line
above picks ``"cpu"`` exactly as PyTorch does on a machine without a GPU.
"""
import warnings

from . import cuda as _cuda
from .device import device as _device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "current_device_idx",
           "set_device_index", "set_device_idx", "synchronize", "device_index", "empty_cache", "memory_allocated",
           "AcceleratorError", "OutOfMemoryError"]


class AcceleratorError(RuntimeError):
    """An error raised while executing on an accelerator (``torch.AcceleratorError``)."""

    __module__ = "torch"


class OutOfMemoryError(RuntimeError):
    """The device ran out of memory (``torch.OutOfMemoryError``, also ``torch.cuda.OutOfMemoryError``)."""

    __module__ = "torch"

_NONE = "Cannot access accelerator device when none is available."


def is_available():
    """True when there is an accelerator (a CUDA GPU through CuPy) to run on."""
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """``device(type='cuda')`` when a GPU is available, else ``None`` (torch returns None on a CPU-only build)."""
    return _device("cuda") if _cuda.is_available() else None


def device_count():
    """How many accelerator devices there are (0 without a GPU)."""
    return _cuda.device_count()


def _need():
    if not _cuda.is_available():
        raise RuntimeError(_NONE)


def current_device_index():
    """Index of the current GPU; RuntimeError when there is no accelerator."""
    _need()
    return _cuda.current_device()


def current_device_idx():
    """Deprecated name of :func:`current_device_index`."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def _index(device):
    if isinstance(device, int):
        return device
    d = _device(device)
    if d.type != "cuda":
        raise ValueError(f"{d.type} doesn't match the current accelerator cuda.")
    return d.index or 0


def set_device_index(device, /):
    """Make GPU ``device`` (an int, 'cuda:1' or a device) the current one."""
    _need()
    _cuda.set_device(_index(device))


def set_device_idx(device, /):
    """Deprecated name of :func:`set_device_index`."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


def synchronize(device=None, /):
    """Wait until all queued GPU work has finished (what a timing loop must do before reading the clock)."""
    _need()
    _cuda.synchronize(device)


def empty_cache():
    """Return cached GPU memory blocks to the driver (no-op without a GPU)."""
    _cuda.empty_cache()


def memory_allocated(device_index=None, /):
    """Bytes held by live GPU arrays (0 without a GPU)."""
    return _cuda.memory_allocated(device_index)


class device_index:
    """Context manager: the current accelerator index is ``idx`` inside the block (``None``: unchanged)."""

    def __init__(self, device, /):
        self.idx = device
        self.prev = None

    def __enter__(self):
        if self.idx is not None:
            self.prev = current_device_index()
            set_device_index(self.idx)
        return self

    def __exit__(self, *exc):
        if self.prev is not None:
            set_device_index(self.prev)
        return False
