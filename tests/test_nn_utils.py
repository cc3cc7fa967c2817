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
