"""Host memory: keeping freed big buffers in the process instead of handing them back to the kernel.

Every op returns a fresh NumPy array, and NumPy gets its memory from the C library's ``malloc``. glibc's
``malloc`` serves a large request (above ``M_MMAP_THRESHOLD``, 128 KiB to 32 MiB, adjusted as it goes) with
a fresh ``mmap``, and gives the top of its heap back to the kernel once more than ``M_TRIM_THRESHOLD`` of
it is free. Either way the next step's buffers are brand-new pages: the kernel must fault in and zero
every 4 KiB page (or 2 MiB huge page) on first touch. On a softmax forward + backward over a (4096, 1024)
float32 batch that is ~1,500 page faults per step and half of its time (14 ms -> 7 ms here without them).

A training loop allocates the same sizes step after step, so the cure is the one PyTorch's CUDA caching
allocator applies on the GPU: keep freed memory for reuse. Here it is two ``mallopt`` settings, raised
once at ``import ember``:

- ``M_MMAP_THRESHOLD`` = 1 GiB: buffers up to 1 GiB come from the heap (bigger ones still get their own
  ``mmap`` and go back to the kernel as soon as they are freed);
- ``M_TRIM_THRESHOLD`` = 1 GiB: up to 1 GiB of free heap is kept for the next step.

The price is that a process's resident memory stays near its peak after a big step (not more than the
peak: the freed pages are reused, not added to). Set ``EMBER_MALLOC_TUNE=0`` to keep glibc's defaults;
other C libraries (macOS, Windows, musl) are left alone.
"""
import ctypes
import os
import sys

__all__ = ["tune_malloc", "TUNED"]

_M_TRIM_THRESHOLD = -1   # mallopt parameter numbers from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_KEEP = 1 << 30           # bytes

TUNED = False


def tune_malloc(keep=_KEEP):
    """Raise glibc's mmap and trim thresholds to ``keep`` bytes; returns True where it took effect."""
    global TUNED
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only: musl's mallopt is a no-op stub
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    TUNED = bool(mallopt(_M_MMAP_THRESHOLD, keep)) & bool(mallopt(_M_TRIM_THRESHOLD, keep))
    return TUNED


if os.environ.get("EMBER_MALLOC_TUNE", "1") != "0":
    tune_malloc()
