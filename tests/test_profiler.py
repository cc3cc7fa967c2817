"""ember.profiler / ember.autograd.profiler: what is recorded, how it nests, the table, schedules, traces."""
import json

import numpy as np
import pytest

import ember
from ember.autograd import function as _function
from ember.profiler import profile, record_function, schedule, ProfilerAction, tensorboard_trace_handler

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)


def _train_step(model, opt, x):
    opt.zero_grad()
    model(x).relu().sum().backward()
    opt.step()


def _model():
    ember.manual_seed(0)
    m = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU(), ember.nn.Linear(3, 2))
    return m, ember.optim.SGD(m.parameters(), lr=0.1), ember.randn(5, 4)


def test_ops_nodes_and_steps_are_recorded_with_torchs_names():
    m, opt, x = _model()
    with profile() as prof:
        with record_function("step"):
            _train_step(m, opt, x)
    assert _function._profiler is None                       # nothing is timed after the block
    avg = {e.key: e for e in prof.key_averages()}
    for name in ("aten::addmm", "aten::t", "aten::relu", "aten::sum", "AddmmBackward0", "ReluBackward0",
                 "torch::autograd::AccumulateGrad", "Optimizer.step#SGD.step", "Optimizer.zero_grad#SGD.zero_grad",
                 "step"):
        assert name in avg, name
    assert avg["aten::addmm"].count == 2 and avg["AddmmBackward0"].count == 2
    assert avg["torch::autograd::AccumulateGrad"].count == 4
    for e in prof.key_averages():
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-6
    # everything ran inside the user's block: it is the one top-level event, and its total covers the rest
    top = [ev for ev in prof.events() if ev.cpu_parent is None]
    assert [ev.name for ev in top] == ["step"] and top[0].is_user_annotation
    assert top[0].cpu_time_total == pytest.approx(prof.events().self_cpu_time_total)


def test_gradients_are_unchanged_by_profiling():
    m, opt, x = _model()
    m(x).relu().sum().backward()
    want = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    with profile():
        m(x).relu().sum().backward()
    for p, w in zip(m.parameters(), want):
        np.testing.assert_array_equal(p.grad.numpy(), w)


def test_table_layout_and_input_shapes():
    m, opt, x = _model()
    with profile(record_shapes=True) as prof:
        m(x)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=3)
    lines = table.splitlines()
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total",
                                "CPU", "time", "avg", "#", "of", "Calls"]
    assert len(lines) == 3 + 3 + 2 and lines[-1].startswith("Self CPU time total: ")
    shaped = {(e.key, str(e.input_shapes)) for e in prof.key_averages(group_by_input_shape=True)}
    assert ("aten::addmm", "[[3], [5, 4], [4, 3], [], []]") in shaped          # torch lists the same
    assert "Input Shapes" in prof.key_averages(group_by_input_shape=True).table()


def test_user_functions_and_decorated_blocks_keep_their_names():
    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a._data ** 2

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    @record_function("loss")
    def loss(t):
        return Square.apply(t).sum()

    x = ember.ones(3, requires_grad=True)
    with profile() as prof:
        loss(x).backward()
    events = {ev.name: ev for ev in prof.events()}
    assert {"Square", "loss", "SquareBackward"} <= set(events)
    assert events["Square"].cpu_parent is events["loss"]
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])


def test_record_function_outside_a_profile_does_nothing():
    with record_function("idle"):
        y = ember.ones(2) * 2
    assert y.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("kw", [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=0, active=1, repeat=2),
                                dict(wait=2, warmup=1, active=3, repeat=1, skip_first=3)])
def test_schedule_matches_torch(kw):
    if torch is None:
        pytest.skip("torch not installed")
    ours, theirs = schedule(**kw), torch.profiler.schedule(**kw)
    assert [ours(s).name for s in range(20)] == [theirs(s).name for s in range(20)]
    assert ours(0) in ProfilerAction


def test_schedule_records_only_active_steps_and_hands_each_cycle_over(tmp_path):
    m, opt, x = _model()
    seen = []

    def ready(p):
        seen.append((p.step_num, p.key_averages()))
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2), on_trace_ready=ready) as p:
        for _ in range(10):
            _train_step(m, opt, x)
            p.step()
    assert [s for s, _ in seen] == [4, 8]
    for _, avg in seen:   # two recorded steps per cycle: the warm-up step's events were dropped
        assert {e.key: e.count for e in avg}["Optimizer.step#SGD.step"] == 2
    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path / "tb"), worker_name="w")):
        m(x)
    (trace,) = (tmp_path / "tb").iterdir()
    assert trace.name.startswith("w.") and trace.name.endswith(".pt.trace.json")
    assert any(e["name"] == "aten::addmm" for e in json.loads(trace.read_text())["traceEvents"])


def test_schedule_handoffs_at_the_steps_torch_uses():
    if torch is None:
        pytest.skip("torch not installed")
    steps = []
    with torch.profiler.profile(schedule=torch.profiler.schedule(wait=1, warmup=1, active=2, repeat=2),
                                on_trace_ready=lambda p: steps.append(p.step_num)) as p:
        for _ in range(10):
            torch.ones(2).sum()
            p.step()
    assert steps == [4, 8]     # the values the test above expects from Ember


def test_chrome_trace_export(tmp_path):
    m, opt, x = _model()
    with ember.autograd.profiler.profile() as prof:   # the legacy spelling records the same way (lazy attribute)
        m(x).sum().backward()
    path = prof.export_chrome_trace(str(tmp_path / "trace.json"))
    events = json.load(open(path))["traceEvents"]
    assert {e["ph"] for e in events} == {"X"} and all(e["dur"] >= 0 for e in events)
    assert "AddmmBackward0" in {e["name"] for e in events}


def test_forward_op_names_are_names_torchs_profiler_uses():
    if torch is None:
        pytest.skip("torch not installed")

    def run(lib):
        lib.manual_seed(0)
        nn = lib.nn
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(4 * 4 * 4, 10), nn.LayerNorm(10))
        x, y = lib.randn(2, 1, 8, 8), lib.tensor([1, 2])
        with lib.profiler.profile() as prof:
            (nn.functional.cross_entropy(model(x), y) + nn.functional.smooth_l1_loss(x, x * 2)).backward()
        return {e.name for e in prof.events() if e.cpu_parent is None}, {e.name for e in prof.events()}
    ours, theirs = run(ember)[0], run(torch)[1]     # (our ops and nodes, not what nodes call in their backward)
    ops = {n for n in ours if n.startswith("aten::")}
    assert {"aten::convolution", "aten::relu", "aten::max_pool2d_with_indices", "aten::addmm", "aten::nll_loss",
            "aten::native_layer_norm", "aten::smooth_l1_loss"} <= ops
    assert ops - theirs <= {"aten::softmax"}, ops - theirs      # (torch's is aten::_softmax)
    nodes = {n for n in ours if n.endswith("Backward0")}
    assert nodes and nodes <= theirs, nodes - theirs


def test_reachable_as_torch_puts_them():
    import subprocess
    import sys
    code = "import ember; print(ember.profiler.profile.__module__, ember.autograd.profiler.record_function.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["ember.profiler", "ember.autograd.profiler"]


def test_dataloader_batches_are_recorded_as_torch_names_them():
    data = ember.utils.data.TensorDataset(ember.arange(8.0).reshape(8, 1))
    with profile() as prof:
        for (batch,) in ember.utils.data.DataLoader(data, batch_size=4):
            batch * 2
    counts = {e.key: e.count for e in prof.key_averages()}
    assert counts["enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__"] == 3   # two batches, then the end
