"""torch.backends.cuda: CUDA math switches. ``matmul.allow_tf32`` is the same setting as
``torch.set_float32_matmul_precision`` ('highest' means no TF32), as in torch."""
from .. import _settings
import importlib as _il

_device_mod = _il.import_module("ember.device")  # the module (ember.device is the class)

__all__ = ["is_built", "matmul", "flash_sdp_enabled", "enable_flash_sdp", "mem_efficient_sdp_enabled",
           "enable_mem_efficient_sdp", "math_sdp_enabled", "enable_math_sdp"]


def is_built():
    """True when Ember can use CUDA at all: CuPy is installed."""
    return _device_mod.cupy is not None


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: precision switches for float32/16 matrix products."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self):
        return _settings.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value):
        _settings.set_float32_matmul_precision("high" if value else "highest")


matmul = _MatmulFlags()

# scaled_dot_product_attention back-ends: Ember has one (the math one); the switches are kept as set
_sdp = {"flash": True, "mem_efficient": True, "math": True}


def flash_sdp_enabled():
    return _sdp["flash"]


def enable_flash_sdp(enabled):
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled):
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled():
    return _sdp["math"]


def enable_math_sdp(enabled):
    _sdp["math"] = bool(enabled)
