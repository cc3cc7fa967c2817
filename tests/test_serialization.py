"""ember.save / ember.load: safetensors round trips, PyTorch interop both ways, hostile files."""
import io
import json
import math
import os
import pickle  # tests only: to craft hostile checkpoints the way an attacker would
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import serialization
from ember.serialization import CheckpointError, UnsafeCheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def T(a, **kw):
    return ember.tensor(np.asarray(a), **kw)


def same(a, b):
    """Structural equality where tensors compare by dtype, shape and values (NaN == NaN)."""
    if isinstance(a, ember.Tensor):
        assert isinstance(b, ember.Tensor), (type(a), type(b))
        assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        return
    assert type(a) is type(b), (type(a), type(b), a, b)
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def roundtrip(obj, tmp_path, name="ckpt.safetensors", **load_kw):
    path = tmp_path / name
    ember.save(obj, path)
    return ember.load(path, **load_kw)


def header_of(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])


# --- a tiny pickle assembler for .pt files built without torch -------------------------------
def _s(x):
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _i(x):
    return b"J" + struct.pack("<i", x)


def _g(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _tup(*parts):
    return b"(" + b"".join(parts) + b"t"


def _tensor_op(key, numel, offset, size, stride, storage="FloatStorage", location="cpu"):
    pid = _tup(_s("storage"), _g("torch", storage), _s(key), _s(location), _i(numel))
    args = _tup(pid + b"Q", _i(offset), _tup(*map(_i, size)), _tup(*map(_i, stride)), b"\x89", b"}")
    return _g("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def write_pt(path, program, storages=(), byteorder="little", compress=zipfile.ZIP_STORED):
    """A torch.save-style zip archive around a pickle program."""
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr("archive/data.pkl", program)
        z.writestr("archive/byteorder", byteorder)
        z.writestr("archive/version", "3\n")
        for key, data in dict(storages).items():
            z.writestr(f"archive/data/{key}", data)
    return path


# ----------------------------------------------------------------------------------------------
# round trips
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32,
                                   np.int64, np.uint8, np.bool_, np.complex64, np.complex128])
def test_roundtrip_dtypes(tmp_path, dtype):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4)) * 10).astype(dtype)
    for t in (T(a), T(a[0, 0]), T(a[:0])):  # ordinary, 0-d, empty
        out = roundtrip(t, tmp_path)
        same(t, out)


def test_roundtrip_noncontiguous_and_views(tmp_path):
    base = ember.arange(24, dtype=ember.float32).reshape(4, 6)
    obj = {"t": base.t(), "step": base[:, ::2], "row": base[1], "expanded": ember.ones(3).expand(4, 3)}
    out = roundtrip(obj, tmp_path)
    same(obj, out)
    assert out["t"].is_contiguous()


def test_roundtrip_nested_structures(tmp_path):
    obj = {
        "none": None, "flag": True, "off": False, "n": 7, "big": 2 ** 100, "neg": -3,
        "x": 0.1, "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"),
        "s": "héllo", "empty": "", "list": [1, [2, (3, "four")], []], "tuple": (1.5, None),
        "od": OrderedDict([("b", 1), ("a", 2)]), "int_keys": {0: "a", 3: "b", -1: None},
        "mixed_keys": {(1, 2): 3, 2.5: "f", None: 0, True: 1},
        "bytes": b"\x00\xffab", "ba": bytearray(b"xy"), "set": {1, 2, 3}, "fs": frozenset({"a"}),
        "complex": 1 - 2j, "dtype": ember.float16, "device": ember.device("cpu"),
        "size": ember.Size([2, 3]), "np": np.arange(5, dtype=np.int16), "npc": np.array([1j, 2]),
        "np_scalar": np.float32(0.25), "np_int": np.int64(-4), "np_bool": np.bool_(True),
        "tensors": [T([1.0, 2.0]), (T([3]), {"deep": T([[True]])})],
    }
    out = roundtrip(obj, tmp_path)
    same(obj, out)
    assert out["dtype"] is ember.float16
    assert isinstance(out["size"], ember.Size)


def test_roundtrip_empty_containers_and_scalars(tmp_path):
    for obj in ({}, [], (), OrderedDict(), 3, "x", None, 2.5):
        out = roundtrip(obj, tmp_path)
        same(obj, out)


def test_state_dict_roundtrip_flat_keys_and_load_state_dict(tmp_path):
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU(), ember.nn.Linear(3, 2))
    sd = model.state_dict()
    path = tmp_path / "model.safetensors"
    ember.save(sd, path)
    # the file is a plain safetensors file whose keys are exactly the state_dict keys
    flat = safetensors_numpy.load_file(str(path))
    assert sorted(flat) == sorted(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(flat[k], v.numpy())
    loaded = ember.load(path)
    assert list(loaded) == list(sd)  # order kept
    same(dict(sd), dict(loaded))
    fresh = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU(), ember.nn.Linear(3, 2))
    fresh.load_state_dict(loaded)
    x = ember.randn(5, 4)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())


def test_optimizer_state_dict_structure(tmp_path):
    sd = {
        "state": {0: {"step": T(np.float32(3.0)), "exp_avg": T(np.ones((2, 2), np.float32)),
                      "exp_avg_sq": T(np.zeros(2, np.float32))},
                  1: {"momentum_buffer": None}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "foreach": None, "maximize": False, "params": [0, 1]}],
    }
    path = tmp_path / "opt.safetensors"
    ember.save(sd, path)
    out = ember.load(path)
    same(sd, out)
    assert isinstance(out["param_groups"][0]["betas"], tuple)
    assert set(safetensors_numpy.load_file(str(path))) == {"state.0.step", "state.0.exp_avg",
                                                          "state.0.exp_avg_sq"}


def test_real_optimizer_state_dict_roundtrip(tmp_path):
    ember.manual_seed(0)
    model = ember.nn.Linear(3, 2)
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    model(ember.randn(4, 3)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    out = roundtrip(sd, tmp_path)
    same(sd, out)
    opt2 = ember.optim.Adam(model.parameters(), lr=0.5)
    opt2.load_state_dict(out)
    assert opt2.param_groups[0]["lr"] == 0.01


def test_identity_and_parameters_preserved(tmp_path):
    w = ember.nn.Parameter(ember.randn(2, 3))
    frozen = ember.nn.Parameter(ember.randn(2), requires_grad=False)
    g = ember.randn(3).requires_grad_()
    obj = {"a": w, "tied": w, "frozen": frozen, "g": g, "plain": ember.randn(2)}
    path = tmp_path / "p.safetensors"
    ember.save(obj, path)
    out = ember.load(path)
    assert out["a"] is out["tied"]  # one object in, one object out
    assert isinstance(out["a"], ember.nn.Parameter) and out["a"].requires_grad
    assert isinstance(out["frozen"], ember.nn.Parameter) and not out["frozen"].requires_grad
    assert out["g"].requires_grad and out["g"].is_leaf and not isinstance(out["g"], ember.nn.Parameter)
    assert not out["plain"].requires_grad
    # every position is still a key in the file, so other readers see both names
    assert {"a", "tied"} <= set(header_of(path))
    same(obj["a"].detach(), out["a"].detach())


def test_file_objects_and_pathlike(tmp_path):
    obj = {"w": T([[1.0, 2.0]]), "n": 3}
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    same(obj, ember.load(buf))
    same(obj, ember.load(io.BytesIO(buf.getvalue())))
    ember.save(obj, str(tmp_path / "s.st"))
    same(obj, ember.load(str(tmp_path / "s.st")))


def test_key_collisions_get_unique_names(tmp_path):
    obj = {"a.b": T([1.0]), "a": {"b": T([2.0])}, "__metadata__": T([3.0])}
    path = tmp_path / "c.safetensors"
    ember.save(obj, path)
    keys = set(header_of(path)) - {"__metadata__"}
    assert len(keys) == 3
    same(obj, ember.load(path))


def test_mmap_load(tmp_path):
    obj = {"w": ember.randn(4, 5), "i": T(np.arange(3))}
    path = tmp_path / "m.safetensors"
    ember.save(obj, path)
    out = ember.load(path, mmap=True)
    same(obj, out)
    out["w"].add_(1.0)  # copy-on-write: the file is untouched
    same(obj, ember.load(path))
    with pytest.raises(ValueError, match="mmap"):
        ember.load(io.BytesIO(open(path, "rb").read()), mmap=True)


def test_map_location_forms(tmp_path):
    obj = {"w": T([1.0, 2.0])}
    path = tmp_path / "x.safetensors"
    ember.save(obj, path)
    for loc in ("cpu", ember.device("cpu"), {"cpu": "cpu"}, lambda t, loc: t):
        same(obj, ember.load(path, map_location=loc))
    seen = []
    ember.load(path, map_location=lambda t, loc: seen.append(loc))
    assert seen == ["cpu"]
    with pytest.raises(ValueError, match="map_location"):
        ember.load(path, map_location=3.5)
    with pytest.raises(TypeError, match="map_location must return a tensor"):
        ember.load(path, map_location=lambda t, loc: "oops")

    def broken(t, loc):
        raise KeyError("user bug")

    with pytest.raises(KeyError, match="user bug"):  # the caller's error, not "corrupted file"
        ember.load(path, map_location=broken)


@pytest.mark.skipif(not ember.cuda.is_available(), reason="needs CuPy and a GPU")
def test_cuda_tensors_roundtrip(tmp_path):
    obj = {"w": ember.randn(3, 2).cuda(), "c": ember.arange(4)}
    path = tmp_path / "gpu.safetensors"
    ember.save(obj, path)
    out = ember.load(path)
    assert out["w"].device.type == "cuda" and out["c"].device.type == "cpu"
    np.testing.assert_array_equal(out["w"].cpu().numpy(), obj["w"].cpu().numpy())
    assert ember.load(path, map_location="cpu")["w"].device.type == "cpu"
    assert ember.load(path, map_location={"cpu": "cuda:0"})["c"].device.type == "cuda"


def test_map_location_to_missing_cuda(tmp_path):
    path = tmp_path / "x.safetensors"
    ember.save({"w": T([1.0])}, path)
    if ember.cuda.is_available():
        assert ember.load(path, map_location="cuda")["w"].device.type == "cuda"
    else:
        with pytest.raises(RuntimeError, match="CUDA device but ember.cuda.is_available\\(\\) is False"):
            ember.load(path, map_location="cuda")


def test_save_errors(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type"):
        ember.save({"f": lambda: 0}, tmp_path / "bad.st")
    class Local(ember.nn.Module):  # defined in a function: no import path to rebuild it from
        pass
    with pytest.raises(TypeError, match=r"Local \(at the top level\) \(save its .state_dict\(\) instead\)"):
        ember.save(Local(), tmp_path / "bad.st")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        ember.save(loop, tmp_path / "bad.st")
    with pytest.raises(RuntimeError, match="Parent directory"):
        ember.save({}, tmp_path / "missing" / "x.st")
    assert not os.listdir(tmp_path)


# ----------------------------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------------------------
def test_crash_mid_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    old = {"w": T([1.0, 2.0, 3.0])}
    ember.save(old, path)
    before = path.read_bytes()

    def crashing_writer(tmp, arrays, metadata):
        with open(tmp, "wb") as fh:
            fh.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"partial")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(serialization, "_write_file", crashing_writer)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"w": T([9.0])}, path)
    assert path.read_bytes() == before
    same(old, ember.load(path))
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temp file left behind


def test_save_replaces_and_keeps_permissions_sane(tmp_path):
    path = tmp_path / "m.st"
    ember.save({"a": T([1.0])}, path)
    ember.save({"a": T([2.0])}, path)
    assert ember.load(path)["a"].item() == 2.0
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ----------------------------------------------------------------------------------------------
# foreign safetensors files
# ----------------------------------------------------------------------------------------------
def test_plain_safetensors_file_loads_as_flat_dict(tmp_path):
    path = str(tmp_path / "plain.safetensors")
    arrays = {"layer.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
              "layer.bias": np.zeros(2, np.float64), "mask": np.array([True, False]),
              "scalar": np.array(3, np.int64), "empty": np.zeros((0, 4), np.float16)}
    safetensors_numpy.save_file(arrays, path, metadata={"format": "pt"})
    out = ember.load(path)
    assert set(out) == set(arrays)
    for k, a in arrays.items():
        assert isinstance(out[k], ember.Tensor)
        assert out[k].dtype == ember.dtypes.to_dtype(a.dtype)
        np.testing.assert_array_equal(out[k].numpy(), a)


def test_bfloat16_safetensors_loads_as_bfloat16(tmp_path):
    vals = np.array([1.0, -2.5, 3.140625], np.float32)
    bits = (vals.view(np.uint32) >> 16).astype("<u2")
    header = json.dumps({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}).encode()
    path = tmp_path / "bf.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bits.tobytes())
    out = ember.load(path)
    assert out["x"].dtype == ember.bfloat16
    np.testing.assert_array_equal(out["x"].float().numpy(), vals)


# ----------------------------------------------------------------------------------------------
# hostile / corrupted safetensors files
# ----------------------------------------------------------------------------------------------
def _raw(header, data=b""):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x01\x02", "too short"),
    (struct.pack("<Q", 2 ** 63) + b"{}", "header claims"),
    (struct.pack("<Q", 10 ** 12) + b"{" + b" " * 100, "header claims"),
    (struct.pack("<Q", 5) + b"[1,2]", "JSON object"),
    (struct.pack("<Q", 4) + b"{abc", "not valid JSON"),
    (struct.pack("<Q", 2) + b"\xff\xfe", "not a JSON object"),
    (_raw({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8), "cover"),
    (_raw({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}, b"\0" * 12), "needs 16"),
    (_raw({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}), "field .shape."),
    (_raw({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4), "data_offsets"),
    (_raw({"x": {"dtype": "XX", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4), "unknown dtype"),
    (_raw({"x": {"dtype": "F32", "shape": [1]}}, b"\0" * 4), "exactly"),
    (_raw({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), "overlapping"),
    (_raw({"__metadata__": {"a": 1}}), "__metadata__"),
    (_raw({"__metadata__": {"ember": "{not json"}}), "ember metadata"),
    (_raw({"__metadata__": {"ember": json.dumps({"version": 1, "root": {"tensor": "nope"}})}}),
     "does not contain"),
    (_raw({"__metadata__": {"ember": json.dumps({"version": 1, "root": {"evil": 1}})}}), "unknown structure"),
    (_raw({"__metadata__": {"ember": json.dumps({"version": 99, "root": None})}}), "version"),
    (_raw({"__metadata__": {"ember": json.dumps({"version": 1, "root": {"dict": [[[1], 2]]}})}}),
     "malformed"),
    (_raw({"__metadata__": {"ember": json.dumps({"version": 1, "root": {"dtype": "quux"}})}}), "malformed"),
    (_raw({"__metadata__": {"ember": "[" * 100000 + "]" * 100000}}), "ember metadata"),
    (b"{" * 10 + b"\0" * 100, "header claims"),
    (b"\x93NUMPY" + b"\0" * 50, "header claims"),
])
def test_corrupted_safetensors_rejected(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        ember.load(path)
    assert isinstance(info.value, RuntimeError)
    if message not in ("ember metadata", "malformed", "version", "does not contain", "unknown structure"):
        assert "not a valid Ember/safetensors checkpoint" in str(info.value)


def test_huge_header_size_rejected_before_allocation(tmp_path):
    # claims a 90 MB header inside a 50-byte file: refused from the length field alone
    path = tmp_path / "liar.safetensors"
    path.write_bytes(struct.pack("<Q", 90_000_000) + b"{" + b" " * 41)
    with pytest.raises(CheckpointError, match="header claims 90000000 bytes"):
        ember.load(path)


def test_truncated_ember_file_rejected(tmp_path):
    path = tmp_path / "t.safetensors"
    ember.save({"w": ember.randn(10, 10), "b": ember.randn(10)}, path)
    data = path.read_bytes()
    for cut in (0, 4, 8, 20, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            ember.load(path)


def test_random_bytes_rejected(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "r.bin"
    for n in (1, 7, 9, 64, 4096):
        path.write_bytes(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        with pytest.raises(CheckpointError):
            ember.load(path)


def test_bare_pickle_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "legacy.pt"
    path.write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(CheckpointError, match="bare pickle"):
        ember.load(path)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------
# PyTorch zip archives without torch installed (hand-assembled pickles)
# ----------------------------------------------------------------------------------------------
def test_handmade_pt_archive_strided_tensors(tmp_path):
    storage = np.arange(12, dtype=np.float32)
    program = (b"\x80\x02}(" + _s("full") + _tensor_op("0", 12, 0, (3, 4), (4, 1))
               + _s("t") + _tensor_op("0", 12, 0, (4, 3), (1, 4))
               + _s("window") + _tensor_op("0", 12, 5, (2, 2), (3, 1))
               + _s("scalar") + _tensor_op("0", 12, 7, (), ())
               + _s("expanded") + _tensor_op("0", 12, 2, (1000, 3), (0, 1))
               + _s("empty") + _tensor_op("0", 12, 0, (0, 5), (5, 1)) + b"u.")
    path = write_pt(tmp_path / "h.pt", program, {"0": storage.tobytes()})
    out = ember.load(path)
    a = storage.reshape(3, 4)
    np.testing.assert_array_equal(out["full"].numpy(), a)
    np.testing.assert_array_equal(out["t"].numpy(), a.T)
    np.testing.assert_array_equal(out["window"].numpy(), [[5, 6], [8, 9]])
    assert out["scalar"].shape == () and out["scalar"].item() == 7.0
    np.testing.assert_array_equal(out["expanded"].numpy(), np.broadcast_to(storage[2:5], (1000, 3)))
    assert out["empty"].shape == (0, 5)
    assert all(v.dtype == ember.float32 for v in out.values())


def test_handmade_pt_big_endian_and_bool(tmp_path):
    program = (b"\x80\x02}(" + _s("f") + _tensor_op("0", 3, 0, (3,), (1,), "DoubleStorage")
               + _s("m") + _tensor_op("1", 3, 0, (3,), (1,), "BoolStorage") + b"u.")
    path = write_pt(tmp_path / "be.pt", program,
                    {"0": np.array([1.5, -2, 3], ">f8").tobytes(), "1": bytes([0, 1, 7])}, byteorder="big")
    out = ember.load(path)
    np.testing.assert_array_equal(out["f"].numpy(), [1.5, -2, 3])
    assert out["f"].dtype == ember.float64
    np.testing.assert_array_equal(out["m"].numpy(), [False, True, True])


@pytest.mark.parametrize("module, name", [("os", "system"), ("posix", "system"), ("builtins", "eval"),
                                          ("__builtin__", "exec"), ("subprocess", "Popen"),
                                          ("torch", "load"), ("numpy.core.multiarray", "_reconstruct"),
                                          ("collections", "defaultdict")])
def test_disallowed_globals_refused(tmp_path, module, name):
    program = b"\x80\x02" + _g(module, name) + _tup(_s("echo hi")) + b"R."
    path = write_pt(tmp_path / "g.pt", program)
    with pytest.raises(UnsafeCheckpointError, match=f"'{module.replace('__builtin__', 'builtins')}.{name}'"):
        ember.load(path)


def test_os_system_pickle_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    class Evil2:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w')",))

    for evil in (Evil(), Evil2()):
        for proto in (2, 4, 5):
            program = pickle.dumps({"weights": [1.0], "payload": evil}, protocol=proto)
            path = write_pt(tmp_path / "evil.pt", program)
            with pytest.raises(UnsafeCheckpointError, match="refusing to load") as info:
                ember.load(path)
            assert "system" in str(info.value) or "eval" in str(info.value)
            assert isinstance(info.value, RuntimeError)
            assert not marker.exists()


@pytest.mark.parametrize("program, message", [
    (b"\x80\x02" + _g("torch._utils", "_rebuild_tensor_v2") + b"}R.", "not a tuple"),
    (b"\x80\x02" + _s("x") + b")R.", "allowlisted"),        # REDUCE on a string
    (b"\x80\x02" + b"}" + b"}" + b"b.", "state"),               # BUILD on a dict
    (b"\x80\x02" + b"]" + _s("k") + _i(1) + b"s.", "SETITEM"),  # SETITEM on a list
    (b"\x80\x02" + b"a.", "underflow"),
    (b"\x80\x02" + b"h\x05.", "memo"),
    (b"\x80\x02" + b"X\xff\xff\xff\x7f", "truncated"),
    (b"\x80\x02" + b"\x8b\x00\x00\x00\x7f", "truncated"),
    (b"\x80\x02" + b"}", "STOP"),
    (b"\x80\x02" + b"I123\n.", "opcode"),
    (b"\x80\x02" + b"(" * 100000 + b".", "underflow"),
    (b"\x80\x02" + b"c" + b"a" * 5000, "newline"),
    (b"\x80\x02" + _tup(_s("storage"), _g("torch", "FloatStorage"), _s("9"), _s("cpu"), _i(4)) + b"Q.",
     "lacks the record"),
    (b"\x80\x02" + _tup(_s("other"), _i(1)) + b"Q.", "persistent id"),
    (b"\x80\x02" + _tensor_op("0", 4, 0, (100,), (1,)) + b".", "holds only"),
    (b"\x80\x02" + _tensor_op("0", 2, 1, (2,), (1,)) + b".", "reaches element"),
    (b"\x80\x02" + _tensor_op("0", 2, 0, (2, 3), (1,)) + b".", "differ in length"),
    (b"\x80\x02" + _tensor_op("0", 2, -1, (1,), (1,)) + b".", "offset"),
    (b"\x80\x02" + _tensor_op("0", 2, 0, (2,), (-1,)) + b".", "stride"),
    (b"\x80\x02" + _tensor_op("0", 2, 0, (2,), (1,), storage="QInt8Storage") + b".", "quantized"),
    (b"\x80\x02" + _g("torch._utils", "_rebuild_sparse_tensor") + b".", "sparse"),
])
def test_malformed_pickles_rejected(tmp_path, program, message):
    storages = {"0": np.zeros(2, np.float32).tobytes()}
    path = write_pt(tmp_path / "m.pt", program, storages)
    with pytest.raises(CheckpointError, match=message):
        ember.load(path)


def test_huge_expanded_tensor_is_not_materialised(tmp_path):
    # 10^12 elements declared over a 1-element storage: a view, not a 4 TB allocation
    program = b"\x80\x02" + _tensor_op("0", 1, 0, (10 ** 6, 10 ** 6), (0, 0)) + b"."
    path = write_pt(tmp_path / "x.pt", program, {"0": np.ones(1, np.float32).tobytes()})
    out = ember.load(path)
    assert tuple(out.shape) == (10 ** 6, 10 ** 6)
    assert out._data.base is not None and out._data.nbytes == 4 * 10 ** 12  # strided view


def test_corrupted_zip_archives_rejected(tmp_path):
    program = b"\x80\x02" + _tensor_op("0", 3, 0, (3,), (1,)) + b"."
    good = write_pt(tmp_path / "g.pt", program, {"0": np.ones(3, np.float32).tobytes()}).read_bytes()
    path = tmp_path / "bad.pt"
    for data in (good[:len(good) // 2], good[:-10], good[:30]):
        path.write_bytes(data)
        with pytest.raises(CheckpointError):
            ember.load(path)
    # flip a byte inside the pickle: the zip CRC catches it
    i = good.index(b"_rebuild_tensor_v2")
    path.write_bytes(good[:i] + b"X" + good[i + 1:])
    with pytest.raises(CheckpointError):
        ember.load(path)
    # compressed records (torch never writes them) and archives without data.pkl
    write_pt(path, program, {"0": np.ones(3, np.float32).tobytes()}, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="compressed"):
        ember.load(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("foo.txt", "hi")
    with pytest.raises(CheckpointError, match="data.pkl"):
        ember.load(path)


def test_cuda_location_without_cuda(tmp_path):
    program = b"\x80\x02" + _tensor_op("0", 2, 0, (2,), (1,), location="cuda:0") + b"."
    path = write_pt(tmp_path / "c.pt", program, {"0": np.ones(2, np.float32).tobytes()})
    if not serialization._cuda_available():
        with pytest.raises(RuntimeError, match="map_location"):
            ember.load(path)
    for loc in ("cpu", {"cuda:0": "cpu"}, ember.device("cpu"), lambda s, loc: s.cpu()):
        out = ember.load(path, map_location=loc)
        assert out.device == ember.device("cpu")
        np.testing.assert_array_equal(out.numpy(), [1.0, 1.0])
    seen = []
    ember.load(path, map_location=lambda s, loc: seen.append(loc) or s)
    assert seen == ["cuda:0"]


# ----------------------------------------------------------------------------------------------
# PyTorch interop (real torch)
# ----------------------------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _torch_model(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                               torch.nn.Linear(8, 3))


def _ember_model():
    return ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.BatchNorm1d(8), ember.nn.ReLU(),
                               ember.nn.Linear(8, 3))


def test_torch_pt_state_dict_loads(tmp_path):
    torch = _torch()
    tm = _torch_model(torch)
    tm.train()
    tm(torch.randn(16, 4))  # move the BatchNorm running stats
    tm.eval()
    path = tmp_path / "model.pt"
    torch.save(tm.state_dict(), path)
    sd = ember.load(path)
    assert isinstance(sd, OrderedDict)
    assert list(sd) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert sd[k].dtype == ember.dtypes.to_dtype(str(v.dtype))
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())
    assert sd._metadata[""] == {"version": 1}
    em = _ember_model()
    em.load_state_dict(sd)
    em.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("protocol", [2, 4])
def test_torch_pt_many_kinds_of_values(tmp_path, protocol):
    torch = _torch()
    base = torch.arange(24.0).reshape(4, 6)
    obj = {
        "t": base.t(), "view": base[1:, 2:4], "same": base, "alias": base, "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3), "f16": torch.randn(3).half(), "f64": torch.randn(2).double(),
        "i8": torch.tensor([-3, 4], dtype=torch.int8), "u8": torch.tensor([250], dtype=torch.uint8),
        "i32": torch.tensor([7], dtype=torch.int32), "bool": torch.tensor([True, False]),
        "c64": torch.tensor([1 + 2j]), "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
        "expanded": torch.ones(3).expand(2, 3), "param": torch.nn.Parameter(torch.ones(2)),
        "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
        "grad": torch.ones(2).requires_grad_(), "dtype": torch.float16, "size": torch.Size([2, 3]),
        "device": torch.device("cpu"), "bytes": b"\x00ab", "complex": 1 + 2j, "set": {1, 2},
        "nested": [(1, "a", None, True, 2.5, 2 ** 70), {3: [torch.ones(1)]}],
    }
    path = tmp_path / "many.pt"
    torch.save(obj, path, pickle_protocol=protocol)
    out = ember.load(path, weights_only=True)
    for k in ("t", "view", "same", "scalar", "empty", "f16", "f64", "i8", "u8", "i32", "bool", "c64",
              "expanded"):
        np.testing.assert_array_equal(out[k].numpy(), obj[k].numpy(), err_msg=k)
        assert out[k].dtype == ember.dtypes.to_dtype(str(obj[k].dtype)), k
        assert tuple(out[k].shape) == tuple(obj[k].shape)
    assert out["same"] is out["alias"]
    assert out["bf16"].dtype == ember.bfloat16                  # kept as bfloat16, as torch loads it
    np.testing.assert_array_equal(out["bf16"].float().numpy(), [1.5, -2.0])
    assert isinstance(out["param"], ember.nn.Parameter) and out["param"].requires_grad
    assert isinstance(out["frozen"], ember.nn.Parameter) and not out["frozen"].requires_grad
    assert out["grad"].requires_grad and not isinstance(out["grad"], ember.nn.Parameter)
    assert out["dtype"] is ember.float16
    assert out["size"] == (2, 3) and isinstance(out["size"], ember.Size)
    assert out["device"] == ember.device("cpu")
    assert out["bytes"] == b"\x00ab" and out["complex"] == 1 + 2j and out["set"] == {1, 2}
    assert out["nested"][0] == (1, "a", None, True, 2.5, 2 ** 70)
    np.testing.assert_array_equal(out["nested"][1][3][0].numpy(), [1.0])


def test_torch_optimizer_state_dict_loads(tmp_path):
    torch = _torch()
    tm = _torch_model(torch)
    opt = torch.optim.Adam(tm.parameters(), lr=0.01, betas=(0.8, 0.99))
    for _ in range(2):
        opt.zero_grad()
        tm(torch.randn(8, 4)).pow(2).mean().backward()
        opt.step()
    path = tmp_path / "opt.pt"
    torch.save(opt.state_dict(), path)
    sd = ember.load(path)
    ref = opt.state_dict()
    assert sorted(sd["state"]) == sorted(ref["state"])
    for i, st in ref["state"].items():
        for k, v in st.items():
            np.testing.assert_array_equal(sd["state"][i][k].numpy(), v.numpy())
    g, rg = sd["param_groups"][0], ref["param_groups"][0]
    assert g["betas"] == (0.8, 0.99) and isinstance(g["betas"], tuple)
    assert {k: v for k, v in g.items()} == rg


def test_torch_checkpoint_dict_with_model_and_optimizer(tmp_path):
    torch = _torch()
    tm = _torch_model(torch)
    opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    tm(torch.randn(4, 4)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 3, "model": tm.state_dict(), "optimizer": opt.state_dict(), "loss": 0.25}, path)
    ck = ember.load(path, map_location="cpu")
    assert ck["epoch"] == 3 and ck["loss"] == 0.25
    em = _ember_model()
    em.load_state_dict(ck["model"])
    np.testing.assert_array_equal(em[0].weight.detach().numpy(), tm[0].weight.detach().numpy())


def test_torch_pt_mmap(tmp_path):
    torch = _torch()
    sd = _torch_model(torch).state_dict()
    path = tmp_path / "m.pt"
    torch.save(sd, path)
    out = ember.load(path, mmap=True)
    for k, v in sd.items():
        np.testing.assert_array_equal(out[k].numpy(), v.numpy())
    out["0.weight"].mul_(0)
    again = ember.load(path)
    np.testing.assert_array_equal(again["0.weight"].numpy(), sd["0.weight"].numpy())


def test_torch_reads_ember_safetensors(tmp_path):
    torch = _torch()
    st_torch = pytest.importorskip("safetensors.torch")
    ember.manual_seed(0)
    em = _ember_model()
    path = tmp_path / "model.safetensors"
    ember.save(em.state_dict(), path)
    flat = st_torch.load_file(str(path))
    assert sorted(flat) == sorted(em.state_dict())
    for k, v in em.state_dict().items():
        np.testing.assert_array_equal(flat[k].numpy(), v.numpy())
    tm = _torch_model(torch)
    tm.load_state_dict(flat)  # strict: same keys, shapes, dtypes
    tm.eval()
    em.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_ember_reads_torch_safetensors(tmp_path):
    torch = _torch()
    st_torch = pytest.importorskip("safetensors.torch")
    tm = _torch_model(torch)
    path = str(tmp_path / "model.safetensors")
    st_torch.save_file(tm.state_dict(), path, metadata={"format": "pt"})
    sd = ember.load(path)
    assert isinstance(sd, dict) and set(sd) == set(tm.state_dict())
    em = _ember_model()
    em.load_state_dict(sd)
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())


def test_torch_whole_model_pickle_refused_with_hint(tmp_path):
    torch = _torch()
    path = tmp_path / "whole.pt"
    torch.save(_torch_model(torch), path)
    with pytest.raises(UnsafeCheckpointError, match=r"(?s)Weights only load failed.*GLOBAL "
                       r"torch.nn.modules.container.Sequential was not an allowed global"):
        ember.load(path)
    assert isinstance(ember.load(path, weights_only=False), ember.nn.Sequential)  # the user opted in


def test_torch_written_malicious_pt_refused(tmp_path):
    torch = _torch()
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Evil()}, path)
    with pytest.raises(UnsafeCheckpointError, match="system"):
        ember.load(path)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------
# fuzzing: truncated and bit-flipped files give CheckpointError or load, never anything else
# ----------------------------------------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st, HealthCheck  # noqa: E402


def _ember_file_bytes():
    buf = io.BytesIO()
    ember.save({"w": T(np.arange(6, dtype=np.float32).reshape(2, 3)), "opt": {0: {"step": T(2.0)}},
                "betas": (0.9, 0.99), "name": "x"}, buf)
    return buf.getvalue()


def _pt_program():
    return (b"\x80\x02}(" + _s("a") + _tensor_op("0", 6, 0, (2, 3), (3, 1))
            + _s("b") + _tensor_op("0", 6, 1, (2, 2), (1, 2)) + _s("l") + b"](" + _i(1) + b"Ge)u.")


_EMBER = None


def _load_bytes(data, suffix, tmp_path):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        ember.load(path)
    except CheckpointError:
        pass
    try:
        ember.load(io.BytesIO(data))
    except CheckpointError:
        pass


_fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_fuzz
@given(st.data())
def test_fuzz_ember_file(tmp_path, data):
    global _EMBER
    if _EMBER is None:
        _EMBER = _ember_file_bytes()
    blob = bytearray(_EMBER)
    if data.draw(st.booleans()):
        blob = blob[:data.draw(st.integers(0, len(blob)))]
    for _ in range(data.draw(st.integers(0, 4))):
        if blob:
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= 1 << data.draw(st.integers(0, 7))
    _load_bytes(bytes(blob), ".safetensors", tmp_path)


@_fuzz
@given(st.data())
def test_fuzz_pt_pickle_program(tmp_path, data):
    program = bytearray(_pt_program())
    if data.draw(st.booleans()):
        program = program[:data.draw(st.integers(0, len(program)))]
    for _ in range(data.draw(st.integers(0, 4))):
        if program:
            i = data.draw(st.integers(0, len(program) - 1))
            program[i] = data.draw(st.integers(0, 255))
    path = write_pt(tmp_path / "f.pt", bytes(program), {"0": np.arange(6, dtype=np.float32).tobytes()})
    try:
        ember.load(path)
    except CheckpointError:
        pass


@_fuzz
@given(st.data())
def test_fuzz_pt_archive_bytes(tmp_path, data):
    path = write_pt(tmp_path / "a.pt", _pt_program(), {"0": np.arange(6, dtype=np.float32).tobytes()})
    blob = bytearray(path.read_bytes())
    if data.draw(st.booleans()):
        blob = blob[:data.draw(st.integers(0, len(blob)))]
    for _ in range(data.draw(st.integers(0, 3))):
        if blob:
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= 1 << data.draw(st.integers(0, 7))
    _load_bytes(bytes(blob), ".pt", tmp_path)


# ----------------------------------------------------------------------------------------------
# the weights_only allowlist: add_safe_globals / safe_globals (as torch.serialization)
# ----------------------------------------------------------------------------------------------
def test_safe_globals_allow_whole_model_with_weights_only(tmp_path):
    torch = _torch()
    path = tmp_path / "whole.emb"
    em = _ember_model()
    ember.save(em, path)
    tpath = tmp_path / "whole.pt"
    torch.save(_torch_model(torch), tpath)
    ember_classes = [ember.nn.Sequential, ember.nn.Linear, ember.nn.BatchNorm1d, ember.nn.ReLU]
    torch_classes = [torch.nn.Sequential, torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.ReLU]
    with pytest.raises(UnsafeCheckpointError, match="Weights only load failed"):
        ember.load(path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(tpath)
    # inside the block both load the whole model; what is allowed is the same list in both
    with ember.serialization.safe_globals(ember_classes), torch.serialization.safe_globals(torch_classes):
        assert {c.__name__ for c in ember.serialization.get_safe_globals()} == \
            {c.__name__ for c in torch.serialization.get_safe_globals() if c in torch_classes}
        back = ember.load(path)
        from_pt = ember.load(tpath)
        tback = torch.load(tpath)
    assert isinstance(back, ember.nn.Sequential) and isinstance(tback, torch.nn.Sequential)
    for (k, v), (k2, v2) in zip(em.state_dict().items(), back.state_dict().items()):
        assert k == k2 and np.array_equal(v.numpy(), v2.numpy())
    for (k, v), (k2, v2) in zip(tback.state_dict().items(), from_pt.state_dict().items()):
        assert k == k2 and np.array_equal(v.numpy(), v2.numpy())
    # after the block the allowlist is as before: refused again, in both
    assert ember.serialization.get_safe_globals() == []
    with pytest.raises(UnsafeCheckpointError, match="Weights only load failed"):
        ember.load(path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(tpath)


def test_safe_globals_every_nested_class_must_be_allowed(tmp_path):
    torch = _torch()
    path, tpath = tmp_path / "whole.emb", tmp_path / "whole.pt"
    ember.save(_ember_model(), path)
    torch.save(_torch_model(torch), tpath)
    with ember.serialization.safe_globals([ember.nn.Sequential]):
        with pytest.raises(UnsafeCheckpointError, match=r"GLOBAL ember\.nn\.linear\.Linear was not an allowed"):
            ember.load(path)
        with pytest.raises(UnsafeCheckpointError, match=r"torch\.nn\.modules\.linear\.Linear was not an allowed"):
            ember.load(tpath)
    with torch.serialization.safe_globals([torch.nn.Sequential]):
        with pytest.raises(pickle.UnpicklingError, match=r"torch\.nn\.modules\.linear\.Linear was not an allowed"):
            torch.load(tpath)


def test_add_get_clear_safe_globals():
    torch = _torch()
    saved = torch.serialization.get_safe_globals()
    try:
        for ns, lin in ((ember.serialization, ember.nn.Linear), (torch.serialization, torch.nn.Linear)):
            ns.clear_safe_globals()
            ns.add_safe_globals([lin, ns.safe_globals])
            assert set(ns.get_safe_globals()) == {lin, ns.safe_globals}
            ns.clear_safe_globals()
            assert ns.get_safe_globals() == []
    finally:
        torch.serialization.add_safe_globals(saved)
    assert ember.serialization.get_safe_globals() == []


def test_safe_globals_tuple_names_the_object(tmp_path):
    """``(obj, "module.Name")``: the file's name maps to ``obj`` without importing anything."""
    path = tmp_path / "lin.emb"
    ember.save(ember.nn.Linear(2, 3), path)
    with ember.serialization.safe_globals([(ember.nn.Linear, "ember.nn.linear.Linear")]):
        assert isinstance(ember.load(path), ember.nn.Linear)
