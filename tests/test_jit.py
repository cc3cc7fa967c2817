"""torch.jit entry points: script/trace return callables computing the same (eagerly); save/load without pickle."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _pair():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    em = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, em


X = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)


@pytest.mark.parametrize("how", ["script", "trace"])
def test_script_and_trace_compute_the_same_as_torch(how):
    tm, em = _pair()
    if how == "script":
        ts, es = torch.jit.script(tm), ember.jit.script(em)
    else:
        ts, es = torch.jit.trace(tm, torch.tensor(X)), ember.jit.trace(em, ember.tensor(X))
    assert isinstance(ts, torch.jit.ScriptModule) and isinstance(es, ember.jit.ScriptModule)
    assert not isinstance(em[0], ember.jit.ScriptModule)
    np.testing.assert_allclose(es(ember.tensor(X)).detach().numpy(), ts(torch.tensor(X)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert list(es.state_dict()) == list(ts.state_dict())


def test_script_and_trace_functions():
    def f(a):
        return ember.tanh(a) * 2

    def tf(a):
        return torch.tanh(a) * 2

    for lib, fn in ((torch, tf), (ember, f)):
        traced = lib.jit.trace(fn, (lib.ones(2),))
        scripted = lib.jit.script(fn)
        assert isinstance(traced, lib.jit.ScriptFunction) and isinstance(scripted, lib.jit.ScriptFunction)
        assert traced(lib.zeros(2)).tolist() == [0.0, 0.0] == scripted(lib.zeros(2)).tolist()
        assert lib.jit.is_scripting() is False and lib.jit.is_tracing() is False
        assert lib.jit.annotate(list, [1]) == [1]
    with pytest.raises(RuntimeError, match="example_kwarg_inputs or example_inputs must be provided"):
        ember.jit.trace(f)


def test_save_and_load_a_scripted_module_without_pickle(tmp_path):
    tm, em = _pair()
    ember.jit.save(ember.jit.script(em), tmp_path / "m.pt")
    assert b"PK" != (tmp_path / "m.pt").read_bytes()[:2]                 # not a zip of pickles
    loaded = ember.jit.load(tmp_path / "m.pt")
    assert isinstance(loaded, ember.jit.ScriptModule) and type(loaded) is type(em)
    np.testing.assert_allclose(loaded(ember.tensor(X)).detach().numpy(), tm(torch.tensor(X)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_jit_save_of_a_function_and_load_of_torchscript_fail_clearly(tmp_path):
    with pytest.raises(RuntimeError, match="not a function: a function's code cannot be stored without pickle"):
        ember.jit.save(ember.jit.script(lambda a: a), tmp_path / "f.pt")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "t.pt")
    with pytest.raises(Exception, match="TorchScript"):
        ember.jit.load(tmp_path / "t.pt")


def test_freeze_and_optimize_for_inference():
    _, em = _pair()
    with pytest.raises(RuntimeError, match="Freezing is currently only implemented for modules in eval mode"):
        ember.jit.freeze(ember.jit.script(em))
    frozen = ember.jit.freeze(ember.jit.script(em.eval()))
    assert frozen(ember.tensor(X)).shape == (4, 2)
    assert ember.jit.optimize_for_inference(em) is em
    assert ember.jit.fork(lambda a: a + 1, 1).wait() == 2


def test_entry_points_warn_deprecation_like_torch(tmp_path):
    import warnings
    got = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m = lib.jit.script(lib.nn.Linear(2, 2))
            lib.jit.trace(lib.nn.Linear(2, 2), lib.ones(1, 2))
            lib.jit.save(m, tmp_path / f"{lib.__name__}.pt")
            lib.jit.load(tmp_path / f"{lib.__name__}.pt")
        got.append(sorted({str(i.message) for i in w if i.category is DeprecationWarning
                           and "script_method" not in str(i.message) and "trace_method" not in str(i.message)}))
    assert got[1] == got[0] and len(got[0]) == 4
