"""Movement, concatenation and indexing ops vs torch: values, grads, grad_fn names; gradcheck of every Function."""
import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.ops import movement as M
from conftest import assert_same, to_torch

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)

rng = np.random.default_rng(2)


def pair(shape=(2, 3, 4), dtype=np.float64, requires_grad=True):
    a = rng.standard_normal(shape).astype(dtype)
    e = ember.tensor(a, requires_grad=requires_grad)
    return e, to_torch(torch, e)


def check(fe, ft, shape=(2, 3, 4), names=True, n=1):
    """Value, grad_fn name and input grads as torch, for ``n`` inputs of ``shape``."""
    ps = [pair(shape) for _ in range(n)]
    es, ts = [p[0] for p in ps], [p[1] for p in ps]
    oe, ot = fe(*es), ft(*ts)
    if isinstance(ot, (tuple, list)):
        assert len(oe) == len(ot)
        for a, b in zip(oe, ot):
            assert_same(a, b)
        oe = ember.cat([o.reshape(-1) for o in oe])
        ot = torch.cat([o.reshape(-1) for o in ot])
    else:
        assert_same(oe, ot)
        if names:
            assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
    g = rng.standard_normal(tuple(ot.shape))
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    for e, t in zip(es, ts):
        assert_same(e.grad, t.grad)


MOVES = [
    ("view", lambda x: x.view(6, 4)), ("view_neg", lambda x: x.view(-1, 2)), ("reshape", lambda x: x.reshape(4, 6)),
    ("reshape_copy", lambda x: x.transpose(0, 1).reshape(-1)), ("permute", lambda x: x.permute(2, 0, 1)),
    ("permute_tuple", lambda x: x.permute((1, 2, 0))), ("transpose", lambda x: x.transpose(0, 2)),
    ("swapaxes", lambda x: x.swapaxes(1, -1)), ("mT", lambda x: x.mT), ("t", lambda x: x[0].t()),
    ("T", lambda x: x[0].T), ("contiguous", lambda x: x.transpose(0, 1).contiguous()),
    ("flatten", lambda x: x.flatten()), ("flatten1", lambda x: x.flatten(1)), ("flatten02", lambda x: x.flatten(0, 1)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2))), ("squeeze", lambda x: x[:, :1].squeeze()),
    ("squeeze_dim", lambda x: x[:, :1].squeeze(1)), ("squeeze_noop", lambda x: x.squeeze(0)),
    ("squeeze_tuple", lambda x: x[:1, :1].squeeze((0, 1))),
    ("unsqueeze", lambda x: x.unsqueeze(1)), ("unsqueeze_neg", lambda x: x.unsqueeze(-1)),
    ("expand", lambda x: x[:, :1].expand(2, 5, 4)), ("expand_neg", lambda x: x[:, :1].expand(3, -1, 2, 4)),
    ("expand_as", lambda x: x[:1].expand_as(x)), ("broadcast_to", lambda x: x[:, :1].broadcast_to((2, 3, 4))),
    ("repeat", lambda x: x.repeat(2, 1, 3)), ("repeat_more", lambda x: x.repeat(2, 1, 1, 2)),
    ("tile", lambda x: x.tile((2,))), ("flip", lambda x: x.flip(0, 2)), ("flip_list", lambda x: x.flip([1])),
    ("fliplr", lambda x: x[0].fliplr()), ("roll", lambda x: x.roll(1, 2)), ("roll_multi", lambda x: x.roll((1, -1), (0, 2))),
    ("roll_flat", lambda x: x.roll(3)), ("narrow", lambda x: x.narrow(2, 1, 2)), ("select", lambda x: x.select(1, -1)),
    ("tril", lambda x: x.tril()), ("triu", lambda x: x.triu(1)), ("tril_neg", lambda x: x.tril(-1)),
    ("diagonal", lambda x: x.diagonal()), ("diagonal_off", lambda x: x.diagonal(1, 1, 2)),
    ("movedim", lambda x: x.movedim(0, 2)), ("rot90", lambda x: x[0].rot90()), ("diag", lambda x: x[0, 0].diag()),
    ("diag_mat", lambda x: x[0].diag(1)), ("trace", lambda x: x[0].trace()),
    ("diag_embed", lambda x: ember.diag_embed(x) if isinstance(x, ember.Tensor) else torch.diag_embed(x)),
]


@pytest.mark.parametrize("name,fn", MOVES, ids=[m[0] for m in MOVES])
def test_movement_vs_torch(name, fn):
    check(fn, fn, names=name not in ("rot90", "trace", "diag_mat", "roll_flat", "tile", "diag_embed", "diag",
                                     "fliplr", "diagonal_off"))


SPLITS = [
    ("split", lambda m, x: x.split(2, 2)), ("split_sizes", lambda m, x: x.split([1, 3], -1)),
    ("chunk", lambda m, x: x.chunk(2, 1)), ("chunk_uneven", lambda m, x: x.chunk(3, 2)),
    ("unbind", lambda m, x: x.unbind(1)), ("tensor_split", lambda m, x: m.tensor_split(x, 3, dim=2)),
    ("tensor_split_idx", lambda m, x: m.tensor_split(x, [1, 3], dim=2)),
    ("cat", lambda m, x: m.cat([x, x * 2], 1)), ("cat_neg", lambda m, x: m.cat((x, x[:, :1]), -2)),
    ("stack", lambda m, x: m.stack([x, x + 1], 0)), ("stack_last", lambda m, x: m.stack([x, x], -1)),
    ("hstack", lambda m, x: m.hstack([x, x])), ("vstack", lambda m, x: m.vstack([x[0], x[1]])),
    ("meshgrid", lambda m, x: m.meshgrid(x[0, 0], x[0, 1, :2], indexing="ij")),
    ("meshgrid_xy", lambda m, x: m.meshgrid(x[0, 0], x[0, 1, :2], indexing="xy")),
    ("broadcast_tensors", lambda m, x: m.broadcast_tensors(x, x[0, :1])),
]


@pytest.mark.parametrize("name,fn", SPLITS, ids=[s[0] for s in SPLITS])
def test_split_cat_vs_torch(name, fn):
    check(lambda x: fn(ember, x), lambda x: fn(torch, x))


def test_split_cat_errors():
    with pytest.raises(RuntimeError) as ee:
        ember.cat([ember.ones(2, 3), ember.ones(2, 4)])
    with pytest.raises(RuntimeError) as te:
        torch.cat([torch.ones(2, 3), torch.ones(2, 4)])
    assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError) as ee:
        ember.stack([ember.ones(2, 3), ember.ones(2, 4)])
    with pytest.raises(RuntimeError) as te:
        torch.stack([torch.ones(2, 3), torch.ones(2, 4)])
    assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        ember.cat([ember.tensor(1.0), ember.tensor(2.0)])
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 4"):
        ember.ones(4).split([1, 2])
    assert_same(ember.cat([ember.ones(2, dtype=ember.int64), ember.ones(1)]),
                torch.cat([torch.ones(2, dtype=torch.int64), torch.ones(1)]))


def test_movement_errors_match_torch():
    e, t = ember.ones(2, 3), torch.ones(2, 3)
    cases = [lambda m, x: x.permute(1, 0, 2), lambda m, x: x.expand(3, 4), lambda m, x: x.transpose(0, 2),
             lambda m, x: x.unsqueeze(4), lambda m, x: x.narrow(1, 2, 3), lambda m, x: x.repeat(2),
             lambda m, x: x.view(4, 2), lambda m, x: x.t().view(-1), lambda m, x: x.flatten(1, 0)]
    for c in cases:
        with pytest.raises(Exception) as te:
            c(torch, t)
        with pytest.raises(type(te.value)):
            c(ember, e)


# ---- indexing -----------------------------------------------------------------------------------------------
def _idx(m):
    T = m.tensor
    return [
        (1,), (-1,), (slice(None), 1), (Ellipsis, 2), (slice(0, 2), slice(None), slice(None, None, 2)),
        (None, 0), (0, None, slice(1, 3)), (1, 2, 3), (T([0, 1, 1]),), (T([[0, 1], [1, 0]]),),
        (slice(None), T([2, 0, 2])), (T([0, 1]), T([1, 2])), (T([0, 1]), slice(None), T([3, 0])),
        (T([True, False]),), (slice(None), T([True, False, True])), (T([1, 0]), 1), ([0, 1, 1],),
        (Ellipsis, [1, 3]), (T(1),), (T([[True, False, True], [False, False, True]]),),
        (slice(None), [0, 2], None), (T([0, 1]), None, T([1, 2])), (slice(None), 0, T([1, 3])),
        (T([0, 1])[:, None], T([1, 2])[None, :]), (True,), (T([-1, -2]),),
    ]


@pytest.mark.parametrize("k", range(len(_idx(ember))))
def test_getitem_vs_torch(k):
    e, t = pair()
    ke, kt = _idx(ember)[k], _idx(torch)[k]
    oe, ot = e[ke], t[kt]
    assert_same(oe, ot)
    assert type(oe.grad_fn).__name__ == type(ot.grad_fn).__name__
    if ot._base is not None:  # basic indexing: a view sharing memory
        assert np.shares_memory(oe.detach().numpy(), e.detach().numpy())
        assert oe.stride() == ot.stride() or oe.numel() <= 1 or 1 in oe.shape
    g = rng.standard_normal(tuple(ot.shape))
    oe.backward(ember.tensor(g))
    ot.backward(torch.tensor(g))
    assert_same(e.grad, t.grad)


@pytest.mark.parametrize("k", range(len(_idx(ember))))
def test_setitem_vs_torch(k):
    e, t = pair(requires_grad=False)
    ke, kt = _idx(ember)[k], _idx(torch)[k]
    shape = tuple(t[kt].shape)
    v = rng.standard_normal(shape)
    e[ke] = ember.tensor(v)
    t[kt] = torch.tensor(v)
    assert_same(e, t)
    e[ke] = 0.5
    t[kt] = 0.5
    assert_same(e, t)
    if len(shape):
        v1 = rng.standard_normal(shape[-1:])  # broadcast value
        e[ke] = ember.tensor(v1)
        t[kt] = torch.tensor(v1)
        assert_same(e, t)


def test_setitem_grads():
    """x[idx] = v records in the graph: v's grad is g[idx], the overwritten part of x gets none."""
    for k in [(1,), (slice(None), [0, 2]), ([True, False],), (0, slice(1, 3), 2)]:
        a, ta = pair()
        v, tv = pair(tuple(ta[k].shape))
        x, tx = a * 1, ta * 1
        x[k] = v * 2
        tx[k] = tv * 2
        assert type(x.grad_fn).__name__ == type(tx.grad_fn).__name__
        g = rng.standard_normal(tuple(tx.shape))
        x.backward(ember.tensor(g))
        tx.backward(torch.tensor(g))
        assert_same(a.grad, ta.grad)
        assert_same(v.grad, tv.grad)


def test_index_errors():
    e, t = ember.ones(2, 3), torch.ones(2, 3)
    for k in [5, (0, 3), (slice(None), 7), -3]:
        with pytest.raises(IndexError) as te:
            t[k]
        with pytest.raises(IndexError) as ee:
            e[k]
        assert str(ee.value) == str(te.value)
    with pytest.raises(IndexError):
        e[ember.tensor([0, 5])]
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        e[ember.tensor([0.0])]
    with pytest.raises(IndexError):
        e[0, 0, 0]


def test_setitem_leaf_requires_grad_error():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        x[0] = 2.0
    with ember.no_grad():
        x[0] = 2.0
    assert x.tolist() == [2.0, 1.0, 1.0]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_scatter(dim):
    e, t = pair((3, 4))
    idx = rng.integers(0, 3 if dim == 0 else 4, (2, 3))
    ie, it = ember.tensor(idx), torch.tensor(idx)
    check(lambda x: x.gather(dim, ie), lambda x: x.gather(dim, it), shape=(3, 4))
    src_e, src_t = pair((3, 4))
    # scatter with unique positions (duplicates are unspecified in torch)
    perm = np.stack([rng.permutation(3 if dim == 0 else 4)[:2] for _ in range(3)], 1) if dim == 0 else \
        np.stack([rng.permutation(4)[:3] for _ in range(2)], 0)
    pe, pt = ember.tensor(perm), torch.tensor(perm)
    # src the size of index: torch's own backward rejects a larger src ("invalid gradient")
    check(lambda x, s: x.scatter(dim, pe, s[:2, :3]), lambda x, s: x.scatter(dim, pt, s[:2, :3]), shape=(3, 4), n=2)
    check(lambda x: x.scatter(dim, pe, 2.5), lambda x: x.scatter(dim, pt, 2.5), shape=(3, 4))
    check(lambda x, s: x.scatter_add(dim, ie, s[:2, :3]), lambda x, s: x.scatter_add(dim, it, s[:2, :3]), shape=(3, 4),
          n=2)
    assert_same(e.detach().scatter(dim, ie, src_e.detach(), reduce="add"), t.detach().scatter(dim, it, src_t.detach(), reduce="add"))
    assert_same(ember.scatter_reduce(e.detach(), dim, ie, src_e.detach(), "amax"),
                torch.scatter_reduce(t.detach(), dim, it, src_t.detach(), "amax"))
    i2 = rng.integers(0, 3 if dim == 0 else 4, (2, 1) if dim == 0 else (1, 2))
    assert_same(ember.take_along_dim(e.detach(), ember.tensor(i2), dim), torch.take_along_dim(t.detach(), torch.tensor(i2), dim))
    with pytest.raises(RuntimeError, match="must match the size"):
        ember.take_along_dim(e, ie, 0)


def test_gather_errors():
    e = ember.ones(2, 3)
    with pytest.raises(RuntimeError, match="gather\\(\\): Expected dtype int64 for index"):
        e.gather(1, ember.tensor([[0]], dtype=ember.int32))
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions as input tensor"):
        e.gather(1, ember.tensor([0]))
    with pytest.raises(RuntimeError, match="out of bounds"):
        e.gather(1, ember.tensor([[5]]))


@pytest.mark.parametrize("dim", [0, 1])
def test_index_select_add_copy_fill(dim):
    idx = [2, 0, 2]
    ie, it = ember.tensor(idx), torch.tensor(idx)
    check(lambda x: x.index_select(dim, ie), lambda x: x.index_select(dim, it), shape=(3, 3))
    shp = (3, 3)
    check(lambda x, s: x.index_add(dim, ie, s, alpha=2), lambda x, s: x.index_add(dim, it, s, alpha=2), shape=shp, n=2)
    uniq_e, uniq_t = ember.tensor([2, 0]), torch.tensor([2, 0])
    check(lambda x, s: x.index_copy(dim, uniq_e, s.narrow(dim, 0, 2)),
          lambda x, s: x.index_copy(dim, uniq_t, s.narrow(dim, 0, 2)), shape=shp, n=2, names=False)
    check(lambda x: x.index_fill(dim, uniq_e, -1.0), lambda x: x.index_fill(dim, uniq_t, -1.0), shape=shp, names=False)
    with pytest.raises(IndexError):
        ember.ones(3).index_select(0, ember.tensor([[0]]))


def test_masked_ops():
    m = rng.random((3, 4)) > 0.5
    me, mt = ember.tensor(m), torch.tensor(m)
    check(lambda x: x.masked_fill(me, -1.0), lambda x: x.masked_fill(mt, -1.0), shape=(3, 4))
    check(lambda x: x.masked_fill(me[0], 2.0), lambda x: x.masked_fill(mt[0], 2.0), shape=(3, 4))
    check(lambda x: x.masked_select(me), lambda x: x.masked_select(mt), shape=(3, 4), names=False)
    check(lambda x: x.masked_select(me[1]), lambda x: x.masked_select(mt[1]), shape=(3, 4), names=False)
    check(lambda x: x[me], lambda x: x[mt], shape=(3, 4))
    e, t = pair((3, 4), requires_grad=False)
    e.masked_fill_(me, 0.0)
    t.masked_fill_(mt, 0.0)
    assert_same(e, t)
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        e.masked_fill(ember.tensor([[1, 0, 1, 0]] * 3), 0.0)
    i = ember.tensor([1, 2, 3])
    assert_same(i.masked_fill(ember.tensor([True, False, True]), 2.7),
                torch.tensor([1, 2, 3]).masked_fill(torch.tensor([True, False, True]), 2.7))


def test_nonzero_argwhere():
    v = [[0, 1, 0], [2, 0, 3]]
    assert_same(ember.nonzero(ember.tensor(v)), torch.nonzero(torch.tensor(v)))
    assert_same(ember.nonzero(ember.tensor(v), as_tuple=True), torch.nonzero(torch.tensor(v), as_tuple=True))
    assert_same(ember.tensor(v).nonzero(), torch.tensor(v).nonzero())
    assert_same(ember.argwhere(ember.tensor(v)), torch.argwhere(torch.tensor(v)))
    assert_same(ember.nonzero(ember.tensor([0.0, 0.0])), torch.nonzero(torch.tensor([0.0, 0.0])))
    assert_same(ember.where(ember.tensor(v) > 0), torch.where(torch.tensor(v) > 0))


def test_index_put_accumulate():
    e, t = ember.zeros(5), torch.zeros(5)
    ie, it = ember.tensor([0, 2, 0]), torch.tensor([0, 2, 0])
    assert_same(e.index_put((ie,), ember.tensor([1.0, 2.0, 3.0]), accumulate=True),
                t.index_put((it,), torch.tensor([1.0, 2.0, 3.0]), accumulate=True))
    e.index_put_((ie,), ember.tensor(1.0), accumulate=True)
    t.index_put_((it,), torch.tensor(1.0), accumulate=True)
    assert_same(e, t)


def test_repeat_interleave_take_unique():
    e, t = ember.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]])
    assert_same(e.repeat_interleave(2), t.repeat_interleave(2))
    assert_same(e.repeat_interleave(2, dim=0), t.repeat_interleave(2, dim=0))
    assert_same(e.repeat_interleave(ember.tensor([1, 2]), dim=1), t.repeat_interleave(torch.tensor([1, 2]), dim=1))
    assert_same(ember.take(e, ember.tensor([0, 3])), torch.take(t, torch.tensor([0, 3])))
    u = [3, 1, 3, 2]
    assert_same(ember.unique(ember.tensor(u)), torch.unique(torch.tensor(u)))
    assert_same(ember.unique(ember.tensor(u), return_counts=True, return_inverse=True),
                torch.unique(torch.tensor(u), return_counts=True, return_inverse=True))


def test_inplace_on_view_writes_base_and_grad():
    """In-place on a view of a non-leaf: the base sees it and gradients flow like torch."""
    a, ta = pair((2, 3))
    b, tb = a * 1, ta * 1
    b[0].mul_(2) if False else None
    b[:, 1] = b[:, 1] * 3
    tb[:, 1] = tb[:, 1] * 3
    assert_same(b, tb)
    b.sum().backward()
    tb.sum().backward()
    assert_same(a.grad, ta.grad)


# ---- gradcheck of every Function in ember/ops/movement.py -------------------------------------------------
def g64(shape):
    return ember.tensor(rng.standard_normal(shape), dtype=ember.float64, requires_grad=True)


I = ember.tensor
GRADCHECK = [
    ("View", lambda x: M.View.apply(x, (3, 4))), ("Reshape", lambda x: M.Reshape.apply(x.t(), (12,))),
    ("Permute", lambda x: M.Permute.apply(x.view(2, 3, 2), (2, 0, 1))),
    ("Transpose", lambda x: M.Transpose.apply(x, 0, 1)), ("T", lambda x: M.T.apply(x, 0, 1)),
    ("Expand", lambda x: M.Expand.apply(x[:1], (2, 4, 4))), ("Squeeze", lambda x: M.Squeeze.apply(x[:1], 0)),
    ("SqueezeAll", lambda x: M.SqueezeAll.apply(x[:1, None])), ("SqueezeDims", lambda x: M.SqueezeDims.apply(x[:1], (0,))),
    ("Unsqueeze", lambda x: M.Unsqueeze.apply(x, 1)), ("Contiguous", lambda x: M.Contiguous.apply(x.t())),
    ("Clone", lambda x: M.Clone.apply(x)), ("ToDevice", lambda x: M.ToDevice.apply(x, ember.device("cpu"))),
    ("Cat", lambda x: M.Cat.apply(1, x, x[:, :2] * 2)), ("Stack", lambda x: M.Stack.apply(0, x, x * x)),
    ("Index", lambda x: M.Index.apply(x, (np.array([0, 2, 0]),))),
    ("Index_bool", lambda x: M.Index.apply(x, (np.array([True, False, True]), np.array([1, 3])))),
    ("Slice", lambda x: M.Slice.apply(x, (slice(1, None), slice(None, None, 2)))),
    ("Select", lambda x: M.Select.apply(x, (1,))), ("SliceUnsqueeze", lambda x: M.SliceUnsqueeze.apply(x, (None, 1))),
    ("SliceAlias", lambda x: M.SliceAlias.apply(x, (Ellipsis,))),
    ("RefreshedView", lambda x: M.RefreshedView.apply(x, (np.array([[0], [2]]), np.array([[1, 3]])))),
    ("Split", lambda x: M.Split.apply(x, 0, (2, 2, 1))[1] * M.Split.apply(x, 0, (2, 2, 1))[0]),
    ("SplitWithSizes", lambda x: M.SplitWithSizes.apply(x, 1, (2, 1, 1))[0]),
    ("Unbind", lambda x: M.Unbind.apply(x, 1, (1, 1, 1, 1), True)[2]),
    ("IndexGrad", lambda x: M.IndexGrad.apply(x, (5, 4), (np.array([0, 4, 0]),))),
    ("IndexPut", lambda x: M.IndexPut.apply(x, (np.array([1, 0]),), x[2:] * 3)),
    ("IndexPut_acc", lambda x: M.IndexPut.apply(x, (np.array([1, 1]),), x[:2] * 3, True)),
    ("IndexPutAdvanced", lambda x: M.IndexPutAdvanced.apply(x, (np.array([1, 2]), np.array([0, 0])), x[0, :2])),
    ("Gather", lambda x: M.Gather.apply(x, 1, I([[0, 3], [1, 1], [2, 0]]))),
    ("Scatter", lambda x: M.Scatter.apply(x, 1, I([[0, 3], [1, 2], [2, 0]]), x[:, 1:3] * 2)),
    ("ScatterValue", lambda x: M.ScatterValue.apply(x, 1, I([[0, 3], [1, 2], [2, 0]]), 1.5)),
    ("ScatterAdd", lambda x: M.ScatterAdd.apply(x, 0, I([[0, 0, 2, 1]]), x[1:2] * 2)),
    ("IndexSelect", lambda x: M.IndexSelect.apply(x, 1, I([3, 0, 3]))),
    ("IndexAdd", lambda x: M.IndexAdd.apply(x, 0, I([2, 2]), x[:2] * 2, 0.5)),
    ("MaskedFill", lambda x: M.MaskedFill.apply(x, x > 0, 0.5)),
    ("MaskedFill_tensor", lambda x: M.MaskedFill.apply(x, x > 0, x[0, 0] * 2)),
    ("Flip", lambda x: M.Flip.apply(x, (0, 1))), ("Roll", lambda x: M.Roll.apply(x, (1, 2), (0, 1))),
    ("Tri", lambda x: M.Tri.apply(x, 1)), ("Triu", lambda x: M.Triu.apply(x, -1)),
    ("Repeat", lambda x: M.Repeat.apply(x, (2, 1, 2))),
    ("Diagonal", lambda x: M.Diagonal.apply(x, 1, 0, 1)),
    ("DiagonalSet", lambda x: M.DiagonalSet.apply(ember.zeros(4, 4, dtype=ember.float64), x[0, :3], -1, 0, 1)),
]


@pytest.mark.parametrize("name,fn", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn):
    assert gradcheck(fn, (g64((3, 4)),))


def test_every_movement_function_is_gradchecked():
    from ember.autograd import Function
    names = {n for n, v in vars(M).items() if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    assert names <= {g[0].split("_")[0] for g in GRADCHECK}, names - {g[0].split("_")[0] for g in GRADCHECK}


# ---- property tests ------------------------------------------------------------------------------------------
from hypothesis import given, settings, strategies as st, HealthCheck  # noqa: E402


@st.composite
def strided_view(draw):
    """A random view (permute + slicing) of a random contiguous tensor, and a target shape."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    perm = draw(st.permutations(range(len(shape))))
    slices = tuple(slice(draw(st.integers(0, shape[p] - 1)), None, draw(st.integers(1, 2))) for p in perm)
    return shape, tuple(perm), slices, draw(st.integers(0, 2 ** 16))


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(sv=strided_view(), data=st.data())
def test_property_view_reshape_match_torch(sv, data):
    shape, perm, slices, seed = sv
    base = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    e, t = ember.tensor(base), torch.tensor(base)
    ev, tv = e.permute(perm)[slices], t.permute(perm)[slices]
    assert tuple(ev.shape) == tuple(tv.shape) and ev.storage_offset() == tv.storage_offset()
    assert ev.is_contiguous() == tv.is_contiguous()
    n = tv.numel()
    # a target shape: split n into factors, sometimes with -1
    factors, rest = [], n
    for _ in range(data.draw(st.integers(0, 3))):
        divs = [d for d in range(1, rest + 1) if rest % d == 0]
        f = data.draw(st.sampled_from(divs))
        factors.append(f)
        rest //= f
    target = factors + [rest]
    if data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    try:
        tr = tv.view(*target)
    except RuntimeError as exc:
        with pytest.raises(RuntimeError) as ee:
            ev.view(*target)
        assert str(ee.value) == str(exc)
    else:
        er = ev.view(*target)
        assert_same(er, tr)
        assert er.storage_offset() == tr.storage_offset()
        assert [s for s, k in zip(er.stride(), er.shape) if k != 1] == [s for s, k in zip(tr.stride(), tr.shape) if k != 1]
    assert_same(ev.reshape(*target), tv.reshape(*target))
    assert_same(ev.contiguous(), tv.contiguous())


def test_negative_slice_step_refused_like_torch():
    for k in [slice(None, None, -1), slice(None, None, 0)]:
        with pytest.raises(ValueError) as te:
            torch.arange(5)[k]
        with pytest.raises(ValueError) as ee:
            ember.arange(5)[k]
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        ember.arange(5)[::-1] = 1


@pytest.mark.parametrize("have,size", [((3, 4), (-1, 3)), ((3, 4), (2, -1)), ((3, 4), (2, 3)), ((3, 1), (-1, -1, 2)),
                                       ((2, 3, 4), (3, 4)), ((3, 4), (5, -1, 4))])
def test_expand_errors_name_the_innermost_mismatch_as_torch(have, size):
    if torch is None:
        pytest.skip("torch not installed")
    try:
        want = tuple(torch.ones(*have).expand(*size).shape)
    except RuntimeError as e:
        want = str(e)
    try:
        got = tuple(ember.ones(*have).expand(*size).shape)
    except RuntimeError as e:
        got = str(e)
    assert got == want
