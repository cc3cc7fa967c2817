"""Running one large element-wise NumPy call on every CPU core.

NumPy's ufuncs run on one core, but they release the GIL inside their inner loop. So a big array can
be cut into one contiguous slab per core and each slab computed by a thread, writing into its slice of a
shared output (``out=``). The results are bit-identical to the single call: the work is element-wise.
Small arrays are not worth the thread hand-off and run directly: below ``STREAM_MIN_ELEMENTS`` for passes
that only stream memory, ``ROW_MIN_ELEMENTS`` for softmax-like rows, ``MIN_ELEMENTS`` for heavier math.
"""
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["num_threads", "set_num_threads", "thread_pool", "parallel_ufunc", "split_work", "MIN_ELEMENTS",
           "STREAM_MIN_ELEMENTS", "ROW_MIN_ELEMENTS",
           "blas_on_calling_thread", "tune_blas_wait", "share_cores"]

MIN_ELEMENTS = 1 << 18  # 256K elements: below this one thread is as fast (compute-heavy kernels: GELU, Adam)
# A hand-off to a pool thread and back costs 30-60 us on these VMs (its wake-up), so a pass that only streams
# memory (add, multiply, ReLU, a sum) gains from a second core only when much bigger: measured break-even
# near 1M float32 elements (x * 1.5 on 256K: 33 us on one thread, 108 split in two).
STREAM_MIN_ELEMENTS = 1 << 21
ROW_MIN_ELEMENTS = 1 << 19   # softmax / layer norm rows: a few passes each (break-even 0.4-1M elements)

_pool = None


def cpu_cores():
    """CPU cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return os.cpu_count() or 1


_N_THREADS = cpu_cores()
_ndarray = np.ndarray
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


_blas_libs = None


def _blas_controllers():
    global _blas_libs
    if _blas_libs is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas_libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        except Exception:   # no threadpoolctl, or a BLAS it cannot drive: leave BLAS as it is
            _blas_libs = []
    return _blas_libs


@contextlib.contextmanager
def blas_on_calling_thread():
    """While inside, each BLAS call runs on the thread that makes it (the library's thread count set to 1,
    then restored). For work Ember splits itself: each of its threads runs its own small GEMMs, and the
    BLAS library's threads would only compete with them for the same cores."""
    libs = _blas_controllers()
    old = [c.get_num_threads() for c in libs]
    for c in libs:
        c.set_num_threads(1)
    try:
        yield
    finally:
        for c, n in zip(libs, old):
            c.set_num_threads(n)


_BLAS_SPIN = "18"   # log2 of the cycles an idle OpenBLAS worker spins before it sleeps (OpenBLAS: 28)


def tune_blas_wait(spin=_BLAS_SPIN):
    """Make OpenBLAS's idle worker threads go to sleep after ~0.1 ms instead of ~0.1 s.

    After each multi-threaded GEMM, OpenBLAS's workers spin waiting for the next one, 2^28 cycles by
    default. A training step calls a GEMM every few milliseconds, so they spin through the whole step and
    hold the second core while Ember's own threads (conv columns, compiled kernels, layout copies) need it:
    a small CNN step took 15 ms that way and 10 ms with them asleep. 2^18 cycles still keeps them awake
    between the back-to-back GEMMs of an LSTM's time steps. OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT``
    when it starts its threads, so Ember sets it, rereads the environment and lets OpenBLAS restart them
    on the next call (as it does after a fork). A value the user exported is kept; ``EMBER_BLAS_TUNE=0``
    leaves OpenBLAS alone. Returns True where it took effect.

    It runs once, when Ember first splits work across its own threads (:func:`share_cores`): a program
    made only of GEMMs and small ops (an MLP) keeps the long spin, which saves it waking the workers.
    The restart must not meet a multi-threaded BLAS call: Ember makes none at that point, but a program
    that runs NumPy matrix products on another thread of its own at that very moment should set
    ``EMBER_BLAS_TUNE=0`` (or its own ``OPENBLAS_THREAD_TIMEOUT``)."""
    if os.environ.get("EMBER_BLAS_TUNE", "1") == "0" or "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return False
    libs = [getattr(c, "dynlib", None) for c in _blas_controllers() if c.internal_api == "openblas"]
    libs = [lib for lib in libs if hasattr(lib, "openblas_read_env") and hasattr(lib, "blas_thread_shutdown_")]
    if not libs:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = spin
    try:
        for lib in libs:
            lib.openblas_read_env()
            lib.blas_thread_shutdown_()   # the threads restart, with the new timeout, on the next BLAS call
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]   # child processes start OpenBLAS with its own default
    return True


_shared = False


def share_cores():
    """Called where Ember is about to run work on several of its own threads: the first time, make
    OpenBLAS's idle threads yield the cores (:func:`tune_blas_wait`)."""
    global _shared
    if not _shared:
        _shared = True
        tune_blas_wait()


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


def split_work(n, work, size, min_size=MIN_ELEMENTS):
    """Run ``work(lo, hi)`` over range(n) cut into one contiguous slab per core (when the job of ``size``
    elements is at least ``min_size``); returns the list of the slabs' results. ``work`` must release the
    GIL to gain anything: NumPy calls and Ember's ``nogil`` compiled kernels do."""
    T = _N_THREADS if size >= min_size else 1
    if T < 2 or n < 2 or threading.current_thread().name.startswith("ember"):
        return [work(0, n)]   # small job, one core, or already inside a pool worker (waiting could deadlock)
    share_cores()
    step = -(-n // T)
    futures = [thread_pool().submit(work, lo, min(lo + step, n)) for lo in range(step, n, step)]
    first = work(0, min(step, n))
    return [first] + [f.result() for f in futures]


def _splittable(x, shape):
    return not isinstance(x, np.ndarray) or x.ndim == 0 or (x.shape == shape and x.flags.c_contiguous)


def parallel_ufunc(ufunc, *args, dtype=None):
    """``ufunc(*args)`` computed in slabs on all cores when the operands are big contiguous NumPy arrays
    of one shape (numbers and 0-d arrays may join them); otherwise a plain call."""
    big = args[0]
    if big.__class__ is not _ndarray:
        big = args[-1]
    if big.__class__ is not _ndarray or big.size < STREAM_MIN_ELEMENTS or _N_THREADS < 2 or \
            not all(_splittable(a, big.shape) for a in args):  # the common, small case: one plain call
        if dtype is None:
            return ufunc(*args)
        return ufunc(*args, dtype=dtype)
    return _split_ufunc(ufunc, args, dtype, big)


def _split_ufunc(ufunc, args, dtype, big):
    """parallel_ufunc's split path (apart, so the small-array call above pays nothing for its closure)."""
    n_threads = _N_THREADS
    share_cores()
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
