"""``Tensor``: one ndarray plus the fields autograd needs.

The ndarray in ``t._data`` *is* the strided view over the tensor's storage: ``stride()``,
``storage_offset()``, ``is_contiguous()`` and ``data_ptr()`` are read straight off it, and a view
(``view``, ``transpose``, slicing, ...) is a NumPy view of the same memory, so writing through one is
seen by the other. All views of one storage share a version counter (``_vc``, a one-item list) that
in-place ops bump, so backward can tell when a tensor it saved was changed afterwards.

The math lives in ``ember/ops``; the methods here are thin and most are attached by ``ember/_methods.py``.
"""
import numpy as np

from .dtypes import _BY_NP, to_dtype, get_default_dtype
from .device import device_of, array_module, to_device_array, cupy

__all__ = ["Tensor", "Size", "wrap", "is_array"]


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``torch.Size([2, 3])``."""

    def __repr__(self):
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


def is_array(x):
    return isinstance(x, np.ndarray) or (cupy is not None and isinstance(x, cupy.ndarray))


def wrap(arr, requires_grad=False):
    """A Tensor around ``arr`` (no copy). NumPy scalars become 0-d arrays."""
    t = _new(Tensor)
    if arr.__class__ is not np.ndarray and not is_array(arr):
        arr = np.asarray(arr)
    t._data = arr
    t._requires_grad = requires_grad
    t.grad = None
    t.grad_fn = None
    t._vc = [0]
    t._base = None
    t._output_nr = 0
    t._accum = None
    return t


_new = object.__new__


def _alias(t):
    """A new Tensor object over the same memory and version counter (a view of all of ``t``)."""
    a = wrap(t._data.view())
    a._vc, a._base = t._vc, (t._base if t._base is not None else t)
    return a


class Tensor:
    """A multi-dimensional array with autograd: PyTorch's ``torch.Tensor`` on a NumPy array."""

    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_vc", "_base", "_output_nr", "_accum",
                 "_retains", "__weakref__", "__dict__")
    _subclasses = {None}  # filled below: the exact classes Function.apply treats as tensors
    __array_priority__ = 1000  # ndarray OP Tensor -> our reflected operator wins

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        Tensor._subclasses.add(cls)

    def __new__(cls, *args, **kwargs):
        """``Tensor(data)`` (float32 copy) or ``Tensor(2, 3)`` (uninitialised shape), as torch's legacy constructor."""
        from .creation import _legacy_new
        return _legacy_new(cls, *args, **kwargs)

    # ---- autograd fields ------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None:
            if value:
                return
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if value and self._data.dtype.kind not in "fcV":
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def _version(self):
        return self._vc[0]

    def _bump(self):
        """Mark an in-place change made directly on ``_data`` (optimizers, init)."""
        self._vc[0] += 1

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if getattr(self, "_retains", False):
            return
        self._retains = True
        import weakref
        ref = weakref.ref(self)

        def _keep(g):
            t = ref()
            if t is not None:
                t.grad = wrap(g._data.copy()) if t.grad is None else t.grad + g
        self.grad_fn._add_pre_hook(self._output_nr, _keep)

    @property
    def retains_grad(self):
        return bool(getattr(self, "_retains", False)) and self.grad_fn is not None

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; it may return a replacement."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_pre_hook(self._output_nr, hook)
        from .autograd.function import AccumulateGrad
        if self._accum is None:
            self._accum = AccumulateGrad(self)
        return self._accum._add_pre_hook(0, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` runs after backward has added into this leaf's ``.grad`` (e.g. to reduce or
        apply it at once, as DistributedDataParallel and fused optimizers do)."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.function import AccumulateGrad, _Handle
        if self._accum is None:
            self._accum = AccumulateGrad(self)
        if self._accum._post_hooks is None:
            self._accum._post_hooks = []
        self._accum._post_hooks.append(hook)
        return _Handle(self._accum._post_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute d(self)/d(leaf) for every leaf and add it into ``leaf.grad`` (self must be scalar
        unless ``gradient`` is given)."""
        from .autograd.engine import backward
        backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """The same data, cut off from the graph (shares memory and version counter)."""
        t = wrap(self._data)
        t._vc = self._vc
        return t

    def detach_(self):
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        """``t.data``: a detached tensor over the same memory (changes to it are not tracked)."""
        return self.detach()

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    # ---- shape, dtype, device ---------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        from .ops._util import norm_dim
        return self._data.shape[norm_dim(dim, self._data.ndim)]

    @property
    def dtype(self):
        return _BY_NP[self._data.dtype]

    @property
    def device(self):
        return device_of(self._data)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def is_floating_point(self):
        return self._data.dtype.kind in "fV"

    def is_complex(self):
        return self._data.dtype.kind == "c"

    @property
    def is_sparse(self):
        return False

    @property
    def layout(self):
        return "torch.strided"

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ---- storage and strides ----------------------------------------------------------------------
    def stride(self, dim=None):
        """Steps, in elements, between neighbours along each dimension."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        if dim is None:
            return st
        from .ops._util import norm_dim
        return st[norm_dim(dim, self._data.ndim)]

    def _storage_root(self):
        a = self._data
        while isinstance(a.base, type(a)):
            a = a.base
        return a

    def data_ptr(self):
        """Address of the first element."""
        a = self._data
        return a.data.ptr if hasattr(a.data, "ptr") else a.__array_interface__["data"][0]

    def storage_offset(self):
        """How many elements into its storage this tensor starts."""
        root = self._storage_root()
        rp = root.data.ptr if hasattr(root.data, "ptr") else root.__array_interface__["data"][0]
        return (self.data_ptr() - rp) // self._data.itemsize

    def untyped_storage(self):
        from .storage import UntypedStorage
        return UntypedStorage(self._storage_root(), self)

    def storage(self):
        """The storage as elements of the tensor's dtype (a ``TypedStorage``, deprecated in torch)."""
        from .storage import TypedStorage
        return TypedStorage(self._storage_root(), self)

    def is_contiguous(self, memory_format=None):
        """Row-major with no gaps (size-1 dimensions may have any stride)."""
        return bool(self._data.flags.c_contiguous)

    def contiguous(self, memory_format=None):
        """Self if already contiguous, else a row-major copy (differentiable)."""
        if self._data.flags.c_contiguous:
            return self
        from .ops.movement import Contiguous
        return Contiguous.apply(self)

    def is_set_to(self, other):
        return (self.data_ptr() == other.data_ptr() and self._data.shape == other._data.shape
                and self._data.strides == other._data.strides)

    # ---- conversions --------------------------------------------------------------------------------
    def numpy(self, force=False):
        """The ndarray itself (shares memory) — refused for tensors in a graph, like torch."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        if self.device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                                "copy the tensor to host memory first.")
            return self._data.get()
        if self._data.dtype.kind == "V":  # NumPy has no bfloat16 (torch refuses too; use .float())
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self._data

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item() if self._data.ndim else self._data.item()

    def tolist(self):
        a = self._data
        return (a.get() if not isinstance(a, np.ndarray) else a).tolist()

    def __float__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __int__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __array__(self, dtype=None, copy=None):
        a = self._data if isinstance(self._data, np.ndarray) else self._data.get()
        return a if dtype is None else a.astype(dtype)

    def __hash__(self):
        return id(self)

    def __repr__(self, *, tensor_contents=None):
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:  # as torch: f"{tensor(3)}" is "3"
            return format(self.item(), spec)
        return object.__format__(str(self), spec) if not spec else format(str(self), spec)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __reduce_ex__(self, proto):
        # Lets worker processes (multiprocessing) send tensors; loading files never uses pickle.
        return (_rebuild, (np.asarray(self.__array__()), self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.  If you were attempting to deepcopy a module, this may "
                               "be because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        new = self.__class__.__new__(self.__class__, wrap(self._data.copy()), self._requires_grad) \
            if self.__class__ is not Tensor else wrap(self._data.copy(), self._requires_grad)
        if self.grad is not None:
            new.grad = wrap(self.grad._data.copy())
        memo[id(self)] = new
        return new

    # ---- device / dtype moves -----------------------------------------------------------------
    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; returns self when nothing changes."""
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        for a in args:
            if isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
            elif a is None:
                continue
            elif isinstance(a, str) or a.__class__.__name__ == "device" or isinstance(a, int) and \
                    not isinstance(a, bool):
                if isinstance(a, str) and a.startswith("torch.") or (isinstance(a, str) and _is_dtype_name(a)):
                    dtype = a
                else:
                    dev = a
            else:
                dtype = a
        out = self
        if dev is not None:
            from .device import device as _device
            d = _device(dev)
            if d != self.device and not (d.type == self.device.type and d.index is None):
                from .ops.movement import ToDevice
                out = ToDevice.apply(out, d)
        if dtype is not None:
            dt = to_dtype(dtype)
            if dt.np != out._data.dtype:
                from .ops.pointwise import Cast
                out = Cast.apply(out, dt)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to("cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device))

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """No argument: the legacy type name ('torch.FloatTensor'). Else convert to a dtype, a legacy class
        (``torch.LongTensor``) or its name ('torch.LongTensor', 'torch.cuda.FloatTensor')."""
        if dtype is None:
            from .autograd.function import _type_name
            prefix = "torch.cuda." if self.device.type == "cuda" else "torch."
            return prefix + _type_name(self)
        from ._legacy_tensors import TYPE_NAMES
        device = None
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            parts = dtype.split(".")
            if parts[-1] not in TYPE_NAMES or parts[0] != "torch" or len(parts) not in (2, 3) or \
                    (len(parts) == 3 and parts[1] != "cuda"):
                raise ValueError(f"invalid type: '{dtype}'")
            device = "cuda" if len(parts) == 3 else "cpu"
            dtype = TYPE_NAMES[parts[-1]]
        elif isinstance(dtype, type) and dtype.__name__ in TYPE_NAMES:
            device, dtype = "cpu", dtype.dtype
        return self.to(device=device, dtype=to_dtype(dtype))

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self, memory_format=None):
        return self.to(_f32())

    def double(self, memory_format=None):
        return self.to("float64")

    def half(self, memory_format=None):
        return self.to("float16")

    def bfloat16(self, memory_format=None):
        return self.to("bfloat16")

    def long(self, memory_format=None):
        return self.to("int64")

    def int(self, memory_format=None):
        return self.to("int32")

    def short(self, memory_format=None):
        return self.to("int16")

    def char(self, memory_format=None):
        return self.to("int8")

    def byte(self, memory_format=None):
        return self.to("uint8")

    def bool(self, memory_format=None):
        return self.to("bool")

    def pin_memory(self):
        return self

    def is_pinned(self):
        return False

    def share_memory_(self):
        return self

    def is_shared(self):
        return False


def _is_dtype_name(s):
    from .dtypes import _BY_NAME
    return s in _BY_NAME


def _f32():
    from .dtypes import float32
    return float32


def _rebuild(arr, requires_grad):
    return wrap(np.array(arr), requires_grad)


Tensor._subclasses.discard(None)
Tensor._subclasses.add(Tensor)
