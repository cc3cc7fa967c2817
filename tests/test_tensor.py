"""The Tensor object: storage, strides and views, conversions, in-place ops through views, lesson 004."""
import numpy as np
import pytest

import ember
from conftest import assert_same, to_torch

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)


def pair(shape=(2, 3, 4), dtype="float32"):
    n = int(np.prod(shape))
    a = np.arange(n).reshape(shape).astype(dtype)
    return ember.tensor(a), torch.tensor(a)


# ---- storage, strides, views -----------------------------------------------------------------------------
def _layout(t):
    """Shape, strides (those of size-1 dims are irrelevant and may differ), offset, contiguity."""
    st = tuple(s if n != 1 else None for s, n in zip(t.stride(), t.shape))
    return tuple(t.shape), st, t.storage_offset(), t.is_contiguous()


@pytest.mark.parametrize("op", [
    lambda x: x, lambda x: x.t() if x.ndim == 2 else x.transpose(0, 2), lambda x: x.permute(2, 0, 1),
    lambda x: x[1], lambda x: x[:, 1:], lambda x: x[..., ::2], lambda x: x[1, :, 2], lambda x: x.unsqueeze(1),
    lambda x: x[0].unsqueeze(0).expand(3, 3, 4), lambda x: x.narrow(2, 1, 2), lambda x: x.select(1, 2),
    lambda x: x.view(6, 4), lambda x: x.reshape(-1), lambda x: x.flatten(1), lambda x: x[:, None, 1],
    lambda x: x.transpose(1, 2).contiguous(), lambda x: x.mT, lambda x: x.diagonal(0, 1, 2),
    lambda x: x[1:, 1:2].squeeze(1), lambda x: x.unbind(1)[2], lambda x: x.split(2, dim=2)[1],
    lambda x: x.chunk(3, 1)[1], lambda x: x.movedim(0, -1), lambda x: x.unflatten(2, (2, 2)),
])
def test_view_layout_matches_torch(op):
    e, t = pair()
    ev, tv = op(e), op(t)
    assert _layout(ev) == _layout(tv)
    assert_same(ev, tv)


def test_views_share_memory_and_data_ptr():
    x = ember.arange(12.0).view(3, 4)
    v = x[1]
    assert v.data_ptr() == x.data_ptr() + 4 * 4
    assert v.storage_offset() == 4
    assert x.t().data_ptr() == x.data_ptr()
    v[0] = 100
    assert x[1, 0].item() == 100
    x.t()[3, 2] = -5
    assert x[2, 3].item() == -5
    assert x.untyped_storage().data_ptr() == x[2].untyped_storage().data_ptr()
    assert x.element_size() == 4 and x.numel() == 12 and x.dim() == 2 and x.nelement() == 12
    assert x.size() == (3, 4) and x.size(1) == 4 and x.size(-2) == 3 and x.ndim == 2
    assert repr(x.shape) == "torch.Size([3, 4])" and isinstance(x.shape, tuple)
    assert x.shape.numel() == 12


def test_contiguous():
    x = ember.arange(6.0).view(2, 3)
    assert x.contiguous() is x
    y = x.t()
    assert not y.is_contiguous()
    c = y.contiguous()
    assert c.is_contiguous() and c.data_ptr() != x.data_ptr() and c.stride() == (2, 1)
    assert c.tolist() == y.tolist()


def test_view_on_transposed_raises_like_torch():
    """Lesson 004: view needs compatible strides; reshape copies instead."""
    e, t = pair((2, 3))
    with pytest.raises(RuntimeError) as ti:
        t.t().view(6)
    with pytest.raises(RuntimeError) as ei:
        e.t().view(6)
    assert str(ei.value) == str(ti.value)
    assert "view size is not compatible with input tensor's size and stride" in str(ei.value)
    r = e.t().reshape(6)
    assert r.tolist() == t.t().reshape(6).tolist()
    assert r.data_ptr() != e.data_ptr()


@pytest.mark.parametrize("shape,make,target", [
    ((2, 3), lambda x: x.t(), (6,)),
    ((2, 3), lambda x: x.t(), (3, 2)),
    ((2, 3), lambda x: x.t(), (3, 2, 1)),
    ((2, 3), lambda x: x.t(), (1, 3, 2)),
    ((2, 3, 4), lambda x: x.transpose(0, 1), (3, 8)),
    ((2, 3, 4), lambda x: x.transpose(0, 1), (6, 4)),
    ((2, 3, 4), lambda x: x.transpose(1, 2), (2, 12)),
    ((2, 3, 4), lambda x: x.transpose(1, 2), (8, 3)),
    ((2, 3, 4), lambda x: x.permute(2, 0, 1), (4, 6)),
    ((2, 3, 4), lambda x: x.permute(1, 2, 0), (12, 2)),
    ((2, 3, 4), lambda x: x[:, 1:], (2, 8)),
    ((2, 3, 4), lambda x: x[:, :, ::2], (12,)),
    ((2, 3, 4), lambda x: x[:, :, ::2], (6, 2)),
    ((4, 4), lambda x: x[::2], (8,)),
    ((4, 4), lambda x: x[:, :2], (8,)),
    ((4, 4), lambda x: x[:2], (8,)),
    ((1, 4), lambda x: x.expand(3, 4), (12,)),
    ((1, 4), lambda x: x.expand(3, 4), (3, 2, 2)),
    ((3, 1), lambda x: x.expand(3, 4), (3, 2, 2)),
    ((2, 1, 3), lambda x: x.transpose(0, 2), (3, 2)),
])
def test_view_succeeds_exactly_when_torch_does(shape, make, target):
    e, t = pair(shape)
    ev, tv = make(e), make(t)
    try:
        tr = tv.view(*target)
    except RuntimeError as exc:
        with pytest.raises(RuntimeError) as ei:
            ev.view(*target)
        assert str(ei.value) == str(exc)
        # reshape copies exactly then
        er, tr2 = ev.reshape(*target), tv.reshape(*target)
        assert_same(er, tr2)
        assert (er.data_ptr() == e.data_ptr() + er.storage_offset() * 4) == (tr2._base is not None and
                                                                             tr2.untyped_storage().data_ptr() ==
                                                                             t.untyped_storage().data_ptr())
        return
    er = ev.view(*target)
    assert _layout(er) == _layout(tr)
    assert_same(er, tr)
    assert np.shares_memory(er.numpy(), e.numpy())
    # reshape is then a view too
    rr = ev.reshape(*target)
    assert np.shares_memory(rr.numpy(), e.numpy()) and rr.stride() == tr.stride()


def test_view_errors():
    x = ember.arange(6.0)
    with pytest.raises(RuntimeError, match=r"shape '\[4, -1\]' is invalid for input of size 6"):
        x.view(4, -1)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.view(-1, -1)
    with pytest.raises(RuntimeError, match=r"shape '\[5\]' is invalid for input of size 6"):
        x.view(5)
    assert x.view(2, -1).shape == (2, 3) and x.view((3, 2)).shape == (3, 2) and x.view(-1).shape == (6,)


def test_view_dtype_reinterpret():
    x = ember.tensor([1.0, 2.0])
    y = x.view(ember.int32)
    t = torch.tensor([1.0, 2.0]).view(torch.int32)
    assert y.dtype is ember.int32 and y.tolist() == t.tolist()


def test_from_numpy_view_data_ptr():
    a = np.zeros((4, 5), np.float32)
    t = ember.from_numpy(a[1:, 2:])
    assert t.storage_offset() == 7 and t.stride() == (5, 1)


# ---- in-place ops and views (lesson 004) ----------------------------------------------------------------------
def test_clamp_returns_new_tensor_clamp_mutates():
    """Lesson 004: clamp/clip return a new tensor (the original is unchanged); clamp_ works in place."""
    x = ember.tensor([-2.0, 0.5, 3.0])
    y = ember.clamp(x, 0, 1)
    assert x.tolist() == [-2.0, 0.5, 3.0] and y.tolist() == [0.0, 0.5, 1.0]
    assert ember.clip(x, max=0).tolist() == [-2.0, 0.0, 0.0]
    assert x.clamp(min=0).tolist() == [0.0, 0.5, 3.0] and x.tolist() == [-2.0, 0.5, 3.0]
    r = x.clamp_(0, 1)
    assert r is x and x.tolist() == [0.0, 0.5, 1.0]
    z = ember.tensor([-1.0, 5.0])
    z.clip_(max=2)
    assert z.tolist() == [-1.0, 2.0]


@pytest.mark.parametrize("name,args", [
    ("add_", (1.0,)), ("sub_", (2.0,)), ("mul_", (3.0,)), ("div_", (2.0,)), ("clamp_", (1.0, 5.0)),
    ("fill_", (7.0,)), ("zero_", ()), ("pow_", (2,)), ("neg_", ()), ("exp_", ()), ("abs_", ()), ("sqrt_", ()),
    ("masked_fill_", None), ("copy_", None), ("clamp_min_", (3.0,)), ("relu_", ()), ("sigmoid_", ()),
    ("floor_", ()), ("round_", ()), ("tanh_", ()),
])
def test_inplace_writes_through_view(name, args):
    e, t = pair((3, 4))
    ev, tv = e[1:, ::2], t[1:, ::2]
    if name == "masked_fill_":
        ea, ta = (ev > 6, 0.5), (tv > 6, 0.5)
    elif name == "copy_":
        ea, ta = (ember.tensor([9.0, 8.0]),), (torch.tensor([9.0, 8.0]),)
    else:
        ea = ta = args
    re, rt = getattr(ev, name)(*ea), getattr(tv, name)(*ta)
    assert re is ev
    assert_same(e, t)  # the base saw the change
    assert_same(ev, rt)
    assert e._version == e[0]._version  # views share the version counter
    assert e._version > 0


def test_augmented_operators_in_place():
    x = ember.ones(3)
    ptr = x.data_ptr()
    x += 1
    x *= 3
    x -= 1
    x /= 5
    assert x.data_ptr() == ptr and x.tolist() == [1.0, 1.0, 1.0]
    i = ember.tensor([7, 8])
    i //= 2
    assert i.tolist() == [3, 4] and i.dtype is ember.int64
    i %= 3
    assert i.tolist() == [0, 1]
    v = ember.zeros(2, 3)
    v[0] += 5
    assert v.tolist() == [[5, 5, 5], [0, 0, 0]]


def test_inplace_dtype_rules():
    x = ember.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.mul_(0.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.div_(2)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        ember.ones(3).add_(ember.ones(2, 3))


def test_copy_():
    x = ember.zeros(2, 3)
    x.copy_(ember.tensor([1, 2, 3]))
    assert x.tolist() == [[1, 2, 3], [1, 2, 3]] and x.dtype is ember.float32
    x.copy_(np.ones((2, 3)))
    assert x.sum().item() == 6


# ---- conversions and Python protocol ----------------------------------------------------------------------
def test_item_tolist_scalars():
    assert ember.tensor(2.5).item() == 2.5 and isinstance(ember.tensor(2).item(), int)
    assert ember.tensor([[3]]).item() == 3
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        ember.tensor([1, 2]).item()
    assert ember.tensor([[1, 2]]).tolist() == [[1, 2]] and ember.tensor(1.5).tolist() == 1.5
    assert float(ember.tensor([2.5])) == 2.5 and int(ember.tensor(3.9)) == 3
    assert bool(ember.tensor([1])) and not bool(ember.tensor(0.0))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(ember.tensor([1, 2]))
    assert [10, 20, 30][ember.tensor(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][ember.tensor(1.0)]
    assert len(ember.zeros(4, 2)) == 4
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ember.tensor(1.0))
    assert f"{ember.tensor(3.14159):.2f}" == "3.14"


def test_iteration_and_array_protocol():
    x = ember.arange(6).view(3, 2)
    rows = list(x)
    assert len(rows) == 3 and rows[1].tolist() == [2, 3]
    assert np.asarray(x).tolist() == x.tolist()
    assert (np.ones(2) + ember.ones(2)).__class__ is ember.Tensor  # our reflected operator wins


def test_clone_detach():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and type(c.grad_fn).__name__ == "CloneBackward0"
    assert c.data_ptr() != x.data_ptr()
    d = x.detach()
    assert not d.requires_grad and d.data_ptr() == x.data_ptr()
    d[0] = 5  # shared memory, like torch
    assert x[0].item() == 5
    assert x.data.data_ptr() == x.data_ptr() and not x.data.requires_grad


def test_equality_ops_and_hash():
    x = ember.tensor([1, 2])
    assert (x == ember.tensor([1, 3])).tolist() == [True, False]
    assert x.equal(ember.tensor([1, 2])) and not ember.equal(x, ember.tensor([1, 3]))
    assert len({x, ember.tensor([1, 2])}) == 2
    assert (x == None) is False  # noqa: E711


def test_device_basics():
    x = ember.ones(2)
    assert str(x.device) == "cpu" and x.is_cpu and not x.is_cuda
    assert x.to("cpu") is x and x.cpu() is x
    assert ember.cuda.is_available() in (True, False)
    assert ember.device("cpu") == x.device


def test_repr_smoke():
    x = ember.tensor([[0.1022, 0.1142]], requires_grad=True)
    assert repr(x) == repr(torch.tensor([[0.1022, 0.1142]], requires_grad=True))
    y = (x * 2).sum()
    assert repr(y).endswith("grad_fn=<SumBackward0>)")
    assert repr(ember.tensor([1, 2], dtype=ember.int32)) == "tensor([1, 2], dtype=torch.int32)"


def test_deepcopy():
    import copy
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = copy.deepcopy(x)
    assert y.requires_grad and y.data_ptr() != x.data_ptr() and y.tolist() == x.tolist()
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(x * 2)


def test_writing_into_expanded_tensor_errors_like_torch():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                                               "memory location"):
            m.ones(1, 3).expand(2, 3).add_(1)


def test_setitem_shape_errors_like_torch():
    for target, value in [((2, 3), (4,)), ((2, 3, 4), (2, 5)), ((2, 3, 4), (3, 1, 4))]:
        with pytest.raises(RuntimeError) as te:
            torch.zeros(target)[0] = torch.ones(value)
        with pytest.raises(RuntimeError) as ee:
            ember.zeros(target)[0] = ember.ones(value)
        assert str(ee.value) == str(te.value)


def test_python_scalar_conversion_errors():
    for fn in (float, int):
        with pytest.raises(ValueError) as te:
            fn(torch.tensor([1.0, 2.0]))
        with pytest.raises(ValueError) as ee:
            fn(ember.tensor([1.0, 2.0]))
        assert str(ee.value) == str(te.value)
    with pytest.raises(NotImplementedError):
        ember.zeros(2, dtype=ember.int64).uniform_()
    with pytest.raises(NotImplementedError):
        ember.zeros(2, dtype=ember.int64).normal_()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_list_of_sequences_index_is_a_tuple_like_torch():
    e, t = ember.arange(6).view(2, 3), torch.arange(6).view(2, 3)
    assert_same(e[[[0, 1], [1, 2]]], t[[[0, 1], [1, 2]]])
    assert_same(e[[ember.tensor(0), ember.tensor(1)]], t[[torch.tensor(0), torch.tensor(1)]])
    assert_same(e[[slice(None), 1]], t[[slice(None), 1]])
    assert_same(e[[0, 1]], t[[0, 1]])
    assert_same(e[[True, False]], t[[True, False]])
