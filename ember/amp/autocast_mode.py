"""Automatic mixed precision: ``torch.autocast`` (torch.amp.autocast_mode).

Inside ``with ember.autocast("cpu", dtype=ember.bfloat16):`` some ops run in the lower precision and
some are kept in float32, whatever dtype their inputs have -- the same lists as torch's CPU autocast:

* **lower precision** (matrix products, where the speed is): matmul/mm/bmm, addmm (``linear``),
  convolutions, scaled-dot-product attention. Their float32 inputs are cast to bfloat16 (or
  float16) first, so the result is low precision.
* **float32** (numerically touchy: losses that sum many terms, exponentials of logits): mse_loss,
  cross_entropy, nll_loss, binary_cross_entropy(_with_logits), smooth_l1/huber, ctc_loss.
  Low-precision inputs are cast up to float32.
* everything else runs in whatever dtype it is given (a ReLU of bfloat16 stays bfloat16).

How: ``Function.apply`` (the one door into computation) asks this module, when autocast is on, to
recast the arguments of Functions on the lists. The casts are ordinary differentiable ``.to(dtype)``
calls, so backward takes the gradients back through them: parameters stay float32 and their
``.grad`` is float32. Backward itself runs without autocast (each op's backward uses the dtypes its
forward saw), as in torch. float64 tensors are never cast.
"""
import functools
import threading
import warnings

from ..autograd import function as _function

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

_DEVICES = ("cpu", "cuda")
_SUPPORTED = ("bfloat16", "float16")


class _State(threading.local):
    """Per thread, as in torch: for each device type, whether autocast is on and its dtype."""

    def __init__(self):
        from ..dtypes import bfloat16, float16
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": bfloat16, "cuda": float16}
        self.cache_enabled = True


_state = _State()


def _lists():
    """Function class -> policy ("lower" or "fp32"); built on first use (the ops import lazily)."""
    from ..ops import attention, conv, linalg, nn
    lower = [linalg.MatMul, linalg.Mm, linalg.Bmm, linalg.Dot, linalg.Mv, linalg.VecMat, linalg.UnsafeMatMul,
             linalg.Addmm, conv.Convolution, attention.ScaledDotProductAttention]
    fp32 = [nn.MseLoss, nn.CrossEntropy, nn.NllLoss, nn.BinaryCrossEntropy, nn.BinaryCrossEntropyWithLogits,
            nn.SmoothL1Loss, nn.HuberLoss, nn.CtcLoss]
    return {**{c: "lower" for c in lower}, **{c: "fp32" for c in fp32}}


_POLICY = None


def _cast_args(cls, args):
    """The arguments ``cls.apply`` gets under autocast: cast per the op's policy, else unchanged."""
    global _POLICY
    if _POLICY is None:
        _POLICY = _lists()
    policy = _POLICY.get(cls)
    if policy is None:
        return args
    from .._tensor import Tensor
    from ..dtypes import float32
    device = next((a.device.type for a in args if isinstance(a, Tensor)), "cpu")
    if not _state.enabled.get(device, False):
        return args
    target = _state.dtype[device] if policy == "lower" else float32
    return tuple(a.to(target) if isinstance(a, Tensor) and a.dtype.is_floating_point and a.dtype.name != "float64"
                 and a.dtype is not target else a for a in args)


def _install():
    """Point ``Function.apply`` at the casting hook while any device has autocast on."""
    _function._autocast = _cast_args if any(_state.enabled.values()) else None


def is_autocast_available(device_type):
    """Whether autocast can run on ``device_type`` ('cpu', and 'cuda' where CuPy sees a GPU)."""
    return device_type in _DEVICES


class autocast:
    r"""Context manager (and decorator) that runs a region in mixed precision.

    Args:
        device_type (str): ``'cpu'`` or ``'cuda'``: the device whose ops are autocast.
        dtype: the lower precision (default: ``get_autocast_dtype(device_type)``, bfloat16 on CPU,
            float16 on CUDA).
        enabled (bool): False turns autocast off inside the region (nested regions restore it).
        cache_enabled (bool): accepted (torch caches casted weights; Ember casts each time).

    ``autocast("cuda")`` without a GPU warns and does nothing, as torch does.
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        from ..dtypes import to_dtype
        self.device = device_type
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else to_dtype(dtype)
        self._cache_enabled = _state.cache_enabled if cache_enabled is None else cache_enabled
        if enabled and device_type == "cuda":
            from .. import cuda
            if not cuda.is_available():
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", stacklevel=2)
                enabled = False
        if enabled and self.fast_dtype.name not in _SUPPORTED:
            name = device_type.upper()
            warnings.warn(f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                          f"{name} Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                          stacklevel=2)
            enabled = False
        self._enabled = enabled

    def __enter__(self):
        self.prev = (_state.enabled[self.device], _state.dtype[self.device], _state.cache_enabled)
        _state.enabled[self.device] = self._enabled
        _state.dtype[self.device] = self.fast_dtype
        _state.cache_enabled = self._cache_enabled
        _install()
        return self

    def __exit__(self, *exc):
        _state.enabled[self.device], _state.dtype[self.device], _state.cache_enabled = self.prev
        _install()
        return False

    def __call__(self, func):
        """As a decorator: run every call of ``func`` inside this autocast region."""
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


# ------------------------------------------------------------------ torch.* state functions
def _device(device_type):
    if device_type not in _DEVICES:
        raise RuntimeError(f"unsupported autocast device_type '{device_type}'")
    return device_type


def is_autocast_enabled(device_type=None):
    """Whether autocast is on for ``device_type`` (no argument: CUDA's, as torch)."""
    return _state.enabled[_device(device_type or "cuda")]


def set_autocast_enabled(device_type, enabled=None):
    """``set_autocast_enabled(enabled)`` (CUDA) or ``set_autocast_enabled(device_type, enabled)``."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _state.enabled[_device(device_type)] = bool(enabled)
    _install()


def get_autocast_dtype(device_type):
    """The lower-precision dtype autocast uses on ``device_type`` (bfloat16 on CPU, float16 on CUDA)."""
    return _state.dtype[_device(device_type)]


def set_autocast_dtype(device_type, dtype):
    from ..dtypes import to_dtype
    _state.dtype[_device(device_type)] = to_dtype(dtype)


def is_autocast_cpu_enabled():
    return _state.enabled["cpu"]


def get_autocast_cpu_dtype():
    return _state.dtype["cpu"]


def get_autocast_gpu_dtype():
    return _state.dtype["cuda"]


def is_autocast_cache_enabled():
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled):
    _state.cache_enabled = bool(enabled)


def clear_autocast_cache():
    """torch drops its cache of casted weights here; Ember keeps none."""


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom ``Function.forward``: with ``cast_inputs``, floating tensors are cast to it
    and autocast is off inside; without, the forward runs under the surrounding autocast state."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._fwd_used_autocast = _state.enabled[device_type]
        args[0]._dtype = _state.dtype[device_type]
        if cast_inputs is None or not _state.enabled[device_type]:
            return fwd(*args, **kwargs)
        from .._tensor import Tensor

        def cast(v):
            return v.to(cast_inputs) if isinstance(v, Tensor) and v.dtype.is_floating_point else v
        with autocast(device_type=device_type, enabled=False):
            return fwd(*[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom ``Function.backward``: runs it under the autocast state its forward saw."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=getattr(ctx, "_fwd_used_autocast", False),
                      dtype=getattr(ctx, "_dtype", None)):
            return bwd(*args, **kwargs)
    return decorate_bwd
