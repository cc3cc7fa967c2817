"""Winograd convolution F(2x2, 3x3): a 3x3, stride-1 convolution with 2.25x fewer multiplications.

im2col turns a convolution into one matrix product, but every output pixel still costs C * 9 multiply-adds
per filter. Winograd's minimal filtering algorithm computes a 2x2 block of outputs from a 4x4 input tile with
16 multiplications instead of 36, by moving tile and filter into a transformed domain where the convolution
becomes an element-wise product (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):

    Y = A^T [ (G g G^T) * (B^T d B) ] A        d: 4x4 input tile, g: 3x3 filter, Y: 2x2 outputs

    B^T = [[1, 0, -1,  0],      G = [[ 1,    0,   0 ],      A^T = [[1, 1,  1,  0],
           [0, 1,  1,  0],           [ 1/2, 1/2, 1/2],             [0, 1, -1, -1]]
           [0, -1, 1,  0],           [ 1/2,-1/2, 1/2],
           [0, 1,  0, -1]]           [ 0,    0,   1 ]]

Summed over input channels, the element-wise product is, for each of the 16 transformed positions xi, a
matrix product: M_xi (O, P) = U_xi (O, C) @ V_xi (C, P) over all P tiles of the batch -- 16 GEMMs with
C-long inner products instead of one with 9C. The transforms are a few additions over the data (B and A
hold only 0 and +-1), done with strided NumPy views, no Python loop over tiles.

The weight gradient follows from the same algebra (the map g -> Y is linear):
    dU_xi = dM_xi @ V_xi^T   with dM = A dY A^T per tile,   then   dg = G^T dU G
and the input gradient of a stride-1 convolution is itself a stride-1 convolution (ops/conv.py), so all
three GEMM-heavy steps of a 3x3 layer take this path. The algebra is exact; in float32 the transforms add
rounding of the order of 1e-7 relative to the output's scale.
"""
import numpy as np

from .._jit import LazyKernels
from .._parallel import split_work

__all__ = ["usable", "conv3x3", "conv3x3_weight_grad"]

_kernels = LazyKernels("ember.ops.winograd_kernels")   # the compiled transforms (ops/winograd_kernels.py)

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def usable(x, w_shape, stride, dilation, groups, pads):
    """Whether a convolution of NumPy ``x`` with weights of ``w_shape`` should go this way: 2-d, 3x3,
    stride 1, no dilation, one group, float32, and the compiled transforms available (NumPy's strided passes
    cost more than they save). Measured on one core against im2col (ResNet-18 shapes, batch 32): 1.6x faster
    at 64 channels on 32x32 images, 1.3x at 256 on 8x8; slower below 32 channels (the 16 GEMMs get too
    small) and with under 256 tiles (4x4 images: transforming 512x512 filters costs more than it saves)."""
    if not (x.__class__ is np.ndarray and x.dtype == np.float32 and len(w_shape) == 4 and x.ndim == 4
            and tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)
            and groups == 1 and min(w_shape[0], w_shape[1]) >= 32):
        return False
    _, _, th, tw = _tiles(x.shape[2], x.shape[3], pads)
    return x.shape[0] * th * tw >= 256 and _kernels(x.size) is not None


def _tiles(H, W, pads):
    """Output size and the number of 2x2 output tiles along each axis."""
    OH = H + pads[0][0] + pads[0][1] - 2
    OW = W + pads[1][0] + pads[1][1] - 2
    return OH, OW, -(-OH // 2), -(-OW // 2)


def _input_transform(x, pads, th, tw, K=None):
    """V (4, 4, C, N*th*tw): B^T d B for every 4x4 tile (stride 2) of the zero-padded input (compiled with
    ``K``, else strided NumPy passes)."""
    N, C, H, W = x.shape
    Hp, Wp = 2 * th + 2, 2 * tw + 2
    xp = np.zeros((N, C, Hp, Wp), x.dtype)
    top, left = pads[0][0], pads[1][0]
    h_end, w_end = min(H, Hp - top), min(W, Wp - left)
    xp[:, :, top:top + h_end, left:left + w_end] = x[:, :, :h_end, :w_end]
    if K is not None:
        v = np.empty((16, C, N * th * tw), x.dtype)
        split_work(N * C, lambda lo, hi: K.input_transform(xp, v, th, tw, lo, hi), v.size)
        return v.reshape(4, 4, C, -1)
    r = [xp[:, :, k:k + 2 * th:2] for k in range(4)]                  # (N, C, th, Wp) each
    t = np.empty((4, N, C, th, Wp), x.dtype)                          # rows: B^T d
    np.subtract(r[0], r[2], out=t[0])
    np.add(r[1], r[2], out=t[1])
    np.subtract(r[2], r[1], out=t[2])
    np.subtract(r[1], r[3], out=t[3])
    v = np.empty((4, 4, C, N, th, tw), x.dtype)                        # columns: (B^T d) B, laid out (C, P)
    for a in range(4):
        c = [t[a][..., k:k + 2 * tw:2] for k in range(4)]             # (N, C, th, tw) each
        out = v[a].transpose(0, 2, 1, 3, 4)                           # (4, N, C, th, tw) views
        np.subtract(c[0], c[2], out=out[0])
        np.add(c[1], c[2], out=out[1])
        np.subtract(c[2], c[1], out=out[2])
        np.subtract(c[1], c[3], out=out[3])
    return v.reshape(4, 4, C, N * th * tw)


def _output_transform(m, N, O, th, tw, OH, OW, K=None):
    """y (N, O, OH, OW) from M (4, 4, O, N*th*tw): A^T m A per tile, tiles put back in place."""
    if K is not None:
        y = np.empty((N, O, OH, OW), m.dtype)
        m16 = m.reshape(16, O, -1)
        split_work(N * O, lambda lo, hi: K.output_transform(m16, y, th, tw, lo, hi), m.size)
        return y
    m = m.reshape(4, 4, O, N, th, tw)
    z = np.empty((2, 4, O, N, th, tw), m.dtype)                       # rows: A^T m
    np.add(m[0], m[1], out=z[0])
    z[0] += m[2]
    np.subtract(m[1], m[2], out=z[1])
    z[1] -= m[3]
    y = np.empty((N, O, th, 2, tw, 2), m.dtype)
    for i in range(2):                                                 # columns: (A^T m) A
        yi = y[:, :, :, i].transpose(4, 1, 0, 2, 3)                   # (2, O, N, th, tw) views
        zi = z[i]
        np.add(zi[0], zi[1], out=yi[0])
        yi[0] += zi[2]
        np.subtract(zi[1], zi[2], out=yi[1])
        yi[1] -= zi[3]
    y = y.reshape(N, O, 2 * th, 2 * tw)
    return y if (2 * th, 2 * tw) == (OH, OW) else np.ascontiguousarray(y[:, :, :OH, :OW])


def _combine(M, parts):
    """The rows of the small matrix ``M`` applied to a list of arrays: [sum_i M[k, i] parts[i] for each k]
    (zero coefficients skipped). The filter transforms are a handful of these over (O, C) slices."""
    out = []
    for row in M:
        acc = None
        for coef, part in zip(row, parts):
            if coef != 0:
                term = part if coef == 1 else part * coef
                acc = term if acc is None else acc + term
        out.append(acc)
    return out


def _weights(w):
    """U = G g G^T for every filter: (4, 4, O, C), computed in float64, returned in w's dtype."""
    g = w.transpose(2, 3, 0, 1).astype(np.float64)                     # (3, 3, O, C), contiguous slices
    u = np.empty((4, 4) + w.shape[:2], w.dtype)
    for a, row in enumerate(_combine(_G, [g[i] for i in range(3)])):              # G g: (3, O, C) each
        for b, val in enumerate(_combine(_G, [row[j] for j in range(3)])):        # (G g) G^T
            u[a, b] = val
    return u


def _weights_back(du, dtype):
    """dg = G^T dU G: (O, C, 3, 3) from dU (4, 4, O, C)."""
    d = du.astype(np.float64)
    out = np.empty((3, 3) + du.shape[2:], dtype)
    for i, row in enumerate(_combine(_G.T, [d[a] for a in range(4)])):            # G^T dU: (4, O, C) each
        for j, val in enumerate(_combine(_G.T, [row[b] for b in range(4)])):      # (G^T dU) G
            out[i, j] = val
    return np.ascontiguousarray(out.transpose(2, 3, 0, 1))


def conv3x3(x, w, pads):
    """conv2d(x, w) for 3x3 weights at stride 1 with ``pads`` ((top, bottom), (left, right))."""
    N, C, H, W = x.shape
    O = w.shape[0]
    K = _kernels(x.size) if x.dtype == np.float32 else None
    OH, OW, th, tw = _tiles(H, W, pads)
    v = _input_transform(x, pads, th, tw, K)
    u = _weights(w)
    if O < 128:                                   # 16 GEMMs: (O, C) @ (C, P)
        m = np.matmul(u.reshape(16, O, C), v.reshape(16, C, -1))
        return _output_transform(m, N, O, th, tw, OH, OW, K)
    # with 128 channels and more, transposed: M^T (P, O) = V^T (P, C) @ U^T (C, O), the layout BLAS runs
    # faster here, and an output transform reading it tile by tile (ResNet-18 at batch 32, two cores:
    # 256 channels on 8x8, 22 -> 19 ms a convolution; at 64 channels the plain layout wins, 20 vs 24 ms)
    mt = np.matmul(v.reshape(16, C, -1).transpose(0, 2, 1), u.reshape(16, O, C).transpose(0, 2, 1))
    if K is not None:
        y = np.empty((N, O, OH, OW), x.dtype)
        split_work(N * th, lambda lo, hi: K.output_transform_t(mt, y, th, tw, lo, hi), mt.size)
        return y
    return _output_transform(mt.transpose(0, 2, 1), N, O, th, tw, OH, OW)


def _grad_output_transform(gy, th, tw, K):
    """dM (4, 4, O, P) = A dY A^T for every 2x2 block of the output gradient (zero past its edge)."""
    N, O, OH, OW = gy.shape
    if K is not None:
        dm = np.empty((16, O, N * th * tw), gy.dtype)
        gy = np.ascontiguousarray(gy)
        split_work(N * O, lambda lo, hi: K.grad_output_transform(gy, dm, th, tw, lo, hi), dm.size)
        return dm.reshape(4, 4, O, -1)
    g = np.zeros((N, O, th, 2, tw, 2), gy.dtype)
    g.reshape(N, O, 2 * th, 2 * tw)[:, :, :OH, :OW] = gy
    g00, g01, g10, g11 = (g[:, :, :, i, :, j].transpose(1, 0, 2, 3) for i in (0, 1) for j in (0, 1))  # (O,N,th,tw)
    # A = [[1, 0], [1, 1], [1, -1], [0, -1]]: first along columns (r0, r1 are the block's two rows combined
    # for column b), then along rows
    dm = np.empty((4, 4, O, N, th, tw), gy.dtype)
    for b, (r0, r1) in enumerate(((g00, g10), (g00 + g01, g10 + g11), (g00 - g01, g10 - g11), (-g01, -g11))):
        dm[0, b] = r0
        np.add(r0, r1, out=dm[1, b])
        np.subtract(r0, r1, out=dm[2, b])
        np.negative(r1, out=dm[3, b])
    return dm.reshape(4, 4, O, -1)


def conv3x3_weight_grad(x, gy, pads):
    """dW (O, C, 3, 3) of conv3x3(x, W) for the output gradient ``gy``: dU = (A dY A^T) @ V^T, dW = G^T dU G."""
    N, C, H, W = x.shape
    O = gy.shape[1]
    K = _kernels(x.size) if x.dtype == np.float32 else None
    OH, OW, th, tw = _tiles(H, W, pads)
    v = _input_transform(x, pads, th, tw, K)                           # recomputed, not kept from forward
    dm = _grad_output_transform(gy, th, tw, K)
    du = np.matmul(dm.reshape(16, O, -1), v.reshape(16, C, -1).transpose(0, 2, 1))   # (16, O, C)
    return _weights_back(du.reshape(4, 4, O, C), x.dtype)
