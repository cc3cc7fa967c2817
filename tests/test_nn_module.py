"""nn.Module, Parameter and the containers: registration, state_dict, hooks, modes, moves, reprs.

Most tests build the *same* small model twice — once from ember.nn, once from torch.nn — through
one factory (``build(nn, lib)``), and compare what the two frameworks report.
"""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import nn


# ----------------------------------------------------------------------------- shared model factory
def build(nn, lib):
    """Tiny modules written only against the Module/Parameter API, for ember or torch."""

    class Affine(nn.Module):
        def __init__(self, i, o, bias=True):
            super().__init__()
            self.in_features, self.out_features = i, o
            self.weight = nn.Parameter(lib.ones(o, i) * 0.1)
            if bias:
                self.bias = nn.Parameter(lib.zeros(o))
            else:
                self.register_parameter("bias", None)

        def forward(self, x):
            y = x.matmul(self.weight.t())
            return y + self.bias if self.bias is not None else y

        def extra_repr(self):
            return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    class Act(nn.Module):
        def forward(self, x):
            return x * 2

    class Stats(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.scale = nn.Parameter(lib.ones(n))
            self.register_buffer("running_mean", lib.zeros(n))
            self.register_buffer("num_batches", lib.tensor(0))
            self.register_buffer("cache", lib.zeros(n), persistent=False)

        def forward(self, x):
            return x * self.scale

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = Act()
            self.linear_relu_stack = nn.Sequential(Affine(8, 6), Act(), Affine(6, 6), Act(), Affine(6, 3))
            self.norm = Stats(3)
            self.heads = nn.ModuleDict({"cls": Affine(3, 2), "reg": Affine(3, 1, bias=False)})
            self.blocks = nn.ModuleList([Act(), Act(), Affine(3, 3), Affine(3, 3), Act()])

        def forward(self, x):
            x = self.norm(self.linear_relu_stack(self.flatten(x)))
            return self.heads["cls"](x)

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Affine(4, 4)
            self.b = self.a                        # the same module twice
            self.c = Affine(4, 4)
            self.c.weight = self.a.weight          # a shared parameter

    return dict(Affine=Affine, Act=Act, Stats=Stats, NeuralNetwork=NeuralNetwork, Shared=Shared)


E = build(nn, ember)


def T():
    torch = pytest.importorskip("torch")
    return torch, build(torch.nn, torch)


# ----------------------------------------------------------------------------- Parameter
def test_parameter_shares_data_and_is_leaf():
    t = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    p = nn.Parameter(t)
    assert isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert np.shares_memory(p.detach().numpy(), t.numpy())
    t.add_(1)
    assert p.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    q = nn.Parameter(t, requires_grad=False)
    assert not q.requires_grad
    assert nn.Parameter().shape == (0,)


def test_parameter_ops_give_plain_tensors_and_grads():
    p = nn.Parameter(ember.tensor([1.0, 2.0, 3.0]))
    y = p * 2
    assert type(y) is ember.Tensor and y.grad_fn is not None
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0, 6.0]
    assert type(p.detach()) is ember.Tensor


def test_parameter_repr_matches_torch():
    torch = pytest.importorskip("torch")
    vals = [[0.5, -1.25], [2.0, 3.0]]
    assert repr(nn.Parameter(ember.tensor(vals))) == repr(torch.nn.Parameter(torch.tensor(vals)))
    assert repr(nn.Parameter(ember.tensor(vals), requires_grad=False)) == \
        repr(torch.nn.Parameter(torch.tensor(vals), requires_grad=False))
    assert repr(nn.Parameter(ember.tensor(vals)))[:len("Parameter containing:\ntensor(")] == \
        "Parameter containing:\ntensor("


def test_parameter_deepcopy():
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad
    assert not np.shares_memory(p.detach().numpy(), q.detach().numpy())
    assert q.tolist() == [1.0, 2.0]


def test_buffer_class_registers_buffer():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Buffer(ember.ones(2))
            self.b = nn.Buffer(ember.zeros(2), persistent=False)

    m = M()
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    assert list(m.state_dict()) == ["a"]
    assert type(m.a) is ember.Tensor


# ----------------------------------------------------------------------------- registration
def test_named_parameters_buffers_modules_match_torch():
    torch, TT = T()
    e, t = E["NeuralNetwork"](), TT["NeuralNetwork"]()
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [tuple(p.shape) for p in e.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert [n for n, _ in e.named_parameters(prefix="model", recurse=True)] == \
        [n for n, _ in t.named_parameters(prefix="model", recurse=True)]
    assert [n for n, _ in e.norm.named_parameters(recurse=False)] == ["scale"]
    assert "linear_relu_stack.0.weight" in dict(e.named_parameters())


def test_shared_parameters_and_modules_once():
    torch, TT = T()
    e, t = E["Shared"](), TT["Shared"]()
    for kw in ({}, {"remove_duplicate": False}):
        assert [n for n, _ in e.named_parameters(**kw)] == [n for n, _ in t.named_parameters(**kw)]
        assert [n for n, _ in e.named_modules(**kw)] == [n for n, _ in t.named_modules(**kw)]
    assert len(list(e.parameters())) == 3
    assert [n for n, _ in e.named_children()] == ["a", "c"]
    assert list(e.state_dict()) == list(t.state_dict())


def test_setattr_rules_and_messages_match_torch():
    torch, TT = T()
    e, t = E["Affine"](2, 3), TT["Affine"](2, 3)
    # a plain tensor attribute is not registered
    e.tmp, t.tmp = ember.ones(2), torch.ones(2)
    assert [n for n, _ in e.named_parameters()] == ["weight", "bias"]
    # assigning a plain tensor to a parameter name is a TypeError
    with pytest.raises(TypeError) as ee:
        e.weight = ember.ones(3, 2)
    with pytest.raises(TypeError) as te:
        t.weight = torch.ones(3, 2)
    assert str(ee.value) == str(te.value)
    # None is allowed and removes it from parameters()
    e.bias = None
    assert [n for n, _ in e.named_parameters()] == ["weight"] and e.bias is None
    # missing attribute
    with pytest.raises(AttributeError) as ee:
        e.nope
    with pytest.raises(AttributeError) as te:
        t.nope
    assert str(ee.value) == str(te.value)
    # a parameter assigned over a module attribute moves registries
    e.tmp = nn.Parameter(ember.zeros(1))
    assert "tmp" in dict(e.named_parameters())
    del e.tmp
    assert "tmp" not in dict(e.named_parameters())
    assert not hasattr(e, "tmp")


def test_register_errors_match_torch():
    torch, TT = T()
    e, t = E["Affine"](2, 3), TT["Affine"](2, 3)
    for name in ["a.b", "", "in_features"]:
        with pytest.raises(KeyError) as ee:
            e.register_buffer(name, None)
        with pytest.raises(KeyError) as te:
            t.register_buffer(name, None)
        assert str(ee.value) == str(te.value)
    with pytest.raises(TypeError) as ee:
        e.register_parameter("w2", ember.ones(2))
    with pytest.raises(TypeError) as te:
        t.register_parameter("w2", torch.ones(2))
    assert str(ee.value) == str(te.value)
    with pytest.raises(TypeError) as ee:
        e.add_module("m", 3)
    with pytest.raises(TypeError) as te:
        t.add_module("m", 3)
    assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="non-leaf"):
        e.register_parameter("w3", _nonleaf_param())


def _nonleaf_param():
    p = nn.Parameter(ember.ones(2))
    q = p * 2
    q.__class__ = nn.Parameter
    return q


def test_module_before_init_errors():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.ones(1))

    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        Bad()


def test_get_submodule_parameter_buffer():
    torch, TT = T()
    e, t = E["NeuralNetwork"](), TT["NeuralNetwork"]()
    assert e.get_submodule("linear_relu_stack.2") is e.linear_relu_stack[2]
    assert e.get_submodule("") is e
    assert e.get_parameter("linear_relu_stack.4.bias") is e.linear_relu_stack[4].bias
    assert e.get_buffer("norm.running_mean") is e.norm.running_mean
    for fn, arg, exc in [("get_submodule", "linear_relu_stack.9", AttributeError),
                         ("get_submodule", "norm.scale", AttributeError),
                         ("get_parameter", "norm.running_mean", AttributeError),
                         ("get_buffer", "norm.scale", AttributeError)]:
        with pytest.raises(exc) as ee:
            getattr(e, fn)(arg)
        with pytest.raises(exc) as te:
            getattr(t, fn)(arg)
        assert str(ee.value) == str(te.value)


def test_dir_lists_registered_names():
    e = E["Stats"](2)
    d = dir(e)
    assert "scale" in d and "running_mean" in d and "forward" in d


# ----------------------------------------------------------------------------- state_dict
def test_state_dict_keys_order_and_detach():
    torch, TT = T()
    e, t = E["NeuralNetwork"](), TT["NeuralNetwork"]()
    sd = e.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == list(t.state_dict())
    assert "norm.cache" not in sd and "norm.running_mean" in sd
    w = sd["linear_relu_stack.0.weight"]
    assert type(w) is ember.Tensor and not w.requires_grad
    w.add_(1.0)                                          # shares storage with the parameter
    assert e.linear_relu_stack[0].weight.detach().numpy()[0, 0] == pytest.approx(1.1)
    kv = e.state_dict(keep_vars=True)
    assert kv["linear_relu_stack.0.weight"] is e.linear_relu_stack[0].weight
    pre = e.state_dict(prefix="model.")
    assert list(pre)[0] == "model.linear_relu_stack.0.weight"


def test_load_state_dict_round_trip_in_place():
    a, b = E["NeuralNetwork"](), E["NeuralNetwork"]()
    for p in a.parameters():
        p.data = ember.randn(*p.shape)
    a.norm.running_mean.add_(3)
    w_before = b.linear_relu_stack[0].weight
    res = b.load_state_dict(a.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert b.linear_relu_stack[0].weight is w_before             # same object, copied into
    for (n1, t1), (n2, t2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert n1 == n2 and np.array_equal(t1.numpy(), t2.numpy())
    wa, wb = a.linear_relu_stack[0].weight, b.linear_relu_stack[0].weight
    assert not np.shares_memory(wa.detach().numpy(), wb.detach().numpy())


def test_load_state_dict_from_torch_weights():
    torch, TT = T()
    e, t = E["NeuralNetwork"](), TT["NeuralNetwork"]()
    for p in t.parameters():
        torch.nn.init.normal_(p)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def _errors(e_fn, t_fn):
    with pytest.raises(RuntimeError) as ee:
        e_fn()
    with pytest.raises(RuntimeError) as te:
        t_fn()
    return str(ee.value), str(te.value)


def test_load_state_dict_strict_messages_match_torch():
    torch, TT = T()
    e, t = E["NeuralNetwork"](), TT["NeuralNetwork"]()
    esd, tsd = e.state_dict(), t.state_dict()
    # missing + unexpected
    for sd in (esd, tsd):
        del sd["norm.scale"]
        sd["x"] = sd["norm.running_mean"]
        sd["linear_relu_stack.9.weight"] = sd["norm.running_mean"]
    got, want = _errors(lambda: e.load_state_dict(esd), lambda: t.load_state_dict(tsd))
    assert got == want
    assert got.startswith('Error(s) in loading state_dict for NeuralNetwork:\n\tMissing key(s) in state_dict: '
                          '"norm.scale". \n\tUnexpected key(s) in state_dict: ')
    # non-strict returns the same key lists
    r1, r2 = e.load_state_dict(esd, strict=False), t.load_state_dict(tsd, strict=False)
    assert r1.missing_keys == r2.missing_keys == ["norm.scale"]
    assert r1.unexpected_keys == r2.unexpected_keys == ["x", "linear_relu_stack.9.weight"]
    # size mismatch (reported even when strict=False)
    esd, tsd = e.state_dict(), t.state_dict()
    esd["linear_relu_stack.4.weight"] = ember.zeros(3, 512)
    tsd["linear_relu_stack.4.weight"] = torch.zeros(3, 512)
    for strict in (True, False):
        got, want = _errors(lambda: e.load_state_dict(esd, strict=strict),
                            lambda: t.load_state_dict(tsd, strict=strict))
        assert got == want
    assert "size mismatch for linear_relu_stack.4.weight: copying a param with shape torch.Size([3, 512]) " \
           "from checkpoint, the shape in current model is torch.Size([3, 6])." in got


def test_load_state_dict_non_strict_reports_keys():
    torch, TT = T()
    e, t = E["NeuralNetwork"](), TT["NeuralNetwork"]()
    esd = {k: v for k, v in e.state_dict().items() if not k.startswith("heads")}
    tsd = {k: v for k, v in t.state_dict().items() if not k.startswith("heads")}
    esd["extra.w"], tsd["extra.w"] = ember.ones(1), torch.ones(1)
    r1, r2 = e.load_state_dict(esd, strict=False), t.load_state_dict(tsd, strict=False)
    assert r1.missing_keys == r2.missing_keys and r1.unexpected_keys == r2.unexpected_keys
    assert repr(r1) == repr(r2)


def test_load_state_dict_assign():
    e = E["Affine"](2, 3)
    new_w = ember.full((3, 2), 7.0)
    e.load_state_dict({"weight": new_w, "bias": ember.zeros(3)}, assign=True)
    assert isinstance(e.weight, nn.Parameter) and e.weight.requires_grad
    assert np.shares_memory(e.weight.detach().numpy(), new_w.numpy())


def test_load_state_dict_type_error():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        E["Affine"](2, 3).load_state_dict([1, 2])


def test_save_load_hooks_overridable():
    class Versioned(E["Affine"]):
        def _load_from_state_dict(self, state_dict, prefix, *args):
            old = prefix + "w_old"
            if old in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(old)
            super()._load_from_state_dict(state_dict, prefix, *args)

    m = Versioned(2, 2)
    m.load_state_dict({"w_old": ember.full((2, 2), 5.0), "bias": ember.zeros(2)})
    assert m.weight.tolist() == [[5.0, 5.0], [5.0, 5.0]]


# ----------------------------------------------------------------------------- modes, grads, moves
def test_train_eval_propagate():
    e = E["NeuralNetwork"]()
    assert all(m.training for m in e.modules())
    assert e.eval() is e
    assert not any(m.training for m in e.modules())
    e.train()
    assert all(m.training for m in e.modules())
    e.linear_relu_stack.train(False)
    assert e.training and not e.linear_relu_stack[0].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        e.train(1)


def test_requires_grad_and_zero_grad():
    e = E["NeuralNetwork"]()
    e(ember.ones(2, 8)).sum().backward()
    assert e.linear_relu_stack[0].weight.grad is not None
    e.zero_grad(set_to_none=False)
    assert float(e.linear_relu_stack[0].weight.grad.abs().sum()) == 0.0
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())
    assert e.requires_grad_(False) is e
    assert not any(p.requires_grad for p in e.parameters())


def test_to_dtype_keeps_parameters_and_integer_buffers():
    e = E["NeuralNetwork"]()
    w = e.linear_relu_stack[0].weight
    e(ember.ones(2, 8)).sum().backward()
    assert e.to(ember.float64) is e
    assert e.linear_relu_stack[0].weight is w and isinstance(w, nn.Parameter)
    assert w.dtype == ember.float64 and w.requires_grad and w.grad.dtype == ember.float64
    assert e.norm.running_mean.dtype == ember.float64
    assert e.norm.num_batches.dtype == ember.int64          # integers keep their dtype
    assert e(ember.ones(2, 8, dtype=ember.float64)).dtype == ember.float64
    e.float()
    assert w.dtype == ember.float32
    e.half()
    assert w.dtype == ember.float16
    e.double()
    assert w.dtype == ember.float64
    e.to(ember.ones(1))                                       # to(tensor): its dtype and device
    assert w.dtype == ember.float32
    e.to("cpu")
    e.to(device="cpu", dtype=ember.float32)
    assert e.cpu() is e and w.device.type == "cpu"


def test_to_integer_dtype_error_matches_torch():
    torch, TT = T()
    with pytest.raises(TypeError) as ee:
        E["Affine"](2, 2).to(ember.int64)
    with pytest.raises(TypeError) as te:
        TT["Affine"](2, 2).to(torch.int64)
    assert str(ee.value) == str(te.value)


def test_optimizer_style_reference_survives_to():
    e = E["Affine"](2, 2)
    params = list(e.parameters())
    e.double()
    assert all(a is b for a, b in zip(params, e.parameters()))


def test_apply_order_matches_torch():
    torch, TT = T()
    e, t = E["NeuralNetwork"](), TT["NeuralNetwork"]()
    seen_e, seen_t = [], []
    assert e.apply(lambda m: seen_e.append(type(m).__name__)) is e
    t.apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_e == seen_t


def test_apply_for_init():
    e = E["NeuralNetwork"]()

    def init(m):
        if isinstance(m, E["Affine"]):
            nn.init.constant_(m.weight, 0.5)

    e.apply(init)
    assert all(float(m.weight.detach().mean()) == 0.5 for m in e.modules() if isinstance(m, E["Affine"]))


def test_deepcopy_module():
    e = E["NeuralNetwork"]()
    c = copy.deepcopy(e)
    assert list(c.state_dict()) == list(e.state_dict())
    assert c.linear_relu_stack[0].weight is not e.linear_relu_stack[0].weight
    assert isinstance(c.linear_relu_stack[0].weight, nn.Parameter)
    c.linear_relu_stack[0].weight.data.add_(1)
    assert float(e.linear_relu_stack[0].weight.detach()[0, 0]) == pytest.approx(0.1)


def test_forward_missing_message():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match=r'Module \[NoForward\] is missing the required "forward" function'):
        NoForward()(ember.ones(1))


def test_module_init_rejects_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        nn.Module(x=1)


# ----------------------------------------------------------------------------- hooks
def test_forward_pre_hook_and_forward_hook():
    e = E["Act"]()
    calls = []
    h1 = e.register_forward_pre_hook(lambda m, args: (args[0] + 1,))
    h2 = e.register_forward_hook(lambda m, args, out: calls.append(out.tolist()) or out * 10)
    assert e(ember.tensor([1.0])).tolist() == [40.0]
    assert calls == [[4.0]]
    h1.remove()
    assert e(ember.tensor([1.0])).tolist() == [20.0]
    h2.remove()
    h2.remove()                                   # removing twice is harmless
    assert e(ember.tensor([1.0])).tolist() == [2.0]


def test_hooks_with_kwargs_and_prepend():
    class KW(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = KW()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 3.0}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("kw", kwargs["scale"])), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    assert m(ember.tensor([2.0])).tolist() == [6.0]
    assert order == ["first", ("kw", 3.0)]
    with m.register_forward_hook(lambda mod, a, o: o + 1):
        assert m(ember.tensor([2.0])).tolist() == [7.0]
    assert m(ember.tensor([2.0])).tolist() == [6.0]


def test_full_backward_hooks_match_torch():
    torch = pytest.importorskip("torch")

    def make(nn):
        class Two(nn.Module):
            def forward(self, x, k, y):
                return x * y * k, x + y
        return Two()

    rec = {}
    for name, lib, mod in (("e", ember, make(nn)), ("t", torch, make(torch.nn))):
        got = []
        mod.register_full_backward_pre_hook(lambda m, go: got.append(("pre", [g.tolist() for g in go])))
        mod.register_full_backward_hook(
            lambda m, gi, go: got.append(("full", [None if g is None else g.tolist() for g in gi],
                                          [g.tolist() for g in go])))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, 4.0], requires_grad=True)
        a, b = mod(x, 2.0, y)
        (a * lib.tensor([1.0, 10.0]) + b * 3).sum().backward()
        rec[name] = (got, x.grad.tolist(), y.grad.tolist())
    assert rec["e"] == rec["t"]


def test_backward_hooks_unused_output_and_input_without_grad_match_torch():
    """grad_output is None for an unused output; a tensor input without grad gets zeros, a number None."""
    torch = pytest.importorskip("torch")

    def fmt(g):
        if isinstance(g, tuple):
            return tuple(fmt(x) for x in g)
        return None if g is None else g.detach().reshape(-1).tolist()

    def make(nn):
        class Three(nn.Module):
            def forward(self, x, k, y):
                return x * y * k, x + y, (x * 3).sum()
        return Three()

    rec = {}
    for name, lib, mod in (("e", ember, make(nn)), ("t", torch, make(torch.nn))):
        log = []
        mod.register_full_backward_pre_hook(lambda m, go: log.append(("pre", fmt(go))))
        mod.register_full_backward_hook(lambda m, gi, go: log.append(("full", fmt(gi), fmt(go))))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, 4.0])
        a, b, c = mod(x, 2.0, y)
        a.sum().backward()
        a, b, c = mod(x, 2.0, y)
        (a.sum() + c * 2).backward()
        rec[name] = (log, x.grad.tolist())
    assert rec["e"] == rec["t"]
    assert rec["e"][0][1] == ("full", ([6.0, 8.0], None, [0.0, 0.0]), ([1.0, 1.0], None, None))


def test_backward_hook_can_replace_grads():
    torch = pytest.importorskip("torch")
    out = {}
    for name, lib, m in (("e", ember, E["Act"]()), ("t", torch, T()[1]["Act"]())):
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 10,))
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] + 1,))
        x = lib.tensor([1.0, -1.0], requires_grad=True)
        m(x).sum().backward()
        out[name] = x.grad.tolist()
    assert out["e"] == out["t"] == [21.0, 21.0]


def test_backward_hook_inputs_without_grad():
    m = E["Affine"](2, 1)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go[0].tolist())))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        m(ember.ones(1, 2)).sum().backward()
    assert seen == [((None,), [[1.0]])]
    assert m.weight.grad.tolist() == [[1.0, 1.0]]


def test_backward_hook_removed():
    m = E["Act"]()
    seen = []
    h = m.register_full_backward_hook(lambda mod, gi, go: seen.append(1))
    x = ember.ones(2, requires_grad=True)
    m(x).sum().backward()
    h.remove()
    m(x).sum().backward()
    assert seen == [1]
    assert x.grad.tolist() == [4.0, 4.0]


def test_state_dict_and_load_hooks():
    m = E["Affine"](2, 2)
    seen = []
    m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: seen.append(("pre", prefix)))
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: seen.append(("post", list(sd))))
    m.state_dict()
    assert seen == [("pre", ""), ("post", ["weight", "bias"])]
    m.register_load_state_dict_post_hook(lambda mod, keys: keys.missing_keys.clear())
    assert m.load_state_dict({"weight": ember.ones(2, 2)}).missing_keys == []


# ----------------------------------------------------------------------------- containers
def test_sequential_indexing_and_editing():
    A, Af = E["Act"], E["Affine"]
    a, b, c = Af(2, 2), A(), Af(2, 3)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    sl = s[1:]
    assert isinstance(sl, nn.Sequential) and list(sl) == [b, c] and list(sl._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        s[3]
    assert s(ember.ones(1, 2)).shape == (1, 3)
    d = A()
    s[1] = d
    assert s[1] is d
    del s[0]
    assert list(s._modules) == ["0", "1"] and s[0] is d
    s.append(a).insert(0, b).extend([A()])
    assert [type(m).__name__ for m in s] == ["Act", "Act", "Affine", "Affine", "Act"]
    assert s.pop(0) is b and len(s) == 4
    s2 = s + nn.Sequential(A())
    assert len(s2) == 5 and list(s2._modules) == ["0", "1", "2", "3", "4"]
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential class"):
        s + [A()]
    od = nn.Sequential(OrderedDict([("conv", a), ("act", b)]))
    assert list(od._modules) == ["conv", "act"] and od.conv is a


def test_modulelist_and_dict():
    A = E["Act"]
    ml = nn.ModuleList([A(), A()])
    ml.append(A())
    ml += [A()]
    ml.extend([A()])
    ml.insert(1, E["Affine"](1, 1))
    assert len(ml) == 6 and isinstance(ml[1], E["Affine"])
    assert isinstance(ml[::2], nn.ModuleList) and len(ml[::2]) == 3
    del ml[1]
    assert list(ml._modules) == [str(i) for i in range(5)]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ml[5]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        ml.extend(3)
    md = nn.ModuleDict({"b": A(), "a": A()})
    assert list(md) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = E["Affine"](1, 1)
    assert list(md.keys()) == ["b", "a", "c"]
    assert md.pop("b") is not None and list(md) == ["a", "c"]
    assert [n for n, _ in md.named_parameters()] == ["c.weight", "c.bias"]


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(ember.ones(2)), ember.zeros(3)])
    assert isinstance(pl[1], nn.Parameter) and len(pl) == 2
    pl.append(ember.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    assert len(pl[1:]) == 2
    pd = nn.ParameterDict({"w": ember.ones(2)})
    pd["b"] = nn.Parameter(ember.zeros(1))
    assert isinstance(pd["w"], nn.Parameter) and list(pd.keys()) == ["w", "b"]
    assert [n for n, _ in pd.named_parameters()] == ["w", "b"]
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        pl(1)


# ----------------------------------------------------------------------------- reprs vs torch
def test_repr_nested_matches_torch():
    torch, TT = T()
    assert repr(E["NeuralNetwork"]()) == repr(TT["NeuralNetwork"]())
    assert repr(E["Act"]()) == repr(TT["Act"]()) == "Act()"
    assert repr(E["Shared"]()) == repr(TT["Shared"]())


def test_repr_containers_match_torch():
    torch, TT = T()

    def cases(nn, lib, D):
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ff = nn.Sequential(D["Affine"](4, 8), D["Act"](), D["Affine"](8, 4))

        return [
            nn.Sequential(),
            nn.ModuleList(),
            nn.ModuleList([Block() for _ in range(6)]),
            nn.ModuleList([D["Act"](), D["Act"](), D["Affine"](1, 2), D["Act"]()]),
            nn.ModuleDict({"x": D["Act"](), "y": nn.Sequential(D["Act"]())}),
            nn.ParameterList([nn.Parameter(lib.ones(2, 3)), lib.zeros(3, dtype=lib.float64)]),
            nn.ParameterDict({"b": nn.Parameter(lib.ones(2, 3)), "a": lib.zeros(3, dtype=lib.float64)}),
            nn.Sequential(OrderedDict([("p", nn.ParameterList([nn.Parameter(lib.ones(2))]))])),
        ]

    for e, t in zip(cases(nn, ember, E), cases(torch.nn, torch, TT)):
        assert repr(e) == repr(t)


def test_repr_multiline_extra_repr():
    torch = pytest.importorskip("torch")

    def mk(nn):
        class X(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = nn.Sequential()

            def extra_repr(self):
                return "a=1\nb=2"
        return X()

    assert repr(mk(nn)) == repr(mk(torch.nn))


def test_lesson_001_neural_network_repr_and_params():
    """Lesson 001's model, once the layers exist (Flatten, Linear, ReLU are written elsewhere)."""
    torch = pytest.importorskip("torch")
    if not all(hasattr(nn, n) for n in ("Flatten", "Linear", "ReLU")):
        pytest.skip("nn.Linear/Flatten/ReLU not available yet")

    def make(nn):
        class NeuralNetwork(nn.Module):
            def __init__(self):
                super(NeuralNetwork, self).__init__()
                self.flatten = nn.Flatten()
                self.linear_relu_stack = nn.Sequential(
                    nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10), nn.ReLU())

            def forward(self, x):
                return self.linear_relu_stack(self.flatten(x))
        return NeuralNetwork()

    e, t = make(nn), make(torch.nn)
    assert repr(e) == repr(t)
    assert repr(e) == (
        "NeuralNetwork(\n"
        "  (flatten): Flatten(start_dim=1, end_dim=-1)\n"
        "  (linear_relu_stack): Sequential(\n"
        "    (0): Linear(in_features=784, out_features=512, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Linear(in_features=512, out_features=512, bias=True)\n"
        "    (3): ReLU()\n"
        "    (4): Linear(in_features=512, out_features=10, bias=True)\n"
        "    (5): ReLU()\n"
        "  )\n"
        ")")
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(1).random((1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # Load a checkpoint with a wrong head: torch's message, key for key
    bad_e = e.state_dict()
    bad_t = t.state_dict()
    bad_e["linear_relu_stack.4.weight"] = ember.zeros(10, 20)
    bad_t["linear_relu_stack.4.weight"] = torch.zeros(10, 20)
    got, want = _errors(lambda: e.load_state_dict(bad_e), lambda: t.load_state_dict(bad_t))
    assert got == want


def test_backward_hook_function_gradcheck():
    from ember.nn.module import BackwardHookFunction
    x = ember.randn(3, 2, dtype=ember.float64, requires_grad=True)
    y = ember.randn(2, dtype=ember.float64, requires_grad=True)

    def f(a, b):
        u, v = BackwardHookFunction.apply(lambda grads: grads, False, a, b)
        return (u * v).sin()

    assert ember.autograd.gradcheck(f, (x, y))


def test_to_empty_and_type():
    e = E["Stats"](3)
    e.type(ember.float64)
    assert e.scale.dtype == ember.float64 and e.running_mean.dtype == ember.float64
    s = e.scale
    e.to_empty(device="cpu")
    assert e.scale is s and e.scale.shape == (3,) and isinstance(e.scale, nn.Parameter)
