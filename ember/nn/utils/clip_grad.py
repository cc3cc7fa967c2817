"""Gradient clipping: keep one bad batch from blowing up the weights.

``clip_grad_norm_`` treats all gradients as one long vector ``g`` and, when ``||g||_p > max_norm``,
scales every gradient by ``max_norm / (||g||_p + 1e-6)``. ``clip_grad_value_`` clamps each entry to
``[-clip_value, clip_value]``. Both change ``p.grad`` in place (no autograd involved).
"""
import types
import warnings

import numpy as np

from ember._tensor import Tensor, wrap
from ember.device import array_module

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _vector_norm(arr, p):
    """The p-norm of all entries of ``arr`` (a 0-d array of arr's dtype), like torch.linalg.vector_norm."""
    xp = array_module(arr)
    a = xp.abs(arr)
    if p == float("inf"):
        return a.max() if a.size else xp.zeros((), arr.dtype)
    if p == float("-inf"):
        return a.min()
    if p == 0:
        return xp.asarray(xp.count_nonzero(a), dtype=arr.dtype)
    if p == 1:
        return a.sum(dtype=arr.dtype)
    if p == 2:
        return xp.sqrt(xp.sum(a * a, dtype=arr.dtype))
    return xp.sum(a ** arr.dtype.type(p), dtype=arr.dtype) ** arr.dtype.type(1.0 / p)


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of the norms of ``tensors``: the norm of all of them concatenated into one vector."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return wrap(np.zeros((), np.float32))
    xp = array_module(tensors[0]._data)
    norms = [xp.asarray(_vector_norm(t._data, norm_type)) for t in tensors]
    dtype = np.result_type(*[n.dtype for n in norms])
    total = _vector_norm(xp.stack([n.astype(dtype) for n in norms]), norm_type)
    total = xp.asarray(total, dtype=dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`")
    return wrap(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale each ``p.grad`` in place by ``min(max_norm / (total_norm + 1e-6), 1)``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    tn = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm, np.float32)
    xp = array_module(tn)
    coef = xp.minimum(float(max_norm) / (tn + tn.dtype.type(1e-6)), tn.dtype.type(1.0))
    for g in grads:
        gx = array_module(g._data)
        with np.errstate(invalid="ignore", over="ignore"):  # a non-finite norm gives nan grads, as in torch
            g._data *= gx.asarray(coef).astype(g._data.dtype)
        g._bump()


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Clip the gradient norm of ``parameters`` (all grads as one vector) to ``max_norm``, in place.

    ``norm_type`` may be ``float('inf')``. Returns the total norm *before* clipping (a 0-d tensor).
    ``foreach`` is accepted for compatibility and ignored.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_`."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is not None:
            xp = array_module(g._data)
            xp.clip(g._data, -clip_value, clip_value, out=g._data)
            g._bump()
