"""Program-wide settings (ember/_settings.py) against torch: threads, matmul precision, determinism,
default device."""
import warnings

import numpy as np
import pytest

import ember
from ember import _parallel

torch = pytest.importorskip("torch")


@pytest.fixture
def restore_threads():
    e, t = ember.get_num_threads(), torch.get_num_threads()
    yield
    ember.set_num_threads(e)
    torch.set_num_threads(t)


def test_set_num_threads_sets_the_pool_and_blas(restore_threads):
    from threadpoolctl import threadpool_info
    np.ones((4, 4)) @ np.ones((4, 4))  # the BLAS library is loaded
    ember.set_num_threads(1)
    torch.set_num_threads(1)
    assert ember.get_num_threads() == torch.get_num_threads() == 1
    assert _parallel.num_threads() == 1
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)
    # element-wise work gives the same numbers on one thread and split across two
    n = _parallel.STREAM_MIN_ELEMENTS
    x = ember.arange(n, dtype=ember.float32)
    np.testing.assert_array_equal((x * 2).numpy(), np.arange(n, dtype=np.float32) * 2)
    ember.set_num_threads(2)
    assert ember.get_num_threads() == 2
    assert _parallel.thread_pool()._max_workers == 2
    np.testing.assert_array_equal((x * 2).numpy(), np.arange(n, dtype=np.float32) * 2)


def test_set_num_threads_rejects_what_torch_rejects(restore_threads):
    for bad in (0, -1):
        with pytest.raises(RuntimeError) as te:
            torch.set_num_threads(bad)
        with pytest.raises(RuntimeError) as ee:
            ember.set_num_threads(bad)
        assert str(ee.value) == str(te.value)
    assert ember.get_num_interop_threads() >= 1 and torch.get_num_interop_threads() >= 1


def test_float32_matmul_precision_round_trip_and_warning():
    t_old, e_old = torch.get_float32_matmul_precision(), ember.get_float32_matmul_precision()
    assert e_old == t_old == "highest"
    try:
        for p in ("high", "medium", "highest"):
            torch.set_float32_matmul_precision(p)
            ember.set_float32_matmul_precision(p)
            assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == p
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            torch.set_float32_matmul_precision("foo")
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            ember.set_float32_matmul_precision("foo")
        assert ember.get_float32_matmul_precision() == "highest"
    finally:
        torch.set_float32_matmul_precision(t_old)
        ember.set_float32_matmul_precision(e_old)


def test_deterministic_algorithms_state_as_torch():
    try:
        assert ember.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled() is False
        for lib in (torch, ember):
            lib.use_deterministic_algorithms(True, warn_only=True)
        assert ember.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled() is True
        assert ember.is_deterministic_algorithms_warn_only_enabled() is \
            torch.is_deterministic_algorithms_warn_only_enabled() is True
        assert ember.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 1
        for mode in ("error", 0, "warn", 2):
            torch.set_deterministic_debug_mode(mode)
            ember.set_deterministic_debug_mode(mode)
            assert ember.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert ember.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
        ember.use_deterministic_algorithms(False)


def test_default_device():
    assert str(ember.get_default_device()) == str(torch.get_default_device()) == "cpu"
    ember.set_default_device("cpu")
    torch.set_default_device("cpu")
    assert ember.zeros(2).device == ember.device("cpu")
    ember.set_default_device(None)
    torch.set_default_device(None)
    assert str(ember.get_default_device()) == str(torch.get_default_device()) == "cpu"
    if not ember.cuda.is_available():
        ember.set_default_device("cuda")
        try:
            with pytest.raises(AssertionError):
                ember.zeros(2)  # no GPU: creating there fails as in torch
            assert ember.from_numpy(np.zeros(2)).device == ember.device("cpu")  # shares memory: stays
        finally:
            ember.set_default_device(None)
    else:
        ember.set_default_device("cuda")
        try:
            assert ember.zeros(2).device.type == "cuda"
            assert ember.tensor([1.0]).device.type == "cuda"
        finally:
            ember.set_default_device(None)


def test_device_as_a_context_manager_sets_the_default():
    with torch.device("cpu"), ember.device("cpu"):
        assert str(torch.get_default_device()) == str(ember.get_default_device()) == "cpu"
        assert ember.zeros(1).device == ember.device("cpu")
    assert str(ember.get_default_device()) == "cpu"
    if not ember.cuda.is_available():
        with ember.device("cuda"):
            assert ember.get_default_device().type == "cuda"
            with ember.device("cpu"):
                assert ember.ones(2).device.type == "cpu"
            assert ember.get_default_device().type == "cuda"
        assert ember.get_default_device().type == "cpu" and ember.ones(1).device.type == "cpu"


def test_malloc_tuning_is_on_by_default_and_can_be_turned_off():
    import subprocess
    import sys
    code = "import ember._allocator as a; print(a.TUNED)"
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "EMBER_MALLOC_TUNE": "0"}).stdout.strip()
    assert off == "False"
    import platform
    assert on == str(sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")


def test_blas_wait_is_shortened_once_ember_splits_work_and_can_be_turned_off():
    """OpenBLAS's idle threads spin ~0.1 s by default; once Ember runs its own threads they must sleep
    sooner (tune_blas_wait). Checked in fresh processes, with the environment left as it was."""
    import os
    import subprocess
    import sys
    code = ("import os, numpy as np, ember; from ember import _parallel as p\n"
            "libs = [c.dynlib for c in p._blas_controllers() if c.internal_api == 'openblas']\n"
            "has = bool(libs) and hasattr(libs[0], 'openblas_thread_timeout')\n"
            "before = libs[0].openblas_thread_timeout() if has else None\n"
            "x = ember.ones(1 << 22); y = (x * 2).sum()\n"        # a job big enough to be split
            "print(has, before, libs[0].openblas_thread_timeout() if has else None,"
            " 'OPENBLAS_THREAD_TIMEOUT' in os.environ, float(y), p._shared)")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    has, before, after, leaked, total, shared = on.stdout.split()
    assert leaked == "False" and float(total) == 2 * (1 << 22)
    if has == "True" and ember.get_num_threads() > 1:
        assert shared == "True" and before == "0" and after == "18"
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**env, "EMBER_BLAS_TUNE": "0"}).stdout.split()
    if has == "True":
        assert off[2] == "0"


def test_blas_on_calling_thread_restores_the_thread_count(restore_threads):
    from threadpoolctl import threadpool_info
    np.ones((4, 4)) @ np.ones((4, 4))
    ember.set_num_threads(2)
    numpys = {lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "blas" and "numpy" in lib["filepath"]}
    libs = _parallel._blas_controllers()
    assert numpys <= {c.filepath for c in libs}           # NumPy's BLAS is among those Ember drives
    with _parallel.blas_on_calling_thread():
        assert [c.get_num_threads() for c in libs] == [1] * len(libs)
    assert [c.get_num_threads() for c in libs] == [2] * len(libs)
