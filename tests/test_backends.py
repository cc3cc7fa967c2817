"""ember.backends: the flags torch.backends offers, with the same defaults, kept as set."""
import pytest

import ember
import ember.backends

torch = pytest.importorskip("torch")


def test_cudnn_flags_defaults_and_round_trip():
    for name in ("benchmark", "deterministic", "enabled", "allow_tf32"):
        assert getattr(ember.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    old = ember.backends.cudnn.benchmark
    ember.backends.cudnn.benchmark = True
    try:
        assert ember.backends.cudnn.benchmark is True
    finally:
        ember.backends.cudnn.benchmark = old
    with ember.backends.cudnn.flags(enabled=False, deterministic=True), \
            torch.backends.cudnn.flags(enabled=False, deterministic=True):
        assert ember.backends.cudnn.enabled is torch.backends.cudnn.enabled is False
        assert ember.backends.cudnn.deterministic is torch.backends.cudnn.deterministic is True
    assert ember.backends.cudnn.enabled is torch.backends.cudnn.enabled is True
    assert ember.backends.cudnn.deterministic is torch.backends.cudnn.deterministic is False


def test_availability_answers_are_bools():
    if not torch.cuda.is_available():
        assert ember.backends.cudnn.is_available() is torch.backends.cudnn.is_available() is False
    assert ember.backends.cudnn.version() is None
    assert ember.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert ember.backends.mps.is_built() is False
    assert isinstance(torch.backends.mkl.is_available(), bool)
    assert isinstance(ember.backends.mkl.is_available(), bool)
    assert isinstance(torch.backends.openmp.is_available(), bool)
    assert isinstance(ember.backends.openmp.is_available(), bool)
    assert ember.backends.mkldnn.enabled is torch.backends.mkldnn.enabled is True
    assert ember.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    assert isinstance(torch.backends.cpu.get_cpu_capability(), str)
    assert ember.backends.cuda.is_built() is (__import__("importlib").import_module("ember.device").cupy is not None)


def test_mkl_answer_matches_the_loaded_blas():
    from threadpoolctl import threadpool_info
    import numpy as np
    np.ones((2, 2)) @ np.ones((2, 2))
    mkl = any(lib.get("internal_api") == "mkl" for lib in threadpool_info())
    assert ember.backends.mkl.is_available() is mkl


def test_allow_tf32_is_the_matmul_precision_as_in_torch():
    t_old, e_old = torch.get_float32_matmul_precision(), ember.get_float32_matmul_precision()
    try:
        for lib in (torch, ember):
            lib.backends.cuda.matmul.allow_tf32 = True
        assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "high"
        for lib in (torch, ember):
            lib.backends.cuda.matmul.allow_tf32 = False
        assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
        for lib in (torch, ember):
            lib.set_float32_matmul_precision("medium")
        assert ember.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32 is True
    finally:
        torch.set_float32_matmul_precision(t_old)
        ember.set_float32_matmul_precision(e_old)
    assert ember.backends.cuda.matmul.allow_fp16_reduced_precision_reduction == \
        torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction


def test_sdp_switches():
    for name in ("flash", "mem_efficient", "math"):
        e_on, t_on = getattr(ember.backends.cuda, f"{name}_sdp_enabled"), getattr(torch.backends.cuda,
                                                                                 f"{name}_sdp_enabled")
        assert e_on() == t_on()
        getattr(ember.backends.cuda, f"enable_{name}_sdp")(False)
        assert e_on() is False
        getattr(ember.backends.cuda, f"enable_{name}_sdp")(True)
        assert e_on() is True
