"""Views given by explicit strides: ``as_strided`` and ``Tensor.unfold``.

Element ``[i, j, ...]`` of such a view reads storage cell ``offset + i*stride[0] + j*stride[1] + ...``.
Windows may overlap (``unfold`` with step < size, a stride of 0), so one input element can feed several
output elements: the gradient adds up everything that read each cell -- a scatter-add over cell numbers
(:class:`CellScatter`), whose own derivative is the matching gather (:class:`CellGather`).
"""
import numpy as np

from ..autograd.function import Function
from ._util import array_module, norm_dim
from .movement import view_of


def cell_index(shape, strides, offset, xp=np):
    """The cell each element of a ``shape``/``strides`` window at ``offset`` reads (an int64 array)."""
    idx = xp.full(tuple(shape), offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        axis = [1] * len(shape)
        axis[d] = n
        idx = idx + xp.arange(n, dtype=np.int64).reshape(axis) * s
    return idx


def strided_view(a, shape, strides, offset):
    """An array over ``a``'s storage (element ``strides`` and ``offset``) whose ``.base`` is the storage
    itself, so ``storage_offset()`` and sharing checks see through it (NumPy's ``as_strided`` would hide
    the storage behind a stand-in object)."""
    root = a._storage_root()
    item = root.itemsize
    if isinstance(root, np.ndarray):
        return np.ndarray(shape, dtype=root.dtype, buffer=root, offset=offset * item,
                          strides=tuple(s * item for s in strides))
    import cupy
    return cupy.ndarray(shape, dtype=root.dtype, memptr=root.data + offset * item,
                        strides=tuple(s * item for s in strides))


def _elements(a):
    return tuple(s // a._data.itemsize for s in a._data.strides)


class CellScatter(Function):
    """out = zeros(n) with g's elements added at cells ``src``, then read at cells ``dst``.

    d/dg = the gradient written at ``dst`` and read back at ``src`` (:class:`CellGather`)."""

    @staticmethod
    def forward(ctx, g, src, dst, n):
        xp = array_module(g._data)
        buf = xp.zeros(n, dtype=g._data.dtype)
        xp.add.at(buf, src.ravel(), g._data.ravel())
        ctx.args = (src, dst, n)
        return buf[dst]

    @staticmethod
    def backward(ctx, gg):
        src, dst, n = ctx.args
        return CellGather.apply(gg, src, dst, n), None, None, None


class CellGather(Function):
    """out = (zeros(n) with g written at cells ``dst``) read at cells ``src``;  d/dg = CellScatter."""

    @staticmethod
    def forward(ctx, g, src, dst, n):
        xp = array_module(g._data)
        buf = xp.zeros(n, dtype=g._data.dtype)
        xp.add.at(buf, dst.ravel(), g._data.ravel())
        ctx.args = (src, dst, n)
        return buf[src]

    @staticmethod
    def backward(ctx, gg):
        src, dst, n = ctx.args
        return CellScatter.apply(gg, src, dst, n), None, None, None


class AsStrided(Function):
    """as_strided(a, size, stride, offset): a window onto ``a``'s storage;
    d/da = the gradients of all elements that read each of ``a``'s cells, summed"""
    _grad_fn_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, a, size, stride, offset):
        x = a._data
        xp = array_module(x)
        root = a._storage_root()
        n = root.size
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if len(size) != len(stride):
            raise RuntimeError(f"mismatch in length of strides and shape")
        if any(s < 0 for s in size) or any(s < 0 for s in stride):
            raise RuntimeError("as_strided: Negative strides are not supported at the moment, got strides: "
                               f"{list(stride)}")
        if offset < 0:
            raise RuntimeError(f"Tensor: invalid storage offset {offset}")
        last = offset + sum((k - 1) * s for k, s in zip(size, stride)) if all(size) else offset - 1
        if last >= n:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                               f"itemsize {x.itemsize} requiring a storage size of {(last + 1) * x.itemsize} are out "
                               f"of bounds for storage of size {n * x.itemsize}")
        out = strided_view(a, size, stride, offset)
        ctx.args = (cell_index(size, stride, offset, xp), cell_index(x.shape, _elements(a), a.storage_offset(), xp), n)
        return view_of(a, out)

    @staticmethod
    def backward(ctx, g):
        return CellScatter.apply(g, *ctx.args), None, None, None


class Unfold(Function):
    """a.unfold(dim, size, step): every window of ``size`` elements along ``dim``, ``step`` apart, as a new
    last dimension (a view);  d/da = each element's gradients from every window that holds it, summed"""
    _grad_fn_name = "UnfoldBackward0"

    @staticmethod
    def forward(ctx, a, dim, size, step):
        x = a._data
        xp = array_module(x)
        d = norm_dim(dim, max(x.ndim, 1))
        length = x.shape[d] if x.ndim else 1
        if size > length:
            raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        count = (length - size) // step + 1
        shape = x.shape[:d] + (count,) + x.shape[d + 1:] + (size,) if x.ndim else (count, size)
        st = _elements(a) if x.ndim else (1,)
        strides = st[:d] + (st[d] * step,) + st[d + 1:] + (st[d],)
        out = strided_view(a, shape, strides, a.storage_offset())
        # cells relative to a contiguous copy of ``a``, for the backward scatter
        cst = tuple(int(np.prod(x.shape[i + 1:], dtype=np.int64)) for i in range(x.ndim)) or (1,)
        vst = cst[:d] + (cst[d] * step,) + cst[d + 1:] + (cst[d],)
        ctx.args = (cell_index(shape, vst, 0, xp), xp.arange(x.size, dtype=np.int64).reshape(x.shape), x.size)
        return view_of(a, out)

    @staticmethod
    def backward(ctx, g):
        return CellScatter.apply(g, *ctx.args), None, None, None


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given size, strides and offset (torch.as_strided)."""
    return AsStrided.apply(input, size, stride, input.storage_offset() if storage_offset is None else storage_offset)


def unfold(self, dimension, size, step):
    """``Tensor.unfold``: windows of ``size`` along ``dimension``, ``step`` apart, as a new last dim (a view)."""
    return Unfold.apply(self, dimension, int(size), int(step))
