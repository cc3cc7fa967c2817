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
import math

import numpy as np

from ..autograd import Function
from ..device import array_module
from .._tensor import wrap
from ._util import float32_inside, float32_inside_backward
from .conv import for_batch_slabs

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
    with np.errstate(over="ignore", invalid="ignore"):  # inf/nan scores give nan, silently, as in torch
        e = xp.exp(s - m)
        z = e.sum(axis=-1, keepdims=True)
        z = xp.where(z == 0, xp.ones((), s.dtype), z)
        e /= z
    return e


class ScaledDotProductAttention(Function):
    """O = dropout(softmax(Q K^T * scale + B)) V — see the module docstring for the backward."""
    _grad_fn_name = "ScaledDotProductFlashAttentionForCpuBackward0"

    @staticmethod
    @float32_inside
    def forward(ctx, q, k, v, attn_mask, dropout_p, is_causal, scale, rng):
        Q, K, V = q._data, k._data, v._data
        xp = array_module(Q)
        L, S = Q.shape[-2], K.shape[-2]
        bias = attention_bias(xp, L, S, attn_mask, is_causal, Q.dtype)
        lead = Q.shape[:-2]
        fits = bias is None or np.broadcast_shapes(bias.shape, lead + (L, S)) == lead + (L, S)
        if Q.ndim >= 3 and K.shape[:-2] == lead and V.shape[:-2] == lead and fits:
            # the (batch x heads) problems are independent: solve slabs of them on all cores
            B = math.prod(lead)
            Qf, Kf, Vf = (a.reshape((B,) + a.shape[-2:]) for a in (Q, K, V))
            bf = bias
            if bias is not None and bias.ndim > 2 and any(d != 1 for d in bias.shape[:-2]):
                bf = xp.broadcast_to(bias, lead + (L, S)).reshape(B, L, S)
            per_sample = bf is not None and bf.ndim == 3 and bf.shape[0] == B
            p = xp.empty((B, L, S), dtype=Q.dtype)
            out = xp.empty((B, L, V.shape[-1]), dtype=Q.dtype) if dropout_p == 0.0 else None

            def work(lo, hi):
                with np.errstate(over="ignore", invalid="ignore"):  # inf/nan scores, silently, as in torch
                    s = Qf[lo:hi] @ xp.swapaxes(Kf[lo:hi], -1, -2)
                    s *= s.dtype.type(scale)
                    if bf is not None:
                        s += bf[lo:hi] if per_sample else bf.reshape(bf.shape[-2:])
                    p[lo:hi] = _softmax_rows(s)
                    if out is not None:
                        xp.matmul(p[lo:hi], Vf[lo:hi], out=out[lo:hi])

            for_batch_slabs(B, work, B * L * S, xp)
            p = p.reshape(lead + (L, S))
            if out is not None:
                out = out.reshape(lead + (L, V.shape[-1]))
        else:
            s = Q @ xp.swapaxes(K, -1, -2)
            s *= s.dtype.type(scale)
            if bias is not None:
                s = s + bias
            p = _softmax_rows(s)
            out = None
        keep = None
        if dropout_p > 0.0:
            # torch's math path: dropout(P) = P * (Bernoulli(1 - p) / (1 - p)), drawn on the host as torch does
            from .._sampling import bernoulli_scalar, to_dtype
            dt = np.dtype(p.dtype)
            drawn = bernoulli_scalar(rng, int(np.prod(p.shape)), 1.0 - dropout_p).reshape(p.shape)
            keep = xp.asarray(drawn.astype(dt) / to_dtype(np.float64(1.0 - dropout_p), dt))   # scaled mask
            out = (p * keep) @ V
        elif out is None:
            out = p @ V
        ctx.save_for_backward(q, k, v)
        ctx.P, ctx.keep, ctx.bias = p, keep, bias
        ctx.dropout_p, ctx.scale = dropout_p, scale
        ctx.mask_grad = attn_mask is not None and attn_mask._data.dtype != bool
        return out

    @staticmethod
    @float32_inside_backward
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
            keep = wrap(ctx.keep)
            D = P * keep
        else:
            keep, D = None, P
        need_q, need_k, need_v, need_b = ctx.needs_input_grad[:4]
        dV = D.transpose(-2, -1).matmul(dO) if need_v else None
        dQ = dK = dB = None
        if need_q or need_k or need_b:
            dP = dO.matmul(v.transpose(-2, -1))
            if keep is not None:
                dP = dP * keep
            dS = P * (dP - (dP * P).sum(dim=-1, keepdim=True))
            dB = dS if ctx.mask_grad and need_b else None
            if need_q or need_k:
                dS = dS * ctx.scale                     # S = scale * Q K^T: one scaling serves dQ and dK
                dQ = dS.matmul(k) if need_q else None
                dK = dS.transpose(-2, -1).matmul(q) if need_k else None
        return dQ, dK, dV, dB, None, None, None, None


def _grad_mode_on():
    import ember
    return ember.is_grad_enabled()
