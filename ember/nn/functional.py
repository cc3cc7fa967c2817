"""Stateless functions behind the nn modules (``torch.nn.functional``).

Everything here is thin: it checks arguments the way torch does (same exception classes and messages),
fills in defaults, and calls one ``Function`` from ``ember/ops/nn.py`` or composes core Tensor ops.
No gradient is computed here.
"""
import math
import numbers
import warnings

import numpy as np

from ember import _sampling

import ember
from ..device import array_module as _array_module
from ..ops import nn as _ops

__all__ = [
    # linear
    "linear", "bilinear",
    # activations
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "celu", "gelu", "silu", "mish",
    "softplus", "sigmoid", "tanh", "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "logsigmoid",
    "softsign", "tanhshrink", "softshrink", "hardshrink", "threshold", "glu", "prelu", "rrelu",
    "softmax", "softmin", "log_softmax", "celu_", "selu_", "rrelu_", "threshold_",
    # dropout
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    # sparse
    "embedding", "embedding_bag", "one_hot",
    # normalisation
    "layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm", "normalize",
    # distances
    "cosine_similarity", "pairwise_distance", "pdist", "gumbel_softmax", "local_response_norm",
    # losses
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss",
    "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "multi_margin_loss", "multilabel_margin_loss",
    "multilabel_soft_margin_loss", "hinge_embedding_loss", "cosine_embedding_loss", "margin_ranking_loss",
    "triplet_margin_loss", "gaussian_nll_loss", "poisson_nll_loss", "soft_margin_loss", "ctc_loss",
    "triplet_margin_with_distance_loss",
]

# torch's legacy type names, used in its error messages ("torch.FloatTensor", "... but got Float")
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                 "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}


def _scalar_name(dtype):
    return _SCALAR_NAMES.get(dtype.name, dtype.name)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _need_float(input, kernel):
    """torch's float-only kernels refuse integer/bool tensors with this error (and so do we, rather than
    quietly computing in float64)."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_scalar_name(input.dtype)}\'')


def _wants_grad(t):
    return ember.is_grad_enabled() and t.requires_grad


def _write_inplace(input, out):
    """``inplace=True``: write the result into ``input``'s storage when no graph needs the old values
    (with autograd recording, the out-of-place result is returned instead: same values, safe graph)."""
    if _wants_grad(input):
        return out
    input._data[...] = out._data
    input._bump()
    return input


def _legacy_reduction(size_average, reduce):
    """Map the deprecated ``size_average``/``reduce`` flags to a ``reduction`` string (as torch does)."""
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='{}' instead.".format(
        "none" if reduce is False else ("sum" if size_average is False else "mean")), stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduction(reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _apply_reduction(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target):
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)


def _check_broadcast(a, b):
    """torch's message when two shapes cannot broadcast."""
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    for k, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {k}")


def _as_tensor_like(x, ref):
    if isinstance(x, ember.Tensor):
        return x
    return ember.tensor(x, dtype=ref.dtype)


# --------------------------------------------------------------------------------------------------
# linear
# --------------------------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """y = x W^T + b. A 2-D input with a bias is one fused ``addmm`` (grad_fn=<AddmmBackward0>);
    batched inputs are flattened to 2-D and viewed back, as torch does."""
    if input.dim() == 2 and bias is not None:
        return ember.addmm(bias, input, weight.t())
    if input.dim() == 1 and bias is not None and weight.dim() == 2:
        return ember.addmm(bias, input.unsqueeze(0), weight.t()).view(weight.shape[0])
    if input.dim() > 2 and bias is not None:
        lead = tuple(input.shape[:-1])
        out = ember.addmm(bias, input.reshape(-1, input.shape[-1]), weight.t())
        return out.view(*lead, weight.shape[0])
    out = input.matmul(weight.t())
    return out + bias if bias is not None else out


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T W_k x2 + b_k for weight (out, in1, in2)."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {input1.shape[:-1]} "
                           f"and {input2.shape[:-1]}")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} "
                           f"but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} "
                           f"but expected {in2}")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    t = x1.matmul(weight.permute(1, 0, 2).reshape(in1, out_f * in2)).reshape(-1, out_f, in2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_f)


# --------------------------------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------------------------------
def relu(input, inplace=False):
    """max(x, 0)."""
    if inplace:
        return input.relu_()
    return input.relu()


def relu_(input):
    return input.relu_()


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    out = _ops.Hardtanh.apply(input, min_val, max_val)
    return _write_inplace(input, out) if inplace else out


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) = hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    _need_float(input, "leaky_relu_cpu")
    out = _ops.LeakyRelu.apply(input, negative_slope)
    return _write_inplace(input, out) if inplace else out


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha (exp(x) - 1)."""
    _need_float(input, "elu_cpu")
    out = _ops.Elu.apply(input, alpha, 1.0, 1.0)
    return _write_inplace(input, out) if inplace else out


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants."""
    _need_float(input, "elu_cpu")
    out = _ops.Elu.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0)
    return _write_inplace(input, out) if inplace else out


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""
    _need_float(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    out = _ops.Celu.apply(input, alpha, 1.0, 1.0 / alpha)
    return _write_inplace(input, out) if inplace else out


def gelu(input, approximate="none"):
    """x * Phi(x) (erf form) or its tanh approximation."""
    _need_float(input, "GeluKernelImpl")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _ops.Gelu.apply(input, approximate)


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    _need_float(input, "silu_cpu")
    out = _ops.Silu.apply(input)
    return _write_inplace(input, out) if inplace else out


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    _need_float(input, "mish_cpu")
    out = _ops.Mish.apply(input)
    return _write_inplace(input, out) if inplace else out


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, linear above ``threshold``."""
    _need_float(input, "softplus_cpu")
    return _ops.Softplus.apply(input, beta, threshold)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def hardsigmoid(input, inplace=False):
    """clamp(x / 6 + 1/2, 0, 1)."""
    _need_float(input, "hardsigmoid_cpu")
    out = _ops.Hardsigmoid.apply(input)
    return _write_inplace(input, out) if inplace else out


def hardswish(input, inplace=False):
    """x * hardsigmoid(x)."""
    _need_float(input, "hardswish_cpu")
    out = _ops.Hardswish.apply(input)
    return _write_inplace(input, out) if inplace else out


def logsigmoid(input):
    """log(sigmoid(x)), computed stably."""
    _need_float(input, "log_sigmoid_cpu")
    return _ops.LogSigmoid.apply(input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: negative inputs are scaled by a slope drawn from U(lower, upper) per element
    in training, and by the fixed mean slope (lower + upper) / 2 in eval."""
    _need_float(input, "rrelu_with_noise_cpu")
    if training:
        # torch: one U(lower, upper) double per non-positive element (in order; the bounds first rounded to
        # the dtype's compute type), cast to the dtype
        x = input._data if isinstance(input._data, np.ndarray) else input._data.get()
        op = np.float64 if x.dtype == np.float64 else np.float32
        lower, upper = float(op(lower)), float(op(upper))
        neg = np.ascontiguousarray(x) <= 0
        k = int(neg.sum())
        slope = np.ones(x.shape, dtype=x.dtype)
        if k:
            r = _sampling.uniform(ember.random._gen(), k, np.float64, float(lower), float(upper))
            slope[neg] = _sampling.to_dtype(r, x.dtype)
        from ember.device import to_device_array
        out = input * ember._tensor.wrap(to_device_array(slope, input.device))
    else:
        out = _ops.LeakyRelu.apply(input, (lower + upper) / 2)
    return _write_inplace(input, out) if inplace else out


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, inplace=True)


def softsign(input):
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - input.tanh()


def softshrink(input, lambd=0.5):
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return ember.where(input > lambd, input - lambd, ember.where(input < -lambd, input + lambd, input * 0))


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return ember.where(input.abs() > lambd, input, input * 0)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    out = ember.where(input > threshold, input, ember.full_like(input, value))
    return _write_inplace(input, out) if inplace else out


def glu(input, dim=-1):
    """a * sigmoid(b), with (a, b) the two halves of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.dim()} is size {n}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input, weight):
    """x if x > 0 else w_c x (w broadcast over the channel axis 1)."""
    w = weight
    if input.dim() >= 2 and weight.numel() > 1:
        w = weight.reshape([1, -1] + [1] * (input.dim() - 2))
    return ember.where(input > 0, input, input * w)


def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (computed with the max subtracted)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _softmax_call(_ops.Softmax, input, dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x)."""
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _softmax_call(_ops.Softmax, -input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along ``dim``."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _softmax_call(_ops.LogSoftmax, input, dim, "log_softmax")


def _softmax_call(fn, input, dim, name="softmax"):
    """Run a softmax-family Function; a 0-d input is treated as one element along dim 0."""
    dim = _canon_dim(dim, input.dim())
    _need_float(input, f"{name}_lastdim_kernel_impl" if dim == max(input.dim() - 1, 0) else f"{name}_kernel_impl")
    if input.dim() == 0:
        return fn.apply(input.reshape(1), 0).reshape(())
    return fn.apply(input, dim)


def _canon_dim(dim, ndim):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n if ndim else 0


# --------------------------------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p); identity when not training."""
    _check_p(p)
    if not training or p == 0:
        return input
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_scalar_name(input.dtype)}")
    out = _ops.Dropout.apply(input, float(p), None)
    return _write_inplace(input, out) if inplace else out


def _feature_dropout(input, p, training, inplace, batched):
    """Drop whole channels: one Bernoulli draw per (sample, channel), broadcast over the spatial axes."""
    _check_p(p)
    if not training or p == 0:
        return input
    x = input if batched else input.unsqueeze(0)
    shape = tuple(x.shape[:2]) + (1,) * (x.dim() - 2)
    dt = np.dtype(x.dtype.np)
    if p == 1:
        mask = np.zeros(shape, dtype=dt)
    else:   # torch: noise of shape (N, C, 1, ...) .bernoulli_(1 - p) .div_(1 - p)
        keep = _sampling.bernoulli_scalar(ember.random._gen(), int(np.prod(shape)), 1.0 - p).reshape(shape)
        mask = keep.astype(dt) / _sampling.to_dtype(np.float64(1.0 - p), dt)
    from ember.device import to_device_array
    m = ember._tensor.wrap(to_device_array(mask, x.device))
    out = x * m
    if not batched:
        out = out.squeeze(0)
    return _write_inplace(input, out) if inplace else out


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel-wise dropout for (N, C, L) or (C, L) inputs."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that dropout1d "
            "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, "
            "and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, input.dim() == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel-wise dropout for (N, C, H, W) or (C, H, W) inputs."""
    d = input.dim()
    if d not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {d}-D input to dropout2d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. "
            "Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a "
            "channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if d == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d "
            "instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel-wise dropout for (N, C, D, H, W) or (C, D, H, W) inputs."""
    d = input.dim()
    if d not in (4, 5):
        warnings.warn(f"dropout3d: Received a {d}-D input to dropout3d, which is deprecated and will result in "
                      "an error in a future release.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, d != 4)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's zero mean / unit variance: dropped units are set to -alpha*scale, then an
    affine correction a * x + b restores the moments."""
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout that drops whole channels (one draw per sample and channel)."""
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    return _alpha_dropout(input, p, training, inplace, shape)


def _alpha_dropout(input, p, training, inplace, mask_shape):
    """torch's recipe: noise = Bernoulli(1 - p); b = (noise - 1) * alpha*a + alpha*a*p; y = x * (noise * a) + b,
    with alpha = SELU's alpha * scale and a = 1 / sqrt((alpha^2 p + 1)(1 - p)), each step in x's dtype."""
    _check_p(p)
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    dt = np.dtype(input.dtype.np)
    alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    n = int(np.prod(mask_shape))
    noise = _sampling.bernoulli_scalar(ember.random._gen(), n, 1.0 - p).reshape(mask_shape).astype(dt)
    b = (noise + dt.type(-1)) * dt.type(alpha * a) + dt.type(alpha * a * p)
    noise = noise * dt.type(a)
    from ember.device import to_device_array
    out = input * ember._tensor.wrap(to_device_array(noise, input.device)) + \
        ember._tensor.wrap(to_device_array(b, input.device))
    return _write_inplace(input, out) if inplace else out


# --------------------------------------------------------------------------------------------------
# embeddings
# --------------------------------------------------------------------------------------------------
def _check_indices(input, fname="embedding"):
    if input.dtype not in (ember.int64, ember.int32):
        raise RuntimeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got torch.{_scalar_name(input.dtype)}Tensor instead (while checking arguments for {fname})")


def _renorm_rows_(weight, idx, max_norm, norm_type):
    """Rescale (in place, no grad) the rows of ``weight`` referenced by ``idx`` whose norm exceeds max_norm."""
    xp = _array_module(weight._data)
    w = weight._data
    rows = xp.unique(idx.reshape(-1))
    sub = w[rows]
    norms = (xp.abs(sub) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    over = norms > max_norm
    if over.any():
        scale = (max_norm / (norms[over] + 1e-7)).astype(w.dtype)
        w[rows[over]] = sub[over] * scale[:, None]
        weight._bump()


def _padding_idx(padding_idx, num):
    if padding_idx is None:
        return None
    if padding_idx > 0:
        assert padding_idx < num, "Padding_idx must be within num_embeddings"
    elif padding_idx < 0:
        assert padding_idx >= -num, "Padding_idx must be within num_embeddings"
        padding_idx = num + padding_idx
    return padding_idx


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Row lookup ``weight[input]``; the ``padding_idx`` row receives no gradient; ``max_norm`` renormalises
    the looked-up rows of ``weight`` in place first."""
    _check_indices(input)
    padding_idx = _padding_idx(padding_idx, weight.shape[0])
    idx = input._data
    n = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_rows_(weight, idx, max_norm, norm_type)
    return _ops.Embedding.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sum / mean / max of the embeddings of each bag. A 2-D ``input`` is B bags of fixed length; a 1-D
    ``input`` is split into bags at ``offsets``. Padding entries are left out of every bag."""
    _check_indices(input, "embedding_bag")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise ValueError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
            f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
    xp = _array_module(weight._data)
    padding_idx = _padding_idx(padding_idx, weight.shape[0])
    idx = input._data
    from ..ops._util import check_index_range
    check_index_range(idx, weight.shape[0], 0, "embedding_bag")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch "
                             "of fixed length sequences. However, found offsets of type Tensor")
        B, L = idx.shape
        pos = xp.broadcast_to(xp.arange(L), (B, L))
        mat = idx
        valid = xp.ones((B, L), dtype=bool)
        psw = per_sample_weights
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        off = offsets._data.astype(np.int64)
        n = idx.shape[0]
        ends = xp.concatenate((off[1:], xp.asarray([n]))) if not include_last_offset else off[1:]
        starts = off if not include_last_offset else off[:-1]
        lengths = ends - starts
        B = starts.shape[0]
        L = int(lengths.max()) if B else 0
        pos = starts[:, None] + xp.arange(max(L, 1))[None, :]
        valid = xp.arange(max(L, 1))[None, :] < lengths[:, None]
        pos = xp.where(valid, pos, 0)
        mat = idx[pos] if n else xp.zeros(pos.shape, dtype=idx.dtype)
        psw = None
        if per_sample_weights is not None:
            psw = per_sample_weights[ember._tensor.wrap(pos)]
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if padding_idx is not None:
        valid = valid & (mat != padding_idx)
    if max_norm is not None:
        _renorm_rows_(weight, idx, max_norm, norm_type)
    emb = _ops.Embedding.apply(weight, ember._tensor.wrap(xp.ascontiguousarray(mat)), None)   # (B, L, D)
    vmask = ember._tensor.wrap(valid.astype(weight._data.dtype)[..., None])
    if mode == "max":
        neg = ember.full_like(emb, -math.inf)
        out = ember.where(ember._tensor.wrap(valid[..., None]), emb, neg).amax(1)
        empty = ember._tensor.wrap(~valid.any(axis=1)[:, None])
        return ember.where(empty, ember.zeros_like(out), out) if bool(empty._data.any()) else out
    if psw is not None:
        emb = emb * psw.unsqueeze(-1)
    out = (emb * vmask).sum(1)
    if mode == "mean":
        counts = valid.sum(axis=1, keepdims=True).astype(weight._data.dtype)
        out = out / ember._tensor.wrap(xp.maximum(counts, 1))
    return out


def one_hot(tensor, num_classes=-1):
    """int64 tensor with a trailing axis of ``num_classes`` that is 1 at each index, 0 elsewhere."""
    if tensor.dtype != ember.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = tensor._data
    xp = _array_module(a)
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if int(a.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(a.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes)).astype(np.int64)
    return ember._tensor.wrap(out)


# --------------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------------
def _check_normalized_shape(input, normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    ns = tuple(int(s) for s in normalized_shape)
    nd = len(ns)
    if nd == 0 or tuple(input.shape[input.dim() - nd:]) != ns or input.dim() < nd:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in ns)}], but got input of size{list(input.shape)}")
    return ns


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing ``normalized_shape`` dims."""
    _need_float(input, "LayerNormKernelImpl")
    ns = _check_normalized_shape(input, normalized_shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                               f"shape {list(t.shape)} and normalized_shape = {list(ns)}")
    return _ops.LayerNorm.apply(input, weight, bias, len(ns), float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims (eps defaults to finfo(dtype).eps)."""
    _need_float(input, "rms_norm")
    ns = _check_normalized_shape(input, normalized_shape)
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)
    return _ops.RmsNorm.apply(input, weight, len(ns), float(eps))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """Normalise each group of C / num_groups channels of each sample, then a per-channel affine map."""
    _need_float(input, "GroupNormKernelImpl")
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    C = input.shape[1]
    if C % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input "
                           f"of shape {list(input.shape)} and num_groups={num_groups}")
    return _ops.GroupNorm.apply(input, weight, bias, int(num_groups), float(eps))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-05):
    """Normalise each channel (axis 1) over the batch and spatial axes. Training uses the batch statistics
    and moves ``running_mean``/``running_var`` (in place) toward them; eval uses the running statistics."""
    _need_float(input, "batch_norm")
    C = input.shape[1] if input.dim() > 1 else input.shape[0]
    if training:
        size = input.shape[0]
        for s in input.shape[2:]:
            size *= s
        if size == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    return _ops.BatchNorm.apply(input, weight, bias, running_mean, running_var, bool(training),
                                0.0 if momentum is None else float(momentum), float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-05):
    """Normalise each (sample, channel) over its spatial axes: group_norm with one channel per group.

    With running statistics (torch's recipe) it is a batch norm of the input viewed as (1, N*C, ...): each
    (sample, channel) is its own channel; the running statistics it updates are averaged over the batch.
    ``use_input_stats=False`` normalises with the running statistics instead (eval mode)."""
    if running_mean is None and running_var is None:
        if not use_input_stats:
            raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
        return group_norm(input, input.shape[1], weight, bias, eps)
    n, c = input.shape[0], input.shape[1]
    x = input.reshape((1, n * c) + tuple(input.shape[2:]))
    rm, rv = running_mean.repeat(n), running_var.repeat(n)
    w = weight.repeat(n) if weight is not None else None
    b = bias.repeat(n) if bias is not None else None
    out = batch_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:
        with ember.no_grad():
            running_mean.copy_(rm.view(n, c).mean(0))
            running_var.copy_(rv.view(n, c).mean(0))
    return out.view(input.shape)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim`` (e.g. L2-normalised embeddings)."""
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    res = input / denom
    if out is not None:
        out.copy_(res)
        return out
    return res


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)), dim)."""
    _check_broadcast(x1.shape, x2.shape)
    x1, x2 = ember.broadcast_tensors(x1, x2)
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension."""
    _check_broadcast(x1.shape, x2.shape)
    d = max(x1.dim(), x2.dim())
    return (x1 - x2 + eps).norm(p, d - 1, keepdim=keepdim)


def pdist(input, p=2.0):
    """p-norm distances between all pairs of rows i < j of an (N, M) input: N (N - 1) / 2 values."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    i, j = np.triu_indices(input.shape[0], 1)
    return (input[ember._tensor.wrap(i)] - input[ember._tensor.wrap(j)]).norm(p, 1)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """A differentiable sample from the categorical distribution of ``logits``: softmax((logits + g) / tau)
    with Gumbel noise g = -log(Exp(1)); ``hard=True`` returns the one-hot argmax with the soft gradient."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -ember.empty_like(logits).exponential_().log()   # torch's draw: -log(Exp(1))
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = ember.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta (AlexNet's LRN)."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {dim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    sq = input * input
    shape = list(sq.shape)
    before, after = size // 2, (size - 1) // 2
    z = ember.zeros(*([shape[0], before + 1] + shape[2:]), dtype=input.dtype)
    padded = ember.cat([sq, ember.zeros(*([shape[0], after] + shape[2:]), dtype=input.dtype)], 1)
    cs = ember.cat([z, padded.cumsum(1)], 1)       # cs[:, c] = sum of the padded squares before c
    C = shape[1]
    window = cs[:, size:size + C] - cs[:, :C]
    div = (window * (alpha / size) + k).pow(beta)
    return input / div


# --------------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------------
def _check_class_target(input, target, weight, nll=False):
    """torch's checks for class-index targets (nll_loss_nd)."""
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    tb = target.shape[0] if target.dim() else 0
    if input.dim() != 1 and input.shape[0] != tb:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({tb}).")
    if input.dim() <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if not (input.dim() == 1 and target.dim() == 0) and input.shape[0] != (target.shape[0] if target.dim()
                                                                              else 1):
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: {list(target.shape)})")
    elif input.dim() == 4:
        if target.dim() != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets of "
                               f"dimension: {target.dim()}")
        if tuple(input.shape[2:]) != tuple(target.shape[1:]):
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
    else:
        if tuple(target.shape[1:]) != tuple(input.shape[2:]):
            raise RuntimeError(f"Expected target size {[input.shape[0]] + list(input.shape[2:])}, "
                               f"got {list(target.shape)}")
    if target.dtype not in (ember.int64, ember.uint8):
        from ..hints import add_hint
        raise add_hint(RuntimeError(f"expected target dtype to be Long or Byte, but got {_scalar_name(target.dtype)}"),
                       "ce_float")
    C = input.shape[1] if input.dim() > 1 else input.shape[0]
    if weight is not None and (weight.dim() != 1 or weight.numel() != C):
        raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no classes but got "
                           f"weight tensor of shape: {list(weight.shape)}")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """log_softmax + nll_loss in one fused pass. ``target`` holds class indices (shape of input without the
    class axis) or class probabilities (same shape as input)."""
    _need_float(input, "log_softmax_lastdim_kernel_impl")
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if target.shape == input.shape and input.dim() > 1 and not target.dtype.is_floating_point:
        from ..hints import add_hint  # same shape as the input: class probabilities, which must be floats
        raise add_hint(RuntimeError(f"Expected floating point type for target with class probabilities, got "
                                    f"{_scalar_name(target.dtype)}"), "ce_onehot")
    if target.shape == input.shape and target.dtype.is_floating_point:
        if target.dtype != input.dtype:
            target = target.to(input.dtype)
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _ops.CrossEntropy.apply(input, target, weight, ignore_index, reduction, float(label_smoothing))
    _check_class_target(input, target, weight)
    fn = _ops.CrossEntropy2d if input.dim() >= 3 else _ops.CrossEntropy
    return fn.apply(input, target.long() if target.dtype != ember.int64 else target, weight, int(ignore_index),
                    reduction, float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """-input[target] (weighted, ignoring ``ignore_index``) for log-probability inputs."""
    _need_float(input, "nll_loss_out_frame")
    reduction = _reduction(reduction, size_average, reduce)
    _check_class_target(input, target, weight)
    fn = _ops.NllLoss2d if input.dim() >= 3 else _ops.NllLoss
    return fn.apply(input, target.long() if target.dtype != ember.int64 else target, weight, int(ignore_index),
                    reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p; the logs are clamped at -100."""
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    if weight is not None and weight.shape != input.shape:
        weight = weight.expand(*input.shape)
    return _ops.BinaryCrossEntropy.apply(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE of sigmoid(x) computed from the logits without ever forming sigmoid(x): stable at any |x|."""
    _need_float(input, "log_sigmoid_cpu")
    reduction = _reduction(reduction, size_average, reduce)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    for extra in (weight, pos_weight):
        if extra is not None:
            _check_broadcast(extra.shape, input.shape)
    return _ops.BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction)


def _weighted(loss, weight, input, reduction):
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    wl = loss * weight
    if reduction == "mean":
        return wl.sum() / weight.sum()
    return wl.sum() if reduction == "sum" else wl


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(x - y)^2, reduced."""
    _need_float(input, "mse_cpu")
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    _check_broadcast(input.shape, target.shape)
    x, y = ember.broadcast_tensors(input, target)
    if weight is not None:
        return _weighted((x - y).pow(2), weight, input, reduction)
    return _ops.MseLoss.apply(x, y, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|x - y|, reduced."""
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    _check_broadcast(input.shape, target.shape)
    x, y = ember.broadcast_tensors(input, target)
    if weight is not None:
        return _weighted((x - y).abs(), weight, input, reduction)
    return _apply_reduction((x - y).abs(), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, |d| - beta / 2 elsewhere."""
    _need_float(input, "smooth_l1_cpu")
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _check_broadcast(input.shape, target.shape)
    x, y = ember.broadcast_tensors(input, target)
    return _ops.SmoothL1Loss.apply(x, y, reduction, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, delta (|d| - delta / 2) elsewhere."""
    _need_float(input, "huber_cpu")
    _warn_size(input, target)
    reduction = _reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _check_broadcast(input.shape, target.shape)
    x, y = ember.broadcast_tensors(input, target)
    if weight is None:
        return _ops.HuberLoss.apply(x, y, reduction, float(delta))
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    wl = _ops.HuberLoss.apply(x, y, "none", float(delta)) * weight
    return _apply_reduction(wl, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """target * (log target - input) with input = log-probabilities ('batchmean' = sum / batch size)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                stacklevel=2)
        if reduction not in ("none", "mean", "sum", "batchmean"):
            raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = ember.xlogy(target, target) - target * input
    if reduction == "batchmean":
        out = loss.sum()
        return out / input.shape[0] if input.dim() != 0 else out
    return _apply_reduction(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge (SVM) loss: sum_{j != y} max(0, margin - x_y + x_j)^p / C, weighted by w_y."""
    reduction = _reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x = input if input.dim() == 2 else input.reshape(1, -1)
    t = target.reshape(-1)
    N, C = x.shape
    if t.shape[0] != N:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of "
                           f"input samples (batch size). Expected target size [{N}], but got "
                           f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    if weight is not None and weight.numel() != C:
        raise RuntimeError(f"inconsistent weight size, expected {C} but got {list(weight.shape)}")
    if t.numel() and (int(t._data.min()) < 0 or int(t._data.max()) >= C):
        raise RuntimeError("target out of range")
    xy = x.gather(1, t.unsqueeze(1))
    m = (x - xy + margin).clamp(min=0)
    if p == 2:
        m = m * m
    if weight is not None:
        m = m * weight[t].unsqueeze(1)
    not_target = ember._tensor.wrap((np.arange(C)[None, :] != t._data[:, None]).astype(x.dtype.np))
    loss = (m * not_target).sum(1) / C
    if input.dim() < 2 and reduction == "none":
        loss = loss.reshape(())
    return _apply_reduction(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over target classes j and non-target classes k of max(0, 1 - (x_j - x_k)) / C; the targets of each
    row are the indices before its first -1."""
    reduction = _reduction(reduction, size_average, reduce)
    x = input if input.dim() == 2 else input.reshape(1, -1)
    t = target._data.reshape(x.shape)
    N, C = x.shape
    before_end = np.cumsum(t < 0, axis=1) == 0
    is_tgt = np.zeros((N, C), dtype=bool)
    rows = np.broadcast_to(np.arange(N)[:, None], (N, C))
    is_tgt[rows[before_end], t[before_end]] = True
    pair = ember._tensor.wrap((is_tgt[:, :, None] & ~is_tgt[:, None, :]).astype(x.dtype.np))
    diff = (1 - (x.unsqueeze(2) - x.unsqueeze(1))).clamp(min=0)
    loss = (diff * pair).sum((1, 2)) / C
    if input.dim() < 2 and reduction == "none":
        loss = loss.reshape(())
    return _apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """mean over classes of -(y log sigmoid(x) + (1 - y) log sigmoid(-x))."""
    reduction = _reduction(reduction, size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    C = input.shape[input.dim() - 1]
    loss = loss.sum(input.dim() - 1) / C
    return _apply_reduction(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1."""
    reduction = _reduction(reduction, size_average, reduce)
    zeros = input * 0
    margin_clamp = (margin - input).clamp(min=0)
    loss = ember.where(target != 1, margin_clamp, zeros) + ember.where(target != -1, input, zeros)
    return _apply_reduction(loss, reduction)


_EPSILON = 1e-12


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    reduction = _reduction(reduction, size_average, reduce)
    d = input1.dim()
    if d != input2.dim():
        raise RuntimeError(f"cosine_embedding_loss : input1 and input2 should have the same number of "
                           f"dimensions, but got {d} and {input2.dim()} respectively")
    if d not in (1, 2):
        raise RuntimeError(f"cosine_embedding_loss : 1D or 2D input expected, got {d}D")
    if target.dim() != d - 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    td = d - 1
    prod = (input1 * input2).sum(td)
    m1 = (input1 * input1).sum(td) + _EPSILON
    m2 = (input2 * input2).sum(td) + _EPSILON
    cos = prod / (m1 * m2).sqrt()
    zeros = cos * 0
    pos = 1 - cos
    neg = (cos - margin).clamp(min=0)
    loss = ember.where(target == 1, pos, zeros) + ember.where(target == -1, neg, zeros)
    return _apply_reduction(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -y (x1 - x2) + margin)."""
    reduction = _reduction(reduction, size_average, reduce)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    return _apply_reduction(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with d the p-norm pairwise distance (``swap``: also d(p, n))."""
    reduction = _reduction(reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.dim(), positive.dim(), negative.dim()
    if not (a_dim == p_dim == n_dim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a_dim}D, positive {p_dim}D, and negative {n_dim}D "
                           f"inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ember.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = (margin + d_pos - d_neg).clamp(min=0)
    return _apply_reduction(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) for any distance function d (default: pairwise_distance)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.dim(), positive.dim(), negative.dim()
    if not (a_dim == p_dim == n_dim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a_dim}D, positive {p_dim}D, and negative {n_dim}D "
                           f"inputs")
    d = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = d(anchor, positive), d(anchor, negative)
    if swap:
        d_neg = ember.minimum(d_neg, d(positive, negative))
    return _apply_reduction((margin + d_pos - d_neg).clamp(min=0), reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log var + (x - y)^2 / var) (+ 0.5 log 2 pi when ``full``); var is clamped at eps (no grad)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ember.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.dim() == var.dim() and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # clamp without letting the clamp into the graph (torch does var.clamp_ under no_grad on a clone)
    floor = ember._tensor.wrap((np.maximum(var._data, eps) - var._data).astype(var._data.dtype))
    var = var + floor
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """exp(x) - y x (log_input) or x - y log(x + eps); ``full`` adds the Stirling term for y > 1."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        t = ember.where(target > 1, target, ember.ones_like(target))  # the term is 0 for t <= 1: avoid log 0
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + ember.where(target > 1, stirling, ember.zeros_like(stirling))
    return _apply_reduction(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-y x))."""
    reduction = _reduction(reduction, size_average, reduce)
    loss = softplus(-target * input)
    return _apply_reduction(loss, reduction)


def _int_list(x, name):
    if isinstance(x, ember.Tensor):
        return np.asarray(x._data, dtype=np.int64).reshape(-1)
    return np.asarray(x, dtype=np.int64).reshape(-1)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist temporal classification loss of log_probs (T, N, C) (or (T, C) unbatched) against
    targets given padded (N, S) or concatenated (sum of target_lengths,). 'mean' divides each sample's loss
    by its target length, then averages over the batch."""
    reduction = _reduction(reduction)
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    T, N, C = lp.shape
    Tn, Sn = _int_list(input_lengths, "input_lengths"), _int_list(target_lengths, "target_lengths")
    if Tn.size != N or Sn.size != N:
        raise RuntimeError(f"Expected input_lengths and target_lengths to have {N} elements, got {Tn.size} and "
                           f"{Sn.size}")
    if N and Tn.max() > T:
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value {int(Tn.max())} "
                           "(while checking arguments for ctc_loss_allocate_outputs)")
    t = np.asarray(targets._data, dtype=np.int64)
    if not batched:
        t = t.reshape(1, -1)
    if t.ndim == 1:                                             # concatenated targets -> padded (N, S)
        S = int(Sn.max()) if N else 0
        starts = np.concatenate(([0], np.cumsum(Sn)[:-1]))
        idx = starts[:, None] + np.arange(S)[None, :]
        ok = np.arange(S)[None, :] < Sn[:, None]
        t = np.where(ok, t[np.where(ok, idx, 0)] if t.size else 0, blank)
    elif N and t.shape[1] < Sn.max():
        raise RuntimeError(f"Expected tensor to have size at least {int(Sn.max())} at dimension 1, but got size "
                           f"{t.shape[1]} for argument #2 'targets' (while checking arguments for "
                           "ctc_loss_allocate_outputs)")
    loss = _ops.CtcLoss.apply(lp, t, Tn, Sn, int(blank), bool(zero_infinity))
    if not batched:
        loss = loss.reshape(())
    if reduction == "mean":
        denom = ember._tensor.wrap(np.maximum(Sn, 1).astype(lp.dtype.np).reshape(loss.shape))
        return (loss / denom).mean()
    return loss.sum() if reduction == "sum" else loss


# conv, pooling, padding, resampling, fold and attention: one module each in _functional/, re-exported here
from ._functional.conv import *  # noqa: E402,F401,F403
from ._functional.pooling import *  # noqa: E402,F401,F403
from ._functional.padding import *  # noqa: E402,F401,F403
from ._functional.resampling import *  # noqa: E402,F401,F403
from ._functional.fold import *  # noqa: E402,F401,F403
from ._functional.attention import *  # noqa: E402,F401,F403
from ._functional import attention as _f_attention, conv as _f_conv, fold as _f_fold  # noqa: E402
from ._functional import padding as _f_padding, pooling as _f_pooling, resampling as _f_resampling  # noqa: E402

__all__ += (_f_conv.__all__ + _f_pooling.__all__ + _f_padding.__all__ + _f_resampling.__all__ + _f_fold.__all__
            + _f_attention.__all__)
