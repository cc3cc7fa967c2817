"""Complex numbers: real/imag parts, conjugation, the (…, 2) real view, polar form.

Gradients of complex tensors follow torch's convention (conjugate Wirtinger): for a real loss L and
z = x + iy, ``z.grad = ∂L/∂x + i ∂L/∂y``. So a holomorphic f passes back ``g · conj(f'(z))``, a real part
passes back ``g + 0i``, an imaginary part ``0 + ig``, and a real input of a complex op keeps the real part
of its gradient (done once, by the engine's cast of the gradient to the input's dtype).
"""
import numpy as np

from ..autograd.function import Function
from ._util import array_module


def _complex_of(re, im):
    """A complex Tensor re + i·im built by a Function (so it is differentiable)."""
    return Complex.apply(re, im)


class Real(Function):
    """Re(z):  gz = g + 0i"""
    _grad_fn_name = "RealBackward0"

    @staticmethod
    def forward(ctx, z):
        ctx.dtype = z._data.dtype
        return z._data.real.copy() if z._data.dtype.kind == "c" else z._data.copy()

    @staticmethod
    def backward(ctx, g):
        return _complex_of(g, g * 0)


class Imag(Function):
    """Im(z):  gz = 0 + ig"""
    _grad_fn_name = "ImagBackward0"

    @staticmethod
    def forward(ctx, z):
        if z._data.dtype.kind != "c":
            raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
        return z._data.imag.copy()

    @staticmethod
    def backward(ctx, g):
        return _complex_of(g * 0, g)


class Conj(Function):
    """conj(z):  gz = conj(g)"""
    _grad_fn_name = "ConjBackward0"

    @staticmethod
    def forward(ctx, z):
        return array_module(z._data).conj(z._data)

    @staticmethod
    def backward(ctx, g):
        return Conj.apply(g)


class Complex(Function):
    """re + i·im:  g_re = Re(g),  g_im = Im(g)"""
    _grad_fn_name = "ComplexBackward0"

    @staticmethod
    def forward(ctx, re, im):
        a, b = re._data, im._data
        if a.dtype != b.dtype:
            raise RuntimeError(f"Expected object of scalar type {re.dtype.scalar_name} but got scalar type "
                               f"{im.dtype.scalar_name} for second argument")
        if a.dtype.kind != "f" or a.dtype == np.float16:
            raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                               f"{re.dtype.scalar_name} and {im.dtype.scalar_name}")
        xp = array_module(a)
        out = xp.empty(np.broadcast_shapes(a.shape, b.shape), np.complex64 if a.dtype == np.float32 else np.complex128)
        out.real, out.imag = a, b
        return out

    @staticmethod
    def backward(ctx, g):
        return Real.apply(g), Imag.apply(g)


class ViewAsReal(Function):
    """z → (…, 2) [Re, Im]:  gz = g[..., 0] + i g[..., 1]"""
    _grad_fn_name = "ViewAsRealBackward0"

    @staticmethod
    def forward(ctx, z):
        x = z._data
        if x.dtype.kind != "c":
            raise RuntimeError("view_as_real is only supported for complex tensors")
        xp = array_module(x)
        return xp.ascontiguousarray(x).view(x.real.dtype).reshape(x.shape + (2,))

    @staticmethod
    def backward(ctx, g):
        return ViewAsComplex.apply(g.contiguous())


class ViewAsComplex(Function):
    """(…, 2) → z = x[..., 0] + i x[..., 1]:  gx = stack(Re g, Im g)"""
    _grad_fn_name = "ViewAsComplexBackward0"

    @staticmethod
    def forward(ctx, x):
        a = x._data
        if a.ndim == 0 or a.shape[-1] != 2:
            raise RuntimeError("Tensor must have a last dimension of size 2")
        if a.dtype not in (np.float32, np.float64):
            raise RuntimeError("view_as_complex is only supported for float and double tensors, but got a tensor "
                               f"of scalar type: {x.dtype.scalar_name}")
        xp = array_module(a)
        return xp.ascontiguousarray(a).view(np.complex64 if a.dtype == np.float32 else np.complex128)[..., 0]

    @staticmethod
    def backward(ctx, g):
        return ViewAsReal.apply(g)


class Angle(Function):
    """arg(z):  gz = g · i z / |z|²  (0 at z = 0; a real input gets 0)"""
    _grad_fn_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, z):
        x = z._data
        ctx.save_for_backward(z)
        xp = array_module(x)
        if x.dtype.kind != "c":
            out = xp.where(x < 0, np.pi, 0.0).astype(x.dtype if x.dtype.kind == "f" else np.float32)
            return xp.where(xp.isnan(x), x, out) if x.dtype.kind == "f" else out
        return xp.angle(x).astype(x.real.dtype)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        if not z.is_complex():
            return g * 0
        a2 = Real.apply(z * Conj.apply(z))
        safe = a2 + (a2 == 0).to(a2.dtype)
        return (g / safe) * z * 1j * (a2 != 0).to(a2.dtype)


def polar(abs, angle):
    """abs · e^{i angle}, differentiable in both."""
    from ..functions import cos, sin
    return Complex.apply(abs * cos(angle), abs * sin(angle))


def conj(z):
    return Conj.apply(z) if z.is_complex() else z

