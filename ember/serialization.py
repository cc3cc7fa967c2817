"""Checkpoints: ``ember.save`` / ``ember.load`` on safetensors, never pickle.

A checkpoint is one standard `safetensors <https://github.com/huggingface/safetensors>`_ file::

    [8-byte little-endian header length][JSON header][raw tensor bytes]

The JSON header maps each tensor's *key* to ``{dtype, shape, data_offsets}`` and carries a
``__metadata__`` string->string map. Ember stores:

* every tensor under a flat key that is its path in the saved object, joined with ``.``:
  a state_dict's tensors keep their own names (``linear.weight``), so
  ``safetensors.torch.load_file`` returns the very same flat state_dict; an optimizer state_dict
  gives ``state.0.exp_avg`` …; a lone tensor is ``tensor``;
* the object's structure as JSON in ``__metadata__["ember"]``, where every value is one of::

      null | true | false | 12 | 0.5 | "text" | [ ...list items... ]
      {"tensor": "<key>", "requires_grad": true, "parameter": true, "same_as": "<key>", ...}
      {"dict": [[key, value], ...]}      {"odict": [[key, value], ...], "attrs": {...}}
      {"tuple": [...]}  {"set": [...]}  {"frozenset": [...]}  {"float": "nan" | "inf" | "-inf"}
      {"complex": [re, im]}  {"bytes": "<base64>"}  {"dtype": "float32"}  {"device": "cpu"}
      {"size": [2, 3]}  {"ndarray": "<key>"}  {"npscalar": "float32", "value": 0.5}
      {"object": "module:qualname", "id": 0, "state": {...}}   {"object_ref": 0}
      {"global": "module:qualname"}   {"defaultdict": [[key, value], ...], "factory": <global>}

  (``object``: a whole object such as a Module or an optimizer -- its class's import path and its
  attributes, see ``ember/_whole_objects.py``; loading those needs ``weights_only=False``, as in torch.)

  (dict keys are encoded like values, so int keys such as an optimizer's parameter ids survive).

A safetensors file without Ember's metadata (e.g. from ``safetensors.torch.save_file``) loads as
a plain ``{key: tensor}`` dict. PyTorch ``.pt``/``.pth`` zip archives load through the
restricted reader in :mod:`ember._pt_reader`. Writes go to a temporary file in the same folder,
are flushed to disk and then renamed over the target, so a crash mid-save keeps the old file;
the next save of that target removes temporaries whose writer process has died.
"""
import base64
import gc
import io
import json
import math
import os
import re
import struct
import types
from collections import OrderedDict, defaultdict

import ml_dtypes
import numpy as np

from ._pt_reader import CheckpointError, Passthrough, UnsafeCheckpointError, _describe, read_torch_zip
from . import _whole_objects as _whole
from ._whole_objects import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals  # noqa: E402

__all__ = ["save", "load", "CheckpointError", "UnsafeCheckpointError", "add_safe_globals", "clear_safe_globals",
           "get_safe_globals", "safe_globals"]

FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100_000_000  # the limit safetensors itself enforces

# safetensors dtype code <-> NumPy dtype (little-endian on disk)
_CODE_TO_NP = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "I32": np.int32,
    "I64": np.int64, "F16": np.float16, "F32": np.float32, "F64": np.float64, "C64": np.complex64,
}
_NP_TO_NAME = {np.dtype(v): np.dtype(v).name for v in _CODE_TO_NP.values()}  # storable NumPy dtypes
_BF16_CODE = "BF16"  # read as ml_dtypes.bfloat16 (NumPy itself has no bfloat16)
_UNSUPPORTED_CODES = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
                      "C32"}  # real safetensors dtypes ember has no dtype for
_MAX_DIMS = 64  # NumPy's (and torch's) limit on the number of dimensions
_ITEMSIZES = {code: np.dtype(t).itemsize for code, t in _CODE_TO_NP.items()} | {_BF16_CODE: 2}
_FIELDS = {"dtype", "shape", "data_offsets"}
_LE_DTYPES = {code: np.dtype(t).newbyteorder("<") for code, t in _CODE_TO_NP.items()}
_INT = {int}


# ==============================================================================================
# save
# ==============================================================================================
def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save ``obj`` (tensors, state_dicts, optimizer state, nested containers of tensors, numbers,
    strings, None) to ``f``, a path or a writable binary file object, as one safetensors file.

    The ``pickle_*`` arguments exist for signature compatibility with ``torch.save``; nothing is
    ever pickled.
    """
    tensors, metadata = _flatten(obj)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), tensors, metadata)
    elif hasattr(f, "write"):
        f.write(_serialize(tensors, metadata))
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise AttributeError(f"ember.save: expected a path or a binary file object, got {type(f).__name__}")


class _Flattener:
    """Walks the object once, giving every tensor a unique flat key and building the JSON tree."""

    def __init__(self):
        self.objects = {}     # id(object) -> (object, its number) for whole objects stored once
        self.arrays = {}      # key -> contiguous little-endian ndarray (what goes in the file)
        self.seen = {}        # id(tensor) -> (tensor, first key) for identity (tied weights)
        self.active = set()   # ids of containers being walked (cycle detection)

    def key_for(self, path):
        base = ".".join(path) if path else "tensor"
        key, n = base, 1
        while key in self.arrays or key == "__metadata__":
            n += 1
            key = f"{base}#{n}"
        return key

    def tensor(self, t, path):
        arr = _host_array(t._data)
        key = self.key_for(path)
        node = {"tensor": key}
        if arr.dtype == np.complex128:
            arr, node["dtype"] = _complex_as_pairs(arr), "complex128"
        self.arrays[key] = arr
        if id(t) in self.seen:
            node["same_as"] = self.seen[id(t)][1]
        else:
            self.seen[id(t)] = (t, key)  # keep t alive so its id stays unique
        if t.requires_grad:
            node["requires_grad"] = True
        if _is_parameter(t):
            node["parameter"] = True
        dev = str(t.device)
        if dev != "cpu":
            node["device"] = dev
        return node

    def encode(self, obj, path):
        from ._tensor import Tensor
        from .dtypes import dtype as ember_dtype
        from ._tensor import Size
        from .device import device

        if obj is None:
            return None
        if isinstance(obj, np.generic):  # before float: np.float64 is a float subclass
            if obj.dtype not in _NP_TO_NAME and obj.dtype != np.complex128:
                raise TypeError(f"ember.save: cannot store a NumPy scalar of dtype {obj.dtype} "
                                f"(at {_where(path)})")
            return {"npscalar": obj.dtype.name, "value": self.encode(obj.item(), path)}
        if isinstance(obj, bool):
            return bool(obj)
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            x = float(obj)
            return x if math.isfinite(x) else {"float": "nan" if x != x else ("inf" if x > 0 else "-inf")}
        if isinstance(obj, Tensor):
            return self.tensor(obj, path)
        if isinstance(obj, complex):
            return {"complex": [self.encode(obj.real, path), self.encode(obj.imag, path)]}
        if isinstance(obj, (bytes, bytearray)):
            return {"bytes" if isinstance(obj, bytes) else "bytearray": base64.b64encode(bytes(obj)).decode("ascii")}
        if isinstance(obj, ember_dtype):
            return {"dtype": obj.name}
        if isinstance(obj, device):
            return {"device": str(obj)}
        if isinstance(obj, Size):
            return {"size": [int(n) for n in obj]}
        if isinstance(obj, np.ndarray):
            if obj.dtype not in _NP_TO_NAME and obj.dtype != np.complex128:
                raise TypeError(f"ember.save: cannot store a NumPy array of dtype {obj.dtype} "
                                f"(at {_where(path)})")
            arr = _host_array(obj)
            key = self.key_for(path)
            node = {"ndarray": key}
            if arr.dtype == np.complex128:
                arr, node["dtype"] = _complex_as_pairs(arr), "complex128"
            self.arrays[key] = arr
            return node
        if isinstance(obj, (dict, list, tuple, set, frozenset)):
            if id(obj) in self.active:
                raise ValueError(f"ember.save: the object contains itself (at {_where(path)})")
            self.active.add(id(obj))
            try:
                return self.container(obj, path)
            finally:
                self.active.discard(id(obj))
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            path_ = _whole.class_path(obj)
            if path_ is not None:
                return {"global": path_}
        elif _whole.class_path(type(obj)) is not None and hasattr(obj, "__dict__"):
            return self.whole_object(obj, path)
        hint = " (save its .state_dict() instead)" if hasattr(obj, "state_dict") else ""
        raise TypeError(f"ember.save: cannot store an object of type {type(obj).__module__}."
                        f"{type(obj).__qualname__} (at {_where(path)}){hint}; checkpoints hold tensors, "
                        "dicts, lists, tuples, sets, numbers, strings, bytes, None, dtypes and devices")

    def whole_object(self, obj, path):
        """A Module, optimizer or other plain object: its class's import path and its attributes."""
        if id(obj) in self.objects:
            return {"object_ref": self.objects[id(obj)][1]}
        n = len(self.objects)
        self.objects[id(obj)] = (obj, n)  # keep obj alive so its id stays unique
        state = _whole.get_state(obj)
        return {"object": _whole.class_path(type(obj)), "id": n,
                "state": {"dict": [[str(k), self.encode(v, path + [str(k)])] for k, v in state.items()]}}

    def container(self, obj, path):
        if isinstance(obj, dict):
            items = []
            for i, (k, v) in enumerate(obj.items()):
                if isinstance(k, np.ndarray):
                    raise TypeError(f"ember.save: an array cannot be a dict key (at {_where(path)})")
                if isinstance(k, _tensor_type()):  # an optimizer's state is keyed by its parameters
                    items.append([self.encode(k, path + [f"key{i}"]), self.encode(v, path + [str(i)])])
                    continue
                items.append([self.encode(k, path), self.encode(v, path + [_component(k)])])
            if isinstance(obj, defaultdict):
                factory = obj.default_factory
                return {"defaultdict": items, "factory": None if factory is None else self.encode(factory, path)}
            if isinstance(obj, OrderedDict):
                node = {"odict": items}
                attrs = getattr(obj, "__dict__", None)
                if attrs:
                    node["attrs"] = {str(k): self.encode(v, path + [str(k)]) for k, v in attrs.items()}
                return node
            return {"dict": items}
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        tag = "set" if isinstance(obj, set) else "frozenset"
        return {tag: [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}


def _tensor_type():
    from ._tensor import Tensor
    return Tensor


def _is_parameter(t):
    from .nn.parameter import Parameter
    return isinstance(t, Parameter)


def _component(key):
    return key if isinstance(key, str) else str(key)


def _where(path):
    return "the top level" if not path else "'" + ".".join(path) + "'"


def _host_array(data):
    """A tensor's ndarray as a C-contiguous, little-endian NumPy array (copied off the GPU)."""
    if not isinstance(data, np.ndarray):
        data = data.get()  # cupy -> numpy
    data = _contig(data)
    if not data.dtype.isnative or data.dtype.byteorder == ">":
        data = data.astype(data.dtype.newbyteorder("<"))
    return data


def _contig(arr):
    """``arr`` if already C-contiguous, else a C-ordered copy (keeps 0-d arrays 0-d)."""
    return np.require(arr, requirements="C")


def _complex_as_pairs(arr):
    """complex128 (which safetensors lacks) as float64 with a trailing (real, imag) axis."""
    return _contig(arr).reshape(-1).view(np.float64).reshape(arr.shape + (2,))


def _flatten(obj):
    flat = _Flattener()
    root = flat.encode(obj, [])
    metadata = {"format": "pt", "ember": json.dumps({"version": FORMAT_VERSION, "root": root},
                                                    separators=(",", ":"), allow_nan=False)}
    return flat.arrays, metadata


_NP_TO_CODE = {np.dtype(v): k for k, v in _CODE_TO_NP.items()} | {np.dtype(ml_dtypes.bfloat16): _BF16_CODE}


def _write_safetensors(fh, arrays, metadata):
    """Write the safetensors layout to the binary file ``fh``, streaming each array's bytes.

    As the ``safetensors`` package does: tensors ordered by decreasing element size, then name
    (so every tensor is aligned when the file is memory-mapped), the JSON header padded with
    spaces to a multiple of 8 bytes."""
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    header, offset = {"__metadata__": metadata}, 0
    for key in order:
        arr = arrays[key]
        header[key] = {"dtype": _NP_TO_CODE[arr.dtype.newbyteorder("=")], "shape": list(arr.shape),
                       "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    fh.write(struct.pack("<Q", len(raw)))
    fh.write(raw)
    for key in order:
        arr = arrays[key]
        if arr.nbytes:
            fh.write(arr.reshape(-1).view(np.uint8).data)


def _serialize(arrays, metadata):
    """The whole safetensors file as bytes (for file objects)."""
    buf = io.BytesIO()
    _write_safetensors(buf, arrays, metadata)
    return buf.getvalue()


def _write_file(tmp_path, arrays, metadata):
    """Stream the safetensors file into ``tmp_path`` and flush it to disk (the test suite makes
    this fail midway)."""
    with open(tmp_path, "r+b") as fh:
        _write_safetensors(fh, arrays, metadata)
        fh.flush()
        os.fsync(fh.fileno())


# the one temporary file a save writes: ".<target name>.<writer pid>.<8 hex digits>.tmp", next to
# the target, so the rename over it is atomic and a later save can tell whose debris it finds
_TMP_NAME = re.compile(r"\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp")


def _pid_alive(pid):
    if pid == os.getpid():
        return True  # this process may be saving the same target from another thread
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists (someone else's) or cannot tell: leave its file alone
    return True


def _remove_stale_temporaries(folder, target):
    """Delete temporaries of ``target`` left by saves whose process died (``kill -9``, power cut)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = _TMP_NAME.fullmatch(name)
        if m and m.group("target") == target and not _pid_alive(int(m.group("pid"))):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


def _atomic_write(path, arrays, metadata):
    """Write to one sibling temp file, fsync it, then ``os.replace`` it over ``path``: readers see
    either the old file or the complete new one, never a half-written one. Temporaries of
    ``path`` left by a killed writer are removed first."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {folder} does not exist.")
    base = os.path.basename(path)
    _remove_stale_temporaries(folder, base)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies, like open()
    try:
        os.close(fd)
        _write_file(tmp, arrays, metadata)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# ==============================================================================================
# load
# ==============================================================================================
def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by :func:`save`, a safetensors file, or a PyTorch ``.pt``/``.pth`` archive.

    ``map_location`` moves tensors as in ``torch.load``: ``'cpu'``, a device, a dict mapping saved
    locations (``{'cuda:1': 'cpu'}``) or a callable ``fn(tensor, location)`` returning a tensor or
    None. ``mmap=True`` (paths only) maps tensor bytes from the file copy-on-write instead of reading
    them. With ``weights_only=True`` (the default, as in torch) only tensors, containers and plain values
    load; a whole object (``save(model)``) is refused with torch's message. ``weights_only=False`` rebuilds
    such objects by importing their classes and setting their attributes (``ember/_whole_objects.py``) --
    for Ember files and for ``.pt`` files from ``torch.save(model)`` alike; nothing is ever unpickled.
    """
    path = os.fspath(f) if isinstance(f, (str, os.PathLike)) else None
    if mmap and path is None:
        raise ValueError("f must be a file path in order to use the mmap argument")
    restore = _restorer(map_location)
    if path is not None:
        with open(path, "rb") as fh:
            return _load_stream(fh, restore, path if mmap else None, not weights_only)
    if not hasattr(f, "read"):
        raise AttributeError(f"ember.load: expected a path or a readable binary file object, "
                             f"got {type(f).__name__}")
    if not (hasattr(f, "seek") and hasattr(f, "tell") and _seekable(f)):
        f = io.BytesIO(f.read())
    return _load_stream(f, restore, None, not weights_only)


def _seekable(f):
    try:
        return f.seekable() if hasattr(f, "seekable") else True
    except (OSError, ValueError):
        return False


# a pickle starts with PROTO (protocol 2+) or, in protocols 0/1, with the opcode building its first
# value; a safetensors file has '{' at byte 8, right after its header length
_PICKLE_FIRST_BYTES = frozenset(b"\x80(cdlt}])NIJKLMFGSTUVXBCNPQ")


def _load_stream(fh, restore, mmap_path, objects=False):
    """Dispatch on the file's first bytes. The cyclic garbage collector is paused meanwhile: a
    header of a million entries creates millions of acyclic objects, and each collection pass
    would walk all of them again (quadratic time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_stream_unpaused(fh, restore, mmap_path, objects)
    finally:
        if was_enabled:
            gc.enable()


def _load_stream_unpaused(fh, restore, mmap_path, objects=False):
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    if not head:
        raise CheckpointError("not a valid Ember/safetensors checkpoint: the file is empty")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        base = io.BytesIO(fh.read()) if start else fh
        return read_torch_zip(base, _tensor_maker(restore), mmap_path if not start else None,
                              _whole.PtObjects() if objects else _whole.PtWeightsOnly())
    if head[257:262] == b"ustar":
        raise CheckpointError(
            "cannot load this file: legacy format not supported. It is a tar archive (PyTorch's "
            "pre-1.0 torch.save format); re-save it with a current PyTorch or as safetensors.")
    if head[8:9] not in (b"{", b" ") and head[0] in _PICKLE_FIRST_BYTES:
        raise CheckpointError(
            "cannot load this file: legacy format not supported. It is a bare pickle (PyTorch's "
            "pre-1.6 torch.save format or pickle.dump output), which Ember refuses to execute. "
            "Re-save it with a current PyTorch (torch.save writes a zip archive) or as safetensors.")
    return _load_safetensors(fh, restore, mmap_path, objects)


# ---------------------------------------------------------------------------------------------
# safetensors reading: every header field is checked before any tensor memory is allocated
# ---------------------------------------------------------------------------------------------
def _bad(msg):
    raise CheckpointError(f"not a valid Ember/safetensors checkpoint: {msg}")


def _read_header(fh):
    """Parse and validate the header; returns (tensor table, metadata, data start, data length)."""
    start = fh.tell()
    fh.seek(0, os.SEEK_END)
    size = fh.tell() - start
    fh.seek(start)
    if size < 8:
        _bad(f"the file is {size} bytes long, too short for a safetensors header")
    (n,) = struct.unpack("<Q", fh.read(8))
    if n > size - 8:
        _bad(f"the header claims {n} bytes but the file holds only {size - 8} after the length field "
             "(truncated or corrupted)")
    if n > MAX_HEADER_BYTES:
        _bad(f"the header claims {n} bytes, more than the {MAX_HEADER_BYTES} safetensors allows")
    raw = fh.read(n)
    if len(raw) != n:
        _bad("the file is truncated inside its header")
    if not raw.lstrip(b" ").startswith(b"{"):
        _bad("the header is not a JSON object (wrong file type?)")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        _bad(f"the header is not valid JSON ({type(e).__name__}: {str(e)[:80]})")
    if type(header) is not dict:
        _bad("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if type(metadata) is not dict or not all(type(k) is str and type(v) is str for k, v in metadata.items()):
        _bad("__metadata__ must map strings to strings")
    data_len = size - 8 - n
    itemsizes, big, table = _ITEMSIZES, 1 << 63, {}
    for key, info in header.items():  # headers can list millions of tensors: a fast path first
        try:
            code, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
            itemsize = itemsizes[code]
            nbytes = math.prod(shape) * itemsize
            ok = (len(info) == 3 and type(shape) is list and type(b) is int and type(e) is int
                  and 0 <= b and e - b == nbytes and nbytes < big and min(shape, default=0) >= 0
                  and len(shape) <= _MAX_DIMS and set(map(type, shape)) <= _INT
                  and (nbytes or math.prod(filter(None, shape)) * itemsize < big))
        except Exception:
            ok = False
        if not ok:
            _check_entry(key, info)  # the slow path: raises naming the tensor and the field
        table[key] = (code, tuple(shape), b, e)
    spans = sorted((b, e, key) for key, (_, _, b, e) in table.items())
    end = 0
    for b, e, key in spans:
        if b != end:
            _bad(f"tensor {_describe(key)} starts at byte {b}, expected {end} (overlapping or gapped data)")
        end = e
    if end != data_len:
        _bad(f"the tensors cover {end} data bytes but the file holds {data_len} (truncated or padded)")
    return table, metadata, start + 8 + n, data_len


def _check_entry(key, info):
    """Validate one header entry field by field; raises a CheckpointError naming the tensor and
    the field, and returns quietly for a valid entry (an empty tensor, say)."""
    if type(info) is not dict or info.keys() != _FIELDS:
        _bad(f"tensor {_describe(key)} must have exactly 'dtype', 'shape' and 'data_offsets'")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    itemsize = _check_dtype_code(key, code)[1]
    if type(shape) is not list or not set(map(type, shape)) <= _INT or min(shape, default=0) < 0:
        _bad(f"tensor {_describe(key)}: field 'shape' must be a list of integers >= 0, got "
             f"{_describe(shape)}")
    if len(shape) > _MAX_DIMS:
        _bad(f"tensor {_describe(key)}: field 'shape' has {len(shape)} dimensions, more than the "
             f"{_MAX_DIMS} a tensor can have")
    if (type(offsets) is not list or len(offsets) != 2 or type(offsets[0]) is not int
            or type(offsets[1]) is not int or not 0 <= offsets[0] <= offsets[1]):
        _bad(f"tensor {_describe(key)}: field 'data_offsets' must be [begin, end] with "
             f"0 <= begin <= end, got {_describe(offsets)}")
    nbytes = math.prod(shape) * itemsize
    if nbytes >= 1 << 63 or math.prod(filter(None, shape)) * itemsize >= 1 << 63:
        _bad(f"tensor {_describe(key)}: field 'shape' {_describe_shape(shape)} describes more "
             "than 2^63 bytes")
    if offsets[1] - offsets[0] != nbytes:
        _bad(f"tensor {_describe(key)} of shape {shape} and dtype {code} needs {nbytes} "
             f"bytes but its field 'data_offsets' {offsets} spans {offsets[1] - offsets[0]}")


def _check_dtype_code(key, code):
    """``(code, itemsize)`` for a header's dtype field, or a CheckpointError naming the tensor."""
    if type(code) is not str:
        _bad(f"tensor {_describe(key)}: field 'dtype' must be a string, got {_describe(code)}")
    if code == _BF16_CODE:
        return code, 2
    if code in _CODE_TO_NP:
        return code, np.dtype(_CODE_TO_NP[code]).itemsize
    if code in _UNSUPPORTED_CODES:
        raise CheckpointError(f"cannot load tensor {_describe(key)}: unsupported dtype {code} "
                              "(ember has no such dtype)")
    _bad(f"tensor {_describe(key)}: field 'dtype' is the unknown dtype {_describe(code)}")


def _describe_shape(shape):
    return str(shape) if len(shape) <= 8 else f"of {len(shape)} dimensions"


def _load_safetensors(fh, restore, mmap_path, objects=False):
    table, metadata, data_start, data_len = _read_header(fh)
    if mmap_path is not None and data_len:
        buf = np.memmap(mmap_path, dtype=np.uint8, mode="c", offset=data_start, shape=(data_len,))
    else:
        buf = bytearray(data_len)
        fh.seek(data_start)
        got = fh.readinto(buf) if hasattr(fh, "readinto") else None
        if got is None:
            chunk = fh.read(data_len)
            got = len(chunk)
            buf[:got] = chunk
        if got != data_len:
            _bad("the file is truncated inside its tensor data")

    def array(key):
        code, shape, b, e = table[key]
        if e == b:
            return np.empty(shape, dtype=ml_dtypes.bfloat16 if code == _BF16_CODE else _CODE_TO_NP[code])
        if code == _BF16_CODE:  # the same 16 bits: little-endian words, viewed as bfloat16
            bits = np.frombuffer(buf, dtype="<u2", count=e - b >> 1, offset=b)
            return bits.astype(np.uint16).view(ml_dtypes.bfloat16).reshape(shape)
        dt = _LE_DTYPES[code]
        arr = np.frombuffer(buf, dtype=dt, count=(e - b) // dt.itemsize, offset=b).reshape(shape)
        if not dt.isnative:
            arr = arr.astype(dt.newbyteorder("="))
        if dt.kind == "b":
            arr = arr.view(np.uint8) != 0
        elif not arr.flags.aligned:
            arr = arr.copy()
        return arr

    if "ember" not in metadata:  # a plain safetensors file: {key: tensor}
        from ._tensor import wrap
        return {key: restore(wrap(array(key)), "cpu") for key in table}
    return _Decoder(table, array, restore, objects).decode_root(metadata["ember"])


class _Decoder:
    """Rebuilds the saved object from the JSON tree in ``__metadata__['ember']``."""

    def __init__(self, table, array, restore, objects=False):
        self.table, self.array, self.restore = table, array, restore
        self.by_key = {}
        self.objects = objects    # weights_only=False: whole objects may be rebuilt
        self.made = {}            # object number -> the rebuilt object

    def decode_root(self, text):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as e:
            _bad(f"the ember metadata is not valid JSON ({type(e).__name__})")
        if type(doc) is not dict or "root" not in doc:
            _bad("the ember metadata lacks its 'root' entry")
        if doc.get("version") != FORMAT_VERSION:
            _bad(f"unknown ember checkpoint version {doc.get('version')!r} (this Ember reads "
                 f"version {FORMAT_VERSION})")
        try:
            return self.decode(doc["root"])
        except Passthrough as p:  # an error from map_location / device placement: not the file's fault
            raise p.__cause__
        except UnsafeCheckpointError:
            raise
        except RecursionError:
            _bad("the ember metadata is nested too deeply")
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as e:
            _bad(f"malformed ember metadata ({type(e).__name__}: {str(e)[:100]})")

    def key(self, key):
        if type(key) is not str or key not in self.table:
            _bad(f"the structure refers to a tensor {key!r:.60} that the file does not contain")
        return key

    def decode(self, node):
        t = type(node)
        if node is None or t in (bool, int, float, str):
            return node
        if t is list:
            return [self.decode(v) for v in node]
        if t is not dict or not node:
            _bad(f"unexpected structure entry {node!r:.60}")
        tag = next(iter(node))
        val = node[tag]
        if tag == "tensor":
            return self.tensor(node)
        if tag in ("dict", "odict"):
            out = OrderedDict() if tag == "odict" else {}
            for pair in val:
                if type(pair) is not list or len(pair) != 2:
                    _bad("dict items must be [key, value] pairs")
                out[self.decode(pair[0])] = self.decode(pair[1])
            if tag == "odict" and node.get("attrs"):
                attrs = node["attrs"]
                if type(attrs) is not dict:
                    _bad("odict attrs must be an object")
                out.__dict__.update({str(k): self.decode(v) for k, v in attrs.items()})
            return out
        if tag in ("tuple", "set", "frozenset"):
            if type(val) is not list:
                _bad(f"'{tag}' must hold a list")
            items = [self.decode(v) for v in val]
            return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
        if tag == "float":
            if val not in ("nan", "inf", "-inf"):
                _bad(f"unknown float {val!r:.20}")
            return float(val)
        if tag == "complex":
            re_, im = (self.decode(v) for v in val)
            return complex(re_, im)
        if tag in ("bytes", "bytearray"):
            data = base64.b64decode(val.encode("ascii"), validate=True)
            return data if tag == "bytes" else bytearray(data)
        if tag == "dtype":
            from .dtypes import to_dtype
            return to_dtype(val)
        if tag == "device":
            return _device_field(val, "a device value")
        if tag == "size":
            from ._tensor import Size
            return Size([int(v) for v in val])
        if tag == "ndarray":
            arr = self.array(self.key(val))
            if node.get("dtype") == "complex128":
                arr = _pairs_as_complex(arr)
            return arr
        if tag in ("object", "object_ref", "global"):
            return self.whole(tag, val, node)
        if tag == "defaultdict":
            factory = None if node.get("factory") is None else self.decode(node["factory"])
            out = defaultdict(factory)
            for pair in val:
                if type(pair) is not list or len(pair) != 2:
                    _bad("dict items must be [key, value] pairs")
                out[self.decode(pair[0])] = self.decode(pair[1])
            return out
        if tag == "npscalar":
            if val not in _NP_TO_NAME.values() and val != "complex128":
                _bad(f"unknown NumPy scalar type {val!r:.20}")
            return np.dtype(val).type(self.decode(node["value"]))
        _bad(f"unknown structure tag {tag!r:.40}")

    def whole(self, tag, val, node):
        """A whole object (or a class/function named by its import path): only with weights_only=False."""
        if tag == "object_ref":
            if val not in self.made:
                _bad(f"the structure refers to object {val!r:.20} before it is defined")
            return self.made[val]
        if type(val) is not str or ":" not in val:
            _bad(f"a {tag} needs a 'module:qualname' import path, got {val!r:.60}")
        safe = self.objects or (tag == "global" and val in _whole.SAFE_GLOBALS)
        if not safe and not _whole.get_safe_globals():
            raise _whole.weights_only_error(val.replace(":", "."))
        try:
            found = _whole.import_path(val)
        except AttributeError as e:
            if not safe:
                raise _whole.weights_only_error(val.replace(":", ".")) from None
            raise CheckpointError(f"cannot load this checkpoint: {e}") from None
        if not safe and not _whole.is_safe(found):  # not among the user's add_safe_globals
            raise _whole.weights_only_error(val.replace(":", "."))
        if tag == "global":
            return found
        inst = _whole.new_instance(found)
        self.made[node.get("id")] = inst
        state = self.decode(node.get("state", {"dict": []}))
        _whole.set_state(inst, state)
        return inst

    def tensor(self, node):
        key = self.key(node["tensor"])
        if "device" in node:
            _device_field(node["device"], f"tensor {_describe(key)}")
        same = node.get("same_as")
        if same is not None and same in self.by_key:
            return self.by_key[same]
        arr = self.array(key)
        if node.get("dtype") == "complex128":
            arr = _pairs_as_complex(arr)
        t = _place(self.restore, _wrap(arr), node.get("device", "cpu"))
        if node.get("requires_grad") or node.get("parameter"):
            t = _finish(t, node.get("requires_grad") is True, node.get("parameter") is True)
        self.by_key[key] = t
        return t


def _device_field(val, what):
    """The device named by a metadata ``device`` field, or a CheckpointError naming it."""
    from .device import device
    if type(val) is not str:
        _bad(f"{what}: field 'device' must be a string, got {_describe(val)}")
    try:
        return device(val)
    except Exception as e:
        _bad(f"{what}: field 'device' names an unknown device {_describe(val)} ({str(e)[:80]})")


def _pairs_as_complex(arr):
    if arr.dtype != np.float64 or arr.ndim == 0 or arr.shape[-1] != 2:
        _bad("a complex128 tensor must be stored as float64 with a trailing axis of 2")
    return _contig(arr).reshape(-1).view(np.complex128).reshape(arr.shape[:-1])


def _wrap(arr):
    from ._tensor import wrap
    return wrap(arr)


def _finish(t, requires_grad, parameter):
    """Restore Parameter-ness and requires_grad on a loaded (already device-placed) tensor."""
    if parameter:
        from .nn.parameter import Parameter
        return Parameter(t, requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------------------------------------
# map_location
# ---------------------------------------------------------------------------------------------
def _restorer(map_location):
    """``restore(tensor_on_cpu, saved_location) -> tensor`` following torch.load's rules."""
    if map_location is None:
        return _default_restore
    if isinstance(map_location, dict):
        table = {str(k): str(v) for k, v in map_location.items()}
        return lambda t, loc: _default_restore(t, table.get(loc, loc))
    if isinstance(map_location, str) or _is_device(map_location):
        target = str(map_location)
        return lambda t, loc: _default_restore(t, target)
    if callable(map_location):
        def restore(t, loc):
            out = map_location(t, loc)
            if out is None:
                return _default_restore(t, loc)
            if not isinstance(out, _tensor_type()):
                raise TypeError(f"map_location must return a tensor or None, got {type(out).__name__}")
            return out
        return restore
    raise ValueError(f"map_location should be a str, a device, a dict or a callable, "
                     f"got {type(map_location).__name__}")


def _is_device(x):
    from .device import device
    return isinstance(x, device)


def _default_restore(t, location):
    """Put a freshly read (CPU) tensor on the device named by ``location``."""
    if location == "cpu":
        return t
    from .device import device
    try:
        dev = device(location)
    except Exception:
        raise CheckpointError(f"not a valid checkpoint: unknown data location {location!r:.40}") from None
    if dev.type == "cpu":
        return t
    if dev.type == "cuda":
        if not _cuda_available():
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but ember.cuda.is_available() is "
                "False. If you are running on a CPU-only machine, please use ember.load with "
                "map_location=ember.device('cpu') to map your storages to the CPU.")
        return t.to(dev)
    raise CheckpointError(f"ember.load: ember has no '{dev.type}' device to restore data location "
                       f"{location!r} to; pass map_location='cpu'")


def _cuda_available():
    from .device import cupy, _n_gpus
    return cupy is not None and _n_gpus > 0


def _place(restore, t, location):
    """``restore(t, location)`` with its errors marked as the caller's, not the file's."""
    try:
        return restore(t, location)
    except CheckpointError:
        raise
    except Exception as e:
        raise Passthrough() from e


def _tensor_maker(restore):
    """The callback the ``.pt`` reader uses to turn a rebuilt array into a placed ember tensor."""
    def make(arr, location, requires_grad):
        t = _place(restore, _wrap(arr), location)
        if requires_grad:
            if not t.dtype.is_floating_point and not t.dtype.is_complex:
                raise CheckpointError("not a valid PyTorch checkpoint: only floating point tensors "
                                      "can require gradients")
            t = _finish(t, True, False)
        return t
    return make
