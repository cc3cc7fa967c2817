"""``torch.*`` functions written as compositions of other tensor ops.

None of these needs a Function of its own: ``hypot(x, y)`` *is* ``sqrt(x*x + y*y)``, so autograd already
knows its derivative from the pieces. Integer-only ones (``gcd``, shifts, ``isin``) call the array module
directly: nothing to differentiate. Each function also becomes a Tensor method where torch has one (the
table at the end), with an in-place ``name_`` twin where torch has that.
"""
import builtins
import itertools
import math
from collections import namedtuple

import numpy as np

from . import functions as F
from ._tensor import Tensor, wrap
from .device import array_module
from .dtypes import result_type, to_dtype, get_default_dtype
from .creation import full_like as _full_like

__all__ = ["deg2rad", "rad2deg", "hypot", "logaddexp", "logaddexp2", "copysign", "heaviside", "gcd", "lcm",
           "bitwise_left_shift", "bitwise_right_shift", "ldexp", "frexp", "nextafter", "tile", "vsplit", "hsplit",
           "dsplit", "block_diag", "combinations", "cov", "corrcoef", "diagflat", "isin", "is_conj", "resolve_neg",
           "unique_consecutive", "unravel_index", "vander", "trapezoid", "trapz", "cumulative_trapezoid",
           "quantile", "nanquantile", "nanmedian", "renorm", "addbmm", "addr", "select_scatter", "slice_scatter",
           "diagonal_scatter", "typename", "set_warn_always", "is_warn_always_enabled", "histogram",
           "unsafe_chunk", "unsafe_split", "ravel", "index_reduce", "put", "conv_tbc", "empty_permuted", "gradient"]

frexp_type = namedtuple("frexp", ["mantissa", "exponent"])
histogram_type = namedtuple("histogram", ["hist", "bin_edges"])
nanmedian_type = namedtuple("nanmedian", ["values", "indices"])
for _t in (frexp_type, histogram_type, nanmedian_type):
    _t.__module__ = "torch.return_types"


def _as_tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return wrap(array_module(like._data).asarray(x, dtype=result_type(like, x).np))
    return wrap(np.asarray(x))


def _float(x):
    """Integer and bool tensors become the default float dtype (what torch's float-only ops return)."""
    return x if x.dtype.is_floating_point or x.dtype.is_complex else x.to(get_default_dtype())


# ---- pointwise ------------------------------------------------------------------------------------------
def deg2rad(input):
    """Degrees to radians: x * pi / 180."""
    return _float(input) * (math.pi / 180.0)


def rad2deg(input):
    """Radians to degrees: x * 180 / pi."""
    return _float(input) * (180.0 / math.pi)


def hypot(input, other):
    """sqrt(x^2 + y^2), the length of the hypotenuse."""
    return (input * input + other * other).sqrt()


def logaddexp(input, other):
    """log(e^x + e^y) without overflow: max(x, y) + log1p(e^-|x - y|)."""
    other = _as_tensor(other, input)
    m = F.maximum(input, other)
    with np.errstate(invalid="ignore"):  # inf - inf: replaced below
        d = -(input - other).abs()
    out = m + d.exp().log1p()
    return F.where((input == other) & m.isinf(), m, out)  # -inf and -inf (or inf and inf): no nan


def logaddexp2(input, other):
    """log2(2^x + 2^y) = max(x, y) + log2(1 + 2^-|x - y|)."""
    other = _as_tensor(other, input)
    m = F.maximum(input, other)
    with np.errstate(invalid="ignore"):  # inf - inf: replaced below
        d = -(input - other).abs()
    out = m + (d * math.log(2.0)).exp().log1p() / math.log(2.0)
    return F.where((input == other) & m.isinf(), m, out)


def copysign(input, other):
    """|x| with the sign of y (the sign bit: -0.0 counts as negative)."""
    other = _as_tensor(other, input)
    sign = F.where(F.signbit(other), -1.0, 1.0)
    return _float(input).abs() * sign.to(result_type(_float(input), other) if other.dtype.is_floating_point
                                         else _float(input).dtype)


def heaviside(input, values):
    """The step function: 0 for x < 0, ``values`` where x == 0, 1 for x > 0."""
    if input.dtype != values.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes ({input.dtype}, "
                           f"{values.dtype})")
    return F.where(input == 0, values, (input > 0).to(input.dtype))


def _int_binary(name, input, other):
    other = _as_tensor(other, input)
    for t in (input, other):
        if t.dtype.is_floating_point or t.dtype.is_complex:
            cname = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                     "complex64": "ComplexFloat", "complex128": "ComplexDouble"}[t.dtype.name]
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{cname}\'')  # torch's class and words
    xp = array_module(input._data)
    dt = result_type(input, other)
    return wrap(getattr(xp, {"gcd": "gcd", "lcm": "lcm", "lshift": "left_shift", "rshift": "right_shift"}[name])(
        input._data.astype(dt.np), other._data.astype(dt.np)).astype(dt.np))


def gcd(input, other):
    """Elementwise greatest common divisor of integer tensors (gcd(0, 0) = 0)."""
    return _int_binary("gcd", input, other)


def lcm(input, other):
    """Elementwise least common multiple of integer tensors."""
    return _int_binary("lcm", input, other)


def bitwise_left_shift(input, other):
    """x << y on integer tensors."""
    return _int_binary("lshift", input, other)


def bitwise_right_shift(input, other):
    """x >> y on integer tensors (arithmetic shift for signed types)."""
    return _int_binary("rshift", input, other)


def ldexp(input, other):
    """x * 2^y."""
    return _float(input) * F.pow(2.0, _as_tensor(other).to(_float(input).dtype))


def frexp(input):
    """(mantissa, exponent) with x = mantissa * 2^exponent and 0.5 <= |mantissa| < 1 (int32 exponents)."""
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    xp = array_module(input._data)
    m, e = xp.frexp(input._data)
    return frexp_type(wrap(m.astype(input._data.dtype)), wrap(e.astype(np.int32)))


def nextafter(input, other):
    """The next representable float after x in the direction of y."""
    other = _as_tensor(other, input)
    xp = array_module(input._data)
    dt = result_type(input, other)
    return wrap(xp.nextafter(input._data.astype(dt.np), other._data.astype(dt.np)))


# ---- shapes ---------------------------------------------------------------------------------------------
def tile(input, dims):
    """Repeat the tensor ``dims[i]`` times along each dim (missing leading dims count as 1, as numpy.tile)."""
    dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
    if len(dims) < input.dim():
        dims = (1,) * (input.dim() - len(dims)) + dims
    return input.reshape((1,) * (len(dims) - input.dim()) + tuple(input.shape)).repeat(*dims)


def _split_dir(input, indices_or_sections, dim, name, min_dim):
    if input.dim() < min_dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, but got a tensor "
                           f"with {input.dim()} dimensions!")
    if isinstance(indices_or_sections, int) and input.shape[dim] % indices_or_sections:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {indices_or_sections}!")
    return F.tensor_split(input, indices_or_sections, dim)


def vsplit(input, indices_or_sections):
    """Split along dim 0 (rows)."""
    return _split_dir(input, indices_or_sections, 0, "vsplit", 2)


def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for a 1-d tensor)."""
    return _split_dir(input, indices_or_sections, 1 if input.dim() > 1 else 0, "hsplit", 1)


def dsplit(input, indices_or_sections):
    """Split along dim 2 (depth)."""
    return _split_dir(input, indices_or_sections, 2, "dsplit", 3)


def block_diag(*tensors):
    """A block-diagonal matrix of the given matrices (0-d and 1-d ones count as one row)."""
    if not tensors:
        return wrap(np.empty((1, 0), dtype=get_default_dtype().np))
    mats = [t.reshape(1, -1) if t.dim() < 2 else t for t in tensors]
    for t in mats:
        if t.dim() != 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input 0 has "
                               f"{t.dim()} dimensions")
    dt = result_type(*mats) if len(mats) > 1 else mats[0].dtype
    total = builtins.sum(t.shape[1] for t in mats)
    from .nn.functional import pad
    rows, col = [], 0
    for t in mats:
        rows.append(pad(t.to(dt), (col, total - col - t.shape[1])))
        col += t.shape[1]
    return F.cat(rows, 0)


def combinations(input, r=2, with_replacement=False):
    """All length-``r`` combinations of a 1-d tensor's elements, one per row (like itertools.combinations)."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    n = input.shape[0]
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.fromiter(itertools.chain.from_iterable(gen(range(n), r)), dtype=np.int64).reshape(-1, r) if r else \
        np.empty((0,), dtype=np.int64)
    if r == 0:
        return input[:0]
    return input[wrap(array_module(input._data).asarray(idx))]


def diagflat(input, offset=0):
    """A 2-d matrix with the flattened input on its ``offset``-th diagonal."""
    return F.diag(input.reshape(-1), offset)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) over the columns (observations), with optional frequency and
    analytic weights, as numpy.cov / torch.cov."""
    if input.dim() > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                         f"{input.dim()} dimensions")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    x = _float(x)
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = float(n_obs)
        avg = x.mean(1)
        norm = w_sum - correction
    else:
        w = w.to(x.dtype)
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        norm = w_sum - correction * ((w * aweights).sum() / w_sum if aweights is not None else 1)
    if not isinstance(norm, Tensor):
        norm = _as_tensor(float(norm), x)
    norm = norm.clamp(min=0)
    xm = x - avg.unsqueeze(1)
    xw = xm if w is None else xm * w
    c = (xw @ xm.transpose(0, 1).conj()) / norm
    return c.squeeze() if input.dim() < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows: cov / (std_i std_j), clipped to [-1, 1]."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = F.diagonal(c)
    std = d.sqrt()
    c = c / std.unsqueeze(1)
    c = c / std.unsqueeze(0)
    return c.clamp(-1, 1) if not c.dtype.is_complex else c


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a number)."""
    e = _as_tensor(elements)
    t = _as_tensor(test_elements)
    xp = array_module(e._data)
    return wrap(xp.isin(e._data, t._data, assume_unique=assume_unique, invert=invert))


def is_conj(input):
    """False: Ember conjugates eagerly (no lazy conjugate bit)."""
    return False


def resolve_neg(input):
    """The tensor itself: Ember negates eagerly (no lazy negative bit)."""
    return input


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (of slices along ``dim``)."""
    xp = array_module(input._data)
    a = input._data
    if dim is None:
        flat = a.reshape(-1)
        keep = xp.concatenate([xp.ones(min(flat.size, 1), dtype=bool), flat[1:] != flat[:-1]])
        out = wrap(flat[keep])
        inv_shape = a.shape
    else:
        dim = dim % a.ndim
        moved = xp.moveaxis(a, dim, 0)
        rows = moved.reshape(moved.shape[0], -1)
        diff = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[0] > 1 else xp.zeros(0, dtype=bool)
        keep = xp.concatenate([xp.ones(min(rows.shape[0], 1), dtype=bool), diff])
        out = wrap(xp.ascontiguousarray(xp.moveaxis(moved[keep], 0, dim)))
        inv_shape = (a.shape[dim],)
    res = [out]
    if return_inverse:
        res.append(wrap((xp.cumsum(keep) - 1).astype(np.int64).reshape(inv_shape)))
    if return_counts:
        starts = xp.nonzero(keep)[0]
        res.append(wrap(xp.diff(xp.concatenate([starts, xp.asarray([keep.size])])).astype(np.int64)))
    return res[0] if len(res) == 1 else tuple(res)


def unravel_index(indices, shape):
    """Flat indices -> a tuple of coordinate tensors for an array of ``shape``."""
    idx = _as_tensor(indices)
    if idx.dtype.is_floating_point or idx.dtype.is_complex or idx.dtype == to_dtype("bool"):
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(idx.dtype))
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    xp = array_module(idx._data)
    n = math.prod(shape)
    flat = idx._data
    if flat.size and (int(flat.min()) < -n or int(flat.max()) >= n):
        raise RuntimeError("'indices' must be in range [-{n}, {n - 1}]".replace("{n}", str(n)).replace(
            "{n - 1}", str(n - 1)))
    coords = xp.unravel_index(xp.where(flat < 0, flat + n, flat), shape)
    return tuple(wrap(c.astype(np.int64)) for c in coords)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix: columns x^(N-1), ..., x, 1 (or increasing powers)."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    from .creation import arange
    powers = arange(n) if increasing else arange(n - 1, -1, -1)
    base = x if (x.dtype.is_floating_point or x.dtype.is_complex) else x.to(to_dtype("int64"))
    return base.unsqueeze(-1) ** powers.to(base.dtype if base.dtype.is_floating_point else to_dtype("int64"))


# ---- integration --------------------------------------------------------------------------------------
def _segments(y, x, dx, dim):
    n = y.shape[dim]
    y0, y1 = y.narrow(dim, 0, n - 1), y.narrow(dim, 1, n - 1)
    if x is None:
        return (y0 + y1) * (0.5 * (1.0 if dx is None else dx))
    if x.dim() == 1:
        d = F.diff(x)
        shape = [1] * y.dim()
        shape[dim] = n - 1
        d = d.reshape(shape)
    else:
        d = F.diff(x, dim=dim)
    return (y0 + y1) * d * 0.5


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along ``dim``: sum of (y_i + y_{i+1}) / 2 * (x_{i+1} - x_i) (or * dx)."""
    if isinstance(x, (int, float)):
        x, dx = None, x
    dim = dim % y.dim()
    if y.shape[dim] == 0:
        return F.sum(y, dim)
    return F.sum(_segments(_float(y), x, dx, dim), dim)


def trapz(y, x=None, *, dx=None, dim=-1):
    """The older name of :func:`trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Running trapezoid-rule integral along ``dim`` (one element shorter than y)."""
    if isinstance(x, (int, float)):
        x, dx = None, x
    dim = dim % y.dim()
    return F.cumsum(_segments(_float(y), x, dx, dim), dim)


def _gradient_1d(f, dim, h, edge_order):
    """Central differences along ``dim`` (one-sided at the ends): numpy.gradient's formulas, written with
    ``narrow`` so that autograd differentiates them. ``h`` is a number (uniform spacing) or a 1-d tensor of
    coordinates."""
    n = f.shape[dim]

    def at(start, length=None):
        return f.narrow(dim, start % n, n - 2 if length is None else length)

    def along(v):  # a 1-d tensor laid along ``dim``
        shape = [1] * f.dim()
        shape[dim] = -1
        return v.reshape(shape)

    if not isinstance(h, Tensor):
        mid = (at(2) - at(0)) / (2.0 * h)
        if edge_order == 1:
            first = (at(1, 1) - at(0, 1)) / h
            last = (at(-1, 1) - at(-2, 1)) / h
        else:
            first = (at(0, 1) * -3.0 + at(1, 1) * 4.0 - at(2, 1)) / (2.0 * h)
            last = (at(-1, 1) * 3.0 - at(-2, 1) * 4.0 + at(-3, 1)) / (2.0 * h)
        return F.cat([first, mid, last], dim)
    dx = F.diff(h.to(f.dtype))
    hs, hd = along(dx[:-1]), along(dx[1:])
    mid = (at(0) * (-hd / (hs * (hd + hs))) + at(1) * ((hd - hs) / (hd * hs)) + at(2) * (hs / (hd * (hd + hs))))
    if edge_order == 1:
        first = (at(1, 1) - at(0, 1)) / dx[0]
        last = (at(-1, 1) - at(-2, 1)) / dx[-1]
    else:
        a1, a2 = dx[0], dx[1]
        first = (at(0, 1) * (-(2 * a1 + a2) / (a1 * (a1 + a2))) + at(1, 1) * ((a1 + a2) / (a1 * a2))
                 + at(2, 1) * (-a1 / (a2 * (a1 + a2))))
        b1, b2 = dx[-2], dx[-1]
        last = (at(-3, 1) * (b2 / (b1 * (b1 + b2))) + at(-2, 1) * (-(b2 + b1) / (b1 * b2))
                + at(-1, 1) * ((2 * b2 + b1) / (b2 * (b1 + b2))))
    return F.cat([first, mid, last], dim)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative estimated by finite differences along each of ``dim`` (all dims by default): one
    tensor per dim. ``spacing`` is one number, one number per dim, or one coordinate tensor per dim."""
    if edge_order not in (1, 2):
        raise ValueError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = list(range(input.dim())) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [d % input.dim() for d in dims]
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacing)} and a dim argument of length {len(dims)}.")
        steps = list(spacing)
    else:
        steps = [spacing] * len(dims)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    f = _float(input)
    return tuple(_gradient_1d(f, d, (float(h) if not isinstance(h, Tensor) else h), edge_order)
                 for d, h in zip(dims, steps))


# ---- order statistics ---------------------------------------------------------------------------------
def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                           f"Got {interpolation}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor)
    qt = _as_tensor(q).to(input.dtype) if not isinstance(q, Tensor) else q
    if qt.dim() > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if qt.numel() and (float(qt.min()) < 0 or float(qt.max()) > 1):
        bad = float(qt.min()) if float(qt.min()) < 0 else float(qt.max())
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {bad}")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else dim % max(input.dim(), 1)
    if x.dim() == 0:
        x = x.reshape(1)
    xs = F.sort(x, d).values.movedim(d, -1)            # NaN sort last
    n = xs.shape[-1]
    nan = xs.isnan()
    valid = (n - nan.sum(-1, keepdim=True)) if ignore_nan else _full_like(xs[..., :1], n, dtype=to_dtype("int64"))
    qv = qt.reshape(-1)
    pos = qv.reshape((-1,) + (1,) * xs.dim()) * (valid.unsqueeze(0).to(xs.dtype) - 1)   # (Q, ..., 1)
    pos = pos.clamp(min=0)
    lo = pos.floor()
    hi = pos.ceil()
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = pos.round()
    xq = xs.unsqueeze(0).expand((qv.shape[0],) + tuple(xs.shape))
    v_lo = xq.gather(-1, lo.to(to_dtype("int64")).clamp(max=n - 1))
    v_hi = xq.gather(-1, hi.to(to_dtype("int64")).clamp(max=n - 1))
    if interpolation == "midpoint":
        out = (v_lo + v_hi) * 0.5
    elif interpolation == "linear":
        out = v_lo + (v_hi - v_lo) * (pos - lo)
    else:
        out = v_lo
    out = out.squeeze(-1)                                                 # (Q, ...)
    bad = (valid.squeeze(-1) == 0) if ignore_nan else nan.any(-1)
    out = F.where(bad.unsqueeze(0), float("nan"), out)
    if keepdim:
        out = out.unsqueeze(d + 1) if dim is not None else out.reshape((qv.shape[0],) + (1,) * input.dim())
    return out.squeeze(0) if scalar_q or qt.dim() == 0 else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles along ``dim`` (of all elements when None); NaN wherever a slice holds a NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` ignoring NaNs (NaN only where a slice is all NaN)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def nanmedian(input, dim=None, keepdim=False):
    """The lower median ignoring NaNs; with ``dim`` also the index where it sits."""
    if dim is None:
        flat = input.reshape(-1)
        s = F.sort(flat).values
        k = int((flat.numel() - int(flat.isnan().sum()) - 1) // 2) if flat.numel() else 0
        return s[builtins.max(k, 0)] if flat.numel() else wrap(np.asarray(np.nan, dtype=input._data.dtype))
    d = dim % max(input.dim(), 1)
    srt = F.sort(input, d)
    k = ((input.shape[d] - input.isnan().sum(d, keepdim=True) - 1) // 2).clamp(min=0)
    values = srt.values.gather(d, k)
    indices = srt.indices.gather(d, k)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return nanmedian_type(values, indices)


# ---- matrix / norms --------------------------------------------------------------------------------------
def renorm(input, p, dim, maxnorm):
    """Rescale each slice along ``dim`` whose p-norm exceeds ``maxnorm`` to norm ``maxnorm``."""
    dim = dim % input.dim()
    others = [i for i in range(input.dim()) if i != dim]
    norms = F.norm(input, p, others, keepdim=True) if others else input.abs()
    factor = F.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * factor.detach()


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]."""
    prod = F.bmm(batch1, batch2).sum(0)
    return prod * alpha if beta == 0 else input * beta + prod * alpha


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2)."""
    prod = F.outer(vec1, vec2)
    return prod * alpha if beta == 0 else input * beta + prod * alpha


def select_scatter(input, src, dim, index):
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    out = input.clone()
    idx = [slice(None)] * input.dim()
    idx[dim] = index
    out[tuple(idx)] = src
    return out


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of ``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``."""
    out = input.clone()
    idx = [slice(None)] * input.dim()
    idx[dim] = slice(start, end, step)
    out[tuple(idx)] = src
    return out


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of ``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    out = input.clone()
    view = out.movedim((dim1, dim2), (-2, -1))
    n1, n2 = view.shape[-2], view.shape[-1]
    length = builtins.max(0, builtins.min(n1 + builtins.min(offset, 0), n2 - builtins.max(offset, 0)))
    xp = array_module(input._data)
    rows = wrap(xp.arange(length) - builtins.min(offset, 0))
    cols = wrap(xp.arange(length) + builtins.max(offset, 0))
    view[..., rows, cols] = src
    return out


# ---- odds and ends ---------------------------------------------------------------------------------------
def typename(obj):
    """'torch.FloatTensor' for a tensor, else the object's ``module.qualname`` (no module for builtins)."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


_warn_always = [False]


def set_warn_always(b):
    """Make warnings that torch issues once per process issue every time (recorded; read back by
    :func:`is_warn_always_enabled`)."""
    _warn_always[0] = bool(b)


def is_warn_always_enabled():
    return _warn_always[0]


def histogram(input, bins, *, range=None, weight=None, density=False):
    """(hist, bin_edges): counts (or weighted sums, or a density) of ``input`` in ``bins`` equal bins over
    ``range`` (default: min..max), or in the bins whose edges a 1-d tensor gives."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, but got "
                           f"input {str(input.dtype).replace('torch.', '')}")
    a = input._data.reshape(-1)
    xp = array_module(input._data)
    b = bins._data if isinstance(bins, Tensor) else int(bins)
    w = None if weight is None else weight._data.reshape(-1)
    hist, edges = xp.histogram(a, bins=b, range=range, weights=w, density=density)
    return histogram_type(wrap(hist.astype(input._data.dtype)), wrap(edges.astype(input._data.dtype)))


def unsafe_chunk(input, chunks, dim=0):
    """:func:`chunk` (torch's variant skips view checks; Ember's results are ordinary tensors)."""
    return F.chunk(input, chunks, dim)


def unsafe_split(tensor, split_size_or_sections, dim=0):
    """:func:`split` without view checks."""
    return F.split(tensor, split_size_or_sections, dim)


def ravel(input):
    """The tensor flattened to 1-d (a view when it can be)."""
    return input.reshape(-1)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """Reduce (``prod``, ``mean``, ``amax``, ``amin``) the slices of ``source`` into the slices of ``input``
    that ``index`` names along ``dim``: a scatter_reduce whose index is ``index`` broadcast over the slices."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin, got {reduce}.")
    dim = dim % builtins.max(source.dim(), 1)
    from .ops._util import check_index_range
    check_index_range(index._data, input.shape[dim] if input.dim() else 1, dim, "index_select_1d")
    shape = [1] * source.dim()
    shape[dim] = -1
    full = index.reshape(shape).expand(tuple(source.shape))
    return input.scatter_reduce(dim, full, source, reduce, include_self=include_self)


def put(input, index, source, accumulate=False):
    """A copy of ``input`` with ``source`` written at the flat positions ``index`` (summed if accumulate);
    negative positions count from the end, others out of range raise torch's IndexError."""
    from .ops._util import check_index_range
    if index.numel() != source.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    check_index_range(index._data, input.numel(), 0, "take", wrap_negative=True)
    flat = input.reshape(-1).index_put((index.reshape(-1),), source.reshape(-1), accumulate)
    return flat.reshape(tuple(input.shape))


def conv_tbc(input, weight, bias, pad=0):
    """1-d convolution on (time, batch, channels) input with a (kernel, in, out) weight: conv1d with the
    axes moved to (batch, channels, time) and back."""
    from .nn.functional import conv1d
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    """An uninitialised tensor of ``size`` whose memory is laid out in the dimension order ``physical_layout``
    (outermost first): allocated in that order, then permuted back to ``size``'s order."""
    from .creation import empty
    size = tuple(size)
    order = tuple(physical_layout)
    if sorted(order) != list(range(len(size))):
        raise RuntimeError(f"physical_layout must be a permutation of 0..{len(size) - 1}, got {list(order)}")
    t = empty(*[size[d] for d in order], dtype=dtype, device=device)
    inverse = tuple(int(i) for i in np.argsort(order))
    out = t.permute(inverse)
    return out.requires_grad_() if requires_grad else out


def _sum_to_size(self, *size):
    """Sum over the broadcast dimensions so that the result has ``size`` (the reverse of expand)."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    lead = self.dim() - len(size)
    if lead < 0 or any(s != 1 and s != n for s, n in zip(size, self.shape[lead:])):
        raise RuntimeError(f"size {{{', '.join(str(v) for v in size)}}} is not expandable to size "
                           f"{{{', '.join(str(v) for v in self.shape)}}}.")
    out = self.sum(tuple(range(lead))) if lead else self
    dims = tuple(i for i, (s, n) in enumerate(zip(size, out.shape)) if s == 1 and n != 1)
    return out.sum(dims, keepdim=True) if dims else out


def _set_(self, source=None):
    """Make this tensor look at ``source``'s memory (shape and strides too); no argument: an empty tensor."""
    xp = array_module(self._data)
    self._data = xp.empty((0,), dtype=self._data.dtype) if source is None else source._data
    self._vc[0] += 1
    return self


def _as_subclass(self, cls):
    """The same data (and graph) seen as an instance of the Tensor subclass ``cls``."""
    out = self.view_as(self)
    out.__class__ = cls
    return out


def _dim_order(self):
    """Dimensions from outermost to innermost in memory (largest stride first): (0, 1, …) when contiguous."""
    strides = self.stride()
    return tuple(sorted(range(self.dim()), key=lambda d: -strides[d]))


def _storage_type(self):
    from . import storage
    name = {"float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage", "int64": "LongStorage",
            "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
            "bool": "BoolStorage", "bfloat16": "BFloat16Storage", "complex64": "ComplexFloatStorage",
            "complex128": "ComplexDoubleStorage"}[self.dtype.name]
    return getattr(storage, name)


def _new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                       pin_memory=False):
    from .creation import empty
    return empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


# ---- Tensor methods ---------------------------------------------------------------------------------------
def _attach():
    from ._methods import _make_inplace
    same = ["deg2rad", "rad2deg", "hypot", "logaddexp", "logaddexp2", "copysign", "heaviside", "gcd", "lcm",
            "bitwise_left_shift", "bitwise_right_shift", "ldexp", "frexp", "nextafter", "tile", "vsplit", "hsplit",
            "dsplit", "cov", "corrcoef", "diagflat", "is_conj", "resolve_neg", "unique_consecutive", "quantile",
            "nanquantile", "nanmedian", "renorm", "addbmm", "addr", "select_scatter", "slice_scatter",
            "diagonal_scatter", "histogram", "unsafe_chunk", "unsafe_split"]
    for name in same:
        if name not in Tensor.__dict__:
            setattr(Tensor, name, globals()[name])
    for name in ["deg2rad", "rad2deg", "hypot", "copysign", "heaviside", "gcd", "lcm", "bitwise_left_shift",
                 "bitwise_right_shift", "ldexp", "nextafter", "renorm", "addbmm", "addr"]:
        if name + "_" not in Tensor.__dict__:
            setattr(Tensor, name + "_", _make_inplace(globals()[name]))
    # in-place twins of existing methods
    for name in ["arccos", "arcsin", "arctan", "addmv", "baddbmm", "bitwise_not", "bitwise_xor", "cumprod", "exp2",
                 "float_power", "greater", "greater_equal", "less", "less_equal", "not_equal", "masked_scatter",
                 "scatter_reduce", "conj_physical"]:
        if name + "_" not in Tensor.__dict__ and hasattr(Tensor, name if name != "conj_physical" else "conj"):
            setattr(Tensor, name + "_", _make_inplace(getattr(Tensor, name if name != "conj_physical" else "conj")))
    for name in ("index_reduce", "put"):
        setattr(Tensor, name, globals()[name])
        setattr(Tensor, name + "_", _make_inplace(globals()[name]))
    from .dtypes import complex64, complex128
    extra = {
        "ravel": ravel, "conj_physical": lambda self: self.conj(),
        "cfloat": lambda self, memory_format=None: self.to(complex64),
        "cdouble": lambda self, memory_format=None: self.to(complex128),
        "sum_to_size": _sum_to_size, "set_": _set_, "as_subclass": _as_subclass, "dim_order": _dim_order,
        "storage_type": _storage_type, "new_empty_strided": _new_empty_strided,
        "to_dense": lambda self, dtype=None, *, masked_grad=None: self if dtype is None else self.to(dtype),
        "resize_as_": lambda self, other, memory_format=None: self.resize_(*other.shape),
        "swapaxes_": lambda self, axis0, axis1: self.transpose_(axis0, axis1),
        "swapdims_": lambda self, dim0, dim1: self.transpose_(dim0, dim1),
        "const_data_ptr": lambda self: self.data_ptr(),
        "hardshrink": lambda self, lambd=0.5: __import__("ember").nn.functional.hardshrink(self, lambd),
    }
    for name, fn in extra.items():
        if name not in Tensor.__dict__:
            setattr(Tensor, name, fn)
    if "is_meta" not in Tensor.__dict__:
        Tensor.is_meta = property(lambda self: self.device.type == "meta", doc="True on the 'meta' device.")


_attach()
