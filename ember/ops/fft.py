"""Discrete Fourier transforms (``torch.fft``): four Functions cover every public transform.

* ``FftC2C``  complex → complex (fftn, ifftn). Unnormalised forward DFT F (sign -), inverse F^H (sign +);
  ``scale`` is the norm factor (1, 1/√N or 1/N). The DFT is linear, so the gradient is the adjoint:
  y = s F x  ⇒  gx = s F^H g — the same transform in the other direction, same scale.
* ``FftR2C``  real → onesided complex (rfftn): y = P s F x (P keeps the first n//2+1 bins of the last dim).
  gx = Re(s F^H P^T g): zero-pad g back to n bins, transform back, keep the real part.
* ``FftC2R``  onesided complex → real (irfftn): fill the missing bins by Hermitian symmetry, inverse DFT,
  real part. gx = s R2C(g) with the bins whose mirror image was filled in counted twice
  (bins 1 … n - (n//2+1) of the last dim), as torch's ``fft_c2r_backward``.
* ``Resize``  zero-pad or truncate dims to the signal sizes ``n``/``s`` asked for; its adjoint is the
  opposite resize.

NumPy's pocketfft keeps float32/complex64 in single precision, so float32 input gives complex64, as torch.
"""
import numpy as np

from ..autograd.function import Function
from ._util import array_module, wrap


def _cdtype(x):
    return np.complex64 if x.dtype in (np.float32, np.complex64) else np.complex128


class Resize(Function):
    """Zero-pad / truncate ``dims`` to ``sizes`` (at the end):  g → the opposite resize"""
    _grad_fn_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, dims, sizes):
        a = x._data
        ctx.dims, ctx.old = dims, tuple(a.shape[d] for d in dims)
        return resize_array(a, dims, sizes)

    @staticmethod
    def backward(ctx, g):
        return Resize.apply(g, ctx.dims, ctx.old), None, None


def resize_array(a, dims, sizes):
    xp = array_module(a)
    index = [slice(None)] * a.ndim
    pad = [(0, 0)] * a.ndim
    for d, n in zip(dims, sizes):
        if a.shape[d] > n:
            index[d] = slice(0, n)
        elif a.shape[d] < n:
            pad[d] = (0, n - a.shape[d])
    a = a[tuple(index)]
    if any(p != (0, 0) for p in pad):
        a = xp.pad(a, pad)
    return a


class FftC2C(Function):
    """y = s F x (forward) or s F^H x:  gx = s F^H g (or s F g) — the other direction, same scale"""
    _grad_fn_name = "FftC2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, scale, forward):
        a = x._data
        xp = array_module(a)
        ctx.args = (dims, scale, forward)
        if forward:
            y = xp.fft.fftn(a, axes=dims, norm="backward")
        else:
            y = xp.fft.ifftn(a, axes=dims, norm="forward")  # the unnormalised inverse
        if scale != 1:
            y *= scale
        return y.astype(_cdtype(a), copy=False)

    @staticmethod
    def backward(ctx, g):
        dims, scale, forward = ctx.args
        return FftC2C.apply(g, dims, scale, not forward), None, None, None


class FftR2C(Function):
    """y = P s F x (onesided):  gx = Re(s F^H P^T g)"""
    _grad_fn_name = "FftR2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, scale):
        a = x._data
        xp = array_module(a)
        ctx.args = (dims, scale, a.shape[dims[-1]])
        y = xp.fft.rfftn(a, axes=dims, norm="backward")
        if scale != 1:
            y *= scale
        return y.astype(_cdtype(a), copy=False)

    @staticmethod
    def backward(ctx, g):
        from .complex import Real
        dims, scale, n = ctx.args
        full = Resize.apply(g, (dims[-1],), (n,))
        return Real.apply(FftC2C.apply(full, dims, scale, False)), None, None


class FftC2R(Function):
    """y = s Re(F^H H x), H the Hermitian completion of the onesided input:
    gx = s R2C(g), bins 1 … n - (n//2+1) of the last dim doubled"""
    _grad_fn_name = "FftC2RBackward0"

    @staticmethod
    def forward(ctx, x, dims, n, scale):
        a = x._data
        xp = array_module(a)
        s = [a.shape[d] for d in dims[:-1]] + [n]
        ctx.args = (dims, n, scale)
        y = xp.fft.irfftn(a, s=s, axes=dims, norm="forward")
        if scale != 1:
            y *= scale
        return y.astype(np.float32 if a.dtype == np.complex64 else np.float64, copy=False)

    @staticmethod
    def backward(ctx, g):
        dims, n, scale = ctx.args
        gx = FftR2C.apply(g, dims, scale)
        m = gx.shape[dims[-1]]
        double = n - m
        if double > 0:
            w = np.ones(m, dtype=np.float32 if gx._data.dtype == np.complex64 else np.float64)
            w[1:1 + double] = 2
            shape = [1] * gx.ndim
            shape[dims[-1]] = m
            gx = gx * wrap(array_module(gx._data).asarray(w).reshape(shape))
        return gx, None, None, None
