"""Dense layers as modules: reprs, default initialisation, torch parity with copied weights (outputs and all
grads), running statistics, train/eval behaviour, and the lessons' uses."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn

RNG = np.random.default_rng(2)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def close(a, b, rtol=1e-5, atol=1e-6):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def copy_from_torch(emod, tmod):
    """Load torch's state (parameters and buffers) into the ember module."""
    emod.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})


def module_parity(emod, tmod, *arrays, rtol=1e-5, atol=1e-6, int_inputs=False):
    """Copy torch's weights, run both, compare output, input grads and every parameter's grad."""
    torch = pytest.importorskip("torch")
    copy_from_torch(emod, tmod)
    ei = [ember.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ti = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    eo, to = emod(*ei), tmod(*ti)
    close(eo, to, rtol, atol)
    g = randn(*to.shape)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    for e, t in zip(ei, ti):
        if e.requires_grad:
            close(e.grad, t.grad, rtol, atol)
    tparams = dict(tmod.named_parameters())
    for name, p in emod.named_parameters():
        if tparams[name].grad is None:
            assert p.grad is None or np.all(p.grad.numpy() == 0)
        else:
            close(p.grad, tparams[name].grad, rtol, atol)
    return eo, to


# ------------------------------------------------------------------------------------------ reprs
REPR_CASES = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {}), ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.2, True), {}), ("ELU", (), {}), ("SELU", (), {}), ("CELU", (), {"alpha": 0.5}),
    ("GELU", (), {}), ("GELU", ("tanh",), {}), ("SiLU", (), {}), ("Mish", (), {}), ("Softplus", (), {}),
    ("Softplus", (2, 10), {}), ("Sigmoid", (), {}), ("Tanh", (), {}), ("Hardtanh", (), {}),
    ("Hardtanh", (-2.0, 2.0), {}), ("Hardsigmoid", (), {}), ("Hardswish", (), {}), ("LogSigmoid", (), {}),
    ("Softmax", (), {}), ("Softmax", (), {"dim": 1}), ("LogSoftmax", (1,), {}), ("Softmin", (-1,), {}),
    ("Softsign", (), {}), ("Tanhshrink", (), {}), ("Softshrink", (), {}), ("Hardshrink", (0.3,), {}),
    ("Threshold", (0.1, 20), {}), ("GLU", (), {}), ("PReLU", (), {}), ("PReLU", (3,), {}),
    ("RReLU", (), {}), ("RReLU", (0.1, 0.3, True), {}), ("Softmax2d", (), {}),
    ("Dropout", (), {}), ("Dropout", (0.1,), {}), ("Dropout1d", (), {}), ("Dropout2d", (0.2, True), {}),
    ("Dropout3d", (), {}), ("AlphaDropout", (0.2,), {}), ("FeatureAlphaDropout", (0.3,), {}),
    ("InstanceNorm3d", (2,), {}), ("NLLLoss2d", (), {}),
    ("Identity", (), {}), ("Linear", (784, 512), {}), ("Linear", (3, 4), {"bias": False}),
    ("Bilinear", (2, 3, 4), {}), ("Flatten", (), {}), ("Flatten", (0, 2), {}), ("Unflatten", (1, (2, 3)), {}),
    ("Embedding", (10, 3), {}), ("Embedding", (10, 3), {"padding_idx": 0, "max_norm": 1.0}),
    ("Embedding", (10, 3), {"padding_idx": -1}),
    ("EmbeddingBag", (10, 3), {}), ("EmbeddingBag", (10, 3), {"mode": "sum", "padding_idx": 2}),
    ("LayerNorm", (5,), {}), ("LayerNorm", ((4, 5),), {"elementwise_affine": False}),
    ("LayerNorm", (8,), {"bias": False, "eps": 1e-6}), ("RMSNorm", (5,), {}), ("RMSNorm", ([2, 3],), {"eps": 1e-5}),
    ("GroupNorm", (2, 4), {}), ("GroupNorm", (2, 4), {"affine": False}), ("BatchNorm1d", (5,), {}),
    ("BatchNorm2d", (5,), {"momentum": None, "affine": False}),
    ("BatchNorm2d", (3,), {"track_running_stats": False}), ("BatchNorm3d", (2,), {}),
    ("InstanceNorm1d", (3,), {}), ("InstanceNorm2d", (3,), {"affine": True}),
    ("CrossEntropyLoss", (), {}), ("NLLLoss", (), {}), ("BCELoss", (), {}), ("BCEWithLogitsLoss", (), {}),
    ("MSELoss", (), {}), ("L1Loss", (), {}), ("SmoothL1Loss", (), {}), ("HuberLoss", (), {}),
    ("KLDivLoss", (), {}), ("MultiMarginLoss", (), {}), ("HingeEmbeddingLoss", (), {}),
    ("CosineEmbeddingLoss", (), {}), ("MarginRankingLoss", (), {}), ("TripletMarginLoss", (), {}),
    ("GaussianNLLLoss", (), {}), ("PoissonNLLLoss", (), {}), ("SoftMarginLoss", (), {}),
    ("MultiLabelMarginLoss", (), {}), ("MultiLabelSoftMarginLoss", (), {}), ("CTCLoss", (), {}),
    ("TripletMarginWithDistanceLoss", (), {}), ("LocalResponseNorm", (3,), {"k": 2.0}), ("CosineSimilarity", (), {}),
    ("PairwiseDistance", (), {}),
]


@pytest.mark.filterwarnings("ignore:`NLLLoss2d` has been deprecated")
@pytest.mark.parametrize("name,args,kwargs", REPR_CASES, ids=[c[0] + str(i) for i, c in enumerate(REPR_CASES)])
def test_repr_matches_torch(name, args, kwargs):
    torch = pytest.importorskip("torch")
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


def test_lazy_linear_repr_and_materialise():
    m = nn.LazyLinear(4)
    assert repr(m) == "LazyLinear(in_features=0, out_features=4, bias=True)"
    y = m(ember.randn(2, 7))
    assert tuple(y.shape) == (2, 4)
    assert type(m) is nn.Linear
    assert repr(m) == "Linear(in_features=7, out_features=4, bias=True)"
    assert tuple(m.weight.shape) == (4, 7)
    bound = 1 / math.sqrt(7)
    assert float(m.weight.abs().max()) <= bound


# ------------------------------------------------------------------------------------------ Linear
def test_linear_default_init_distribution():
    ember.manual_seed(0)
    m = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = m.weight.detach().numpy()
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(w.mean()) < 0.01 * bound
    b = m.bias.detach().numpy()
    assert np.abs(b).max() <= bound and b.std() > 0.4 * bound
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    assert m.weight.is_leaf and m.weight.requires_grad


def test_linear_parity_and_grad_fn():
    torch = pytest.importorskip("torch")
    e, t = nn.Linear(6, 4), torch.nn.Linear(6, 4)
    eo, _ = module_parity(e, t, randn(5, 6))
    assert eo.grad_fn.name() == "AddmmBackward0"
    e.zero_grad()
    t.zero_grad()
    module_parity(e, t, randn(2, 3, 6))
    e2, t2 = nn.Linear(6, 4, bias=False), torch.nn.Linear(6, 4, bias=False)
    module_parity(e2, t2, randn(5, 6))
    assert e2.bias is None


def test_bilinear_parity():
    torch = pytest.importorskip("torch")
    module_parity(nn.Bilinear(3, 2, 4), torch.nn.Bilinear(3, 2, 4), randn(5, 3), randn(5, 2), atol=1e-5)


def test_flatten_unflatten_identity():
    x = ember.randn(2, 3, 4, 5)
    assert tuple(nn.Flatten()(x).shape) == (2, 60)
    assert tuple(nn.Flatten(0, 2)(x).shape) == (24, 5)
    assert tuple(nn.Unflatten(1, (3, 1))(ember.randn(2, 3)).shape) == (2, 3, 1)
    assert nn.Identity(54, unused="x")(x) is x


# ------------------------------------------------------------------------------------------ activations
ACT_MODULES = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus",
               "Sigmoid", "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink",
               "Softshrink", "Hardshrink", "GLU", "PReLU"]


@pytest.mark.parametrize("name", ACT_MODULES)
def test_activation_module_parity(name):
    torch = pytest.importorskip("torch")
    x = randn(4, 6) * 3
    module_parity(getattr(nn, name)(), getattr(torch.nn, name)(), x, atol=2e-6)


def test_prelu_per_channel_parity():
    torch = pytest.importorskip("torch")
    module_parity(nn.PReLU(3), torch.nn.PReLU(3), randn(2, 3, 4))


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Softmin"])
def test_softmax_modules_parity(name):
    torch = pytest.importorskip("torch")
    module_parity(getattr(nn, name)(dim=1), getattr(torch.nn, name)(dim=1), randn(3, 5, 2))


def test_lesson_001_predicted_class_from_softmax():
    ember.manual_seed(0)

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10), nn.ReLU())

        def forward(self, x):
            return self.linear_relu_stack(self.flatten(x))

    model = NeuralNetwork()
    assert repr(model) == """NeuralNetwork(
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (linear_relu_stack): Sequential(
    (0): Linear(in_features=784, out_features=512, bias=True)
    (1): ReLU()
    (2): Linear(in_features=512, out_features=512, bias=True)
    (3): ReLU()
    (4): Linear(in_features=512, out_features=10, bias=True)
    (5): ReLU()
  )
)"""
    X = ember.rand(1, 28, 28)
    logits = model(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    assert pred_probab.grad_fn.name() == "SoftmaxBackward0"
    close(pred_probab.sum(1), [1.0])
    y_pred = pred_probab.argmax(1)
    assert y_pred.dtype == ember.int64 and tuple(y_pred.shape) == (1,)
    assert int(y_pred) == int(np.argmax(logits.detach().numpy()))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["linear_relu_stack.0.weight", "linear_relu_stack.0.bias", "linear_relu_stack.2.weight",
                     "linear_relu_stack.2.bias", "linear_relu_stack.4.weight", "linear_relu_stack.4.bias"]
    layer1 = nn.Linear(in_features=28 * 28, out_features=20)
    hidden = layer1(nn.Flatten()(ember.rand(3, 28, 28)))
    assert tuple(hidden.shape) == (3, 20)
    assert "grad_fn=<ReluBackward0>" in repr(nn.ReLU()(hidden))
    assert "grad_fn=<AddmmBackward0>" in repr(hidden)


def test_lesson_000_backbone_heads():
    class Backbone(nn.Module):
        def __init__(self, in_dim, hidden_dim):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(),
                                      nn.Linear(hidden_dim, hidden_dim), nn.ReLU())

        def forward(self, x):
            return self.body(x)

    backbone = Backbone(in_dim=512, hidden_dim=256)
    head_clf, head_reg, head_emb = nn.Linear(256, 10), nn.Linear(256, 1), nn.Linear(256, 64)
    z = backbone(ember.randn(32, 512))
    assert head_clf(z).shape == ember.Size([32, 10])
    assert head_reg(z).shape == ember.Size([32, 1])
    emb = nn.functional.normalize(head_emb(z), dim=-1)
    assert emb.shape == ember.Size([32, 64])
    close(emb.norm(dim=-1), np.ones(32), atol=1e-5)
    # each head's output fits its loss
    loss = (nn.CrossEntropyLoss()(head_clf(z), ember.randint(0, 10, (32,))) +
            nn.MSELoss()(head_reg(z), ember.randn(32, 1)))
    loss.backward()
    assert backbone.body[0].weight.grad is not None


# ------------------------------------------------------------------------------------------ dropout
def test_lesson_003_dropout_train_eval():
    ember.manual_seed(0)
    drop = nn.Dropout(p=0.5)
    x = ember.ones(1, 8)
    drop.train()
    y = drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    drop.eval()
    assert repr(drop(x)) == "tensor([[1., 1., 1., 1., 1., 1., 1., 1.]])"


def test_dropout_modules_validate_p():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        nn.Dropout(-0.1)


def test_dropout2d_module_eval_identity():
    m = nn.Dropout2d(0.5).eval()
    x = ember.randn(2, 3, 4, 4)
    assert m(x) is x


# ------------------------------------------------------------------------------------------ embeddings
def test_lesson_003_embedding():
    ember.manual_seed(0)
    embed = nn.Embedding(num_embeddings=10000, embedding_dim=256)
    w = embed.weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01  # N(0, 1)
    token_ids = ember.tensor([42, 100, 7, 2023])
    vectors = embed(token_ids)
    assert vectors.shape == ember.Size([4, 256])
    close(vectors, w[[42, 100, 7, 2023]])
    batch = ember.randint(0, 10000, (32, 50))
    assert embed(batch).shape == ember.Size([32, 50, 256])
    embed_pad = nn.Embedding(10000, 256, padding_idx=0)
    assert repr(embed_pad.weight[0].sum()) == "tensor(0., grad_fn=<SumBackward0>)"


def test_embedding_padding_row_never_updated():
    ember.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=1)
    idx = ember.tensor([[1, 2, 1], [3, 1, 4]])
    for _ in range(3):
        emb.zero_grad()
        emb(idx).pow(2).sum().backward()
        close(emb.weight.grad[1], np.zeros(3))
        with ember.no_grad():
            emb.weight -= 0.1 * emb.weight.grad
    close(emb.weight[1], np.zeros(3))


def test_embedding_parity_and_from_pretrained():
    torch = pytest.importorskip("torch")
    idx = np.array([[0, 3, 3], [2, 4, 0]])
    module_parity(nn.Embedding(6, 4, padding_idx=3), torch.nn.Embedding(6, 4, padding_idx=3), idx)
    w = ember.tensor(randn(4, 2))
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    close(e(ember.tensor([3])), w.numpy()[[3]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


def test_embedding_max_norm_module():
    torch = pytest.importorskip("torch")
    e, t = nn.Embedding(6, 4, max_norm=0.5), torch.nn.Embedding(6, 4, max_norm=0.5)
    copy_from_torch(e, t)
    idx = [1, 2, 2]
    close(e(ember.tensor(idx)), t(torch.tensor(idx)))
    close(e.weight, t.weight)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_module_parity(mode):
    torch = pytest.importorskip("torch")
    e, t = nn.EmbeddingBag(8, 3, mode=mode), torch.nn.EmbeddingBag(8, 3, mode=mode)
    copy_from_torch(e, t)
    inp, off = [1, 2, 4, 5, 4, 3, 2], [0, 2, 5]
    eo = e(ember.tensor(inp), ember.tensor(off))
    to = t(torch.tensor(inp), torch.tensor(off))
    close(eo, to)
    g = randn(3, 3)
    eo.backward(ember.tensor(g))
    to.backward(torch.tensor(g))
    close(e.weight.grad, t.weight.grad)
    module_parity(nn.EmbeddingBag(8, 3, mode=mode), torch.nn.EmbeddingBag(8, 3, mode=mode),
                  np.array([[1, 2, 3], [7, 7, 0]]))


# ------------------------------------------------------------------------------------------ normalisation
def test_layer_norm_module_init_and_parity():
    torch = pytest.importorskip("torch")
    e = nn.LayerNorm(6)
    close(e.weight, np.ones(6))
    close(e.bias, np.zeros(6))
    t = torch.nn.LayerNorm(6)
    with torch.no_grad():
        t.weight.copy_(torch.randn(6))
        t.bias.copy_(torch.randn(6))
    eo, _ = module_parity(e, t, randn(2, 5, 6), atol=1e-5)
    assert eo.grad_fn.name() == "NativeLayerNormBackward0"
    module_parity(nn.LayerNorm((5, 6), bias=False), torch.nn.LayerNorm((5, 6), bias=False), randn(2, 5, 6),
                  atol=1e-5)
    module_parity(nn.LayerNorm(6, elementwise_affine=False), torch.nn.LayerNorm(6, elementwise_affine=False),
                  randn(3, 6), atol=1e-5)


def test_rms_norm_module_parity():
    torch = pytest.importorskip("torch")
    t = torch.nn.RMSNorm(6)
    with torch.no_grad():
        t.weight.copy_(torch.randn(6))
    module_parity(nn.RMSNorm(6), t, randn(4, 6), atol=1e-5)


def test_group_norm_module_parity():
    torch = pytest.importorskip("torch")
    t = torch.nn.GroupNorm(2, 6)
    with torch.no_grad():
        t.weight.copy_(torch.randn(6))
        t.bias.copy_(torch.randn(6))
    module_parity(nn.GroupNorm(2, 6), t, randn(3, 6, 5), atol=1e-5)
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups \(2\)"):
        nn.GroupNorm(2, 5)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_running_stats_follow_torch(momentum):
    torch = pytest.importorskip("torch")
    e, t = nn.BatchNorm1d(4, momentum=momentum), torch.nn.BatchNorm1d(4, momentum=momentum)
    with torch.no_grad():
        t.weight.copy_(torch.randn(4))
        t.bias.copy_(torch.randn(4))
    copy_from_torch(e, t)
    for step in range(3):
        x = randn(8, 4) * (step + 1) + step
        close(e(ember.tensor(x)), t(torch.tensor(x)), atol=1e-5)
    close(e.running_mean, t.running_mean, atol=1e-6)
    close(e.running_var, t.running_var, atol=1e-5)
    assert int(e.num_batches_tracked) == 3 and e.num_batches_tracked.dtype == ember.int64
    e.eval()
    t.eval()
    x = randn(5, 4)
    module_parity(e, t, x, atol=1e-5)
    assert list(e.state_dict().keys()) == list(t.state_dict().keys())


def test_batch_norm_running_var_is_unbiased():
    m = nn.BatchNorm1d(1, momentum=1.0)
    x = np.array([[1.0], [2.0], [4.0]], np.float32)
    m(ember.tensor(x))
    close(m.running_var, [x.var(ddof=1)])
    close(m.running_mean, [x.mean()])


def test_batch_norm_2d_parity_train():
    torch = pytest.importorskip("torch")
    t = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        t.weight.copy_(torch.randn(3))
        t.bias.copy_(torch.randn(3))
    eo, _ = module_parity(nn.BatchNorm2d(3), t, randn(4, 3, 5, 5), atol=1e-5)
    assert eo.grad_fn.name() == "NativeBatchNormBackward0"
    module_parity(nn.BatchNorm2d(3, affine=False, track_running_stats=False),
                  torch.nn.BatchNorm2d(3, affine=False, track_running_stats=False), randn(2, 3, 4, 4), atol=1e-5)


def test_batch_norm_input_checks():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(ember.randn(2, 3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(ember.randn(2, 3, 1, 1))


def test_instance_norm_parity():
    torch = pytest.importorskip("torch")
    module_parity(nn.InstanceNorm1d(3), torch.nn.InstanceNorm1d(3), randn(2, 3, 7), atol=1e-5)
    module_parity(nn.InstanceNorm2d(3, affine=True), torch.nn.InstanceNorm2d(3, affine=True), randn(2, 3, 4, 4),
                  atol=1e-5)


def test_train_eval_flags_propagate_to_layers():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model.eval()
    assert not model[1].training and not model[2].training
    x = ember.randn(3, 4)
    close(model(x), model(x))  # deterministic in eval


def test_rrelu_eval_parity_and_training_slopes():
    torch = pytest.importorskip("torch")
    x = randn(6, 5) * 2
    module_parity(nn.RReLU(0.1, 0.3).eval(), torch.nn.RReLU(0.1, 0.3).eval(), x)
    ember.manual_seed(0)
    y = nn.RReLU(0.1, 0.3)(ember.tensor(x)).numpy()
    neg = x < 0
    ratio = y[neg] / x[neg]
    assert np.all((ratio >= 0.1 - 1e-6) & (ratio <= 0.3 + 1e-6)) and ratio.std() > 0.01
    np.testing.assert_array_equal(y[~neg], x[~neg])


def test_softmax2d_parity():
    torch = pytest.importorskip("torch")
    module_parity(nn.Softmax2d(), torch.nn.Softmax2d(), randn(2, 3, 4, 5))


def test_alpha_dropouts_keep_selu_moments():
    ember.manual_seed(0)
    x = ember.randn(200, 64, 4, 4)
    for m in (nn.AlphaDropout(0.2), nn.FeatureAlphaDropout(0.2)):
        y = m(x).numpy()
        assert abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05
        assert m.eval()(x) is x
    y = nn.FeatureAlphaDropout(0.5)(x).numpy().reshape(200, 64, 16)
    dropped = np.all(np.isclose(y, y[..., :1]), axis=-1)                        # whole channels constant
    assert 0.4 < dropped.mean() < 0.6


def test_instance_norm_3d_parity():
    torch = pytest.importorskip("torch")
    module_parity(nn.InstanceNorm3d(2, affine=True), torch.nn.InstanceNorm3d(2, affine=True), randn(2, 2, 3, 3, 3),
                  atol=1e-5)


# ---- lazy layers, SyncBatchNorm, InstanceNorm running statistics -------------------------------------------
LAZY = [("LazyConv1d", (4, 3), (2, 3, 6)), ("LazyConv2d", (4, 3), (2, 3, 6, 6)), ("LazyConv3d", (4, 2), (1, 3, 4, 4, 4)),
        ("LazyConvTranspose1d", (2, 3), (2, 3, 5)), ("LazyConvTranspose2d", (4, 3), (2, 3, 5, 5)),
        ("LazyConvTranspose3d", (2, 2), (1, 3, 3, 3, 3)), ("LazyBatchNorm1d", (), (4, 3)),
        ("LazyBatchNorm2d", (), (4, 3, 2, 2)), ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
        ("LazyInstanceNorm1d", (), (2, 3, 4)), ("LazyInstanceNorm2d", (), (2, 3, 4, 4)),
        ("LazyInstanceNorm3d", (), (2, 3, 2, 2, 2))]


@pytest.mark.parametrize("name,args,shape", LAZY, ids=[c[0] for c in LAZY])
def test_lazy_modules_match_torch(name, args, shape):
    torch = pytest.importorskip("torch")
    e, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(e) == repr(t)
    assert isinstance(e.weight, nn.UninitializedParameter) and isinstance(t.weight, torch.nn.UninitializedParameter)
    assert e.has_uninitialized_params() and t.has_uninitialized_params()
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    assert type(e).__name__ == type(t).__name__ == getattr(torch.nn, name).cls_to_become.__name__
    assert repr(e) == repr(t) and sorted(e.state_dict()) == sorted(t.state_dict())
    assert [tuple(v.shape) for v in e.state_dict().values()] == [tuple(v.shape) for v in t.state_dict().values()]
    assert tuple(ye.shape) == tuple(yt.shape)
    with torch.no_grad():  # same weights: same outputs
        for k, v in e.state_dict().items():
            t.state_dict()[k].copy_(torch.tensor(v.numpy()))
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_lazy_conv_errors_match_torch():
    torch = pytest.importorskip("torch")
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as ei:
            lib.nn.LazyConv2d(4, 3)(lib.zeros(3, 4))
        msg = str(ei.value)
        if lib is ember:
            ember_msg = msg
    assert ember_msg == msg


def test_sync_batchnorm_one_process_is_batchnorm_and_convert():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(size=(4, 3, 2, 2)).astype(np.float32)
    e, t = nn.SyncBatchNorm(3), torch.nn.SyncBatchNorm(3)
    assert repr(e) == repr(t)
    xe = ember.tensor(x, requires_grad=True)
    ye, yb = e(xe), nn.BatchNorm2d(3)(ember.tensor(x))
    np.testing.assert_allclose(ye.detach().numpy(), yb.detach().numpy(), atol=1e-6)
    ye.pow(2).sum().backward()
    assert xe.grad is not None and e.weight.grad is not None
    e.eval()
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(),
                               (x - e.running_mean.numpy()[:, None, None]) /
                               np.sqrt(e.running_var.numpy()[:, None, None] + 1e-5), atol=1e-5)
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
            lib.nn.SyncBatchNorm(3)(lib.zeros(3))
    m = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm1d(4)))
    mt = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4),
                             torch.nn.Sequential(torch.nn.BatchNorm1d(4)))
    bn_weight = m[1].weight
    se, st = nn.SyncBatchNorm.convert_sync_batchnorm(m), torch.nn.SyncBatchNorm.convert_sync_batchnorm(mt)
    assert repr(se) == repr(st) and se[1].weight is bn_weight
    assert sorted(se.state_dict()) == sorted(st.state_dict())


def test_instance_norm_tracks_running_stats_as_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).normal(size=(2, 3, 5)).astype(np.float32) * 2 + 1
    e = nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    t = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    for _ in range(2):
        np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                                   atol=1e-5)
    np.testing.assert_allclose(e.running_mean.numpy(), t.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(e.running_var.numpy(), t.running_var.numpy(), atol=1e-6)
    e.eval(), t.eval()
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-5)
    ef = nn.functional.instance_norm(ember.tensor(x), ember.zeros(3), ember.ones(3), use_input_stats=False)
    tf = torch.nn.functional.instance_norm(torch.tensor(x), torch.zeros(3), torch.ones(3), use_input_stats=False)
    np.testing.assert_allclose(ef.numpy(), tf.numpy(), atol=1e-6)


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_with_loss_matches_torch(head_bias):
    torch = pytest.importorskip("torch")
    e = nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[5, 12], div_value=2.0, head_bias=head_bias)
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[5, 12], div_value=2.0, head_bias=head_bias)
    assert repr(e) == repr(t) and sorted(e.state_dict()) == sorted(t.state_dict())
    with torch.no_grad():
        for k, v in t.state_dict().items():
            e.state_dict()[k].copy_(ember.tensor(v.numpy()))
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 8)).astype(np.float32), np.array([0, 4, 7, 13, 19, 11])
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe, ot = e(xe, ember.tensor(y)), t(xt, torch.tensor(y))
    np.testing.assert_allclose(oe.output.detach().numpy(), ot.output.detach().numpy(), atol=1e-5)
    assert abs(oe.loss.item() - ot.loss.item()) < 1e-5
    oe.loss.backward()
    ot.loss.backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-6)
    for (ke, pe), (kt, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert ke == kt
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(e.log_prob(ember.tensor(x)).detach().numpy(),
                               t.log_prob(torch.tensor(x)).detach().numpy(), atol=1e-5)
    assert e.predict(ember.tensor(x)).tolist() == t.predict(torch.tensor(x)).tolist()
    o1e, o1t = e(ember.tensor(x[0]), ember.tensor(y[0])), t(torch.tensor(x[0]), torch.tensor(y[0]))  # unbatched
    assert abs(o1e.loss.item() - o1t.loss.item()) < 1e-5 and tuple(o1e.output.shape) == tuple(o1t.output.shape)
    for lib in (ember, torch):
        with pytest.raises(ValueError) as ei:
            lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[12, 5])
        with pytest.raises(RuntimeError) as er:
            getattr(lib.nn, "AdaptiveLogSoftmaxWithLoss")(8, 20, cutoffs=[5])(lib.zeros(2, 8), lib.tensor([0, 25]))
        if lib is ember:
            msgs = (str(ei.value), str(er.value))
    assert msgs == (str(ei.value), str(er.value))


def test_lazy_classes_become_what_torch_s_become():
    torch = pytest.importorskip("torch")
    pairs = [(ember.nn.LazyConv1d, torch.nn.LazyConv1d), (ember.nn.LazyConv2d, torch.nn.LazyConv2d),
             (ember.nn.LazyConv3d, torch.nn.LazyConv3d), (ember.nn.LazyConvTranspose1d, torch.nn.LazyConvTranspose1d),
             (ember.nn.LazyConvTranspose2d, torch.nn.LazyConvTranspose2d),
             (ember.nn.LazyConvTranspose3d, torch.nn.LazyConvTranspose3d),
             (ember.nn.LazyBatchNorm1d, torch.nn.LazyBatchNorm1d), (ember.nn.LazyBatchNorm2d, torch.nn.LazyBatchNorm2d),
             (ember.nn.LazyBatchNorm3d, torch.nn.LazyBatchNorm3d),
             (ember.nn.LazyInstanceNorm1d, torch.nn.LazyInstanceNorm1d),
             (ember.nn.LazyInstanceNorm2d, torch.nn.LazyInstanceNorm2d),
             (ember.nn.LazyInstanceNorm3d, torch.nn.LazyInstanceNorm3d)]
    for e_cls, t_cls in pairs:
        assert e_cls.__name__ == t_cls.__name__
        assert e_cls.cls_to_become.__name__ == t_cls.cls_to_become.__name__
        assert issubclass(e_cls, ember.nn.Module) and issubclass(t_cls, torch.nn.Module)


def test_adaptive_log_softmax_forward_log_prob_predict_grads_and_errors_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    e = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True)
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    with torch.no_grad():
        for (_, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
            v = rng.normal(size=tuple(pt.shape)).astype(np.float32)
            pt.copy_(torch.tensor(v))
            with ember.no_grad():
                pe.copy_(ember.tensor(v))
    x = rng.normal(size=(6, 8)).astype(np.float32)
    target = np.array([0, 4, 9, 2, 7, 5])
    oe, ot = e(ember.tensor(x), ember.tensor(target)), t(torch.tensor(x), torch.tensor(target))
    assert type(oe).__name__ == "_ASMoutput" and oe._fields == ("output", "loss")
    np.testing.assert_allclose(oe.output.detach().numpy(), ot.output.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(oe.loss.item(), ot.loss.item(), rtol=1e-5)
    oe.loss.backward()
    ot.loss.backward()
    for (n, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)
    np.testing.assert_allclose(e.log_prob(ember.tensor(x)).detach().numpy(), t.log_prob(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(e.predict(ember.tensor(x)).numpy(), t.predict(torch.tensor(x)).numpy())
    single = e(ember.tensor(x[0]), ember.tensor(target[0]))
    assert single.output.shape == () and abs(single.output.item() - ot.output[0].item()) < 1e-5
    for xe, te in [(x, np.array([0, 1, 2])), (x, np.array([0, 1, 2, 10, 3, 4])), (x, np.array(3)),
                   (x, np.zeros((6, 1), np.int64))]:
        with pytest.raises(RuntimeError) as ee:
            e(ember.tensor(xe), ember.tensor(te))
        with pytest.raises(RuntimeError) as et:
            t(torch.tensor(xe), torch.tensor(te))
        assert str(ee.value).replace("ember.Size", "torch.Size") == str(et.value)
    for bad in ([], [3, 3], [3, 12], [0, 3]):
        with pytest.raises(ValueError) as ee:
            ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, bad)
        with pytest.raises(ValueError) as et:
            torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, bad)
        assert str(ee.value) == str(et.value)
