"""The autograd engine: graph nodes, backward semantics, grad modes, hooks, higher order, custom Functions."""
import numpy as np
import pytest

import ember
from ember.autograd import Function, gradcheck, gradgradcheck
from conftest import assert_same, to_torch

from conftest import TORCH as torch  # None without PyTorch: the parity tests then skip (see conftest)


def leaf(vals=(1.0, 2.0, 3.0), m=ember):
    return m.tensor(list(vals), requires_grad=True)


# ---- nodes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    lambda m, x: x + 1, lambda m, x: x * 2, lambda m, x: x - x, lambda m, x: x / 3, lambda m, x: -x, lambda m, x: x.sum(),
    lambda m, x: x.sum(0), lambda m, x: x.mean(), lambda m, x: x.mean(0), lambda m, x: x.view(3, 1),
    lambda m, x: x.reshape(1, 3), lambda m, x: x.exp(), lambda m, x: x.pow(2), lambda m, x: x ** 3,
    lambda m, x: m.addmm(x, x.view(3, 1), x.view(1, 3)), lambda m, x: x.unsqueeze(0) @ x.view(3, 1) if False else
    x.view(1, 3).mm(x.view(3, 1)), lambda m, x: x[0], lambda m, x: x[1:], lambda m, x: x.t(), lambda m, x: x.relu(),
    lambda m, x: x.sigmoid(), lambda m, x: x.tanh(), lambda m, x: x.max(), lambda m, x: x.max(0)[0],
    lambda m, x: x.expand(2, 3), lambda m, x: x.clone(), lambda m, x: x.abs(), lambda m, x: m.cat([x, x]),
    lambda m, x: m.stack([x, x]), lambda m, x: x.unsqueeze(1), lambda m, x: x.squeeze(), lambda m, x: x.log(),
    lambda m, x: 1 - x, lambda m, x: x.double(), lambda m, x: x.permute(0), lambda m, x: x.norm(),
    lambda m, x: x.var(), lambda m, x: x.std(), lambda m, x: x.prod(), lambda m, x: x.cumsum(0),
    lambda m, x: x.flip(0), lambda m, x: x.masked_fill(x > 1, 0), lambda m, x: x.where(x > 1, x * 2),
    lambda m, x: x.clamp(0, 1), lambda m, x: x.clamp(min=0), lambda m, x: m.maximum(x, x * 2),
    lambda m, x: x.amax(), lambda m, x: x.logsumexp(0), lambda m, x: x.index_select(0, m.tensor([0, 2])),
    lambda m, x: x.gather(0, m.tensor([0, 0])), lambda m, x: x.repeat(2), lambda m, x: x.split(1)[1],
    lambda m, x: x.roll(1), lambda m, x: x.sqrt(), lambda m, x: x.sin(), lambda m, x: x.square(),
])
def test_grad_fn_names_and_next_functions(expr):
    e, t = expr(ember, leaf()), expr(torch, leaf(m=torch))
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    assert e.grad_fn.name() == t.grad_fn.name()
    ne = [(type(f).__name__ if f is not None else None, i) for f, i in e.grad_fn.next_functions]
    nt = [(type(f).__name__ if f is not None else None, i) for f, i in t.grad_fn.next_functions]
    assert ne == nt
    assert repr(e.grad_fn).startswith(f"<{t.grad_fn.name()} object at 0x")


def test_accumulate_grad_node():
    x = leaf()
    y = x * 2
    acc = y.grad_fn.next_functions[0][0]
    assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x
    assert (x + 1).grad_fn.next_functions[0][0] is acc  # one AccumulateGrad per leaf
    assert x.grad_fn is None and x.is_leaf and not y.is_leaf


# ---- backward ------------------------------------------------------------------------------------------------
def test_backward_needs_scalar():
    """Lesson 002: loss.backward() needs a scalar (or an explicit gradient)."""
    x = leaf()
    y = x * 2
    with pytest.raises(RuntimeError) as ee:
        y.backward()
    tx = leaf(m=torch)
    with pytest.raises(RuntimeError) as te:
        (tx * 2).backward()
    assert str(ee.value) == str(te.value) == "grad can be implicitly created only for scalar outputs"
    y.backward(ember.ones(3))
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    x.grad = None
    (x * 2).backward(gradient=ember.tensor([1.0, 0.0, -1.0]))
    assert x.grad.tolist() == [2.0, 0.0, -2.0]
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(ember.ones(2))
    # a one-element non-0-d output is fine
    (x.sum().view(1)).backward()


def test_cross_entropy_style_loss_is_scalar():
    """Lesson 002: the batch loss is the mean of per-sample losses, a 0-d tensor."""
    score = ember.randn(8, 10, requires_grad=True)
    target = ember.randint(0, 10, (8,))
    per = score.logsumexp(1) - score.gather(1, target.view(-1, 1)).squeeze(1)
    loss = per.mean()
    assert loss.shape == () and loss.dim() == 0
    loss.backward()
    assert score.grad.shape == (8, 10)
    assert abs(score.grad.sum().item()) < 1e-5  # softmax - onehot rows sum to 0


def test_backward_errors():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        ember.ones(2).sum().backward()
    x = leaf()
    with ember.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for real scalar outputs"):
        ember.tensor(1, dtype=ember.int64).requires_grad_(False).sum().backward() if False else \
            _int_scalar_backward()


def _int_scalar_backward():
    from ember.autograd.engine import _make_grads
    _make_grads([ember.tensor(1)], [None])


def test_grad_accumulates_across_calls():
    x = leaf()
    for _ in range(3):
        (x * x).sum().backward()
    assert x.grad.tolist() == [6.0, 12.0, 18.0]
    x.grad.zero_()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_grad_of_shared_subexpression():
    x = leaf()
    y = x * x
    z = y + y * 3 + y.exp()
    z.sum().backward()
    tx = leaf(m=torch)
    ty = tx * tx
    (ty + ty * 3 + ty.exp()).sum().backward()
    assert_same(x.grad, tx.grad)


def test_retain_graph_and_freed_graph():
    x = leaf()
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0, 12.0]
    with pytest.raises(RuntimeError) as ee:
        y.backward()
    tx = leaf(m=torch)
    ty = (tx * tx).sum()
    ty.backward()
    with pytest.raises(RuntimeError) as te:
        ty.backward()
    assert str(ee.value) == str(te.value)
    assert "Trying to backward through the graph a second time" in str(ee.value)


def test_backward_inputs_argument():
    a, b = leaf(), leaf((4.0, 5.0, 6.0))
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [4.0, 5.0, 6.0] and b.grad is None


def test_leaf_and_requires_grad_flags():
    x = ember.ones(2)
    assert x.is_leaf and not x.requires_grad
    x.requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
        ember.ones(2, dtype=ember.int64).requires_grad_()
    z = ember.ones(2) * 3  # no input requires grad: a leaf
    assert z.is_leaf and z.grad_fn is None
    assert not (x > 0).requires_grad and (x > 0).is_leaf  # comparisons are not differentiable
    assert not x.argmax().requires_grad
    assert not x.max(0).indices.requires_grad


def test_retain_grad():
    x = leaf()
    y = x * 2
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    z = (y * y).sum()
    z.backward()
    assert y.grad.tolist() == [4.0, 8.0, 12.0]
    w = x * 3
    (w.sum()).backward()
    assert w.grad is None  # non-leaf without retain_grad


def test_detach_and_detach_():
    x = leaf()
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.data_ptr() == y.data_ptr()
    z = (d * x).sum()
    z.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    y2 = x * 2
    y2.detach_()
    assert not y2.requires_grad and y2.grad_fn is None


# ---- grad modes -----------------------------------------------------------------------------------------------
def test_no_grad_enable_grad_context_managers():
    x = leaf()
    with ember.no_grad():
        y = x * 2
        assert not ember.is_grad_enabled()
        with ember.enable_grad():
            z = x * 2
            assert ember.is_grad_enabled()
    assert ember.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_mode_decorators():
    x = leaf()

    @ember.no_grad()
    def f(a):
        return a * 2

    @ember.no_grad
    def g(a):
        return a * 2

    @ember.enable_grad()
    def h(a):
        return a * 2

    @ember.inference_mode()
    def i(a):
        return a * 2

    @ember.set_grad_enabled(False)
    def j(a):
        return a * 2

    assert not f(x).requires_grad and not g(x).requires_grad and not i(x).requires_grad and not j(x).requires_grad
    assert ember.is_grad_enabled()
    with ember.no_grad():
        assert h(x).requires_grad
    assert f.__name__ == "f"


def test_set_grad_enabled_and_inference_mode():
    x = leaf()
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with ember.set_grad_enabled(True):
        assert (x * 2).requires_grad
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)
    assert ember.is_grad_enabled()
    with ember.inference_mode():
        assert not (x * 2).requires_grad and ember.is_inference_mode_enabled()
    assert not ember.is_inference_mode_enabled()
    with ember.inference_mode(False):
        assert (x * 2).requires_grad
    with ember.autograd.no_grad():
        assert not ember.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError
    assert ember.is_grad_enabled()


def test_no_grad_creation_and_inplace_on_leaf():
    w = leaf()
    with ember.no_grad():
        w -= 0.5 * ember.ones(3)  # the manual SGD step
        w.mul_(2)
    assert w.is_leaf and w.requires_grad and w.tolist() == [1.0, 3.0, 5.0]


def test_leaf_inplace_error():
    x = leaf()
    with pytest.raises(RuntimeError) as ee:
        x.add_(1)
    with pytest.raises(RuntimeError) as te:
        leaf(m=torch).add_(1)
    assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        x += 1
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.zero_()


# ---- hooks ----------------------------------------------------------------------------------------------------
def test_register_hook_on_leaf_and_nonleaf():
    x = leaf()
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 2
    hy = y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
    y.sum().backward()
    assert seen == [[20.0, 20.0, 20.0]] and x.grad.tolist() == [20.0, 20.0, 20.0]
    h.remove()
    hy.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert seen == [[20.0, 20.0, 20.0]] and x.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        ember.ones(2).register_hook(lambda g: g)


def test_hook_vs_torch():
    def run(m):
        x = leaf(m=m)
        y = x.exp()
        y.register_hook(lambda g: g * g)
        z = (y * x).sum()
        z.backward()
        return x.grad
    assert_same(run(ember), run(torch))


# ---- autograd.grad and higher order -----------------------------------------------------------------------------
def test_autograd_grad_basic():
    x = leaf()
    y = (x ** 2).sum()
    (g,) = ember.autograd.grad(y, x)
    assert g.tolist() == [2.0, 4.0, 6.0] and x.grad is None
    a, b = leaf(), leaf((1.0, 1.0, 1.0))
    ga, gb = ember.autograd.grad((a * b).sum(), [a, b])
    assert ga.tolist() == [1.0, 1.0, 1.0] and gb.tolist() == [1.0, 2.0, 3.0]
    out = a * 2
    (g2,) = ember.autograd.grad(out, a, grad_outputs=ember.tensor([1.0, 2.0, 3.0]))
    assert g2.tolist() == [2.0, 4.0, 6.0]


def test_autograd_grad_allow_unused():
    a, b = leaf(), leaf()
    y = (a * 2).sum()
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors appears to not have been used in the graph"):
        ember.autograd.grad(y, [a, b], retain_graph=True)
    ga, gb = ember.autograd.grad(y, [a, b], allow_unused=True, retain_graph=True)
    assert ga.tolist() == [2.0, 2.0, 2.0] and gb is None
    ga, gb = ember.autograd.grad(y, [a, b], materialize_grads=True)
    assert gb.tolist() == [0.0, 0.0, 0.0]


def test_second_derivative_of_cube():
    """d²/dx² x³ = 6x, through create_graph=True."""
    x = ember.tensor([1.0, 2.0, -3.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.tolist() == [3.0, 12.0, 27.0]
    (h,) = ember.autograd.grad(g.sum(), x)
    assert h.tolist() == [6.0, 12.0, -18.0]
    # third derivative: 6
    x2 = ember.tensor(2.0, requires_grad=True)
    (d1,) = ember.autograd.grad(x2 ** 3, x2, create_graph=True)
    (d2,) = ember.autograd.grad(d1, x2, create_graph=True)
    (d3,) = ember.autograd.grad(d2, x2)
    assert (d1.item(), d2.item(), d3.item()) == (12.0, 12.0, 6.0)


@pytest.mark.parametrize("fn", [
    lambda m, x: (x.sin() * x.exp()).sum(), lambda m, x: (x.tanh() ** 2).sum(), lambda m, x: x.sigmoid().prod(),
    lambda m, x: (x.log_softmax(0) if hasattr(x, "log_softmax") else x).sum() if False else x.logsumexp(0),
    lambda m, x: (x.view(3, 1) @ x.view(1, 3)).norm(), lambda m, x: (x / (1 + x * x)).sum(),
    lambda m, x: x.std(), lambda m, x: (m.maximum(x, x.flip(0) * 0.5) ** 2).sum(),lambda m, x: x.abs().pow(1.5).sum(),
    lambda m, x: m.where(x > 0, x * x, -x).sum(), lambda m, x: x.cumprod(0).sum(),
])
def test_hessian_vector_products_vs_torch(fn):
    def run(m):
        x = m.tensor([0.3, -1.2, 2.0], dtype=m.float64, requires_grad=True)
        (g,) = m.autograd.grad(fn(m, x), x, create_graph=True)
        (h,) = m.autograd.grad((g * m.tensor([1.0, -2.0, 0.5], dtype=m.float64)).sum(), x)
        return g.detach(), h
    (ge, he), (gt, ht) = run(ember), run(torch)
    assert_same(ge, gt)
    assert_same(he, ht)


def test_backward_create_graph_then_grad_of_grad():
    x = ember.tensor([2.0], requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.item() == 12.0
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0  # d/dx 3x² = 6x


def test_gradcheck_and_gradgradcheck_themselves():
    x = ember.tensor([0.5, -0.3], dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda a: (a.sin() * a).sum(), (x,))
    assert gradgradcheck(lambda a: (a ** 3).sum(), (x,))

    class Wrong(Function):
        @staticmethod
        def forward(ctx, a):
            return a._data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    with pytest.raises(ember.autograd.GradcheckError):
        gradcheck(Wrong.apply, (x,))
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False


# ---- custom Functions -------------------------------------------------------------------------------------------
class MyExp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class ScaleShift(Function):
    @staticmethod
    def forward(ctx, x, w, k):
        ctx.save_for_backward(x, w)
        ctx.k = k
        ctx.seen = ctx.needs_input_grad
        return x * w + k

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = g * w if ctx.needs_input_grad[0] else None
        gw = (g * x).sum(0) if ctx.needs_input_grad[1] else None
        return gx, gw, None


def test_custom_function():
    x = ember.tensor([0.0, 1.0], dtype=ember.float64, requires_grad=True)
    y = MyExp.apply(x)
    assert type(y.grad_fn).__name__ == "MyExpBackward" and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]))
    assert gradcheck(MyExp.apply, (x,))
    assert gradgradcheck(MyExp.apply, (x,))
    # torch names user nodes the same way
    class TMyExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()

        @staticmethod
        def backward(ctx, g):
            return g
    assert type(TMyExp.apply(torch.ones(1, requires_grad=True)).grad_fn).__name__ == "TMyExpBackward"


def test_custom_function_needs_input_grad():
    x = ember.ones(2, 3, dtype=ember.float64, requires_grad=True)
    w = ember.ones(3, dtype=ember.float64)
    out = ScaleShift.apply(x, w, 2.0)
    assert out.grad_fn.seen == (True, False, False)
    out.sum().backward()
    assert x.grad.tolist() == [[1.0] * 3] * 2 and w.grad is None
    w.requires_grad_()
    assert gradcheck(lambda a, b: ScaleShift.apply(a, b, 1.5), (x, w))
    with ember.no_grad():
        assert not ScaleShift.apply(x, w, 1.0).requires_grad


def test_custom_function_mark_dirty_and_non_differentiable():
    class AddOneInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x._data += 1
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    class SortWithIdx(Function):
        @staticmethod
        def forward(ctx, x):
            idx = np.argsort(x._data)
            ctx.idx = idx
            i = ember.tensor(idx)
            ctx.mark_non_differentiable(i)
            return ember.tensor(x._data[idx]), i

        @staticmethod
        def backward(ctx, g, gi):
            out = np.zeros_like(g._data)
            out[ctx.idx] = g._data
            return ember.tensor(out)

    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    v0 = b._version
    c = AddOneInplace.apply(b)
    assert c is b and b._version == v0 + 1 and b.tolist() == [2.0, 3.0]
    assert type(b.grad_fn).__name__ == "AddOneInplaceBackward"
    (b * 2).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]

    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, i = SortWithIdx.apply(x)
    assert v.requires_grad and not i.requires_grad
    (v * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 2.0]


def test_custom_function_setup_context_style():
    class Square(Function):
        @staticmethod
        def forward(x):
            return x._data ** 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = ember.tensor([3.0], requires_grad=True)
    Square.apply(x).sum().backward()
    assert x.grad.item() == 6.0


def test_custom_function_wrong_number_of_grads():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x._data + y._data

        @staticmethod
        def backward(ctx, g):
            return (g,)

    x = leaf()
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()


# ---- in-place and saved tensors, anomaly mode --------------------------------------------------------------------
def test_inplace_modified_saved_tensor_detected():
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a.exp()
        c = b.sin()  # saves b
        b.add_(1)
        with pytest.raises(RuntimeError) as exc:
            c.sum().backward()
        return str(exc.value)
    msg_e, msg_t = run(ember), run(torch)
    assert msg_e == msg_t
    assert "one of the variables needed for gradient computation has been modified by an inplace operation" in msg_e
    assert "[torch.FloatTensor [3]], which is output 0 of Add, is at version 1; expected version 0" in msg_e


@pytest.mark.parametrize("op", ["sigmoid", "exp", "tanh", "relu", "sqrt"])
def test_inplace_modified_saved_output_detected(op):
    """Ops that save their output (d sigmoid = s(1-s)) notice when that output is changed in place."""
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = getattr(a, op)()
        b.mul_(2)
        with pytest.raises(RuntimeError) as exc:
            b.sum().backward()
        return str(exc.value)
    assert run(ember) == run(torch)


def test_inplace_on_leaf_view_saved():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0])
    y = a * w  # saves w
    w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation: \\[torch.FloatTensor \\[2\\]\\], is at version 1"):
        y.sum().backward()


def test_inplace_on_nonleaf_tracks_grad():
    def run(m):
        a = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
        b = a * 2
        b.mul_(3)
        b.add_(a)
        b.clamp_(max=5)
        b.relu_()
        b.sum().backward()
        return b.detach(), a.grad, b.grad_fn.name()
    (be, ge, ne), (bt, gt, nt) = run(ember), run(torch)
    assert_same(be, bt)
    assert_same(ge, gt)
    assert ne == nt


def test_version_counter():
    x = ember.ones(3)
    v = x[1:]
    assert x._version == 0
    v.add_(1)
    assert x._version == 1 and v._version == 1
    x.zero_()
    assert v._version == 2
    x[0] = 5
    assert v._version == 3


def test_detect_anomaly_names_the_op():
    class NanGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x._data * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = leaf()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.autograd.is_anomaly_enabled()
        y = NanGrad.apply(x).sum()
        with pytest.raises(RuntimeError, match="Function 'NanGradBackward' returned nan values in its 0th output"):
            y.backward()
    assert not ember.autograd.is_anomaly_enabled()
    # a real op: sqrt at 0 has an infinite derivative, 0 * inf = nan
    z = ember.tensor([0.0, 1.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        out = (z.sqrt() * 0).sum()
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values"):
            out.backward()
    # without anomaly mode the nan just flows
    (z.sqrt() * 0).sum().backward()
    assert np.isnan(z.grad.numpy()[0])


def test_grads_keep_dtype_and_broadcast_back():
    a = ember.ones(3, 1, requires_grad=True)
    b = ember.ones(1, 4, dtype=ember.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.dtype is ember.float32 and a.grad.tolist() == [[4.0]] * 3
    assert b.grad.shape == (1, 4) and b.grad.dtype is ember.float64 and b.grad.tolist() == [[3.0] * 4]


def test_grad_not_aliasing():
    """The first gradient stored in .grad is a fresh tensor (no aliasing with the graph's buffers)."""
    x = leaf()
    g = ember.ones(3)
    (x * 1).backward(g)
    g[0] = 100
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_linear_regression_manual_step():
    """The lessons' first training loop: w -= lr * w.grad under no_grad, then zero the grad."""
    ember.manual_seed(0)
    X = ember.randn(50, 2)
    true_w = ember.tensor([[2.0], [-3.0]])
    y = X @ true_w + 0.5
    w = ember.zeros(2, 1, requires_grad=True)
    b = ember.zeros(1, requires_grad=True)
    for _ in range(200):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        with ember.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad.zero_()
            b.grad.zero_()
    np.testing.assert_allclose(w.detach().numpy().ravel(), [2.0, -3.0], atol=1e-3)
    assert abs(b.item() - 0.5) < 1e-3


def test_inplace_on_views_of_nonleaf_flows_to_base():
    """In-place ops on views (b[0].mul_, b.t()[2].clamp_, b.view(-1)[i:].add_) change the base in the graph too."""
    def run(m):
        a = m.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], requires_grad=True)
        b = a * 1
        b[0].mul_(2)
        b[:, 1].mul_(a[:, 0])
        b.view(-1)[4:].add_(a[0, :2])
        b.t()[2].clamp_(max=0)
        b[1, 1:] = a[0, 1:] ** 2
        (b * b).sum().backward()
        return b.detach(), a.grad
    (be, ge), (bt, gt) = run(ember), run(torch)
    assert_same(be, bt)
    assert_same(ge, gt)


def test_inplace_on_view_of_plain_buffer_records_graph():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        buf = m.zeros(2, 3)
        buf[0, :2].copy_(x * 3)
        buf[1].add_(x.sum())
        assert buf.requires_grad
        (buf * m.arange(6.0).view(2, 3)).sum().backward()
        return buf.detach(), x.grad
    (be, ge), (bt, gt) = run(ember), run(torch)
    assert_same(be, bt)
    assert_same(ge, gt)


def test_inplace_on_view_of_leaf_errors():
    x = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError) as ee:
        x[0].mul_(2)
    with pytest.raises(RuntimeError) as te:
        torch.ones(2, 3, requires_grad=True)[0].mul_(2)
    assert str(ee.value) == str(te.value)


def test_stale_views_are_rebuilt_after_inplace_elsewhere():
    """A view keeps the right gradient after its storage changes in place through the base or a sibling."""
    def run(m):
        a = m.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], requires_grad=True)
        b = (a * 1).t()
        b[0].mul_(2)  # through a sibling view of b's base
        (b * b).sum().backward()
        g1 = a.grad.clone()
        a.grad = None
        r = a * 1
        v = r.t()
        r.mul_(2)  # through the base itself
        (v * v).sum().backward()
        return g1, a.grad, v.grad_fn.name()
    (g1e, g2e, ne), (g1t, g2t, nt) = run(ember), run(torch)
    assert_same(g1e, g1t)
    assert_same(g2e, g2t)
    assert ne == nt == "AsStridedBackward0"


# ---- second derivatives of the built-in ops (double backward through each Function's backward) ----------
def _x(shape=(2, 3), low=-1.5, high=1.5, seed=0):
    return ember.tensor(np.random.default_rng(seed).uniform(low, high, shape), dtype=ember.float64, requires_grad=True)


GRADGRAD = [
    ("exp", lambda x: x.exp(), {}), ("log", lambda x: x.log(), {"low": 0.3}), ("sqrt", lambda x: x.sqrt(), {"low": 0.3}),
    ("rsqrt", lambda x: x.rsqrt(), {"low": 0.3}), ("tanh", lambda x: x.tanh(), {}), ("sigmoid", lambda x: x.sigmoid(), {}),
    ("sin", lambda x: x.sin(), {}), ("reciprocal", lambda x: x.reciprocal(), {"low": 0.3}),
    ("tan", lambda x: x.tan(), {"low": -1.0, "high": 1.0}), ("expm1", lambda x: x.expm1(), {}),
    ("erf", lambda x: x.erf(), {}), ("atan", lambda x: x.atan(), {}), ("asinh", lambda x: x.asinh(), {}),
    ("pow3", lambda x: x ** 3, {}), ("pow_tensor", lambda x: x.abs() ** (x * 0.5), {"low": 0.3}),
    ("div", lambda x: x / (x.flip(1) + 3), {}), ("mul", lambda x: x * x.flip(0), {}),
    ("sum_sq", lambda x: (x * x).sum(1), {}), ("mean_sq", lambda x: (x * x).mean(0), {}),
    ("prod", lambda x: x.prod(1), {}), ("var", lambda x: x.var(1), {}), ("std", lambda x: x.std(1), {}),
    ("logsumexp", lambda x: x.logsumexp(1), {}), ("norm", lambda x: x.norm(dim=1), {}),
    ("norm3", lambda x: x.norm(3, dim=1), {}), ("cumsum", lambda x: (x.cumsum(1)) ** 2, {}),
    ("cumprod", lambda x: x.cumprod(1), {}), ("max_dim", lambda x: x.max(1).values ** 2, {}),
    ("amax", lambda x: x.amax(0) ** 2, {}), ("matmul", lambda x: x @ x.t(), {}),
    ("addmm", lambda x: ember.addmm(x[:, :2], x, x.t()), {}), ("einsum", lambda x: ember.einsum("ij,kj->ik", x, x), {}),
    ("gather", lambda x: x.gather(1, ember.tensor([[0, 2], [1, 1]])) ** 2, {}),
    ("index", lambda x: x[:, [0, 2, 2]] ** 2, {}), ("where", lambda x: ember.where(x > 0, x * x, x ** 3), {}),
    ("clamp", lambda x: x.clamp(-0.5, 0.5) * x, {}), ("maximum", lambda x: ember.maximum(x, x.flip(1)) ** 2, {}),
    ("atan2", lambda x: ember.atan2(x, x.flip(0) + 2), {}), ("lerp", lambda x: x.lerp(x * x, 0.3), {}),
    ("relu", lambda x: x.relu() * x, {}), ("abs", lambda x: x.abs() * x, {}),
    ("masked_fill", lambda x: x.masked_fill(x > 0.5, 0.0) ** 2, {}), ("cat_stack", lambda x: ember.stack([x, x * x]).sum(0), {}),
    ("remainder", lambda x: (x * 0.3).remainder(1.7) * x, {}),
]


@pytest.mark.parametrize("name,fn,kw", GRADGRAD, ids=[g[0] for g in GRADGRAD])
def test_gradgradcheck_builtin_ops(name, fn, kw):
    assert gradgradcheck(fn, (_x(**kw),))


def test_augmented_assignment_on_indexed_views():
    def run(m):
        a = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        b = a * 2
        b[0] += a[1]
        b[:, 1] *= 3
        (b ** 2).sum().backward()
        return b.detach(), a.grad
    (be, ge), (bt, gt) = run(ember), run(torch)
    assert_same(be, bt)
    assert_same(ge, gt)


# --- the engine keeps a fresh gradient as .grad instead of copying it (torch's AccumulateGrad steal) ------
def _grad_memory(t):
    a = t.grad._data
    return a if a.base is None else a.base


def test_a_fresh_gradient_becomes_grad_without_a_copy():
    from ember.autograd import engine
    seen = []
    real = engine._sole_owner

    def spy(grads):
        seen.append(real(grads))
        return seen[-1]
    engine._sole_owner = spy
    try:
        x = ember.randn(64, 64, requires_grad=True)
        (x * 2).sum().backward()                     # MulBackward's output: nobody else holds it
        assert seen == [True]
        np.testing.assert_array_equal(x.grad.numpy(), np.full((64, 64), 2, np.float32))
    finally:
        engine._sole_owner = real


def test_shared_or_visible_gradients_are_copied():
    b, c = ember.randn(5, requires_grad=True), ember.randn(5, requires_grad=True)
    (b + c).sum().backward()                          # AddBackward hands the same tensor to both leaves
    assert not np.shares_memory(b.grad._data, c.grad._data)
    b.grad.add_(100)
    np.testing.assert_array_equal(c.grad.numpy(), np.ones(5, np.float32))

    y, g = ember.randn(4, requires_grad=True), ember.ones(4)
    y.backward(g)                                     # the caller's own gradient tensor
    assert not np.shares_memory(y.grad._data, g._data)

    z, G = ember.randn(4, requires_grad=True), ember.ones(2, 2)
    z.view(2, 2).backward(G)                          # a view of the caller's tensor
    assert not np.shares_memory(z.grad._data, G._data)

    kept = []
    w = ember.randn(3, requires_grad=True)
    w.register_hook(lambda grad: kept.append(grad))   # a hook kept the gradient: .grad must not alias it
    (w * 3).sum().backward()
    assert not np.shares_memory(w.grad._data, kept[0]._data)
    w.grad.zero_()
    np.testing.assert_array_equal(kept[0].numpy(), np.full(3, 3, np.float32))


def test_stolen_gradients_accumulate_correctly_over_steps():
    x = ember.randn(32, 32, requires_grad=True)
    for _ in range(3):
        ember.softmax(x * 1.0, -1).pow(2).sum().backward()
    if torch is not None:
        xt = to_torch(torch, x, requires_grad=True)
        for _ in range(3):
            torch.softmax(xt * 1.0, -1).pow(2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_linear_weight_gradient_is_kept_without_a_copy_and_contiguous():
    from ember.autograd import engine
    seen = []
    real = engine._sole_owner

    def spy(grads):
        seen.append(real(grads))
        return seen[-1]
    lin = ember.nn.Linear(6, 4)
    x = ember.randn(5, 6)
    engine._sole_owner = spy
    try:
        lin(x).pow(2).sum().backward()
    finally:
        engine._sole_owner = real
    assert seen == [True, True]                       # weight (a transposed view's base) and bias
    assert lin.weight.grad.is_contiguous() and lin.weight.grad.stride() == (6, 1)
    assert not np.shares_memory(lin.weight.grad._data, lin.bias.grad._data)
    if torch is not None:
        tl = torch.nn.Linear(6, 4)
        with torch.no_grad():
            tl.weight.copy_(to_torch(torch, lin.weight)), tl.bias.copy_(to_torch(torch, lin.bias))
        tl(to_torch(torch, x)).pow(2).sum().backward()
        np.testing.assert_allclose(lin.weight.grad.numpy(), tl.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
