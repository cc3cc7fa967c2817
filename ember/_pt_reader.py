"""Read PyTorch ``.pt`` / ``.pth`` checkpoints without ever unpickling.

``torch.save`` writes a zip archive::

    archive/data.pkl        a pickle of the object tree; each tensor is a call
                            ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
                            whose ``storage`` is a *persistent id*
                            ``('storage', torch.FloatStorage, '<key>', 'cpu', numel)``
    archive/data/<key>      the raw little-endian bytes of each storage
    archive/byteorder       'little' or 'big'
    archive/version         format version

A pickle is a small stack-machine program, and Python's own ``pickle`` loader will call *any*
importable function the program names (``os.system`` included). This module is a separate,
tiny interpreter for the opcodes torch emits. ``GLOBAL`` may only name an allowlisted value (the
set ``torch.load(weights_only=True)`` accepts: tensor rebuild functions, storage types, dtypes,
``torch.Size``, ``torch.device``, ``collections.OrderedDict``, ``set``, ``complex``, bytes);
everything it yields is an inert Python object defined here, so ``REDUCE`` can never reach
arbitrary code. Anything else raises :class:`UnsafeCheckpointError` naming the global.

Tensors are rebuilt with NumPy: each storage's bytes are read (or mapped) once and become one
1-d array; every tensor is the ``(offset, size, stride)`` strided *view* onto it, so tensors that
shared a storage in torch share memory after loading too (and a file of 400 views of one storage
costs one storage of memory, not 400).

A checkpoint may be hostile. Everything the reader does is bounded by the file's size
(see :class:`_Limits`): the interpreter runs each opcode once, hashes only small keys, describes
objects by type and size in its messages (never ``repr`` of something unbounded), refuses zip
members whose bytes overlap, and checks the nesting depth of what it returns.
"""
import struct
import zipfile
import zlib
from collections import Counter, OrderedDict, defaultdict

import ml_dtypes
import numpy as np

__all__ = ["CheckpointError", "UnsafeCheckpointError", "read_torch_zip"]


class CheckpointError(RuntimeError):
    """The file is not a valid Ember/safetensors/PyTorch checkpoint (truncated, corrupted, foreign)."""


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint asks for something other than tensors, containers and plain values."""


# ----------------------------------------------------------------------------------------------
# bounds: every limit the reader enforces against a hostile file lives here
# ----------------------------------------------------------------------------------------------
class _Limits:
    """What a checkpoint may make the reader do, in proportion to its size.

    * ``MAX_DEPTH``: containers nested deeper than this are refused (Python code, ``repr`` and
      ``copy.deepcopy`` recurse into them; real checkpoints nest a handful of levels).
    * ``MAX_KEY_NODES``: a dict key or set member may contain at most this many tuples, counted
      along every path (``hash`` of a tuple recurses in C and revisits shared parts: a 1 KB
      pickle can describe a tuple shared 2^60 ways, or nested 10^6 deep).
    * ``work_budget(n)``: the objects built, items stored and tuple nodes hashed for a pickle of
      ``n`` bytes. Each opcode is at least one byte, so honest files use a fraction of it.
    """

    MAX_DEPTH = 1000
    MAX_KEY_NODES = 10_000

    @staticmethod
    def work_budget(nbytes):
        return 100_000 + 16 * nbytes


def _describe(x):
    """A short description of ``x`` for an error message, built in O(1) from an untrusted object
    (``repr`` of a shared or deep structure can take forever)."""
    t = type(x)
    if t is int:
        return str(x) if -10 ** 18 < x < 10 ** 18 else f"a {x.bit_length()}-bit integer"
    if t is str:
        return repr(x[:60]) + ("..." if len(x) > 60 else "")
    if x is None or t in (bool, float):
        return repr(x)
    if t in (tuple, list, dict, OrderedDict, set, frozenset, Counter, bytes, bytearray):
        return f"a {t.__name__} of length {len(x)}"
    if isinstance(x, (_StorageType, _TypeMarker, _Callable)):
        return repr(x)
    return f"a {t.__name__}"


# ----------------------------------------------------------------------------------------------
# allowlisted globals: each GLOBAL resolves to one of these inert objects
# ----------------------------------------------------------------------------------------------
_BF16 = "bfloat16"  # marker: storage holds bfloat16 bits, viewed as ml_dtypes.bfloat16 on load


class Passthrough(Exception):
    """Carries an error raised by user code (``map_location``) through the reader's own
    error translation; the loader re-raises ``__cause__`` unchanged."""


class _StorageType:
    """``torch.FloatStorage`` & co: only remembers the element dtype."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class _TypeMarker:
    """``torch.Tensor`` / ``torch.nn.Parameter`` used as data (``_rebuild_from_type_v2``'s new_type)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


class _Callable:
    """An allowlisted function or class: ``REDUCE`` / ``NEWOBJ`` call ``fn(reader, *args)``."""

    def __init__(self, name, fn, newobj=False):
        self.name, self.fn, self.newobj = name, fn, newobj

    def __repr__(self):
        return self.name


class _Storage:
    """A persistent-id storage: raw bytes (writable buffer or copy-on-write memmap) + element type.

    ``flat(elem, byteorder)`` is the whole storage as one native 1-d array of element type
    ``elem``, converted (byte order, bool, bfloat16) once and cached: every tensor on this
    storage is a view of that array."""

    __slots__ = ("key", "raw", "dtype", "location", "numel", "_flat")

    def __init__(self, key, raw, dtype, location, numel, flats):
        self.key, self.raw, self.dtype, self.location, self.numel = key, raw, dtype, location, numel
        self._flat = flats  # shared by every record of this key (torch repeats the id per tensor)

    def flat(self, elem, byteorder):
        arr = self._flat.get(elem)
        if arr is None:
            raw_dtype = np.dtype(np.uint16 if elem is _BF16 else elem).newbyteorder(byteorder)
            count = len(self.raw) // raw_dtype.itemsize
            arr = _to_native(np.frombuffer(self.raw, dtype=raw_dtype, count=count), elem)
            if not arr.flags.writeable:  # bytes from a read-only source: tensors must be writable
                arr = arr.copy()
            self._flat[elem] = arr
        return arr


_STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "BFloat16Storage": _BF16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_, "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128, "UntypedStorage": np.uint8,
}
_UNSUPPORTED_KINDS = {
    "_rebuild_qtensor": "quantized tensors", "_rebuild_sparse_tensor": "sparse tensors",
    "_rebuild_nested_tensor": "nested tensors", "_rebuild_meta_tensor_no_storage": "meta tensors",
    "_rebuild_wrapper_subclass": "tensor subclasses", "_rebuild_device_tensor_from_numpy":
        "device tensors saved from NumPy", "_rebuild_device_tensor_from_cpu_tensor": "device tensors",
    "QInt8Storage": "quantized tensors", "QUInt8Storage": "quantized tensors",
    "QInt32Storage": "quantized tensors", "QUInt4x2Storage": "quantized tensors",
    "QUInt2x4Storage": "quantized tensors",
}
_TORCH_DTYPES_NOT_IN_EMBER = {  # real torch dtypes a checkpoint may hold that ember cannot represent
    "uint16", "uint32", "uint64", "complex32", "chalf", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8",
    "qint32", "quint4x2", "quint2x4", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
    *(f"int{n}" for n in range(1, 8)), *(f"uint{n}" for n in range(1, 8)),
}
_TORCH_DTYPE_NAMES = {
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int8", "int16", "short",
    "int32", "int", "int64", "long", "uint8", "bool", "complex64", "cfloat", "complex128", "cdouble",
}


def _fail(msg):
    raise CheckpointError(msg)


def _check_int(x, what, low=0):
    if type(x) is not int or x < low:
        _fail(f"not a valid PyTorch checkpoint: {what} must be an integer >= {low}, got {_describe(x)}")
    return x


def _check_shape(x, what):
    if type(x) not in (tuple, list) and not _is_size(x):
        _fail(f"not a valid PyTorch checkpoint: tensor {what} must be a tuple, got {type(x).__name__}")
    for v in x:
        _check_int(v, f"tensor {what} entry")
        if v >= 1 << 62:
            _fail(f"not a valid PyTorch checkpoint: tensor {what} entry {v} is absurdly large")
    return tuple(x)


def _is_size(x):
    from ._tensor import Size
    return isinstance(x, Size)


def _rebuild_tensor(reader, storage, storage_offset, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None, dtype=None):
    """The strided window ``(offset, size, stride)`` of ``storage`` as an ember tensor."""
    if not isinstance(storage, _Storage):
        _fail(f"not a valid PyTorch checkpoint: a tensor's storage is {type(storage).__name__}, "
              "not a storage record")
    offset = _check_int(storage_offset, "storage offset")
    size, stride = _check_shape(size, "size"), _check_shape(stride, "stride")
    if len(size) != len(stride):
        _fail(f"not a valid PyTorch checkpoint: tensor size {size} and stride {stride} differ in length")
    if type(requires_grad) is not bool:
        _fail("not a valid PyTorch checkpoint: requires_grad must be a bool")
    elem = storage.dtype if dtype is None else dtype
    flat = storage.flat(elem, reader.byteorder)
    count = flat.shape[0]
    if dtype is None and storage.numel > count:
        _fail(f"not a valid PyTorch checkpoint: storage '{_describe(storage.key)}' declares "
              f"{storage.numel} elements but holds only {count}")
    numel = int(np.prod(size, dtype=object)) if size else 1
    if numel == 0:
        return reader.make_tensor(np.empty(size, dtype=flat.dtype), storage.location, requires_grad)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= count:
        _fail(f"not a valid PyTorch checkpoint: tensor of size {list(size)}, stride {list(stride)} "
              f"and offset {offset} reaches element {last} of a storage of {count} elements")
    if stride == _contiguous_strides(size):
        arr = flat[offset:offset + numel].reshape(size)  # a view sharing the storage, as in torch
    else:
        # a strided view; one whose elements overlap (an expanded tensor) stays read-only, as
        # torch refuses writes to it, so a hostile size never makes us allocate more than the file
        arr = _window(flat, offset, size, stride, writeable=not _overlapping(size, stride))
    return reader.make_tensor(arr, storage.location, requires_grad)


def _overlapping(size, stride):
    """True when two different indices of the ``(size, stride)`` window reach the same element."""
    reach = 0
    for n, s in sorted(((n, s) for n, s in zip(size, stride) if n > 1), key=lambda d: d[1]):
        if s <= reach:
            return True
        reach += (n - 1) * s
    return False


def _window(flat, offset, size, stride, writeable=False):
    """The strided view ``flat[offset + sum(i_k * stride_k)]`` (bounds already checked)."""
    return np.lib.stride_tricks.as_strided(flat[offset:], shape=size, writeable=writeable,
                                           strides=[s * flat.itemsize for s in stride])


def _to_native(arr, elem):
    """Storage elements -> an array ember can use: native byte order, bfloat16 as ml_dtypes.bfloat16,
    bool bytes normalised to 0/1, aligned. Returns ``arr`` itself when nothing needs changing."""
    if elem is _BF16:  # native-order, aligned 16-bit words, viewed as bfloat16
        return arr.astype(np.uint16).view(ml_dtypes.bfloat16)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype.kind == "b":
        return arr.view(np.uint8) != 0  # a byte other than 0/1 would be an invalid bool
    if not arr.flags.aligned:
        arr = arr.copy()
    return arr


def _contiguous_strides(size):
    strides, acc = [], 1
    for n in reversed(size):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


def _rebuild_tensor_v2(reader, storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _rebuild_tensor(reader, storage, storage_offset, size, stride, requires_grad)


def _rebuild_tensor_old(reader, storage, storage_offset, size, stride):
    return _rebuild_tensor(reader, storage, storage_offset, size, stride)


def _rebuild_tensor_v3(reader, storage, storage_offset, size, stride, requires_grad,
                       backward_hooks, dtype, metadata=None):
    from .dtypes import dtype as ember_dtype
    if isinstance(dtype, ember_dtype):
        np_dtype = _BF16 if dtype.name == "bfloat16" else dtype.np
    else:
        _fail(f"not a valid PyTorch checkpoint: tensor dtype is {_describe(dtype)}")
    return _rebuild_tensor(reader, storage, storage_offset, size, stride, requires_grad, dtype=np_dtype)


def _tensor_check(x, what):
    from ._tensor import Tensor
    if not isinstance(x, Tensor):
        _fail(f"not a valid PyTorch checkpoint: {what} expects a tensor, got {type(x).__name__}")
    return x


def _make_parameter(reader, data, requires_grad=True, backward_hooks=None, state=None):
    from .nn.parameter import Parameter
    _tensor_check(data, "Parameter")
    if type(requires_grad) is not bool:
        _fail("not a valid PyTorch checkpoint: Parameter requires_grad must be a bool")
    if requires_grad and not (data.dtype.is_floating_point or data.dtype.is_complex):
        _fail(f"not a valid PyTorch checkpoint: a {data.dtype} Parameter cannot require gradients")
    if not _empty(state):
        raise UnsafeCheckpointError("refusing to load: a Parameter carries extra Python state "
                                    f"({type(state).__name__}), which ember does not restore")
    return Parameter(data, requires_grad)


def _rebuild_from_type_v2(reader, func, new_type, args, state):
    if not isinstance(func, _Callable) or type(args) is not tuple:
        _fail("not a valid PyTorch checkpoint: malformed _rebuild_from_type_v2 call")
    out = reader.call(func, args)
    if not _empty(state):
        raise UnsafeCheckpointError("refusing to load: a tensor subclass carries extra Python state, "
                                    "which ember does not restore")
    if isinstance(new_type, _TypeMarker) and new_type.name == "torch.nn.parameter.Parameter":
        return _make_parameter(reader, out, out.requires_grad)
    if isinstance(new_type, _TypeMarker):
        return _tensor_check(out, "_rebuild_from_type_v2")
    raise UnsafeCheckpointError(f"refusing to load: tensor subclass {_describe(new_type)} is not allowed")


def _make_size(reader, dims=()):
    from ._tensor import Size
    return Size(_check_shape(dims, "torch.Size"))


def _make_device(reader, *args):
    from .device import device
    if not args or len(args) > 2 or not all(type(a) in (str, int) for a in args):
        _fail(f"not a valid PyTorch checkpoint: bad torch.device arguments ({_describe(args)})")
    try:
        return device(*args)
    except (RuntimeError, ValueError, TypeError) as e:
        raise CheckpointError(f"not a valid PyTorch checkpoint: bad torch.device "
                              f"({', '.join(_describe(a) for a in args)}): {str(e)[:100]}") from None


def _make_mapping(cls):
    def make(reader, items=()):
        kind = type(items)
        if kind not in (list, tuple, dict, OrderedDict):
            _fail(f"not a valid PyTorch checkpoint: {cls.__name__} built from {kind.__name__}")
        reader.spend(len(items))
        if kind in (dict, OrderedDict):
            return cls(items)  # its keys were checked when they were inserted
        if cls is Counter:
            return Counter(reader.hashable(x) for x in items)
        out = cls()
        for pair in items:
            if type(pair) not in (tuple, list) or len(pair) != 2:
                _fail(f"not a valid PyTorch checkpoint: {cls.__name__} items must be (key, value) pairs")
            out[reader.hashable(pair[0])] = pair[1]
        return out
    return make


def _make_set(reader, items=()):
    if type(items) not in (list, tuple):
        _fail(f"not a valid PyTorch checkpoint: set built from {type(items).__name__}")
    reader.spend(len(items))
    return set(reader.hashable(x) for x in items)


def _make_complex(reader, real=0.0, imag=0.0):
    if not all(type(v) in (int, float) for v in (real, imag)):
        _fail("not a valid PyTorch checkpoint: complex() built from non-numbers")
    return complex(real, imag)


def _encode_bytes(reader, text, encoding="latin1"):
    if type(text) is not str or type(encoding) is not str or encoding not in ("latin1", "latin-1"):
        _fail("not a valid PyTorch checkpoint: bytes must be encoded as _codecs.encode(str, 'latin1')")
    return text.encode("latin1")


def _make_bytearray(reader, data=b""):
    if type(data) not in (bytes, bytearray):
        _fail("not a valid PyTorch checkpoint: bytearray() built from non-bytes")
    return bytearray(data)


def _get_layout(reader, name):
    if type(name) is not str or name != "torch.strided":
        _fail(f"not a valid PyTorch checkpoint: ember only has strided tensors, not {_describe(name)}")
    return name


def _build_allowlist():
    table = {
        "torch._utils._rebuild_tensor_v2": _Callable("torch._utils._rebuild_tensor_v2", _rebuild_tensor_v2),
        "torch._utils._rebuild_tensor_v3": _Callable("torch._utils._rebuild_tensor_v3", _rebuild_tensor_v3),
        "torch._utils._rebuild_tensor": _Callable("torch._utils._rebuild_tensor", _rebuild_tensor_old),
        "torch._utils._rebuild_parameter": _Callable("torch._utils._rebuild_parameter", _make_parameter),
        "torch._utils._rebuild_parameter_with_state":
            _Callable("torch._utils._rebuild_parameter_with_state", _make_parameter),
        "torch._tensor._rebuild_from_type_v2":
            _Callable("torch._tensor._rebuild_from_type_v2", _rebuild_from_type_v2),
        "torch.nn.parameter.Parameter": _Callable("torch.nn.parameter.Parameter", _make_parameter, True),
        "torch.Tensor": _TypeMarker("torch.Tensor"),
        "torch.Size": _Callable("torch.Size", _make_size, True),
        "torch.device": _Callable("torch.device", _make_device),
        "torch.serialization._get_layout": _Callable("torch.serialization._get_layout", _get_layout),
        "collections.OrderedDict": _Callable("collections.OrderedDict", _make_mapping(OrderedDict), True),
        "collections.Counter": _Callable("collections.Counter", _make_mapping(Counter), True),
        "builtins.set": _Callable("builtins.set", _make_set, True),
        "builtins.complex": _Callable("builtins.complex", _make_complex),
        "builtins.bytearray": _Callable("builtins.bytearray", _make_bytearray),
        "_codecs.encode": _Callable("_codecs.encode", _encode_bytes),
    }
    for name, dt in _STORAGE_DTYPES.items():
        table[f"torch.{name}"] = table[f"torch.cuda.{name}"] = _StorageType(name, dt)
    table["torch.storage.UntypedStorage"] = table["torch.UntypedStorage"]
    table["torch.storage.TypedStorage"] = _StorageType("TypedStorage", np.uint8)
    return table


_ALLOWED = None


def _resolve_global(module, name, objects=None):
    global _ALLOWED
    if _ALLOWED is None:
        _ALLOWED = _build_allowlist()
    module = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)
    full = f"{module}.{name}"
    if full in _ALLOWED:
        return _ALLOWED[full]
    if module == "torch" and name in _TORCH_DTYPE_NAMES:
        from .dtypes import to_dtype
        return to_dtype(name)
    if module == "torch" and name in _TORCH_DTYPES_NOT_IN_EMBER:
        raise CheckpointError(f"cannot load this PyTorch checkpoint: it holds a tensor of unsupported "
                              f"dtype torch.{name}, which ember does not have")
    hint = ""
    if module.startswith("torch.nn.modules") or module == "__main__":
        hint = (" It looks like a whole model object saved with torch.save(model); save "
                "model.state_dict() instead and load it into the ember model with load_state_dict (or, if you "
                "trust the file, load it with weights_only=False).")
    kind = _UNSUPPORTED_KINDS.get(name)
    if objects is not None and not (kind and module in ("torch", "torch._utils", "torch.cuda")):
        found = objects.resolve(module, name)  # whole objects: see ember/_whole_objects.py
        if found is not None:
            return found
    if kind and module in ("torch", "torch._utils", "torch.cuda"):
        raise CheckpointError(f"cannot load this PyTorch checkpoint: it holds {kind} ({full}), "
                              "which ember does not support")
    raise UnsafeCheckpointError(
        f"refusing to load: the checkpoint's pickle references the global '{full}', which is not "
        "a tensor, container or plain value. Ember only accepts what torch.load(weights_only=True) "
        "accepts and never runs code from a checkpoint." + hint)


# ----------------------------------------------------------------------------------------------
# the opcode interpreter
# ----------------------------------------------------------------------------------------------
class _Unpickler:
    """Runs a pickle program over a stack; every object it can create is data.

    As in CPython's ``pickle``, MARK starts a new stack (the old one goes on ``metastack``), so
    popping to a mark is O(items), never a scan of the whole stack."""

    def __init__(self, data, storages, make_tensor, byteorder, objects=None):
        self.objects = objects  # weights_only=False: the whole-object extension (ember/_whole_objects.py)
        self.data, self.pos = memoryview(data), 0
        self.storages, self.make_tensor = storages, make_tensor
        self.byteorder = byteorder
        self.stack, self.metastack, self.memo = [], [], {}
        self.budget = _Limits.work_budget(len(data))
        self.flats = {}  # storage key -> {element type: the storage as one converted 1-d array}
        self.key_nodes = {}  # id(tuple) -> (tuple, tuples in it counted along every path, depth)

    # -- bounds ------------------------------------------------------------------------------
    def spend(self, n):
        self.budget -= n
        if self.budget < 0:
            _fail(f"not a valid PyTorch checkpoint: data.pkl ({len(self.data)} bytes) asks for more "
                  "work than a pickle of its size can need (a hostile or corrupted file)")

    def new_tuple(self, items):
        """Build a tuple, recording how deep its tuples nest and how many tuple nodes hashing it
        would visit (tuples are immutable, so both are exact when it is built)."""
        t = tuple(items)
        self.spend(len(t))
        nodes, depth = 1, 1
        for x in t:
            if type(x) is tuple:
                rec = self.key_nodes.get(id(x))
                n, d = rec[1:] if rec is not None else (1 + len(x), 2)
                nodes += n
                depth = max(depth, d + 1)
        if depth > _Limits.MAX_DEPTH:
            _fail(f"not a valid PyTorch checkpoint: tuples nested more than {_Limits.MAX_DEPTH} deep")
        self.key_nodes[id(t)] = (t, nodes, depth)
        return t

    def hashable(self, key):
        """``key`` if it is safe to use as a dict key / set member (hash it at bounded cost)."""
        if type(key) is tuple:
            rec = self.key_nodes.get(id(key))
            nodes = rec[1] if rec is not None else 1 + len(key)
            if nodes > _Limits.MAX_KEY_NODES:
                _fail(f"not a valid PyTorch checkpoint: a dict key or set member is a tuple of "
                      f"{nodes} nested tuples (at most {_Limits.MAX_KEY_NODES} are allowed)")
            self.spend(nodes)
        try:
            hash(key)
        except TypeError:
            _fail(f"not a valid PyTorch checkpoint: unhashable dict key of type {type(key).__name__}")
        return key

    # -- byte access -------------------------------------------------------------------------
    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            _fail(f"not a valid PyTorch checkpoint: data.pkl is truncated (needs {n} bytes at "
                  f"offset {self.pos} of {len(self.data)})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def line(self):
        data = self.data
        end = bytes(data[self.pos:self.pos + 1024]).find(b"\n")
        if end < 0:
            _fail("not a valid PyTorch checkpoint: GLOBAL name is not newline-terminated")
        text = bytes(self.take(end + 1)[:-1])
        return text.decode("utf-8")

    # -- stack helpers -----------------------------------------------------------------------
    def pop(self):
        if not self.stack:
            _fail(f"not a valid PyTorch checkpoint: pickle stack underflow at byte {self.pos}")
        return self.stack.pop()

    def top(self):
        if not self.stack:
            _fail(f"not a valid PyTorch checkpoint: pickle stack underflow at byte {self.pos}")
        return self.stack[-1]

    def mark(self):
        self.metastack.append(self.stack)
        self.stack = []

    def pop_mark(self):
        if not self.metastack:
            _fail(f"not a valid PyTorch checkpoint: pickle MARK missing at byte {self.pos}")
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def call(self, func, args):
        if self.objects is not None and self.objects.is_global(func):
            return self.objects.call(func, args, newobj=False)
        if not isinstance(func, _Callable):
            raise UnsafeCheckpointError(f"refusing to load: the pickle calls {_describe(func)}, which is not an "
                                        "allowlisted function")
        if type(args) is not tuple:
            _fail("not a valid PyTorch checkpoint: call arguments are not a tuple")
        try:
            return func.fn(self, *args)
        except Passthrough:
            raise
        except (TypeError, ValueError, AssertionError) as e:
            raise CheckpointError(f"not a valid PyTorch checkpoint: bad arguments to {func.name}: {e}") from None

    def set_items(self, target, items):
        if type(target) not in (dict, OrderedDict, Counter, defaultdict):
            _fail(f"not a valid PyTorch checkpoint: SETITEM on a {type(target).__name__}")
        if len(items) % 2:
            _fail("not a valid PyTorch checkpoint: SETITEMS with an odd number of items")
        self.spend(len(items))
        for k, v in zip(items[::2], items[1::2]):
            target[self.hashable(k)] = v

    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) != 5 or type(pid[0]) is not str or pid[0] != "storage":
            _fail(f"not a valid PyTorch checkpoint: unsupported persistent id ({_describe(pid)})")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType):
            _fail(f"not a valid PyTorch checkpoint: storage type is {_describe(stype)}")
        if type(key) is not str or type(location) is not str:
            _fail("not a valid PyTorch checkpoint: storage key and location must be strings")
        _check_int(numel, "storage size")
        raw = self.storages(key)
        return _Storage(key, raw, stype.dtype, location, numel, self.flats.setdefault(key, {}))

    # -- the loop ----------------------------------------------------------------------------
    def load(self):
        ops = _OPS
        while True:
            if self.pos >= len(self.data):
                _fail("not a valid PyTorch checkpoint: data.pkl ends before its STOP opcode")
            code = self.data[self.pos]
            self.pos += 1
            op = ops.get(code)
            if op is None:
                _fail(f"not a valid PyTorch checkpoint: unsupported pickle opcode {bytes([code])!r} "
                      f"at byte {self.pos - 1}")
            if op is _op_stop:
                result = self.pop()
                _check_depth(result)
                return result if self.objects is None else self.objects.finish(result)
            self.budget -= 1
            op(self)


def _empty(x):
    """True for None and empty plain containers (never calls a tensor's ``__bool__``)."""
    return x is None or (type(x) in (dict, OrderedDict, list, tuple) and len(x) == 0)


def _check_depth(root):
    """Refuse a result whose containers nest deeper than ``_Limits.MAX_DEPTH``.

    Longest path over the object graph, iteratively (each container visited once; an edge back
    to a container still being walked is a cycle, which Python's own recursion handles)."""
    containers = (list, tuple, dict, OrderedDict, Counter, set, frozenset)
    if type(root) not in containers:
        return
    depth, walking = {}, set()
    todo = [(root, None)]
    while todo:
        obj, children = todo.pop()
        if children is None:  # first visit: expand
            if id(obj) in depth or id(obj) in walking:
                continue
            walking.add(id(obj))
            if type(obj) in (dict, OrderedDict, Counter):
                kids = [x for x in (*obj.keys(), *obj.values(), *getattr(obj, "__dict__", {}).values())
                        if type(x) in containers]
            else:
                kids = [x for x in obj if type(x) in containers]
            todo.append((obj, kids))
            todo.extend((k, None) for k in kids)
        else:
            d = 1 + max((depth.get(id(k), 0) for k in children), default=0)
            if d > _Limits.MAX_DEPTH:
                _fail(f"not a valid PyTorch checkpoint: containers nested more than "
                      f"{_Limits.MAX_DEPTH} deep")
            depth[id(obj)] = d
            walking.discard(id(obj))


def _push(value):
    return lambda u: u.stack.append(value)


def _op_stop(u):  # handled in the loop
    pass


def _op_proto(u):
    if u.take(1)[0] > 5:
        _fail("not a valid PyTorch checkpoint: unknown pickle protocol")


def _op_tuple_n(n):
    def op(u):
        items = [u.pop() for _ in range(n)][::-1]
        u.stack.append(u.new_tuple(items))
    return op


def _op_append(u):
    value = u.pop()
    target = u.top()
    if type(target) is not list:
        _fail(f"not a valid PyTorch checkpoint: APPEND to a {type(target).__name__}")
    target.append(value)


def _op_appends(u):
    items = u.pop_mark()
    target = u.top()
    if type(target) is not list:
        _fail(f"not a valid PyTorch checkpoint: APPENDS to a {type(target).__name__}")
    u.spend(len(items))
    target.extend(items)


def _op_setitem(u):
    value, key = u.pop(), u.pop()
    u.set_items(u.top(), [key, value])


def _op_setitems(u):
    items = u.pop_mark()
    u.set_items(u.top(), items)


def _op_dict(u):
    d = {}
    u.set_items(d, u.pop_mark())
    u.stack.append(d)


def _op_additems(u):
    items = u.pop_mark()
    target = u.top()
    if type(target) is not set:
        _fail(f"not a valid PyTorch checkpoint: ADDITEMS to a {type(target).__name__}")
    u.spend(len(items))
    target.update(u.hashable(i) for i in items)


def _op_frozenset(u):
    items = u.pop_mark()
    u.spend(len(items))
    u.stack.append(frozenset(u.hashable(i) for i in items))


def _op_put(fmt):
    def op(u):
        index = u.unpack(fmt)
        u.memo[index] = u.top()
    return op


def _op_memoize(u):
    u.memo[len(u.memo)] = u.top()


def _op_get(fmt):
    def op(u):
        index = u.unpack(fmt)
        if index not in u.memo:
            _fail(f"not a valid PyTorch checkpoint: pickle memo entry {index} is missing")
        u.stack.append(u.memo[index])
    return op


def _op_global(u):
    module, name = u.line(), u.line()
    u.stack.append(_resolve_global(module, name, u.objects))


def _op_stack_global(u):
    name, module = u.pop(), u.pop()
    if type(module) is not str or type(name) is not str:
        _fail("not a valid PyTorch checkpoint: STACK_GLOBAL needs two strings")
    u.stack.append(_resolve_global(module, name, u.objects))


def _op_reduce(u):
    args = u.pop()
    func = u.pop()
    u.stack.append(u.call(func, args))


def _op_newobj(u):
    args = u.pop()
    cls = u.pop()
    if u.objects is not None and u.objects.is_global(cls):
        u.stack.append(u.objects.call(cls, args, newobj=True))
        return
    if not (isinstance(cls, _Callable) and cls.newobj):
        raise UnsafeCheckpointError(f"refusing to load: the pickle instantiates {_describe(cls)}, which is not "
                                    "an allowlisted class")
    u.stack.append(u.call(cls, args))


def _op_newobj_ex(u):
    kwargs = u.pop()
    if not _empty(kwargs):
        _fail("not a valid PyTorch checkpoint: NEWOBJ_EX with keyword arguments")
    _op_newobj(u)


def _op_build(u):
    state = u.pop()
    inst = u.top()
    if type(inst) is OrderedDict and type(state) is dict and all(type(k) is str for k in state):
        inst.__dict__.update(state)  # e.g. a state_dict's ``_metadata`` (module versions)
        return
    if _is_parameter(inst) and _empty(state):
        return
    if u.objects is not None and u.objects.owns(inst):
        u.objects.build(inst, state)
        return
    raise UnsafeCheckpointError(f"refusing to load: the pickle sets the state of a "
                                f"{type(inst).__name__}, which only OrderedDicts may receive")


def _is_parameter(x):
    from .nn.parameter import Parameter
    return isinstance(x, Parameter)


def _op_binpersid(u):
    u.stack.append(u.persistent_load(u.pop()))


def _op_pop(u):
    if u.stack:
        u.stack.pop()
    else:  # as CPython: POP with an empty stack discards the mark
        u.pop_mark()


def _op_dup(u):
    u.stack.append(u.top())


def _op_long(fmt):
    def op(u):
        n = u.unpack(fmt)
        u.stack.append(int.from_bytes(u.take(n), "little", signed=True))
    return op


def _op_text(fmt, kind):
    def op(u):
        raw = bytes(u.take(u.unpack(fmt)))
        if kind == "str":
            try:
                u.stack.append(raw.decode("utf-8", "surrogatepass"))
            except UnicodeDecodeError:
                _fail("not a valid PyTorch checkpoint: a string is not valid UTF-8")
        elif kind == "latin1":
            u.stack.append(raw.decode("latin-1"))
        else:
            u.stack.append(raw)
    return op


def _op_tuple(u):
    items = u.pop_mark()  # (first: it switches u.stack back to the one below the mark)
    u.stack.append(u.new_tuple(items))


def _op_list(u):
    items = u.pop_mark()
    u.spend(len(items))
    u.stack.append(items)


_OPS = {
    0x80: _op_proto,                           # PROTO
    0x95: lambda u: u.take(8),                 # FRAME (a length hint; contents follow inline)
    ord("."): _op_stop,                        # STOP
    ord("("): lambda u: u.mark(),              # MARK
    ord("0"): _op_pop,                         # POP
    ord("1"): lambda u: u.pop_mark(),          # POP_MARK
    ord("2"): _op_dup,                         # DUP
    ord("N"): _push(None),                     # NONE
    0x88: _push(True),                         # NEWTRUE
    0x89: _push(False),                        # NEWFALSE
    ord("J"): lambda u: u.stack.append(u.unpack("<i")),   # BININT
    ord("K"): lambda u: u.stack.append(u.unpack("<B")),   # BININT1
    ord("M"): lambda u: u.stack.append(u.unpack("<H")),   # BININT2
    0x8a: _op_long("<B"),                      # LONG1
    0x8b: _op_long("<i"),                      # LONG4
    ord("G"): lambda u: u.stack.append(u.unpack(">d")),   # BINFLOAT
    ord("X"): _op_text("<I", "str"),           # BINUNICODE
    0x8c: _op_text("<B", "str"),               # SHORT_BINUNICODE
    0x8d: _op_text("<Q", "str"),               # BINUNICODE8
    ord("U"): _op_text("<B", "latin1"),        # SHORT_BINSTRING
    ord("T"): _op_text("<i", "latin1"),        # BINSTRING
    ord("B"): _op_text("<I", "bytes"),         # BINBYTES
    ord("C"): _op_text("<B", "bytes"),         # SHORT_BINBYTES
    0x8e: _op_text("<Q", "bytes"),             # BINBYTES8
    ord(")"): _push(()),                       # EMPTY_TUPLE (immutable: safe to share)
    ord("t"): _op_tuple,                       # TUPLE
    0x85: _op_tuple_n(1),                      # TUPLE1
    0x86: _op_tuple_n(2),                      # TUPLE2
    0x87: _op_tuple_n(3),                      # TUPLE3
    ord("]"): lambda u: u.stack.append([]),    # EMPTY_LIST
    ord("l"): _op_list,                        # LIST
    ord("a"): _op_append,                      # APPEND
    ord("e"): _op_appends,                     # APPENDS
    ord("}"): lambda u: u.stack.append({}),    # EMPTY_DICT
    ord("d"): _op_dict,                        # DICT
    ord("s"): _op_setitem,                     # SETITEM
    ord("u"): _op_setitems,                    # SETITEMS
    0x8f: lambda u: u.stack.append(set()),     # EMPTY_SET
    0x90: _op_additems,                        # ADDITEMS
    0x91: _op_frozenset,                       # FROZENSET
    ord("q"): _op_put("<B"),                   # BINPUT
    ord("r"): _op_put("<I"),                   # LONG_BINPUT
    0x94: _op_memoize,                         # MEMOIZE
    ord("h"): _op_get("<B"),                   # BINGET
    ord("j"): _op_get("<I"),                   # LONG_BINGET
    ord("c"): _op_global,                      # GLOBAL
    0x93: _op_stack_global,                    # STACK_GLOBAL
    ord("R"): _op_reduce,                      # REDUCE
    0x81: _op_newobj,                          # NEWOBJ
    0x92: _op_newobj_ex,                       # NEWOBJ_EX
    ord("b"): _op_build,                       # BUILD
    ord("Q"): _op_binpersid,                   # BINPERSID
}


def unpickle(data, storages, make_tensor, byteorder="<", objects=None):
    """Interpret the pickle program ``data``; ``storages(key)`` returns a storage's raw bytes and
    ``make_tensor(array, location, requires_grad)`` turns a rebuilt array into an ember tensor."""
    try:
        return _Unpickler(data, storages, make_tensor, byteorder, objects).load()
    except CheckpointError:
        raise
    except Passthrough as p:  # an error from map_location / device placement: not the file's fault
        raise p.__cause__
    except (struct.error, ValueError, OverflowError, MemoryError, RecursionError, IndexError, KeyError,
            TypeError, AttributeError) as e:
        raise CheckpointError(f"not a valid PyTorch checkpoint: malformed pickle ({type(e).__name__}: "
                              f"{e})") from None


# ----------------------------------------------------------------------------------------------
# the zip container
# ----------------------------------------------------------------------------------------------
def _local_data_offset(fileobj, info):
    """Where a stored (uncompressed) member's bytes start in the archive file."""
    if info.header_offset < 0:
        _fail(f"not a valid PyTorch checkpoint: zip member {_describe(info.filename)} has a bad offset")
    fileobj.seek(info.header_offset)
    header = fileobj.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        _fail(f"not a valid PyTorch checkpoint: zip member {_describe(info.filename)} has a bad local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def _member_spans(fileobj, infos):
    """``{name: data start}`` for every member, after checking that no two members' bytes overlap
    (a hostile zip can point many entries at the same bytes: an 8 MB file "holding" gigabytes)."""
    fileobj.seek(0, 2)
    size = fileobj.tell()
    spans, starts = [], {}
    for info in infos:
        start = _local_data_offset(fileobj, info)
        end = start + info.compress_size
        if end > size:
            _fail(f"not a valid PyTorch checkpoint: zip member {_describe(info.filename)} runs past "
                  "the end of the file (truncated)")
        spans.append((info.header_offset, end, info.filename))
        starts[info.filename] = start
    spans.sort()
    for (_, end, name), (begin, _, other) in zip(spans, spans[1:]):
        if begin < end:
            _fail(f"not a valid PyTorch checkpoint: zip members {_describe(name)} and "
                  f"{_describe(other)} overlap (a hostile or corrupted archive)")
    return starts


def read_torch_zip(fileobj, make_tensor, mmap_path=None, objects=None):
    """Load the object tree of a ``torch.save`` zip archive read from the binary ``fileobj``."""
    try:
        archive = zipfile.ZipFile(fileobj)
        infolist = archive.infolist()
    except Exception as e:  # zipfile raises many kinds (BadZipFile, NotImplementedError, ...)
        raise CheckpointError(f"not a valid PyTorch checkpoint: the zip archive is corrupted "
                              f"({str(e)[:200]})") from None
    infos = {i.filename: i for i in infolist}
    if len(infos) != len(infolist):
        _fail("not a valid PyTorch checkpoint: the zip archive names a member twice")
    if any(n.endswith("/constants.pkl") or "/code/__torch__/" in n for n in infos):
        _fail("cannot load a TorchScript archive (torch.jit.save); Ember loads torch.save files. "
              "Save a state_dict with torch.save(model.state_dict(), path) instead")
    pickles = [n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        _fail("not a valid PyTorch checkpoint: the zip archive has no '<name>/data.pkl' record")
    prefix = pickles[0][:-len("data.pkl")]
    starts = _member_spans(fileobj, infolist)

    def read_member(name, limit=None):
        info = infos.get(name)
        if info is None:
            _fail(f"not a valid PyTorch checkpoint: the archive lacks the record {_describe(name)}")
        if info.compress_type != zipfile.ZIP_STORED:
            _fail(f"not a valid PyTorch checkpoint: record {_describe(name)} is compressed; torch.save "
                  "writes uncompressed archives")
        if limit is not None and info.file_size > limit:
            _fail(f"not a valid PyTorch checkpoint: record {_describe(name)} is unexpectedly large")
        if info.file_size != info.compress_size:
            _fail(f"not a valid PyTorch checkpoint: record {_describe(name)} has inconsistent sizes")
        buf = bytearray(info.file_size)  # read straight into the one buffer the tensors will view
        fileobj.seek(starts[name])
        got = fileobj.readinto(buf) if hasattr(fileobj, "readinto") else None
        if got is None:
            chunk = fileobj.read(info.file_size)
            got = len(chunk)
            buf[:got] = chunk
        if got != info.file_size:
            _fail(f"not a valid PyTorch checkpoint: record {_describe(name)} is truncated")
        if zlib.crc32(buf) != info.CRC:
            _fail(f"not a valid PyTorch checkpoint: record {_describe(name)} is corrupted (bad CRC-32)")
        return buf

    order = "little"
    if prefix + "byteorder" in infos:
        order = bytes(read_member(prefix + "byteorder", limit=16)).decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            _fail(f"not a valid PyTorch checkpoint: unknown byte order {_describe(order)}")
    cache = {}

    def storage(key):
        if key not in cache:
            name = f"{prefix}data/{key}"
            if mmap_path is not None and name in infos and infos[name].compress_type == zipfile.ZIP_STORED:
                info = infos[name]
                if info.file_size == 0:
                    cache[key] = bytearray()
                else:
                    cache[key] = np.memmap(mmap_path, dtype=np.uint8, mode="c", offset=starts[name],
                                           shape=(info.file_size,))
            else:
                cache[key] = read_member(name)
        return cache[key]

    data = read_member(prefix + "data.pkl")
    return unpickle(data, storage, make_tensor, "<" if order == "little" else ">", objects)
