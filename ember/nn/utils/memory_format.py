"""Re-lay the weights of convolutions in a given memory format (e.g. ``channels_last``, NHWC).

Only the weights' physical layout changes, never their shape or values: a layer whose weight is
channels-last can pick a channels-last kernel. Unlike ``model.to(memory_format=...)``, nothing but the
convolution weights is touched.
"""
from ..conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, kinds, memory_format):
    for m in module.modules():
        if isinstance(m, kinds):
            m.weight.data = m.weight.detach().clone(memory_format=memory_format)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """Give every ``Conv2d``/``ConvTranspose2d`` weight in ``module`` (itself included) ``memory_format``.
    Returns ``module``."""
    return _convert(module, (Conv2d, ConvTranspose2d), memory_format)


def convert_conv3d_weight_memory_format(module, memory_format):
    """Give every ``Conv3d``/``ConvTranspose3d`` weight in ``module`` (itself included) ``memory_format``.
    Returns ``module``."""
    return _convert(module, (Conv3d, ConvTranspose3d), memory_format)
