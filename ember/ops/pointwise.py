"""Element-wise ops: arithmetic, unary math, comparisons, clamp, where.

Each differentiable op is a Function whose docstring is its line in a table of derivatives.
Gradients flowing into a broadcast input are summed back to its shape by the engine.
"""
import math

import numpy as np

from ..autograd.function import Function
from .._jit import float32_kernels
from .._parallel import parallel_ufunc, split_work as _split, STREAM_MIN_ELEMENTS
from ._util import arrays2, float_result, Tensor, wrap, array_module, is_tensor
from ..dtypes import result_type, to_dtype, get_default_dtype
from ..autograd.grad_mode import STATE


# ---- arithmetic ------------------------------------------------------------------------------------
class Add(Function):
    """a + alpha*b:  d/da = 1,  d/db = alpha"""
    _grad_fn_name = "AddBackward0"
    _scalar_edges = 2  # x * 2: torch wraps the number into a tensor input

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        xa, xb = arrays2(a, b)
        ctx.alpha = alpha
        if alpha != 1:
            xb = xb * alpha
        return parallel_ufunc(np.add, xa, xb)

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.alpha == 1 else g * ctx.alpha), None


class Sub(Function):
    """a - alpha*b:  d/da = 1,  d/db = -alpha"""
    _grad_fn_name = "SubBackward0"
    _scalar_edges = 2  # x * 2: torch wraps the number into a tensor input

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        _check_sub(a, b)
        xa, xb = arrays2(a, b)
        ctx.alpha = alpha
        if alpha != 1:
            xb = xb * alpha
        return parallel_ufunc(np.subtract, xa, xb)

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.alpha == 1 else g * -ctx.alpha), None


def _check_sub(a, b):
    """torch refuses ``-`` on bools (tensors or Python bools): it points to ``^`` / ``~`` instead."""
    na, nb = (x._data.dtype == np.bool_ if is_tensor(x) else isinstance(x, (bool, np.bool_)) for x in (a, b))
    if na and nb:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if na or nb:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")


class RSub(Function):
    """b - a (a Python number on the left):  d/da = -1"""
    _grad_fn_name = "RsubBackward1"

    @staticmethod
    def forward(ctx, a, b):
        _check_sub(a, b)
        xa, xb = arrays2(a, b)
        return xb - xa

    @staticmethod
    def backward(ctx, g):
        return -g, None


_NUMBER_SAVED = ((None, 0),)   # a saved-variable slot holding nothing: the node counts as having saved


class Mul(Function):
    """a * b:  d/da = b,  d/db = a"""
    _grad_fn_name = "MulBackward0"
    _scalar_edges = 2  # x * 2: torch wraps the number into a tensor input

    @staticmethod
    def forward(ctx, a, b):
        xa, xb = arrays2(a, b)
        if b.__class__ in (float, int):            # x * 2.0: nothing to save but the number --
            ctx.b = b                               # which torch saves as a wrapped tensor, so a second
            ctx._saved = _NUMBER_SAVED              # backward is refused as in torch
        else:
            ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                                  b if is_tensor(b) and ctx.needs_input_grad[0] else None)
            ctx.b = b if not is_tensor(b) else None
        return parallel_ufunc(np.multiply, xa, xb)

    @staticmethod
    def backward(ctx, g):
        b = ctx.b
        if b.__class__ in (float, int):
            if not STATE.enabled and g._data.dtype.kind in "fc":
                # ``x * 2.0`` and no double backward: the gradient is one ufunc, no Function needed
                return wrap(parallel_ufunc(np.multiply, g._data, b)), None
            return g * b, None
        a, b = ctx.saved_tensors
        if b is None:
            b = ctx.b
        return (g * _cj(b) if ctx.needs_input_grad[0] else None,
                g * _cj(a) if ctx.needs_input_grad[1] else None)


def _cj(x):
    """conj(x) for complex operands (torch's gradients carry conj(f'(z))), x itself otherwise."""
    if is_tensor(x):
        if x._data.dtype.kind == "c":
            from .complex import Conj
            return Conj.apply(x)
        return x
    return x.conjugate() if isinstance(x, complex) else x


class Div(Function):
    """a / b:  d/da = 1/b,  d/db = -a/b^2   (true division: integers give floats)"""
    _grad_fn_name = "DivBackward0"
    _scalar_edges = 2  # x * 2: torch wraps the number into a tensor input

    @staticmethod
    def forward(ctx, a, b, rounding_mode=None):
        xa, xb = arrays2(a, b)
        ctx.save_for_backward(a if is_tensor(a) and ctx.needs_input_grad[1] else None,
                              b if is_tensor(b) else None)
        ctx.a, ctx.b = (None if is_tensor(a) else a), b
        if rounding_mode is None:
            dt = result_type(a, b)
            if not (dt.is_floating_point or dt.is_complex):  # int / int -> float, as torch
                f = get_default_dtype().np  # (from the original numbers: uint8 / -2 is -0.5, not 1/254)
                xa = _asarray(xa if is_tensor(a) else a, f)
                xb = _asarray(xb if is_tensor(b) else b, f)
            with np.errstate(divide="ignore", invalid="ignore"):  # x/0 = inf, 0/0 = nan, silently
                return xa / xb
        xp = array_module(a._data if is_tensor(a) else b._data)
        _no_bool_kernel(a, b, f"div_{rounding_mode}")
        if rounding_mode in ("floor", "trunc") and _is_int(xa, xb):
            if (xp.asarray(xb) == 0).any():  # integers have no inf: torch refuses
                raise RuntimeError("ZeroDivisionError")
            if rounding_mode == "floor":
                return xp.floor_divide(xa, xb)
            dt = np.result_type(xa, xb)  # Python ints stay weak (int32 tensor // 2 is int32)
            q = (xp.abs(xa) // xp.abs(xb)).astype(dt, copy=False)  # exact integer truncation toward zero
            return xp.where((xp.asarray(xa) < 0) != (xp.asarray(xb) < 0), -q, q).astype(dt, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            if rounding_mode == "floor":
                return xp.floor(xa / xb)
            if rounding_mode == "trunc":
                return xp.trunc(xa / xb)
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if b is None:
            b = ctx.b
        if a is None:
            a = ctx.a
        ga = g / _cj(b) if ctx.needs_input_grad[0] else None
        gb = -g * _cj(a / (b * b)) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def _no_bool_kernel(a, b, name):
    """torch has no integer-division kernels for bool results (True // True raises)."""
    if result_type(a, b).np == np.bool_:
        raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Bool'")


class Remainder(Function):
    """a mod b, the sign of b (Python's %):  d/da = 1,  d/db = -floor(a/b)"""
    _grad_fn_name = "RemainderBackward1"
    _scalar_edges = 2
    _round = staticmethod(lambda xp: xp.remainder)
    _kernel = "remainder"

    @staticmethod
    def forward(ctx, a, b):
        _no_bool_kernel(a, b, ctx._fn._kernel)
        xa, xb = arrays2(a, b)
        xp = array_module(a._data if is_tensor(a) else b._data)
        if _is_int(xa, xb) and (xp.asarray(xb) == 0).any():
            raise RuntimeError("ZeroDivisionError")
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if is_tensor(b) else None)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx._fn._round(xp)(xa, xb)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            q = a / b
            gb = -g * (q.floor() if ctx._fn._kernel == "remainder" else q.trunc())
        return (g if ctx.needs_input_grad[0] else None), gb


class RemainderScalar(Remainder):
    _grad_fn_name = "RemainderBackward0"


class Fmod(Remainder):
    """a mod b, the sign of a (C's fmod):  d/da = 1,  d/db = -trunc(a/b)"""
    _grad_fn_name = "FmodBackward1"
    _round = staticmethod(lambda xp: xp.fmod)
    _kernel = "fmod"


class FmodScalar(Fmod):
    _grad_fn_name = "FmodBackward0"


def _asarray(x, dtype):
    return x.astype(dtype) if hasattr(x, "astype") else np.asarray(x, dtype=dtype)


def _is_int(xa, xb):
    return all(getattr(x, "dtype", np.dtype("i")).kind in "iub" for x in (xa, xb)) and \
        not any(isinstance(x, float) for x in (xa, xb))


class Neg(Function):
    """-a:  d/da = -1"""
    _grad_fn_name = "NegBackward0"

    @staticmethod
    def forward(ctx, a):
        if a._data.dtype == np.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return -a._data

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """a ** e (e a number):  d/da = e * a^(e-1)"""
    _grad_fn_name = "PowBackward0"

    @staticmethod
    def forward(ctx, a, e):
        ctx.save_for_backward(a)
        ctx.e = e
        x, _ = arrays2(a, e)
        if isinstance(e, int) and not isinstance(e, bool) and e < 0 and x.dtype.kind in "iu":
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        with np.errstate(all="ignore"):
            if e == 2:
                return x * x
            if e == 0.5:
                return array_module(x).sqrt(x)
            return x ** e

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        e = ctx.e
        if e == 0:
            return g * 0, None
        if e == 2:
            return g * _cj(a) * 2, None
        return g * _cj(a ** (e - 1)) * e, None


class PowTensor(Function):
    """a ** b (b a tensor):  d/da = b * a^(b-1),  d/db = a^b * log(a)"""
    _grad_fn_name = "PowBackward1"

    @staticmethod
    def forward(ctx, a, b):
        xa, xb = arrays2(a, b)
        out = _int_pow(xa, xb) if _is_int(xa, xb) else _float_pow(xa, xb)
        ctx.save_for_backward(a if is_tensor(a) else None, b)
        ctx.a = a
        return save_output(ctx, out, (a, b))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        out = saved_output(ctx, lambda ab: PowTensor.apply(*ab)) if a is not None else None
        ga = g * _cj(b * a ** (b - 1)) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            if a is None:
                gb = g * (ctx.a ** b) * math.log(ctx.a) if ctx.a > 0 else g * 0
            else:
                gb = g * _cj(out * a.log()) if a.is_complex() else g * out * where_(a > 0, a, 1).log()
        return ga, gb


def where_(c, x, y):
    return Where.apply(c, x, y)


def _float_pow(xa, xb):
    with np.errstate(all="ignore"):
        return xa ** xb


def _int_pow(xa, xb):
    """Integer powers with torch's answer for negative exponents: 1 for base 1, ±1 for base -1, else 0."""
    xp = array_module(xb if hasattr(xb, "dtype") else xa)
    neg = xp.asarray(xb) < 0
    if not neg.any():
        return xa ** xb
    out = xa ** xp.where(neg, 0, xb)
    one = xp.asarray(xa) == 1
    minus = xp.asarray(xa) == -1
    odd = (xp.asarray(xb) % 2) != 0
    neg_val = xp.where(one, 1, xp.where(minus, xp.where(odd, -1, 1), 0))
    return xp.where(neg, neg_val, out).astype(out.dtype, copy=False)


# ---- saving an op's output for its backward ----------------------------------------------------------
def save_output(ctx, out, a):
    """Keep the output (d exp = exp: backward wants it) without a reference cycle to the output tensor.

    The array is kept with the output's version counter, so an in-place change of the output before
    backward is caught, as torch catches it; the input is kept (unchecked) to recompute the output."""
    t = wrap(out)
    ctx.out, ctx.out_vc, ctx.inp = out, t._vc, a
    return t


def saved_output(ctx, recompute):
    """The saved output as a Tensor. Under ``create_graph`` it is rebuilt from the input by ``recompute(a)``,
    so a second derivative sees how the output depends on the input (a plain array would be a constant);
    ``recompute=None`` where the backward uses the output only through a piecewise-constant mask."""
    if ctx.out_vc[0] != 0:
        from ..autograd.function import inplace_error
        raise inplace_error(wrap(ctx.out), ctx, 0, ctx.out_vc[0], 0)
    if STATE.enabled and recompute is not None:
        return recompute(ctx.inp)
    return wrap(ctx.out)


# ---- unary math -------------------------------------------------------------------------------------
def _unary(name, torch_name, fwd, bwd, save="input", doc=""):
    """Build a one-input Function: ``fwd(xp, x)`` on arrays, ``bwd(g, x, out)`` with Tensor ops."""

    def forward(ctx, a):
        x = float_result(a._data)
        with np.errstate(all="ignore"):  # log(0) = -inf, sqrt(-1) = nan, silently, as in torch
            if x.dtype.kind == "V":      # bfloat16: a formula of several steps runs in float32, rounded once
                out = fwd(array_module(x), x.astype(np.float32)).astype(x.dtype)
            else:
                out = fwd(array_module(x), x)
        if save == "input":
            ctx.save_for_backward(a)
        elif save == "output":
            return save_output(ctx, out, a)
        return out

    def backward(ctx, g):
        if g._data.dtype.kind == "c":  # holomorphic f: the gradient is g conj(f'(z)) = conj(conj(g) f'(z))
            return _cj(backward_real(ctx, _cj(g)))
        return backward_real(ctx, g)

    def backward_real(ctx, g):
        if save == "input":
            (a,) = ctx.saved_tensors
            return bwd(g, a, None)
        if save == "output":
            return bwd(g, None, saved_output(ctx, ctx._fn.apply))
        return bwd(g, None, None)

    return type(name, (Function,), {"_grad_fn_name": torch_name, "__doc__": doc,
                                    "forward": staticmethod(forward), "backward": staticmethod(backward)})


Exp = _unary("Exp", "ExpBackward0", lambda xp, x: parallel_ufunc(xp.exp, x), lambda g, a, y: g * y, "output", "exp(a): d/da = exp(a)")
Log = _unary("Log", "LogBackward0", lambda xp, x: parallel_ufunc(xp.log, x), lambda g, a, y: g / a, doc="log(a): d/da = 1/a")
Log2 = _unary("Log2", "Log2Backward0", lambda xp, x: xp.log2(x), lambda g, a, y: g / (a * math.log(2)),
              doc="log2(a): d/da = 1/(a ln 2)")
Log10 = _unary("Log10", "Log10Backward0", lambda xp, x: xp.log10(x), lambda g, a, y: g / (a * math.log(10)),
               doc="log10(a): d/da = 1/(a ln 10)")
Log1p = _unary("Log1p", "Log1PBackward0", lambda xp, x: xp.log1p(x), lambda g, a, y: g / (a + 1),
               doc="log(1+a): d/da = 1/(1+a)")
Expm1 = _unary("Expm1", "Expm1Backward0", lambda xp, x: xp.expm1(x), lambda g, a, y: g * (y + 1), "output",
               "exp(a)-1: d/da = exp(a)")
Sqrt = _unary("Sqrt", "SqrtBackward0", lambda xp, x: parallel_ufunc(xp.sqrt, x), lambda g, a, y: g / (y * 2), "output",
              "sqrt(a): d/da = 1/(2 sqrt(a))")
Rsqrt = _unary("Rsqrt", "RsqrtBackward0", lambda xp, x: 1 / xp.sqrt(x), lambda g, a, y: g * y * y * y * -0.5,
               "output", "a^-1/2: d/da = -a^-3/2 / 2")
Sin = _unary("Sin", "SinBackward0", lambda xp, x: parallel_ufunc(xp.sin, x), lambda g, a, y: g * a.cos(), doc="d sin = cos")
Cos = _unary("Cos", "CosBackward0", lambda xp, x: parallel_ufunc(xp.cos, x), lambda g, a, y: -g * a.sin(), doc="d cos = -sin")
Tan = _unary("Tan", "TanBackward0", lambda xp, x: xp.tan(x), lambda g, a, y: g * (y * y + 1), "output",
             "d tan = 1 + tan^2")
Tanh = _unary("Tanh", "TanhBackward0", lambda xp, x: parallel_ufunc(xp.tanh, x), lambda g, a, y: g * (1 - y * y), "output",
              "d tanh = 1 - tanh^2")
Sinh = _unary("Sinh", "SinhBackward0", lambda xp, x: xp.sinh(x), lambda g, a, y: g * a.cosh(), doc="d sinh = cosh")
Cosh = _unary("Cosh", "CoshBackward0", lambda xp, x: xp.cosh(x), lambda g, a, y: g * a.sinh(), doc="d cosh = sinh")
Asin = _unary("Asin", "AsinBackward0", lambda xp, x: xp.arcsin(x), lambda g, a, y: g * (1 - a * a).rsqrt(),
              doc="d asin = 1/sqrt(1-a^2)")
Acos = _unary("Acos", "AcosBackward0", lambda xp, x: xp.arccos(x), lambda g, a, y: -g * (1 - a * a).rsqrt(),
              doc="d acos = -1/sqrt(1-a^2)")
Atan = _unary("Atan", "AtanBackward0", lambda xp, x: xp.arctan(x), lambda g, a, y: g / (a * a + 1),
              doc="d atan = 1/(1+a^2)")
Asinh = _unary("Asinh", "AsinhBackward0", lambda xp, x: xp.arcsinh(x), lambda g, a, y: g * (a * a + 1).rsqrt(),
               doc="d asinh = 1/sqrt(a^2+1)")
Acosh = _unary("Acosh", "AcoshBackward0", lambda xp, x: xp.arccosh(x), lambda g, a, y: g * (a * a - 1).rsqrt(),
               doc="d acosh = 1/sqrt(a^2-1)")
Atanh = _unary("Atanh", "AtanhBackward0", lambda xp, x: xp.arctanh(x), lambda g, a, y: g / (1 - a * a),
               doc="d atanh = 1/(1-a^2)")


def _sigmoid(xp, x):
    """1/(1+exp(-x)) from e = exp(-|x|): 1/(1+e) for x >= 0 and e/(1+e) for x < 0.

    Never overflows, and keeps full relative precision in the left tail (sigmoid(-30) = 9.36e-14, where
    0.5*tanh(x/2)+0.5 would cancel to 0)."""
    if x.dtype.kind == "c":
        return 1 / (1 + xp.exp(-x))
    e = xp.exp(-xp.abs(x))
    return xp.where(x < 0, e, xp.ones((), x.dtype)) / (e + 1)


Sigmoid = _unary("Sigmoid", "SigmoidBackward0", _sigmoid, lambda g, a, y: g * y * (1 - y), "output",
                 "s = sigmoid(a): d/da = s (1 - s)")
Reciprocal = _unary("Reciprocal", "ReciprocalBackward0", lambda xp, x: 1 / x, lambda g, a, y: -g * y * y, "output",
                    "1/a: d/da = -1/a^2")
Erf = _unary("Erf", "ErfBackward0", lambda xp, x: _erf(xp, x),
             lambda g, a, y: g * (-(a * a)).exp() * (2 / math.sqrt(math.pi)), doc="d erf = 2/sqrt(pi) exp(-a^2)")


def _erf(xp, x):
    """erf on arrays: one implementation, shared with gelu (``ops/nn.py``)."""
    from .nn import erf
    return erf(x)


class Abs(Function):
    """|a|:  d/da = sign(a)"""
    _grad_fn_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a._data).abs(a._data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.sign()


class Relu(Function):
    """max(a, 0):  d/da = 1 where a > 0 else 0"""
    _grad_fn_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, a):
        x = a._data
        K = float32_kernels(x)
        if K is not None and x.flags.c_contiguous:      # one compiled pass, split across cores
            xf = x.reshape(-1)
            out = np.empty_like(x)
            _split(xf.size, lambda lo, hi: K.relu_forward(xf, out.reshape(-1), lo, hi), xf.size, STREAM_MIN_ELEMENTS)
        else:
            out = parallel_ufunc(array_module(x).maximum, x, 0, dtype=x.dtype) if x.dtype != np.bool_ else x.copy()
        # only the output is kept, as torch keeps it: the mask out > 0 is piecewise constant, so even a double
        # backward needs no graph through it (keeping the input too held every conv output of a CNN alive)
        return save_output(ctx, out, None)

    @staticmethod
    def backward(ctx, g):
        out = saved_output(ctx, None)
        K = None if STATE.enabled else float32_kernels(out._data)
        if K is not None and g._data.dtype == np.float32:   # one compiled pass, split across cores
            o = out._data.reshape(-1)
            gf = np.ascontiguousarray(g._data).reshape(-1)
            dx = np.empty_like(gf)
            _split(o.size, lambda lo, hi: K.relu_backward(gf, o, dx, lo, hi), o.size, STREAM_MIN_ELEMENTS)
            return wrap(dx.reshape(g.shape))
        return Where.apply(out > 0, g, 0.0)  # where, not g * mask: no -0. entries


class _ZeroGrad(Function):
    """Piecewise-constant ops (sign, floor, ceil, round, trunc): the derivative is 0 almost everywhere."""

    @staticmethod
    def backward(ctx, g):
        return g * 0


def _piecewise(name, torch_name, fn):
    return type(name, (_ZeroGrad,), {"_grad_fn_name": torch_name,
                                     "forward": staticmethod(lambda ctx, a, *args: fn(array_module(a._data),
                                                                                      a._data, *args))})


Sign = _piecewise("Sign", "SignBackward0", lambda xp, x: xp.sign(x) if x.dtype.kind != "b" else x.copy())
Floor = _piecewise("Floor", "FloorBackward0", lambda xp, x: xp.floor(x) if x.dtype.kind in "fcV" else x.copy())
Ceil = _piecewise("Ceil", "CeilBackward0", lambda xp, x: xp.ceil(x) if x.dtype.kind in "fcV" else x.copy())
Trunc = _piecewise("Trunc", "TruncBackward0", lambda xp, x: xp.trunc(x) if x.dtype.kind in "fcV" else x.copy())
Round = _piecewise("Round", "RoundBackward0",
                   lambda xp, x, decimals=0: xp.round(x, decimals) if x.dtype.kind in "fcV" else x.copy())
Frac = type("Frac", (Function,), {
    "_grad_fn_name": "FracBackward0", "__doc__": "a - trunc(a): d/da = 1",
    "forward": staticmethod(lambda ctx, a: a._data - array_module(a._data).trunc(a._data)),
    "backward": staticmethod(lambda ctx, g: g)})


class Cast(Function):
    """a.to(dtype): the gradient is cast back to a's dtype."""
    _grad_fn_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.src = a.dtype
        x = a._data
        if x.dtype.kind == "c" and not dtype.is_complex:  # complex -> real keeps the real part (as torch)
            x = x.real
        return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        return (g.to(ctx.src) if ctx.src.is_floating_point or ctx.src.is_complex else None), None


class Clamp(Function):
    """clamp(a, lo, hi) = min(max(a, lo), hi):  d/da = 1 where lo <= a <= hi else 0;
    d/dlo = 1 where a < lo < hi;  d/dhi = 1 where a > hi or hi < lo"""
    _grad_fn_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        if lo is None and hi is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        x = a._data
        xp = array_module(x)
        out = x
        dt = result_type(*[v for v in (a, lo, hi) if v is not None]).np
        if out.dtype != dt:
            out = out.astype(dt)
        lo_a = lo._data if is_tensor(lo) else lo
        hi_a = hi._data if is_tensor(hi) else hi
        if lo is not None:
            out = xp.maximum(out, lo_a, dtype=dt) if not _is_nan(lo_a) else xp.full_like(out, np.nan)
        if hi is not None:
            out = xp.minimum(out, hi_a, dtype=dt) if not _is_nan(hi_a) else xp.full_like(out, np.nan)
        ctx.save_for_backward(a, lo if is_tensor(lo) else None, hi if is_tensor(hi) else None)
        ctx.lo, ctx.hi = lo, hi
        return out

    @staticmethod
    def backward(ctx, g):
        a, lo_t, hi_t = ctx.saved_tensors
        lo = lo_t if lo_t is not None else ctx.lo
        hi = hi_t if hi_t is not None else ctx.hi
        mask = None
        if lo is not None:
            mask = a >= lo
        if hi is not None:
            m2 = a <= hi
            mask = m2 if mask is None else mask & m2
        ga = g * mask if ctx.needs_input_grad[0] else None
        glo = ghi = None
        if lo_t is not None and ctx.needs_input_grad[1]:  # lo wins where a < lo, unless hi < lo overrides it
            glo = g * ((a < lo) & (lo < hi)) if hi is not None else g * (a < lo)
        if hi_t is not None and ctx.needs_input_grad[2]:  # hi wins where a > hi, and everywhere when hi < lo
            ghi = g * ((a > hi) | (hi < lo)) if lo is not None else g * (a > hi)
        return ga, glo, ghi


def _is_nan(v):
    return isinstance(v, float) and v != v


class Where(Function):
    """where(c, x, y):  d/dx = c,  d/dy = not c"""
    _grad_fn_name = "WhereBackward0"
    _scalar_edges = 3

    @staticmethod
    def forward(ctx, cond, x, y):
        c = cond._data if is_tensor(cond) else cond
        if getattr(c, "dtype", None) is not None and c.dtype != np.bool_:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{cond.dtype.scalar_name}")
        xx, yy = arrays2(x, y)
        ctx.c = c
        xp = array_module(c) if not isinstance(c, bool) else np
        out = xp.where(c, xx, yy)
        dt = result_type(x, y).np
        return out if out.dtype == dt else out.astype(dt)

    @staticmethod
    def backward(ctx, g):
        c = wrap(ctx.c)
        zero = g * 0
        return (None, Where.apply(c, g, zero) if ctx.needs_input_grad[1] else None,
                Where.apply(c, zero, g) if ctx.needs_input_grad[2] else None)


class Maximum(Function):
    """max(a, b) element-wise: the gradient goes to the larger (split evenly on ties)"""
    _grad_fn_name = "MaximumBackward0"
    _pick = staticmethod(np.maximum)

    @staticmethod
    def forward(ctx, a, b):
        xa, xb = arrays2(a, b)
        ctx.save_for_backward(a, b)
        return array_module(xa).maximum(xa, xb) if ctx._fn is Maximum else array_module(xa).minimum(xa, xb)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        wins = (a > b) if ctx._fn is Maximum else (a < b)
        tie = (a == b) * 0.5
        wa = wins + tie
        return g * wa, g * (1 - wa)


class Minimum(Maximum):
    """min(a, b) element-wise"""
    _grad_fn_name = "MinimumBackward0"


class Lerp(Function):
    """a + w (b - a):  d/da = 1 - w,  d/db = w"""
    _grad_fn_name = "LerpBackward0"

    @staticmethod
    def forward(ctx, a, b, w):
        xa, xb = arrays2(a, b)
        ctx.w = w
        wa = w._data if is_tensor(w) else w
        return xa + wa * (xb - xa)

    @staticmethod
    def backward(ctx, g):
        w = ctx.w
        return g * (1 - w), g * w, None


class Atan2(Function):
    """atan2(a, b):  d/da = b/(a²+b²),  d/db = -a/(a²+b²)"""
    _grad_fn_name = "Atan2Backward0"

    @staticmethod
    def forward(ctx, a, b):
        xa, xb = arrays2(a, b)
        ctx.save_for_backward(a, b)
        return array_module(xa).arctan2(float_result(xa), float_result(xb))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        d = a * a + b * b
        return g * b / d, -g * a / d
