"""Optional compiled kernels: Numba modules loaded the first time a job is big enough to pay for them.

Ember's reference code is NumPy. Where a loop written for Numba beats it (it fuses passes, or its math
vectorises better), the loop lives in its own module (``ember/_sampling_kernels.py``, ``ops/nn_kernels.py``)
and callers ask ``kernels(n)`` for it: they get the module when Numba is installed (``pip install
ember[fast]``) and ``n`` elements are worth it, else None and they run their NumPy path. Importing Numba
takes about a second, so small scripts never trigger it; compiled machine code is cached on disk.
``EMBER_JIT=0`` turns every compiled path off (the tests compare both paths this way).
"""
import importlib
import os

import numpy as np

__all__ = ["LazyKernels", "MIN_SIZE", "enabled", "nn_kernels", "sampling_kernels", "rnn_kernels", "direct_conv", "float32_kernels"]

MIN_SIZE = 1 << 15


def enabled():
    """False when ``EMBER_JIT=0`` is set: NumPy paths only."""
    return os.environ.get("EMBER_JIT", "1") != "0"


class LazyKernels:
    """``kernels(n)``: the compiled module named ``module`` (None without Numba, when disabled, or when
    ``n < min_size``). The import is tried once."""

    def __init__(self, module, min_size=MIN_SIZE):
        self.module, self.min_size = module, min_size
        self._tried, self._mod = False, None

    def __call__(self, n):
        if n < self.min_size or not enabled():
            return None
        if not self._tried:
            self._tried = True
            try:
                self._mod = importlib.import_module(self.module)
            except Exception:  # Numba missing or unusable: the NumPy paths
                self._mod = None
        return self._mod

    def loaded(self):
        """The module if an earlier call already imported it (and compiled paths are on), else None: once
        a big job has paid for the import, small jobs may use the kernels too."""
        return self._mod if enabled() else None


nn_kernels = LazyKernels("ember.ops.nn_kernels")                 # fused float32 primitives, ReLU
conv_kernels = LazyKernels("ember.ops.conv_kernels")             # the 2x2 max pool
sampling_kernels = LazyKernels("ember._sampling_kernels")        # torch-exact random streams
rnn_kernels = LazyKernels("ember.ops.rnn_kernels")               # LSTM time steps (size: the whole sequence)
direct_conv = LazyKernels("ember.ops.direct_conv")               # stride-1 convolutions (llvmlite, not Numba)


def float32_kernels(a, kernels=nn_kernels, any_size=False):
    """``kernels`` (loaded) when ``a`` is a NumPy float32 array big enough to pay for a compiled call (or
    of any size, with ``any_size``: a backward whose forward ran compiled); else None (the caller's NumPy
    path runs)."""
    if a is None or a.__class__ is not np.ndarray or a.dtype != np.float32:
        return None
    return kernels(max(a.size, kernels.min_size) if any_size else a.size)
