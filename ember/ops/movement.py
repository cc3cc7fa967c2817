"""Ops that move or select elements: views, reshapes, concatenation, indexing, gather/scatter.

View ops (view, reshape when possible, permute, transpose, expand, squeeze, unsqueeze, basic indexing,
narrow, split) return NumPy views: the result shares memory and the version counter with its input,
exactly as torch's views share storage. Their backward is the inverse movement of the gradient.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ._util import norm_dim, wrap, array_module, is_tensor, Tensor, check_index_range
from ..device import to_device_array


def view_of(a, arr):
    """Wrap ``arr`` (a NumPy view of ``a._data``) as a tensor that is a view of ``a``.

    ``_view_ver`` remembers the storage's version when the view's graph node was made: if the storage is
    later changed in place through another tensor, the node is stale and ``refresh_view`` rebuilds it."""
    t = wrap(arr)
    t._vc = a._vc
    t._base = a._base if a._base is not None else a
    t._view_ver = a._vc[0]
    return t


def view_key(view, base):
    """Index arrays into ``base`` naming, element by element, where the view's elements live in memory."""
    xp = array_module(view._data)
    item = view._data.itemsize
    offset = (view.data_ptr() - base.data_ptr()) // item
    for n, st in zip(view._data.shape, view._data.strides):  # offset[i, j, ...] = start + i*s0 + j*s1 + ...
        offset = xp.add.outer(offset, xp.arange(n) * (st // item))
    offset = xp.asarray(offset, dtype=np.int64).reshape(view._data.shape)
    # memory offset -> base index: unravel over the base's axes ordered by stride (a permuted dense block)
    order = sorted(range(base._data.ndim), key=lambda d: -base._data.strides[d])
    shape = tuple(base._data.shape[d] for d in order)
    dense = base._data.flags.c_contiguous or \
        all(base._data.strides[order[i]] // item == int(np.prod(shape[i + 1:])) for i in range(len(order)))
    if not dense:
        raise RuntimeError("ember can't record an in-place op on a view of a tensor whose memory has gaps; "
                           "use an out-of-place op here.")
    idx = xp.unravel_index(offset, shape)
    return tuple(idx[order.index(d)] for d in range(base._data.ndim))


def refresh_view(t):
    """Rebuild a stale view's node as a read of its base (torch's AsStridedBackward0), after the storage was
    changed in place through the base or a sibling view."""
    base = t._base
    t._view_ver = t._vc[0]
    if not base._requires_grad or not base._data.flags.c_contiguous:
        return
    node = RefreshedView.apply(base, view_key(t, base))
    t.grad_fn, t._requires_grad, t._output_nr = node.grad_fn, True, 0


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def infer_shape(shape, numel):
    """Resolve one ``-1`` in ``shape`` and check the element count (torch's messages)."""
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(map(int, shape))}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(map(int, shape))}' is invalid for input of size {numel}")
    return tuple(shape)


class View(Function):
    """view(a, shape): same memory, new shape;  d/da = g.reshape(a.shape)"""
    _grad_fn_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, a, shape):
        x = a._data
        shape = infer_shape(shape, x.size)
        ctx.shape = x.shape
        try:
            v = x.reshape(shape, copy=False)
        except (ValueError, AttributeError, TypeError):
            from ..hints import add_hint
            raise add_hint(RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                                        "dimension spans across two contiguous subspaces). Use .reshape(...) instead."),
                           "view") from None
        return view_of(a, v)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Reshape(Function):
    """reshape that had to copy (the input's strides allow no view);  d/da = g.reshape(a.shape)"""
    _grad_fn_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return a._data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


def reshape(a, shape):
    """A view when the strides allow one, else a copy — torch's rule."""
    x = a._data
    shape = infer_shape(shape, x.size)
    try:
        x.reshape(shape, copy=False)
    except ValueError:
        return Reshape.apply(a, shape)
    return View.apply(a, shape)


class Permute(Function):
    """permute(a, dims):  d/da = g.permute(inverse(dims))"""
    _grad_fn_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, a, dims):
        n = a._data.ndim
        if len(dims) == n:
            dims = tuple(norm_dim(d, n) for d in dims)
        if len(dims) != n or len(set(dims)) != n:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal "
                               f"to len(dims) = {len(dims)}" if len(dims) != n else "permute(): duplicate dims are not allowed.")
        ctx.inv = tuple(np.argsort(dims))
        return view_of(a, a._data.transpose(dims))

    @staticmethod
    def backward(ctx, g):
        return g.permute(ctx.inv), None


class Transpose(Function):
    """transpose(a, d0, d1):  d/da = g.transpose(d0, d1)"""
    _grad_fn_name = "TransposeBackward0"

    @staticmethod
    def forward(ctx, a, d0, d1):
        n = a._data.ndim
        if n == 0:
            return view_of(a, a._data.view())
        d0, d1 = norm_dim(d0, n), norm_dim(d1, n)
        ctx.d = (d0, d1)
        return view_of(a, a._data.swapaxes(d0, d1))

    @staticmethod
    def backward(ctx, g):
        if not hasattr(ctx, "d"):
            return g, None, None
        if not STATE.enabled:   # no graph to build: the swapped view of g's array, without a Function call
            return wrap(g._data.swapaxes(*ctx.d)), None, None
        return g.transpose(*ctx.d), None, None


class T(Transpose):
    _grad_fn_name = "TBackward0"


def expanded_shape(have, size):
    """``size`` with each -1 replaced by the existing size there, or torch's error where a tensor of shape
    ``have`` cannot be expanded to it (for ``expand``, ``addmm``'s ``c`` and assignments ``x[k] = v``).
    As torch, the sizes are checked from the innermost out and quoted as given."""
    size = list(size)
    if len(size) < len(have):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(have)}}}, size={size}): the number of sizes "
                           f"provided ({len(size)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(have)})")
    lead = len(size) - len(have)
    shape = list(size)
    for i in reversed(range(len(size))):
        s = size[i]
        if i < lead:
            if s == -1:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
        elif s == -1:
            shape[i] = have[i - lead]
        elif have[i - lead] != 1 and have[i - lead] != s:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size "
                               f"({have[i - lead]}) at non-singleton dimension {i}.  Target sizes: {size}.  "
                               f"Tensor sizes: {list(have)}")
    return tuple(shape)


class Expand(Function):
    """expand(a, shape): stride-0 broadcast view;  d/da = g summed over the expanded axes (done by the engine)"""
    _grad_fn_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, a, shape):
        x = a._data
        return view_of(a, array_module(x).broadcast_to(x, expanded_shape(x.shape, shape)))

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine sums g back to a's shape


class Squeeze(Function):
    """squeeze(a, dims): drop size-1 axes;  d/da = g.reshape(a.shape)"""
    _grad_fn_name = "SqueezeBackward1"

    @staticmethod
    def forward(ctx, a, dim=None):
        x = a._data
        ctx.shape = x.shape
        if dim is None:
            axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
        else:
            dims = (dim,) if isinstance(dim, int) else tuple(dim)
            axes = tuple(d for d in (norm_dim(d, x.ndim) for d in dims) if x.ndim and x.shape[d] == 1)
        return view_of(a, x.squeeze(axes) if axes else x.view())

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class SqueezeAll(Squeeze):
    """squeeze(a) with no dim (torch names this node differently)"""
    _grad_fn_name = "SqueezeBackward0"


class SqueezeDims(Squeeze):
    """squeeze(a, (d0, d1, ...))"""
    _grad_fn_name = "SqueezeBackward2"


class Unsqueeze(Function):
    """unsqueeze(a, d): insert a size-1 axis;  d/da = g.squeeze(d)"""
    _grad_fn_name = "UnsqueezeBackward0"

    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        d = norm_dim(dim, x.ndim + 1)
        ctx.d = d
        return view_of(a, array_module(x).expand_dims(x, d))

    @staticmethod
    def backward(ctx, g):
        return g.squeeze(ctx.d), None


class Contiguous(Function):
    """A row-major copy;  d/da = g"""
    _grad_fn_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, a, memory_format=None):
        return array_module(a._data).ascontiguousarray(a._data) if a._data.ndim else a._data.copy()

    @staticmethod
    def backward(ctx, g):
        return g, None


class Clone(Contiguous):
    """clone(a): a copy with the same shape;  d/da = g"""

    @staticmethod
    def forward(ctx, a, memory_format=None):
        return a._data.copy()


class ToDevice(Function):
    """Copy to another device;  d/da = g moved back"""
    _grad_fn_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, a, dev):
        ctx.src = a.device
        return to_device_array(a._data, dev)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.src), None


class Cat(Function):
    """cat(tensors, d):  each input gets its slice of g along d"""
    _grad_fn_name = "CatBackward0"

    @staticmethod
    def forward(ctx, d, *tensors):
        if not tensors:
            raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
        from ..dtypes import result_type
        dt = result_type(*tensors).np
        arrs = [t._data for t in tensors]
        nd = max(a.ndim for a in arrs)
        if nd == 0:
            raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
        # torch skips legacy empty 1-D tensors of shape (0,)
        keep = [i for i, a in enumerate(arrs) if not (a.ndim == 1 and a.shape[0] == 0 and nd > 1)]
        d = norm_dim(d, nd)
        ref = arrs[keep[0]] if keep else arrs[0]
        for i in keep:
            a = arrs[i]
            if a.ndim != ref.ndim:
                raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {a.ndim}")
            for k in range(a.ndim):
                if k != d and a.shape[k] != ref.shape[k]:
                    raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                       f"{ref.shape[k]} but got size {a.shape[k]} for tensor number {i} in the list.")
        ctx.d = d
        ctx.sizes = [a.shape[d] if i in keep else 0 for i, a in enumerate(arrs)]
        ctx.keep = keep
        xp = array_module(ref)
        return xp.concatenate([arrs[i].astype(dt, copy=False) for i in keep], axis=d)

    @staticmethod
    def backward(ctx, g):
        out, start = [None], 0
        for i, n in enumerate(ctx.sizes):
            if i in ctx.keep:
                out.append(g.narrow(ctx.d, start, n))
                start += n
            else:
                out.append(None)
        return tuple(out)


class Stack(Function):
    """stack(tensors, d):  each input gets g.select(d, i)"""
    _grad_fn_name = "StackBackward0"

    @staticmethod
    def forward(ctx, d, *tensors):
        if not tensors:
            raise RuntimeError("stack expects a non-empty TensorList")
        from ..dtypes import result_type
        dt = result_type(*tensors).np
        s0 = tensors[0]._data.shape
        for i, t in enumerate(tensors):
            if t._data.shape != s0:
                raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                                   f"{list(t._data.shape)} at entry {i}")
        d = norm_dim(d, len(s0) + 1)
        ctx.d, ctx.n = d, len(tensors)
        xp = array_module(tensors[0]._data)
        return xp.stack([t._data.astype(dt, copy=False) for t in tensors], axis=d)

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(g.select(ctx.d, i) for i in range(ctx.n))


# ---- indexing ------------------------------------------------------------------------------------
def _norm_key(key):
    """Turn a torch index (ints, slices, None, Ellipsis, bool/int tensors, lists) into a NumPy one."""
    if key.__class__ is list and len(key) < 32 and any(
            isinstance(e, (Tensor, list, tuple, slice)) or e is None or e is Ellipsis for e in key):
        import warnings  # torch's legacy rule: such a list is read as a tuple of indices
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in "
                      "pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as "
                      "tensor index, x[torch.tensor(seq)], which will result either in an error or a different "
                      "result", UserWarning, stacklevel=4)
        key = tuple(key)
    if not isinstance(key, tuple):
        key = (key,)
    out, advanced = [], False
    for k in key:
        if isinstance(k, Tensor):
            a = k._data
            if a.dtype.kind not in "biu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if a.ndim == 0 and a.dtype.kind != "b":
                out.append(int(a))
                continue
            out.append(a)
            advanced = True
        elif isinstance(k, (list, np.ndarray)) or (hasattr(k, "__cuda_array_interface__")):
            a = np.asarray(k) if isinstance(k, list) else k
            if isinstance(k, list) and any(isinstance(e, Tensor) for e in k):
                a = np.asarray([int(e) for e in k])
            out.append(a)
            advanced = True
        elif isinstance(k, (bool, np.bool_)):
            out.append(np.bool_(k))
            advanced = True
        else:
            if k.__class__ is slice and k.step is not None and k.step <= 0:  # NumPy would reverse; torch refuses
                raise ValueError("step must be greater than zero" if k.step < 0 else "slice step cannot be zero")
            out.append(k)
    return tuple(out), advanced


def _check_bounds(x, key):
    """torch raises IndexError for out-of-range ints; NumPy agrees, so only the message is rewritten."""
    try:
        return x[key]
    except IndexError as e:
        msg = str(e)
        if "out of bounds" in msg and "axis" in msg:
            msg = msg.replace("for axis", "for dimension")  # NumPy's words -> torch's
        raise IndexError(msg) from None


class Index(Function):
    """a[key] with advanced (tensor/list/bool) indices:  d/da = zeros with g added at key"""
    _grad_fn_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, a, key):
        x = a._data
        ctx.shape, ctx.key, ctx.dtype = x.shape, key, x.dtype
        return _check_bounds(x, key)

    @staticmethod
    def backward(ctx, g):
        return IndexGrad.apply(g, ctx.shape, ctx.key), None


class RefreshedView(Index):
    """A view's elements read again from its (since modified) base"""
    _grad_fn_name = "AsStridedBackward0"


class Slice(Index):
    """a[key] with basic indices (ints, slices, None, ...): a view;  d/da = zeros with g at key (as Index)"""
    _grad_fn_name = "SliceBackward0"

    @staticmethod
    def forward(ctx, a, key):
        x = a._data
        ctx.shape, ctx.key = x.shape, key
        out = _check_bounds(x, key)
        if out.__class__ is not x.__class__:  # all ints gave a NumPy scalar: a trailing ... keeps a 0-d view
            out = x[key + (Ellipsis,)] if not any(k is Ellipsis for k in key) else array_module(x).asarray(out)
        return view_of(a, out) if out.base is not None else wrap(out)


class Select(Slice):
    _grad_fn_name = "SelectBackward0"


class IndexGrad(Function):
    """Scatter-add g into zeros of ``shape`` at ``key`` (the backward of indexing);  d/dg = gg[key]"""
    _grad_fn_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, g, shape, key):
        x = g._data
        xp = array_module(x)
        out = xp.zeros(shape, dtype=x.dtype)
        ctx.key = key
        _, advanced = _norm_key(key) if not isinstance(key, tuple) else (None, any(
            isinstance(k, (np.ndarray,)) or hasattr(k, "__cuda_array_interface__") or isinstance(k, np.bool_)
            for k in key))
        if advanced:
            xp.add.at(out, key, x)
        else:
            out[key] = x
        return out

    @staticmethod
    def backward(ctx, gg):
        return index(gg, ctx.key), None, None


class Split(Function):
    """split(a, sizes, d): one node, many views;  d/da = cat of the pieces' gradients along d
    (a piece that got no gradient contributes zeros). One node keeps backward O(n), not O(pieces * n)."""
    _grad_fn_name = "SplitBackward0"

    @staticmethod
    def forward(ctx, a, d, sizes, squeeze=False):
        x = a._data
        outs, start, lead = [], 0, (slice(None),) * d
        for s in sizes:
            v = x[lead + ((start,) if squeeze else (slice(start, start + s),))]
            outs.append(view_of(a, v))
            start += s
        ctx.d, ctx.squeeze = d, squeeze
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        from ..functions import cat, stack
        whole = stack(grads, ctx.d) if ctx.squeeze else cat(grads, ctx.d)
        return whole, None, None, None


class SplitWithSizes(Split):
    _grad_fn_name = "SplitWithSizesBackward0"


class Unbind(Split):
    """unbind(a, d): the slices a.select(d, i) as one node;  d/da = stack of their gradients"""
    _grad_fn_name = "UnbindBackward0"


class SliceUnsqueeze(Slice):
    _grad_fn_name = "UnsqueezeBackward0"


class SliceAlias(Slice):
    _grad_fn_name = "AliasBackward0"


def _basic_node(shape, k):
    """The node torch records for basic indexing: that of the last step that changes something
    (an int selects, a ``None`` unsqueezes, a slice that is not the whole axis slices)."""
    if len(k) == 1 and k[0] == slice(None):
        return Slice
    n_real = sum(1 for i in k if i is not None and i is not Ellipsis)
    last, d = SliceAlias, 0
    for i in k:
        if i is Ellipsis:
            d += len(shape) - n_real
        elif i is None:
            last = SliceUnsqueeze
        elif isinstance(i, slice):
            if d < len(shape) and i.indices(shape[d]) != (0, shape[d], 1):
                last = Slice
            d += 1
        else:
            last, d = Select, d + 1
    return last


def index(a, key):
    """``a[key]`` — the entry point used by ``Tensor.__getitem__``."""
    k, advanced = _norm_key(key)
    if advanced:
        return Index.apply(a, k)
    return _basic_node(a._data.shape, k).apply(a, k)


class IndexPut(Function):
    """out = a with out[key] = v:  d/da = g with zeros at key,  d/dv = g[key] (summed to v's shape)"""
    _grad_fn_name = "CopySlices"

    @staticmethod
    def forward(ctx, a, key, v, accumulate=False):
        x = a._data.copy()
        val = v._data if is_tensor(v) else v
        ctx.key, ctx.acc = key, accumulate
        try:
            if accumulate:
                array_module(x).add.at(x, key, val)
            else:
                x[key] = val
        except IndexError as e:  # NumPy's words -> torch's
            raise IndexError(str(e).replace("for axis", "for dimension")) from None
        return x

    @staticmethod
    def backward(ctx, g):
        ga = None
        if ctx.needs_input_grad[0]:
            ga = g if ctx.acc else IndexPut.apply(g, ctx.key, 0.0)
        gv = index(g, ctx.key) if ctx.needs_input_grad[2] else None
        return ga, None, gv, None


class IndexPutAdvanced(IndexPut):
    """index_put / ``a[tensor_index] = v`` (torch names the node after index_put)"""
    _grad_fn_name = "IndexPutBackward0"


class Gather(Function):
    """gather(a, d, idx):  d/da = zeros scatter-added with g at idx"""
    _grad_fn_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, a, dim, idx):
        x, i = a._data, idx._data
        d = norm_dim(dim, x.ndim)
        if i.dtype != np.int64:
            raise RuntimeError("gather(): Expected dtype int64 for index")
        if i.ndim != x.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        check_index_range(i, x.shape[d], d)
        ctx.d, ctx.shape = d, x.shape
        ctx.save_for_backward(idx)
        xp = array_module(x)
        if any(i.shape[k] > x.shape[k] for k in range(x.ndim) if k != d):
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(i.shape)} to be smaller "
                               f"than self {list(x.shape)} apart from dimension {d}")
        sl = tuple(slice(0, i.shape[k]) if k != d else slice(None) for k in range(x.ndim))
        return xp.take_along_axis(x[sl], i, axis=d)

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return ScatterAdd.apply(g.new_zeros(ctx.shape), ctx.d, idx, g), None, None


def _scatter_index(x, d, i):
    """Full index arrays for writing src[j...] into x at position i along axis d."""
    xp = array_module(x)
    n = len(i.shape)  # open grids: arange along each axis, size 1 elsewhere (CuPy lacks indices(sparse=))
    grids = [xp.arange(s).reshape((1,) * k + (s,) + (1,) * (n - k - 1)) for k, s in enumerate(i.shape)]
    grids[d] = i
    return tuple(grids)


class Scatter(Function):
    """scatter(a, d, idx, src): a with src written at idx;  d/da = g zeroed at idx,  d/dsrc = g.gather(d, idx)"""
    _grad_fn_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx, a, dim, idx, src, reduce=None):
        x = a._data.copy()
        d = norm_dim(dim, x.ndim)
        i = idx._data
        if i.dtype != np.int64:
            raise RuntimeError("scatter(): Expected dtype int64 for index")
        check_index_range(i, x.shape[d], d)
        s = src._data if is_tensor(src) else src
        ix = _scatter_index(x, d, i)
        if is_tensor(src):
            s = s[tuple(slice(0, n) for n in i.shape)]
        xp = array_module(x)
        if reduce is None:
            x[ix] = s
        elif reduce == "add":
            xp.add.at(x, ix, s)
        elif reduce == "multiply":
            xp.multiply.at(x, ix, s)
        else:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        ctx.d, ctx.src_t = d, is_tensor(src)
        ctx.save_for_backward(idx)
        return x

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        ga = Scatter.apply(g, ctx.d, idx, 0.0) if ctx.needs_input_grad[0] else None
        gs = g.gather(ctx.d, idx) if ctx.src_t and ctx.needs_input_grad[3] else None
        return ga, None, None, gs, None


class ScatterValue(Scatter):
    """scatter(a, d, idx, value) with a number (torch's second overload)"""
    _grad_fn_name = "ScatterBackward1"


class ScatterAdd(Function):
    """scatter_add(a, d, idx, src): a + src summed into idx;  d/da = g,  d/dsrc = g.gather(d, idx)"""
    _grad_fn_name = "ScatterAddBackward0"

    @staticmethod
    def forward(ctx, a, dim, idx, src):
        x = a._data.copy()
        d = norm_dim(dim, x.ndim)
        i = idx._data
        check_index_range(i, x.shape[d], d)
        s = src._data[tuple(slice(0, n) for n in i.shape)]
        array_module(x).add.at(x, _scatter_index(x, d, i), s)
        ctx.d = d
        ctx.save_for_backward(idx)
        return x

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return g, None, None, g.gather(ctx.d, idx)


class IndexSelect(Function):
    """index_select(a, d, idx):  d/da = index_add of g into zeros"""
    _grad_fn_name = "IndexSelectBackward0"

    @staticmethod
    def forward(ctx, a, dim, idx):
        x = a._data
        d = norm_dim(dim, x.ndim)
        i = idx._data
        if i.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        if i.dtype.kind not in "iu":
            raise IndexError("index_select(): Expected dtype int32/int64 for index")
        check_index_range(i, x.shape[d] if x.ndim else 1, d, "index_select" if x.ndim > 1 else "index_select_1d")
        ctx.d, ctx.shape = d, x.shape
        ctx.save_for_backward(idx)
        return array_module(x).take(x, i.reshape(-1), axis=d) if x.ndim else x.copy()

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        return IndexAdd.apply(g.new_zeros(ctx.shape), ctx.d, idx, g), None, None


class IndexAdd(Function):
    """index_add(a, d, idx, src, alpha):  d/da = g,  d/dsrc = alpha * g.index_select(d, idx)"""
    _grad_fn_name = "IndexAddBackward0"

    @staticmethod
    def forward(ctx, a, dim, idx, src, alpha=1):
        x = a._data.copy()
        d = norm_dim(dim, x.ndim)
        check_index_range(idx._data, x.shape[d] if x.ndim else 1, d)
        key = (slice(None),) * d + (idx._data.reshape(-1),)
        s = src._data * alpha if alpha != 1 else src._data
        array_module(x).add.at(x, key, s)
        ctx.d, ctx.alpha = d, alpha
        ctx.save_for_backward(idx)
        return x

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        gs = g.index_select(ctx.d, idx)
        return g, None, None, (gs * ctx.alpha if ctx.alpha != 1 else gs), None


class MaskedFill(Function):
    """masked_fill(a, mask, v):  d/da = g where not mask;  d/dv = sum of g where mask (v a 0-d tensor)"""
    _grad_fn_name = "MaskedFillBackward0"

    @staticmethod
    def forward(ctx, a, mask, value):
        m = mask._data
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                               f"{mask.dtype.name}")
        x = a._data
        v = value._data if is_tensor(value) else value
        if is_tensor(value) and value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        xp = array_module(x)
        m2 = xp.broadcast_to(m, np.broadcast_shapes(m.shape, x.shape))
        out = xp.where(m2, xp.asarray(v, dtype=x.dtype), x)
        if out.shape != x.shape:
            raise RuntimeError(f"The size of tensor a ({x.shape[-1]}) must match the size of tensor b "
                               f"({m.shape[-1]}) at non-singleton dimension {x.ndim - 1}")
        ctx.m = m
        return out

    @staticmethod
    def backward(ctx, g):
        m = wrap(ctx.m)
        ga = g.masked_fill(m, 0) if ctx.needs_input_grad[0] else None
        gv = (g * m).sum() if ctx.needs_input_grad[2] else None
        return ga, None, gv


class Flip(Function):
    """flip(a, dims):  d/da = g.flip(dims)"""
    _grad_fn_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, a, dims):
        x = a._data
        dims = tuple(norm_dim(d, x.ndim) for d in ((dims,) if isinstance(dims, int) else dims))
        ctx.dims = dims
        return array_module(x).flip(x, dims).copy() if dims else x.copy()

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims), None


class Roll(Function):
    """roll(a, shifts, dims):  d/da = g rolled back"""
    _grad_fn_name = "RollBackward0"

    @staticmethod
    def forward(ctx, a, shifts, dims=None):
        ctx.shifts, ctx.dims = shifts, dims
        return array_module(a._data).roll(a._data, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, (tuple, list)) else -ctx.shifts
        return g.roll(neg, ctx.dims), None, None


class Tri(Function):
    """tril/triu(a, k): keep one triangle;  d/da = the same triangle of g"""
    _grad_fn_name = "TrilBackward0"

    @staticmethod
    def forward(ctx, a, k=0):
        x = a._data
        if x.ndim < 2:
            raise RuntimeError(f"{'tril' if ctx._fn is Tri else 'triu'}: input tensor must have at least 2 "
                               "dimensions")
        ctx.k = k
        xp = array_module(x)
        return xp.tril(x, k) if ctx._fn is Tri else xp.triu(x, k)

    @staticmethod
    def backward(ctx, g):
        return (g.tril(ctx.k) if ctx._fn is Tri else g.triu(ctx.k)), None


class Triu(Tri):
    _grad_fn_name = "TriuBackward0"


class Repeat(Function):
    """repeat(a, reps) (tiling):  d/da = g summed over the copies"""
    _grad_fn_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, a, reps):
        x = a._data
        if len(reps) < x.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                               "of tensor")
        xs = (1,) * (len(reps) - x.ndim) + x.shape
        ctx.xs, ctx.reps, ctx.shape = xs, reps, x.shape
        return array_module(x).tile(x.reshape(xs), reps)

    @staticmethod
    def backward(ctx, g):
        split = []
        for r, s in zip(ctx.reps, ctx.xs):
            split += [r, s]
        return g.reshape(split).sum(dim=tuple(range(0, len(split), 2))).reshape(ctx.shape), None


class Diagonal(Function):
    """diagonal(a, offset, d1, d2): a view;  d/da = zeros with g on that diagonal"""
    _grad_fn_name = "DiagonalBackward0"

    @staticmethod
    def forward(ctx, a, offset=0, dim1=0, dim2=1):
        x = a._data
        ctx.args, ctx.shape = (offset, norm_dim(dim1, x.ndim), norm_dim(dim2, x.ndim)), x.shape
        return view_of(a, array_module(x).diagonal(x, *ctx.args))

    @staticmethod
    def backward(ctx, g):
        return DiagonalSet.apply(g.new_zeros(ctx.shape), g, *ctx.args), None, None, None


class DiagonalSet(Function):
    """zeros with ``g`` written on a diagonal;  d/dg = diagonal of the gradient"""
    _grad_fn_name = "DiagonalBackwardBackward0"

    @staticmethod
    def forward(ctx, z, g, offset, d1, d2):
        out = z._data.copy()
        xp = array_module(out)
        v = xp.moveaxis(out, (d1, d2), (-2, -1))  # a writable view with the two axes last
        i = xp.arange(g._data.shape[-1])
        v[..., i + max(-offset, 0), i + max(offset, 0)] = g._data
        ctx.args = (offset, d1, d2)
        return out

    @staticmethod
    def backward(ctx, gg):
        return None, gg.diagonal(*ctx.args), None, None, None
