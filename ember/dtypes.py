"""Data types and torch's type-promotion rules.

An ``ember.dtype`` names one NumPy dtype. Promotion follows PyTorch, not NumPy:

* categories rank ``bool < integer < floating``;
* a dimensioned tensor outranks a 0-d tensor, which outranks a Python number,
  *unless* the lower-priority operand belongs to a higher category;
* a Python float joining integers gives the default dtype (float32), a Python int gives int64.

So ``int64 tensor + 2.5 -> float32``, ``float32 tensor * 2.0 -> float32``,
``float32 tensor + float64 0-d tensor -> float32`` (NumPy would say float64 to all three).

``bfloat16`` (8 exponent bits like float32, 8 significant bits) is a real 2-byte type: NumPy has no
bfloat16, so its arrays use ``ml_dtypes.bfloat16``, whose NumPy *kind* is ``'V'`` -- code that asks
"is this array floating?" tests ``kind in "fcV"``. NumPy's elementwise ufuncs work on it directly;
matrix products upcast to float32 internally and round the result once, as torch's CPU kernels do.
"""
import ml_dtypes
import numpy as np

__all__ = [
    "dtype", "float16", "half", "float32", "float", "float64", "double", "bfloat16",
    "int8", "int16", "short", "int32", "int", "int64", "long", "uint8", "bool",
    "complex64", "cfloat", "complex128", "cdouble",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type",
    "can_cast", "finfo", "iinfo",
]


class dtype:
    """A tensor element type: a thin, comparable handle on a NumPy dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_complex", "is_signed", "itemsize", "_rank")

    def __init__(self, name, np_dtype, rank):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f" or name == "bfloat16"
        self.is_complex = self.np.kind == "c"
        self.is_signed = self.np.kind in "ifc"
        self.itemsize = self.np.itemsize
        self._rank = rank  # position in the promotion lattice (category, width)

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):  # dtypes are singletons
        return (to_dtype, (self.name,))

    @property
    def scalar_name(self):
        """The name torch's error messages use (``Float``, ``Long``, ``Bool`` ...)."""
        return _SCALAR_NAMES.get(self.name, self.name.capitalize())

    def to_real(self):
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self):
        return {float32: complex64, float64: complex128, float16: complex64, bfloat16: complex64}.get(self, self)


bool = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 2)
int32 = dtype("int32", np.int32, 3)
int64 = dtype("int64", np.int64, 4)
float16 = dtype("float16", np.float16, 10)
float32 = dtype("float32", np.float32, 11)
float64 = dtype("float64", np.float64, 12)
complex64 = dtype("complex64", np.complex64, 20)
complex128 = dtype("complex128", np.complex128, 21)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 10)

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

_ALL = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64, complex64, complex128)
_BY_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64,
                cfloat=complex64, cdouble=complex128)

_default = float32
_SCALAR_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "uint8": "Byte", "int8": "Char",
                 "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool", "bfloat16": "BFloat16", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}


import builtins as _b  # noqa: E402  (this module's names shadow bool/int/float)


def to_dtype(x):
    """Turn an ember dtype, NumPy dtype, Python type or name (``'float32'``, ``'torch.int64'``) into an ember dtype."""
    if x.__class__ is dtype:
        return x
    if isinstance(x, str):
        try:
            return _BY_NAME[x[6:] if x.startswith("torch.") else x]
        except KeyError:
            raise TypeError(f"unknown dtype {x!r}") from None
    if x is _b.float:  # Python's float is a C double: torch maps it to float64, not the default dtype
        return float64
    if x is _b.int:
        return int64
    if x is _b.bool:
        return bool
    try:
        return _BY_NP[np.dtype(x)]
    except (KeyError, TypeError):
        raise TypeError(f"ember has no dtype matching {x!r}") from None


def get_default_dtype():
    """The dtype of float tensors made from Python floats (float32 unless changed)."""
    return _default


def set_default_dtype(d):
    global _default
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default = d


def _category(d):
    """0 bool, 1 integer, 2 floating, 3 complex."""
    r = d._rank
    return 0 if r == 0 else 1 if r < 10 else 2 if r < 20 else 3


def promote_types(a, b):
    """Smallest dtype both ``a`` and ``b`` convert to (torch.promote_types): an int meeting a float gives the float."""
    a, b = to_dtype(a), to_dtype(b)
    if a is b:
        return a
    ca, cb = _category(a), _category(b)
    if ca == 2 and cb <= 1:
        return a
    if cb == 2 and ca <= 1:
        return b
    return _BY_NP[np.promote_types(a.np, b.np)]


def _combine(higher, lower):
    """Merge two priority tiers: the lower one only matters when it is of a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = _category(higher), _category(lower)
    if ch >= 2 and ch >= cl:
        return higher
    if ch == 0 or cl > ch:
        return promote_types(higher, lower)
    return higher


def _scalar_dtype(x):
    """The dtype a Python number stands for when it meets tensors."""
    if isinstance(x, (_b.bool, np.bool_)):
        return bool
    if isinstance(x, (_b.int, np.integer)):
        return int64
    if isinstance(x, (_b.float, np.floating)):
        return _default
    if isinstance(x, (_b.complex, np.complexfloating)):
        return complex64 if _default is float32 else complex128
    raise TypeError(f"unsupported operand type {type(x).__name__}")


def result_type(*operands):
    """torch.result_type over tensors and Python numbers: dimensioned > 0-d > Python number, by category."""
    from ._tensor import Tensor
    dims = zeros = scalars = None
    for o in operands:
        if isinstance(o, Tensor):
            d = o.dtype
            if o._data.ndim:
                dims = d if dims is None else promote_types(dims, d)
            else:
                zeros = d if zeros is None else promote_types(zeros, d)
        else:
            d = _scalar_dtype(o)
            scalars = d if scalars is None else promote_types(scalars, d)
    return _combine(dims, _combine(zeros, scalars))


def can_cast(from_, to):
    """True when torch allows an in-place op to write a ``from_`` result into a ``to`` tensor."""
    f, t = to_dtype(from_), to_dtype(to)
    return _category(f) <= _category(t)


class finfo:
    """Machine limits of a floating dtype (torch.finfo)."""

    def __init__(self, type=None):
        d = to_dtype(type) if type is not None else _default
        i = ml_dtypes.finfo(d.np) if d is bfloat16 else np.finfo(d.np)
        self.dtype = d.name
        self.bits, self.eps, self.max, self.min = i.bits, _b.float(i.eps), _b.float(i.max), _b.float(i.min)
        self.tiny = self.smallest_normal = _b.float(i.tiny)
        self.resolution = 10.0 ** -_b.int(i.precision)  # as a Python float, like torch (not float16-rounded)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (torch.iinfo)."""

    def __init__(self, type):
        d = to_dtype(type)
        i = np.iinfo(d.np)
        self.dtype, self.bits, self.max, self.min = d.name, i.bits, _b.int(i.max), _b.int(i.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
