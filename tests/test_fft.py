"""torch.fft vs ember.fft: values and dtypes for every transform, n/s/dim/norm handling, gradients vs torch's,
errors; complex-tensor support the transforms rely on (real/imag/view_as_real/complex autograd); gradcheck of
every Function in ember/ops/fft.py and ember/ops/complex.py."""
import warnings

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.ops import fft as O, complex as C

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


def arr(*shape, cplx=False, dtype=np.float64):
    a = rng.standard_normal(shape)
    if cplx:
        a = a + 1j * rng.standard_normal(shape)
        return a.astype(np.complex64 if dtype == np.float32 else np.complex128)
    return a.astype(dtype)


def same(e, t, tol=1e-10):
    e = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
    t = t.detach().resolve_conj().numpy() if hasattr(t, "detach") else np.asarray(t)
    assert e.shape == t.shape and e.dtype == t.dtype, (e.shape, t.shape, e.dtype, t.dtype)
    np.testing.assert_allclose(e, t, rtol=tol, atol=tol)


def loss(y, lib):
    """A real loss touching real and imaginary parts with different weights."""
    if y.is_complex():
        r = lib.view_as_real(y.resolve_conj())
        w = lib.tensor(np.cos(np.arange(r.numel())).reshape(tuple(r.shape)), dtype=r.dtype)
        return (r * w).sum()
    w = lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)), dtype=y.dtype)
    return (y * w).sum()


def check(name, x, tol=1e-10, grad=True, **kw):
    fe, ft = getattr(ember.fft, name), getattr(torch.fft, name)
    xe, xt = ember.tensor(x, requires_grad=grad), torch.tensor(x, requires_grad=grad)
    ye, yt = fe(xe, **kw), ft(xt, **kw)
    same(ye, yt, tol)
    if grad:
        loss(ye, ember).backward()
        loss(yt, torch).backward()
        same(xe.grad, xt.grad, tol)


NORMS = [None, "backward", "ortho", "forward"]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ["fft", "ifft"])
def test_c2c_1d(name, norm):
    check(name, arr(3, 8, cplx=True), norm=norm)
    check(name, arr(3, 8), norm=norm)  # real input: complex result, real gradient
    check(name, arr(3, 7, cplx=True), n=10, dim=0, norm=norm)
    check(name, arr(3, 7, cplx=True), n=4, norm=norm)


@pytest.mark.parametrize("norm", NORMS)
def test_real_transforms_1d(norm):
    for n in (None, 6, 7, 12):
        check("rfft", arr(2, 9), n=n, norm=norm)
        check("irfft", arr(2, 5, cplx=True), n=n, norm=norm)
        check("hfft", arr(2, 5, cplx=True), n=n, norm=norm)
        check("ihfft", arr(2, 9), n=n, norm=norm)
    check("rfft", arr(8, 3), dim=0, norm=norm)
    check("irfft", arr(5, 3, cplx=True), dim=0, norm=norm)


@pytest.mark.parametrize("norm", NORMS)
def test_nd_transforms(norm):
    x, z = arr(2, 6, 5), arr(2, 6, 5, cplx=True)
    for name in ("fft2", "ifft2", "fftn", "ifftn"):
        check(name, z, norm=norm)
        check(name, x, s=(4, 7), norm=norm)
    check("fftn", z, dim=(0, 2), norm=norm)
    check("fftn", z, s=(3,), norm=norm)
    for name in ("rfft2", "rfftn", "ihfft2", "ihfftn"):
        check(name, x, norm=norm)
        check(name, x, s=(5, 8), norm=norm)
    check("rfftn", x, dim=(0, 1), norm=norm)
    for name in ("irfft2", "irfftn", "hfft2", "hfftn"):
        check(name, z, norm=norm)
        check(name, z, s=(4, 7), norm=norm)
    check("irfftn", z, s=(3, 4, 6), norm=norm)


PAIRS_1D = [(ember.fft.fft, torch.fft.fft), (ember.fft.ifft, torch.fft.ifft), (ember.fft.rfft, torch.fft.rfft),
            (ember.fft.irfft, torch.fft.irfft), (ember.fft.hfft, torch.fft.hfft), (ember.fft.ihfft, torch.fft.ihfft)]
PAIRS_ND = [
    (ember.fft.fft2, torch.fft.fft2),
    (ember.fft.ifft2, torch.fft.ifft2),
    (ember.fft.fftn, torch.fft.fftn),
    (ember.fft.ifftn, torch.fft.ifftn),
    (ember.fft.rfft2, torch.fft.rfft2),
    (ember.fft.irfft2, torch.fft.irfft2),
    (ember.fft.rfftn, torch.fft.rfftn),
    (ember.fft.irfftn, torch.fft.irfftn),
    (ember.fft.hfft2, torch.fft.hfft2),
    (ember.fft.ihfft2, torch.fft.ihfft2),
    (ember.fft.hfftn, torch.fft.hfftn),
    (ember.fft.ihfftn, torch.fft.ihfftn),
]


@pytest.mark.parametrize("fe,ft", PAIRS_1D + PAIRS_ND, ids=[p[1].__name__ for p in PAIRS_1D + PAIRS_ND])
def test_every_transform_float32(fe, ft):
    """float32 input (complex input for the c2r ones), default arguments: values, dtypes, gradients."""
    real_in = fe.__name__ in ("fft", "ifft", "rfft", "ihfft", "fft2", "ifft2", "fftn", "ifftn", "rfft2", "rfftn",
                              "ihfft2", "ihfftn")
    x = arr(3, 6, 5, dtype=np.float32) if real_in else arr(3, 6, 5, cplx=True, dtype=np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = fe(xe), ft(xt)
    same(ye, yt, 2e-5)
    loss(ye, ember).backward()
    loss(yt, torch).backward()
    same(xe.grad, xt.grad, 2e-5)


def test_float32_gives_complex64_and_ints_promote():
    x = arr(4, 8, dtype=np.float32)
    e, t = ember.fft.rfft(ember.tensor(x)), torch.fft.rfft(torch.tensor(x))
    assert e.dtype == ember.complex64
    same(e, t, 1e-5)
    same(ember.fft.irfft(e), torch.fft.irfft(t), 1e-5)
    same(ember.fft.fft(ember.tensor([1, 2, 3])), torch.fft.fft(torch.tensor([1, 2, 3])), 1e-6)
    assert ember.fft.fft(ember.tensor(x)).dtype == ember.complex64


def test_freqs_and_shifts():
    for n in (1, 5, 8):
        same(ember.fft.fftfreq(n), torch.fft.fftfreq(n), 0)
        same(ember.fft.rfftfreq(n, 0.1), torch.fft.rfftfreq(n, 0.1), 1e-7)
        same(ember.fft.fftfreq(n, 2.0, dtype=ember.float64), torch.fft.fftfreq(n, 2.0, dtype=torch.float64))
    x = arr(4, 5)
    for dim in (None, 0, (1,), (0, 1)):
        same(ember.fft.fftshift(ember.tensor(x), dim), torch.fft.fftshift(torch.tensor(x), dim))
        same(ember.fft.ifftshift(ember.tensor(x), dim), torch.fft.ifftshift(torch.tensor(x), dim))
    z = ember.fft.fftshift(ember.fft.fft(ember.tensor(x)), -1)
    same(ember.fft.ifftshift(z, -1), torch.fft.fft(torch.tensor(x)))


def test_errors_like_torch():
    def both(fe, ft):
        with pytest.raises(Exception) as et:
            ft()
        with pytest.raises(type(et.value)) as ee:
            fe()
        assert str(ee.value) == str(et.value)
    z = arr(4, cplx=True)
    both(lambda: ember.fft.rfft(ember.tensor(z)), lambda: torch.fft.rfft(torch.tensor(z)))
    both(lambda: ember.fft.fft(ember.ones(4), n=0), lambda: torch.fft.fft(torch.ones(4), n=0))
    both(lambda: ember.fft.fft(ember.ones(4), norm="foo"), lambda: torch.fft.fft(torch.ones(4), norm="foo"))
    both(lambda: ember.fft.irfft(ember.ones(1)), lambda: torch.fft.irfft(torch.ones(1)))
    both(lambda: ember.fft.fftn(ember.ones(4, 4), dim=(0, 0)), lambda: torch.fft.fftn(torch.ones(4, 4), dim=(0, 0)))
    both(lambda: ember.fft.fft(ember.ones(4), dim=2), lambda: torch.fft.fft(torch.ones(4), dim=2))


def test_spectral_filter_gradient_vs_torch():
    """The pattern of a spectral model: rfft, multiply by learned complex weights, irfft."""
    x = arr(3, 16)
    w = arr(9, cplx=True)
    res = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.fft.irfft(lib.fft.rfft(xt) * wt, n=16)
        (y ** 2).mean().backward()
        res.append((y, xt.grad, wt.grad))
    for e, t in zip(*res):
        same(e, t)


# ---- complex tensors -----------------------------------------------------------------------------------------
def test_complex_parts_and_views():
    z = arr(3, 4, cplx=True)
    ze, zt = ember.tensor(z), torch.tensor(z)
    same(ze.real, zt.real)
    same(ze.imag, zt.imag)
    same(ember.real(ze), torch.real(zt))
    same(ember.imag(ze), torch.imag(zt))
    same(ember.view_as_real(ze), torch.view_as_real(zt))
    same(ember.view_as_complex(ember.view_as_real(ze)), zt)
    same(ze.abs(), zt.abs())
    same(ze.angle(), zt.angle())
    same(ember.angle(ember.tensor([-1.0, 2.0, 0.0])), torch.angle(torch.tensor([-1.0, 2.0, 0.0])))
    same(ze.conj(), zt.conj().resolve_conj())
    same(ember.conj_physical(ze), torch.conj_physical(zt))
    x, y = arr(3), arr(3)
    same(ember.complex(ember.tensor(x), ember.tensor(y)), torch.complex(torch.tensor(x), torch.tensor(y)))
    same(ember.polar(ember.tensor(np.abs(x)), ember.tensor(y)), torch.polar(torch.tensor(np.abs(x)), torch.tensor(y)))
    a = arr(2, dtype=np.float32)
    assert ember.complex(ember.tensor(a), ember.tensor(a)).dtype == ember.complex64
    assert repr(ember.tensor([1 + 2j, -3j])) == repr(torch.tensor([1 + 2j, -3j]))
    with pytest.raises(RuntimeError, match="Tensor must have a last dimension of size 2"):
        ember.view_as_complex(ember.ones(3))
    with pytest.raises(RuntimeError, match="Tensor must have a last dimension of size 2"):
        torch.view_as_complex(torch.ones(3))
    with pytest.raises(RuntimeError, match="view_as_real is only supported for complex tensors"):
        ember.view_as_real(ember.ones(3))


def test_complex_autograd_matches_torch():
    z, w = arr(3, cplx=True), arr(3, cplx=True)
    M = arr(3, 3, cplx=True)
    a, b = arr(3), arr(3)
    cases = [
        (lambda L, x, y: L.complex(x, y).abs().sum(), a, b),
        (lambda L, x, y: (x * y).abs().sum(), z, w),
        (lambda L, x, y: (x / y).real.sum() + 2 * (x / y).imag.sum(), z, w),
        (lambda L, x: x.exp().abs().sum(), z),
        (lambda L, x: L.view_as_real(x.sqrt()).sum(), z),
        (lambda L, x: x.angle().sum(), z),
        (lambda L, x, y: L.view_as_real(L.polar(x.abs(), y))[..., 0].sum(), a, b),
        (lambda L, m, x: (m @ x).abs().sum(), M, z),
        (lambda L, x: L.view_as_complex(x).abs().sum(), arr(3, 2)),
        (lambda L, x, y: (x * y).imag.sum(), a, z),
        (lambda L, x: (x.to(L.complex128) * (1 + 2j)).imag.sum(), a),
        (lambda L, x: (x.conj() * x).real.sum(), z),
    ]
    for f, *arrays in cases:
        outs = []
        for lib in (ember, torch):
            ts = [lib.tensor(v, requires_grad=True) for v in arrays]
            o = f(lib, *ts)
            o.backward()
            outs.append([o] + [t.grad for t in ts])
        for e, t in zip(*outs):
            same(e, t)


# ---- gradchecks ------------------------------------------------------------------------------------------------
def real_view(f):
    """gradcheck perturbs and compares real tensors: complex inputs are built from (…, 2) float64 leaves by
    view_as_complex, complex results are read through view_as_real."""
    def g(*args):
        y = f(*args)
        return C.ViewAsReal.apply(y) if y.is_complex() else y
    return g


GRADCHECK = [
    ("FftC2C", real_view(lambda x: O.FftC2C.apply(C.ViewAsComplex.apply(x), (0, 1), 0.5, True)), [(3, 4, 2)]),
    ("FftC2C_inverse", real_view(lambda x: O.FftC2C.apply(C.ViewAsComplex.apply(x), (1,), 1.0, False)), [(2, 5, 2)]),
    ("FftR2C", real_view(lambda x: O.FftR2C.apply(x, (0, 1), 1.0)), [(3, 6)]),
    ("FftC2R", lambda x: O.FftC2R.apply(C.ViewAsComplex.apply(x), (1,), 8, 0.125), [(2, 5, 2)]),
    ("FftC2R_odd", lambda x: O.FftC2R.apply(C.ViewAsComplex.apply(x), (0, 1), 7, 1.0), [(3, 4, 2)]),
    ("Resize", lambda x: O.Resize.apply(x, (0, 1), (5, 2)), [(3, 4)]),
    ("Real", lambda x: C.Real.apply(C.ViewAsComplex.apply(x) * (1 + 2j)), [(3, 2)]),
    ("Imag", lambda x: C.Imag.apply(C.ViewAsComplex.apply(x) * (1 + 2j)), [(3, 2)]),
    ("Conj", real_view(lambda x: C.Conj.apply(C.ViewAsComplex.apply(x))), [(3, 2)]),
    ("Complex", real_view(lambda x, y: C.Complex.apply(x, y)), [(3,), (3,)]),
    ("ViewAsReal", lambda x: C.ViewAsReal.apply(C.ViewAsComplex.apply(x) * (2 - 1j)), [(3, 2)]),
    ("ViewAsComplex", real_view(lambda x: C.ViewAsComplex.apply(x).exp()), [(3, 2)]),
    ("Angle", lambda x: C.Angle.apply(C.ViewAsComplex.apply(x)), [(3, 2)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shapes):
    assert gradcheck(fn, [ember.tensor(arr(*s), requires_grad=True) for s in shapes])


def test_every_fft_and_complex_function_is_gradchecked():
    from ember.autograd import Function
    names = {n for mod in (O, C) for n, v in vars(mod).items()
             if isinstance(v, type) and issubclass(v, Function) and v is not Function}
    assert names <= {g[0].split("_")[0] for g in GRADCHECK}, names


STFT_CASES = [dict(n_fft=16), dict(n_fft=16, hop_length=5, window="hann"), dict(n_fft=16, win_length=10, window="hann"),
              dict(n_fft=16, window="hann", center=False), dict(n_fft=16, window="hann", normalized=True),
              dict(n_fft=16, window="hann", onesided=False), dict(n_fft=15, hop_length=3, window="hann",
                                                                     pad_mode="constant")]


@pytest.mark.parametrize("kw", STFT_CASES, ids=[str(i) for i in range(len(STFT_CASES))])
def test_stft_istft_like_torch(kw):
    x = np.sin(np.arange(2 * 100).reshape(2, 100) * 0.3) + np.cos(np.arange(200).reshape(2, 100) * 0.05)
    res = []
    for lib in (ember, torch):
        k = dict(kw)
        if k.get("window") == "hann":
            k["window"] = lib.tensor(np.hanning(k.get("win_length", k["n_fft"]) + 1)[:-1])
        xt = lib.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            S = lib.stft(xt, return_complex=True, **k) if lib is torch else xt.stft(return_complex=True, **k)
        loss(S, lib).backward()
        out = [S, xt.grad]
        if k.get("window") is not None and k.get("center", True):
            k.pop("pad_mode", None)
            y = lib.istft(S, length=100, **k)
            out.append(y)
            z = lib.tensor(x[0], requires_grad=True)
            Sz = lib.stft(z, return_complex=True, **dict(k, **({"pad_mode": kw["pad_mode"]} if "pad_mode" in kw
                                                                else {})))
            lib.istft(Sz, **k).pow(2).sum().backward()
            out.append(z.grad)
        res.append(out)
    for e, t in zip(*res):
        same(e, t, 1e-9)
    if len(res[0]) > 2:
        np.testing.assert_allclose(res[0][2].detach().numpy(), x, atol=1e-9)  # perfect reconstruction


def test_stft_errors_and_warnings():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="stft requires the return_complex parameter be given for real inputs"):
            lib.stft(lib.ones(64), 16)
        if lib is ember:  # torch warns once per process (TORCH_WARN_ONCE), so only Ember's is checked here
            with pytest.warns(UserWarning, match="A window was not provided"):
                lib.stft(lib.ones(64), 16, return_complex=True)
        r = lib.stft(lib.ones(64), 16, window=lib.ones(16), return_complex=False)
        assert tuple(r.shape) == (9, 17, 2)


COMPLEX_GRAD_CASES = {
    "pow2": lambda lib, x: (x ** 2).abs().sum(),
    "pow_neg": lambda lib, x: (x ** -1.5).real.sum(),
    "rdiv": lambda lib, x: (1 / x).imag.sum(),
    "rsub": lambda lib, x: (2 - x).abs().sum(),
    "cumsum": lambda lib, x: x.cumsum(0).abs().sum(),
    "prod": lambda lib, x: x.prod().abs(),
    "mean": lambda lib, x: (x.mean() * x).abs().sum(),
    "square": lambda lib, x: x.square().real.sum(),
    "index": lambda lib, x: x.reshape(2, 2)[:, 1].abs().sum(),
    "cat_stack": lambda lib, x: lib.cat([x, x * 2]).abs().sum() + lib.stack([x, x]).real.sum(),
    "mm": lambda lib, x: (x.reshape(2, 2) @ x.reshape(2, 2).T).abs().sum(),
    "bmm": lambda lib, x: lib.bmm(x.reshape(1, 2, 2), x.reshape(1, 2, 2)).abs().sum(),
    "einsum": lambda lib, x: lib.einsum("ij,jk->ik", x.reshape(2, 2), x.reshape(2, 2).exp()).abs().sum(),
    "where": lambda lib, x: lib.where(x.real > 0, x, x * 2).abs().sum(),
    "log": lambda lib, x: x.log().imag.sum() + x.log().real.sum(),
    "tanh_sigmoid": lambda lib, x: (x.tanh() + x.sigmoid()).abs().sum(),
    "sin_cos": lambda lib, x: (x.sin() * x.cos()).real.sum(),
    "linear": lambda lib, x: lib.nn.functional.linear(x.reshape(1, 4), x.reshape(1, 4).repeat(3, 1)).abs().sum(),
    "div": lambda lib, x: (x / (x.conj() + 2)).abs().sum(),
    "addcmul": lambda lib, x: lib.addcmul(x, x, x, value=0.5).abs().sum(),
}


@pytest.mark.parametrize("name", list(COMPLEX_GRAD_CASES))
def test_complex_gradients_through_ordinary_ops(name):
    z = np.array([0.3 + 1.1j, -0.7 + 0.2j, 1.4 - 0.5j, -0.2 - 0.9j])
    res = []
    for lib in (ember, torch):
        x = lib.tensor(z, requires_grad=True)
        out = COMPLEX_GRAD_CASES[name](lib, x)
        out.backward()
        res.append((out, x.grad))
    for e, t in zip(*res):
        same(e, t)


def test_fourier_layer_with_complex_weights():
    """A Fourier-neural-operator layer: rfft, complex einsum on the low modes written into a zero spectrum,
    irfft; complex parameters from torch.randn(dtype=cfloat) with the same seed."""
    x0 = arr(2, 3, 16, dtype=np.float32)
    res = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        w = lib.nn.Parameter(lib.randn(3, 4, 5, dtype=lib.cfloat) * 0.5)
        x = lib.tensor(x0, requires_grad=True)
        x_ft = lib.fft.rfft(x)
        out_ft = lib.zeros(2, 4, 9, dtype=lib.cfloat)
        out_ft[:, :, :5] = lib.einsum("bix,iox->box", x_ft[:, :, :5], w)
        y = lib.fft.irfft(out_ft, n=16)
        (y ** 2).mean().backward()
        res.append((y, x.grad, w.grad))
    for e, t in zip(*res):
        same(e, t, 2e-5)
