"""Compiled update loops: SGD and Adam/AdamW as one pass over memory (Numba).

The reference optimizers (``sgd.py``, ``adam.py``) write each update as a chain of NumPy calls over
cache-sized blocks: Adam is about a dozen passes, each one a trip through the block. The loops here do the
whole formula for one element before moving to the next, so each array is read once and written once
and nothing is stored in between -- what PyTorch's fused kernels do.

They must give the *same float32 bits* as the NumPy kernels, which follow torch's arithmetic step by step.
So every line below is one NumPy call of the reference, in its order, rounded to float32 after each
operation:

* The hyperparameters arrive as ``np.float32`` numbers already rounded the way NumPy rounds a Python
  float it multiplies a float32 array by (``v *= beta2`` computes ``v * float32(beta2)``), and combined
  ones (``1 - dampening``, ``-lr``, ``1 - lr * weight_decay``) are formed in Python's float64 first, as
  the reference forms them.
* No ``fastmath``: the compiler may not fuse ``a * b + c`` into one fused multiply-add (one rounding
  instead of two) or reorder sums. Element-wise loops still vectorise without it, since each element's
  arithmetic is independent. ``error_model="numpy"``: ``x / 0`` is inf or NaN, as in NumPy, not an error.
* The flags (momentum, nesterov, maximize ...) are loop-invariant booleans: the branches are the same for
  every element, so they cost nothing measurable, and each mirrors an ``if`` of the reference kernel.

Each loop updates elements ``lo:hi`` of flat C-contiguous arrays and releases the GIL (``nogil``), so
``Optimizer._foreach_block`` can give one slab to each core (``ember._parallel.split_work``). The module
is imported lazily (``ember._jit.LazyKernels``) the first time a large float32 parameter is updated (then
small ones use it too: one call costs about a microsecond); the machine code is cached on disk
(``cache=True``).
"""
import numba
import numpy as np

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")


@_jit
def sgd(p, g, buf, lo, hi, neg_lr, momentum, one_minus_dampening, weight_decay,
        maximize, decay, use_momentum, first, dampened, nesterov):
    """SGD on ``p[lo:hi]`` (torch's ``_single_tensor_sgd``, as ``sgd._sgd_kernel`` rounds it)::

        d <- -g if maximize;  d <- d + weight_decay * p         (decay: weight_decay != 0)
        b <- d (first step)  or  b <- momentum * b + (1 - dampening) * d   (the factor only if dampened)
        d <- d + momentum * b (nesterov)  or  d <- b
        p <- p + (-lr) * d

    ``buf`` is not touched without momentum (pass any float32 array)."""
    p, g, buf = p[lo:hi], g[lo:hi], buf[lo:hi]     # slices: indices from 0 (no negative-index checks)
    for i in range(p.shape[0]):
        pi = p[i]
        d = g[i]
        if maximize:
            d = -d
        if decay:
            d = d + pi * weight_decay
        if use_momentum:
            if first:
                b = d
            elif dampened:
                b = buf[i] * momentum + d * one_minus_dampening
            else:
                b = buf[i] * momentum + d
            buf[i] = b
            if nesterov:
                d = d + b * momentum
            else:
                d = b
        p[i] = pi + d * neg_lr


@_jit
def adam(p, g, m, v, vmax, lo, hi, shrink, weight_decay, w, lerp_small, one_minus_beta2, beta2,
         bias_correction2_sqrt, eps, neg_step_size, decoupled, decay, maximize, amsgrad):
    """Adam / AdamW on ``p[lo:hi]`` (torch's ``_single_tensor_adam``, as ``adam._adam_kernel`` rounds it)::

        p <- p * (1 - lr wd)                     (decoupled: AdamW)
        d <- -g if maximize;  d <- d + wd * p    (decay, not decoupled: Adam's L2 penalty)
        m <- lerp(m, d, w), w = 1 - beta1        torch's lerp: m + w (d - m) for |w| < 0.5, else d - (1 - w)(d - m)
        v <- v * beta2 + (d * (1 - beta2)) * d
        vmax <- max(vmax, v)                     (amsgrad; then used in place of v)
        p <- p + (m * (-step_size)) / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    ``w`` is ``1 - beta1`` when ``lerp_small``, else ``1 - (1 - beta1)``; ``vmax`` is not touched without
    amsgrad (pass any float32 array)."""
    p, g, m, v, vmax = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi]
    for i in range(p.shape[0]):
        pi = p[i]
        if decoupled:
            pi = pi * shrink
        d = g[i]
        if maximize:
            d = -d
        if decay:
            d = d + pi * weight_decay
        mi = m[i]
        t = d - mi
        if lerp_small:
            mi = mi + t * w
        else:
            mi = d - t * w
        m[i] = mi
        vi = v[i] * beta2 + (d * one_minus_beta2) * d
        v[i] = vi
        if amsgrad:
            a = vmax[i]
            if not (a >= vi or a != a):     # np.maximum(vmax, v): the larger one, NaN if either is NaN
                a = vi
            vmax[i] = a
            vi = a
        denom = np.sqrt(vi) / bias_correction2_sqrt + eps
        p[i] = pi + (mi * neg_step_size) / denom
