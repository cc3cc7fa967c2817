"""torch.cpu: the CPU as a device module (``torch.cpu.is_available()``, ``torch.cpu.amp``)."""
from . import amp

__all__ = ["is_available", "device_count", "current_device", "synchronize", "amp"]


def is_available():
    """The CPU is always there."""
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """CPU work is synchronous: nothing to wait for."""
