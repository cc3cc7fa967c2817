"""torch.backends.cudnn: cuDNN's switches. Ember's convolutions are its own (a window view and one matmul,
on NumPy or CuPy), not cuDNN's, so ``is_available()`` is False; the flags are kept as set."""
import contextlib

__all__ = ["is_available", "version", "flags", "enabled", "benchmark", "deterministic", "allow_tf32",
           "benchmark_limit"]

enabled = True          # use cuDNN where it would apply
benchmark = False       # time several algorithms and keep the fastest (Ember has one per op)
deterministic = False   # only deterministic algorithms
allow_tf32 = True       # TF32 in convolutions
benchmark_limit = 10


def is_available():
    """False: Ember does not call cuDNN."""
    return False


def version():
    """cuDNN's version, or None when it is not used (as torch answers on a build without it)."""
    return None


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):
    """Set the flags inside a ``with`` block and restore them after."""
    g = globals()
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    old = {n: g[n] for n in names}
    g.update(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit, deterministic=deterministic,
             allow_tf32=allow_tf32)
    try:
        yield
    finally:
        g.update(old)
