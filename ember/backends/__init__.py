"""ember.backends: the switches PyTorch programs flip on the libraries under the framework.

Each submodule stands for one of torch's backends (``cudnn``, ``cuda``, ``mps``, ``mkl``, ``openmp``,
``mkldnn``). Ember's math runs on NumPy (CPU) and CuPy (GPU), so each module answers honestly what is
there (``mkl.is_available()`` asks threadpoolctl whether NumPy's BLAS is MKL) and keeps the flags a
script sets (``cudnn.benchmark = True``) so that reading them back gives what was set.
"""
from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp  # noqa: F401

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp"]


def _loaded_libraries():
    """threadpoolctl's view of the native thread pools loaded in this process (BLAS, OpenMP)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a core dependency
        return []
    return threadpool_info()
