"""Compiled (Numba) inner loops for ``ember/_sampling.py``, used when Numba is installed.

Same arithmetic as the NumPy code paths, one element at a time in machine code: a hardware fused
multiply-add (LLVM's ``fma``) where torch's kernels fuse, float32 where torch computes in float32, glibc's
libm for float64 log/exp/... The NumPy paths and these loops give identical bits (tests/test_random.py checks
both against torch); the loops are just several times faster on large tensors. Numba is imported and the
loops are built lazily, the first time a draw of at least ``MIN_SIZE`` values asks for them, so small
scripts never pay Numba's start-up (about a second).
"""
import math
import types

import numpy as np

from ._jit import MIN_SIZE as _MIN_SIZE, sampling_kernels

__all__ = ["MIN_SIZE", "kernels", "make_poisson"]

MIN_SIZE = _MIN_SIZE
kernels = sampling_kernels
"""``kernels(n)``: the compiled kernels (a namespace) when Numba is installed and ``n`` values are worth
compiling for; else None (callers then use their NumPy code paths)."""


def make_poisson(_fma):
    """torch's sample_poisson loop, written once for both Python and Numba (``_fma`` is the fused
    multiply-add to use)."""
    def poisson(lam, u, out, fused):
        """torch's CPU sample_poisson for each rate in ``lam``, drawing 53-bit uniforms from ``u`` in order.
        Returns how many uniforms were used, or -1 if ``u`` ran out (the caller retries with more)."""
        j = 0
        nu = u.size
        for i in range(lam.size):
            lmb = lam[i]
            if lmb >= 10:   # transformed rejection (Hoermann, 1993)
                slam = math.sqrt(lmb)
                loglam = math.log(lmb)
                b = _fma(2.53, slam, 0.931) if fused else 0.931 + 2.53 * slam
                a = _fma(0.02483, b, -0.059) if fused else -0.059 + 0.02483 * b
                invalpha = 1.1239 + 1.1328 / (b - 3.4)
                vr = 0.9277 - 3.6224 / (b - 2)
                while True:
                    if j + 2 > nu:
                        return -1
                    U = u[j] - 0.5
                    V = u[j + 1]
                    j += 2
                    us = 0.5 - abs(U)
                    t = (_fma(2 * a / us + b, U, lmb) if fused else (2 * a / us + b) * U + lmb) + 0.43
                    k = np.int64(math.floor(t))
                    if us >= 0.07 and V <= vr:
                        break
                    if k < 0 or (us < 0.013 and V > us):
                        continue
                    rhs = (_fma(float(k), loglam, -lmb) if fused else -lmb + k * loglam) - math.lgamma(float(k) + 1)
                    if math.log(V) + math.log(invalpha) - math.log(a / (us * us) + b) <= rhs:
                        break
                out[i] = k
            elif lmb == 0:
                out[i] = 0
            else:           # multiply uniforms until the product falls below exp(-lambda)
                enlam = math.exp(-lmb)
                x = 0
                prod = 1.0
                while True:
                    if j >= nu:
                        return -1
                    prod *= u[j]
                    j += 1
                    if prod > enlam:
                        x += 1
                    else:
                        break
                out[i] = x
        return j
    return poisson
