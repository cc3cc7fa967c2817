"""ember.cuda: GPU queries. CUDA tensors are CuPy arrays; without CuPy and a GPU there is no CUDA device."""
import importlib as _il
import sys as _sys

_dev = _il.import_module("ember.device")  # the module (the package attribute `ember.device` is the class)

__all__ = ["OutOfMemoryError", "is_available", "device_count", "current_device", "get_device_name", "manual_seed", "manual_seed_all",
           "synchronize", "empty_cache", "set_device", "is_bf16_supported", "memory_allocated"]


def is_available():
    """True only when CuPy is installed and sees at least one GPU."""
    return _dev.cupy is not None and _dev._n_gpus > 0


def device_count():
    return _dev._n_gpus


def current_device():
    if not is_available():
        raise AssertionError("Torch not compiled with CUDA enabled")
    return _dev.cupy.cuda.runtime.getDevice()


def set_device(device):
    if is_available():
        _dev.cupy.cuda.Device(_dev.device(device).index or 0 if not isinstance(device, int) else device).use()


def get_device_name(device=None):
    if not is_available():
        raise AssertionError("Torch not compiled with CUDA enabled")
    props = _dev.cupy.cuda.runtime.getDeviceProperties(0 if device is None else int(getattr(device, "index", device)
                                                                                    or 0))
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name


def manual_seed(seed):
    if is_available():
        _dev.cupy.random.seed(int(seed) & 0xFFFF_FFFF)


manual_seed_all = manual_seed


def synchronize(device=None):
    if is_available():
        _dev.cupy.cuda.Device().synchronize()


def empty_cache():
    if is_available():
        _dev.cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None):
    return _dev.cupy.get_default_memory_pool().used_bytes() if is_available() else 0


def is_bf16_supported():
    return False


def __getattr__(name):
    if name == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError is torch.OutOfMemoryError
        from .accelerator import OutOfMemoryError
        return OutOfMemoryError
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")


# torch.cuda.amp (autocast / GradScaler under their old names): this module is a file, not a package,
# so the submodule is registered by hand for ``import torch.cuda.amp``.
from .amp import cuda_amp as amp  # noqa: E402
_sys.modules[__name__ + ".amp"] = amp
