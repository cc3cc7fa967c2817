"""Program-wide settings a training script sets once at the top, kept in one place.

``torch.set_num_threads``, ``set_float32_matmul_precision``, ``use_deterministic_algorithms`` and
``set_default_device`` live here (re-exported at the top level, as in torch). What each one really changes
in Ember is said in its docstring: threads change Ember's pool and the BLAS pool; the default device
changes where creators put tensors; the other two are recorded and read back (NumPy computes float32
matmuls in float32 whatever the setting, and Ember's ops are deterministic on the CPU).
"""
import warnings

from . import _parallel
from .device import device as _device

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "set_deterministic_debug_mode", "get_deterministic_debug_mode", "set_default_device",
           "get_default_device", "init_num_threads", "set_flush_denormal"]


def set_num_threads(n):
    """Use ``n`` threads for intra-op work: Ember's element-wise slabs and NumPy's BLAS (matmul, conv)."""
    _parallel.set_num_threads(n)


def get_num_threads():
    """Threads used for intra-op work (all usable cores unless ``set_num_threads`` said otherwise)."""
    return _parallel.num_threads()


_interop = [_parallel.cpu_cores()]


def set_num_interop_threads(n):
    """Threads for running independent ops side by side. Ember runs ops one after another; recorded only."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise RuntimeError("Expected positive number of threads")
    _interop[0] = n


def get_num_interop_threads():
    return _interop[0]


# float32 matmul precision: 'highest' (full float32), 'high' (TF32 allowed), 'medium' (bfloat16 allowed).
_PRECISIONS = ("highest", "high", "medium")
_matmul = {"precision": "highest"}


def set_float32_matmul_precision(precision):
    """Record how precise float32 matmuls must be. NumPy and CuPy compute them in full float32 either way;
    the setting is read back by ``get_float32_matmul_precision`` and ``torch.backends.cuda.matmul.allow_tf32``."""
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul["precision"] = precision


def get_float32_matmul_precision():
    return _matmul["precision"]


_determinism = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Ask for deterministic algorithms. Ember's CPU ops are deterministic already (a scatter-add sums in a
    fixed order), so this records the request for ``are_deterministic_algorithms_enabled``."""
    if not isinstance(mode, bool):
        raise RuntimeError(f"use_deterministic_algorithms expects a bool, but got {type(mode).__name__}")
    _determinism["mode"], _determinism["warn_only"] = mode, bool(warn_only) and mode


def are_deterministic_algorithms_enabled():
    return _determinism["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _determinism["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode):
    """0/'default': off, 1/'warn': deterministic with warnings, 2/'error': deterministic."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                               f"but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _determinism["mode"]:
        return 0
    return 1 if _determinism["warn_only"] else 2


_default = {"device": None}


def set_default_device(device):
    """Creators (``zeros``, ``randn``, ``tensor`` …) called without ``device=`` place tensors on ``device``
    (``None`` restores the CPU). A CUDA default needs a GPU, as in torch."""
    _default["device"] = None if device is None else _device(device)
    if _default["device"] is not None and _default["device"].type == "cpu":
        _default["device"] = None


def get_default_device():
    return _default["device"] if _default["device"] is not None else _device("cpu")


_device_stack = []  # the defaults that ``with device(...)`` blocks replaced, innermost last


def push_default_device(dev):
    _device_stack.append(_default["device"])
    set_default_device(dev)


def pop_default_device():
    _default["device"] = _device_stack.pop() if _device_stack else None


def default_device():
    """The device creators use when given none: ``None`` means the CPU (the fast path)."""
    return _default["device"]


def init_num_threads():
    """Make the calling thread use the configured thread count. Ember's pool and BLAS limits are process-wide
    (set by ``set_num_threads``), so there is nothing per-thread to initialise."""


def set_flush_denormal(mode):
    """Ask the CPU to flush denormal floats to zero. NumPy has no switch for the FTZ/DAZ flags, so this returns
    False, torch's answer on a CPU without the feature, and changes nothing."""
    return False
