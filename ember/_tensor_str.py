"""How a tensor prints: ``repr(t)`` character for character as PyTorch prints it.

Users paste printed tensors into notebooks, tutorials and tests, so Ember prints exactly what PyTorch
prints.  The algorithm (PyTorch's ``torch/_tensor_str.py``, rewritten here on NumPy) has four steps:

1. **Summarize.**  A tensor with more than ``threshold`` elements is shown abbreviated: along every
   dimension longer than ``2 * edgeitems`` only the first and last ``edgeitems`` entries are kept and
   ``...`` marks the cut.  Everything below looks only at the kept entries, so printing a huge tensor
   costs as much as printing a small one.
2. **Choose one format for all elements** (the *formatter*), from the kept values that are finite and
   nonzero:

   * *int mode* - every such value is a whole number: print ``1.``, ``-3.`` (the dot says "float").
   * *sci mode* - the values span more than three orders of magnitude (``max / min > 1000``), or
     ``max > 1e8``, or ``min < 1e-4``: print ``1.2346e+05`` with ``precision`` digits.  The
     ``sci_mode`` print option forces it on or off.
   * otherwise fixed point with ``precision`` digits: ``0.1235``.

   Every element is right-aligned to the widest finite nonzero one, so columns line up.
   (``nan``/``inf`` and zeros do not take part in choosing the width.)
3. **Lay out** nested brackets: one row of a matrix per line, a blank line between 2-D blocks of a
   3-D tensor, ``n-1`` newlines between blocks of an ``n``-D tensor, each level indented one more
   space.  A 1-D row longer than ``linewidth`` wraps.
4. **Add suffixes** that the values do not reveal, in torch's order: ``device='cuda:0'``,
   ``size=(0, 3)`` (empty tensors), ``dtype=torch.int32`` (unless it is the default float dtype,
   ``int64`` or ``bool``), then ``grad_fn=<MulBackward0>`` or ``requires_grad=True``.

Example::

    >>> ember.tensor([[1., 2.], [3., 4.5]], requires_grad=True)
    tensor([[1.0000, 2.0000],
            [3.0000, 4.5000]], requires_grad=True)
"""
import contextlib
import dataclasses
import importlib
import math

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


@dataclasses.dataclass
class _PrintOptions:
    """The global print options (same names and defaults as ``numpy``/``torch``)."""
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: object = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """Set the options used when printing tensors (``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point for floats (default 4).
        threshold: more elements than this and the tensor is summarized with ``...`` (default 1000).
        edgeitems: entries kept at each end of a summarized dimension (default 3).
        linewidth: characters per line before a 1-D row wraps (default 80).
        profile: ``'default'``, ``'short'`` (precision 2, edgeitems 2) or ``'full'`` (never
            summarize); applied first, then the explicit arguments override it.
        sci_mode: ``True``/``False`` forces scientific notation on/off; ``None`` (default) lets
            the formatter decide.  Like torch, every call resets it to the value passed.

    Example::

        >>> ember.set_printoptions(precision=2)
        >>> ember.tensor([1.12345])
        tensor([1.12])
        >>> ember.set_printoptions(profile='default')
    """
    if profile is not None:
        # Unknown profile names are ignored, as torch does.
        for name, value in _PROFILES.get(profile, {}).items():
            setattr(PRINT_OPTS, name, value)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options as a dict that ``set_printoptions(**opts)`` accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change print options: ``with printoptions(precision=2): print(t)``."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ---------------------------------------------------------------------------------------------
# dtype names
# ---------------------------------------------------------------------------------------------

def _dtype_name(dtype, array=None):
    """Torch's short name of a dtype (``'float32'``), from an Ember dtype or a NumPy array.

    An Ember dtype carries torch's name in ``.name`` (and prints as ``torch.float32``); this also
    covers names whose NumPy dtype is spelt differently.  Without one we fall back to
    the NumPy dtype of the storage, whose names coincide with torch's.
    """
    name = getattr(dtype, "name", None)
    if isinstance(name, str) and name:
        return name
    text = str(dtype) if dtype is not None else ""
    for prefix in ("ember.", "torch."):
        if text.startswith(prefix):
            return text[len(prefix):]
    return np.dtype(array.dtype if array is not None else dtype).name


def _default_dtype_name():
    """Name of the default float dtype: ``ember.get_default_dtype()`` when Ember is importable."""
    try:
        from ember import get_default_dtype
    except ImportError:
        return "float32"
    try:
        return _dtype_name(get_default_dtype())
    except Exception:   # a half-initialised package: fall back to torch's default
        return "float32"


# ---------------------------------------------------------------------------------------------
# Step 1: summarization
# ---------------------------------------------------------------------------------------------

def _summarize(arr, edgeitems):
    """Keep the first and last ``edgeitems`` entries along every axis longer than ``2*edgeitems``.

    Returns the (small) kept array and, per axis, whether it was cut (where ``...`` goes).
    One gather with an open mesh of indices (``ix_``) copies only the kept entries, whatever the
    shape; on CuPy it runs on the device, so only the kept part is ever transferred.
    """
    xp = np if isinstance(arr, np.ndarray) else importlib.import_module(type(arr).__module__.split(".")[0])
    cut = [n > 2 * edgeitems for n in arr.shape]
    if not any(cut):
        return arr, cut
    index = [list(range(edgeitems)) + list(range(n - edgeitems, n)) if c else list(range(n))
             for n, c in zip(arr.shape, cut)]
    return arr[xp.ix_(*index)], cut


# ---------------------------------------------------------------------------------------------
# Step 2: the formatter
# ---------------------------------------------------------------------------------------------

class _Formatter:
    """One number format for a whole tensor, chosen from its (kept) values.

    ``strings(values)`` turns an array of values into an array of equal-width strings.
    """

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode = True      # all finite nonzero values are whole numbers
        self.sci_mode = False
        self.precision = PRINT_OPTS.precision
        self.max_width = 1
        flat = np.asarray(values).reshape(-1)
        if not floating:
            if flat.size:
                self.max_width = max(1, int(np.char.str_len(flat.astype(str)).max()))
            return
        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:     # only zeros, nan and inf: print them as int mode floats
            return
        absolute = np.abs(nonzero_finite).astype(np.float64)
        lo, hi = absolute.min(), absolute.max()
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = bool(PRINT_OPTS.sci_mode)
        # The width is the longest formatted finite nonzero value.
        self.max_width = max(1, int(np.char.str_len(self._unpadded(nonzero_finite)).max()))

    def _unpadded(self, values):
        """Format each value without alignment padding (Python's correctly rounded ``%``)."""
        values = np.asarray(values)
        if not self.floating:
            return values.astype(str)
        if self.sci_mode:
            return np.char.mod(f"%.{self.precision}e", values)
        if self.int_mode:
            # whole numbers get a trailing dot ("3.") so they still read as floats; nan/inf do not
            dots = np.where(np.isfinite(values), ".", "")
            return np.char.add(np.char.mod("%.0f", values), dots)
        return np.char.mod(f"%.{self.precision}f", values)

    def strings(self, values):
        """Formatted values right-aligned to the common width (array of ``str``, same shape)."""
        return np.char.rjust(self._unpadded(values), self.max_width)


class _ComplexFormatter:
    """Complex numbers: the real and imaginary parts each get their own ``_Formatter``."""

    def __init__(self, values):
        values = np.asarray(values)
        self.real = _Formatter(values.real, True)
        self.imag = _Formatter(values.imag, True)
        self.max_width = self.real.max_width + self.imag.max_width + 1   # + the "j"

    def strings(self, values):
        values = np.asarray(values)
        real = self.real.strings(values.real)
        imag = np.char.add(np.char.lstrip(self.imag.strings(values.imag)), "j")
        # An imaginary part that does not start with a sign (+0.5, not -0.5) gets a "+".
        signed = np.char.startswith(imag, "-") | np.char.startswith(imag, "+")
        return np.char.add(np.char.add(real, np.where(signed, "", "+")), imag)


# ---------------------------------------------------------------------------------------------
# Step 3: layout
# ---------------------------------------------------------------------------------------------

def _layout_vector(items, cut, indent, width):
    """One bracketed 1-D row, wrapped to ``linewidth`` with continuation lines under the ``[``."""
    edge = PRINT_OPTS.edgeitems
    items = list(items)
    if cut:
        items = items[:edge] + [" ..."] + items[edge:]
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (width + 2)))
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _layout(strings, cuts, indent, width):
    """Nested brackets for an array of element strings; ``cuts[k]`` says axis ``k`` was summarized."""
    if strings.ndim == 1:
        return _layout_vector(strings.tolist(), cuts[0], indent, width)
    edge = PRINT_OPTS.edgeitems
    blocks = [_layout(sub, cuts[1:], indent + 1, width) for sub in strings]
    if cuts[0]:
        blocks = blocks[:edge] + ["..."] + blocks[edge:]
    separator = "," + "\n" * (strings.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(blocks) + "]"


def _tensor_str(arr, indent, complex_=False):
    """The bracketed body of a non-empty tensor (``arr`` is a NumPy or CuPy array)."""
    summarize = arr.size > PRINT_OPTS.threshold
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge and arr.ndim >= 1:
        return "[...]"          # edgeitems=0: nothing kept, just the ellipsis
    if summarize:
        kept, cuts = _summarize(arr, edge)
    else:
        kept, cuts = arr, [False] * arr.ndim
    if hasattr(kept, "get") and not isinstance(kept, np.ndarray):
        kept = kept.get()       # CuPy -> NumPy, after summarizing
    kept = np.asarray(kept)
    if kept.dtype.kind == "V":  # bfloat16 (ml_dtypes): format its exact values as float32
        kept = kept.astype(np.float32)
    if complex_:
        formatter = _ComplexFormatter(kept)
    else:
        formatter = _Formatter(kept, floating=kept.dtype.kind == "f")
    strings = formatter.strings(kept)
    if kept.ndim == 0:
        return str(strings)
    return _layout(strings, cuts, indent, formatter.max_width)


# ---------------------------------------------------------------------------------------------
# Step 4: suffixes, and the public entry point
# ---------------------------------------------------------------------------------------------

def _add_suffixes(text, suffixes, indent):
    """Append ``, suffix`` items, starting a new indented line when one would pass ``linewidth``."""
    parts = [text]
    # (torch measures the last line this way - two more than its length - and we follow it exactly)
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _grad_fn_name(grad_fn):
    """Torch's name of an autograd node, e.g. ``'AddmmBackward0'``."""
    name = getattr(grad_fn, "_grad_fn_name", None)
    if isinstance(name, str) and name:
        return name
    return type(grad_fn).__name__


def _prefix(t):
    """``tensor(`` for tensors, parameters and buffers; a user subclass of Tensor prints its class name."""
    cls = type(t)
    names = [c.__name__ for c in cls.__mro__]
    if "Tensor" in names and cls.__name__ not in ("Tensor", "Parameter", "Buffer"):
        return cls.__name__ + "("
    return "tensor("


def tensor_repr(t, *, tensor_contents=None):
    """``repr`` of a tensor, exactly as PyTorch prints it.

    ``t`` needs ``_data`` (NumPy or CuPy array), ``dtype``, ``device``, ``requires_grad`` and
    ``grad_fn``.  ``tensor_contents`` replaces the bracketed values (torch's hook of that name).
    """
    arr = t._data
    prefix = _prefix(t)
    indent = len(prefix)
    suffixes = []

    device = str(getattr(t, "device", "cpu"))
    if device == "cuda":            # a tensor lives on one particular GPU; torch always names it
        device = "cuda:0"
    if device != "cpu":
        suffixes.append(f"device='{device}'")

    name = _dtype_name(getattr(t, "dtype", None), arr)
    default = _default_dtype_name()
    default_complex = "complex128" if default == "float64" else "complex64"
    is_complex = np.dtype(arr.dtype).kind == "c"

    if arr.size == 0:
        # No values to show the shape or hint at the dtype, so both are spelled out.
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if name != default:
            suffixes.append(f"dtype=torch.{name}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        if name not in (default, default_complex, "int64", "bool"):
            suffixes.append(f"dtype=torch.{name}")
        body = _tensor_str(arr, indent, complex_=is_complex)
    if tensor_contents is not None:
        body = tensor_contents

    grad_fn = getattr(t, "grad_fn", None)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{_grad_fn_name(grad_fn)}>")
    elif getattr(t, "requires_grad", False):
        suffixes.append("requires_grad=True")

    return _add_suffixes(prefix + body, suffixes, indent)
