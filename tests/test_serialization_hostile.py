"""ember.load on hostile and unusual checkpoints: no crash, no hang, no memory explosion, clear errors.

Each reproduction from the reliability probe (issue 15) is a test here, plus a bounded fuzz test
that runs its loads in a child process (a crash there is reported, not suffered).
"""
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import ember
from ember.serialization import CheckpointError

pytest.importorskip("safetensors.numpy")


# ----------------------------------------------------------------------------------------------
# helpers: hand-assembled pickles and archives
# ----------------------------------------------------------------------------------------------
def _s(x):
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _i(x):
    return b"J" + struct.pack("<i", x)


def _g(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _tup(*parts):
    return b"(" + b"".join(parts) + b"t"


def write_pt(path, program, storages=()):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", program)
        z.writestr("archive/byteorder", "little")
        for key, data in dict(storages).items():
            z.writestr(f"archive/data/{key}", data)
    return path


def _raw_st(header, data=b""):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def _load_peak(path, **kw):
    """(result, peak bytes NumPy and Python allocated during ember.load)."""
    tracemalloc.start()
    try:
        out = ember.load(path, **kw)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


DEEP_TUPLE = b")" + b"\x85" * 10 ** 6                 # ((((...),),),) nested 10^6 deep
SHARED_TUPLE = b")" + b"2\x86" * 60                   # t = (t', t'), 60 levels: 2^60 paths


# ----------------------------------------------------------------------------------------------
# 1. crashes and hangs
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("program", [
    b"\x80\x02}" + DEEP_TUPLE + b"Ns.",                       # deep dict key (segfault in hash())
    b"\x80\x04(" + DEEP_TUPLE + b"\x91.",                     # deep frozenset member
    b"\x80\x02}" + SHARED_TUPLE + b"Ns.",                     # key shared 2^60 ways (endless hash)
    b"\x80\x02" + _g("collections", "Counter") + b"(]" + SHARED_TUPLE + b"at\x81.",  # Counter
    b"\x80\x02" + _g("builtins", "set") + b"(]" + SHARED_TUPLE + b"at\x81.",
], ids=["deep-key", "deep-frozenset", "shared-key", "shared-counter", "shared-set"])
def test_deep_or_shared_keys_refused_quickly(tmp_path, program):
    path = write_pt(tmp_path / "k.pt", program)
    t = time.perf_counter()
    with pytest.raises(CheckpointError, match="nested"):
        ember.load(path)
    assert time.perf_counter() - t < 5


@pytest.mark.parametrize("program, message", [
    (b"\x80\x02" + SHARED_TUPLE + b"Q.", "persistent id"),               # {pid!r:.80}
    (b"\x80\x02" + SHARED_TUPLE + b")R.", "calls a tuple of length 2"),  # {func!r}
    (b"\x80\x02" + SHARED_TUPLE + b")\x81.", "instantiates a tuple"),
    (b"\x80\x02" + _g("torch", "device") + b"(" + SHARED_TUPLE + b"tR.", "device arguments"),
])
def test_error_messages_never_repr_shared_structures(tmp_path, program, message):
    path = write_pt(tmp_path / "r.pt", program)
    t = time.perf_counter()
    with pytest.raises(CheckpointError, match=message):
        ember.load(path)
    assert time.perf_counter() - t < 5


def test_deep_lists_refused_and_normal_nesting_loads(tmp_path):
    deep = b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b"."     # [[[[...]]]] 5000 deep
    with pytest.raises(CheckpointError, match="nested more than"):
        ember.load(write_pt(tmp_path / "d.pt", deep))
    ok = b"\x80\x02" + b"]" * 50 + b"a" * 49 + b"."
    out = ember.load(write_pt(tmp_path / "ok.pt", ok))
    for _ in range(49):
        out = out[0]
    assert out == []


def test_mark_scan_is_not_quadratic(tmp_path):
    # 300k values pushed, then 300k POP_MARKs that find no mark: must fail at the first one, fast
    program = b"\x80\x02" + b"N" * 300_000 + b"1" * 300_000 + b"."
    t = time.perf_counter()
    with pytest.raises(CheckpointError, match="MARK"):
        ember.load(write_pt(tmp_path / "m.pt", program))
    assert time.perf_counter() - t < 5


# ----------------------------------------------------------------------------------------------
# 1. memory: storages are loaded once and tensors are views
# ----------------------------------------------------------------------------------------------
def test_views_of_one_storage_share_memory_after_load(tmp_path):
    torch = pytest.importorskip("torch")
    big = torch.arange(1_000_000, dtype=torch.float32)
    views = [big[1:] for _ in range(400)] + [big[::2], big.view(1000, 1000).t(), big]
    torch.save(views, tmp_path / "v.pt")
    out, peak = _load_peak(tmp_path / "v.pt")
    storage_bytes = big.numel() * 4
    assert peak <= 2 * storage_bytes  # torch holds the one 4 MB storage; ember within 2x of that
    assert len(out) == len(views)
    for i in (0, 399, 400, 401, 402):
        np.testing.assert_array_equal(views[i].numpy(), out[i].numpy())
    ptr = out[-1].untyped_storage().data_ptr()
    assert all(t.untyped_storage().data_ptr() == ptr for t in out)
    out[0][0] = -5.0  # writes through, as in torch: every view sees it
    assert out[1][0].item() == -5.0 and out[-1][1].item() == -5.0 and out[-2][1, 0].item() == -5.0
    out_m, _ = _load_peak(tmp_path / "v.pt", mmap=True)
    assert all(t.untyped_storage().data_ptr() == out_m[-1].untyped_storage().data_ptr() for t in out_m)


def test_bf16_and_bool_storages_converted_once(tmp_path):
    torch = pytest.importorskip("torch")
    b = torch.randn(500_000).to(torch.bfloat16)
    m = torch.rand(500_000) > 0.5
    torch.save([b[1:] for _ in range(300)] + [m[1:] for _ in range(300)], tmp_path / "b.pt")
    out, peak = _load_peak(tmp_path / "b.pt")
    # the bf16 storage converted once (to native-order bfloat16) and the bool storage once
    assert peak <= 2 * (b.numel() * 6 + m.numel() * 2)
    np.testing.assert_array_equal(out[0].float().numpy(), b[1:].float().numpy())
    np.testing.assert_array_equal(out[300].numpy(), m[1:].numpy())
    assert out[0].untyped_storage().data_ptr() == out[299].untyped_storage().data_ptr()


def test_expanded_view_is_read_only_and_not_materialised(tmp_path):
    program = (b"\x80\x02" + _g("torch._utils", "_rebuild_tensor_v2")
               + _tup(_tup(_s("storage"), _g("torch", "FloatStorage"), _s("0"), _s("cpu"), _i(3)) + b"Q",
                      _i(0), _tup(_i(4), _i(3)), _tup(_i(0), _i(1)), b"\x89", b"}") + b"R.")
    out = ember.load(write_pt(tmp_path / "e.pt", program, {"0": np.arange(3, dtype=np.float32).tobytes()}))
    np.testing.assert_array_equal(out.numpy(), np.tile(np.arange(3, dtype=np.float32), (4, 1)))
    assert not out._data.flags.writeable


def _alias_zip(data, src, aliases):
    """``data`` (a zip) plus central-directory entries named ``aliases`` that point at the bytes
    of member ``src``: a STORED archive whose entries overlap."""
    eocd = data.rindex(b"PK\x05\x06")
    n, cd_size, cd_off = struct.unpack("<HII", data[eocd + 10:eocd + 20])
    cd = data[cd_off:cd_off + cd_size]
    pos, entry = 0, None
    while pos < len(cd):
        name_len, extra_len, comment_len = struct.unpack("<HHH", cd[pos + 28:pos + 34])
        end = pos + 46 + name_len + extra_len + comment_len
        if cd[pos + 46:pos + 46 + name_len] == src.encode():
            entry = cd[pos:end]
        pos = end
    extra = b""
    for alias in aliases:
        assert len(alias) == len(src)
        extra += entry[:46] + alias.encode() + entry[46 + len(src):]
    cd = cd + extra
    tail = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, n + len(aliases), n + len(aliases),
                       len(cd), cd_off, 0)
    return data[:cd_off] + cd + tail


def test_overlapping_zip_entries_refused(tmp_path):
    pid = lambda k: _tup(_s("storage"), _g("torch", "FloatStorage"), _s(k), _s("cpu"), _i(4)) + b"Q"
    tensor = lambda k: (_g("torch._utils", "_rebuild_tensor_v2")
                        + _tup(pid(k), _i(0), _tup(_i(4)), _tup(_i(1)), b"\x89", b"}") + b"R")
    program = b"\x80\x02(" + tensor("0") + tensor("1") + b"l."
    buf = io.BytesIO()
    write_pt(buf, program, {"0": np.ones(4, np.float32).tobytes()})
    path = tmp_path / "o.pt"
    path.write_bytes(_alias_zip(buf.getvalue(), "archive/data/0", ["archive/data/1"]))
    with pytest.raises(CheckpointError, match="overlap"):
        ember.load(path)


# ----------------------------------------------------------------------------------------------
# 1. clear errors for malformed or foreign files
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header, message", [
    ({"x": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, "'x': field 'dtype' must be a string"),
    ({"x": {"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}}, "'x': field 'shape' has 65 dim"),
    ({"x": {"dtype": "F32", "shape": [2 ** 63, 0], "data_offsets": [0, 0]}}, "'x': field 'shape'.*2\\^63"),
    ({"x": {"dtype": "F32", "shape": [2 ** 32, 2 ** 32, 0], "data_offsets": [0, 0]}}, "'x': field 'shape'"),
    ({"x": {"dtype": "F32", "shape": [2 ** 62, 4], "data_offsets": [0, 4]}}, "'x': field 'shape'"),
    ({"x": {"dtype": "U16", "shape": [1], "data_offsets": [0, 2]}}, "unsupported dtype U16"),
    ({"x": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, "unsupported dtype F8_E4M3"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
      "__metadata__": {"ember": json.dumps({"version": 1, "root": {"device": "quux"}})}},
     "field 'device' names an unknown device 'quux'"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
      "__metadata__": {"ember": json.dumps({"version": 1, "root": {"tensor": "x", "device": "quux:3"}})}},
     "tensor 'x': field 'device' names an unknown device"),
])
def test_malformed_safetensors_headers_name_tensor_and_field(tmp_path, header, message):
    data = b"\0" * max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    path = tmp_path / "h.safetensors"
    path.write_bytes(_raw_st(header, data))
    with pytest.raises(CheckpointError, match=message):
        ember.load(path)


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2"])
def test_torch_dtypes_ember_lacks_are_unsupported_not_unsafe(tmp_path, dtype):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, dtype, None)
    if dt is None:
        pytest.skip(f"torch has no {dtype}")
    torch.save({"w": torch.zeros(3, dtype=dt)}, tmp_path / "u.pt")
    with pytest.raises(CheckpointError, match=f"unsupported dtype torch.{dtype}") as e:
        ember.load(tmp_path / "u.pt")
    assert type(e.value) is CheckpointError  # not UnsafeCheckpointError


def test_torchscript_archive_named_as_such(tmp_path):
    torch = pytest.importorskip("torch")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="TorchScript"):
        ember.load(tmp_path / "s.pt")


def test_legacy_formats_not_supported(tmp_path):
    torch = pytest.importorskip("torch")
    for proto in (0, 1, 2):
        path = tmp_path / f"p{proto}.pt"
        torch.save({"a": torch.ones(2)}, path, _use_new_zipfile_serialization=False, pickle_protocol=proto)
        with pytest.raises(CheckpointError, match="legacy format not supported"):
            ember.load(path)
    path = tmp_path / "old.tar"
    with tarfile.open(path, "w") as tar:  # the pre-1.0 layout: storages, tensors, pickle
        for name in ("storages", "tensors", "pickle"):
            info = tarfile.TarInfo(name)
            info.size = 8
            tar.addfile(info, io.BytesIO(b"\x80\x02N." + b"\0" * 4))
    with pytest.raises(CheckpointError, match="legacy format not supported"):
        ember.load(path)


def test_many_empty_tensors_header_within_2x_of_safetensors(tmp_path):
    from safetensors.numpy import load_file
    n = 30_000
    header = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(n)}
    path = tmp_path / "e.safetensors"
    path.write_bytes(_raw_st(header))

    def best(fn):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            fn(path)
            times.append(time.perf_counter() - t)
        return min(times)

    theirs, ours = best(load_file), best(ember.load)
    assert ours <= 2 * theirs + 0.05, (ours, theirs)
    assert len(ember.load(path)) == n


# ----------------------------------------------------------------------------------------------
# the fuzz test: hostile .pt and safetensors files, loaded in a child process
# ----------------------------------------------------------------------------------------------
_CHILD = textwrap.dedent("""
    import json, os, signal, sys, time, tracemalloc
    import ember
    from ember.serialization import CheckpointError

    class Hang(Exception):
        pass

    def alarm(*_):
        raise Hang()

    signal.signal(signal.SIGALRM, alarm)
    folder, progress = sys.argv[1], sys.argv[2]
    bad = []
    counts = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(progress, "w") as f:
            f.write(name)
        size = os.path.getsize(path)
        tracemalloc.start()
        t = time.perf_counter()
        signal.alarm(6)
        try:
            ember.load(path, mmap=name.endswith("m.pt"))
            outcome = "loaded"
        except CheckpointError:
            outcome = "refused"
        except Hang:
            outcome = "hang"
        except BaseException as e:
            outcome = f"{type(e).__name__}: {str(e)[:200]}"
        signal.alarm(0)
        took = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        counts[outcome[:12]] = counts.get(outcome[:12], 0) + 1
        if outcome not in ("loaded", "refused") or took > 5 or peak > 4 * size + 50e6:
            bad.append([name, outcome, round(took, 2), peak, size])
    print(json.dumps(counts), file=sys.stderr)
    print(json.dumps(bad))
""")


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _random_pickle(rng):
    """A short program of random opcodes (all of pickle's) with plausible arguments, plus
    deliberately hostile shapes: deep nesting, sharing, large counts."""
    import pickletools
    ops = pickletools.opcodes
    out = [b"\x80" + bytes([int(rng.integers(0, 6))])]
    globals_ = [("torch._utils", "_rebuild_tensor_v2"), ("torch", "FloatStorage"), ("collections", "OrderedDict"),
                ("builtins", "set"), ("torch", "Size"), ("collections", "Counter"), ("torch", "device"),
                ("os", "system"), ("torch", "uint16"), ("torch._utils", "_rebuild_parameter")]

    def arg(a):
        k = a.name
        small = int(rng.integers(0, 4)) if rng.random() < 0.8 else int(rng.integers(0, 2 ** 31))
        text = _pick(rng, ["storage", "0", "cpu", "a", "cuda:0", ""])
        table = {
            "uint1": lambda: struct.pack("<B", small % 256), "uint2": lambda: struct.pack("<H", small % 65536),
            "int4": lambda: struct.pack("<i", small), "uint4": lambda: struct.pack("<I", small),
            "uint8": lambda: struct.pack("<Q", small),
            "long1": lambda: b"\x02\xff\x7f", "long4": lambda: struct.pack("<i", 3) + b"\x01\x02\x03",
            "string1": lambda: bytes([len(text)]) + text.encode(),
            "string4": lambda: struct.pack("<i", len(text)) + text.encode(),
            "bytes1": lambda: bytes([len(text)]) + text.encode(),
            "bytes4": lambda: struct.pack("<I", len(text)) + text.encode(),
            "bytes8": lambda: struct.pack("<Q", len(text)) + text.encode(),
            "bytearray8": lambda: struct.pack("<Q", len(text)) + text.encode(),
            "unicodestring1": lambda: bytes([len(text)]) + text.encode(),
            "unicodestring4": lambda: struct.pack("<I", len(text)) + text.encode(),
            "unicodestring8": lambda: struct.pack("<Q", len(text)) + text.encode(),
            "decimalnl_short": lambda: b"%d\n" % small, "decimalnl_long": lambda: b"%dL\n" % small,
            "floatnl": lambda: b"1.5\n", "float8": lambda: struct.pack(">d", 1.5),
            "stringnl": lambda: b"'a'\n", "stringnl_noescape": lambda: text.encode() + b"\n",
            "unicodestringnl": lambda: text.encode() + b"\n",
            "stringnl_noescape_pair": lambda: "{}\n{}\n".format(*globals_[int(rng.integers(len(globals_)))]).encode(),
        }
        return table[k]()

    kind = rng.integers(0, 4)
    for _ in range(int(rng.integers(1, 60))):
        op = ops[int(rng.integers(len(ops)))]
        out.append(op.code.encode("latin-1") + (arg(op.arg) if op.arg else b""))
    if kind == 1:  # deep nesting of a random container kind
        out.append(_pick(rng, [b")" + b"\x85" * 200_000, b"]" * 50_000 + b"a" * 49_999, b"}" * 3000]))
    elif kind == 2:  # sharing
        out.append(b")" + b"2\x86" * int(rng.integers(20, 64)) + _pick(rng, [b"}\x94", b"(\x91", b"N"]))
    out.append(b".")
    return b"".join(out)


def _random_tensor_pickle(rng):
    """A plausible torch tensor record with random (often hostile) offset / size / stride."""
    dims = int(rng.integers(0, 4))
    big = lambda: int(_pick(rng, [0, 1, 3, 2 ** 20, 2 ** 31 - 1]))
    size, stride = [big() for _ in range(dims)], [big() for _ in range(dims)]
    pid = _tup(_s("storage"), _g("torch", str(_pick(rng, ["FloatStorage", "BoolStorage", "BFloat16Storage"]))),
               _s("0"), _s("cpu"), _i(big()))
    views = b"".join(_g("torch._utils", "_rebuild_tensor_v2")
                     + _tup(pid + b"Q", _i(big()), _tup(*map(_i, size)), _tup(*map(_i, stride)), b"\x89", b"}")
                     + b"R" for _ in range(int(rng.integers(1, 50))))
    return b"\x80\x02(" + views + b"l."


def _fuzz_files(folder, n, rng):
    torch_like = io.BytesIO()
    write_pt(torch_like, b"\x80\x02" + _g("torch._utils", "_rebuild_tensor_v2")
             + _tup(_tup(_s("storage"), _g("torch", "FloatStorage"), _s("0"), _s("cpu"), _i(64)) + b"Q",
                    _i(0), _tup(_i(8), _i(8)), _tup(_i(8), _i(1)), b"\x89", b"}") + b"R.",
             {"0": np.arange(64, dtype=np.float32).tobytes()})
    st = io.BytesIO()
    ember.save({"a": ember.arange(12.0).reshape(3, 4), "b": [1, (2, 3)], "c": ember.ones(2, dtype=ember.int64)}, st)
    for i in range(n):
        kind = i % 6
        storage = np.arange(64, dtype=np.float32).tobytes()
        if kind == 0:
            data = write_pt(io.BytesIO(), _random_pickle(rng), {"0": storage}).getvalue()
        elif kind == 1:
            data = write_pt(io.BytesIO(), _random_tensor_pickle(rng), {"0": storage}).getvalue()
        elif kind == 2:  # overlapping STORED entries
            data = _alias_zip(write_pt(io.BytesIO(), _random_tensor_pickle(rng), {"0": storage}).getvalue(),
                              "archive/data/0", ["archive/data/1", "archive/data/2"])
        elif kind == 3:  # byte flips in a valid archive
            raw = bytearray(torch_like.getvalue())
            for _ in range(int(rng.integers(1, 8))):
                raw[int(rng.integers(len(raw)))] = int(rng.integers(256))
            data = bytes(raw)
        elif kind == 4:  # random safetensors headers
            entry = {"dtype": _pick(rng, ["F32", "BF16", "U16", "I64", "BOOL", "F8_E5M2"]),
                     "shape": [int(_pick(rng, [0, 1, 3, 2 ** 31, 2 ** 63])) for _ in range(int(rng.integers(0, 70)))],
                     "data_offsets": [0, int(_pick(rng, [0, 4, 12, 2 ** 40]))]}
            if rng.random() < 0.2:
                entry[str(_pick(rng, ["dtype", "shape"]))] = [["x"], 1.5, None, {}][int(rng.integers(4))]
            data = _raw_st({"t": entry, "__metadata__": {"ember": json.dumps(
                {"version": 1, "root": _pick(rng, [{"tensor": "t"}, {"device": "quux"},
                                                   {"tensor": "t", "device": "xla:9"}, [[[]]]])})}}, b"\0" * 12)
        else:  # byte flips in an ember safetensors file
            raw = bytearray(st.getvalue())
            for _ in range(int(rng.integers(1, 8))):
                raw[int(rng.integers(len(raw)))] = int(rng.integers(256))
            data = bytes(raw)
        suffix = "m.pt" if (kind in (1, 2) and i % 2) else ".pt"
        (folder / f"{i:05d}{suffix}").write_bytes(data)


def test_fuzz_hostile_checkpoints_no_crash_hang_or_blowup(tmp_path):
    """≤ ~20 s here; EMBER_FUZZ_LONG=1 runs ten times as many files."""
    n = 3000 if os.environ.get("EMBER_FUZZ_LONG") else 300
    folder = tmp_path / "files"
    folder.mkdir()
    _fuzz_files(folder, n, np.random.default_rng(int(os.environ.get("EMBER_FUZZ_SEED", "0"))))
    progress = tmp_path / "progress"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(folder), str(progress)], env=env,
                          capture_output=True, text=True, timeout=60 + n)
    last = progress.read_text() if progress.exists() else "?"
    assert proc.returncode == 0, f"the loader crashed (rc {proc.returncode}) on {last}: {proc.stderr[-2000:]}"
    print("outcomes:", proc.stderr.strip().splitlines()[-1])
    bad = json.loads(proc.stdout.strip().splitlines()[-1])
    assert bad == [], bad


# ----------------------------------------------------------------------------------------------
# 2. interrupted saves leave no debris
# ----------------------------------------------------------------------------------------------
def test_save_writes_one_temporary_of_its_own_naming(tmp_path, monkeypatch):
    from ember import serialization
    seen = []
    real = serialization._write_file

    def spy(tmp, arrays, metadata):
        seen.append(sorted(os.listdir(tmp_path)))
        real(tmp, arrays, metadata)

    monkeypatch.setattr(serialization, "_write_file", spy)
    ember.save({"w": ember.ones(3)}, tmp_path / "m.safetensors")
    (only,) = seen[0]
    assert serialization._TMP_NAME.fullmatch(only).group("pid") == str(os.getpid())
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_stale_temporaries_of_dead_writers_removed_by_next_save(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = proc.pid  # a pid that no longer runs
    stale = tmp_path / f".m.safetensors.{dead}.0123abcd.tmp"
    live = tmp_path / f".m.safetensors.{os.getppid()}.0123abcd.tmp"  # a live writer: keep
    other = tmp_path / f".other.safetensors.{dead}.0123abcd.tmp"     # another target: keep
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    ember.save({"w": ember.ones(2)}, tmp_path / "m.safetensors")
    assert sorted(os.listdir(tmp_path)) == sorted([live.name, other.name, "m.safetensors"])


def test_kill_9_during_saves_then_save_leaves_no_debris(tmp_path):
    """kill -9 a process at random points of repeated saves (10 times; 30 with EMBER_FUZZ_LONG=1):
    the target is always a complete old or new file, and the next save leaves no temporary."""
    kills = 30 if os.environ.get("EMBER_FUZZ_LONG") else 10
    rng = np.random.default_rng(0)
    target = tmp_path / "ckpt.safetensors"
    ember.save({"w": ember.zeros(1)}, target)
    debris = 0
    for k in range(kills):
        pid = os.fork()
        if pid == 0:  # the writer: save ever-changing 8 MB checkpoints until killed
            try:
                i = 0
                while True:
                    i += 1
                    ember.save({"w": ember.full((2_000_000,), float(i)), "i": i}, target)
            finally:
                os._exit(0)
        time.sleep(float(rng.uniform(0.0, 0.25)))
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        debris += any(n.endswith(".tmp") for n in os.listdir(tmp_path))
        out = ember.load(target)  # never damaged
        assert out["w"].numel() in (1, 2_000_000) and (out["w"] == out["w"][0]).all().item()
    assert debris  # some kill did land mid-save
    ember.save({"w": ember.ones(4)}, target)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert ember.load(target)["w"].tolist() == [1.0] * 4
