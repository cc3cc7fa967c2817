"""Same seed, same numbers: Ember's random streams are PyTorch's CPU streams, bit for bit.

For every sampler: values equal bitwise and the generator state afterwards equal to torch's
``get_rng_state()`` (so later draws stay in step), for several seeds, sizes (below, at and around the
16-value Box-Muller block) and both float dtypes; then layers' default initialisation, DataLoader shuffling
and a short training run with dropout.
"""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

SEEDS = [0, 1, 42, 2 ** 40 + 7]
SIZES = [1, 7, 15, 16, 17, 100, 1000, 10 ** 5]
DTYPES = [("float32", torch.float32, ember.float32), ("float64", torch.float64, ember.float64)]


def torch_bits(t):
    a = np.ascontiguousarray(t.detach().numpy())
    return a.dtype, a.shape, a.view(np.uint8).tobytes()


def ember_bits(t):
    a = np.ascontiguousarray(np.asarray(t.detach()._data))
    return a.dtype, a.shape, a.view(np.uint8).tobytes()


def same_state():
    return bytes(torch.get_rng_state().numpy()) == bytes(ember.get_rng_state()._data)


def check_pairs(cases, seed):
    """Run each (name, torch_fn, ember_fn) after seeding both; values bitwise equal and states equal."""
    for name, tf, ef in cases:
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        a, b = tf(), ef()
        assert torch_bits(a) == ember_bits(b), f"{name}: values differ"
        assert same_state(), f"{name}: generator state differs after the call"


# ---------------------------------------------------------------------------------------------------------
def test_state_layout_and_round_trip():
    torch.manual_seed(3)
    ember.manual_seed(3)
    assert same_state() and ember.get_rng_state().numel() == 5056 and ember.get_rng_state().dtype == ember.uint8
    torch.randn(5)                                   # leaves a cached Box-Muller value in the state
    ember.randn(5)
    assert same_state()
    # a torch state restores in Ember and the reverse
    torch.rand(1000)
    ember.set_rng_state(ember.tensor(torch.get_rng_state().numpy()))
    assert same_state()
    assert torch_bits(torch.randn(3)) == ember_bits(ember.randn(3))
    ember.rand(77)
    torch.set_rng_state(torch.from_numpy(np.asarray(ember.get_rng_state()._data).copy()))
    assert torch_bits(torch.rand(9)) == ember_bits(ember.rand(9))
    assert ember.initial_seed() == torch.initial_seed() == 3
    ember.manual_seed(2 ** 40 + 7)
    assert ember.initial_seed() == 2 ** 40 + 7
    with pytest.raises(RuntimeError, match="size"):
        ember.set_rng_state(ember.zeros(10, dtype=ember.uint8))


def test_generator_objects_match_torch_generators():
    gt = torch.Generator().manual_seed(123)
    ge = ember.Generator().manual_seed(123)
    assert torch_bits(torch.randn(40, generator=gt)) == ember_bits(ember.randn(40, generator=ge))
    assert torch_bits(torch.randint(0, 7, (9,), generator=gt)) == ember_bits(ember.randint(0, 7, (9,), generator=ge))
    assert torch_bits(torch.randperm(20, generator=gt)) == ember_bits(ember.randperm(20, generator=ge))
    assert torch_bits(torch.empty(33).uniform_(-2, 3, generator=gt)) == \
        ember_bits(ember.empty(33).uniform_(-2, 3, generator=ge))
    assert bytes(gt.get_state().numpy()) == bytes(ge.get_state()._data)
    ge2 = ember.Generator()
    ge2.set_state(ember.tensor(gt.get_state().numpy()))
    assert torch_bits(torch.rand(5, generator=gt)) == ember_bits(ember.rand(5, generator=ge2))
    assert gt.initial_seed() == ge.initial_seed() == 123
    s = ember.Generator().seed()
    assert 0 <= s < 2 ** 64


def test_fork_rng_restores_the_global_state():
    ember.manual_seed(5)
    before = bytes(ember.get_rng_state()._data)
    with ember.random.fork_rng():
        ember.randn(100)
    assert bytes(ember.get_rng_state()._data) == before
    torch.manual_seed(5)
    with torch.random.fork_rng():
        torch.randn(100)
    assert torch_bits(torch.rand(4)) == ember_bits(ember.rand(4))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d[0])
def test_float_samplers_bitwise(seed, n, dt):
    _, T, E = dt
    cases = [
        ("rand", lambda: torch.rand(n, dtype=T), lambda: ember.rand(n, dtype=E)),
        ("randn", lambda: torch.randn(n, dtype=T), lambda: ember.randn(n, dtype=E)),
        ("rand_like", lambda: torch.rand_like(torch.zeros(n, dtype=T)), lambda: ember.rand_like(ember.zeros(n, dtype=E))),
        ("randn_like", lambda: torch.randn_like(torch.zeros(n, dtype=T)),
         lambda: ember.randn_like(ember.zeros(n, dtype=E))),
        ("uniform_", lambda: torch.empty(n, dtype=T).uniform_(-1 / 3, 2 / 7),
         lambda: ember.empty(n, dtype=E).uniform_(-1 / 3, 2 / 7)),
        ("normal_", lambda: torch.empty(n, dtype=T).normal_(0.3, 0.7), lambda: ember.empty(n, dtype=E).normal_(0.3, 0.7)),
        ("normal(mean, std, size)", lambda: torch.normal(0.2, 1.5, (n,), dtype=T),
         lambda: ember.normal(0.2, 1.5, (n,), dtype=E)),
        ("normal(Tensor, Tensor)", lambda: torch.normal(torch.ones(n, dtype=T), torch.full((n,), 0.3, dtype=T)),
         lambda: ember.normal(ember.ones(n, dtype=E), ember.full((n,), 0.3, dtype=E))),
        ("normal(Tensor, float)", lambda: torch.normal(torch.ones(n, dtype=T), 0.3),
         lambda: ember.normal(ember.ones(n, dtype=E), 0.3)),
        ("normal(float, Tensor)", lambda: torch.normal(0.2, torch.full((n,), 0.3, dtype=T)),
         lambda: ember.normal(0.2, ember.full((n,), 0.3, dtype=E))),
        ("bernoulli_(float)", lambda: torch.empty(n, dtype=T).bernoulli_(0.3),
         lambda: ember.empty(n, dtype=E).bernoulli_(0.3)),
        ("bernoulli_(Tensor)", lambda: torch.empty(n, dtype=T).bernoulli_(torch.rand(n, dtype=T)),
         lambda: ember.empty(n, dtype=E).bernoulli_(ember.rand(n, dtype=E))),
        ("bernoulli(Tensor)", lambda: torch.bernoulli(torch.rand(n, dtype=T)),
         lambda: ember.bernoulli(ember.rand(n, dtype=E))),
        ("bernoulli(Tensor, p)", lambda: torch.bernoulli(torch.zeros(n, dtype=T), 0.6),
         lambda: ember.bernoulli(ember.zeros(n, dtype=E), 0.6)),
        ("exponential_", lambda: torch.empty(n, dtype=T).exponential_(1.5),
         lambda: ember.empty(n, dtype=E).exponential_(1.5)),
        ("geometric_", lambda: torch.empty(n, dtype=T).geometric_(0.2), lambda: ember.empty(n, dtype=E).geometric_(0.2)),
        ("cauchy_", lambda: torch.empty(n, dtype=T).cauchy_(0.5, 2.0), lambda: ember.empty(n, dtype=E).cauchy_(0.5, 2.0)),
        ("log_normal_", lambda: torch.empty(n, dtype=T).log_normal_(0.5, 0.3),
         lambda: ember.empty(n, dtype=E).log_normal_(0.5, 0.3)),
        ("random_()", lambda: torch.empty(n, dtype=T).random_(), lambda: ember.empty(n, dtype=E).random_()),
        ("random_(to)", lambda: torch.empty(n, dtype=T).random_(10), lambda: ember.empty(n, dtype=E).random_(10)),
        ("random_(from, to)", lambda: torch.empty(n, dtype=T).random_(-5, 5),
         lambda: ember.empty(n, dtype=E).random_(-5, 5)),
        ("non-contiguous normal_", lambda: torch.empty(n, 3, dtype=T).t().normal_(),
         lambda: ember.empty(n, 3, dtype=E).t().normal_()),
        ("dropout", lambda: torch.nn.functional.dropout(torch.ones(n, dtype=T), 0.3),
         lambda: ember.nn.functional.dropout(ember.ones(n, dtype=E), 0.3)),
        ("alpha_dropout", lambda: torch.nn.functional.alpha_dropout(torch.ones(n, dtype=T), 0.2, True),
         lambda: ember.nn.functional.alpha_dropout(ember.ones(n, dtype=E), 0.2, True)),
    ]
    check_pairs(cases, seed)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", SIZES)
def test_integer_samplers_bitwise(seed, n):
    cases = [
        ("randint", lambda: torch.randint(3, 1000, (n,)), lambda: ember.randint(3, 1000, (n,))),
        ("randint large range", lambda: torch.randint(0, 2 ** 30, (n,)), lambda: ember.randint(0, 2 ** 30, (n,))),
        ("randint int32", lambda: torch.randint(-7, 7, (n,), dtype=torch.int32),
         lambda: ember.randint(-7, 7, (n,), dtype=ember.int32)),
        ("randint_like", lambda: torch.randint_like(torch.zeros(n), 5, 9), lambda: ember.randint_like(ember.zeros(n), 5, 9)),
        ("randperm", lambda: torch.randperm(n), lambda: ember.randperm(n)),
        ("random_ int64", lambda: torch.empty(n, dtype=torch.int64).random_(),
         lambda: ember.empty(n, dtype=ember.int64).random_()),
        ("random_ int32", lambda: torch.empty(n, dtype=torch.int32).random_(),
         lambda: ember.empty(n, dtype=ember.int32).random_()),
        ("random_ bool", lambda: torch.empty(n, dtype=torch.bool).random_(),
         lambda: ember.empty(n, dtype=ember.bool).random_()),
        ("multinomial", lambda: torch.multinomial(torch.rand(3, 50), 5), lambda: ember.multinomial(ember.rand(3, 50), 5)),
        ("multinomial one", lambda: torch.multinomial(torch.rand(50, dtype=torch.float64), 1, True),
         lambda: ember.multinomial(ember.rand(50, dtype=ember.float64), 1, True)),
        ("multinomial replacement", lambda: torch.multinomial(torch.rand(2, 30), n, True),
         lambda: ember.multinomial(ember.rand(2, 30), n, True)),
    ]
    check_pairs(cases, seed)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_family_bitwise(p):
    F, TF = ember.nn.functional, torch.nn.functional
    x = np.random.default_rng(0).standard_normal((8, 6, 5, 5)).astype(np.float32)
    xt, xe = torch.from_numpy(x), ember.from_numpy(x)
    cases = [
        ("dropout", lambda: TF.dropout(xt, p), lambda: F.dropout(xe, p)),
        ("nn.Dropout", lambda: torch.nn.Dropout(p)(xt), lambda: ember.nn.Dropout(p)(xe)),
        ("dropout1d", lambda: TF.dropout1d(xt[:, :, 0], p), lambda: F.dropout1d(xe[:, :, 0], p)),
        ("dropout2d", lambda: TF.dropout2d(xt, p), lambda: F.dropout2d(xe, p)),
        ("dropout3d", lambda: TF.dropout3d(xt, p), lambda: F.dropout3d(xe, p)),
        ("alpha_dropout", lambda: TF.alpha_dropout(xt, p, True), lambda: F.alpha_dropout(xe, p, True)),
        ("feature_alpha_dropout", lambda: TF.feature_alpha_dropout(xt, p, True),
         lambda: F.feature_alpha_dropout(xe, p, True)),
    ]
    check_pairs(cases, 0)


@pytest.mark.parametrize("n", [17, 5000])
def test_pure_numpy_paths_match_torch_too(monkeypatch, n):
    """Without Numba (an optional speed-up, used from MIN_SIZE values on) the NumPy code paths give the
    same bits; the other tests at 10**5 values run the compiled loops when Numba is installed."""
    import ember._sampling_jit
    monkeypatch.setattr(ember._sampling_jit, "MIN_SIZE", 1 << 62)
    cases = [
        ("randn", lambda: torch.randn(n), lambda: ember.randn(n)),
        ("randn float64", lambda: torch.randn(n, dtype=torch.float64), lambda: ember.randn(n, dtype=ember.float64)),
        ("normal_", lambda: torch.empty(n).normal_(0.3, 0.7), lambda: ember.empty(n).normal_(0.3, 0.7)),
        ("uniform_", lambda: torch.empty(n).uniform_(-1 / 3, 2 / 7), lambda: ember.empty(n).uniform_(-1 / 3, 2 / 7)),
        ("rand", lambda: torch.rand(n), lambda: ember.rand(n)),
        ("randint", lambda: torch.randint(3, 1000, (n,)), lambda: ember.randint(3, 1000, (n,))),
        ("randperm", lambda: torch.randperm(n), lambda: ember.randperm(n)),
        ("exponential_", lambda: torch.empty(n).exponential_(), lambda: ember.empty(n).exponential_()),
        ("poisson", lambda: torch.poisson(torch.linspace(0, 30, n)), lambda: ember.poisson(ember.linspace(0, 30, n))),
    ]
    check_pairs(cases, 42)


def test_exact_fma_emulation_matches_hardware():
    """fma32/fma64 (NumPy, error-free transformations) agree with a fused multiply-add on 10**5 values."""
    from ember._exact_math import fma32, fma64
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 10 ** 5))
    c = rng.standard_normal(10 ** 5) * 10.0 ** rng.integers(-8, 3, 10 ** 5)
    a32, b32, c32 = a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)
    # torch's own addcmul on CPU is fused per element: t + v * t1 * t2 with v = 1 (float64 oracle via Fraction)
    from fractions import Fraction
    for i in range(0, 10 ** 5, 997):
        exact32 = Fraction(float(a32[i])) * Fraction(float(b32[i])) + Fraction(float(c32[i]))
        assert fma32(a32[i], b32[i], c32[i]) == np.float32(float(exact32)) or \
            abs(Fraction(float(fma32(a32[i], b32[i], c32[i]))) - exact32) <= \
            abs(Fraction(float(np.float32(float(exact32)))) - exact32)
        exact64 = Fraction(a[i]) * Fraction(b[i]) + Fraction(c[i])
        assert fma64(a[i], b[i], c[i]) == float(exact64)


def test_mixed_sequence_stays_in_step():
    torch.manual_seed(11)
    ember.manual_seed(11)
    steps = [
        (lambda: torch.randn(3), lambda: ember.randn(3)),            # leaves a cached normal
        (lambda: torch.rand(5, dtype=torch.float64), lambda: ember.rand(5, dtype=ember.float64)),
        (lambda: torch.randn(1), lambda: ember.randn(1)),            # uses the cached one
        (lambda: torch.randint(0, 9, (7,)), lambda: ember.randint(0, 9, (7,))),
        (lambda: torch.randn(37), lambda: ember.randn(37)),
        (lambda: torch.randperm(31), lambda: ember.randperm(31)),
        (lambda: torch.empty(5).exponential_(), lambda: ember.empty(5).exponential_()),
        (lambda: torch.randn(2, 3, dtype=torch.float64), lambda: ember.randn(2, 3, dtype=ember.float64)),
        (lambda: torch.bernoulli(torch.full((20,), 0.5)), lambda: ember.bernoulli(ember.full((20,), 0.5))),
    ]
    for tf, ef in steps:
        assert torch_bits(tf()) == ember_bits(ef())
        assert same_state()


# ---------------------------------------------------------------------------------------------------------
def same_params(tm, em):
    tp, ep = dict(tm.named_parameters()), dict(em.named_parameters())
    assert list(tp) == list(ep)
    for k in tp:
        assert torch_bits(tp[k]) == ember_bits(ep[k]), k
    assert same_state()


@pytest.mark.parametrize("seed", [0, 42])
def test_layer_default_init_matches_torch(seed):
    def build(M):
        return [M.nn.Linear(64, 512), M.nn.Conv2d(3, 16, 3), M.nn.LSTM(10, 20, 2), M.nn.Embedding(100, 16),
                M.nn.GRU(8, 12), M.nn.ConvTranspose2d(4, 8, 3), M.nn.TransformerEncoderLayer(16, 4, 32)]
    torch.manual_seed(seed)
    ember.manual_seed(seed)
    for tm, em in zip(build(torch), build(ember)):
        same_params(tm, em)


def test_lesson_models_init_match_torch():
    def lesson_001(M):
        return M.nn.Sequential(M.nn.Flatten(), M.nn.Linear(28 * 28, 512), M.nn.ReLU(), M.nn.Linear(512, 512),
                               M.nn.ReLU(), M.nn.Linear(512, 10), M.nn.ReLU())

    def lesson_003_block(M, d_model=64, n_head=4, d_ff=256, drop=0.1):
        return M.nn.ModuleDict({
            "attn": M.nn.MultiheadAttention(d_model, n_head, dropout=drop, batch_first=True),
            "ln1": M.nn.LayerNorm(d_model), "ln2": M.nn.LayerNorm(d_model),
            "ff": M.nn.Sequential(M.nn.Linear(d_model, d_ff), M.nn.GELU(), M.nn.Dropout(drop),
                                  M.nn.Linear(d_ff, d_model), M.nn.Dropout(drop))})
    for build in (lesson_001, lesson_003_block):
        torch.manual_seed(0)
        ember.manual_seed(0)
        same_params(build(torch), build(ember))


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                                  "normal_", "uniform_", "trunc_normal_"])
def test_nn_init_bitwise(name):
    torch.manual_seed(1)
    ember.manual_seed(1)
    a, b = torch.empty(30, 40), ember.empty(30, 40)
    getattr(torch.nn.init, name)(a)
    getattr(ember.nn.init, name)(b)
    assert torch_bits(a) == ember_bits(b) and same_state()


def test_nn_init_trunc_normal_narrow_and_sparse():
    torch.manual_seed(2)
    ember.manual_seed(2)
    a, b = torch.empty(20, 10), ember.empty(20, 10)
    torch.nn.init.sparse_(a, 0.3)
    ember.nn.init.sparse_(b, 0.3)
    assert torch_bits(a) == ember_bits(b) and same_state()
    torch.nn.init.orthogonal_(a)                    # same draws; the QR (LAPACK) may differ in the last bits
    ember.nn.init.orthogonal_(b)
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert same_state()


# ---------------------------------------------------------------------------------------------------------
def test_data_shuffling_matches_torch():
    from torch.utils.data import DataLoader as TDL, TensorDataset as TTD, RandomSampler as TRS
    from torch.utils.data import WeightedRandomSampler as TW, random_split as t_split, SubsetRandomSampler as TSR
    from ember.utils.data import DataLoader as EDL, TensorDataset as ETD, RandomSampler as ERS
    from ember.utils.data import WeightedRandomSampler as EW, random_split as e_split, SubsetRandomSampler as ESR
    torch.manual_seed(0)
    ember.manual_seed(0)
    tl = [b[0].tolist() for b in TDL(TTD(torch.arange(100)), batch_size=16, shuffle=True)]
    el = [b[0].tolist() for b in EDL(ETD(ember.arange(100)), batch_size=16, shuffle=True)]
    assert tl == el and same_state()
    assert list(TRS(range(50), replacement=True, num_samples=70)) == \
        list(ERS(range(50), replacement=True, num_samples=70))
    assert list(TRS(range(50), num_samples=120)) == list(ERS(range(50), num_samples=120))
    w = [0.1, 0.5, 1.0, 2.0, 0.0, 3.0]
    assert list(TW(w, 20)) == list(EW(w, 20))
    assert list(TW(w, 4, replacement=False)) == list(EW(w, 4, replacement=False))
    assert [list(s.indices) for s in t_split(range(30), [0.3, 0.3, 0.4])] == \
        [list(s.indices) for s in e_split(range(30), [0.3, 0.3, 0.4])]
    assert same_state()
    gt, ge = torch.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    assert list(TSR(list(range(10, 30)), generator=gt)) == list(ESR(list(range(10, 30)), generator=ge))
    tl = [b[0].tolist() for b in TDL(TTD(torch.arange(40)), batch_size=8, shuffle=True, generator=gt)]
    el = [b[0].tolist() for b in EDL(ETD(ember.arange(40)), batch_size=8, shuffle=True, generator=ge)]
    assert tl == el and bytes(gt.get_state().numpy()) == bytes(ge.get_state()._data)


def _train(M):
    """20 steps: an MLP with dropout on a shuffled DataLoader; returns the losses."""
    M.manual_seed(0)
    x = M.randn(200, 20)
    y = M.randint(0, 3, (200,))
    model = M.nn.Sequential(M.nn.Linear(20, 64), M.nn.ReLU(), M.nn.Dropout(0.2), M.nn.Linear(64, 3))
    opt = M.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = M.utils.data.DataLoader(M.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    losses = []
    while len(losses) < 20:
        for xb, yb in loader:
            loss = M.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if len(losses) == 20:
                break
    return losses


def test_training_run_with_dropout_and_shuffling_matches_torch():
    import torch.utils.data  # noqa: F401
    import ember.utils.data  # noqa: F401
    np.testing.assert_allclose(_train(ember), _train(torch), rtol=1e-5)


def test_attention_dropout_and_other_random_functionals_stay_in_step():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(np.float32)
    qt, qe = torch.from_numpy(x), ember.from_numpy(x)
    torch.manual_seed(1)
    ember.manual_seed(1)
    a = torch.nn.functional.scaled_dot_product_attention(qt, qt, qt, dropout_p=0.3)
    b = ember.nn.functional.scaled_dot_product_attention(qe, qe, qe, dropout_p=0.3)
    np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-6)   # same units dropped; matmul rounding only
    assert same_state()
    # rrelu draws one U(lower, upper) per non-positive input; gumbel_softmax one Exp(1) per logit (values
    # agree to rounding: torch's float32 log is its own SIMD code; the streams stay in step)
    assert torch_bits(torch.nn.functional.rrelu(qt, training=True)) == \
        ember_bits(ember.nn.functional.rrelu(qe, training=True))
    assert same_state()
    np.testing.assert_allclose(ember.nn.functional.gumbel_softmax(qe).numpy(),
                               torch.nn.functional.gumbel_softmax(qt).numpy(), rtol=1e-5, atol=1e-7)
    assert same_state()


@pytest.mark.parametrize("seed", [0, 42])
def test_poisson_bitwise(seed):
    lam = np.concatenate([np.linspace(0, 9.9, 200), np.linspace(10, 500, 800)])
    for dt in ("float32", "float64"):
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        a = torch.poisson(torch.from_numpy(lam.astype(dt)))
        b = ember.poisson(ember.from_numpy(lam.astype(dt)))
        assert torch_bits(a) == ember_bits(b) and same_state()


def test_fma_emulation_matches_hardware_fma_on_a_million_values():
    """NumPy's error-free fma32/fma64 agree bit for bit with the CPU's fused multiply-add (through Numba)."""
    pytest.importorskip("numba")
    import numba
    from ember._exact_math import fma32, fma64
    from ember._sampling_kernels import _fma

    @numba.njit
    def hw(a, b, c, out):
        for i in range(a.size):
            out[i] = _fma(a[i], b[i], c[i])
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 10 ** 6))
    c = rng.standard_normal(10 ** 6) * 10.0 ** rng.integers(-12, 4, 10 ** 6)
    for dt, emulated in ((np.float32, fma32), (np.float64, fma64)):
        x, y, z = a.astype(dt), b.astype(dt), c.astype(dt)
        out = np.empty_like(x)
        hw(x, y, z, out)
        assert np.array_equal(emulated(x, y, z).view(np.uint8), out.view(np.uint8))
