"""torch.* functions (ember/functions.py, creation.py, ...) against torch, table-driven: each case runs the same
code with ``lib = torch`` and ``lib = ember`` on the same arrays and compares values, dtypes and shapes."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
A = R.standard_normal((3, 4)).astype(np.float32)
B = R.standard_normal((3, 4)).astype(np.float32)
U = R.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)       # inside (-1, 1)
P = R.uniform(1.1, 3.0, (3, 4)).astype(np.float32)        # > 1
I = R.integers(0, 8, (3, 4)).astype(np.int64)
V = R.standard_normal(5).astype(np.float32)
W = R.standard_normal(5).astype(np.float32)
S = np.sort(R.standard_normal(6).astype(np.float32))
X3 = R.standard_normal((2, 3, 8)).astype(np.float32)      # (N, C, L)
PS = R.standard_normal((1, 8, 2, 3)).astype(np.float32)   # pixel_shuffle input
M = A > 0

# name -> (function of (lib, *tensors), the arrays it takes)
CASES = {
    "absolute": (lambda lib, a: lib.absolute(a), [A]),
    "adjoint": (lambda lib, a: lib.adjoint(a), [A]),
    "angle": (lambda lib, a: lib.angle(a), [A]),
    "arccos": (lambda lib, a: lib.arccos(a), [U]),
    "arcsin": (lambda lib, a: lib.arcsin(a), [U]),
    "arctan": (lambda lib, a: lib.arctan(a), [A]),
    "arctanh": (lambda lib, a: lib.arctanh(a), [U]),
    "arccosh": (lambda lib, a: lib.arccosh(a), [P]),
    "arcsinh": (lambda lib, a: lib.arcsinh(a), [A]),
    "arctan2": (lambda lib, a, b: lib.arctan2(a, b), [A, B]),
    "argsort": (lambda lib, a: lib.argsort(a, dim=1), [A]),
    "atleast_1d": (lambda lib, a: lib.atleast_1d(a.sum()), [A]),
    "atleast_2d": (lambda lib, a: lib.atleast_2d(a[0]), [A]),
    "atleast_3d": (lambda lib, a: lib.atleast_3d(a), [A]),
    "bitwise_and": (lambda lib, a: lib.bitwise_and(a, 5), [I]),
    "bitwise_or": (lambda lib, a: lib.bitwise_or(a, 5), [I]),
    "bitwise_xor": (lambda lib, a: lib.bitwise_xor(a, 5), [I]),
    "bitwise_not": (lambda lib, a: lib.bitwise_not(a), [I]),
    "broadcast_tensors": (lambda lib, a, v: lib.broadcast_tensors(a[:, :1], v[:4]), [A, V]),
    "broadcast_to": (lambda lib, v: lib.broadcast_to(v, (2, 5)), [V]),
    "cartesian_prod": (lambda lib, v, w: lib.cartesian_prod(v[:2], w[:3]), [V, W]),
    "cdist": (lambda lib, a, b: lib.cdist(a, b), [A, B]),
    "clone": (lambda lib, a: lib.clone(a), [A]),
    "column_stack": (lambda lib, v, w: lib.column_stack([v, w]), [V, W]),
    "concat": (lambda lib, a, b: lib.concat([a, b], dim=1), [A, B]),
    "concatenate": (lambda lib, a, b: lib.concatenate([a, b], 0), [A, B]),
    "conj": (lambda lib, a: lib.conj(a), [A]),
    "diag": (lambda lib, v: lib.diag(v), [V]),
    "diagonal": (lambda lib, a: lib.diagonal(a, 1), [A]),
    "dist": (lambda lib, a, b: lib.dist(a, b, 3), [A, B]),
    "divide": (lambda lib, a, p: lib.divide(a, p, rounding_mode="floor"), [A, P]),
    "dstack": (lambda lib, a, b: lib.dstack([a, b]), [A, B]),
    "fix": (lambda lib, a: lib.fix(a * 3), [A]),
    "flip": (lambda lib, a: lib.flip(a, (0, 1)), [A]),
    "fliplr": (lambda lib, a: lib.fliplr(a), [A]),
    "flipud": (lambda lib, a: lib.flipud(a), [A]),
    "greater": (lambda lib, a, b: lib.greater(a, b), [A, B]),
    "greater_equal": (lambda lib, a, b: lib.greater_equal(a, b), [A, B]),
    "less": (lambda lib, a, b: lib.less(a, b), [A, B]),
    "less_equal": (lambda lib, a, b: lib.less_equal(a, b), [A, B]),
    "not_equal": (lambda lib, a, b: lib.not_equal(a, a.clamp(min=0)), [A, B]),
    "histc": (lambda lib, a: lib.histc(a, bins=5, min=-2, max=2), [A]),
    "hstack": (lambda lib, a, b: lib.hstack([a, b]), [A, B]),
    "vstack": (lambda lib, a, b: lib.vstack([a, b]), [A, B]),
    "row_stack": (lambda lib, a, b: lib.row_stack([a, b]), [A, B]),
    "imag": (lambda lib, a, b: lib.imag(lib.complex(a, b)), [A, B]),
    "real": (lambda lib, a, b: lib.real(lib.complex(a, b)), [A, B]),
    "complex": (lambda lib, a, b: (lib.complex(a, b).real, lib.complex(a, b).imag, lib.complex(a, b).abs()),
                [A, B]),
    "polar": (lambda lib, p, a: lib.polar(p, a).real, [P, A]),
    "index_add": (lambda lib, a, b: lib.index_add(a, 0, lib.tensor([2, 0]), b[:2]), [A, B]),
    "index_copy": (lambda lib, a, b: lib.index_copy(a, 1, lib.tensor([3, 1]), b[:, :2]), [A, B]),
    "index_select": (lambda lib, a: lib.index_select(a, 1, lib.tensor([3, 0, 3])), [A]),
    "is_complex": (lambda lib, a: lib.is_complex(a), [A]),
    "is_floating_point": (lambda lib, a: lib.is_floating_point(a), [I]),
    "is_nonzero": (lambda lib, a: lib.is_nonzero(a[0, :1]), [A]),
    "is_tensor": (lambda lib, a: (lib.is_tensor(a), lib.is_tensor(3)), [A]),
    "is_storage": (lambda lib, a: (lib.is_storage(a.untyped_storage()), lib.is_storage(a)), [A]),
    "isreal": (lambda lib, a: lib.isreal(a), [A]),
    "kthvalue": (lambda lib, a: tuple(lib.kthvalue(a, 2, dim=1)), [A]),
    "logcumsumexp": (lambda lib, a: lib.logcumsumexp(a, 1), [A]),
    "masked_select": (lambda lib, a: lib.masked_select(a, a > 0), [A]),
    "median": (lambda lib, a: (lib.median(a), *lib.median(a, dim=1)), [A]),
    "moveaxis": (lambda lib, x: lib.moveaxis(x, 0, 2), [X3]),
    "movedim": (lambda lib, x: lib.movedim(x, (0, 1), (2, 0)), [X3]),
    "msort": (lambda lib, a: lib.msort(a), [A]),
    "multiply": (lambda lib, a, b: lib.multiply(a, b), [A, B]),
    "subtract": (lambda lib, a, b: lib.subtract(a, b, alpha=2), [A, B]),
    "true_divide": (lambda lib, a, p: lib.true_divide(a, p), [A, P]),
    "narrow": (lambda lib, a: lib.narrow(a, 1, 1, 2), [A]),
    "negative": (lambda lib, a: lib.negative(a), [A]),
    "positive": (lambda lib, a: lib.positive(a), [A]),
    "numel": (lambda lib, x: lib.numel(x), [X3]),
    "permute": (lambda lib, x: lib.permute(x, (2, 0, 1)), [X3]),
    "repeat_interleave": (lambda lib, v: lib.repeat_interleave(v, 2), [V]),
    "reshape": (lambda lib, a: lib.reshape(a, (2, -1)), [A]),
    "roll": (lambda lib, a: lib.roll(a, shifts=(1, -1), dims=(0, 1)), [A]),
    "searchsorted": (lambda lib, s, v: lib.searchsorted(s, v, right=True), [S, V]),
    "select": (lambda lib, a: lib.select(a, 1, 2), [A]),
    "signbit": (lambda lib, a: lib.signbit(a), [A]),
    "squeeze": (lambda lib, a: lib.squeeze(a[:1], 0), [A]),
    "unsqueeze": (lambda lib, a: lib.unsqueeze(a, 1), [A]),
    "swapaxes": (lambda lib, x: lib.swapaxes(x, 0, 2), [X3]),
    "swapdims": (lambda lib, x: lib.swapdims(x, 1, 2), [X3]),
    "transpose": (lambda lib, x: lib.transpose(x, 0, 1), [X3]),
    "tensor_split": (lambda lib, v: lib.tensor_split(v, 3), [V]),
    "trace": (lambda lib, a: lib.trace(a), [A]),
    "unbind": (lambda lib, a: lib.unbind(a, 1), [A]),
    "unflatten": (lambda lib, a: lib.unflatten(a, 1, (2, 2)), [A]),
    "vdot": (lambda lib, v, w: lib.vdot(v, w), [V, W]),
    "scatter": (lambda lib, a, b: lib.scatter(a, 1, lib.tensor([[0], [1], [3]]), b), [A, B]),
    "scatter_add": (lambda lib, a, b: lib.scatter_add(a, 1, lib.tensor([[0, 0], [1, 1], [3, 2]]), b), [A, B]),
    "asarray": (lambda lib, a: lib.asarray(a.tolist()), [A]),
    "adaptive_avg_pool1d": (lambda lib, x: lib.adaptive_avg_pool1d(x, 3), [X3]),
    "avg_pool1d": (lambda lib, x: lib.avg_pool1d(x, 2), [X3]),
    "conv1d": (lambda lib, x: lib.conv1d(x, lib.ones(4, 3, 3) * 0.1), [X3]),
    "cosine_similarity": (lambda lib, a, b: lib.cosine_similarity(a, b), [A, B]),
    "pairwise_distance": (lambda lib, a, b: lib.pairwise_distance(a, b), [A, B]),
    "pdist": (lambda lib, a: lib.pdist(a), [A]),
    "pixel_shuffle": (lambda lib, x: lib.pixel_shuffle(x, 2), [PS]),
    "prelu": (lambda lib, x: lib.prelu(x, lib.tensor([0.1, 0.2, 0.3])), [X3]),
}


def _np(x):
    if isinstance(x, (tuple, list)):
        return [_np(v) for v in x]
    if hasattr(x, "detach"):
        return x.detach().numpy()
    return x


def _same(e, t):
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            _same(a, b)
        return
    if hasattr(t, "dtype") and hasattr(t, "shape") and not isinstance(t, (bool, int, float)):
        assert str(e.dtype) == str(t.dtype), (e.dtype, t.dtype)
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-5, atol=1e-5)
    else:
        assert e == t


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_matches_torch(name):
    fn, arrays = CASES[name]
    t = fn(torch, *[torch.from_numpy(a.copy()) for a in arrays])
    e = fn(ember, *[ember.from_numpy(a.copy()) for a in arrays])
    _same(e, t)


def test_grads_through_composites_match_torch():
    for name in ("cdist", "logcumsumexp", "dist", "cosine_similarity", "trace", "kthvalue", "median"):
        fn, arrays = CASES[name]
        outs = []
        for lib in (torch, ember):
            ins = [lib.tensor(a, requires_grad=True) for a in arrays]
            out = fn(lib, *ins)
            out = out[0] if isinstance(out, tuple) else out
            out.sum().backward()
            outs.append([x.grad.numpy() for x in ins])
        for g_t, g_e in zip(*outs):
            np.testing.assert_allclose(g_e, g_t, rtol=1e-4, atol=1e-5, err_msg=name)


def test_random_state_functions():
    for lib in (torch, ember):
        lib.manual_seed(7)
        assert lib.initial_seed() == 7
        state = lib.get_rng_state()
        a = lib.rand(3)
        lib.set_rng_state(state)
        assert lib.equal(lib.rand(3), a)
        s = lib.seed()
        assert isinstance(s, int) and lib.initial_seed() == s
        lam = lib.full((1000,), 3.0)
        assert abs(float(lib.poisson(lam).mean()) - 3.0) < 0.3
    lib_old = ember.get_num_interop_threads()
    ember.set_num_interop_threads(lib_old)


def test_storage_classes_and_buffers():
    for lib in (torch, ember):
        x = lib.arange(4, dtype=lib.float32)
        assert isinstance(x.untyped_storage(), lib.UntypedStorage)
        assert lib.is_storage(x.untyped_storage())
        assert issubclass(lib.TypedStorage, object)
        buf = bytearray(np.arange(3, dtype=np.float32).tobytes())
        assert lib.frombuffer(buf, dtype=lib.float32).tolist() == [0.0, 1.0, 2.0]
        e = lib.empty_strided((2, 3), (3, 1))
        assert tuple(e.shape) == (2, 3) and e.stride() == (3, 1)


def test_compile_returns_a_callable_computing_the_same():
    tm = torch.nn.Linear(3, 2)
    em = ember.nn.Linear(3, 2)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = R.standard_normal((4, 3)).astype(np.float32)
    ce = ember.compile(em)
    np.testing.assert_allclose(ce(ember.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
