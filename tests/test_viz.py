"""ember.viz: storage pictures, autograd graphs, model summaries, and errors that teach."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
import ember.viz as viz
from ember import nn

REPO = Path(__file__).resolve().parents[1]


# --- storage and strides ------------------------------------------------------------------------------
def _order_line(text, name):
    block = text.split(f"  {name}: ", 1)[1]
    return [int(v) for v in re.search(r"order: ([\d ]+)", block).group(1).split()]


def test_cells_follow_as_strided_semantics_for_random_windows():
    """On a storage holding 0..n-1, the value of each element IS its cell: cells() and the printed order
    must equal what as_strided reads, for random shapes, strides and offsets."""
    rng = np.random.default_rng(0)
    base = ember.arange(200)
    for _ in range(200):
        ndim = int(rng.integers(0, 4))
        size = tuple(int(s) for s in rng.integers(1, 5, ndim))
        stride = tuple(int(s) for s in rng.integers(0, 7, ndim))
        span = sum((n - 1) * s for n, s in zip(size, stride))
        offset = int(rng.integers(0, 200 - span))
        v = base.as_strided(size, stride, offset)
        assert np.array_equal(viz.cells(v), v.numpy())
        text = viz.explain(base, v, names=["base", "v"])
        assert _order_line(text, "v") == v.numpy().ravel().tolist()[:64]
        assert f"v: shape {size}, stride {stride}, offset {offset}" in text


@pytest.mark.parametrize("make", [
    lambda x: x.view(4, 6), lambda x: x.t(), lambda x: x.transpose(0, 1), lambda x: x.view(2, 3, 4).permute(2, 0, 1),
    lambda x: x[::2, 1::3], lambda x: x[1], lambda x: x[:, :1].expand(4, 5), lambda x: x.flatten().unfold(0, 4, 3),
    lambda x: x.as_strided((3, 3), (7, 1), 2), lambda x: x.diagonal(), lambda x: x.diagonal(offset=1),
])
def test_explain_matches_torch_strides_offsets_and_reads(make):
    torch = pytest.importorskip("torch")
    x = ember.arange(24).view(4, 6)
    tx = torch.arange(24).view(4, 6)
    ours = make(x)
    theirs = make(tx)
    assert ours.stride() == theirs.stride() and ours.storage_offset() == theirs.storage_offset()
    text = viz.explain(x, ours, names=["x", "v"])
    assert "shared by x, v" in text  # a view: same storage, no copy
    assert _order_line(text, "v") == theirs.flatten().tolist()[:64]
    contiguous = "contiguous" if theirs.is_contiguous() else "not contiguous"
    assert f"offset {theirs.storage_offset()}, {contiguous}" in text


def test_explain_shows_a_copy_as_a_new_storage():
    x = ember.arange(6).view(2, 3)
    text = viz.explain(x, x.t(), x.t().contiguous(), x.t().reshape(6), names=["x", "xt", "c", "r"])
    assert "storage #1: 6 cells of int64 (48 bytes), shared by x, xt" in text
    assert "storage #2: 6 cells of int64 (48 bytes), shared by c" in text
    assert "storage #3: 6 cells of int64 (48 bytes), shared by r" in text
    assert "  value | 0 3 1 4 2 5" in text  # the copy holds the elements in the new order
    assert _order_line(text, "xt") == [0, 3, 1, 4, 2, 5]
    assert "a copy was made" in text
    e = ember.tensor([1.0, 2.0, 3.0]).expand(2, 3)
    assert "read more than once" in viz.explain(e) and "reads | 2 2 2" in viz.explain(e)


def test_explain_errors():
    with pytest.raises(TypeError, match="expects tensors"):
        viz.explain(np.zeros(3))
    with pytest.raises(ValueError, match="2 tensors but 1 names"):
        viz.explain(ember.ones(2), ember.ones(2), names=["a"])


@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_draw_storage_writes_a_picture(tmp_path, suffix, magic):
    x = ember.arange(6).view(2, 3)
    path = tmp_path / f"s.{suffix}"
    viz.draw_storage(x, x.t(), x.t().contiguous(), path=str(path))
    assert path.read_bytes()[:len(magic)] == magic and path.stat().st_size > 1000


# --- the autograd graph --------------------------------------------------------------------------------
def _walk(root):
    """Names of the nodes reachable through next_functions (each node once)."""
    seen, names, stack = set(), [], [root.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.append(fn.name())
        stack.extend(n for n, _ in fn.next_functions)
    return sorted(names)


def _model_and_loss():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    x = ember.randn(4, 1, 8, 8)
    h = model[1](model[0](x))
    h.retain_grad()
    out = model[3](model[2](h))
    loss = nn.functional.cross_entropy(out, ember.tensor([1, 2, 3, 4])) + out.pow(2).mean()  # out used twice
    return model, loss


def test_graph_nodes_equal_a_walk_of_next_functions():
    model, loss = _model_and_loss()
    g = viz.graph(loss, params=dict(model.named_parameters()))
    assert sorted(n["name"] for n in g.nodes if n["kind"] != "output") == _walk(loss)
    leaves = {n["param"]: n["shape"] for n in g.nodes if n["kind"] == "leaf"}
    assert leaves == {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert any(n.get("retains_grad") for n in g.nodes)
    # every edge goes from an input's node to the node that consumed it
    by_id = {n["id"]: n for n in g.nodes}
    for a, b in g.edges:
        if by_id[b]["kind"] == "op":
            fn_names = [by_id[b]["name"]]
            assert by_id[a]["kind"] in ("op", "leaf") and fn_names
    assert "digraph" in g.source and "1.weight\\n(16, 64)" in g.source


def test_graph_text_lists_names_shapes_saved_tensors_and_reuse():
    model, loss = _model_and_loss()
    text = viz.graph_text(loss, params=dict(model.named_parameters()), show_saved=True)
    assert text.startswith("output ()\n└── AddBackward0")
    for name, p in model.named_parameters():
        assert f"{name} {tuple(p.shape)}".replace(",)", ",)") in text
    assert "(used again: shown above)" in text and "[retains grad]" in text and "saved: (4, 64) (64, 16)" in text
    loss.backward()
    assert "(saved: freed by backward)" in viz.graph_text(loss, show_saved=True)


@pytest.mark.parametrize("suffix, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("dot", b"digraph")])
def test_draw_graph_writes_the_format_of_the_suffix(tmp_path, suffix, magic):
    model, loss = _model_and_loss()
    path = tmp_path / f"graph.{suffix}"
    assert viz.draw_graph(loss, params=dict(model.named_parameters()), path=str(path)) == str(path)
    assert path.read_bytes()[:len(magic)] == magic
    assert isinstance(viz.draw_graph(loss), viz.Graph)


# --- model summary -------------------------------------------------------------------------------------
def _hooked_shapes(model, x):
    shapes = []
    handles = [m.register_forward_hook(lambda m, i, o: shapes.append(
        list((o[0] if isinstance(o, tuple) else o).shape))) for m in model.modules()]
    with ember.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return shapes


def _cnn(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(1, 8, 3), lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(),
                             lib.nn.Sequential(lib.nn.Linear(8 * 13 * 13, 32), lib.nn.ReLU()), lib.nn.Linear(32, 10))


def test_summary_totals_and_shapes_come_from_the_forward_pass():
    model = _cnn(ember)
    model[0].weight.requires_grad_(False)
    s = ember.summary(model, input_size=(2, 1, 28, 28), verbose=0)
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.trainable_params == s.total_params - model[0].weight.numel()
    # rows are in call order; a post-order hook walk sees the same outputs (children finish first)
    by_post_order = sorted(s.rows, key=lambda r: [i for i, rr in enumerate(s.rows)].index(s.rows.index(r)))
    assert sorted(map(str, (r.output_size for r in by_post_order))) == sorted(
        map(str, _hooked_shapes(model, ember.zeros(2, 1, 28, 28))))
    text = str(s)
    assert "├─Conv2d (0): 1-1" in text and "│    └─Linear (0): 2-1" in text
    assert "Partial" in text  # the conv's weight is frozen, its bias is not
    assert f"Total params: {s.total_params:,}" in text


def test_summary_of_lesson_003_block_counts_3152384(capsys):
    sys.path.insert(0, str(REPO / "examples" / "lessons" / "viz"))
    code = (REPO / "examples" / "lessons" / "viz" / "003_summarise_block.py").read_text()
    exec(compile(code, "003_summarise_block.py", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    assert "Total params: 3,152,384" in out and "total: 3,152,384 parameters" in out


def test_summary_matches_torchinfo():
    torch = pytest.importorskip("torch")
    torchinfo = pytest.importorskip("torchinfo")
    ours = ember.summary(_cnn(ember), input_size=(1, 1, 28, 28), verbose=0)
    theirs = torchinfo.summary(_cnn(torch), input_size=(1, 1, 28, 28), verbose=0)
    assert ours.total_params == theirs.total_params
    assert ours.total_mult_adds == theirs.total_mult_adds
    assert [r.output_size for r in ours.rows] == [list(r.output_size) for r in theirs.summary_list]
    assert [r.depth for r in ours.rows] == [r.depth for r in theirs.summary_list]


def test_summary_errors():
    with pytest.raises(ValueError, match="needs input_size or input_data"):
        ember.summary(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown column"):
        ember.summary(nn.Linear(2, 2), input_size=(1, 2), col_names=("bogus",))


# --- errors that teach -----------------------------------------------------------------------------------
HINT_CASES = [
    ("view", lambda t: t.arange(6).view(2, 3).t().view(6)),
    ("backward", lambda t: (t.ones(3, requires_grad=True) * 2).backward()),
    ("linear", lambda t: t.nn.Linear(20, 10)(t.ones(3, 784))),
    ("ce_float", lambda t: t.nn.CrossEntropyLoss()(t.zeros(4, 3), t.tensor([0.0, 1, 2, 1]))),
    ("ce_onehot", lambda t: t.nn.CrossEntropyLoss()(t.zeros(4, 3), t.nn.functional.one_hot(t.tensor([0, 1, 2, 1]), 3))),
    ("leaf", lambda t: t.nn.Linear(2, 2).weight.add_(1)),
    ("saved", lambda t: _saved_then_changed(t)),
]


def _saved_then_changed(t):
    x = t.ones(3, requires_grad=True)
    y = x.exp()
    z = y * 2
    y.add_(1)
    z.sum().backward()


@pytest.mark.parametrize("key, fn", HINT_CASES, ids=[c[0] for c in HINT_CASES])
def test_hints_are_off_by_default_and_add_one_line_when_on(key, fn):
    with pytest.raises(RuntimeError) as plain:
        fn(ember)
    assert "hint:" not in str(plain.value)
    torch = None
    try:
        import torch
    except ImportError:
        pass
    if torch is not None:
        with pytest.raises(RuntimeError) as real:
            fn(torch)
        assert str(plain.value) == str(real.value)  # torch's own message, unchanged
    ember.set_hints(True)
    try:
        with pytest.raises(RuntimeError) as hinted:
            fn(ember)
    finally:
        ember.set_hints(False)
    first, hint = str(hinted.value).split("\n")[0], str(hinted.value).split("\n")[-1]
    assert first == str(plain.value).split("\n")[0]
    assert hint.startswith("hint: ") and str(hinted.value).count("hint:") == 1


def test_linear_hint_names_the_layer_and_sizes():
    ember.set_hints(True)
    try:
        with pytest.raises(RuntimeError, match=r"Linear\(in_features=20, out_features=10\) expects .* got 784"):
            nn.Linear(20, 10)(ember.ones(3, 784))
    finally:
        ember.set_hints(False)


def test_device_mismatch_hint():
    from ember.hints import add_hint, set_hints
    set_hints(True)
    try:
        e = add_hint(RuntimeError("Expected all tensors to be on the same device"), "device")
    finally:
        set_hints(False)
    assert "model.to(device)" in str(e).split("\n")[1]


def test_hints_from_the_environment():
    code = "import ember\ntry:\n    ember.arange(6).view(2, 3).t().view(6)\nexcept RuntimeError as e:\n    print(e)"
    env = dict(os.environ, EMBER_HINTS="1", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60).stdout
    assert "\nhint: view() only re-reads" in out


# --- the lesson examples -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expect", [
    ("004_explain_view_reshape.py", ["storage #1: 12 cells of int64", "x.t(): shape (4, 3), stride (1, 4), offset 0",
                                     "storage #2: 12 cells of int64 (96 bytes), shared by x.t().reshape(12)",
                                     "x.t().is_contiguous(): False", "wrote storage.png"]),
    ("002_draw_loss_graph.py", ["└── NllLossBackward0", "1.weight (32, 64)", "wrote graph.svg"]),
    ("003_summarise_block.py", ["Total params: 3,152,384", "├─MultiheadAttention (attn): 1-2"]),
])
def test_lesson_viz_examples(tmp_path, name, expect):
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, str(REPO / "examples" / "lessons" / "viz" / name), str(tmp_path)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    for text in expect:
        assert text in p.stdout, p.stdout
    for picture in ("storage.png", "graph.svg"):
        if f"wrote {picture}" in p.stdout:
            assert (tmp_path / picture).stat().st_size > 1000


# --- the run report ------------------------------------------------------------------------------------
def _report(tmp_path):
    history = [{"epoch": 1, "train_loss": 1.2, "val_loss": 1.3, "val_accuracy": 0.5},
               {"epoch": 2, "train_loss": 0.6, "val_loss": 0.8, "val_accuracy": 0.75}]
    cm = np.array([[5, 1], [2, 7]])
    images = [(np.arange(64).reshape(8, 8) / 64.0, 0, 1), (np.ones((1, 8, 8)), 1, 0)]
    path = tmp_path / "report.html"
    viz.write_report(str(path), title="mlp on digits", command="ember train --epochs 2", config={"model": "mlp"},
                     summary="Total params: 42", history=history, test_accuracy=0.8125, confusion=cm,
                     class_names=["zero", "one"], misclassified=images, samples=[(1, "to be <or> not")])
    return path


def test_report_is_one_self_contained_page(tmp_path):
    text = _report(tmp_path).read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "Test accuracy: <b>81.25%</b>" in text and "ember train --epochs 2" in text
    assert "Total params: 42" in text and text.count("<svg") == 2  # curves + misclassified grid
    assert "to be &lt;or&gt; not" in text  # text is escaped
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing loaded from elsewhere


def test_report_renders_in_headless_chromium(tmp_path):
    import shutil
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("Chromium is not installed")
    path = _report(tmp_path)
    p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
                       capture_output=True, text=True, timeout=120)
    dom = p.stdout
    assert "<h1>mlp on digits</h1>" in dom
    assert 'id="confusion"' in dom and "<th>zero</th>" in dom
    assert 'id="curves"' in dom and "<svg" in dom


def test_ember_train_prints_the_summary_and_writes_the_report(tmp_path):
    """``ember train`` shows the model summary first and leaves report.html; the summary's forward pass
    changes nothing (the same seed gives the same losses as before summaries existed: checked by the
    determinism tests of test_cli.py)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-m", "ember", "train", "--epochs", "1", "--out", str(tmp_path / "run")],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "Total params: 301,066" in p.stdout and "├─Flatten (flatten): 1-1" in p.stdout
    report = (tmp_path / "run" / "report.html").read_text()
    for part in ('id="test-accuracy"', 'id="summary"', 'id="curves"', 'id="confusion"', 'id="misclassified"',
                 "ember train --epochs 1"):
        assert part in report
