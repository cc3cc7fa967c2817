"""Running one large element-wise NumPy call on every CPU core.

NumPy's ufuncs run on one core, but they release the GIL inside their inner loop. So a big array can
be cut into one contiguous slab per core and each slab computed by a thread, writing into its slice of a
shared output (``out=``). The results are bit-identical to the single call: the work is element-wise.
Small arrays (below ``MIN_ELEMENTS``) are not worth the thread hand-off and run directly.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["num_threads", "set_num_threads", "thread_pool", "parallel_ufunc", "split_work", "MIN_ELEMENTS"]

MIN_ELEMENTS = 1 << 18  # 256K elements: below this one thread is as fast

_pool = None


def cpu_cores():
    """CPU cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return os.cpu_count() or 1


_N_THREADS = cpu_cores()
_blas_limit = None  # the threadpoolctl limiter set by set_num_threads (kept alive: it holds the setting)


def num_threads():
    """Threads Ember's element-wise work is split across (all cores unless ``set_num_threads`` said less)."""
    return _N_THREADS


def set_num_threads(n):
    """Use ``n`` threads from now on: for Ember's own slabs (a new pool of ``n`` workers) and for the BLAS
    library behind NumPy's matmul (through threadpoolctl), as ``torch.set_num_threads`` does for ATen/MKL."""
    global _N_THREADS, _pool, _blas_limit
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    if n != _N_THREADS and _pool is not None:
        _pool.shutdown(wait=False)
        _pool = None
    _N_THREADS = n
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a core dependency; without it only Ember's own pool changes
        return
    _blas_limit = threadpool_limits(limits=n, user_api="blas")


def _forget_pool():
    """A forked child (e.g. a DataLoader worker) must not reuse the parent's threads: they do not exist there."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def thread_pool():
    """One shared pool of worker threads for the whole process."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_N_THREADS, thread_name_prefix="ember")
    return _pool


def split_work(n, work, size):
    """Run ``work(lo, hi)`` over range(n) cut into one contiguous slab per core (when the job of ``size``
    elements is big enough); returns the list of the slabs' results. ``work`` must release the GIL to
    gain anything: NumPy calls and Ember's ``nogil`` compiled kernels do."""
    T = _N_THREADS if size >= MIN_ELEMENTS else 1
    if T < 2 or n < 2 or threading.current_thread().name.startswith("ember"):
        return [work(0, n)]   # small job, one core, or already inside a pool worker (waiting could deadlock)
    step = -(-n // T)
    futures = [thread_pool().submit(work, lo, min(lo + step, n)) for lo in range(step, n, step)]
    first = work(0, min(step, n))
    return [first] + [f.result() for f in futures]


def _splittable(x, shape):
    return not isinstance(x, np.ndarray) or x.ndim == 0 or (x.shape == shape and x.flags.c_contiguous)


def parallel_ufunc(ufunc, *args, dtype=None):
    """``ufunc(*args)`` computed in slabs on all cores when the operands are big contiguous NumPy arrays
    of one shape (numbers and 0-d arrays may join them); otherwise a plain call."""
    big = args[0] if args[0].__class__ is np.ndarray else args[-1]
    if big.__class__ is not np.ndarray or big.size < MIN_ELEMENTS or _N_THREADS < 2 or \
            not all(_splittable(a, big.shape) for a in args):  # the common, small case: one plain call
        return ufunc(*args) if dtype is None else ufunc(*args, dtype=dtype)
    n_threads = _N_THREADS
    # NumPy decides the result type (weak Python scalars included): ask it on one element
    probe = ufunc(*[a.reshape(-1)[:1] if isinstance(a, np.ndarray) and a.ndim else a for a in args],
                  **({} if dtype is None else {"dtype": dtype}))
    out = np.empty(big.shape, dtype=probe.dtype)
    flat_out = out.reshape(-1)
    flats = [a.reshape(-1) if isinstance(a, np.ndarray) and a.ndim else a for a in args]
    n = big.size
    step = -(-n // n_threads)

    def work(lo):
        hi = min(lo + step, n)
        ufunc(*[f[lo:hi] if isinstance(f, np.ndarray) and f.ndim else f for f in flats], out=flat_out[lo:hi],
              **({} if dtype is None else {"dtype": dtype}))

    futures = [thread_pool().submit(work, lo) for lo in range(step, n, step)]
    work(0)
    for f in futures:
        f.result()
    return out
