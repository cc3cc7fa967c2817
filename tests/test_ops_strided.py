"""as_strided and Tensor.unfold vs torch: views, values, grads (overlapping windows add up), errors; gradcheck."""
import numpy as np
import pytest

import ember
import ember.ops.strided as S
from ember.autograd import Function, gradcheck, gradgradcheck

CASES = [
    ("as_strided", lambda t: t.as_strided((3, 3), (4, 1), 1)),
    ("as_strided overlapping", lambda t: t.as_strided((4, 3), (2, 1))),
    ("as_strided stride 0", lambda t: t.as_strided((2, 5), (0, 2), 3)),
    ("torch.as_strided", lambda t: (ember if isinstance(t, ember.Tensor) else __import__("torch")).as_strided(
        t, (2, 2), (1, 3))),
    ("unfold", lambda t: t.view(3, 4).unfold(1, 2, 1)),
    ("unfold step", lambda t: t.unfold(0, 3, 2)),
    ("unfold dim0", lambda t: t.view(3, 4).unfold(0, 2, 1)),
]


@pytest.mark.parametrize("name, fn", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_values_grads_and_views(name, fn):
    torch = pytest.importorskip("torch")
    data = np.arange(12, dtype=np.float32) / 7
    x = ember.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    y, ty = fn(x), fn(tx)
    assert tuple(y.shape) == tuple(ty.shape) and y.stride() == ty.stride()
    assert y.storage_offset() == ty.storage_offset()
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    assert type(y.grad_fn).__name__ == type(ty.grad_fn).__name__
    w = np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)).astype(np.float32)
    (y * ember.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_views_share_memory():
    x = ember.arange(6.0)
    v = x.as_strided((2, 2), (1, 2))
    x[0] = 10.0
    assert v[0, 0].item() == 10.0
    u = x.unfold(0, 2, 2)
    u[1, 1] = -1.0
    assert x[3].item() == -1.0


def test_errors_match_torch():
    torch = pytest.importorskip("torch")
    for fn in (lambda t: t.as_strided((3, 3), (3, 1), 1), lambda t: t.unfold(0, 7, 1), lambda t: t.unfold(0, 2, 0)):
        with pytest.raises(RuntimeError) as theirs:
            fn(torch.arange(6.0))
        with pytest.raises(RuntimeError) as ours:
            fn(ember.arange(6.0))
        assert str(ours.value).split(" ")[:3] == str(theirs.value).split(" ")[:3]


GRADCHECKS = {
    "AsStrided": lambda x: x.as_strided((3, 3), (2, 1), 1),
    "Unfold": lambda x: x.unfold(0, 4, 3),
    "CellScatter": lambda x: x.as_strided((4, 4), (1, 1)),
    "CellGather": lambda x: x.unfold(0, 3, 1),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    x = ember.tensor(np.random.default_rng(0).standard_normal(12), dtype=ember.float64, requires_grad=True)
    assert gradcheck(GRADCHECKS[name], (x,))
    assert gradgradcheck(GRADCHECKS[name], (x,))


def test_every_function_has_a_gradcheck():
    names = {n for n, v in vars(S).items() if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    assert names == set(GRADCHECKS)
