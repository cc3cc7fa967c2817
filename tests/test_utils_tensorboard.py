"""ember.utils.tensorboard.SummaryWriter: real event files, read back record by record and compared with
what torch.utils.tensorboard.SummaryWriter writes for the same calls."""
import glob
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import ember

pytest.importorskip("tensorboardX")
from tensorboardX.proto.event_pb2 import Event  # noqa: E402

from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def read_events(log_dir):
    """Every Event in the event files directly in ``log_dir`` (TFRecord: u64 length, u32 crc, data, u32 crc)."""
    events = []
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos:pos + 8])
            events.append(Event.FromString(data[pos + 12:pos + 12 + n]))
            pos += 12 + n + 4
    return events


def values(log_dir):
    """(tag, step, Summary.Value) for every summary value, in file order."""
    return [(v.tag, e.step, v) for e in read_events(log_dir) if e.HasField("summary") for v in e.summary.value]


def _torch_writer():
    torch = pytest.importorskip("torch")
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter
    return torch, TorchWriter


def test_scalars_read_back(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(3):
            w.add_scalar("loss", ember.tensor(1.0 / (step + 1)), step)
        w.add_scalar("lr", 0.5, 7)
        w.add_scalar("new", ember.tensor([2.5]), 1, new_style=True)
    got = values(str(tmp_path))
    assert [(t, s) for t, s, _ in got] == [("loss", 0), ("loss", 1), ("loss", 2), ("lr", 7), ("new", 1)]
    assert [round(v.simple_value, 6) for t, _, v in got[:4]] == [1.0, 0.5, 0.333333, 0.5]
    assert got[4][2].tensor.float_val == [2.5] and got[4][2].metadata.plugin_data.plugin_name == "scalars"
    first = read_events(str(tmp_path))[0]
    assert first.file_version == "brain.Event:2"


def test_scalar_rejects_many_values(tmp_path):
    with SummaryWriter(str(tmp_path)) as w, pytest.raises(AssertionError, match="one element"):
        w.add_scalar("x", ember.ones(3), 0)


def test_add_scalars_goes_to_sub_runs(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalars("run/a", {"x": ember.tensor(1.0), "y": 2}, 4)
    for sub, val in (("run_a_x", 1.0), ("run_a_y", 2.0)):
        got = values(str(tmp_path / sub))
        assert [(t, s, v.simple_value) for t, s, v in got] == [("run/a", 4, val)]


def test_histogram_matches_numpy(tmp_path):
    x = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram("w", ember.tensor(x), 3, bins="auto")
        w.add_histogram("default", ember.tensor(x), 3)
    (_, step, v), (_, _, d) = values(str(tmp_path))
    assert step == 3 and v.histo.num == 1000
    assert v.histo.min == pytest.approx(float(x.min())) and v.histo.max == pytest.approx(float(x.max()))
    assert v.histo.sum == pytest.approx(float(x.astype(np.float64).sum()), rel=1e-5)
    assert sum(v.histo.bucket) == 1000 and sum(d.histo.bucket) == 1000


def _png(v):
    from PIL import Image
    import io
    return np.asarray(Image.open(io.BytesIO(v.image.encoded_image_string)))


def test_images_chw_hwc_and_batches(tmp_path):
    img = np.linspace(0, 1, 3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_image("chw", ember.tensor(img), 0)
        w.add_image("hwc", ember.tensor(img.transpose(1, 2, 0)), 0, dataformats="HWC")
        w.add_image("over", ember.tensor(img * 2), 0)          # values > 1 are clipped, as in torch
        w.add_images("batch", ember.tensor(np.stack([img, img])), 0)
    got = {t: v for t, _, v in values(str(tmp_path))}
    expect = (img.transpose(1, 2, 0) * 255).astype(np.uint8)
    assert (got["chw"].image.height, got["chw"].image.width, got["chw"].image.colorspace) == (4, 5, 3)
    np.testing.assert_array_equal(_png(got["chw"]), expect)
    np.testing.assert_array_equal(_png(got["hwc"]), expect)
    np.testing.assert_array_equal(_png(got["over"]), (np.clip(img * 2, 0, 1).transpose(1, 2, 0) * 255).astype(np.uint8))
    assert got["batch"].image.width == 10


def test_text_and_hparams(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_text("note", "hello *world*", 2)
        w.add_hparams({"lr": 0.1, "opt": "sgd", "bn": True}, {"hp/acc": 0.75}, run_name="trial")
    (tag, step, v), = values(str(tmp_path))
    assert (tag, step, v.tensor.string_val[0].decode()) == ("note/text_summary", 2, "hello *world*")
    sub = values(str(tmp_path / "trial"))
    assert [t for t, _, _ in sub] == ["_hparams_/experiment", "_hparams_/session_start_info",
                                      "_hparams_/session_end_info", "hp/acc"]
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData
    ssi = HParamsPluginData.FromString(sub[1][2].metadata.plugin_data.content).session_start_info
    assert ssi.hparams["lr"].number_value == pytest.approx(0.1) and ssi.hparams["opt"].string_value == "sgd"
    assert ssi.hparams["bn"].number_value == 1.0       # torch stores a bool as a number too
    assert sub[3][2].simple_value == 0.75
    with SummaryWriter(str(tmp_path)) as w, pytest.raises(TypeError, match="should be dictionary"):
        w.add_hparams([("lr", 1)], {})


def test_add_graph_from_recorded_functions(tmp_path):
    net = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU(), ember.nn.Linear(3, 2))
    with SummaryWriter(str(tmp_path)) as w:
        w.add_graph(net, ember.randn(5, 4))
    graphs = [e for e in read_events(str(tmp_path)) if e.graph_def]
    from tensorboardX.proto.graph_pb2 import GraphDef
    g = GraphDef.FromString(graphs[0].graph_def)
    by_name = {n.name: n for n in g.node}
    assert by_name["input/input.0"].op == "IO Node"
    assert by_name["Sequential/0/Addmm"].input[:2] == ["Sequential/0/bias", "input/input.0"]
    assert by_name["Sequential/1/Relu"].input == ["Sequential/0/Addmm"]
    assert by_name["output/output.0"].input == ["Sequential/2/Addmm"]
    shape = by_name["output/output.0"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [5, 2]
    assert net.training  # the model is put back in training mode


def test_flush_close_reopen_and_purge_step(tmp_path):
    w = SummaryWriter(str(tmp_path), purge_step=5, flush_secs=1000, filename_suffix=".mine")
    w.add_scalar("a", 1.0, 5)
    w.flush()
    assert [t for t, _, _ in values(str(tmp_path))] == ["a"]
    w.close()
    w.close()                     # closing twice is fine
    w.add_scalar("a", 2.0, 6)     # a new event file after close
    w.close()
    files = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    assert len(files) == 2 and all(f.endswith(".mine") for f in files)
    evs = read_events(str(tmp_path))
    assert any(e.session_log.status == 1 and e.step == 5 for e in evs)   # purge_step: SessionLog START
    assert sorted(e.step for e in evs if e.HasField("summary")) == [5, 6]


def test_default_log_dir(tmp_path, monkeypatch):
    import socket
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    d = w.get_logdir()
    assert d.startswith("runs" + os.sep) and d.endswith("_" + socket.gethostname() + "_lr0.1")
    assert os.path.isdir(tmp_path / d)


def test_add_figure(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(2, 1), dpi=20)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_figure("fig", fig, 0)
    (_, _, v), = values(str(tmp_path))
    assert (v.image.height, v.image.width) == (20, 40)


def _normalise(vals):
    out = []
    for tag, step, v in vals:
        kind = v.WhichOneof("value")
        payload = {"simple_value": lambda: round(v.simple_value, 6),
                   "histo": lambda: (v.histo.num, round(v.histo.sum, 3), list(v.histo.bucket),
                                     [round(b, 6) for b in v.histo.bucket_limit]),
                   "image": lambda: (v.image.height, v.image.width, v.image.colorspace, _png(v).tobytes()),
                   "tensor": lambda: (list(v.tensor.string_val), list(v.tensor.float_val))}[kind]()
        out.append((tag, step, kind, payload))
    return out


def test_same_events_as_torch_summary_writer(tmp_path):
    """torch.utils.tensorboard.SummaryWriter and ember.utils.tensorboard.SummaryWriter write the same values."""
    torch, TorchWriter = _torch_writer()
    rng = np.random.default_rng(1)
    img = rng.random((3, 6, 7)).astype(np.float32) * 1.2
    hist = rng.normal(size=500).astype(np.float32)
    imgs = rng.random((2, 5, 4, 3)).astype(np.float32)

    def log(mod, Writer, d):
        with Writer(d) as w:
            w.add_scalar("loss", mod.tensor(0.25), 1)
            w.add_scalar("loss", 0.125, 2)
            w.add_histogram("hist", mod.tensor(hist), 0)
            w.add_histogram("hist_fd", mod.tensor(hist), 0, bins="fd")
            w.add_image("img", mod.tensor(img), 0)
            w.add_images("imgs", mod.tensor(imgs), 0, dataformats="NHWC")
            w.add_text("t", "abc", 3)
            w.add_scalars("m", {"a": 1.0}, 0)
    log(torch, TorchWriter, str(tmp_path / "torch"))
    log(ember, SummaryWriter, str(tmp_path / "ember"))
    assert _normalise(values(str(tmp_path / "ember"))) == _normalise(values(str(tmp_path / "torch")))
    assert _normalise(values(str(tmp_path / "ember" / "m_a"))) == _normalise(values(str(tmp_path / "torch" / "m_a")))


def test_reachable_as_torch_utils_tensorboard(tmp_path):
    """Under ``ember run``, ``from torch.utils.tensorboard import SummaryWriter`` is Ember's writer."""
    prog = tmp_path / "p.py"
    prog.write_text("import torch\nfrom torch.utils.tensorboard import SummaryWriter\n"
                    "import ember.utils.tensorboard as t\nprint(SummaryWriter is t.SummaryWriter)\n"
                    f"w = SummaryWriter({str(tmp_path / 'run')!r})\nw.add_scalar('x', torch.ones(()), 0)\nw.close()\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-m", "ember", "run", str(prog)], capture_output=True, text=True,
                       cwd=root, env={**os.environ, "PYTHONPATH": root}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True"
    assert [t for t, _, _ in values(str(tmp_path / "run"))] == ["x"]


def test_missing_tensorboardx_names_the_extra(monkeypatch):
    import importlib
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if tensorboardX were not installed
    for name in [n for n in sys.modules if n.startswith("ember.utils.tensorboard")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r'pip install "ember\[tensorboard\]"'):
        importlib.import_module("ember.utils.tensorboard")
