"""PyTorch's CPU sampling algorithms, vectorised over the generator's raw words.

Each function takes an ``ember.Generator`` and returns a NumPy array drawn exactly as torch's CPU kernels
draw it (``aten/src/ATen/core/DistributionsHelper.h``, ``TransformationHelper.h``,
``native/cpu/DistributionTemplates.h``): same words consumed, same formulas, same rounding.

* uniform float32: ``(random() & 0xFFFFFF) * 2**-24``; float64: ``(random64() & (2**53-1)) * 2**-53``;
  ``uniform_(a, b)`` = ``fma(u, b - a, a)`` in the dtype, and a value equal to ``b`` becomes ``a``.
* normal, n >= 16 and contiguous: n uniforms, then Box-Muller per block of 16 (``u1 = 1 - d[j]``,
  ``u2 = d[j+8]``), the tail (n % 16) redrawn into the last 16 slots. Otherwise per element from two 53-bit
  uniforms, caching the pair's second value in the generator.
* integers: ``random() % range + low`` (``random64()`` when range >= 2**28).
"""
import numpy as np

from ._exact_math import avx_log, avx_sincos, fma32, fma64, libm
from . import _sampling_jit as _jit

_poisson_py = _jit.make_poisson(lambda a, b, c: float(fma64(a, b, c)))

_M24 = np.uint32(0xFFFFFF)
_M53 = np.uint64((1 << 53) - 1)
_TWO_PI32 = np.float32(2.0 * np.pi)
_REDUCED = ("float16", "bfloat16")


def to_dtype(values, dtype):
    """Cast sampled values as torch's ``static_cast`` does: float16/bfloat16 go through float32 (so a double
    is rounded twice, as in C++)."""
    dt = np.dtype(dtype)
    v = np.asarray(values)
    with np.errstate(over="ignore", invalid="ignore"):
        if dt.name in _REDUCED and v.dtype == np.float64:
            v = v.astype(np.float32)
        return v.astype(dt, copy=False)


def _opmath(dtype):
    """The dtype torch computes a float dtype's samples in (float16/bfloat16 -> float32)."""
    dt = np.dtype(dtype)
    return np.dtype(np.float32) if dt.name in _REDUCED or dt == np.float32 else np.dtype(np.float64)


def u24(g, n):
    """n float32 uniforms on [0, 1) from 24-bit words."""
    return (g._words(n) & _M24).astype(np.float32) * np.float32(2.0 ** -24)


def u53(g, n):
    """n float64 uniforms on [0, 1) from 53-bit words."""
    return (g._words64(n) & _M53).astype(np.float64) * (2.0 ** -53)


def _fma(a, b, c, dt):
    return fma32(a, b, c) if dt == np.float32 else fma64(a, b, c)


def _fma_exact_in_f64(d, a):
    """True when ``u*d + a`` (u a 24-bit uniform, d and a float32) is exact in float64 for every u, so plain
    float64 arithmetic then one rounding to float32 equals the fused multiply-add."""
    if a == 0 or d == 0:
        return True
    ed = int(np.floor(np.log2(abs(float(d))))) - 23 - 24   # exponent of the product's last bit
    ea = int(np.floor(np.log2(abs(float(a))))) - 23
    top = np.log2(abs(float(a)) + abs(float(d)))
    return top < min(ed, ea) + 52


def uniform(g, n, dtype, low=0.0, high=1.0):
    """``uniform_(low, high)`` for n values of ``dtype`` (a float dtype)."""
    dt = np.dtype(dtype)
    op = _opmath(dt)
    lo, hi = op.type(low), op.type(high)
    k = _jit.kernels(n) if op == np.float32 else None
    if k is not None:
        v = np.empty(n, np.float32)
        k.uniform_f32(g._words(n), lo, np.float32(hi - lo), np.float32(high), v)
        return to_dtype(v, dt)
    if op == np.float32:
        u = u24(g, n)
        if lo == 0 and hi == 1:
            v = u
        else:
            d = np.float32(hi - lo)
            if _fma_exact_in_f64(d, lo):
                v = (u.astype(np.float64) * np.float64(d) + np.float64(lo)).astype(np.float32)
            else:
                v = fma32(u, d, lo)
    else:
        u = u53(g, n)
        v = u if (lo == 0 and hi == 1) else fma64(u, hi - lo, lo)
    v = v.astype(dt, copy=False)
    to, frm = dt.type(high), dt.type(low)
    if np.any(v == to):
        v = np.where(v == to, frm, v)
    return v


def _box_muller_16(d, mean, std, dt):
    """Box-Muller on rows of 16 uniforms (shape (k, 16)), torch's normal_fill_16; returns (k, 16)."""
    k = _jit.kernels(d.size) if dt == np.float32 else None
    if k is not None:
        out = d if d.flags.c_contiguous and d.flags.writeable else np.array(d, np.float32, copy=True)
        affine = not (std == 1 and mean == 0)
        k.box_muller16_f32(out, np.float32(mean), np.float32(std), affine)
        return out
    if dt == np.float32:
        u1 = np.float32(1) - d[:, :8]
        r = np.sqrt(np.float32(-2) * avx_log(u1))
        s, c = avx_sincos(_TWO_PI32 * d[:, 8:])
        n1, n2 = r * c, r * s
    else:
        u1 = 1.0 - d[:, :8]
        r = np.sqrt(-2.0 * libm("log", u1))
        theta = (2.0 * np.pi) * d[:, 8:]
        n1, n2 = r * libm("cos", theta), r * libm("sin", theta)
    out = np.concatenate([n1, n2], axis=1)
    if std == 1 and mean == 0:
        return out
    if mean == 0:
        return out * dt.type(std)
    return _fma(out, dt.type(std), dt.type(mean), dt)


def _normal_fill(g, n, dt, mean, std, reduced=False):
    m = n // 16 * 16
    # float/double fill all n uniforms first (the n % 16 leftovers are overwritten by the tail block);
    # float16/bfloat16 draw block by block, so they skip those leftovers.
    d = uniform(g, m if reduced else n, np.float32) if dt == np.float32 else u53(g, n)
    if m == n:
        return _box_muller_16(d.reshape(-1, 16), mean, std, dt).reshape(-1)
    out = np.empty(n, dt)
    out[:m] = _box_muller_16(d[:m].reshape(-1, 16), mean, std, dt).reshape(-1)
    if n % 16:
        tail = u24(g, 16) if dt == np.float32 else u53(g, 16)
        out[n - 16:] = _box_muller_16(tail.reshape(1, 16), mean, std, dt).reshape(-1)
    return out


def normal_pairs(g, n, mean=0.0, std=1.0):
    """n float64 values from torch's per-element ``normal_distribution<double>`` (with the generator's
    cached spare): pairs (u1, u2) -> r = sqrt(-2 log1p(-u2)), theta = 2 pi u1, r cos, then r sin."""
    out = np.empty(n, np.float64)
    i = 0
    if n and g._normal64 is not None:
        out[0] = g._normal64
        g._normal64 = None
        i = 1
    rest = n - i
    if rest:
        k = (rest + 1) // 2
        u = u53(g, 2 * k).reshape(k, 2)
        r = np.sqrt(-2.0 * libm("log1p", -u[:, 1]))
        theta = 2.0 * np.pi * u[:, 0]
        pairs = np.stack([r * libm("cos", theta), r * libm("sin", theta)], axis=1).reshape(-1)
        out[i:] = pairs[:rest]
        if rest % 2:
            g._normal64 = float(pairs[-1])
    if std == 1 and mean == 0:
        return out
    return fma64(out, float(std), float(mean))


def normal(g, n, dtype, mean=0.0, std=1.0, contiguous=True):
    """``normal_(mean, std)`` for n values of ``dtype`` filled in storage order."""
    dt = np.dtype(dtype)
    if n >= 16 and contiguous:
        return to_dtype(_normal_fill(g, n, _opmath(dt), mean, std, dt.name in _REDUCED), dt)
    return to_dtype(normal_pairs(g, n, mean, std), dt)


def random_from_to(g, n, low, high, dtype=np.int64):
    """n integers uniform on [low, high): ``random() % range + low`` (random64 when range >= 2**28)."""
    rng = int(high) - int(low)
    if rng >= (1 << 28):
        v = (g._words64(n) % np.uint64(rng)).astype(np.int64) + np.int64(low)
    elif _jit.kernels(n) is not None:
        v = np.empty(n, np.int64)
        _jit.kernels(n).randint_u32(g._words(n), np.uint32(rng), np.int64(low), v)
    else:
        v = (g._words(n) % np.uint32(rng)).astype(np.int64) + np.int64(low)
    return v.astype(dtype, copy=False)


def random_full(g, n, dtype):
    """``random_()`` without bounds: [0, 2**mantissa] for floats, [0, max] for integers."""
    dt = np.dtype(dtype)
    name = dt.name
    if dt == np.bool_:
        return (g._words(n) & np.uint32(1)).astype(np.bool_)
    if dt in (np.int64, np.float64):
        w = g._words64(n)
        mod = (1 << 63) if dt == np.int64 else (1 << 53) + 1
        return (w % np.uint64(mod)).astype(np.int64).astype(dt)
    w = g._words(n).astype(np.uint64)
    if name in ("float32", "float16", "bfloat16"):
        digits = {"float32": 24, "float16": 11, "bfloat16": 8}[name]
        return (w % np.uint64((1 << digits) + 1)).astype(np.int64).astype(dt)
    return (w % np.uint64(int(np.iinfo(dt).max) + 1)).astype(dt)


def random_full_64(g, n, dtype):
    """``random_(from=int64 min, to=None)``: the full 64-bit range."""
    return g._words64(n).view(np.int64).astype(dtype)


def bernoulli_scalar(g, n, p):
    """n draws of ``u53 < p`` (torch's ``bernoulli_(float p)``), as bool."""
    k = g._words64(n) & _M53
    return k.astype(np.float64) * (2.0 ** -53) < float(p)


def bernoulli_tensor(g, p):
    """One draw per element of ``p`` (already broadcast to the output shape, storage order): float64 p compares a
    53-bit uniform, other float p a 24-bit float32 one."""
    p = np.asarray(p)
    n = p.size
    if p.dtype == np.float64:
        return u53(g, n).reshape(p.shape) < p
    return u24(g, n).reshape(p.shape) < p.astype(np.float32)


def exponential(g, n, lambd):
    """``-1/lambda * log1p(-u)`` in float64 (torch's exponential_distribution<double>)."""
    u = u53(g, n)
    return (-1.0 / float(lambd)) * libm("log1p", -u)


def geometric(g, n, p):
    u = u53(g, n)
    return np.ceil(libm("log", u) / libm("log1p", np.array([-float(p)]))[0])


def cauchy(g, n, median, sigma):
    u = u53(g, n)
    return float(median) + float(sigma) * libm("tan", np.pi * (u - 0.5))


def log_normal(g, n, mean, std):
    return libm("exp", normal_pairs(g, n, mean, std))


def randperm(g, n):
    """torch's CPU randperm: from arange, swap r[i] with r[i + random() % (n - i)] for i < n - 1."""
    if n < 2:
        return np.arange(n, dtype=np.int64)
    if n >= 214748364:
        raise RuntimeError("randperm: n >= 214748364 is not supported by Ember's torch-compatible sampler")
    w = g._words(n - 1)
    offs = (w % np.arange(n, 1, -1, dtype=np.uint32)).astype(np.int64) + np.arange(n - 1, dtype=np.int64)
    return _swap_perm(offs, n)


def _swap_perm(targets, n):
    """Apply the swaps ``r[i] <-> r[targets[i]]`` in order, starting from arange(n)."""
    k = _jit.kernels(n)
    if k is not None:
        r = np.arange(n, dtype=np.int64)
        k.swaps(targets, r)
        return r
    # The swaps are inherently sequential (each depends on the last); for small n (or without Numba) a plain
    # list is the fastest pure-Python form.
    r = list(range(n))
    for i, j in enumerate(targets.tolist()):
        r[i], r[j] = r[j], r[i]
    return np.array(r, dtype=np.int64)


def multinomial(g, probs, num_samples, replacement):
    """torch's CPU multinomial on a 2-D float array of rows (returns int64 (rows, num_samples))."""
    rows, k = probs.shape
    if not replacement or num_samples == 1:
        # argmax / top-k of p / q with q ~ Exponential(1) (the Gumbel trick, exponentiated)
        q = exponential(g, probs.size, 1.0).astype(probs.dtype).reshape(probs.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            key = probs / q
        if num_samples == 1:
            return np.argmax(key, axis=-1)[:, None].astype(np.int64)
        return np.argsort(-key, axis=-1, kind="stable")[:, :num_samples].astype(np.int64)
    acc = probs.astype(np.float32) if probs.dtype.name in _REDUCED else probs
    cum = np.cumsum(acc, axis=-1, dtype=acc.dtype)
    cum = cum / cum[:, -1:]
    cum[:, -1] = 1
    u = u53(g, rows * num_samples).reshape(rows, num_samples)
    out = np.empty((rows, num_samples), np.int64)
    c64 = cum.astype(np.float64)
    for r in range(rows):                       # rows are independent; each row is one vectorised search
        out[r] = np.searchsorted(c64[r], u[r], side="left")
    return out


def poisson(g, lam):
    """torch's CPU Poisson sampler, one rate per element in order: product of uniforms for rates < 10,
    Hoermann's transformed rejection for rates >= 10 (a variable number of 53-bit uniforms per value)."""
    lam = np.ascontiguousarray(lam, np.float64).reshape(-1)
    out = np.empty(lam.size, np.int64)
    if lam.size == 0:
        return out
    saved = g.get_state()
    guess = int(2 * lam.size + 2 * np.minimum(lam, 10).sum() + 64)
    while True:
        u = u53(g, guess)
        k = _jit.kernels(lam.size)
        used = (k.poisson if k is not None else _poisson_py)(lam, u, out, True)
        if used >= 0:
            break
        guess *= 2
        g.set_state(saved)
        saved = g.get_state()
    g.set_state(saved)                 # rewind, then consume exactly the words torch would have used
    if used:
        g._words(2 * used)
    return out
