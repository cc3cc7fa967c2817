"""``torch.fft``: discrete Fourier transforms and their helpers.

Every transform is one of three differentiable primitives in ``ember/ops/fft.py`` (complex→complex,
real→onesided complex, onesided complex→real), after the input is zero-padded or cut to the sizes asked
for (``n`` / ``s``). ``norm`` picks where the 1/N goes: ``"backward"`` (default: on the inverse),
``"ortho"`` (1/√N both ways) or ``"forward"`` (on the forward transform). Real float32 input gives
complex64 results, float64 gives complex128, as in torch.
"""
import math

import numpy as np

from ._tensor import wrap
from .ops import fft as O
from .ops._util import norm_dim

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _scale(norm, N, forward):
    """The factor a transform of N points applies under ``norm``."""
    if norm is None or norm == "backward":
        return 1.0 if forward else 1.0 / N
    if norm == "ortho":
        return 1.0 / math.sqrt(N)
    if norm == "forward":
        return 1.0 / N if forward else 1.0
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _float_in(x):
    """Integer/bool input becomes the default float dtype (torch promotes it the same way)."""
    from .dtypes import get_default_dtype
    if x._data.dtype.kind not in "fc":
        return x.to(get_default_dtype())
    return x


def _as_complex(x):
    x = _float_in(x)
    if x.is_complex():
        return x
    return x.to(x.dtype.to_complex())


def _real_only(x, name):
    x = _float_in(x)
    if x.is_complex():
        raise RuntimeError(f"{name} expects a real input tensor, but got {x.dtype.scalar_name}")
    return x


def _dims_and_sizes(x, s, dim, default_all=True, name="fftn"):
    """torch's rules: dims default to the last len(s) dims (or all dims); sizes default to the input's."""
    if dim is None:
        dims = tuple(range(x.ndim - len(s), x.ndim)) if s is not None else tuple(range(x.ndim))
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(norm_dim(d, x.ndim) for d in dims)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = tuple(s)
        if len(s) != len(dims):
            raise RuntimeError(f"When given, dim and shape arguments must have the same length")
        sizes = tuple(x.shape[d] if n == -1 else n for d, n in zip(dims, s))
    else:
        sizes = tuple(x.shape[d] for d in dims)
    for n in sizes:
        if n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return dims, sizes


def _resize(x, dims, sizes):
    if tuple(x.shape[d] for d in dims) == tuple(sizes):
        return x
    return O.Resize.apply(x, dims, tuple(sizes))


def _c2c(input, s, dim, norm, forward, name):
    x = _as_complex(input)
    dims, sizes = _dims_and_sizes(x, s, dim, name=name)
    x = _resize(x, dims, sizes)
    return O.FftC2C.apply(x, dims, _scale(norm, int(np.prod(sizes)), forward), forward)


def _r2c(input, s, dim, norm, forward, name):
    x = _real_only(input, name)
    dims, sizes = _dims_and_sizes(x, s, dim, name=name)
    x = _resize(x, dims, sizes)
    return O.FftR2C.apply(x, dims, _scale(norm, int(np.prod(sizes)), forward))


def _c2r(input, s, dim, norm, forward, name):
    x = _as_complex(input)
    if dim is None and s is None:
        dims = tuple(range(x.ndim))
    elif dim is None:
        dims = tuple(range(x.ndim - len(s), x.ndim))
    else:
        dims = tuple(norm_dim(d, x.ndim) for d in ((dim,) if isinstance(dim, int) else dim))
    if s is None:
        sizes = tuple(x.shape[d] for d in dims[:-1]) + (2 * (x.shape[dims[-1]] - 1),)
    else:
        sizes = tuple(x.shape[d] if n == -1 else n for d, n in zip(dims, s))
        if s[-1] == -1:
            sizes = sizes[:-1] + (2 * (x.shape[dims[-1]] - 1),)
    for n in sizes:
        if n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    x = _resize(x, dims, sizes[:-1] + (sizes[-1] // 2 + 1,))
    return O.FftC2R.apply(x, dims, sizes[-1], _scale(norm, int(np.prod(sizes)), forward))


def _one(n):
    return None if n is None else (n,)


# ---- complex-to-complex --------------------------------------------------------------------------------
def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """One-dimensional DFT: X_k = Σ_t x_t e^{-2πi kt/n}."""
    return _c2c(input, _one(n), dim, norm, True, "fft")


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """Inverse DFT: x_t = 1/n Σ_k X_k e^{2πi kt/n} (with the default norm)."""
    return _c2c(input, _one(n), dim, norm, False, "ifft")


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c(input, s, dim, norm, True, "fft2")


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c(input, s, dim, norm, False, "ifft2")


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2c(input, s, dim, norm, True, "fftn")


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2c(input, s, dim, norm, False, "ifftn")


# ---- real input / real output ----------------------------------------------------------------------------
def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """DFT of a real signal: only the n//2 + 1 non-negative frequencies (the rest are their conjugates)."""
    return _r2c(input, _one(n), dim, norm, True, "rfft")


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """Inverse of rfft: a real signal of length n (default 2(m - 1)) from m non-negative frequencies."""
    return _c2r(input, _one(n), (dim,), norm, False, "irfft")


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _r2c(input, s, dim, norm, True, "rfft2")


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2r(input, s, dim, norm, False, "irfft2")


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _r2c(input, s, dim, norm, True, "rfftn")


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2r(input, s, dim, norm, False, "irfftn")


# ---- Hermitian input (hfft) / Hermitian output (ihfft) ------------------------------------------------------
def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    """DFT of a signal with Hermitian symmetry given by its first half: real output of length n."""
    return _c2r(_conj(input), _one(n), (dim,), norm, True, "hfft")


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    """Inverse of hfft: the first n//2 + 1 bins of the inverse DFT of a real signal."""
    return _conj(_r2c(input, _one(n), dim, norm, False, "ihfft"))


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2r(_conj(input), s, dim, norm, True, "hfft2")


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _conj(_r2c(input, s, dim, norm, False, "ihfft2"))


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2r(_conj(input), s, dim, norm, True, "hfftn")


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _conj(_r2c(input, s, dim, norm, False, "ihfftn"))


def _conj(x):
    from .ops.complex import conj
    return conj(_float_in(x))


# ---- frequencies and shifts ---------------------------------------------------------------------------------
def _freq_tensor(arr, dtype, device, requires_grad):
    from .dtypes import get_default_dtype, to_dtype
    dt = get_default_dtype() if dtype is None else to_dtype(dtype)
    t = wrap(arr.astype(dt.np))
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of fft's bins: [0, 1, …, ⌈n/2⌉-1, -⌊n/2⌋, …, -1] / (d n)."""
    return _freq_tensor(np.fft.fftfreq(n, d), dtype, device, requires_grad)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of rfft's bins: [0, 1, …, n//2] / (d n)."""
    return _freq_tensor(np.fft.rfftfreq(n, d), dtype, device, requires_grad)


def _shift_dims(x, dim):
    if dim is None:
        return tuple(range(x.ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def fftshift(input, dim=None):
    """Move the zero frequency to the centre (roll each dim by n//2)."""
    from .functions import roll
    dims = _shift_dims(input, dim)
    return roll(input, tuple(input.shape[d] // 2 for d in dims), dims)


def ifftshift(input, dim=None):
    """Undo fftshift (roll each dim by -(n//2))."""
    from .functions import roll
    dims = _shift_dims(input, dim)
    return roll(input, tuple(-(input.shape[d] // 2) for d in dims), dims)


# ---- short-time transforms (torch.stft / torch.istft; kept beside the FFTs they are made of) -------------------
def _window(window, win_length, n_fft, like):
    """The analysis window zero-padded (centred) to n_fft; a rectangular one when none is given."""
    from .creation import ones
    from .nn.functional import pad
    if win_length > n_fft or win_length <= 0:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is None:
        import warnings
        warnings.warn("A window was not provided. A rectangular window will be applied,which is known to cause "
                      "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                      "recommended to reduce spectral leakage.To suppress this warning and use a rectangular window, "
                      "explicitly set `window=torch.ones(n_fft, device=<device>)`.")
    w = ones(win_length, dtype=like.dtype.to_real()) if window is None else window
    if w.dim() != 1 or w.shape[0] != win_length:
        raise RuntimeError(f"stft: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                           f"window with size {list(w.shape)}")
    left = (n_fft - win_length) // 2
    return pad(w, (left, n_fft - win_length - left)) if win_length < n_fft else w


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    """Short-time Fourier transform: frames of n_fft samples every hop_length, windowed, each DFT'd.
    Result (…, n_fft//2 + 1 or n_fft, n_frames); differentiable (pad, unfold, multiply, rfft/fft)."""
    from .nn.functional import pad
    if return_complex is None:
        if not input.is_complex() and not (window is not None and window.is_complex()):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if input.dim() not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.dim()}D")
    x = _float_in(input)
    single = x.dim() == 1
    if single:
        x = x.unsqueeze(0)
    if center:
        x = pad(x.unsqueeze(1), (n_fft // 2, n_fft // 2), mode=pad_mode).squeeze(1)
    if x.shape[-1] < n_fft:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {x.shape[-1]}, but got n_fft={n_fft}")
    frames = x.unfold(-1, n_fft, hop) * _window(window, win_length, n_fft, x)     # (B, n_frames, n_fft)
    if onesided is None:
        onesided = not (x.is_complex() or (window is not None and window.is_complex()))
    spec = rfft(frames, dim=-1) if onesided else fft(frames, dim=-1)
    if normalized:
        spec = spec * (n_fft ** -0.5)
    spec = spec.transpose(-1, -2)
    if single:
        spec = spec.squeeze(0)
    if not return_complex:
        from .functions import view_as_real
        return view_as_real(spec)
    return spec


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """Inverse of stft: inverse-DFT each frame, window it again, overlap-add, divide by the summed squared
    window (needs the windows to overlap enough: NOLA)."""
    from .nn.functional import fold
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor.")
    spec = input.unsqueeze(0) if input.dim() == 2 else input
    n_frames = spec.shape[-1]
    if onesided is None:
        onesided = spec.shape[-2] != n_fft
    if normalized:
        spec = spec * (n_fft ** 0.5)
    frames_spec = spec.transpose(-1, -2)                                           # (B, n_frames, bins)
    frames = irfft(frames_spec, n=n_fft, dim=-1) if onesided and not return_complex else ifft(frames_spec, dim=-1)
    if frames.is_complex() and not return_complex:
        frames = frames.real
    w = _window(window, win_length, n_fft, frames.real if frames.is_complex() else frames)
    frames = frames * w
    expected = n_fft + hop * (n_frames - 1)
    out = fold(frames.transpose(-1, -2), output_size=(1, expected), kernel_size=(1, n_fft), stride=(1, hop))
    out = out.reshape(out.shape[0], expected)
    env = fold((w * w).reshape(1, n_fft, 1).expand(1, n_fft, n_frames), output_size=(1, expected),
               kernel_size=(1, n_fft), stride=(1, hop)).reshape(expected)
    start = n_fft // 2 if center else 0
    end = expected - (n_fft // 2 if center else 0) if length is None else min(start + length, expected)
    out, env = out[:, start:end], env[start:end]
    if bool((env.abs() < 1e-11).any()):
        raise RuntimeError(f"istft(...) window overlap add min: {float(env.abs().min())}")
    out = out / env
    if length is not None and out.shape[-1] < length:
        from .nn.functional import pad
        out = pad(out, (0, length - out.shape[-1]))
    return out.squeeze(0) if input.dim() == 2 else out
