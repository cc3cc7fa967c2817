"""ember.accelerator against torch.accelerator (on a machine without a GPU both say 'cpu')."""
import pytest

import ember

torch = pytest.importorskip("torch")


def test_tutorial_device_line_picks_the_same_device():
    e = ember.accelerator.current_accelerator().type if ember.accelerator.is_available() else "cpu"
    t = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    if not ember.cuda.is_available():
        assert e == t == "cpu"
    else:
        assert e == "cuda"


def test_queries_match_torch_without_a_gpu():
    if ember.cuda.is_available() or torch.cuda.is_available():
        pytest.skip("compares the CPU-only answers")
    assert ember.accelerator.is_available() is torch.accelerator.is_available() is False
    assert ember.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert ember.accelerator.device_count() == torch.accelerator.device_count() == 0
    for name, args in [("current_device_idx", ()), ("set_device_idx", (0,))]:  # deprecated aliases warn
        with pytest.warns(FutureWarning, match="instead"), pytest.raises(RuntimeError):
            getattr(torch.accelerator, name)(*args)
        with pytest.warns(FutureWarning, match="instead"), pytest.raises(RuntimeError):
            getattr(ember.accelerator, name)(*args)
    for name, args in [("current_device_index", ()), ("set_device_index", (0,)), ("synchronize", ())]:
        with pytest.raises(RuntimeError) as te:
            getattr(torch.accelerator, name)(*args)
        with pytest.raises(RuntimeError) as ee:
            getattr(ember.accelerator, name)(*args)
        assert str(ee.value) == str(te.value)
    with torch.accelerator.device_index(None), ember.accelerator.device_index(None):
        pass  # None leaves the device alone, with or without an accelerator


@pytest.mark.skipif(not ember.cuda.is_available(), reason="needs a GPU (CuPy)")
def test_gpu_index_round_trip():
    assert ember.accelerator.current_accelerator() == ember.device("cuda")
    assert ember.accelerator.device_count() >= 1
    ember.accelerator.set_device_index(0)
    assert ember.accelerator.current_device_index() == 0
    with ember.accelerator.device_index("cuda:0"):
        assert ember.accelerator.current_device_index() == 0
    ember.accelerator.synchronize()


def test_reachable_under_the_hook():
    import warnings
    import ember.compat
    was = ember.compat.is_installed()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # real torch is imported here already
        ember.compat.install()
    try:
        import importlib
        acc = importlib.import_module("torch.accelerator")
        assert acc.is_available is ember.accelerator.is_available
        cudnn = importlib.import_module("torch.backends.cudnn")
        assert cudnn.is_available is ember.backends.cudnn.is_available
        hub = importlib.import_module("torch.hub")
        assert hub.load_state_dict_from_url is ember.hub.load_state_dict_from_url
    finally:
        if not was:
            ember.compat.uninstall()
