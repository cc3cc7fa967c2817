"""Small helpers shared by the op files: operand arrays, dtype promotion, shape errors, dims."""
import numpy as np

from .._tensor import Tensor, wrap
from ..device import array_module
from ..dtypes import result_type, get_default_dtype, _scalar_dtype

__all__ = ["arrays2", "norm_dim", "norm_dims", "array_of", "is_tensor", "Tensor", "wrap", "array_module",
           "float_result"]


_TENSOR_TYPES = Tensor._subclasses  # the exact tensor classes (Tensor, Parameter, ...)


def is_tensor(x):
    return isinstance(x, Tensor)


def array_of(x):
    """The ndarray of a tensor, or the number itself."""
    return x._data if isinstance(x, Tensor) else x


def arrays2(a, b):
    """Arrays for a binary op on tensors/Python numbers, converted to torch's result dtype.

    Python numbers stay numbers: NumPy then keeps the tensor's dtype (NEP 50 "weak" scalars),
    which is torch's rule too whenever the number's category is not higher than the tensor's.
    """
    if b.__class__ is float and a.__class__ in _TENSOR_TYPES and a._data.dtype.kind in "fc":
        return a._data, b  # the common ``x * 0.5``: a float number never lifts a float tensor's dtype
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        xa, xb = a._data, b._data
        if xa.dtype != xb.dtype:
            dt = result_type(a, b).np
            if xa.dtype != dt:
                xa = xa.astype(dt)
            if xb.dtype != dt:
                xb = xb.astype(dt)
        if xa.shape != xb.shape:
            _check_broadcast(xa.shape, xb.shape)
        if type(xa) is not type(xb):
            _device_mismatch(a, b)
        return xa, xb
    if ta:
        xa = a._data
        if _needs_cast(xa.dtype, b):
            xa = xa.astype(result_type(a, b).np)
        return xa, _wrap_int(b, xa.dtype)
    xb = b._data
    if _needs_cast(xb.dtype, a):
        xb = xb.astype(result_type(a, b).np)
    return _wrap_int(a, xb.dtype), xb


def _wrap_int(s, dt):
    """A Python int outside a small integer dtype's range wraps around (torch: int8 tensor + 1000 stays int8)."""
    if dt.kind in "iu" and isinstance(s, int) and not isinstance(s, bool):
        info = np.iinfo(dt)
        if not info.min <= s <= info.max:
            return np.asarray(s % (1 << 64) if s < 0 else s, dtype=np.uint64).astype(dt)
    return s


def _needs_cast(dt, scalar):
    """Does a Python number lift this array's dtype (bool array + 1, int array + 0.5)?"""
    k = dt.kind
    if k == "f" or k == "c":
        return isinstance(scalar, complex) and k == "f"
    if k == "b":
        return not isinstance(scalar, (bool, np.bool_))
    return isinstance(scalar, (float, complex, np.floating))


def float_result(x):
    """For ops that always give floats (div, sqrt, exp ...): integer/bool arrays become the default dtype."""
    if x.dtype.kind in "fcV":
        return x
    return x.astype(get_default_dtype().np)


def _check_broadcast(sa, sb):
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {i}")


def _device_mismatch(a, b):
    from ..hints import add_hint
    raise add_hint(RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                                f"{a.device} and {b.device}!"), "device")


def norm_dim(dim, ndim):
    """Wrap a possibly negative ``dim`` into ``range(ndim)`` (0-d tensors accept -1 and 0)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def norm_dims(dim, ndim):
    """``dim`` as a sorted tuple of non-negative axes; ``None`` or ``()`` means all axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (norm_dim(int(dim), ndim),) if ndim else ()
    dims = tuple(norm_dim(int(d), ndim) for d in dim) if ndim else ()
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return tuple(sorted(dims)) if dims or len(dim) else tuple(range(ndim))


def check_index_range(i, size, dim, kind="gather", wrap_negative=False):
    """Raise torch's error when the integer index array ``i`` holds a value outside ``[0, size)``
    (``[-size, size)`` for ops that wrap negative indices, as ``take`` and ``index_fill`` do).

    NumPy would wrap a negative index silently (a wrong answer, not an error); torch checks.
    Cost: one min and one max; the offending value (the first in order) is found only on error.
    ``kind`` picks torch's wording for the op family."""
    if not i.size:
        return
    low = -size if wrap_negative else 0
    if int(i.min()) >= low and int(i.max()) < size:
        return
    xp = array_module(i)
    flat = i.reshape(-1)
    pos = int(xp.argmax((flat < low) | (flat >= size)))
    v = int(flat[pos])
    if kind == "gather":  # gather, scatter*, index_add
        raise RuntimeError(f"index {v} is out of bounds for dimension {dim} with size {size}")
    if kind == "index_select":
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={v} axis_dim={size}")
    if kind == "index_select_1d":
        raise IndexError("index out of range in self")
    if kind == "index_copy":
        raise IndexError(f"index_copy_(): index {v} is out of bounds for dimension {dim} with size {size}")
    if kind == "index_fill":
        raise IndexError(f"index {v} is out of bounds for dimension {dim} with size {size}")
    if kind == "take":
        raise IndexError(f"out of range: tried to access index {v} on a tensor of {size} elements.")
    if kind == "embedding_bag":
        raise RuntimeError(f"Index {pos} of input takes value {v} which is not in the valid range [0, {size})")
    raise RuntimeError(f"index {v} is out of bounds for dimension {dim} with size {size}")


def float32_inside(forward):
    """Decorate a ``forward`` so bfloat16 inputs are computed in float32 and the result rounded once.

    torch's CPU kernels for reductions and fused formulas (softmax, norms, losses, attention) load
    bfloat16, compute in float32 and store bfloat16; NumPy would round after every step. When every
    floating tensor argument is bfloat16, the decorated forward sees float32 copies and its float32
    outputs become bfloat16. Its backward then works in float32 too, and the engine rounds the
    gradients to the inputs' bfloat16 -- once, as torch does."""
    import functools

    @functools.wraps(forward)
    def wrapped(ctx, *args, **kwargs):
        kinds = [a._data.dtype.kind for a in args if isinstance(a, Tensor) and a._data.dtype.kind in "fcV"]
        if not kinds or any(k != "V" for k in kinds):
            return forward(ctx, *args, **kwargs)
        low = next(a._data.dtype for a in args if isinstance(a, Tensor) and a._data.dtype.kind == "V")
        up = [wrap(a._data.astype(np.float32)) if isinstance(a, Tensor) and a._data.dtype.kind == "V" else a
              for a in args]
        ctx._float32_inside = low    # backward (decorated too) takes its bfloat16 grads as float32
        out = forward(ctx, *up, **kwargs)

        def down(o):
            return o.astype(low) if getattr(o, "dtype", None) == np.float32 else o
        return tuple(down(o) for o in out) if isinstance(out, tuple) else down(out)
    return wrapped


def float32_inside_backward(backward):
    """The backward of a ``float32_inside`` forward: its incoming bfloat16 gradients become float32."""
    import functools

    @functools.wraps(backward)
    def wrapped(ctx, *grads):
        if getattr(ctx, "_float32_inside", False):
            grads = [g.float() if isinstance(g, Tensor) and g._data.dtype.kind == "V" else g for g in grads]
        return backward(ctx, *grads)
    return wrapped
