"""Fused scaled-dot-product attention, forward and backward side by side.

    S = Q K^T * scale + B          (B: additive mask — 0 / -inf from a bool mask, or a float mask)
    P = softmax(S, dim=-1)         (rows that are entirely masked give P = 0, as torch does)
    D = P * keep / (1 - p)         (dropout; keep ~ Bernoulli(1 - p); D = P without dropout)
    O = D V

Backward (dO given), the chain rule through each line, bottom to top:
    dV = D^T dO
    dD = dO V^T
    dP = dD * keep / (1 - p)
    dS = P * (dP - sum(dP * P, dim=-1))        (softmax's Jacobian-vector product)
    dQ = dS K * scale,   dK = dS^T Q * scale,   dB = dS
Only P (and the dropout mask) are kept from the forward, so nothing of size L x S is recomputed.
"""
from ..autograd import Function
from ..device import array_module
from .._tensor import wrap

__all__ = ["ScaledDotProductAttention", "attention_bias"]


def attention_bias(xp, L, S, attn_mask, is_causal, dtype):
    """The additive bias B as an array broadcastable to (..., L, S), or None."""
    bias = None
    if is_causal:
        keep = xp.tril(xp.ones((L, S), dtype=bool))
        bias = xp.where(keep, xp.zeros((), dtype), xp.asarray(-xp.inf, dtype))
    if attn_mask is not None:
        m = attn_mask._data
        if m.dtype == bool:
            m = xp.where(m, xp.zeros((), dtype), xp.asarray(-xp.inf, dtype))
        else:
            m = m.astype(dtype, copy=False)
        bias = m if bias is None else bias + m
    return bias


def _softmax_rows(s):
    """Row softmax that maps a row of all -inf to zeros instead of NaN."""
    xp = array_module(s)
    m = s.max(axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros((), s.dtype))
    e = xp.exp(s - m)
    z = e.sum(axis=-1, keepdims=True)
    z = xp.where(z == 0, xp.ones((), s.dtype), z)
    e /= z
    return e


class ScaledDotProductAttention(Function):
    """O = dropout(softmax(Q K^T * scale + B)) V — see the module docstring for the backward."""
    _grad_fn_name = "ScaledDotProductFlashAttentionForCpuBackward0"

    @staticmethod
    def forward(ctx, q, k, v, attn_mask, dropout_p, is_causal, scale, rng):
        Q, K, V = q._data, k._data, v._data
        xp = array_module(Q)
        L, S = Q.shape[-2], K.shape[-2]
        s = Q @ xp.swapaxes(K, -1, -2)
        s *= s.dtype.type(scale)
        bias = attention_bias(xp, L, S, attn_mask, is_causal, Q.dtype)
        if bias is not None:
            s = s + bias
        p = _softmax_rows(s)
        keep = None
        d = p
        if dropout_p > 0.0:
            keep = xp.asarray(rng.random(p.shape, dtype=p.dtype) >= dropout_p)   # drawn on the host
            d = p * keep * p.dtype.type(1.0 / (1.0 - dropout_p))
        ctx.save_for_backward(q, k, v)
        ctx.P, ctx.keep, ctx.bias = p, keep, bias
        ctx.dropout_p, ctx.scale = dropout_p, scale
        ctx.mask_grad = attn_mask is not None and attn_mask._data.dtype != bool
        return d @ V

    @staticmethod
    def backward(ctx, dO):
        q, k, v = ctx.saved_tensors
        P = wrap(ctx.P)
        if _grad_mode_on():
            # double backward: rebuild P from Q, K with Tensor ops so it is differentiable too
            from ..nn import functional as F
            s = q.matmul(k.transpose(-2, -1)) * ctx.scale
            if ctx.bias is not None:
                xp = array_module(ctx.bias)
                dead = xp.isneginf(ctx.bias).all(axis=-1, keepdims=True)      # fully masked rows
                s = s + wrap(xp.where(dead, xp.zeros((), ctx.bias.dtype), ctx.bias))
                P = F.softmax(s, dim=-1) * wrap((~dead).astype(ctx.P.dtype))
            else:
                P = F.softmax(s, dim=-1)
        if ctx.keep is not None:
            keep = wrap(ctx.keep.astype(ctx.P.dtype) * ctx.P.dtype.type(1.0 / (1.0 - ctx.dropout_p)))
            D = P * keep
        else:
            keep, D = None, P
        dV = D.transpose(-2, -1).matmul(dO)
        dP = dO.matmul(v.transpose(-2, -1))
        if keep is not None:
            dP = dP * keep
        dS = P * (dP - (dP * P).sum(dim=-1, keepdim=True))
        dQ = dS.matmul(k) * ctx.scale
        dK = dS.transpose(-2, -1).matmul(q) * ctx.scale
        dB = dS if ctx.mask_grad and ctx.needs_input_grad[3] else None
        return dQ, dK, dV, dB, None, None, None, None


def _grad_mode_on():
    import ember
    return ember.is_grad_enabled()
