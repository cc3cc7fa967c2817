"""API misuse compared with torch: out-of-range indices raise instead of wrapping silently, torch's
exception classes and messages, a second backward, NumPy warnings, DataLoader worker faults."""
import os
import signal
import time
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(fn, lib):
    """('ok', values) or (exception class name, message first line) of ``fn(lib)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's "index_reduce is in beta" and the like
            out = fn(lib)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return type(e).__name__, str(e).split("\n")[0]
    return "ok", (None if out is None else np.asarray(out.detach().numpy() if hasattr(out, "detach") else out).tolist())


# ----------------------------------------------------------------------------------------------
# every index-taking op: negative and too-large indices as torch
# ----------------------------------------------------------------------------------------------
def _x(t):
    return t.arange(6.0).reshape(2, 3)


INDEX_OPS = {
    "gather": lambda t, i: t.gather(_x(t), 1, i),
    "gather_backward": lambda t, i: t.gather(t.ones(2, 3, requires_grad=True), 1, i).sum().backward(),
    "Tensor.gather": lambda t, i: _x(t).gather(1, i),
    "take_along_dim": lambda t, i: t.take_along_dim(_x(t), i if int(i.max()) < 3 else i, 1),
    "scatter_value": lambda t, i: t.zeros(2, 3).scatter(1, i, 1.0),
    "scatter_src": lambda t, i: t.zeros(2, 3).scatter(1, i, t.ones(1, 3)),
    "scatter_reduce_add": lambda t, i: t.zeros(2, 3).scatter(1, i, t.ones(1, 3), reduce="add"),
    "Tensor.scatter_": lambda t, i: t.zeros(2, 3).scatter_(1, i, t.ones(1, 3)),
    "scatter_add": lambda t, i: t.zeros(2, 3).scatter_add(1, i, t.ones(1, 3)),
    "Tensor.scatter_add_": lambda t, i: t.zeros(2, 3).scatter_add_(1, i, t.ones(1, 3)),
    "scatter_reduce": lambda t, i: t.zeros(2, 3).scatter_reduce(1, i, t.ones(1, 3), "amax"),
    "index_select": lambda t, i: t.index_select(_x(t), 1, i[0]),
    "index_select_1d": lambda t, i: t.index_select(_x(t)[0], 0, i[0]),
    "index_add": lambda t, i: t.zeros(2, 3).index_add(1, i[0], t.ones(2, 3)),
    "Tensor.index_add_": lambda t, i: t.zeros(2, 3).index_add_(1, i[0], t.ones(2, 3)),
    "index_copy": lambda t, i: t.zeros(2, 3).index_copy(1, i[0], t.ones(2, 3)),
    "Tensor.index_copy_": lambda t, i: t.zeros(2, 3).index_copy_(1, i[0], t.ones(2, 3)),
    "index_fill": lambda t, i: t.zeros(2, 3).index_fill(1, i[0], 1.0),
    "index_reduce": lambda t, i: t.zeros(2, 3).index_reduce(1, i[0], t.ones(2, 3), "prod"),
    "take": lambda t, i: t.take(_x(t), i * 3),
    "put_": lambda t, i: t.zeros(6).put_(i[0] * 3, t.ones(3)),
    "put": lambda t, i: t.put(t.zeros(2, 3), i[0] * 3, t.ones(3), accumulate=True),
    "index_put_": lambda t, i: t.zeros(3).index_put_((i[0],), t.ones(3)),
    "index_put_accumulate": lambda t, i: t.zeros(3).index_put_((i[0],), t.ones(3), accumulate=True),
    "getitem": lambda t, i: t.zeros(3)[i[0]],
    "setitem": lambda t, i: t.zeros(3).__setitem__(i[0], 1.0),
    "embedding": lambda t, i: t.nn.functional.embedding(i, t.ones(3, 2)),
    "Embedding": lambda t, i: t.nn.Embedding(3, 2)(i),
    "embedding_bag": lambda t, i: t.nn.functional.embedding_bag(i, t.ones(3, 2)),
    "one_hot": lambda t, i: t.nn.functional.one_hot(i, 3),
    "nll_loss": lambda t, i: t.nn.functional.nll_loss(t.zeros(3, 3), i[0]),
    "cross_entropy": lambda t, i: t.nn.functional.cross_entropy(t.zeros(3, 3), i[0]),
    "bincount": lambda t, i: t.bincount(i[0]),
}


@pytest.mark.parametrize("which", ["negative", "too_large"])
@pytest.mark.parametrize("name", list(INDEX_OPS))
def test_index_taking_ops_check_bounds_as_torch(name, which):
    row = [0, -1, 1] if which == "negative" else [0, 3, 1]
    if name == "take_along_dim" and which == "too_large":
        pytest.skip("torch reads past the dimension here (undefined values); ember raises gather's error")
    fn = INDEX_OPS[name]
    expected = _outcome(lambda t: fn(t, t.tensor([row])), torch)
    got = _outcome(lambda t: fn(t, t.tensor([row])), ember)
    assert got == expected


def test_put_values_and_grads_as_torch():
    def run(t):
        x = t.arange(6.0).reshape(2, 3).requires_grad_()
        src = t.tensor([10.0, 20.0, 30.0], requires_grad=True)
        out = t.put(x * 1, t.tensor([5, -6, 5]), src, accumulate=True)
        (out * t.arange(6.0).reshape(2, 3)).sum().backward()
        y = t.zeros(2, 3)
        y.put_(t.tensor([1, -1]), t.tensor([7.0, 8.0]))
        return t.cat([out.detach().reshape(-1), x.grad.reshape(-1), src.grad, y.reshape(-1)])

    assert _outcome(run, ember) == _outcome(run, torch)


def test_take_along_dim_too_large_raises_instead_of_reading_garbage():
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1 with size 3"):
        ember.take_along_dim(ember.arange(6.0).reshape(2, 3), ember.tensor([[0, 3, 1]]), 1)


def test_gather_backward_with_negative_index_raises_in_forward():
    x = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 1 with size 3"):
        ember.gather(x, 1, ember.tensor([[0, -1, 1]]))


# ----------------------------------------------------------------------------------------------
# error classes and messages as torch's
# ----------------------------------------------------------------------------------------------
ERROR_CASES = {
    "cat_empty": lambda t: t.cat([]),
    "argmax_empty": lambda t: t.ones(0).argmax(),
    "argmin_empty": lambda t: t.ones(0).argmin(),
    "argmax_empty_dim": lambda t: t.ones(2, 0).argmax(1),
    "argmax_empty_other_dim": lambda t: t.ones(0, 2).argmax(1),
    "tensor_2**64": lambda t: t.tensor([2 ** 64]),
    "tensor_2**63": lambda t: t.tensor([2 ** 63]),
    "tensor_scalar_2**64": lambda t: t.tensor(2 ** 64),
    "tensor_2**64_float": lambda t: t.tensor([2 ** 64], dtype=t.float32),
    "tensor_2**64_mixed": lambda t: t.tensor([1.5, 2 ** 64]),
    "zeros_2**63": lambda t: t.zeros(2 ** 63),
    "zeros_3_2**63": lambda t: t.zeros(3, 2 ** 63),
    "randn_2**63": lambda t: t.randn(2 ** 63),
    "zeros_2**62": lambda t: t.zeros(2 ** 62),
    "zeros_2**31_2**31": lambda t: t.zeros(2 ** 31, 2 ** 31),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_error_classes_and_messages_as_torch(name):
    assert _outcome(ERROR_CASES[name], ember) == _outcome(ERROR_CASES[name], torch)


@pytest.mark.parametrize("make", [
    lambda t: t.zeros(10 ** 12), lambda t: t.randn(10 ** 6, 10 ** 6), lambda t: t.empty(10 ** 12),
    lambda t: t.ones(10 ** 12, dtype=t.float64), lambda t: t.full((10 ** 12,), 2.0), lambda t: t.rand(10 ** 12),
    lambda t: t.randint(0, 5, (10 ** 12,)), lambda t: t.arange(10 ** 13),
])
def test_impossible_allocations_raise_torch_allocator_error(make):
    # ember checks the byte count before NumPy allocates; torch's allocator fails with this message
    cls, msg = _outcome(make, ember)
    assert (cls, msg) == _outcome(make, torch)
    assert "DefaultCPUAllocator: can't allocate memory: you tried to allocate" in msg


def test_allocation_check_is_cheap():
    t0 = time.perf_counter()
    for _ in range(2000):
        ember.zeros(4, 4)
    assert time.perf_counter() - t0 < 2.0


# ----------------------------------------------------------------------------------------------
# a second backward
# ----------------------------------------------------------------------------------------------
GRAPHS = {
    "add": lambda t, x: (x + 1).sum(), "sum": lambda t, x: x.sum(), "neg": lambda t, x: (-x).sum(),
    "view_t": lambda t, x: x.view(3, 1).t().sum(), "slice": lambda t, x: x[1:].sum(),
    "cat": lambda t, x: t.cat([x, x]).sum(),
    "mul_self": lambda t, x: (x * x).sum(), "mul_number": lambda t, x: (x * 2).sum(),
    "exp": lambda t, x: x.exp().sum(), "relu": lambda t, x: (x + 1).relu().mean(),
    "div_number": lambda t, x: (x / 2).sum(), "advanced_index": lambda t, x: x[t.tensor([0, 2])].sum(),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_second_backward_as_torch(name):
    def run(t):
        x = t.ones(3, requires_grad=True)
        y = GRAPHS[name](t, x)
        y.backward()
        y.backward()
        return x.grad

    assert _outcome(run, ember) == _outcome(run, torch)


def test_user_function_ctx_attributes_survive_a_second_backward():
    class Stash(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.x = x  # an attribute, not save_for_backward: torch keeps it
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * ctx.x

    x = ember.tensor([2.0, 3.0], requires_grad=True)
    y = Stash.apply(x).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [4.0, 6.0]


# ----------------------------------------------------------------------------------------------
# NumPy's floating-point warnings stay inside Ember (torch is silent)
# ----------------------------------------------------------------------------------------------
_SILENT_PROGRAM = """
import warnings
import numpy as np
import ember
F = ember.nn.functional
inf = float("inf")
with warnings.catch_warnings(record=True) as caught:  # the process's default filters
    F.softmax(ember.tensor([inf, 1.0]), 0)
    F.log_softmax(ember.tensor([-inf, -inf]), 0)
    F.cross_entropy(ember.tensor([[inf, 1.0]], requires_grad=True), ember.tensor([1])).backward()
    F.layer_norm(ember.tensor([[inf, 1.0]]), (2,))
    F.mse_loss(ember.tensor([inf]), ember.tensor([inf]))
    ember.tensor([inf]) * 0
    ember.tensor([inf]) - inf
    ember.tensor([[inf]]) @ ember.tensor([[0.0]])
    ember.tensor([float("nan")]).long()
    ember.tensor([0.0]).log()
    np.array([inf]) * 0  # the program's own NumPy call: its warning stays
print([str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)])
"""


def test_no_numpy_runtime_warnings_where_torch_is_silent():
    # in a plain process (pytest replaces the warning filters of each test)
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", _SILENT_PROGRAM], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "['invalid value encountered in multiply']", out.stderr


def test_softmax_and_cross_entropy_of_inf_silent_even_when_warnings_are_errors():
    F = ember.nn.functional
    inf = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(ember.tensor([inf, 1.0]), 0)
        F.log_softmax(ember.tensor([[-inf, -inf]] * 3), 1)
        F.cross_entropy(ember.tensor([[inf, 1.0]], requires_grad=True), ember.tensor([1])).backward()


def test_users_own_numpy_warnings_are_kept():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        np.array([np.inf]) * 0
    assert any("invalid value" in str(w.message) for w in caught)


# ----------------------------------------------------------------------------------------------
# DataLoader worker faults
# ----------------------------------------------------------------------------------------------
class _Slow(ember.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(60)
        return i


class _Segfault(ember.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os.kill(os.getpid(), signal.SIGSEGV)


class _Exit3(ember.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


def test_dataloader_timeout_raises_after_the_timeout():
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 2 seconds"):
        next(iter(ember.utils.data.DataLoader(_Slow(), num_workers=1, timeout=2)))
    assert time.monotonic() - t0 < 3.5


@pytest.mark.parametrize("dataset, cause", [
    (_Segfault(), r"DataLoader worker \(pid \d+\) is killed by signal: Segmentation fault\. "),
    (_Exit3(), r"DataLoader worker \(pid \d+\) exited unexpectedly with exit code 3\. Details are lost"),
])
def test_dataloader_dead_worker_reports_signal_or_exit_code(dataset, cause):
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly") as e:
        next(iter(ember.utils.data.DataLoader(dataset, num_workers=1)))
    assert type(e.value.__cause__) is RuntimeError
    assert __import__("re").fullmatch(cause + ".*", str(e.value.__cause__))
