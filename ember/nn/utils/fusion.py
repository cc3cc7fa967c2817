"""Fold an eval-mode BatchNorm into the convolution or linear layer before it: one layer, same outputs.

In eval mode BatchNorm is affine per channel: y = γ (x - μ) / √(σ² + ε) + β = s·x + (β - s·μ), with
s = γ / √(σ² + ε). Applied after ``W x + b`` this gives the single layer

    W' = s · W   (each output channel scaled),    b' = s · (b - μ) + β.
"""
import copy

import ember

from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _scale_and_bias(b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, dtype):
    """s = γ / √(σ² + ε) and b' = s · (b - μ) + β (γ = 1, β = 0, b = 0 when absent)."""
    s = ember.rsqrt(bn_rv + bn_eps)
    if bn_w is not None:
        s = s * bn_w
    b = ember.zeros_like(bn_rm) if b is None else b
    fused_b = (b - bn_rm) * s
    if bn_b is not None:
        fused_b = fused_b + bn_b
    return s, fused_b.to(dtype)


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """(W', b') as Parameters for a conv followed by a BatchNorm with the given statistics.

    The output channels are dim 0 of a conv weight, dim 1 of a transposed conv's (``transpose=True``).
    """
    s, fused_b = _scale_and_bias(conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, conv_w.dtype)
    shape = [1] * conv_w.ndim
    shape[1 if transpose else 0] = -1
    fused_w = (conv_w * s.reshape(shape)).to(conv_w.dtype)
    return (Parameter(fused_w.detach(), conv_w.requires_grad),
            Parameter(fused_b.detach(), conv_b.requires_grad if conv_b is not None else conv_w.requires_grad))


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A new conv (a deep copy of ``conv``) computing ``bn(conv(x))``. Both must be in eval mode."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """(W', b') as Parameters for a Linear followed by a BatchNorm1d with the given statistics."""
    s, fused_b = _scale_and_bias(linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, linear_w.dtype)
    fused_w = (linear_w * s.unsqueeze(-1)).to(linear_w.dtype)
    return (Parameter(fused_w.detach(), linear_w.requires_grad),
            Parameter(fused_b.detach(), linear_b.requires_grad if linear_b is not None else linear_w.requires_grad))


def fuse_linear_bn_eval(linear, bn):
    """A new Linear (a deep copy of ``linear``) computing ``bn(linear(x))``. Both must be in eval mode."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if not (linear.out_features == bn.num_features or bn.num_features == 1):
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused
