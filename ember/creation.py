"""Making tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``), filled (``zeros``, ``full``, ``eye`` ...),
ranges (``arange``, ``linspace``) and random draws (``rand``, ``randn``, ``randint`` ...).

Every creator takes torch's keywords ``dtype=``, ``device=`` and ``requires_grad=``. Floating results use
the default dtype (float32) unless told otherwise; Python ints give int64, bools give bool.
"""
import math
import os

import numpy as np

from ._tensor import Tensor, wrap, is_array
from .dtypes import to_dtype, get_default_dtype, float32, int64
from .device import to_device_array, device as _device
from . import _settings
from .random import get_rng, _gen
from . import _sampling as S

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "arange", "range", "linspace", "logspace", "eye", "rand",
           "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "rand_like", "randn_like",
           "randint_like", "empty_strided", "scalar_tensor", "tril_indices", "triu_indices", "complex", "polar",
           "frombuffer", "poisson"]

_builtin_range = range


def _finish(arr, device=None, requires_grad=False):
    """Place the array on ``device`` (none given: the default device, see ``set_default_device``) and wrap it."""
    if device is None:
        device = _settings.default_device()
    if device is not None:
        d = _device(device)
        if d.type != "cpu":
            arr = to_device_array(arr, d)
    t = wrap(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def _size(size, name=None):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) and not (isinstance(s, Tensor) and s.numel() == 1):
            raise TypeError(f"expected a sequence of integers or a single integer, got '{size}'")
    size = tuple(int(s) for s in size)
    for pos, s in enumerate(size, 1):
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        if s >= 1 << 63:  # torch's argument parser reads each size as a C long long
            raise TypeError(f"{name or 'empty'}(): argument 'size' failed to unpack the object at pos {pos} "
                            f"with error \"Overflow when unpacking long long\n\"")  # (torch's line break)
    return size


_memory_limit = None


def _check_alloc(size, dtype):
    """Refuse, with torch's CPU-allocator error, an array this machine could never hold, *before*
    NumPy tries: a lazily-zeroed ``np.zeros(10**12)`` may "succeed" and fail later, and NumPy's own
    failure is a ``MemoryError`` where torch raises ``RuntimeError``. One product and one compare,
    so normal allocations pay nothing noticeable."""
    global _memory_limit
    n = math.prod(size)
    if n < 1 << 26:  # under 1 GiB whatever the dtype (16-byte elements at most): the common case
        return
    nbytes = n * np.dtype(dtype).itemsize
    if nbytes >= 1 << 63:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)}")
    if _memory_limit is None:
        _memory_limit = _ram_and_swap()
    if nbytes > _memory_limit:
        raise _alloc_error(nbytes)


def _alloc_error(nbytes):
    return RuntimeError(f"[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                        f"memory: you tried to allocate {nbytes} bytes. Error code 12 (Cannot allocate memory)")


def _ram_and_swap():
    """Physical memory plus swap: what Linux's overcommit heuristic lets one allocation reach."""
    total = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(("MemTotal:", "SwapTotal:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if not total:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = 1 << 62
    return total


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or get_default_dtype()).np
    return to_dtype(dtype).np


def _infer_array(data, exact=False, as_float=False):
    """NumPy array for nested Python data, with torch's dtype inference (``exact``: keep Python floats in
    float64, for a caller that casts to an explicit dtype itself -- tensor(0.7, dtype=float64) is exact)."""
    if isinstance(data, Tensor):
        return data._data
    if is_array(data):
        return data
    if isinstance(data, (list, tuple)) and _has_tensors(data):
        data = _tensors_to_lists(data)
    try:
        arr = np.array(data)
    except ValueError:
        _ragged_error(data)
        raise
    if (arr.dtype == object or arr.dtype == np.uint64) and not isinstance(data, np.generic) and _big_int(data):
        if not (as_float or _has_float(data)):
            raise ValueError("Overflow when unpacking long long")  # torch reads Python ints as C long long
        arr = np.array(data, dtype=np.float64)  # with a float (value or dtype) torch reads them as doubles
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}" if not isinstance(data, (list, tuple))
                        else "expected sequence of equal-length lists (ragged nested sequence)")
    if arr.dtype.kind == "U" or arr.dtype.kind == "S":
        raise TypeError(f"new(): invalid data type 'str'")
    if not isinstance(data, np.generic):  # Python numbers: torch's defaults, not NumPy's
        if arr.dtype == np.float64 and not exact:
            arr = arr.astype(get_default_dtype().np)
        elif arr.dtype == np.complex128:
            arr = arr.astype(np.complex64 if get_default_dtype() is float32 else np.complex128)
        elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
    return arr


def _has_float(data):
    if isinstance(data, (list, tuple)):
        return any(_has_float(e) for e in data)
    return isinstance(data, float)


def _big_int(data):
    """Whether nested Python data holds an int outside int64 (only looked for after NumPy fell back to
    object or uint64, so ordinary tensors pay nothing)."""
    if isinstance(data, (list, tuple)):
        return any(_big_int(e) for e in data)
    return isinstance(data, int) and not isinstance(data, bool) and not -(1 << 63) <= data < (1 << 63)


def _ragged_error(data, dim=0):
    """torch's message for nested lists of unequal lengths: the first dim where a length differs."""
    if not isinstance(data, (list, tuple)) or not data:
        return
    subs = [e for e in data if isinstance(e, (list, tuple))]
    if subs and len(subs) != len(data):
        raise TypeError("not a sequence")
    if not subs:
        return
    n = len(subs[0])
    for e in subs:
        if len(e) != n:
            raise ValueError(f"expected sequence of length {n} at dim {dim + 1} (got {len(e)})")
    for e in subs:
        _ragged_error(e, dim + 1)


def _has_tensors(seq):
    for e in seq:
        if isinstance(e, Tensor):
            return True
        if isinstance(e, (list, tuple)) and _has_tensors(e):
            return True
    return False


def _tensors_to_lists(seq):
    out = []
    for e in seq:
        if isinstance(e, Tensor):
            out.append(e.tolist())
        elif isinstance(e, (list, tuple)):
            out.append(_tensors_to_lists(e))
        else:
            out.append(e)
    return out


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors)."""
    arr = _infer_array(data, exact=dtype is not None,
                       as_float=dtype is not None and (to_dtype(dtype).is_floating_point or to_dtype(dtype).is_complex))
    arr = np.array(arr, dtype=None if dtype is None else to_dtype(dtype).np, copy=True) if isinstance(arr, np.ndarray) \
        else arr.astype(arr.dtype if dtype is None else to_dtype(dtype).np, copy=True)
    if device is None and isinstance(data, Tensor):
        device = data.device
    return _finish(arr, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory when ``data`` already is a tensor/array of the right dtype and device."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device is not None or dtype is not None) else data
    arr = _infer_array(data)
    if dtype is not None:
        arr = arr.astype(to_dtype(dtype).np, copy=False)
    return _finish(arr, device)


def asarray(obj, dtype=None, device=None, copy=None, requires_grad=False):
    t = as_tensor(obj, dtype, device) if not copy else tensor(obj, dtype, device)
    if requires_grad:
        t.requires_grad_()
    return t


def from_numpy(arr):
    """A tensor sharing memory with the NumPy array ``arr`` (writes through both ways)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    if arr.dtype == object or arr.dtype.newbyteorder("=") not in _OK_DTYPES:
        raise TypeError(f"can't convert np.ndarray of type numpy.{arr.dtype}. The only supported types are: "
                        "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, and bool.")
    return wrap(arr)


_OK_DTYPES = {np.dtype(t) for t in (np.float64, np.float32, np.float16, np.complex64, np.complex128, np.int64,
                                    np.int32, np.int16, np.int8, np.uint8, np.bool_)}


def frombuffer(buffer, dtype, count=-1, offset=0, requires_grad=False):
    return wrap(np.frombuffer(buffer, dtype=to_dtype(dtype).np, count=count, offset=offset), requires_grad)


def _filled(fill, size, dtype, device, requires_grad, default=None, name=None):
    size = _size(size, name)
    dt = _np_dtype(dtype, default)
    _check_alloc(size, dt)
    try:
        arr = np.full(size, fill, dtype=dt) if fill is not None else np.empty(size, dtype=dt)
    except MemoryError:
        raise _alloc_error(math.prod(size) * np.dtype(dt).itemsize) from None
    return _finish(arr, device, requires_grad)


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _filled(0, size, dtype, device, requires_grad, name="zeros")


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return _filled(1, size, dtype, device, requires_grad, name="ones")


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    return _filled(None, size, dtype, device, requires_grad, name="empty")


def empty_strided(size, stride, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return empty(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """Filled with ``fill_value``; the dtype follows the value (bool, int64, or the default float)."""
    if dtype is None:
        from .dtypes import _scalar_dtype
        dtype = _scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype, device, requires_grad,
                   name="full")


def scalar_tensor(s, dtype=None, device=None, requires_grad=False):
    return _finish(np.asarray(s, dtype=_np_dtype(dtype)), device, requires_grad)


def _like(t, fill, dtype, device, requires_grad):
    dt = t.dtype if dtype is None else to_dtype(dtype)
    return _filled(fill, t.shape, dt, device if device is not None else t.device, requires_grad)


def zeros_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like(input, 0, dtype, device, requires_grad)


def ones_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like(input, 1, dtype, device, requires_grad)


def empty_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like(input, None, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _like(input, fill_value, dtype, device, requires_grad)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start, end=None, step=1, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """[start, end) in steps; integer arguments give int64, any float gives the default float dtype."""
    if end is None:
        start, end = 0, start
    start, end, step = _num(start), _num(end), _num(step)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) else get_default_dtype()
    dt = to_dtype(dtype)
    n = max(int(math.ceil((end - start) / step)), 0)
    _check_alloc((n,), dt.np if dt.is_floating_point else np.int64)
    arr = (start + step * np.arange(n, dtype=np.float64)).astype(dt.np) if dt.is_floating_point else \
        np.arange(start, end, step).astype(dt.np)
    return _finish(arr, device, requires_grad)


def range(start=0, end=None, step=1, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Deprecated torch.range: includes ``end``; floats by default."""
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    arr = (start + step * np.arange(n, dtype=np.float64)).astype(_np_dtype(dtype))
    return _finish(arr, device, requires_grad)


def linspace(start, end, steps, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from start to end inclusive (torch computes symmetric halves)."""
    start, end = _num(start), _num(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = _np_dtype(dtype)
    if steps == 1:
        arr = np.array([start], dtype=np.float64)
    else:
        step = (end - start) / (steps - 1)
        i = np.arange(steps, dtype=np.float64)
        half = steps // 2
        arr = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    return _finish(arr.astype(dt), device, requires_grad)


def logspace(start, end, steps, base=10.0, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    lin = linspace(start, end, steps, dtype="float64")._data
    return _finish((base ** lin).astype(_np_dtype(dtype)), device, requires_grad)


def eye(n, m=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.eye(n, n if m is None else m, dtype=_np_dtype(dtype)), device, requires_grad)


def tril_indices(row, col, offset=0, dtype=None, device=None, layout=None):
    r, c = np.tril_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_np_dtype(dtype, int64)), device)


def triu_indices(row, col, offset=0, dtype=None, device=None, layout=None):
    r, c = np.triu_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_np_dtype(dtype, int64)), device)


# ---- random ------------------------------------------------------------------------------------------
# Every sampler draws from ``ember.random``'s Mersenne twister with torch's CPU algorithm (ember/_sampling.py),
# so the same seed gives PyTorch's numbers.
def _float_draw(kind, size, generator, dtype):
    dt = np.dtype(_np_dtype(dtype))
    if dt.kind == "c":  # complex: torch fills the (…, 2) real view; a complex normal has variance 1 in all
        real = np.float32 if dt == np.complex64 else np.float64
        pairs = _float_draw(kind, tuple(size) + (2,), generator, real)
        out = np.ascontiguousarray(pairs).view(dt)[..., 0]
        return out * real(np.sqrt(0.5)) if kind == "n" else out
    if dt.kind not in "fV":  # bfloat16 (ml_dtypes) has kind "V"
        name = "check_uniform_bounds" if kind == "u" else "normal_kernel_cpu"
        raise NotImplementedError(f"\"{name}\" not implemented for '{to_dtype(dtype).scalar_name}'")
    n = int(np.prod(size, dtype=np.int64))
    g = _gen(generator)
    if n == 0:
        return np.empty(size, dt)
    draw = S.uniform(g, n, dt) if kind == "u" else S.normal(g, n, dt)
    return draw.reshape(size)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """Uniform on [0, 1): float32 from 24 random bits, float64 from 53 (torch's algorithm)."""
    size = _size(size, "rand")
    _check_alloc(size, _np_dtype(dtype))
    return _finish(_float_draw("u", size, generator, dtype), device, requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    """Standard normal N(0, 1) by torch's Box-Muller (blocks of 16 when 16 or more values)."""
    size = _size(size, "randn")
    _check_alloc(size, _np_dtype(dtype))
    return _finish(_float_draw("n", size, generator, dtype), device, requires_grad)


def rand_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
              generator=None):
    return rand(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad, generator=generator)


def randn_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
               generator=None):
    return randn(*input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad, generator=generator)


def randint(low=0, high=None, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """Integers uniform on [low, high) (int64 unless ``dtype``): ``random() % (high - low) + low``."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if high is None:
        low, high = 0, low
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    shape = _size((size,) if isinstance(size, int) else tuple(size), "randint")
    _check_alloc(shape, np.int64)
    n = int(np.prod(shape, dtype=np.int64))
    arr = S.random_from_to(_gen(generator), n, low, high, _np_dtype(dtype, int64)).reshape(shape)
    return _finish(arr, device, requires_grad)


def randint_like(input, low=0, high=None, dtype=None, layout=None, device=None, requires_grad=False,
                 memory_format=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, device=device or input.device,
                   generator=generator)


def randperm(n, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of 0..n-1 (torch's swap algorithm: r[i] <-> r[i + random() % (n - i)])."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    return _finish(S.randperm(_gen(generator), n).astype(_np_dtype(dtype, int64)), device, requires_grad)


def normal(mean=0.0, std=1.0, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """N(mean, std): tensors broadcast against each other, or numbers with ``size``.

    As in torch, the tensor overloads draw a standard normal of the output's shape and dtype
    (``normal_(0, 1)``), then compute ``z * std + mean``."""
    g = _gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(std, Tensor) and (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        if not isinstance(std, Tensor) and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        dt = np.dtype(ref._data.dtype)
        n = int(np.prod(shape, dtype=np.int64))
        if isinstance(std, Tensor):       # normal_(0, 1), then * std, then + mean
            z = S.normal(g, n, dt).reshape(shape) if n else np.empty(shape, dt)
            z = z * np.asarray(s, dt)
        else:                              # normal_(0, std), then + mean
            z = S.normal(g, n, dt, 0.0, float(s)).reshape(shape) if n else np.empty(shape, dt)
        return _finish((z + (np.asarray(m, dt) if isinstance(mean, Tensor) else dt.type(m))).astype(dt), device)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    size = _size((size,) if isinstance(size, int) else tuple(size or ()))
    dt = np.dtype(_np_dtype(dtype))
    n = int(np.prod(size, dtype=np.int64))
    arr = S.normal(g, n, dt, float(mean), float(std)).reshape(size) if n else np.empty(size, dt)
    return _finish(arr, device, requires_grad)


def bernoulli(input, p=None, generator=None, out=None):
    """1 with probability ``input`` (or ``p``), else 0; same dtype as input."""
    x = input._data
    if p is None:
        if ((x < 0) | (x > 1)).any():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        draw = S.bernoulli_tensor(_gen(generator), np.ascontiguousarray(x))
    else:
        draw = S.bernoulli_scalar(_gen(generator), x.size, p).reshape(x.shape)
    return wrap(S.to_dtype(draw, x.dtype))


def poisson(input, generator=None):
    """Poisson counts with rates ``input`` (torch's CPU sampler and stream)."""
    x = input._data if isinstance(input._data, np.ndarray) else input._data.get()
    if (x < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return wrap(S.to_dtype(S.poisson(_gen(generator), x).reshape(x.shape), x.dtype))


def multinomial(input, num_samples, replacement=False, generator=None, out=None):
    """Category indices drawn with probabilities proportional to the rows of ``input`` (int64), torch's way:
    without replacement (or one sample) the top-k of ``p / q`` with ``q ~ Exponential(1)``; with
    replacement, a binary search of each 53-bit uniform in the row's normalised cumulative sum."""
    p = input._data
    one = p.ndim == 1
    if one:
        p = p[None]
    if (p < 0).any() or not np.isfinite(p).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (p.sum(-1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > p.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    out = S.multinomial(_gen(generator), np.ascontiguousarray(p), int(num_samples), replacement)
    return wrap(out[0] if one else out)


def complex(real, imag, *, out=None):
    """real + i·imag (float32 parts give complex64), differentiable in both."""
    from .ops.complex import Complex
    return Complex.apply(real, imag)


def polar(abs, angle, *, out=None):
    """abs · e^{i·angle}, differentiable in both."""
    from .ops.complex import polar as _polar
    return _polar(abs, angle)


def _legacy_new(cls, *args, **kwargs):
    """``torch.Tensor(...)``: ``Tensor()`` empty, ``Tensor(2, 3)`` uninitialised, ``Tensor(data)`` a copy, all in the
    default dtype (the rules of the typed constructors, see ``ember/_legacy_tensors.py``)."""
    from ._legacy_tensors import legacy_new
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0]  # torch.Tensor(t) is t itself, whatever its dtype
    t = legacy_new(get_default_dtype(), *args, device=kwargs.get("device"))
    if cls is not Tensor:
        t.__class__ = cls
    return t
