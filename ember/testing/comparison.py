"""``assert_close``: are two tensors (or numbers, or nested sequences/mappings of them) close?

Close means ``|actual - expected| <= atol + rtol * |expected|`` element-wise, with default tolerances chosen
by dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7 both; integers and bools: exact). Before the values,
the attributes must agree: shape, dtype (``check_dtype``) and device (``check_device``). A failure raises
``AssertionError`` with torch's report: how many elements mismatch, and the greatest absolute and relative
differences with their indices.
"""
import math
from collections.abc import Mapping, Sequence

import numpy as np

from .._tensor import Tensor

__all__ = ["assert_close", "assert_allclose", "default_tolerances"]

_TOLS = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7),
         "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


def default_tolerances(*dtypes):
    """(rtol, atol): the loosest of the dtypes' defaults (0, 0 for integers and bools)."""
    rtols, atols = zip(*(_TOLS.get(d.name, (0.0, 0.0)) for d in dtypes))
    return max(rtols), max(atols)


class _Fail(Exception):
    """A mismatch found deep in a structure: the message and the exception type to raise."""

    def __init__(self, kind, msg, path=""):
        super().__init__(msg)
        self.kind, self.msg, self.path = kind, msg, path


def _is_number(x):
    return isinstance(x, (bool, int, float, complex, np.number)) and not isinstance(x, Tensor)


def _compare(actual, expected, path, opts):
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        return _compare_tensors(actual, expected, opts)
    if _is_number(actual) and _is_number(expected):
        return _compare_numbers(actual, expected, opts)
    if isinstance(actual, (str, bytes)) or isinstance(expected, (str, bytes)):
        raise _Fail(TypeError, _no_pair(actual, expected))
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        ka, ke = list(actual), list(expected)
        if set(ka) != set(ke):
            missing = sorted(set(ke) - set(ka), key=str)
            extra = sorted(set(ka) - set(ke), key=str)
            parts = ["The keys of the mappings do not match:"]
            if missing:
                parts.append(f"Missing keys in the actual mapping: {missing}")
            if extra:
                parts.append(f"Extra keys in the actual mapping: {extra}")
            raise _Fail(AssertionError, "\n".join(parts))
        for k in ka:
            _descend(actual[k], expected[k], f"{path}[{k!r}]", opts)
        return
    if isinstance(actual, Sequence) and isinstance(expected, Sequence):
        if len(actual) != len(expected):
            raise _Fail(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _descend(a, e, f"{path}[{i}]", opts)
        return
    raise _Fail(TypeError, _no_pair(actual, expected))


def _descend(a, e, path, opts):
    try:
        _compare(a, e, path, opts)
    except _Fail as f:
        if not f.path:
            f.path = path
        raise


def _no_pair(a, e):
    return f"No comparison pair was able to handle inputs of type {type(a)} and {type(e)}."


def _attr_mismatch(name, a, e):
    raise _Fail(AssertionError, f"The values for attribute '{name}' do not match: {a} != {e}.")


def _tolerances(dtypes, opts):
    rtol, atol = opts["rtol"], opts["atol"]
    if rtol is None:
        return default_tolerances(*dtypes)
    return rtol, atol


def _compare_tensors(a, e, opts):
    if tuple(a.shape) != tuple(e.shape):
        _attr_mismatch("shape", a.shape, e.shape)
    if opts["check_device"] and a.device != e.device:
        _attr_mismatch("device", a.device, e.device)
    if opts["check_dtype"] and a.dtype != e.dtype:
        _attr_mismatch("dtype", a.dtype, e.dtype)
    if opts["check_stride"] and a.stride() != e.stride():
        _attr_mismatch("stride()", a.stride(), e.stride())
    rtol, atol = _tolerances((a.dtype, e.dtype), opts)
    x, y = _host(a), _host(e)
    if x.dtype != y.dtype:
        common = np.result_type(x.dtype, y.dtype)
        x, y = x.astype(common), y.astype(common)
    matches = _isclose(x, y, rtol, atol, opts["equal_nan"])
    if bool(matches.all()):
        return
    if a.ndim == 0:
        _scalar_failure(x.item(), y.item(), rtol, atol, x.dtype)
    raise _Fail(AssertionError, _tensor_msg(x, y, matches, rtol, atol))


def _host(t):
    x = t.detach()._data
    return x.get() if hasattr(x, "get") else np.asarray(x)


def _isclose(x, y, rtol, atol, equal_nan):
    if x.dtype == np.bool_ or x.dtype.kind in "iu":
        if rtol == 0 and atol == 0:
            return x == y
        x, y = x.astype(np.float64), y.astype(np.float64)
    with np.errstate(all="ignore"):
        close = (x == y) | (np.abs(x - y) <= atol + rtol * np.abs(y))
        close &= np.isfinite(x - y) | (x == y)  # inf == inf is close, inf vs -inf or finite is not
        if equal_nan:
            close |= np.isnan(x) & np.isnan(y)
    return close


def _diffs(x, y):
    """|x - y| and |x - y| / |y| in the inputs' dtype (bools and integers as torch: via int64 / float)."""
    if x.dtype == np.bool_:
        x, y = x.astype(np.int64), y.astype(np.int64)
    with np.errstate(all="ignore"):
        if x.dtype.kind in "iu":
            absd = np.abs(x.astype(np.int64) - y.astype(np.int64))
            rel = absd / np.abs(y.astype(np.float64))
        else:
            absd = np.abs(x - y)
            rel = absd / np.abs(y)
    return absd, rel


def _fmt_num(v):
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return str(int(v))
    return repr(float(v))


def _tensor_msg(x, y, matches, rtol, atol):
    equal = rtol == 0 and atol == 0
    n, total = int((~matches).sum()), matches.size
    absd, rel = _diffs(x, y)
    ia, ir = np.argmax(absd.reshape(-1)), np.argmax(rel.reshape(-1))
    idx_a = tuple(int(i) for i in np.unravel_index(ia, x.shape))
    idx_r = tuple(int(i) for i in np.unravel_index(ir, x.shape))
    va, vr = absd.reshape(-1)[ia], rel.reshape(-1)[ir]
    lines = [f"Tensor-likes are not {'equal' if equal else 'close'}!", "",
             f"Mismatched elements: {n} / {total} ({n / total * 100:.1f}%)"]
    extra_a = "" if equal else f" (up to {atol!r} allowed)"
    extra_r = "" if equal else f" (up to {rtol!r} allowed)"
    lines.append(f"Greatest absolute difference: {_fmt_num(va)} at index {idx_a}{extra_a}")
    lines.append(f"Greatest relative difference: {_fmt_num(vr)} at index {idx_r}{extra_r}")
    return "\n".join(lines)


def _compare_numbers(a, e, opts):
    if isinstance(a, (complex, np.complexfloating)) or isinstance(e, (complex, np.complexfloating)):
        kind = "complex128"
    elif isinstance(a, (float, np.floating)) or isinstance(e, (float, np.floating)):
        kind = "float64"
    else:
        kind = "int64"
    from ..dtypes import to_dtype
    rtol, atol = _tolerances((to_dtype(kind),), opts)
    x, y = np.asarray(a), np.asarray(e)
    if bool(_isclose(x, y, rtol, atol, opts["equal_nan"])):
        return
    _scalar_failure(a, e, rtol, atol, x.dtype)


def _scalar_failure(a, e, rtol, atol, dtype):
    equal = rtol == 0 and atol == 0
    absd = abs(a - e)
    rel = absd / abs(e) if e != 0 else math.inf
    lines = [f"Scalars are not {'equal' if equal else 'close'}!", "", f"Expected {e} but got {a}."]
    lines.append(f"Absolute difference: {absd}" + ("" if equal else f" (up to {atol!r} allowed)"))
    lines.append(f"Relative difference: {rel}" + ("" if equal else f" (up to {rtol!r} allowed)"))
    raise _Fail(AssertionError, "\n".join(lines))


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close (see the module docstring)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    opts = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device, check_dtype=check_dtype,
                check_stride=check_stride)
    try:
        _compare(actual, expected, "", opts)
    except _Fail as f:
        text = f.msg
        if f.kind is AssertionError:
            if f.path:
                text += f"\n\nThe failure occurred for item {f.path}"
            if msg is not None:
                text = msg(text) if callable(msg) else msg
        raise f.kind(text) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated in torch (use assert_close): compares values only, ``expected`` may be any array-like."""
    import warnings
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead. You can find detailed upgrade "
                  "instructions in https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    from ..creation import tensor, as_tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = as_tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = default_tolerances(actual.dtype, expected.dtype)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 check_stride=False, msg=msg or None)
