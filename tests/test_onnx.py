"""ember.onnx.export: the exported file runs in onnxruntime and gives what the same torch model gives.

Each model is built twice — in torch and in Ember with torch's weights copied over — then Ember's
``torch.onnx.export`` writes the file, ``onnx.checker`` validates it and onnxruntime runs it."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import ember

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")


def _copy_weights(tmodel, emodel):
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in tmodel.state_dict().items()}
    emodel.load_state_dict(sd)


def _export_and_run(emodel, args, tmp_path, feeds=None, **kw):
    path = str(tmp_path / "model.onnx")
    ember.onnx.export(emodel, args, path, **kw)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    if feeds is None:
        feeds = {i.name: a.numpy() for i, a in zip(sess.get_inputs(), args)}
    return model, sess.run(None, feeds)


def _both(build, seed=0):
    torch.manual_seed(seed)
    t = build(torch)
    e = build(ember)
    _copy_weights(t, e)
    t.eval()
    return t, e


def test_mlp_gemm_names_and_dynamic_batch(tmp_path):
    t, e = _both(lambda m: m.nn.Sequential(m.nn.Linear(6, 16), m.nn.ReLU(), m.nn.Linear(16, 16), m.nn.Tanh(),
                                           m.nn.Linear(16, 4), m.nn.LogSoftmax(dim=1)))
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    model, _ = _export_and_run(e, (ember.tensor(x),), tmp_path, input_names=["x"], output_names=["logp"],
                               dynamic_axes={"x": {0: "batch"}, "logp": {0: "batch"}})
    assert {i.name for i in model.graph.initializer} == set(t.state_dict())
    assert [n.op_type for n in model.graph.node] == ["Gemm", "Relu", "Gemm", "Tanh", "Gemm", "LogSoftmax"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x7 = np.random.default_rng(1).normal(size=(7, 6)).astype(np.float32)   # another batch size
    (y,) = sess.run(["logp"], {"x": x7})
    np.testing.assert_allclose(y, t(torch.tensor(x7)).detach().numpy(), atol=1e-5)


class _CNN:
    @staticmethod
    def build(m):
        nn = m.nn

        class CNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
                self.bn = nn.BatchNorm2d(6)
                self.pool = nn.MaxPool2d(2)
                self.conv2 = nn.Conv2d(6, 8, 3, stride=1, padding=0, bias=False)
                self.avg = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False, padding=1)
                self.gap = nn.AdaptiveAvgPool2d((1, 1))
                self.fc = nn.Linear(8, 5)

            def forward(self, x):
                x = self.pool(m.relu(self.bn(self.conv1(x))))
                x = self.avg(m.nn.functional.gelu(self.conv2(x)))
                x = self.gap(x)
                return self.fc(m.flatten(x, 1))
        return CNN()


def test_cnn_conv_batchnorm_pools(tmp_path):
    t, e = _both(_CNN.build)
    rng = np.random.default_rng(2)
    with torch.no_grad():  # non-trivial running statistics
        t.bn.running_mean.copy_(torch.tensor(rng.normal(size=6).astype(np.float32)))
        t.bn.running_var.copy_(torch.tensor(rng.uniform(0.5, 2, size=6).astype(np.float32)))
    _copy_weights(t, e)
    x = rng.normal(size=(2, 1, 12, 12)).astype(np.float32)
    model, (y,) = _export_and_run(e, (ember.tensor(x),), tmp_path, input_names=["img"],
                                  dynamic_axes={"img": [0]})
    np.testing.assert_allclose(y, t(torch.tensor(x)).detach().numpy(), atol=1e-5)
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "Erf"} <= ops
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "img_dynamic_axes_1"
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x3 = rng.normal(size=(3, 1, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"img": x3})[0], t(torch.tensor(x3)).detach().numpy(), atol=1e-5)
    assert e.training and not t.training  # export ran in eval mode and restored the mode


def _lesson_003_block(m, d_model=32, n_head=4, d_ff=64, drop=0.1):
    """The pre-LN Transformer block of lesson 003 (examples/lessons/003_transformer_block.py), smaller."""
    nn = m.nn

    class TransformerBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(d_model, n_head, dropout=drop, batch_first=True)
            self.ln1 = nn.LayerNorm(d_model)
            self.ln2 = nn.LayerNorm(d_model)
            self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(drop), nn.Linear(d_ff, d_model),
                                    nn.Dropout(drop))

        def forward(self, x, attn_mask=None):
            h = self.ln1(x)
            h, _ = self.attn(h, h, h, attn_mask=attn_mask, need_weights=False)
            x = x + h
            h = self.ln2(x)
            h = self.ff(h)
            return x + h
    return TransformerBlock()


@pytest.mark.parametrize("opset", [17, 14])
def test_lesson_003_transformer_block(tmp_path, opset):
    t, e = _both(_lesson_003_block)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 16, 32)).astype(np.float32)
    model, (y,) = _export_and_run(e, (ember.tensor(x),), tmp_path, input_names=["x"], output_names=["y"],
                                  opset_version=opset, dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    np.testing.assert_allclose(y, t(torch.tensor(x)).detach().numpy(), atol=1e-5)
    assert model.opset_import[0].version == opset
    ops = [n.op_type for n in model.graph.node]
    assert "Softmax" in ops and "MatMul" in ops and ("LayerNormalization" in ops) == (opset >= 17)
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x5 = rng.normal(size=(5, 16, 32)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"x": x5})[0], t(torch.tensor(x5)).detach().numpy(), atol=1e-5)


def test_transformer_block_with_causal_mask(tmp_path):
    """The lesson's masked call: the (constant) causal mask is baked into the graph."""
    t, e = _both(_lesson_003_block)

    class Masked(ember.nn.Module):
        def __init__(self, block):
            super().__init__()
            self.block = block

        def forward(self, x):
            mask = ember.triu(ember.ones(16, 16, dtype=ember.bool), diagonal=1)
            return self.block(x, attn_mask=mask)
    x = np.random.default_rng(4).normal(size=(2, 16, 32)).astype(np.float32)
    _, (y,) = _export_and_run(Masked(e), (ember.tensor(x),), tmp_path)
    mask = torch.triu(torch.ones(16, 16, dtype=torch.bool), diagonal=1)
    np.testing.assert_allclose(y, t(torch.tensor(x), attn_mask=mask).detach().numpy(), atol=1e-5)


def test_lstm_classifier(tmp_path):
    def build(m):
        nn = m.nn

        class Tagger(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(5, 8, num_layers=2, batch_first=True)
                self.head = nn.Linear(8, 3)

            def forward(self, x):
                out, (h, c) = self.lstm(x)
                return self.head(out[:, -1]), h
        return Tagger()
    t, e = _both(build)
    x = np.random.default_rng(5).normal(size=(4, 6, 5)).astype(np.float32)
    _, (y, h) = _export_and_run(e, (ember.tensor(x),), tmp_path, input_names=["seq"], output_names=["logits", "h_n"],
                                dynamic_axes={"seq": {0: "batch"}, "logits": {0: "batch"}, "h_n": {1: "batch"}})
    ty, th = t(torch.tensor(x))
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(h, th.detach().numpy(), atol=1e-5)
    # the zero initial state follows the batch size (ConstantOfShape), so another batch size runs too
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x2 = np.random.default_rng(8).normal(size=(2, 6, 5)).astype(np.float32)
    y2, h2 = sess.run(None, {"seq": x2})
    ty2, th2 = t(torch.tensor(x2))
    np.testing.assert_allclose(y2, ty2.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(h2, th2.detach().numpy(), atol=1e-5)


def test_embedding_model_int64_input(tmp_path):
    def build(m):
        nn = m.nn

        class Bag(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(20, 6, padding_idx=0)
                self.out = nn.Linear(6, 2)

            def forward(self, tokens):
                return self.out(self.emb(tokens).mean(dim=1))
        return Bag()
    t, e = _both(build)
    tok = np.random.default_rng(6).integers(0, 20, size=(3, 7)).astype(np.int64)
    model, (y,) = _export_and_run(e, (ember.tensor(tok),), tmp_path)
    np.testing.assert_allclose(y, t(torch.tensor(tok)).detach().numpy(), atol=1e-5)
    assert model.graph.input[0].name == "tokens"  # named after forward's parameter
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert "Gather" in [n.op_type for n in model.graph.node]


def test_elementwise_views_and_reductions(tmp_path):
    """A function (not a module) using many small ops, checked against torch on the same input."""
    def f(m, x):
        y = x.permute(0, 2, 1).reshape(2, -1) * 2.0 - 1
        z = m.cat([y.sigmoid(), y.exp().log1p(), m.clamp(y, -0.5, 0.5)], dim=1)
        s = z.sum(dim=1, keepdim=True) / z.std(dim=1, keepdim=True)
        w = z[:, 1::2].unsqueeze(0).squeeze(0) + s
        a, b = w.chunk(2, dim=1)
        r = m.remainder(z * 3, 1.5) + m.fmod(z * 3, -1.25) + (z * 4).round() + (z * 3).trunc() \
            + m.round(z * 7, decimals=1) + (z * 2).frac()
        sc = m.zeros(2, 5).scatter_add(1, m.tensor([[0, 1, 1], [4, 4, 0]]), z[:, :3]).roll((1, -2), (0, 1))
        return m.stack([a.amax(dim=1), b.mean(dim=1), m.where(a.sum(1) > 0, a.sum(1), b.sum(1))], dim=-1), \
            m.nn.functional.pad(x, (1, 2), value=0.5).transpose(0, 1).flip(0).var(dim=(1, 2)), r.ceil() - r.floor() \
            + r.sign(), sc, x.roll(3)
    x = np.random.default_rng(7).normal(size=(2, 3, 4)).astype(np.float32)
    path = str(tmp_path / "f.onnx")
    ember.onnx.export(lambda x: f(ember, x), (ember.tensor(x),), path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})
    want = f(torch, torch.tensor(x))
    for g_, w_ in zip(got, want):
        np.testing.assert_allclose(g_, w_.numpy(), atol=1e-5, rtol=1e-5)


def test_custom_function_with_symbolic(tmp_path):
    """A user's autograd.Function exports through its ``symbolic`` staticmethod, as in torch."""
    class ScaledLeaky(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, slope):
            return ember.where(x > 0, x, x * slope) * 2

        @staticmethod
        def backward(ctx, g):
            raise RuntimeError("not needed here")

        @staticmethod
        def symbolic(g, x, slope):
            y = g.op("LeakyRelu", x, alpha_f=slope)
            return g.op("Mul", y, g.op("Constant", value_t=ember.tensor(2.0)))

    x = ember.tensor([[-1.0, 0.5, 2.0]])
    path = str(tmp_path / "c.onnx")
    ember.onnx.export(lambda x: ScaledLeaky.apply(x, 0.1) + 1, (x,), path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"x": np.array([[-3.0, 1.0, 0.0]], np.float32)})[0],
                               [[0.4, 3.0, 1.0]], rtol=1e-6)


def test_unsupported_op_names_it(tmp_path):
    class Odd(ember.nn.Module):
        def forward(self, x):
            return ember.atan2(x, x + 1)
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="'ember::Atan2'") as info:
        ember.onnx.export(Odd(), (ember.ones(3),), str(tmp_path / "x.onnx"))
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ember.onnx.OnnxExporterError)
    # torch's exception hierarchy is the same
    assert issubclass(torch.onnx.errors.UnsupportedOperatorError, torch.onnx.errors.OnnxExporterError)
    assert issubclass(torch.onnx.errors.OnnxExporterError, RuntimeError)


def test_export_params_false_file_object_and_opset_check(tmp_path):
    net = ember.nn.Linear(3, 2)
    buf = io.BytesIO()
    ember.onnx.export(net, (ember.ones(1, 3),), buf, export_params=False, input_names=["x"])
    model = onnx.load_from_string(buf.getvalue())
    assert not model.graph.initializer
    assert [i.name for i in model.graph.input] == ["x", "weight", "bias"]
    with pytest.raises(ValueError, match="opset"):
        ember.onnx.export(net, (ember.ones(1, 3),), buf, opset_version=9)


def test_onnx_program_like_torchs_default_exporter(tmp_path):
    """torch.onnx.export(model, args, dynamo=True) (the default) returns an ONNXProgram; so does Ember's."""
    net = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh())
    x = ember.randn(2, 3)
    prog = ember.onnx.export(net, (x,), input_names=["x"])
    assert isinstance(prog, ember.onnx.ONNXProgram) and prog.model_proto.graph.input[0].name == "x"
    (y,) = prog(x)
    np.testing.assert_allclose(y.numpy(), net(x).detach().numpy(), atol=1e-6)
    prog.save(str(tmp_path / "p.onnx"))
    onnx.checker.check_model(onnx.load(str(tmp_path / "p.onnx")))
    assert ember.onnx.export(net, (x,), str(tmp_path / "q.onnx"), dynamo=False) is None
    with ember.onnx.select_model_mode_for_export(net, ember.onnx.TrainingMode.EVAL):
        assert not net.training
    assert net.training
    assert int(torch.onnx.OperatorExportTypes.ONNX) == int(ember.onnx.OperatorExportTypes.ONNX)
    seen = []
    ember.onnx.export(lambda x: seen.append(ember.onnx.is_in_onnx_export()) or x * 2, (x,), io.BytesIO(),
                      verbose=False)
    assert seen and all(seen) and not ember.onnx.is_in_onnx_export() and not torch.onnx.is_in_onnx_export()


def test_comparisons_masks_and_argmax_are_recorded(tmp_path):
    """Non-differentiable ops (x > 0, ~mask, argmax ...) make no Function; the tracer records them too."""
    def f(m, x, mask):
        keep = (mask > 0).float() + (~(mask != 0)).float() * 0.5
        hit = m.logical_and(x >= 0, x.isfinite())
        return m.where(hit, x, -x) * keep, x.argmax(dim=1), m.argmin(x, 1, keepdim=True), (x == x.amax()).long()
    rng = np.random.default_rng(11)
    x, mask = rng.normal(size=(3, 4)).astype(np.float32), (rng.random((3, 4)) > 0.5).astype(np.float32)
    path = str(tmp_path / "m.onnx")
    ember.onnx.export(lambda x, mask: f(ember, x, mask), (ember.tensor(x), ember.tensor(mask)), path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x2, mask2 = rng.normal(size=(3, 4)).astype(np.float32), (rng.random((3, 4)) > 0.5).astype(np.float32)
    got = sess.run(None, {"x": x2, "mask": mask2})      # other values than the recorded ones
    for g_, w_ in zip(got, f(torch, torch.tensor(x2), torch.tensor(mask2))):
        np.testing.assert_array_equal(g_, w_.numpy())


def test_in_place_writes(tmp_path):
    """x += y, relu(inplace=True), x[k] = v, x[mask] = v, fill_/zero_, copy_ inside forward: each write is one
    step of the graph; earlier reads see the old value."""
    def f(m, x, y):
        h = x * 2                       # an intermediate, then written in place several times
        before = h.sum(dim=1)
        h += y
        m.nn.functional.relu(h, inplace=True)
        h[:, 1:3] = -1.0
        h[h > 1.5] = 1.5
        z = m.zeros(2, 3)
        z[0] = y[0, :3]
        z.mul_(3)
        w = m.empty(2, 2)
        w.fill_(0.25)
        w.copy_(y[:, :2] + 1)
        x.sub_(1)                       # the input itself: its first use saw the old value
        return h, before, z, w, x.mean(dim=1)
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(2, 5)).astype(np.float32), rng.normal(size=(2, 5)).astype(np.float32)
    path = str(tmp_path / "w.onnx")
    ember.onnx.export(lambda x, y: f(ember, x, y), (ember.tensor(x), ember.tensor(y)), path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x2, y2 = rng.normal(size=(2, 5)).astype(np.float32), rng.normal(size=(2, 5)).astype(np.float32)
    got = sess.run(None, {"x": x2, "y": y2})
    for g_, w_ in zip(got, f(torch, torch.tensor(x2), torch.tensor(y2))):
        np.testing.assert_allclose(g_, w_.numpy(), atol=1e-6)


def test_write_into_a_view_read_later_is_refused(tmp_path):
    def f(x):
        h = x * 1
        h[0].mul_(2)          # writes through a view of h ...
        return h + 1          # ... and h is read afterwards
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="in-place write into a view"):
        ember.onnx.export(f, (ember.ones(2, 3),), str(tmp_path / "v.onnx"))


def test_values_made_outside_functions_fail_clearly(tmp_path):
    class M(ember.nn.Module):
        def forward(self, x, mask):
            keep = ember.tensor(mask.numpy() > 0).float()  # NumPy: invisible to the recording
            return x * keep
    x, mask = ember.ones(2, 4), ember.tensor([[1.0, 0, 1, 0], [0, 1, 0, 1]])
    with pytest.raises(ember.onnx.OnnxExporterError, match="computed from the model's inputs outside"):
        ember.onnx.export(M(), (x, mask), str(tmp_path / "m.onnx"))


def test_constant_folding_and_unused_input_warning(tmp_path):
    class M(ember.nn.Module):
        def forward(self, x, scale):
            n = int(scale.sum().item())             # a Python number: the input is not in the graph
            table = ember.arange(4.0).exp()       # parameter-free: folded into one constant
            return x * table * n
    with pytest.warns(ember.onnx.errors.OnnxExporterWarning, match="'scale' is not used"):
        ember.onnx.export(M(), (ember.ones(2, 4), ember.ones(3)), str(tmp_path / "m.onnx"))
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert [n.op_type for n in model.graph.node] == ["Mul", "Mul"]


def test_reachable_as_torch_onnx_export(tmp_path):
    prog = tmp_path / "p.py"
    out = tmp_path / "m.onnx"
    prog.write_text("import torch\nimport torch.onnx\nnet = torch.nn.Linear(2, 2)\n"
                    f"torch.onnx.export(net, (torch.ones(1, 2),), {str(out)!r}, input_names=['x'])\n"
                    "print(torch.onnx.errors.UnsupportedOperatorError.__mro__[1].__name__)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-m", "ember", "run", str(prog)], capture_output=True, text=True, cwd=root,
                       env={**os.environ, "PYTHONPATH": root}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "OnnxExporterError"
    onnx.checker.check_model(onnx.load(str(out)))


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx package were not installed
    with pytest.raises(ImportError, match=r'pip install "ember\[onnx\]"'):
        ember.onnx.export(ember.nn.Linear(1, 1), (ember.ones(1, 1),), "never-written.onnx")


def test_autoencoder_conv_transpose_group_norm_upsample(tmp_path):
    def build(m):
        nn = m.nn
        return nn.Sequential(nn.Conv2d(2, 8, 3, stride=2, padding=1), nn.GroupNorm(4, 8), nn.SiLU(),
                             nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.LeakyReLU(0.1),
                             nn.Upsample(scale_factor=2, mode="nearest"), nn.Hardswish(),
                             nn.Upsample(size=(20, 24), mode="bilinear", align_corners=False), nn.ELU(),
                             nn.ZeroPad2d((1, 0, 2, 1)), nn.Softplus(beta=2.0), nn.Hardsigmoid(), nn.Mish())
    t, e = _both(build)
    x = np.random.default_rng(9).normal(size=(2, 2, 8, 10)).astype(np.float32)
    model, (y,) = _export_and_run(e, (ember.tensor(x),), tmp_path, input_names=["x"], dynamic_axes={"x": {0: "n"}})
    np.testing.assert_allclose(y, t(torch.tensor(x)).detach().numpy(), atol=1e-5)
    assert "ConvTranspose" in [n.op_type for n in model.graph.node]
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x3 = np.random.default_rng(10).normal(size=(3, 2, 8, 10)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"x": x3})[0], t(torch.tensor(x3)).detach().numpy(), atol=1e-5)


def test_training_mode_keeps_dropout(tmp_path):
    net = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.Dropout(0.25))
    path = str(tmp_path / "d.onnx")
    ember.onnx.export(net, (ember.ones(2, 4),), path, training=ember.onnx.TrainingMode.TRAINING)
    assert [n.op_type for n in onnx.load(path).graph.node] == ["Gemm", "Dropout"]
    ember.onnx.export(net, (ember.ones(2, 4),), path)                 # default: eval, dropout gone
    assert [n.op_type for n in onnx.load(path).graph.node] == ["Gemm"]
    assert net.training
    for name in ("EVAL", "PRESERVE", "TRAINING"):
        assert int(getattr(torch.onnx.TrainingMode, name)) == int(getattr(ember.onnx.TrainingMode, name))


def _resblock(m):
    nn = m.nn

    class Block(nn.Module):   # torchvision's BasicBlock pattern: in-place ReLU and out += shortcut
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.short = nn.Sequential(nn.Conv2d(3, 8, 1, bias=False), nn.BatchNorm2d(8))
            self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 10)

        def forward(self, x):
            out = self.relu(self.b1(self.c1(x)))
            out = self.b2(self.c2(out))
            out += self.short(x)
            out = self.relu(out)
            return self.fc(m.flatten(self.pool(out), 1))
    return Block()


@pytest.mark.parametrize("build,shape,dyn", [
    (_resblock, (2, 3, 8, 8), {"x": {0: "n"}}),
    (lambda m: m.nn.GRU(4, 6, num_layers=2, bidirectional=True), (5, 3, 4), {"x": {1: "n"}}),
    (lambda m: m.nn.TransformerEncoder(m.nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2), (2, 5, 16),
     {"x": {0: "n"}}),
], ids=["resnet_block", "gru_bidirectional", "transformer_encoder"])
def test_more_architectures(tmp_path, build, shape, dyn):
    t, e = _both(build)
    rng = np.random.default_rng(13)
    x = rng.normal(size=shape).astype(np.float32)
    _, outs = _export_and_run(e, (ember.tensor(x),), tmp_path, input_names=["x"], dynamic_axes=dyn)
    want = t(torch.tensor(x))
    want = want[0] if isinstance(want, tuple) else want
    np.testing.assert_allclose(outs[0], want.detach().numpy(), atol=1e-5)
    axis = next(iter(dyn["x"]))
    bigger = list(shape)
    bigger[axis] += 2
    x2 = rng.normal(size=bigger).astype(np.float32)
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    want2 = t(torch.tensor(x2))
    want2 = want2[0] if isinstance(want2, tuple) else want2
    np.testing.assert_allclose(sess.run(None, {"x": x2})[0], want2.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("kind,kw", [("LSTM", dict(num_layers=2, bidirectional=True)),
                                     ("GRU", dict(batch_first=True)),
                                     ("RNN", dict(nonlinearity="relu", num_layers=2))])
def test_recurrent_layers_as_one_onnx_op_any_length(tmp_path, kind, kw):
    """nn.LSTM / GRU / RNN become ONNX's own recurrent ops, so the sequence length may change too; the
    initial state is an input."""
    def build(m):
        return getattr(m.nn, kind)(4, 5, **kw)
    t, e = _both(build)
    D, L = (2 if kw.get("bidirectional") else 1), kw.get("num_layers", 1)
    bf = kw.get("batch_first", False)
    rng = np.random.default_rng(14)

    def inputs(T, N):
        x = rng.normal(size=(N, T, 4) if bf else (T, N, 4)).astype(np.float32)
        h = rng.normal(size=(L * D, N, 5)).astype(np.float32)
        return x, h
    x, h = inputs(6, 3)
    hx = (ember.tensor(h), ember.tensor(h * 0.5)) if kind == "LSTM" else ember.tensor(h)
    seq_axis, batch_axis = (1, 0) if bf else (0, 1)
    path = str(tmp_path / "rnn.onnx")
    ember.onnx.export(e, (ember.tensor(x), hx), path, input_names=["x", "h0"] + (["c0"] if kind == "LSTM" else []),
                      dynamic_axes={"x": {seq_axis: "T", batch_axis: "N"}, "h0": {1: "N"}, "c0": {1: "N"}})
    model = onnx.load(path)
    assert kind in [n.op_type for n in model.graph.node]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for T, N in ((6, 3), (9, 2)):
        x, h = inputs(T, N)
        feeds = {"x": x, "h0": h}
        th = torch.tensor(h)
        if kind == "LSTM":
            feeds["c0"] = h * 0.5
            th = (th, torch.tensor(h * 0.5))
        got = sess.run(None, feeds)
        out, state = t(torch.tensor(x), th)
        want = [out] + (list(state) if kind == "LSTM" else [state])
        for g_, w_ in zip(got, want):
            np.testing.assert_allclose(g_, w_.detach().numpy(), atol=1e-5)


def test_key_padding_mask_as_an_input(tmp_path):
    """A bool padding mask given to the exported graph (True = padding) gives torch's result for any mask."""
    def build(m):
        return m.nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    t, e = _both(build)
    rng = np.random.default_rng(15)
    x = rng.normal(size=(2, 6, 16)).astype(np.float32)
    pad = np.zeros((2, 6), bool)
    pad[0, 4:] = True
    path = str(tmp_path / "enc.onnx")
    ember.onnx.export(e, (ember.tensor(x), None, ember.tensor(pad)), path, input_names=["src", "pad"])
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    pad2 = np.zeros((2, 6), bool)
    pad2[1, 2:] = True
    got = sess.run(None, {"src": x, "pad": pad2})[0]
    want = t(torch.tensor(x), src_key_padding_mask=torch.tensor(pad2)).detach().numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_expand_to_the_batch_size(tmp_path):
    """ViT's class token: a parameter expanded to the (dynamic) batch size and concatenated."""
    def build(m):
        class ViTHead(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.cls = m.nn.Parameter(m.zeros(1, 1, 8))
                self.proj = m.nn.Linear(8, 8)

            def forward(self, x):
                tok = self.cls.expand(x.shape[0], -1, -1)
                return self.proj(m.cat([tok, x], dim=1)).mean(dim=1)
        return ViTHead()
    t, e = _both(build)
    with torch.no_grad():
        t.cls.normal_()
    _copy_weights(t, e)
    rng = np.random.default_rng(16)
    _, (y,) = _export_and_run(e, (ember.tensor(rng.normal(size=(2, 5, 8)).astype(np.float32)),), tmp_path,
                              input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    x4 = rng.normal(size=(4, 5, 8)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"x": x4})[0], t(torch.tensor(x4)).detach().numpy(), atol=1e-5)


def test_positions_follow_a_dynamic_sequence_length(tmp_path):
    """``arange(seq_len)`` positions and a causal mask built from ``ones(T, T)`` follow the sequence axis."""
    def build(m):
        class Tiny(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.tok, self.pos = m.nn.Embedding(30, 8), m.nn.Embedding(16, 8)
                self.attn = m.nn.MultiheadAttention(8, 2, batch_first=True)

            def forward(self, idx):
                T = idx.shape[1]
                h = self.tok(idx) + self.pos(m.arange(T))
                causal = m.triu(m.ones(T, T), diagonal=1) * -1e9
                return self.attn(h, h, h, attn_mask=causal, need_weights=False)[0]
        return Tiny()
    t, e = _both(build)
    rng = np.random.default_rng(17)
    tok = rng.integers(0, 30, size=(2, 5))
    _, (y,) = _export_and_run(e, (ember.tensor(tok),), tmp_path, input_names=["idx"],
                              dynamic_axes={"idx": {0: "batch", 1: "T"}})
    np.testing.assert_allclose(y, t(torch.tensor(tok)).detach().numpy(), atol=1e-5)
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    tok2 = rng.integers(0, 30, size=(3, 9))
    np.testing.assert_allclose(sess.run(None, {"idx": tok2})[0], t(torch.tensor(tok2)).detach().numpy(), atol=1e-5)
