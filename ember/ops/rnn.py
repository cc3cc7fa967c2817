"""Fused recurrent layers: a whole sequence of LSTM or GRU steps as ONE Function.

Unrolled with Tensor ops, each time step of an LSTM makes ~10 graph nodes and as many small arrays;
for a 2-layer LSTM over 35 steps that is ~700 nodes whose Python overhead dwarfs the math. Here the
input projection for every step is one matmul done before (``xw``), and the recurrence runs as a loop of
array operations inside ``forward``, keeping what backward needs (the gates, the cell states). Backward
runs the loop in reverse (backpropagation through time) and computes the recurrent weight's gradient
as one matmul over all steps at the end.

Gate order and formulas are torch's:
    LSTM: a = xw_t + h W_hh^T;  i, f, g, o = sig(a_i), sig(a_f), tanh(a_g), sig(a_o)
          c_t = f c_{t-1} + i g;   h_t = o tanh(c_t)
    GRU:  gh = h W_hh^T + b_hh;  r = sig(xw_r + gh_r), z = sig(xw_z + gh_z), n = tanh(xw_n + r gh_n)
          h_t = (1 - z) n + z h_{t-1}

With ``create_graph=True`` (a gradient of the gradient) backward re-runs the same steps as ordinary
Tensor ops and differentiates those, so higher-order gradients stay exact.

For big float32 sequences each step is two calls: the recurrent GEMM, and one compiled kernel for all of
the step's gate arithmetic (``ops/rnn_kernels.py``; NumPy below is the reference, used for float64, small
sequences and ``EMBER_JIT=0``). The forward GEMM is then computed as W_hh h^T, the layout OpenBLAS writes
fastest for a small batch, and the kernel transposes it as it reads.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from .._jit import float32_kernels, rnn_kernels
from ._util import array_module, wrap

__all__ = ["LSTMSequence", "GRUSequence"]


def _sigmoid(xp, a, out):
    """out = 1 / (1 + exp(-a)) in place, without overflow warnings for large |a|."""
    with np.errstate(over="ignore"):
        xp.negative(a, out=out)
        xp.exp(out, out=out)
        out += 1
        xp.reciprocal(out, out=out)
    return out


def _steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _lstm_reference(xw, h, c, w_hh, reverse):
    """The same recurrence with Tensor ops (for double backward)."""
    import ember
    ys = [None] * xw.shape[0]
    for t in _steps(xw.shape[0], reverse):
        i, f, g, o = ember.addmm(xw[t], h, w_hh.t()).chunk(4, dim=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        ys[t] = h
    return ember.stack(ys, 0), h, c


def _gru_reference(xw, h, w_hh, b_hh, reverse):
    import ember
    from ..nn import functional as F
    ys = [None] * xw.shape[0]
    for t in _steps(xw.shape[0], reverse):
        xr, xz, xn = xw[t].chunk(3, dim=-1)
        hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        h = (1 - z) * (xn + r * hn).tanh() + z * h
        ys[t] = h
    return ember.stack(ys, 0), h


def _double_backward(ctx, reference, grads):
    """Differentiate the Tensor-op version of the layer (used when backward itself is recorded)."""
    import ember
    inputs = list(ctx.saved_tensors)  # the real inputs: the new graph must lead back to them
    live = [t for t in inputs if t is not None and t.requires_grad]
    outs = reference(*inputs, ctx.reverse)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    got = iter(ember.autograd.grad([o for o, _ in pairs], live, [g for _, g in pairs], create_graph=True,
                                   allow_unused=True))
    return tuple(next(got) if t is not None and t.requires_grad else None for t in inputs)


class LSTMSequence(Function):
    """(ys, h_T, c_T) = LSTM over all steps, from the projected inputs ``xw`` (T, N, 4H), the initial
    state (h0, c0) and the recurrent weight W_hh (4H, H).  Backward: BPTT, see the module docstring."""
    _grad_fn_name = "LSTMBackward0"

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, reverse):
        X, W = xw._data, w_hh._data
        xp = array_module(X)
        T, N, H4 = X.shape
        H = H4 // 4
        K = float32_kernels(X, rnn_kernels)                      # compiled steps (ops/rnn_kernels.py) or None
        acts = xp.empty_like(X)                                  # sig(i), sig(f), tanh(g), sig(o) per step
        cs = xp.empty((T, N, H), dtype=X.dtype)
        tcs = xp.empty((T, N, H), dtype=X.dtype)                 # tanh(c_t)
        ys = xp.empty((T, N, H), dtype=X.dtype)
        h, c = h0._data, c0._data
        wt = W.T
        if K is not None:
            X, c = xp.ascontiguousarray(X), xp.ascontiguousarray(c)
            gT = xp.empty((H4, N), dtype=X.dtype)                # W_hh h^T: the layout BLAS writes fastest
            for t in _steps(T, reverse):
                xp.matmul(W, h.T, out=gT)
                K.lstm_forward_step(gT, X[t], c, acts[t], cs[t], tcs[t], ys[t])
                h, c = ys[t], cs[t]
        else:
            for t in _steps(T, reverse):
                a = acts[t]
                xp.matmul(h, wt, out=a)
                a += X[t]
                _sigmoid(xp, a[:, :2 * H], a[:, :2 * H])
                xp.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
                _sigmoid(xp, a[:, 3 * H:], a[:, 3 * H:])
                i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                ct = cs[t]
                xp.multiply(f, c, out=ct)
                ct += i * g
                xp.tanh(ct, out=tcs[t])
                xp.multiply(o, tcs[t], out=ys[t])
                h, c = ys[t], ct
        ctx.arrays = (acts, cs, tcs, ys)
        ctx.reverse, ctx.kernels = reverse, K
        ctx.save_for_backward(xw, h0, c0, w_hh)
        return ys, h.copy(), c.copy()

    @staticmethod
    def backward(ctx, gys, gh, gc):
        if is_grad_enabled():
            return _double_backward(ctx, _lstm_reference, (gys, gh, gc)) + (None,)
        xw, h0, c0, w_hh = ctx.saved_tensors
        acts, cs, tcs, ys = ctx.arrays
        W = w_hh._data
        xp = array_module(W)
        T, N, H4 = acts.shape
        H = H4 // 4
        K = ctx.kernels
        GY = gys._data
        dA = xp.empty_like(acts)
        dh = gh._data.astype(acts.dtype, order="C", copy=True)
        dc = gc._data.astype(acts.dtype, order="C", copy=True)
        order = list(_steps(T, ctx.reverse))
        if K is not None:
            GY, c0d = xp.ascontiguousarray(GY, dtype=acts.dtype), xp.ascontiguousarray(c0._data)
            for k in range(T - 1, -1, -1):
                t = order[k]
                K.lstm_backward_step(dh, GY[t], acts[t], tcs[t], cs[order[k - 1]] if k > 0 else c0d, dc, dA[t])
                xp.matmul(dA[t], W, out=dh)
        else:
            for k in range(T - 1, -1, -1):
                t = order[k]
                prev_c = cs[order[k - 1]] if k > 0 else c0._data
                a = acts[t]
                i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                dh += GY[t]
                tc = tcs[t]
                da = dA[t]
                xp.multiply(dh, tc, out=da[:, 3 * H:])                # do
                da[:, 3 * H:] *= o * (1 - o)
                dc += dh * o * (1 - tc * tc)
                xp.multiply(dc, g, out=da[:, :H])                      # di
                da[:, :H] *= i * (1 - i)
                xp.multiply(dc, prev_c, out=da[:, H:2 * H])           # df
                da[:, H:2 * H] *= f * (1 - f)
                xp.multiply(dc, i, out=da[:, 2 * H:3 * H])            # dg
                da[:, 2 * H:3 * H] *= 1 - g * g
                dc *= f
                dh = da @ W
        # dW_hh = sum_t dA_t^T h_{t-1}: the previous hidden states of all steps, in one product
        prev = xp.empty_like(ys)
        for k, t in enumerate(order):
            prev[t] = ys[order[k - 1]] if k > 0 else h0._data
        gw = dA.reshape(T * N, H4).T @ prev.reshape(T * N, H)
        return wrap(dA), wrap(dh), wrap(dc), wrap(gw), None


class GRUSequence(Function):
    """(ys, h_T) = GRU over all steps, from ``xw`` = x W_ih^T + b_ih (T, N, 3H), h0, W_hh (3H, H) and
    b_hh (3H,) or None.  Backward: BPTT, see the module docstring."""
    _grad_fn_name = "GRUBackward0"

    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, reverse):
        X, W = xw._data, w_hh._data
        xp = array_module(X)
        T, N, H3 = X.shape
        H = H3 // 3
        gates = xp.empty_like(X)                                 # r, z, n per step
        hns = xp.empty((T, N, H), dtype=X.dtype)                 # W_hn h + b_hn (before r)
        ys = xp.empty((T, N, H), dtype=X.dtype)
        gh = xp.empty((N, H3), dtype=X.dtype)
        h = h0._data
        wt = W.T
        K = float32_kernels(X, rnn_kernels)                      # compiled steps (ops/rnn_kernels.py) or None
        if K is not None:
            X, h = xp.ascontiguousarray(X), xp.ascontiguousarray(h)
            b = xp.zeros(H3, X.dtype) if b_hh is None else xp.ascontiguousarray(b_hh._data, dtype=X.dtype)
            gT = xp.empty((H3, N), dtype=X.dtype)                # W_hh h^T: the layout BLAS writes fastest
            for t in _steps(T, reverse):
                xp.matmul(W, h.T, out=gT)
                K.gru_forward_step(gT, b, X[t], h, gates[t], hns[t], ys[t])
                h = ys[t]
        else:
            for t in _steps(T, reverse):
                xp.matmul(h, wt, out=gh)
                if b_hh is not None:
                    gh += b_hh._data
                g = gates[t]
                xp.add(X[t, :, :2 * H], gh[:, :2 * H], out=g[:, :2 * H])
                _sigmoid(xp, g[:, :2 * H], g[:, :2 * H])
                hns[t] = gh[:, 2 * H:]
                n = g[:, 2 * H:]
                xp.multiply(g[:, :H], gh[:, 2 * H:], out=n)
                n += X[t, :, 2 * H:]
                xp.tanh(n, out=n)
                z = g[:, H:2 * H]
                y = ys[t]
                xp.subtract(h, n, out=y)                             # h_t = n + z (h - n)
                y *= z
                y += n
                h = y
        ctx.arrays = (gates, hns, ys)
        ctx.reverse, ctx.kernels = reverse, K
        ctx.save_for_backward(xw, h0, w_hh, b_hh)
        return ys, h.copy()

    @staticmethod
    def backward(ctx, gys, gh):
        if is_grad_enabled():
            return _double_backward(ctx, _gru_reference, (gys, gh)) + (None,)
        xw, h0, w_hh, b_hh = ctx.saved_tensors
        gates, hns, ys = ctx.arrays
        W = w_hh._data
        xp = array_module(W)
        T, N, H3 = gates.shape
        H = H3 // 3
        GY = gys._data
        dX = xp.empty_like(gates)                                # d(pre-activations) on the input side
        dGH = xp.empty_like(gates)                               # ... on the recurrent side
        dh = gh._data.copy()
        order = list(_steps(T, ctx.reverse))
        prev = xp.empty_like(ys)
        for k, t in enumerate(order):
            prev[t] = ys[order[k - 1]] if k > 0 else h0._data
        K = ctx.kernels
        if K is not None:
            GY = xp.ascontiguousarray(GY, dtype=gates.dtype)
            dhz, mm = dh.astype(gates.dtype, order="C"), xp.zeros(dh.shape, gates.dtype)
            for k in range(T - 1, -1, -1):
                t = order[k]
                K.gru_backward_step(dhz, mm, GY[t], gates[t], hns[t], prev[t], dX[t], dGH[t])
                xp.matmul(dGH[t], W, out=mm)
            dh = dhz + mm
        else:
            for k in range(T - 1, -1, -1):
                t = order[k]
                g = gates[t]
                r, z, n = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
                dh += GY[t]
                dn = dh * (1 - z) * (1 - n * n)                      # d(pre-tanh of n)
                dx, dgh = dX[t], dGH[t]
                xp.multiply(dh, prev[t] - n, out=dx[:, H:2 * H])     # dz
                dx[:, H:2 * H] *= z * (1 - z)
                xp.multiply(dn, hns[t], out=dx[:, :H])               # dr
                dx[:, :H] *= r * (1 - r)
                dx[:, 2 * H:] = dn
                dgh[:, :2 * H] = dx[:, :2 * H]
                xp.multiply(dn, r, out=dgh[:, 2 * H:])
                dh = dh * z + dgh @ W
        flat = dGH.reshape(T * N, H3)
        gw = flat.T @ prev.reshape(T * N, H)
        gb = wrap(flat.sum(axis=0)) if b_hh is not None else None
        return wrap(dX), wrap(dh), wrap(gw), gb, None
