"""Matrix products: matmul (with batch broadcasting), mm, bmm, addmm, einsum, outer/dot.

The one rule behind them all: for C = A @ B,  dA = dC @ Bᵀ  and  dB = Aᵀ @ dC.
Batch dimensions that were broadcast are summed back by the engine.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ._util import wrap, array_module
from .movement import expanded_shape
from ..dtypes import result_type


def _mm_check(a, b, name):
    """Raise torch's error (and message) when the inner sizes of a matrix product disagree."""
    sa, sb = a.shape, b.shape
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    ka = sa[-1]
    kb = sb[-2] if b.ndim > 1 else sb[0]
    if ka == kb:
        return
    if a.ndim == 1 and b.ndim == 1:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to have the same number "
                           f"of elements, but got {ka} and {kb} elements respectively")
    if b.ndim == 1 or (a.ndim >= 3 and b.ndim == 2) or (a.ndim <= 2 and b.ndim == 2):
        rows = int(np.prod(sa[:-1])) if a.ndim > 1 else 1  # torch folds leading dims of a into rows
        if b.ndim == 1:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{ka}), vec ({kb})")
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{ka} and {sb[0]}x{sb[1]})")
    batch = int(np.prod(np.broadcast_shapes(tuple(sa[:-2]), tuple(sb[:-2]))))
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {ka}] but got: "
                       f"[{batch}, {kb}].")


_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _dtypes(a, b):
    if a._data.dtype != b._data.dtype:
        if a._data.ndim == 1 and b._data.ndim == 1:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {a.dtype.scalar_name} and "
                               f"{b.dtype.scalar_name}")
        if a._data.ndim <= 2 and b._data.ndim <= 2:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_C_NAMES[a.dtype.name]} != "
                               f"{_C_NAMES[b.dtype.name]}")
        raise RuntimeError(f"expected scalar type {a.dtype.scalar_name} but found {b.dtype.scalar_name}")


def _round_to(out, like):
    """NumPy has no bfloat16 matrix kernels: ``@`` on ml_dtypes bfloat16 arrays accumulates in float32
    and returns float32. torch's CPU kernels do the same and round once to bfloat16; so do we."""
    return out.astype(like.dtype) if out.dtype != like.dtype else out


def _mm(x, y):
    """x @ y, in the memory orientation BLAS is fastest in (NumPy float arrays; same product, same result).

    A product of few rows by a wide transposed view -- Linear's x @ W.T on a small batch -- runs as
    (W @ x.T).T and one copy back: OpenBLAS's kernel for that orientation is faster there, as in torch,
    which computes W x^T in column-major (batch 64, 784 -> 512: 0.36 vs 0.40 ms; batch 16: 0.10 vs 0.18)."""
    if x.__class__ is not np.ndarray or y.__class__ is not np.ndarray or x.dtype.kind != "f":
        return x @ y
    if x.ndim == 2 and y.ndim == 2:
        if x.flags.c_contiguous and y.flags.f_contiguous and not y.flags.c_contiguous and x.shape[0] <= 128 \
                and y.shape[1] >= 4 * x.shape[0]:
            return np.ascontiguousarray((y.T @ x.T).T)
    elif y.ndim > 2 and y.strides[-1] != y.itemsize and y.shape[-1] > 1 and \
            x.shape[-2] * y.shape[-2] * y.shape[-1] <= 1 << 18:
        # stacked small products whose right operand is a transposed view (attention's q @ k.transpose(-2, -1),
        # and its backward's g @ v.mT): NumPy's batched loop is slow on those, a row-major copy is not (64
        # products of 64x32 by 32x64: 0.26 ms as they are, 0.20 with the copy)
        y = np.ascontiguousarray(y)
    return x @ y


def _grad_like(at, g, b):
    """at @ g, the gradient of matrix ``b``, laid out as ``b`` is. For ``x @ W.t()`` (Linear) b is a
    transposed view, so the product is computed as (g.T @ a).T: after the transpose back, W's gradient is a
    plain C-contiguous array the engine can hand to ``W.grad`` without a copy (same product, same cost)."""
    bd = b._data
    if bd.ndim == 2 and bd.flags.f_contiguous and not bd.flags.c_contiguous and g.dim() == 2:
        return (g.mT @ at.mT).mT
    return at @ g


def _raw_mm_grads(g, a, b, need_a, need_b):
    """(da, db) of a real product a @ b of matrices or stacks of them, straight on the arrays -- for the usual
    backward, which builds no graph (``STATE.enabled`` off), so Tensor ops there would only add a Function
    call per transpose and product. Broadcast batch axes are summed back by the engine. None where this
    does not apply (the Tensor route then runs: double backward, vectors, complex, mixed dtypes)."""
    G, A, B = g._data, a._data, b._data
    if A.ndim < 2 or B.ndim < 2 or G.dtype.kind != "f" or not G.dtype == A.dtype == B.dtype:
        return None
    ga = gb = None
    with np.errstate(over="ignore", invalid="ignore"):
        if A.ndim > 2 and B.ndim == 2:   # folded as in forward: one GEMM over all rows for each gradient
            G2 = G.reshape(-1, G.shape[-1])
            if need_a:
                ga = wrap(_mm(G2, B.T).reshape(A.shape))
            G, A = G2, A.reshape(-1, A.shape[-1])
        elif need_a:
            ga = wrap(_mm(G, B.swapaxes(-1, -2)))
        if need_b:   # laid out as b, as _grad_like does it (W.t()'s gradient comes out as W's layout)
            if B.ndim == 2 and A.ndim == 2 and B.flags.f_contiguous and not B.flags.c_contiguous:
                gb = wrap(_mm(G.T, A).T)
            else:
                gb = wrap(_mm(A.swapaxes(-1, -2), G))
    return ga, gb


class MatMul(Function):
    """a @ b:  da = g @ bᵀ,  db = aᵀ @ g   (1-D operands get a temporary size-1 axis)"""
    _grad_fn_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _mm_check(a._data, b._data, "matmul")
        _dtypes(a, b)
        ctx.save_for_backward(a, b)
        x, y = a._data, b._data
        with np.errstate(over="ignore", invalid="ignore"):  # inf/nan results, silently, as in torch
            if x.ndim > 2 and y.ndim == 2:   # (..., M, K) @ (K, N): one GEMM over all rows, as torch folds it
                return _round_to(_mm(x.reshape(-1, x.shape[-1]), y).reshape(x.shape[:-1] + y.shape[-1:]), x)
            return _round_to(_mm(x, y), x)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        raw = None if STATE.enabled else _raw_mm_grads(g, a, b, *ctx.needs_input_grad)
        if raw is not None:
            return raw
        if a.ndim > 2 and b.ndim == 2 and not a.is_complex():
            # folded as in forward: da = g @ bᵀ (one GEMM), db = a₂ᵀ @ g₂ over all rows at once (not one
            # product per batch entry summed afterwards)
            ga = g @ b.mT if ctx.needs_input_grad[0] else None
            gb = _grad_like(a.reshape(-1, a.shape[-1]).mT, g.reshape(-1, g.shape[-1]), b) \
                if ctx.needs_input_grad[1] else None
            return ga, gb
        a1, b1 = a.ndim == 1, b.ndim == 1
        A = a.unsqueeze(0) if a1 else a
        B = b.unsqueeze(-1) if b1 else b
        if a1 and b1:  # dot product: the gradient is 0-d
            G = g.reshape(1, 1)
        elif a1:
            G = g.unsqueeze(-2)
        elif b1:
            G = g.unsqueeze(-1)
        else:
            G = g
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = G @ (B.mH if B.is_complex() else B.mT)
            if a1:
                ga = ga.squeeze(-2)
        if ctx.needs_input_grad[1]:
            gb = (A.mH if A.is_complex() else A.mT) @ G if A.is_complex() or B.dim() != 2 else _grad_like(A.mT, G, B)
            if b1:
                gb = gb.squeeze(-1)
        return ga, gb


class Mm(MatMul):
    _grad_fn_name = "MmBackward0"


class Bmm(MatMul):
    _grad_fn_name = "BmmBackward0"


class Dot(MatMul):
    _grad_fn_name = "DotBackward0"


class Mv(MatMul):
    _grad_fn_name = "MvBackward0"


class VecMat(MatMul):
    """vector @ matrix (torch computes it as mm on an unsqueezed vector, then squeezes)"""
    _grad_fn_name = "SqueezeBackward4"


class UnsafeMatMul(MatMul):
    """matmul of batched/broadcast operands (torch records it as a reshape around mm)"""
    _grad_fn_name = "UnsafeViewBackward0"


def matmul(a, b):
    """torch.matmul dispatch: picks the node torch would record (Dot, Mv, Mm, Bmm, ...)."""
    na, nb = a._data.ndim, b._data.ndim
    if na == 1 and nb == 1:
        return Dot.apply(a, b)
    if na == 2 and nb == 1:
        return Mv.apply(a, b)
    if na == 1 and nb == 2:
        return VecMat.apply(a, b)
    if na == 2 and nb == 2:
        return Mm.apply(a, b)
    return UnsafeMatMul.apply(a, b)  # batched: torch runs bmm on folded views and records the final view


class Addmm(Function):
    """beta*c + alpha*(a @ b):  dc = beta*g,  da = alpha*g @ bᵀ,  db = alpha*aᵀ @ g"""
    _grad_fn_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, c, a, b, beta=1, alpha=1):
        if a._data.ndim != 2 or b._data.ndim != 2:
            raise RuntimeError(f"mat1 must be a matrix, got {a._data.ndim}-D tensor" if a._data.ndim != 2 else
                               f"mat2 must be a matrix, got {b._data.ndim}-D tensor")
        _mm_check(a._data, b._data, "addmm")
        _dtypes(a, b)
        ctx.save_for_backward(a, b)
        ctx.beta, ctx.alpha = beta, alpha
        cd = c._data
        shape = (a._data.shape[0], b._data.shape[1])
        if not (cd.shape == shape or (cd.ndim == 1 and cd.shape[0] == shape[1])):  # (the usual bias shapes)
            expanded_shape(cd.shape, shape)        # (raises torch's error where c does not broadcast)
        with np.errstate(over="ignore", invalid="ignore"):  # inf/nan results, silently, as in torch
            out = _mm(a._data, b._data)
            if alpha != 1:
                out *= alpha
            if beta == 0:
                return _round_to(out, a._data)
            if cd.dtype.kind == "V":  # bfloat16: beta * c joins the float32 product, one rounding at the end
                cd = cd.astype(out.dtype)
            if beta != 1:
                cd = cd * beta
            out += cd
        return _round_to(out, a._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = gc = None
        if ctx.needs_input_grad[0]:
            gc = g if ctx.beta == 1 else g * ctx.beta
        raw = None if STATE.enabled or ctx.alpha != 1 else _raw_mm_grads(g, a, b, *ctx.needs_input_grad[1:3])
        if raw is not None:
            return (gc,) + raw + (None, None)
        if ctx.needs_input_grad[1]:
            ga = g @ b.mT
            if ctx.alpha != 1:
                ga = ga * ctx.alpha
        if ctx.needs_input_grad[2]:
            gb = _grad_like(a.mT, g, b)
            if ctx.alpha != 1:
                gb = gb * ctx.alpha
        return gc, ga, gb, None, None


def _parse_einsum(eq, n):
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs = eq
        letters = lhs.replace(",", "").replace("...", "")
        rhs = ("..." if "..." in lhs else "") + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != n:
        raise RuntimeError(f"einsum(): more operands were provided than specified in the equation"
                           if n > len(ins) else "einsum(): fewer operands were provided than specified in the equation")
    return ins, rhs


class Einsum(Function):
    """einsum(eq, *ops):  d/d(op_i) = einsum of g with the (conjugated) other operands, into op_i's subscripts"""
    _grad_fn_name = "EinsumBackward0"  # torch decomposes einsum; one node keeps it readable here

    @staticmethod
    def forward(ctx, eq, *ops):
        ins, rhs = _parse_einsum(eq, len(ops))
        ctx.ins, ctx.rhs = ins, rhs
        ctx.save_for_backward(*ops)
        arrs = [o._data for o in ops]
        dt = result_type(*ops).np
        arrs = [x.astype(dt, copy=False) for x in arrs]
        return _round_to(array_module(arrs[0]).einsum(f"{','.join(ins)}->{rhs}", *arrs, optimize=len(arrs) > 2),
                         arrs[0])

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads = [None]
        for i, op in enumerate(ops):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [o for j, o in enumerate(ops) if j != i]
            if any(o.is_complex() for o in others):  # complex operands: g times conj of the others
                from .complex import conj
                others = [conj(o) for o in others]
            subs = [ctx.rhs] + [s for j, s in enumerate(ctx.ins) if j != i]
            target = ctx.ins[i]
            # letters of op_i that appear nowhere else were summed away: broadcast them back
            avail = set("".join(subs))
            missing = [c for c in target if c not in avail and c != "."]
            if "." not in target and len(set(target)) < len(target):
                grads.append(_repeated_grad(g, subs, others, target, missing, op.shape))
                continue
            tgt = "".join(c for c in target if c not in missing)
            gi = Einsum.apply(f"{','.join(subs)}->{tgt}", g, *others)
            if missing:
                for pos, c in enumerate(target):
                    if c in missing:
                        gi = gi.unsqueeze(pos)
                gi = gi.expand(op.shape)
            grads.append(gi)
        return tuple(grads)


def _repeated_grad(g, subs, others, target, missing, shape):
    """Gradient of an operand written with a repeated letter (``ii->i``: a diagonal is read).

    Compute it over the distinct letters, then scatter it back onto that diagonal of a zero tensor."""
    from .movement import IndexGrad
    u = "".join(dict.fromkeys(target))  # distinct letters, in order
    gu = Einsum.apply(f"{','.join(subs)}->{''.join(c for c in u if c not in missing)}", g, *others)
    for pos, c in enumerate(u):
        if c in missing:
            gu = gu.unsqueeze(pos)
    sizes = [shape[target.index(c)] for c in u]
    gu = gu.expand(sizes)
    key = tuple(np.arange(sizes[u.index(c)]).reshape([-1 if k == u.index(c) else 1 for k in range(len(u))])
                for c in target)
    return IndexGrad.apply(gu, tuple(shape), key)
