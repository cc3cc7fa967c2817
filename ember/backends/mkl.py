"""torch.backends.mkl: is Intel MKL the BLAS doing the matrix products? Asked of the loaded libraries."""

__all__ = ["is_available"]


def is_available():
    """True when NumPy's BLAS is MKL (threadpoolctl reports the loaded library)."""
    from . import _loaded_libraries
    return any(lib.get("internal_api") == "mkl" for lib in _loaded_libraries())
