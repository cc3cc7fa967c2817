"""Tensor methods and operators, attached to ``Tensor`` in one place.

Out-of-place methods are the ``ember.*`` functions (``x.exp()`` is ``ember.exp(x)``). In-place methods
(``add_``, ``mul_``, ``clamp_`` ...) run the same Function and write its result into the tensor's own
memory, so every view of that storage sees the change; the version counter is bumped so backward can
detect that a tensor it saved has changed.
"""
import numpy as np

from ._tensor import Tensor, Size, wrap
from . import functions as F
from .ops import pointwise as P, movement as M
from .ops._util import arrays2
from .dtypes import to_dtype, get_default_dtype, _category, result_type
from .autograd.grad_mode import STATE
from .random import _gen
from . import _sampling as S
from .device import array_module

# ---- out-of-place methods that are just the functions ------------------------------------------------
_SAME = """add sub subtract mul multiply div divide true_divide floor_divide remainder fmod pow float_power neg
negative square lerp atan2 arctan2 addcmul addcdiv exp exp2 log log2 log10 log1p expm1 sqrt rsqrt sin cos tan tanh
sinh cosh asin acos atan arcsin arccos arctan sigmoid reciprocal erf erfc abs absolute relu sign sgn signbit floor
ceil trunc frac fix round logit xlogy nan_to_num clamp clip clamp_min clamp_max maximum minimum fmax fmin eq ne lt
le gt ge less less_equal greater greater_equal not_equal logical_and logical_or logical_xor logical_not bitwise_and
bitwise_or bitwise_xor bitwise_not isnan isinf isposinf isneginf isfinite isreal isclose allclose equal sum nansum
mean nanmean prod max min amax amin aminmax argmax argmin var std logsumexp cumsum cumprod norm dist all any
count_nonzero sort argsort msort topk kthvalue median mode unique bincount histc cummax cummin logcumsumexp diff
flatten unflatten permute transpose swapaxes swapdims t adjoint movedim moveaxis squeeze unsqueeze narrow select
split tensor_split chunk unbind flip fliplr flipud roll rot90 tril triu diagonal diag diag_embed trace broadcast_to
repeat_interleave gather take_along_dim take scatter scatter_add scatter_reduce index_select index_add index_copy
index_fill index_put masked_fill masked_select masked_scatter nonzero argwhere matmul mm bmm addmm baddbmm addmv dot
inner vdot mv outer ger einsum kron cross clone conj real imag angle is_nonzero""".split()

for _name in _SAME:
    if _name in ("real", "imag"):
        continue
    setattr(Tensor, _name, getattr(F, _name))

Tensor.real = property(F.real)
Tensor.imag = property(F.imag)
Tensor.where = lambda self, condition, other: F.where(condition, self, other)
Tensor.absolute_ = lambda self: self.abs_()


# ---- shape methods with torch's flexible signatures ------------------------------------------------------
def _view(self, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) and not isinstance(shape[0], (tuple, list)):
        return M.view_of(self, self._data.view(to_dtype(shape[0]).np))  # reinterpret the same bytes
    return M.View.apply(self, M._shape_arg(shape))


Tensor.view = _view
Tensor.reshape = lambda self, *shape: M.reshape(self, M._shape_arg(shape))
Tensor.view_as = lambda self, other: M.View.apply(self, tuple(other.shape))
Tensor.reshape_as = lambda self, other: M.reshape(self, tuple(other.shape))
Tensor.expand = lambda self, *sizes: F.expand(self, *sizes)
Tensor.expand_as = lambda self, other: M.Expand.apply(self, tuple(other.shape))
Tensor.permute = lambda self, *dims: F.permute(self, M._shape_arg(dims))
Tensor.flip = lambda self, *dims: F.flip(self, M._shape_arg(dims))
Tensor.repeat = lambda self, *reps: M.Repeat.apply(self, M._shape_arg(reps))
Tensor.tile = lambda self, *reps: M.Repeat.apply(self, (1,) * (self.ndim - len(M._shape_arg(reps))) +
                                                 M._shape_arg(reps))
Tensor.T = property(lambda self: F.permute(self, tuple(range(self.ndim - 1, -1, -1))))
Tensor.mT = property(lambda self: F.transpose(self, -2, -1))
Tensor.H = property(lambda self: F.t(self).conj())
Tensor.mH = property(lambda self: F.transpose(self, -2, -1).conj())
Tensor.new_tensor = lambda self, data, dtype=None, device=None, requires_grad=False: __import__(
    "ember").tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new_filled(fill):
    def new(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        if fill == "full":
            size, value = size[0], size[1] if len(size) > 1 else kw.pop("fill_value")
        else:
            value = fill
            size = M._shape_arg(size)
        xp = __import__("ember.device", fromlist=["array_module"]).array_module(self._data)
        dt = self._data.dtype if dtype is None else to_dtype(dtype).np
        shape = (size,) if isinstance(size, int) else tuple(size)
        arr = xp.empty(shape, dtype=dt) if value is None else xp.full(shape, value, dtype=dt)
        t = wrap(arr)
        if device is not None:
            t = t.to(device)
        if requires_grad:
            t.requires_grad_()
        return t
    return new


Tensor.new_zeros = _new_filled(0)
Tensor.new_ones = _new_filled(1)
Tensor.new_empty = _new_filled(None)
Tensor.new_full = _new_filled("full")


def _new(self, *args, **kwargs):
    """Legacy ``x.new(...)``: like ``Tensor(...)`` with x's dtype."""
    if len(args) == 1 and isinstance(args[0], Size):  # x.new(torch.Size([2, 3])): uninitialised, that shape
        args = tuple(args[0])
    if args and not all(isinstance(a, int) for a in args):
        return wrap(np.array(args[0], dtype=self._data.dtype))
    return wrap(np.empty(args, dtype=self._data.dtype))


Tensor.new = _new


# ---- operators -----------------------------------------------------------------------------------------
Tensor.__add__ = lambda self, other: P.Add.apply(self, other)
Tensor.__radd__ = lambda self, other: P.Add.apply(self, other)
Tensor.__sub__ = lambda self, other: P.Sub.apply(self, other)
Tensor.__rsub__ = lambda self, other: P.RSub.apply(self, other)
Tensor.__mul__ = lambda self, other: P.Mul.apply(self, other)
Tensor.__rmul__ = lambda self, other: P.Mul.apply(self, other)
Tensor.__truediv__ = lambda self, other: P.Div.apply(self, other)
Tensor.__rtruediv__ = lambda self, other: P.Div.apply(other, self)
Tensor.__floordiv__ = lambda self, other: F.floor_divide(self, other)
Tensor.__rfloordiv__ = lambda self, other: F.floor_divide(F._t(other, self), self)
Tensor.__mod__ = lambda self, other: F.remainder(self, other)
Tensor.__rmod__ = lambda self, other: F.remainder(F._t(other, self), self)
Tensor.__pow__ = lambda self, other: F.pow(self, other)
Tensor.__rpow__ = lambda self, other: P.PowTensor.apply(other, self)
Tensor.__matmul__ = lambda self, other: F.matmul(self, other)
Tensor.__rmatmul__ = lambda self, other: F.matmul(other, self)
Tensor.__neg__ = lambda self: P.Neg.apply(self)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: P.Abs.apply(self)
Tensor.__invert__ = lambda self: wrap(~self._data) if self._data.dtype.kind in "biu" else F.bitwise_not(self)
Tensor.__and__ = lambda self, other: F.bitwise_and(self, other)
Tensor.__rand__ = lambda self, other: F.bitwise_and(self, other)
Tensor.__or__ = lambda self, other: F.bitwise_or(self, other)
Tensor.__ror__ = lambda self, other: F.bitwise_or(self, other)
Tensor.__xor__ = lambda self, other: F.bitwise_xor(self, other)
Tensor.__rxor__ = lambda self, other: F.bitwise_xor(self, other)
Tensor.__lshift__ = lambda self, other: wrap(np.left_shift(*arrays2(self, other)))
Tensor.__rshift__ = lambda self, other: wrap(np.right_shift(*arrays2(self, other)))
Tensor.__eq__ = F.eq
Tensor.__ne__ = F.ne
Tensor.__lt__ = F.lt
Tensor.__le__ = F.le
Tensor.__gt__ = F.gt
Tensor.__ge__ = F.ge
Tensor.__hash__ = lambda self: id(self)


# ---- indexing ----------------------------------------------------------------------------------------------
Tensor.__getitem__ = lambda self, key: M.index(self, key)


def _setitem(self, key, value):
    """``x[key] = value``: written into x's memory; recorded in the graph when x or value needs grad."""
    k, advanced = M._norm_key(key)
    if _recording(self, value):
        # IndexPut copies its input before writing, so the old value needs no extra copy here
        put = M.IndexPutAdvanced if advanced else M.IndexPut  # torch: IndexPutBackward0 / CopySlices
        _inplace_result(self, put.apply(_pre_inplace(self, copy=False), k, value))
        return
    v = value._data if isinstance(value, Tensor) else value
    if isinstance(value, Tensor) and v.dtype != self._data.dtype:
        v = v.astype(self._data.dtype)
    try:
        self._data[k] = v
    except IndexError as e:  # NumPy's words -> torch's
        raise IndexError(str(e).replace("for axis", "for dimension")) from None
    except ValueError as e:
        if not self._data.flags.writeable:
            raise RuntimeError(_OVERLAP) from None
        raise RuntimeError(_expand_error(np.shape(self._data[k]), np.shape(v))) from None
    self._vc[0] += 1


_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.")


def _expand_error(target, shape):
    """torch's message when a value of ``shape`` cannot be broadcast into a region of ``target`` shape."""
    try:
        M.expanded_shape(tuple(shape), list(target))
    except RuntimeError as e:
        return str(e)
    return f"shape mismatch: value tensor of shape {list(shape)} cannot be broadcast to indexing result of shape " \
           f"{list(target)}"


Tensor.__setitem__ = _setitem


# ---- in-place ops ------------------------------------------------------------------------------------------
def _recording(self, *others):
    return STATE.enabled and (self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others))


def _leaf_error(self):
    from .hints import add_hint
    what = "a view of a leaf Variable" if self._base is not None else "a leaf Variable"
    raise add_hint(RuntimeError(f"{what} that requires grad is being used in an in-place operation."), "leaf_inplace")


def _pre_inplace(self, copy=True):
    """The tensor's old value as a graph node, before it is overwritten in place.

    ``copy=False`` when the op about to run does not keep a reference to its input's memory."""
    if self._requires_grad and self.grad_fn is None:
        _leaf_error(self)
    base = self._base
    if base is not None and base._requires_grad and base.grad_fn is None:
        _leaf_error(self)  # a view of a leaf that requires grad
    old = wrap(self._data.copy() if copy else self._data)
    old.grad_fn, old._requires_grad, old._output_nr = self.grad_fn, self._requires_grad, self._output_nr
    return old


def _inplace_result(self, res):
    """Write ``res`` into self's memory and make self the output of res's node.

    When self is a view, its base changed too: the base's node becomes "the old base with res written
    at the view's positions" (torch's CopySlices), and the view becomes a read of those positions."""
    base = self._base
    if base is not None and res._requires_grad:
        key = M.view_key(self, base)
        new_base = M.IndexPut.apply(_pre_inplace(base, copy=False), key, res)  # (IndexPut copies its input)
        _write(self, res._data)
        base.grad_fn, base._requires_grad, base._output_nr = new_base.grad_fn, True, 0
        view = M.Index.apply(base, key)
        self.grad_fn, self._requires_grad, self._output_nr = view.grad_fn, True, 0
        self._view_ver = self._vc[0]
        return self
    _write(self, res._data)
    self.grad_fn, self._requires_grad, self._output_nr = res.grad_fn, res._requires_grad, res._output_nr
    if base is not None:
        self._view_ver = self._vc[0]
    return self


def _write(self, arr):
    if arr.dtype != self._data.dtype:
        if _category(wrap(arr).dtype) > _category(self.dtype):
            raise RuntimeError(f"result type {wrap(arr).dtype.scalar_name} can't be cast to the desired output "
                               f"type {self.dtype.scalar_name}")
    if arr.shape != self._data.shape:
        try:
            np.broadcast_shapes(arr.shape, self._data.shape) == self._data.shape or 1 / 0
        except (ValueError, ZeroDivisionError):
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                               f"{list(np.broadcast_shapes(arr.shape, self._data.shape))}") from None
    if not self._data.flags.writeable:  # an expanded (stride-0) view: several elements share one memory cell
        raise RuntimeError(_OVERLAP)
    if self._data.ndim == 0:
        self._data[()] = arr
    else:
        self._data[...] = arr
    self._vc[0] += 1


def _make_inplace(fn):
    """``x.op_(...)``: compute ``op(x, ...)`` and store it in x (recorded in the graph when needed)."""
    def method(self, *args, **kwargs):
        if _recording(self, *args):
            return _inplace_result(self, fn(_pre_inplace(self), *args, **kwargs))
        prev = STATE.enabled
        STATE.enabled = False
        try:
            res = fn(self, *args, **kwargs)
        finally:
            STATE.enabled = prev
        _write(self, res._data)
        return self
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of ``{fn.__name__}``."
    return method


_INPLACE = """add sub mul div pow neg exp log log2 log10 log1p expm1 sqrt rsqrt sin cos tan tanh sinh cosh asin acos
atan sigmoid reciprocal erf abs relu sign floor ceil trunc frac round clamp clip clamp_min clamp_max lerp addcmul
addcdiv masked_fill scatter scatter_add index_add index_copy index_fill index_put tril triu fmod remainder
floor_divide square logit nan_to_num atan2 logical_not logical_and logical_or bitwise_and bitwise_or xlogy
true_divide multiply subtract divide arctan2 fix sgn negative""".split()

for _name in _INPLACE:
    setattr(Tensor, _name + "_", _make_inplace(getattr(F, _name)))

Tensor.__iadd__ = lambda self, other: self.add_(other)
Tensor.__isub__ = lambda self, other: self.sub_(other)
Tensor.__imul__ = lambda self, other: self.mul_(other)
Tensor.__itruediv__ = lambda self, other: self.div_(other)
Tensor.__ifloordiv__ = lambda self, other: self.floor_divide_(other)
Tensor.__imod__ = lambda self, other: self.remainder_(other)
Tensor.__ipow__ = lambda self, other: self.pow_(other)
Tensor.__iand__ = lambda self, other: self.bitwise_and_(other)
Tensor.__ior__ = lambda self, other: self.bitwise_or_(other)
Tensor.__imatmul__ = lambda self, other: _inplace_result(self, self @ other)


def _fill_(self, value):
    """Set every element to ``value``."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        value = value.item()
    if _recording(self):
        return _inplace_result(self, P.Mul.apply(_pre_inplace(self), 0) + value)
    self._data[...] = value
    self._vc[0] += 1
    return self


def _zero_(self):
    return _fill_(self, 0)


def _copy_(self, src, non_blocking=False):
    """Copy ``src``'s values (broadcast, converted to self's dtype and device) into self's memory."""
    if not isinstance(src, Tensor):
        src = F._t(src)
    if _recording(self, src):
        res = src.to(dtype=self.dtype, device=self.device)
        if tuple(res.shape) != tuple(self.shape):
            res = res.expand(self.shape)
        res = res + 0 if res is src else res
        return _inplace_result(self, res) if self.grad_fn is not None or not self._requires_grad else \
            _leaf_error(self)
    from .device import to_device_array
    arr = to_device_array(src._data, self.device)
    try:
        self._data[...] = arr
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({self.shape[-1] if self.ndim else 1}) must match the size of "
                           f"tensor b ({src.shape[-1] if src.ndim else 1}) at non-singleton dimension "
                           f"{self.ndim - 1}") from None
    self._vc[0] += 1
    return self


def _storage_view(x):
    """``x`` with its axes ordered so that C order walks storage order (how torch's kernels fill)."""
    if x.flags.c_contiguous or x.ndim < 2:
        return x, None
    perm = tuple(sorted(range(x.ndim), key=lambda a: -abs(x.strides[a])))
    return x.transpose(perm), perm


def _random_fill(draw, float_kernel=None):
    """An in-place sampler method: ``draw(gen, dtype, n, contiguous, *args)`` gives the n values in storage
    order, exactly as torch's CPU kernel draws them (see ``ember/_sampling.py``)."""
    def method(self, *args, generator=None, **kwargs):
        if self._requires_grad and self.grad_fn is None and STATE.enabled:
            _leaf_error(self)
        x = self._data
        if float_kernel and x.dtype.kind not in "fcV":  # uniform_/normal_ draw floats only, as in torch
            raise NotImplementedError(f"\"{float_kernel}\" not implemented for '{self.dtype.scalar_name}'")
        view, perm = _storage_view(x)
        g = _gen(generator)
        if x.size:
            vals = draw(g, np.dtype(x.dtype), x.size, perm is None and x.flags.c_contiguous, *args,
                        _perm=perm, _shape=x.shape, **kwargs)
            xp = array_module(x)
            vals = S.to_dtype(np.asarray(vals), x.dtype)
            if xp is np and view.flags.c_contiguous:
                np.copyto(view.reshape(-1), vals.reshape(-1))
            else:
                view[...] = xp.asarray(vals.reshape(view.shape))
        self._vc[0] += 1
        return self
    return method


def _uniform(g, dt, n, contig, a=0.0, b=1.0, _perm=None, _shape=None):
    a, b = float(a), float(b)
    if not a <= b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    return S.uniform(g, n, dt, a, b)


def _normal(g, dt, n, contig, mean=0.0, std=1.0, _perm=None, _shape=None):
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    return S.normal(g, n, dt, float(mean), float(std), contig)


_INT_MAX = {"float32": 1 << 24, "float64": 1 << 53, "float16": 1 << 11, "bfloat16": 1 << 8, "bool": 1}


def _random_(g, dt, n, contig, *args, _perm=None, _shape=None, **kw):
    frm = kw.pop("from", None)
    to = kw.pop("to", None)
    if len(args) == 1:
        to = args[0]
    elif len(args) == 2:
        frm, to = args
    elif len(args) > 2:
        raise TypeError("random_() takes at most 2 positional arguments")
    if frm is None and to is None:
        return S.random_full(g, n, dt)
    frm = int(frm or 0)
    if to is None:
        if frm == -(1 << 63) and dt.name in ("int64", "float64", "float32", "bfloat16"):
            return S.random_full_64(g, n, dt)
        to = (_INT_MAX[dt.name] if dt.name in _INT_MAX else int(np.iinfo(dt).max)) + 1
    to = int(to)
    if frm >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={frm} >= to={to}")
    return S.random_from_to(g, n, frm, to, dt)


def _bernoulli_(g, dt, n, contig, p=0.5, _perm=None, _shape=None):
    if isinstance(p, Tensor):
        pa = np.broadcast_to(np.asarray(p._data if isinstance(p._data, np.ndarray) else p._data.get()), _shape)
        if _perm is not None:
            pa = pa.transpose(_perm)
        if ((pa < 0) | (pa > 1)).any():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        return S.bernoulli_tensor(g, np.ascontiguousarray(pa))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return S.bernoulli_scalar(g, n, p)


def _exponential_(g, dt, n, contig, lambd=1.0, _perm=None, _shape=None):
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return S.exponential(g, n, lambd)


def _geometric_(g, dt, n, contig, p, _perm=None, _shape=None):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return S.geometric(g, n, p)


def _log_normal_(g, dt, n, contig, mean=1.0, std=2.0, _perm=None, _shape=None):
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return S.log_normal(g, n, mean, std)


def _cauchy_(g, dt, n, contig, median=0.0, sigma=1.0, _perm=None, _shape=None):
    return S.cauchy(g, n, median, sigma)


Tensor.fill_ = _fill_
Tensor.zero_ = _zero_
Tensor.copy_ = _copy_
Tensor.uniform_ = _random_fill(_uniform, "check_uniform_bounds")
Tensor.normal_ = _random_fill(_normal, "normal_kernel_cpu")
Tensor.random_ = _random_fill(_random_)
Tensor.bernoulli_ = _random_fill(_bernoulli_)
Tensor.exponential_ = _random_fill(_exponential_, "exponential_cpu")
Tensor.geometric_ = _random_fill(_geometric_)
Tensor.log_normal_ = _random_fill(_log_normal_, "log_normal_cpu")
Tensor.cauchy_ = _random_fill(_cauchy_, "cauchy_cpu")
Tensor.bernoulli = lambda self, p=None, generator=None: __import__("ember").bernoulli(self, p, generator=generator)
Tensor.multinomial = lambda self, num_samples, replacement=False, generator=None: __import__("ember").multinomial(
    self, num_samples, replacement, generator)


def _resize_(self, *sizes):
    shape = M._shape_arg(sizes)
    flat = self._data.reshape(-1)
    n = int(np.prod(shape))
    new = np.zeros(n, dtype=self._data.dtype)
    new[:min(n, flat.size)] = flat[:n]
    self._data = new.reshape(shape)
    self._vc[0] += 1
    return self


Tensor.resize_ = _resize_


def _squeeze_(self, dim=None):
    self._data = self.squeeze(dim)._data
    return self


def _unsqueeze_(self, dim):
    self._data = self.unsqueeze(dim)._data
    return self


def _t_(self):
    self._data = self._data.T
    return self


def _transpose_(self, d0, d1):
    self._data = self.transpose(d0, d1)._data
    return self


Tensor.squeeze_ = _squeeze_
Tensor.unsqueeze_ = _unsqueeze_
Tensor.t_ = _t_
Tensor.transpose_ = _transpose_
Tensor.apply_ = lambda self, fn: _write(self, np.vectorize(fn, otypes=[self._data.dtype])(self._data)) or self
Tensor.map_ = lambda self, other, fn: _write(self, np.vectorize(fn, otypes=[self._data.dtype])(
    self._data, other._data)) or self


def _softmax(self, dim, dtype=None):
    from .nn.functional import softmax
    return softmax(self, dim, dtype=dtype)


def _log_softmax(self, dim, dtype=None):
    from .nn.functional import log_softmax
    return log_softmax(self, dim, dtype=dtype)


Tensor.softmax = _softmax
Tensor.log_softmax = _log_softmax


# ---- small conveniences with torch's names ------------------------------------------------------------------
def _fill_diagonal_(self, fill_value, wrap=False):
    """Set the main diagonal (all dims equal indices) to ``fill_value`` in place."""
    if _recording(self) and self.grad_fn is None:
        _leaf_error(self)
    n = min(self._data.shape)
    idx = array_module(self._data).arange(n)
    if wrap and self._data.ndim == 2 and self._data.shape[0] > self._data.shape[1] + 1:
        flat = self._data.reshape(-1)  # NumPy's wrap rule: every (ncols + 1)-th element
        flat[::self._data.shape[1] + 1] = fill_value
    else:
        self._data[(idx,) * self._data.ndim] = fill_value
    self._vc[0] += 1
    return self


Tensor.fill_diagonal_ = _fill_diagonal_
Tensor.ravel = lambda self: F.flatten(self)
Tensor.is_signed = lambda self: self.dtype.is_signed
Tensor.is_same_size = lambda self, other: self.shape == other.shape
Tensor.get_device = lambda self: -1 if self.device.type == "cpu" else (self.device.index or 0)
Tensor.positive = lambda self: self
Tensor.resolve_conj = Tensor.resolve_neg = lambda self: self
Tensor.is_conj = Tensor.is_neg = lambda self: False
Tensor.output_nr = property(lambda self: self._output_nr)
for _name in ("asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh"):
    setattr(Tensor, _name, getattr(F, _name))
    setattr(Tensor, _name + "_", _make_inplace(getattr(F, _name)))
for _name in ("eq", "ne", "lt", "le", "gt", "ge", "logical_xor"):
    setattr(Tensor, _name + "_", _make_inplace(getattr(F, _name)))
Tensor.addmm_ = _make_inplace(F.addmm)
Tensor.cumsum_ = _make_inplace(F.cumsum)
for _name in ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_exp", "matrix_power", "cholesky",
              "cholesky_solve", "cholesky_inverse", "svd", "qr"):
    setattr(Tensor, _name, getattr(F, _name))
for _name in ("lgamma", "digamma", "erfinv", "i0", "sinc", "igamma", "igammac", "erfc"):
    setattr(Tensor, _name, getattr(F, _name))
    setattr(Tensor, _name + "_", _make_inplace(getattr(F, _name)))
Tensor.polygamma = lambda self, n: F.polygamma(n, self)
Tensor.mvlgamma = lambda self, p: F.mvlgamma(self, p)


def _attach_strided_views():
    """Tensor.as_strided / Tensor.unfold (ember/ops/strided.py)."""
    from .ops import strided
    Tensor.as_strided = strided.as_strided
    Tensor.unfold = strided.unfold


_attach_strided_views()
Tensor.stft = lambda self, *args, **kwargs: F.stft(self, *args, **kwargs)
Tensor.istft = lambda self, *args, **kwargs: F.istft(self, *args, **kwargs)
for _name in ("triangular_solve", "lu", "geqrf", "orgqr", "ormqr"):
    setattr(Tensor, _name, getattr(F, _name))
Tensor.lu_solve = lambda self, LU_data, LU_pivots: F.lu_solve(self, LU_data, LU_pivots)
Tensor.polygamma_ = lambda self, n: self.copy_(F.polygamma(n, self))
Tensor.mvlgamma_ = lambda self, p: self.copy_(F.mvlgamma(self, p))
