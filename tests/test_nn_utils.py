"""nn.utils: gradient clipping, parameters <-> vector, pad/pack sequences (torch as the oracle)."""
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import utils


def _params_with_grads(lib, make_param, grads):
    ps = []
    for g in grads:
        p = make_param(lib.zeros(*g.shape))
        p.grad = lib.tensor(g)
        ps.append(p)
    return ps


GRADS = [np.array([[3.0, -4.0], [1.0, 2.0]], np.float32), np.array([0.5, -12.0, 7.0], np.float32)]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), 0.5])
@pytest.mark.parametrize("max_norm", [1.0, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ep = _params_with_grads(ember, nn.Parameter, GRADS)
    tp = _params_with_grads(torch, torch.nn.Parameter, GRADS)
    en = utils.clip_grad_norm_(ep, max_norm, norm_type=norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert isinstance(en, ember.Tensor) and en.dtype == ember.float32 and en.shape == ()
    assert float(en) == pytest.approx(float(tn), rel=1e-6)
    for a, b in zip(ep, tp):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_values_by_hand():
    ps = _params_with_grads(ember, nn.Parameter, GRADS)
    total = math.sqrt(9 + 16 + 1 + 4 + 0.25 + 144 + 49)
    n = utils.clip_grad_norm_(ps, 2.0)
    assert float(n) == pytest.approx(total, rel=1e-6)
    new_total = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in ps))
    assert new_total == pytest.approx(2.0, rel=1e-5)


def test_clip_grad_norm_single_tensor_skips_none_and_generator():
    p = nn.Parameter(ember.zeros(2))
    p.grad = ember.tensor([3.0, 4.0])
    q = nn.Parameter(ember.zeros(2))                       # no grad: ignored
    assert float(utils.clip_grad_norm_(p, 1.0)) == pytest.approx(5.0)
    assert p.grad.numpy() == pytest.approx([0.6, 0.8], rel=1e-5)
    assert float(utils.clip_grad_norm_([q], 1.0)) == 0.0
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        utils.clip_grad_norm_((x for x in []), 1.0)


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(ember.zeros(2))
    p.grad = ember.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is non-finite"):
        utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert math.isinf(float(utils.clip_grad_norm_([p], 1.0)))


def test_clip_grad_norm_model_after_backward():
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    x = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)
    res = []
    for lib, P in ((ember, nn.Parameter), (torch, torch.nn.Parameter)):
        p = P(lib.tensor(w))
        (lib.tensor(x).matmul(p) ** 2).sum().backward()
        n = (utils if lib is ember else torch.nn.utils).clip_grad_norm_([p], 0.5, foreach=None)
        res.append((float(n), p.grad.numpy().copy()))
    assert res[0][0] == pytest.approx(res[1][0], rel=1e-5)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5, atol=1e-7)


def test_clip_grad_value():
    torch = pytest.importorskip("torch")
    ep = _params_with_grads(ember, nn.Parameter, GRADS)
    tp = _params_with_grads(torch, torch.nn.Parameter, GRADS)
    assert utils.clip_grad_value_(ep, 2.5) is None
    torch.nn.utils.clip_grad_value_(tp, 2.5)
    for a, b in zip(ep, tp):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert ep[1].grad.tolist() == [0.5, -2.5, 2.5]


def test_parameters_vector_round_trip():
    ps = [nn.Parameter(ember.tensor([[1.0, 2.0], [3.0, 4.0]])), nn.Parameter(ember.tensor([5.0, 6.0]))]
    v = utils.parameters_to_vector(ps)
    assert v.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    (v * ember.arange(6).float()).sum().backward()     # differentiable
    assert ps[0].grad.tolist() == [[0.0, 1.0], [2.0, 3.0]] and ps[1].grad.tolist() == [4.0, 5.0]
    utils.vector_to_parameters(ember.arange(6).float() * 10, ps)
    assert ps[0].tolist() == [[0.0, 10.0], [20.0, 30.0]] and ps[1].tolist() == [40.0, 50.0]
    assert isinstance(ps[0], nn.Parameter) and ps[0].shape == (2, 2)
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        utils.vector_to_parameters([1.0], ps)


def _seqs(lib):
    return [lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), lib.tensor([[7.0, 8.0]]),
            lib.tensor([[9.0, 10.0], [11.0, 12.0]])]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side):
    torch = pytest.importorskip("torch")
    e = utils.rnn.pad_sequence(_seqs(ember), batch_first=batch_first, padding_value=-1.0, padding_side=side)
    t = torch.nn.utils.rnn.pad_sequence(_seqs(torch), batch_first=batch_first, padding_value=-1.0,
                                        padding_side=side)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_pad_sequence_shapes_grads_and_errors():
    seqs = [ember.ones(4, requires_grad=True), ember.ones(2, requires_grad=True)]
    out = utils.rnn.pad_sequence(seqs)
    assert out.shape == (4, 2)
    assert out.tolist() == [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    (out * ember.arange(8).float().reshape(4, 2)).sum().backward()
    assert seqs[0].grad.tolist() == [0.0, 2.0, 4.0, 6.0] and seqs[1].grad.tolist() == [1.0, 3.0]
    ints = utils.rnn.pad_sequence([ember.tensor([1, 2]), ember.tensor([3])], batch_first=True)
    assert ints.dtype == ember.int64 and ints.tolist() == [[1, 2], [3, 0]]
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        utils.rnn.pad_sequence([])
    with pytest.raises(ValueError, match="Expected padding_side to be one of left or right, but got middle."):
        utils.rnn.pad_sequence(seqs, padding_side="middle")
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                           "at non-singleton dimension 1"):
        utils.rnn.pad_sequence([ember.ones(2, 3), ember.ones(2, 4)])
    mixed = utils.rnn.pad_sequence([ember.ones(2), ember.ones(1, dtype=ember.float64)])
    assert mixed.dtype == ember.float32


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("left", [False, True])
def test_pad_sequence_gradcheck(batch_first, left):
    seqs = [ember.randn(3, 2, dtype=ember.float64, requires_grad=True),
            ember.randn(1, 2, dtype=ember.float64, requires_grad=True),
            ember.randn(2, 2, dtype=ember.float64, requires_grad=True)]
    side = "left" if left else "right"
    assert ember.autograd.gradcheck(
        lambda *s: utils.rnn.pad_sequence(list(s), batch_first=batch_first, padding_value=0.5, padding_side=side),
        tuple(seqs))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad_packed_match_torch(batch_first, enforce_sorted):
    torch = pytest.importorskip("torch")
    seqs_e, seqs_t = _seqs(ember), _seqs(torch)
    if enforce_sorted:
        order = [0, 2, 1]
        seqs_e, seqs_t = [seqs_e[i] for i in order], [seqs_t[i] for i in order]
    lengths = [int(s.shape[0]) for s in seqs_e]
    pe = utils.rnn.pad_sequence(seqs_e, batch_first=batch_first)
    pt = torch.nn.utils.rnn.pad_sequence(seqs_t, batch_first=batch_first)
    ke = utils.rnn.pack_padded_sequence(pe, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    kt = torch.nn.utils.rnn.pack_padded_sequence(pt, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(ke.data.numpy(), kt.data.numpy())
    assert ke.batch_sizes.tolist() == kt.batch_sizes.tolist()
    for a, b in ((ke.sorted_indices, kt.sorted_indices), (ke.unsorted_indices, kt.unsorted_indices)):
        assert (a is None and b is None) or a.tolist() == b.tolist()
    ue, le = utils.rnn.pad_packed_sequence(ke, batch_first=batch_first, padding_value=-3.0, total_length=4)
    ut, lt = torch.nn.utils.rnn.pad_packed_sequence(kt, batch_first=batch_first, padding_value=-3.0, total_length=4)
    np.testing.assert_array_equal(ue.numpy(), ut.numpy())
    assert le.tolist() == lt.tolist() and le.dtype == ember.int64
    assert [s.tolist() for s in utils.rnn.unpack_sequence(ke)] == [s.tolist() for s in seqs_e]


def test_pack_errors_and_grad():
    x = ember.ones(3, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order"):
        utils.rnn.pack_padded_sequence(x, [1, 3])
    packed = utils.rnn.pack_padded_sequence(x, [3, 1])
    assert packed.batch_sizes.tolist() == [2, 1, 1]
    packed.data.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    seqs = [ember.tensor([1.0, 2.0, 3.0]), ember.tensor([4.0, 5.0]), ember.tensor([6.0])]
    p = utils.rnn.pack_sequence(seqs)
    assert p.data.tolist() == [1.0, 4.0, 6.0, 2.0, 5.0, 3.0] and p.batch_sizes.tolist() == [3, 2, 1]
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest"):
        utils.rnn.pad_packed_sequence(p, total_length=2)


# ---- parametrizations, parametrize, legacy weight_norm/spectral_norm, prune, fusion, stateless ----------------
def _torch():
    return pytest.importorskip("torch")


def _pair_linear(torch, in_f=4, out_f=3, seed=0):
    """An Ember and a torch Linear with the same weights."""
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=(out_f, in_f)).astype(np.float32), rng.normal(size=out_f).astype(np.float32)
    e, t = nn.Linear(in_f, out_f), torch.nn.Linear(in_f, out_f)
    with ember.no_grad():
        e.weight.copy_(ember.tensor(w))
        e.bias.copy_(ember.tensor(b))
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w))
        t.bias.copy_(torch.tensor(b))
    return e, t


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


X = np.random.default_rng(5).normal(size=(2, 4)).astype(np.float32)


def test_parametrizations_weight_norm_matches_torch():
    torch = _torch()
    e, t = _pair_linear(torch)
    for dim in (0, 1):
        e, t = _pair_linear(torch)
        utils.parametrizations.weight_norm(e, dim=dim)
        torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
        assert list(e.state_dict()) == list(t.state_dict())
        _close(e.parametrizations.weight.original0, t.parametrizations.weight.original0)
        _close(e.weight, t.weight)
        ye, yt = e(ember.tensor(X)), t(torch.tensor(X))
        _close(ye, yt)
        ye.pow(2).sum().backward()
        yt.pow(2).sum().backward()
        _close(e.parametrizations.weight.original0.grad, t.parametrizations.weight.original0.grad, 1e-4)
        _close(e.parametrizations.weight.original1.grad, t.parametrizations.weight.original1.grad, 1e-4)
    assert type(e).__name__ == type(t).__name__ == "ParametrizedLinear"
    utils.parametrize.remove_parametrizations(e, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    assert type(e) is nn.Linear and list(e.state_dict()) == list(t.state_dict())
    _close(e.weight, t.weight)


def test_parametrizations_spectral_norm_matches_torch():
    torch = _torch()
    e, t = _pair_linear(torch, 4, 5)
    utils.parametrizations.spectral_norm(e, n_power_iterations=2)
    torch.nn.utils.parametrizations.spectral_norm(t, n_power_iterations=2)
    pe, pt = e.parametrizations.weight[0], t.parametrizations.weight[0]
    with ember.no_grad():  # the random start of the power iteration: take torch's
        pe._u.copy_(ember.tensor(pt._u.numpy()))
        pe._v.copy_(ember.tensor(pt._v.numpy()))
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    for _ in range(3):
        _close(e(ember.tensor(X)), t(torch.tensor(X)), 1e-4)
    _close(e.weight, t.weight, 1e-4)
    e.eval(), t.eval()
    sv = np.linalg.svd(e.weight.detach().numpy(), compute_uv=False)[0]
    assert abs(sv - 1) < 1e-2
    ye, yt = e(ember.tensor(X)), t(torch.tensor(X))
    ye.sum().backward()
    yt.sum().backward()
    _close(e.parametrizations.weight.original.grad, t.parametrizations.weight.original.grad, 1e-4)


@pytest.mark.parametrize("shape,orthogonal_map", [((4, 4), None), ((4, 4), "cayley"), ((3, 5), "householder"),
                                                   ((5, 3), "matrix_exp")])
def test_parametrizations_orthogonal_matches_torch(shape, orthogonal_map):
    torch = _torch()
    e, t = _pair_linear(torch, shape[1], shape[0])
    utils.parametrizations.orthogonal(e, orthogonal_map=orthogonal_map)
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map=orthogonal_map)
    _close(e.weight, t.weight, 1e-5)
    if hasattr(t.parametrizations.weight[0], "base"):  # a non-square base is completed with random columns
        with ember.no_grad():
            e.parametrizations.weight[0].base.copy_(ember.tensor(t.parametrizations.weight[0].base.numpy()))
    w = e.weight.detach().numpy()
    gram = w @ w.T if shape[0] <= shape[1] else w.T @ w
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)
    x = np.random.default_rng(7).normal(size=(2, shape[1])).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    ye.sum().backward()
    yt.sum().backward()
    _close(e.parametrizations.weight.original.grad, t.parametrizations.weight.original.grad, 1e-4)


def test_register_parametrization_cached_and_helpers_match_torch():
    torch = _torch()

    def make_sym(lib):
        class Symmetric(lib.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

            def right_inverse(self, A):
                return A.triu()
        return Symmetric()

    e, t = _pair_linear(torch, 3, 3)
    utils.parametrize.register_parametrization(e, "weight", make_sym(ember))
    torch.nn.utils.parametrize.register_parametrization(t, "weight", make_sym(torch))
    assert utils.parametrize.is_parametrized(e) and utils.parametrize.is_parametrized(e, "weight")
    assert not utils.parametrize.is_parametrized(e, "bias")
    assert torch.nn.utils.parametrize.is_parametrized(t, "weight")
    assert utils.parametrize.type_before_parametrizations(e) is nn.Linear
    assert torch.nn.utils.parametrize.type_before_parametrizations(t) is torch.nn.Linear
    _close(e.weight, t.weight)
    np.testing.assert_allclose(e.weight.detach().numpy(), e.weight.detach().numpy().T)
    with utils.parametrize.cached():
        assert e.weight is e.weight
    with torch.nn.utils.parametrize.cached():
        assert t.weight is t.weight
    assert e.weight is not e.weight
    assert repr(e) == repr(t)
    f = nn.Linear(3, 3)
    utils.parametrize.transfer_parametrizations_and_params(e, f)
    assert utils.parametrize.is_parametrized(f, "weight")
    _close(f.weight, e.weight)
    with pytest.raises(ValueError, match="does not have a parametrization"):
        utils.parametrize.remove_parametrizations(e, "bias")
    utils.parametrize.remove_parametrizations(e, "weight", leave_parametrized=False)
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight", leave_parametrized=False)
    _close(e.weight, t.weight)


def test_legacy_weight_norm_and_spectral_norm_match_torch():
    torch = _torch()
    e, t = _pair_linear(torch)
    with pytest.warns(FutureWarning):
        utils.weight_norm(e)
    torch.nn.utils.weight_norm(t)
    assert sorted(n for n, _ in e.named_parameters()) == sorted(n for n, _ in t.named_parameters())
    _close(e(ember.tensor(X)), t(torch.tensor(X)))
    _close(e.weight_g, t.weight_g)
    utils.remove_weight_norm(e)
    torch.nn.utils.remove_weight_norm(t)
    assert sorted(n for n, _ in e.named_parameters()) == sorted(n for n, _ in t.named_parameters())
    _close(e.weight, t.weight)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        utils.remove_weight_norm(e)

    e, t = _pair_linear(torch)
    utils.spectral_norm(e)
    torch.nn.utils.spectral_norm(t)
    with ember.no_grad():
        e.weight_u.copy_(ember.tensor(t.weight_u.numpy()))
        e.weight_v.copy_(ember.tensor(t.weight_v.numpy()))
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    _close(e(ember.tensor(X)), t(torch.tensor(X)), 1e-4)
    utils.remove_spectral_norm(e)
    torch.nn.utils.remove_spectral_norm(t)
    _close(e.weight, t.weight, 1e-4)
    assert sorted(n for n, _ in e.named_parameters()) == sorted(n for n, _ in t.named_parameters())


def test_prune_methods_match_torch():
    torch = _torch()
    import torch.nn.utils.prune  # noqa: F401  (torch does not import it with torch.nn.utils)
    for method, kw in [("l1_unstructured", dict(amount=0.4)), ("l1_unstructured", dict(amount=5)),
                       ("ln_structured", dict(amount=1, n=2, dim=0)), ("ln_structured", dict(amount=0.5, n=1, dim=1))]:
        e, t = _pair_linear(torch, 5, 4)
        getattr(utils.prune, method)(e, "weight", **kw)
        getattr(torch.nn.utils.prune, method)(t, "weight", **kw)
        _close(e.weight_mask, t.weight_mask)
        _close(e.weight, t.weight)
        assert sorted(n for n, _ in e.named_parameters()) == sorted(n for n, _ in t.named_parameters())
        assert sorted(n for n, _ in e.named_buffers()) == sorted(n for n, _ in t.named_buffers())
        e(ember.ones(2, 5)).sum().backward()
        assert e.weight_orig.grad is not None
    assert utils.prune.is_pruned(e) and torch.nn.utils.prune.is_pruned(t)
    utils.prune.remove(e, "weight")
    torch.nn.utils.prune.remove(t, "weight")
    assert not utils.prune.is_pruned(e) and not torch.nn.utils.prune.is_pruned(t)
    _close(e.weight, t.weight)

    (e1, t1), (e2, t2) = _pair_linear(torch, 4, 3, 1), _pair_linear(torch, 3, 2, 2)
    utils.prune.global_unstructured([(e1, "weight"), (e2, "weight")], pruning_method=utils.prune.L1Unstructured,
                                    amount=7)
    torch.nn.utils.prune.global_unstructured([(t1, "weight"), (t2, "weight")],
                                             pruning_method=torch.nn.utils.prune.L1Unstructured, amount=7)
    _close(e1.weight_mask, t1.weight_mask)
    _close(e2.weight_mask, t2.weight_mask)
    mask = np.array([1.0, 0.0, 1.0], np.float32)
    utils.prune.custom_from_mask(e1, "bias", ember.tensor(mask))
    torch.nn.utils.prune.custom_from_mask(t1, "bias", torch.tensor(mask))
    _close(e1.bias, t1.bias)
    utils.prune.identity(e2, "bias")
    torch.nn.utils.prune.identity(t2, "bias")
    _close(e2.bias_mask, t2.bias_mask)
    e3 = nn.Linear(10, 10)
    utils.prune.random_unstructured(e3, "weight", amount=0.3)
    assert int((e3.weight_mask == 0).sum()) == 30
    with pytest.raises(ValueError) as ee:
        utils.prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5)
    with pytest.raises(ValueError) as et:
        torch.nn.utils.prune.l1_unstructured(torch.nn.Linear(2, 2), "weight", amount=1.5)
    assert str(ee.value) == str(et.value)


def test_fusion_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 2, 5, 5)).astype(np.float32)
    ec, tc = nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3)
    eb, tb = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    for (en, tn) in [(ec.weight, tc.weight), (ec.bias, tc.bias), (eb.weight, tb.weight), (eb.bias, tb.bias),
                     (eb.running_mean, tb.running_mean)]:
        v = rng.normal(size=tuple(tn.shape)).astype(np.float32)
        with ember.no_grad():
            en.copy_(ember.tensor(v))
        with torch.no_grad():
            tn.copy_(torch.tensor(v))
    with ember.no_grad():
        eb.running_var.copy_(ember.tensor([0.5, 1.5, 2.0]))
    with torch.no_grad():
        tb.running_var.copy_(torch.tensor([0.5, 1.5, 2.0]))
    ec.eval(), eb.eval(), tc.eval(), tb.eval()
    fe, ft = utils.fuse_conv_bn_eval(ec, eb), torch.nn.utils.fuse_conv_bn_eval(tc, tb)
    _close(fe(ember.tensor(x)), ft(torch.tensor(x)), 1e-4)
    _close(fe(ember.tensor(x)), eb(ec(ember.tensor(x))), 1e-4)
    we, be = utils.fuse_conv_bn_weights(ec.weight, ec.bias, eb.running_mean, eb.running_var, eb.eps, eb.weight, eb.bias)
    wt, bt = torch.nn.utils.fuse_conv_bn_weights(tc.weight, tc.bias, tb.running_mean, tb.running_var, tb.eps,
                                                 tb.weight, tb.bias)
    _close(we, wt, 1e-5)
    _close(be, bt, 1e-5)
    el, tl = _pair_linear(torch, 4, 3)
    eb1, tb1 = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    el.eval(), eb1.eval(), tl.eval(), tb1.eval()
    _close(utils.fuse_linear_bn_eval(el, eb1)(ember.tensor(X)), torch.nn.utils.fuse_linear_bn_eval(tl, tb1)(torch.tensor(X)))
    we, be = utils.fuse_linear_bn_weights(el.weight, el.bias, eb1.running_mean, eb1.running_var, eb1.eps,
                                          eb1.weight, eb1.bias)
    wt, bt = torch.nn.utils.fuse_linear_bn_weights(tl.weight, tl.bias, tb1.running_mean, tb1.running_var, tb1.eps,
                                                   tb1.weight, tb1.bias)
    _close(we, wt)
    _close(be, bt)
    with pytest.raises(AssertionError):
        utils.fuse_conv_bn_eval(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))  # training mode: refused, as torch


def test_skip_init_memory_format_stateless_match_torch():
    torch = _torch()
    e, t = utils.skip_init(nn.Linear, 5, 2), torch.nn.utils.skip_init(torch.nn.Linear, 5, 2)
    assert tuple(e.weight.shape) == tuple(t.weight.shape) and e.weight.requires_grad
    with pytest.raises(RuntimeError, match="Expected a Module"):
        utils.skip_init(int)
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    w = m[0].weight.detach().clone()
    assert utils.convert_conv2d_weight_memory_format(m, ember.channels_last) is m
    assert torch.nn.utils.convert_conv2d_weight_memory_format(torch.nn.Conv2d(2, 3, 3), torch.channels_last)
    _close(m[0].weight, w)
    m3 = nn.Conv3d(1, 2, 2)
    assert utils.convert_conv3d_weight_memory_format(m3, ember.contiguous_format) is m3
    assert torch.nn.utils.convert_conv3d_weight_memory_format(torch.nn.Conv3d(1, 2, 2), torch.contiguous_format)
    e, t = _pair_linear(torch)
    params = {"weight": np.ones((3, 4), np.float32), "bias": np.arange(3, dtype=np.float32)}
    with pytest.warns(FutureWarning):
        ye = utils.stateless.functional_call(e, {k: ember.tensor(v) for k, v in params.items()}, (ember.tensor(X),))
    with pytest.warns(FutureWarning):
        yt = torch.nn.utils.stateless.functional_call(t, {k: torch.tensor(v) for k, v in params.items()},
                                                      (torch.tensor(X),))
    _close(ye, yt)
    _close(e(ember.tensor(X)), t(torch.tensor(X)))  # the module's own parameters are back


def test_uninitialized_parameter_materialize_and_conv_transpose3d():
    torch = _torch()
    p = nn.UninitializedParameter()
    assert isinstance(p, nn.UninitializedParameter) and isinstance(torch.nn.UninitializedParameter(), torch.nn.Parameter)
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.requires_grad
    b = nn.UninitializedBuffer()
    b.materialize((4,))
    assert type(b) is ember.Tensor and tuple(b.shape) == (4,) and not b.requires_grad
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(1, 2, 3, 4, 3)).astype(np.float32), rng.normal(size=(2, 3, 2, 3, 2)).astype(np.float32)
    kw = dict(stride=2, padding=1, output_padding=1)
    xe, we = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ye, yt = nn.functional.conv_transpose3d(xe, we, **kw), torch.nn.functional.conv_transpose3d(xt, wt, **kw)
    _close(ye, yt, 1e-4)
    ye.sum().backward()
    yt.sum().backward()
    _close(xe.grad, xt.grad, 1e-4)
    _close(we.grad, wt.grad, 1e-4)
    assert repr(nn.ConvTranspose3d(2, 3, 2, stride=2)) == repr(torch.nn.ConvTranspose3d(2, 3, 2, stride=2))


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    torch = _torch()
    grads = [np.array([[3.0, -4.0], [1.0, 2.0]], np.float32), np.array([0.5, -12.0, 7.0], np.float32)]
    for norm_type in (2.0, 1.0, float("inf")):
        ge, gt = [ember.tensor(g) for g in grads], [torch.tensor(g) for g in grads]
        ne = ember.nn.utils.get_total_norm(ge, norm_type)
        nt = torch.nn.utils.get_total_norm(gt, norm_type)
        assert abs(ne.item() - nt.item()) < 1e-4
        pe = [nn.Parameter(ember.zeros(*g.shape)) for g in grads]
        pt = [torch.nn.Parameter(torch.zeros(*g.shape)) for g in grads]
        for p, g in zip(pe, grads):
            p.grad = ember.tensor(g)
        for p, g in zip(pt, grads):
            p.grad = torch.tensor(g)
        ember.nn.utils.clip_grads_with_norm_(pe, 1.0, ne)
        torch.nn.utils.clip_grads_with_norm_(pt, 1.0, nt)
        for a, b in zip(pe, pt):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_parametrize_errors_and_sequence_originals_match_torch():
    torch = _torch()

    def make(lib, kind):
        class Half(lib.nn.Module):
            def forward(self, X):
                return X[0] if kind == "shape" else X.double()
        return Half()

    for kind in ("shape", "dtype"):
        with pytest.raises(ValueError) as ee:
            utils.parametrize.register_parametrization(nn.Linear(3, 3), "weight", make(ember, kind))
        with pytest.raises(ValueError) as et:
            torch.nn.utils.parametrize.register_parametrization(torch.nn.Linear(3, 3), "weight", make(torch, kind))
        assert str(ee.value).split("\n")[0] == str(et.value).split("\n")[0]
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        utils.parametrize.register_parametrization(nn.Linear(3, 3), "nope", make(ember, "shape"))
    e, t = _pair_linear(torch)
    utils.parametrizations.weight_norm(e)
    torch.nn.utils.parametrizations.weight_norm(t)
    with ember.no_grad():
        e.weight = ember.ones(3, 4)
    with torch.no_grad():
        t.weight = torch.ones(3, 4)
    _close(e.parametrizations.weight.original0, t.parametrizations.weight.original0)
    _close(e.weight, t.weight)
    with pytest.raises(ValueError, match="sequence of tensors"):
        utils.parametrize.remove_parametrizations(e, "weight", leave_parametrized=False)
    utils.parametrize.remove_parametrizations(e, "weight")
    assert isinstance(e.weight, nn.Parameter) and type(e) is nn.Linear
    _close(e.weight, ember.ones(3, 4))


@pytest.mark.parametrize("shape", [(3, 5), (5, 3)])
def test_orthogonal_householder_without_trivialization_matches_torch(shape):
    torch = _torch()
    e, t = _pair_linear(torch, shape[1], shape[0])
    utils.parametrizations.orthogonal(e, orthogonal_map="householder", use_trivialization=False)
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map="householder", use_trivialization=False)
    _close(e.parametrizations.weight.original, t.parametrizations.weight.original, 1e-4)
    _close(e.weight, t.weight, 1e-4)
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        utils.parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        utils.parametrizations.orthogonal(nn.Linear(3, 3), name="bias")


def test_weight_norm_dim_none_legacy_keys_and_spectral_conv_transpose_match_torch():
    torch = _torch()
    e, t = _pair_linear(torch)
    utils.parametrizations.weight_norm(e, dim=None)
    torch.nn.utils.parametrizations.weight_norm(t, dim=None)
    _close(e.parametrizations.weight.original0, t.parametrizations.weight.original0)
    legacy = nn.Linear(4, 3)
    with pytest.warns(FutureWarning):
        utils.weight_norm(legacy)
    fresh = utils.parametrizations.weight_norm(nn.Linear(4, 3))
    fresh.load_state_dict(legacy.state_dict())
    _close(fresh.weight, legacy.weight)
    e, t = nn.ConvTranspose2d(2, 3, 2), torch.nn.ConvTranspose2d(2, 3, 2)
    utils.parametrizations.spectral_norm(e)
    torch.nn.utils.parametrizations.spectral_norm(t)
    assert tuple(e.parametrizations.weight[0]._u.shape) == tuple(t.parametrizations.weight[0]._u.shape) == (3,)
    with pytest.raises(IndexError, match="Dimension out of range"):
        utils.parametrizations.spectral_norm(nn.Linear(2, 2), dim=2)


def test_legacy_spectral_norm_iterates_and_round_trips_state_dict():
    torch = _torch()
    e, t = _pair_linear(torch, 4, 5)
    utils.spectral_norm(e, n_power_iterations=2)
    torch.nn.utils.spectral_norm(t, n_power_iterations=2)
    with ember.no_grad():
        e.weight_u.copy_(ember.tensor(t.weight_u.numpy()))
        e.weight_v.copy_(ember.tensor(t.weight_v.numpy()))
    for _ in range(3):
        _close(e(ember.tensor(X)), t(torch.tensor(X)), 1e-4)
    _close(e.weight_u, t.weight_u, 1e-4)
    ye, yt = e(ember.tensor(X)), t(torch.tensor(X))
    ye.sum().backward()
    yt.sum().backward()
    _close(e.weight_orig.grad, t.weight_orig.grad, 1e-4)
    f = utils.spectral_norm(nn.Linear(4, 5))
    f.load_state_dict(e.state_dict())
    f.eval(), e.eval()
    _close(f(ember.tensor(X)), e(ember.tensor(X)))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        utils.spectral_norm(f)
    with pytest.raises(ValueError, match="spectral_norm of 'bias' not found"):
        utils.remove_spectral_norm(f, "bias")


def test_prune_chained_container_and_errors_match_torch():
    torch = _torch()
    import torch.nn.utils.prune  # noqa: F401
    e, t = _pair_linear(torch, 5, 4)
    for lib, m in ((utils.prune, e), (torch.nn.utils.prune, t)):
        lib.l1_unstructured(m, "weight", amount=3)
        lib.ln_structured(m, "weight", amount=1, n=1, dim=0)
        lib.l1_unstructured(m, "weight", amount=0.25)
        lib.ln_structured(m, "weight", amount=1, n=float("inf"), dim=-1)
    _close(e.weight_mask, t.weight_mask)
    _close(e.weight, t.weight)
    he, = e._forward_pre_hooks.values()
    ht, = t._forward_pre_hooks.values()
    assert type(he).__name__ == type(ht).__name__ == "PruningContainer" and len(he) == len(ht) == 4
    e3, t3 = _pair_linear(torch, 5, 4, 3)
    _close(utils.prune.L1Unstructured(amount=0.5).prune(e3.weight), torch.nn.utils.prune.L1Unstructured(0.5).prune(t3.weight))
    w = nn.Conv2d(4, 6, 3)
    utils.prune.random_structured(w, "weight", amount=2, dim=1)
    kept = (w.weight_mask.sum(dim=(0, 2, 3)) != 0).numpy()
    assert kept.sum() == 2 and set(np.unique(w.weight_mask.numpy())) <= {0.0, 1.0}
    cases = [lambda lib, L: lib.l1_unstructured(L(2, 2), "weight", amount="a"),
             lambda lib, L: lib.l1_unstructured(L(2, 2), "weight", amount=5),
             lambda lib, L: lib.ln_structured(L(2, 2), "bias", amount=1, n=2, dim=0),
             lambda lib, L: lib.ln_structured(L(2, 2), "weight", amount=1, n=2, dim=3),
             lambda lib, L: lib.remove(L(2, 2), "weight"),
             lambda lib, L: lib.global_unstructured([(L(2, 2), "weight")], pruning_method=lib.LnStructured, amount=1,
                                                    n=1, dim=0)]
    for case in cases:
        with pytest.raises(Exception) as ee:
            case(utils.prune, nn.Linear)
        with pytest.raises(Exception) as et:
            case(torch.nn.utils.prune, torch.nn.Linear)
        assert type(ee.value) is type(et.value)
        assert str(ee.value).replace("ember.nn.utils", "torch.nn.utils") == str(et.value)
    m = nn.Linear(2, 2)
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        utils.prune.l1_unstructured(m, "weight", amount=1, importance_scores=ember.ones(3))
    assert "weight" in m._parameters and not utils.prune.is_pruned(m)


def test_convert_weight_memory_format_relays_only_conv_weights_like_torch():
    torch = _torch()
    e = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ConvTranspose2d(3, 2, 2), nn.Linear(2, 2))
    t = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.ConvTranspose2d(3, 2, 2), torch.nn.Linear(2, 2))
    utils.convert_conv2d_weight_memory_format(e, ember.channels_last)
    torch.nn.utils.convert_conv2d_weight_memory_format(t, torch.channels_last)
    for me, mt in zip(e[:2], t[:2]):
        assert me.weight.is_contiguous(memory_format=ember.channels_last)
        assert mt.weight.is_contiguous(memory_format=torch.channels_last)
        assert isinstance(me.weight, nn.Parameter)
    e3 = nn.Conv3d(1, 2, 2)
    w3 = e3.weight.detach().clone()
    assert utils.convert_conv3d_weight_memory_format(e3, ember.contiguous_format) is e3
    _close(e3.weight, w3)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
        utils.skip_init(nn.ReLU)


def test_fusion_transpose_no_bias_and_errors_match_torch():
    torch = _torch()
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 2, 2, 2)).astype(np.float32)
    rm, rv = rng.normal(size=2).astype(np.float32), rng.uniform(0.5, 2, size=2).astype(np.float32)
    we, be = utils.fuse_conv_bn_weights(ember.tensor(w), None, ember.tensor(rm), ember.tensor(rv), 1e-5, None, None,
                                        transpose=True)
    wt, bt = torch.nn.utils.fuse_conv_bn_weights(torch.tensor(w), None, torch.tensor(rm), torch.tensor(rv), 1e-5,
                                                 None, None, transpose=True)
    _close(we, wt)
    _close(be, bt)
    assert isinstance(we, nn.Parameter) and we.requires_grad == wt.requires_grad == False  # noqa: E712
    with pytest.raises(AssertionError) as ee:
        utils.fuse_linear_bn_eval(nn.Linear(3, 4).eval(), nn.BatchNorm1d(3).eval())
    with pytest.raises(AssertionError) as et:
        torch.nn.utils.fuse_linear_bn_eval(torch.nn.Linear(3, 4).eval(), torch.nn.BatchNorm1d(3).eval())
    assert str(ee.value) == str(et.value)
