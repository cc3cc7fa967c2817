"""torch.Tensor methods (ember/_methods.py, _tensor.py) against torch, table-driven: the same method with the
same arguments on copies of the same arrays; values, dtypes and shapes must agree (in-place ones also
return the tensor they changed)."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

R = np.random.default_rng(1)
A = R.standard_normal((3, 4)).astype(np.float32)
B = R.standard_normal((3, 4)).astype(np.float32)
U = R.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)    # inside (-1, 1)
Q = R.uniform(0.1, 0.9, (3, 4)).astype(np.float32)     # inside (0, 1)
P = R.uniform(1.1, 3.0, (3, 4)).astype(np.float32)     # > 1
I = R.integers(0, 8, (3, 4)).astype(np.int64)
J = R.integers(1, 8, (3, 4)).astype(np.int64)
V = R.standard_normal(4).astype(np.float32)
W = R.standard_normal(4).astype(np.float32)
SQ = R.standard_normal((3, 3)).astype(np.float32)
SPD = (SQ @ SQ.T + 3 * np.eye(3)).astype(np.float32)
B3 = R.standard_normal((2, 3, 4)).astype(np.float32)
C3 = R.standard_normal((2, 4, 2)).astype(np.float32)

# in-place unary methods: name -> domain
INPLACE_UNARY = {
    "acos_": U, "asin_": U, "atanh_": U, "arctanh_": U, "erfinv_": U, "logit_": Q,
    "acosh_": P, "arccosh_": P, "log_": P, "log10_": P, "log1p_": P, "log2_": P, "rsqrt_": P, "reciprocal_": P,
    "digamma_": P, "i0_": A, "arcsinh_": A, "asinh_": A, "atan_": A, "ceil_": A, "cos_": A, "cosh_": A, "erf_": A,
    "erfc_": A, "expm1_": A, "fix_": A, "frac_": A, "negative_": A, "sgn_": A, "sign_": A, "sin_": A, "sinc_": A,
    "sinh_": A, "square_": A, "tan_": U, "trunc_": A, "t_": A, "nan_to_num_": A, "tril_": A, "triu_": A,
    "logical_not_": I, "cumsum_": None,
}
# out-of-place unary methods: name -> domain
UNARY = {
    "absolute": A, "adjoint": A, "angle": A, "arcsinh": A, "arctan": A, "conj": A, "fix": A, "flipud": A,
    "is_complex": A, "isreal": A, "msort": A, "negative": A, "signbit": A, "nan_to_num": A, "ndimension": A,
    "logical_not": A, "count_nonzero": I, "argwhere": I, "byte": J, "char": I, "arccos": U, "arcsin": U,
    "arccosh": P, "resolve_conj": A, "logdet": SPD, "pinverse": A, "cholesky_inverse": np.linalg.cholesky(SPD).astype(np.float32), "diag_embed": V,
    "is_conj": A, "is_neg": A, "is_sparse": A, "H": A, "mH": A, "logical_not_": I, "bincount": None,
}
# binary methods (self, other): name -> (self domain, other domain)
BINARY = {
    "arctan2": (A, B), "divide": (A, P), "dist": (A, B), "float_power": (P, A), "greater": (A, B),
    "greater_equal": (A, B), "less": (A, B), "less_equal": (A, B), "not_equal": (A, B), "multiply": (A, B),
    "subtract": (A, B), "true_divide": (A, P), "vdot": (V, W), "dot": (V, W), "outer": (V, W), "ger": (V, W),
    "kron": (V, W), "allclose": (A, A), "igamma": (P, P), "igammac": (P, P), "view_as": (A, A.reshape(2, 6)),
    "reshape_as": (A, A.reshape(6, 2)), "bitwise_and": (I, J), "bitwise_or": (I, J), "bitwise_xor": (I, J),
    "mv": (SQ, V[:3]), "bmm": (B3, C3), "take_along_dim": (A, np.argsort(A, 1)),
    "arctan2_": (A, B), "atan2_": (A, B), "divide_": (A, P), "eq_": (A, A), "floor_divide_": (A, P),
    "fmod_": (A, P), "ge_": (A, B), "gt_": (A, B), "le_": (A, B), "ne_": (A, B),
    "logical_and_": (A, B), "logical_or_": (A, B), "logical_xor_": (A, B), "multiply_": (A, B),
    "remainder_": (A, P), "subtract_": (A, B), "true_divide_": (A, P), "xlogy_": (P, P), "igamma_": (P, P),
    "igammac_": (P, P), "bitwise_and_": (I, J), "bitwise_or_": (I, J),
}


def _np(x):
    return x.detach().numpy() if hasattr(x, "detach") else x


def _same(e, t):
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            _same(a, b)
        return
    if hasattr(t, "dtype") and hasattr(t, "shape"):
        assert str(e.dtype) == str(t.dtype), (e.dtype, t.dtype)
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(e), _np(t), rtol=2e-5, atol=2e-5)
    else:
        assert e == t


def _pair(arr):
    return ember.from_numpy(arr.copy()), torch.from_numpy(arr.copy())


@pytest.mark.parametrize("name", sorted(INPLACE_UNARY))
def test_inplace_unary(name):
    if name == "cumsum_":
        e, t = _pair(A)
        assert e.cumsum_(1) is e and t.cumsum_(1) is t
        return _same(e, t)
    e, t = _pair(INPLACE_UNARY[name])
    re, rt = getattr(e, name)(), getattr(t, name)()
    assert re is e and rt is t
    _same(e, t)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    if name == "bincount":
        e, t = _pair(I.reshape(-1))
        return _same(e.bincount(minlength=10), t.bincount(minlength=10))
    e, t = _pair(UNARY[name])
    if name in ("H", "mH", "is_sparse"):
        return _same(getattr(e, name), getattr(t, name))
    _same(getattr(e, name)(), getattr(t, name)())


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name):
    a, b = BINARY[name]
    (ea, ta), (eb, tb) = _pair(a), _pair(b)
    re, rt = getattr(ea, name)(eb), getattr(ta, name)(tb)
    if name.endswith("_"):
        assert re is ea and rt is ta
    _same(re, rt)


def test_methods_with_arguments():
    cases = [
        lambda x, lib: x.clone().addcdiv_(x.abs() + 1, x, value=0.5),
        lambda x, lib: x.clone().addcmul_(x, x, value=2),
        lambda x, lib: x.clone().addmm_(x[:, :3].clone(), x[:3, :].clone(), beta=0.5),
        lambda x, lib: x[0, :3].addmv(x[:, :3].clone(), x[1, :3].clone()),
        lambda x, lib: x.clone().lerp_(x.flip(0), 0.3),
        lambda x, lib: x[:, :3].unsqueeze(0).baddbmm(x.unsqueeze(0), x.t().unsqueeze(0).clone(), alpha=0.5),
        lambda x, lib: x.clip(-0.5, 0.5),
        lambda x, lib: x.aminmax(dim=1),
        lambda x, lib: x.cummin(1),
        lambda x, lib: x.diff(dim=1),
        lambda x, lib: x.histc(4, -2, 2),
        lambda x, lib: x.logcumsumexp(0),
        lambda x, lib: x.moveaxis(0, 1),
        lambda x, lib: x.swapdims(0, 1),
        lambda x, lib: x.take(lib.tensor([0, 5, 11])),
        lambda x, lib: x.clone().scatter_add_(1, lib.tensor([[0, 1], [1, 1], [3, 3]]), x[:, :2].clone()),
        lambda x, lib: x.scatter_reduce(1, lib.tensor([[0, 1], [1, 1], [3, 3]]), x[:, :2].clone(), "amax"),
        lambda x, lib: x.clone().index_copy_(0, lib.tensor([2, 0]), x[:2].clone()),
        lambda x, lib: x.clone().index_fill_(1, lib.tensor([1, 3]), -1.0),
        lambda x, lib: x.masked_scatter(x > 0, lib.arange(12, dtype=lib.float32).reshape(3, 4)),
        lambda x, lib: x.clone().transpose_(0, 1),
        lambda x, lib: x[:1].clone().squeeze_(0),
        lambda x, lib: x.clone().unsqueeze_(1),
        lambda x, lib: x.clone().resize_(2, 6),
        lambda x, lib: x.new_empty((2, 3)).shape,
        lambda x, lib: (x.is_pinned(), x.is_shared(), x.is_set_to(x), x.clone().is_set_to(x)),
        lambda x, lib: x.pin_memory() if lib is ember or lib.cuda.is_available() else x,
        lambda x, lib: x.clone().share_memory_(),
        lambda x, lib: x.clone().apply_(lambda v: v * 2),
        lambda x, lib: x.clone().map_(x, lambda a, b: a + b),
        lambda x, lib: x[:, :1].cholesky_solve(lib.linalg.cholesky(lib.eye(3) * 4)),
    ]
    for i, fn in enumerate(cases):
        e, t = fn(ember.from_numpy(A.copy()), ember), fn(torch.from_numpy(A.copy()), torch)
        if isinstance(t, torch.Size):
            assert tuple(e) == tuple(t)
            continue
        _same(e, t)


def test_random_inplace_methods_have_torchs_distributions():
    n = 20000
    for lib in (torch, ember):
        lib.manual_seed(0)
        x = lib.empty(n)
        assert abs(float(x.bernoulli_(0.3).mean()) - 0.3) < 0.02
        assert abs(float(lib.full((n,), 0.7).bernoulli().mean()) - 0.7) < 0.02
        assert abs(float(x.exponential_(2.0).mean()) - 0.5) < 0.03
        assert abs(float(x.geometric_(0.25).mean()) - 4.0) < 0.2
        assert abs(float(x.log_normal_(0.0, 0.5).log().std()) - 0.5) < 0.03
        assert abs(float(x.cauchy_(0.0, 1.0).median())) < 0.1
        r = lib.empty(n, dtype=lib.int64).random_(0, 10)
        assert int(r.min()) == 0 and int(r.max()) == 9


def test_register_post_accumulate_grad_hook():
    seen = {}
    for lib in (torch, ember):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        p.register_post_accumulate_grad_hook(lambda t: seen.__setitem__(lib.__name__, t.grad.tolist()))
        (p * 3).sum().backward()
    assert seen["ember"] == seen["torch"] == [3.0, 3.0]


def test_more_inplace_and_layout_methods():
    D = A.astype(np.float64)
    cases = [
        lambda x, lib: x.clamp(-0.9, 0.9).arccos_(),
        lambda x, lib: x.clamp(-0.9, 0.9).arcsin_(),
        lambda x, lib: x.clone().arctan_(),
        lambda x, lib: x[0, :3].clone().addmv_(x[:, :3].clone(), x[1, :3].clone(), beta=0.5),
        lambda x, lib: x[:, :3].unsqueeze(0).clone().baddbmm_(x.unsqueeze(0), x.t().unsqueeze(0).clone()),
        lambda x, lib: (x > 0).to(lib.int64).bitwise_not_(),
        lambda x, lib: (x > 0).to(lib.int64).bitwise_xor_(lib.ones(3, 4, dtype=lib.int64)),
        lambda x, lib: x.clone().cumprod_(1),
        lambda x, lib: x.clone().exp2_(),
        lambda x, lib: x.double().float_power_(2),
        lambda x, lib: (x.clone().greater_(0), x.clone().greater_equal_(0), x.clone().less_(0),
                      x.clone().less_equal_(0), x.clone().not_equal_(0)),
        lambda x, lib: x.clone().masked_scatter_(x > 0, lib.arange(12, dtype=lib.float32).reshape(3, 4)),
        lambda x, lib: x.clone().scatter_reduce_(1, lib.tensor([[0, 1], [1, 1], [3, 3]]), x[:, :2].clone(), "sum"),
        lambda x, lib: x.clone().conj_physical_(),
        lambda x, lib: (x.conj_physical(), x.cfloat(), x.cdouble(), x.ravel(), lib.ravel(x)),
        lambda x, lib: (x.sum_to_size(1, 4), x.sum_to_size((3, 1)), x.unsqueeze(0).sum_to_size(4)),
        lambda x, lib: (x.dim_order(), x.t().dim_order(), x.is_meta, x.to_dense(), x.storage_type().__name__),
        lambda x, lib: (x.new_empty_strided((2, 2), (2, 1)).shape, x.clone().resize_as_(x[:2, :2]).shape),
        lambda x, lib: (x.clone().swapaxes_(0, 1), x.clone().swapdims_(1, 0)),
        lambda x, lib: (x.put(lib.tensor([1, -1]), lib.tensor([5.0, 6.0])), x.clone().put_(lib.tensor([0, 0]),
                                                                                      lib.tensor([1.0, 2.0]), True)),
        lambda x, lib: (lib.index_reduce(x, 0, lib.tensor([0, 0, 2]), x * 2, "amax"),
                      x.index_reduce(1, lib.tensor([1, 1, 0, 3]), x, "mean", include_self=False),
                      x.clone().index_reduce_(0, lib.tensor([2, 1, 2]), x, "prod")),
        lambda x, lib: (x.hardshrink(0.3), lib.hardshrink(x, 0.2), lib.relu_(x.clone()), lib.resolve_conj(x)),
        lambda x, lib: (x.clone().set_(x[0]), x.clone().set_().shape),
        lambda x, lib: type(x.as_subclass(lib.nn.Parameter)).__name__,
    ]
    import warnings
    for fn in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch: index_reduce is in beta
            e, t = fn(ember.from_numpy(A.copy()), ember), fn(torch.from_numpy(A.copy()), torch)
        if isinstance(t, tuple):
            for a, b in zip(e, t):
                if isinstance(b, (torch.Size, tuple)):
                    assert tuple(a) == tuple(b)
                else:
                    _same(a, b)
        elif isinstance(t, str):
            assert e == t
        else:
            _same(e, t)
    x = ember.tensor(D)
    assert x.const_data_ptr() == x.data_ptr()


def test_spelled_out_methods():
    cases = [
        lambda x, lib: x.clone().absolute_(),
        lambda x, lib: x.clamp(-0.9, 0.9).arctanh(),
        lambda x, lib: (x > 0).to(lib.int64).bitwise_not(),
        lambda x, lib: x.round().heaviside_(x.clone()),
        lambda x, lib: x.clone().nextafter_(x + 1),
        lambda x, lib: x.bfloat16().float().round() if lib.tensor([1.0], dtype=lib.bfloat16).dtype == lib.bfloat16
        else x.round(),
    ]
    for fn in cases:
        _same(fn(ember.from_numpy(A.copy()), ember), fn(torch.from_numpy(A.copy()), torch))
