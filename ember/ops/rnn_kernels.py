"""Compiled (Numba) time-step kernels for the fused LSTM and GRU of ``ops/rnn.py``.

One LSTM step is one matrix product (h_{t-1} W_hh^T, done by BLAS) followed by gate arithmetic on a small
(N, 4H) block: add the step's input projection, three sigmoids and two tanhs, the cell update, the output.
In NumPy that arithmetic is about fifteen calls per step, each a full pass over the block plus Python's
call overhead -- for a 2-layer LSTM over 35 steps, forward and backward, some 2,000 calls whose cost
matches the matrix products themselves. Here a step's gate arithmetic is one call that takes each row of
the block (a few KiB, in L1 cache) through all of it: the block is read from memory once and its results
written once. The backward step (BPTT through the gates and the cell) is one call the same way, and so
are the GRU's.

The math is ``ops/nn_kernels.py``'s: its vectorisable float32 ``_exp`` and ``_sigmoid`` and its
floating-point flags (``_EXACT``: fused multiply-adds allowed, no reassociation). tanh is written here,
accurate near 0 where the shortcut 2 sigmoid(2x) - 1 would lose relative precision to cancellation:
Cephes ``tanhf``'s odd polynomial for |x| < 0.625, 1 - 2 / (e^{2|x|} + 1) beyond (both branches are
computed and one selected, so the loop vectorises). ``tests/test_nn_rnn.py`` holds these kernels to the
NumPy path of ``ops/rnn.py`` (``EMBER_JIT=0``), values and gradients.

Loaded lazily (``ember._jit``) the first time a big enough float32 sequence asks; float64 (gradcheck)
and small sequences run the NumPy path.
"""
import numpy as np

from .nn_kernels import ONE, ZERO, _helper, _jit, _sigmoid, _exp

_f = np.float32
_T0, _T1, _T2 = _f(-5.70498872745e-3), _f(2.06390887954e-2), _f(-5.37397155531e-2)
_T3, _T4 = _f(1.33314422036e-1), _f(-3.33332819422e-1)
_SMALL, _TWO = _f(0.625), _f(2.0)


@_helper
def _tanh(x):
    """tanh(x) in float32 (within 2 ulp): a polynomial near 0, 1 - 2 / (e^{2|x|} + 1) beyond; NaN stays NaN."""
    ax = abs(x)
    big = ONE - _TWO / (_exp(_TWO * ax) + ONE)          # e^{2|x|} = inf gives exactly 1
    big = big if x >= ZERO else -big
    z = x * x
    small = ((((_T0 * z + _T1) * z + _T2) * z + _T3) * z + _T4) * z * x + x
    return small if ax < _SMALL else big


# Each loop below writes one array. Numba cannot promise LLVM that the arrays do not overlap, so LLVM
# vectorises a loop only after a run-time overlap check, and gives up when a loop writes several arrays:
# measured on one (20, 1024) step, the forward as one loop ran 187 us, as these loops 21 us. A row (a few
# KiB) stays in L1 between the loops. Loops run over range(H) with the offset in the index: a loop over
# range(2 * H, 3 * H) was not vectorised either.
@_jit
def lstm_forward_step(g, x, c_prev, a, c, tc, y):
    """One LSTM step after the recurrent product ``g`` = W_hh h_{t-1}^T (4H, N): writes the activations
    sig(i), sig(f), tanh(g), sig(o) of g^T + x (``x`` the step's projected input) into ``a`` (N, 4H), and
    c = f c_prev + i g, tc = tanh(c) and y = h_t = o tc (each (N, H)). (``g`` comes transposed because
    OpenBLAS writes W h^T faster than h W^T: 140 vs 230 us for N = 20, H = 256, one thread; the first
    loop transposes it while it adds x, the block being in cache.)"""
    N, H = c.shape
    for n in range(N):
        an, xn, cp, cn, tn, yn = a[n], x[n], c_prev[n], c[n], tc[n], y[n]
        for j in range(4 * H):
            an[j] = g[j, n] + xn[j]
        for j in range(2 * H):
            an[j] = _sigmoid(an[j])
        for j in range(H):
            an[2 * H + j] = _tanh(an[2 * H + j])
        for j in range(H):
            an[3 * H + j] = _sigmoid(an[3 * H + j])
        for j in range(H):
            cn[j] = an[H + j] * cp[j] + an[j] * an[2 * H + j]
        for j in range(H):
            tn[j] = _tanh(cn[j])
        for j in range(H):
            yn[j] = an[3 * H + j] * tn[j]


@_jit
def lstm_backward_step(dh, gy, a, tc, c_prev, dc, da):
    """One step of BPTT through the gates. In: ``dh`` (N, H) the gradient reaching h_t from later steps
    (overwritten: the caller then puts dh_{t-1} = da W_hh there), ``gy`` the gradient of the output y_t,
    the forward's activations ``a`` and tanh(c_t) ``tc``, c_{t-1} ``c_prev``, and ``dc`` the gradient
    reaching c_t from c_{t+1}. Writes the gradient of the pre-activations into ``da`` (N, 4H) and replaces
    ``dc`` with the gradient of c_{t-1}. With d = dh + gy and dc_t = dc + d o (1 - tc^2):
        da_i = dc_t g i (1 - i),  da_f = dc_t c_prev f (1 - f),  da_g = dc_t i (1 - g^2),  da_o = d tc o (1 - o),
    and dc_{t-1} = dc_t f."""
    N, H = dh.shape
    for n in range(N):
        dhn, gyn, an, tn, cp, dcn, dan = dh[n], gy[n], a[n], tc[n], c_prev[n], dc[n], da[n]
        for j in range(H):
            dhn[j] += gyn[j]
        for j in range(H):
            o = an[3 * H + j]
            dan[3 * H + j] = dhn[j] * tn[j] * (o * (ONE - o))
        for j in range(H):
            o, t = an[3 * H + j], tn[j]
            dcn[j] += dhn[j] * o * (ONE - t * t)
        for j in range(H):
            i = an[j]
            dan[j] = dcn[j] * an[2 * H + j] * (i * (ONE - i))
        for j in range(H):
            f = an[H + j]
            dan[H + j] = dcn[j] * cp[j] * (f * (ONE - f))
        for j in range(H):
            g = an[2 * H + j]
            dan[2 * H + j] = dcn[j] * an[j] * (ONE - g * g)
        for j in range(H):
            dcn[j] *= an[H + j]


@_jit
def gru_forward_step(g, b, x, h, gates, hn, y):
    """One GRU step after the recurrent product ``g`` = W_hh h_{t-1}^T (3H, N) (transposed, as for the
    LSTM): with b = b_hh (zeros without bias) and ``x`` the step's projected input, writes the gates r, z, n
    into ``gates`` (N, 3H), hn = W_hn h + b_hn (kept for the backward) and y = h_t = n + z (h_{t-1} - n)."""
    N, H = y.shape
    for k in range(N):
        xk, hk, gk, hnk, yk = x[k], h[k], gates[k], hn[k], y[k]
        for j in range(3 * H):
            gk[j] = g[j, k] + b[j]                      # the row of h W_hh^T + b_hh, transposed into place
        for j in range(H):
            hnk[j] = gk[2 * H + j]
        for j in range(2 * H):
            gk[j] = _sigmoid(xk[j] + gk[j])
        for j in range(H):
            gk[2 * H + j] = _tanh(gk[j] * hnk[j] + xk[2 * H + j])
        for j in range(H):
            n = gk[2 * H + j]
            yk[j] = (hk[j] - n) * gk[H + j] + n


@_jit
def gru_backward_step(dhz, mm, gy, gates, hn, h_prev, dx, dgh):
    """One step of BPTT through a GRU step. The gradient reaching h_t is d = dhz + mm + gy: ``dhz`` the
    direct path z_{t+1} dh_{t+1}, ``mm`` the path through the next step's recurrent product, ``gy`` the
    output's gradient. Writes the pre-activation gradients of the input side ``dx`` (N, 3H) and of the
    recurrent side ``dgh`` (N, 3H), and leaves d z in ``dhz``; the caller adds dgh W_hh as the next ``mm``:
        dn = d (1 - z)(1 - n^2),  dz = d (h_prev - n) z (1 - z),  dr = dn hn r (1 - r),
        dx = (dr, dz, dn),  dgh = (dr, dz, dn r)."""
    N, H = dhz.shape
    for k in range(N):
        dk, mk, gyk, gk, hnk, hp, dxk, dgk = dhz[k], mm[k], gy[k], gates[k], hn[k], h_prev[k], dx[k], dgh[k]
        for j in range(H):
            dk[j] += mk[j] + gyk[j]
        for j in range(H):
            n = gk[2 * H + j]
            dxk[2 * H + j] = dk[j] * (ONE - gk[H + j]) * (ONE - n * n)
        for j in range(H):
            z = gk[H + j]
            dxk[H + j] = dk[j] * (hp[j] - gk[2 * H + j]) * (z * (ONE - z))
        for j in range(H):
            r = gk[j]
            dxk[j] = dxk[2 * H + j] * hnk[j] * (r * (ONE - r))
        for j in range(2 * H):
            dgk[j] = dxk[j]
        for j in range(H):
            dgk[2 * H + j] = dxk[2 * H + j] * gk[j]
        for j in range(H):
            dk[j] *= gk[H + j]
