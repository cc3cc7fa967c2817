"""nn.init: weight initialisation, in place, under no_grad.

Every function fills ``tensor`` with fresh values and returns it. Random ones reduce to
``tensor.uniform_`` / ``tensor.normal_`` (torch's algorithms on ``generator`` or the global generator), so
``manual_seed(0); nn.Linear(64, 512)`` has PyTorch's weights bit for bit. They run under no_grad, so this
works on Parameters that require grad.

The scale rules (same as torch, with ``fan_in = size(1) * receptive field``,
``fan_out = size(0) * receptive field``):

* xavier (Glorot):  std = gain * sqrt(2 / (fan_in + fan_out))
* kaiming (He):     std = gain / sqrt(fan),  gain = calculate_gain(nonlinearity, a)
* a uniform with that std has bound sqrt(3) * std.
"""
import math
import warnings

import numpy as np

from ember.device import array_module
from ember.autograd.grad_mode import no_grad as _no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
           "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_", "sparse_", "uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]


# ----------------------------------------------------------------------------- writing helpers
def _write(tensor, values):
    """Copy ``values`` (a NumPy array or scalar) into the tensor's storage, in place, and bump its version."""
    arr = tensor._data
    xp = array_module(arr)
    if xp is np:
        arr[...] = values
    else:
        arr[...] = xp.asarray(values)
    tensor._bump()
    return tensor


def _check_float(tensor, kernel):
    """Random fills exist only for floating dtypes (torch's error class and message otherwise)."""
    if tensor._data.dtype.kind not in "fcV":
        names = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
        name = names.get(tensor._data.dtype.name, tensor._data.dtype.name)
        raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')


def _uniform(tensor, a, b, generator):
    """``tensor.uniform_(a, b)``: torch's algorithm, so a seeded init gives PyTorch's weights."""
    _check_float(tensor, "check_uniform_bounds")
    with _no_grad():
        tensor.uniform_(a, b, generator=generator)
    return tensor


def _normal(tensor, mean, std, generator):
    """``tensor.normal_(mean, std)``: torch's algorithm (Box-Muller in blocks of 16)."""
    _check_float(tensor, "normal_kernel_cpu")
    with _no_grad():
        tensor.normal_(mean, std, generator=generator)
    return tensor


# ----------------------------------------------------------------------------- gains and fans
def calculate_gain(nonlinearity, param=None):
    r"""The recommended gain for a nonlinearity: the factor that keeps activations' variance stable.

    linear/conv/sigmoid: 1 · tanh: 5/3 · relu: :math:`\sqrt 2` ·
    leaky_relu: :math:`\sqrt{2 / (1 + \text{slope}^2)}` (slope = ``param``, default 0.01) · selu: 3/4.
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    elif nonlinearity == "tanh":
        return 5.0 / 3
    elif nonlinearity == "relu":
        return math.sqrt(2.0)
    elif nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    elif nonlinearity == "selu":
        return 3.0 / 4
    else:
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)``: ``size(1)`` and ``size(0)``, each times the receptive field (dims 2+)."""
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    num_input_fmaps = tensor.size(1)
    num_output_fmaps = tensor.size(0)
    receptive_field_size = 1
    for s in tuple(tensor.shape)[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ----------------------------------------------------------------------------- the initialisers
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    r"""Fill with :math:`\mathcal U(a, b)`."""
    return _uniform(tensor, a, b, generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    r"""Fill with :math:`\mathcal N(\text{mean}, \text{std}^2)`."""
    return _normal(tensor, mean, std, generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    r"""Fill with :math:`\mathcal N(\text{mean}, \text{std}^2)` conditioned on :math:`a \le x \le b`.

    torch's sampler: when [a, b] holds more than 30% of the mass, draw normals and redraw (a whole fresh
    tensor each round) where outside; otherwise uniform proposals on [a, b] accepted by a log-density test.
    """
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    _check_float(tensor, "normal_kernel_cpu")

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    from ember.functions import where
    from ember.creation import empty_like
    p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
    with _no_grad():
        if p > 0.3:
            # torch: draw normals, redraw (a whole fresh tensor each round) where outside [a, b]
            dt = tensor._data.dtype
            lo, hi = float(dt.type(a)), float(dt.type(b))
            result = tensor.normal_(mean, std, generator=generator)
            while True:
                mask = (result < lo) | (result > hi)
                if not bool(mask.any()):
                    break
                result = where(mask, empty_like(result).normal_(mean, std, generator=generator), result)
            if result is not tensor:
                tensor.copy_(result)
        else:
            # narrow interval: uniform candidates on [a, b], accepted when log(u) <= log pdf ratio
            mode = max(a, min(mean, b))
            log_peak = -0.5 * ((mode - mean) / std) ** 2

            def log_pdf(c):
                return ((c - mean) / std).pow(2).mul(-0.5).sub(log_peak)

            tensor.uniform_(a, b, generator=generator)
            cand = empty_like(tensor)
            pending = empty_like(tensor).uniform_(generator=generator).log() > log_pdf(tensor)
            result = tensor
            while bool(pending.any()):
                cand.uniform_(a, b, generator=generator)
                result = where(pending, cand, result)
                pending = where(pending, empty_like(tensor).uniform_(generator=generator).log() > log_pdf(cand),
                                pending)
            if result is not tensor:
                tensor.copy_(result)
    return tensor


def constant_(tensor, val):
    """Fill with the value ``val``."""
    return _write(tensor, val)


def ones_(tensor):
    """Fill with 1."""
    return _write(tensor, 1)


def zeros_(tensor):
    """Fill with 0."""
    return _write(tensor, 0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (keeps the input of a Linear layer)."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tuple(tensor.shape)))


def dirac_(tensor, groups=1):
    """Fill a 3/4/5-D conv weight with the Dirac delta (keeps the input's channels), per group."""
    dimensions = tensor.dim()
    if dimensions not in [3, 4, 5]:
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    w = np.zeros(sizes, dtype=tensor._data.dtype)
    g, d = np.meshgrid(np.arange(groups), np.arange(min_dim), indexing="ij")
    centre = tuple(s // 2 for s in sizes[2:])
    w[((g * out_chans_per_grp + d).ravel(), d.ravel()) + centre] = 1
    return _write(tensor, w)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    r"""Glorot uniform: :math:`\mathcal U(-a, a)`, :math:`a = \text{gain}\sqrt{6/(\text{fan\_in}+\text{fan\_out})}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _uniform(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    r"""Glorot normal: :math:`\mathcal N(0, \sigma^2)`,
    :math:`\sigma = \text{gain}\sqrt{2/(\text{fan\_in}+\text{fan\_out})}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He uniform: :math:`\mathcal U(-b, b)`, :math:`b = \text{gain}\sqrt{3/\text{fan}}`.

    ``nn.Linear`` uses ``a=math.sqrt(5)``, which gives :math:`b = 1/\sqrt{\text{fan\_in}}`.
    """
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _uniform(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He normal: :math:`\mathcal N(0, \sigma^2)`, :math:`\sigma = \text{gain}/\sqrt{\text{fan}}`."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    return _normal(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix: the Q of a QR of a Gaussian matrix, signs fixed by diag(R).

    Tensors with more than 2 dims are treated as ``(size(0), numel / size(0))``.
    """
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    _check_float(tensor, "normal_kernel_cpu")
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    from ember.creation import empty
    flat = empty(rows, cols, dtype=tensor.dtype)
    _normal(flat, 0.0, 1.0, generator)
    flattened = flat._data
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tuple(tensor.shape)))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    r"""Fill a 2-D tensor with :math:`\mathcal N(0, \text{std}^2)` and zero a fraction ``sparsity`` of
    each column (``ceil(sparsity * rows)`` entries chosen at random)."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tuple(tensor.shape)
    num_zeros = int(math.ceil(sparsity * rows))
    from ember.creation import randperm
    _normal(tensor, 0.0, std, generator)
    w = np.array(tensor._data if isinstance(tensor._data, np.ndarray) else tensor._data.get())
    for col in range(cols):                 # torch draws one randperm of the rows per column
        w[randperm(rows, generator=generator)._data[:num_zeros], col] = 0
    return _write(tensor, w)


def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
                      FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"Deprecated alias of :func:`{new_name}`."
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
