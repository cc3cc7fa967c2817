"""Shared helpers for the core tests: converting between ember and torch, and comparing results."""
import re

import numpy as np
import pytest

import ember

DTYPE_NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]

try:  # real PyTorch is the oracle of the parity tests; without it only the self-contained tests run
    import torch as TORCH
except ImportError:
    TORCH = None

_CORE_FILES = {"test_tensor.py", "test_dtypes.py", "test_autograd.py", "test_ops_pointwise.py", "test_ops_reduce.py",
               "test_ops_movement.py", "test_ops_linalg.py", "test_creation.py"}
_NEEDS_TORCH = re.compile(r"\btorch\b|(?<![\w.])(check|assert_same|pair|to_torch|inputs|_t)\(")


def pytest_collection_modifyitems(config, items):
    """Without PyTorch, skip the core tests that compare against it (gradchecks and plain tests still run)."""
    if TORCH is not None:
        return
    import inspect
    skip = pytest.mark.skip(reason="PyTorch is not installed: parity test skipped")
    for item in items:
        if item.fspath.basename not in _CORE_FILES or not hasattr(item, "function"):
            continue
        try:
            src = inspect.getsource(item.function)
        except (OSError, TypeError):
            continue
        if _NEEDS_TORCH.search(src):
            item.add_marker(skip)


def ember_dtype(name):
    return getattr(ember, name)


def torch_dtype(torch, name):
    return getattr(torch, name)


def to_torch(torch, t, requires_grad=None):
    """A torch copy of an ember tensor (same dtype, values, requires_grad)."""
    out = torch.from_numpy(np.array(t.detach().numpy(), copy=True))
    rg = t.requires_grad if requires_grad is None else requires_grad
    if rg:
        out.requires_grad_(True)
    return out


def assert_same(e, t, rtol=1e-5, atol=1e-6, check_dtype=True):
    """ember tensor ``e`` equals torch tensor ``t``: shape, dtype name and values."""
    import torch
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            assert_same(a, b, rtol, atol, check_dtype)
        return
    if not isinstance(t, torch.Tensor):
        assert e == pytest.approx(t, rel=rtol, abs=atol, nan_ok=True)
        return
    assert isinstance(e, ember.Tensor), type(e)
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    if check_dtype:
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), (e.dtype, t.dtype)
    a = e.detach().numpy()
    b = t.detach().resolve_neg().numpy(force=True)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Tests that flip global switches (default dtype, grad mode, anomaly mode) leave them as they found them."""
    from ember.autograd.grad_mode import STATE
    dt = ember.get_default_dtype()
    enabled, inference, anomaly = STATE.enabled, STATE.inference, STATE.detect_anomaly
    yield
    ember.set_default_dtype(dt)
    STATE.enabled, STATE.inference = enabled, inference
    if STATE.detect_anomaly != anomaly:
        ember.autograd.set_detect_anomaly(anomaly)
