"""torch.backends.openmp: is an OpenMP runtime driving the native thread pools? Asked of the loaded libraries."""

__all__ = ["is_available"]


def is_available():
    """True when an OpenMP runtime is loaded in this process (threadpoolctl reports it, e.g. behind BLAS)."""
    from . import _loaded_libraries
    return any(lib.get("user_api") == "openmp" for lib in _loaded_libraries())
