"""Matrix products: matmul (with batch broadcasting), mm, bmm, addmm, einsum, outer/dot.

The one rule behind them all: for C = A @ B,  dA = dC @ Bᵀ  and  dB = Aᵀ @ dC.
Batch dimensions that were broadcast are summed back by the engine.
"""
import numpy as np

from ..autograd.function import Function
from ._util import wrap, array_module
from ..dtypes import result_type


def _mm_check(a, b, name):
    sa, sb = a.shape, b.shape
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    ka = sa[-1]
    kb = sb[-2] if b.ndim > 1 else sb[0]
    if ka != kb:
        if a.ndim <= 2 and b.ndim <= 2:
            if a.ndim == 1 and b.ndim == 1:
                raise RuntimeError(f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to have the "
                                   "same number of elements, but got " f"{ka} and {kb} elements respectively")
            ra = f"{sa[0]}x{sa[1]}" if a.ndim == 2 else f"1x{sa[0]}"
            rb = f"{sb[0]}x{sb[1]}" if b.ndim == 2 else f"{sb[0]}x1"
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({ra} and {rb})")
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{sa[0] if a.ndim > 2 else 1}, "
                           f"{ka}] but got: [{sb[0] if b.ndim > 2 else 1}, {kb}].")


def _dtypes(a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != {b.dtype.name}"
                           if a._data.ndim <= 2 else
                           f"expected scalar type {a.dtype.scalar_name} but found {b.dtype.scalar_name}")


class MatMul(Function):
    """a @ b:  da = g @ bᵀ,  db = aᵀ @ g   (1-D operands get a temporary size-1 axis)"""
    _grad_fn_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _mm_check(a._data, b._data, "matmul")
        _dtypes(a, b)
        ctx.save_for_backward(a, b)
        return a._data @ b._data

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a1, b1 = a.ndim == 1, b.ndim == 1
        A = a.unsqueeze(0) if a1 else a
        B = b.unsqueeze(-1) if b1 else b
        G = g
        if a1:
            G = G.unsqueeze(-2)
        if b1:
            G = G.unsqueeze(-1)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = G @ B.mT
            if a1:
                ga = ga.squeeze(-2)
        if ctx.needs_input_grad[1]:
            gb = A.mT @ G
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
    if na <= 2 and nb == 2:
        return Mm.apply(a, b)
    if na == 3 and nb == 3 and a._data.shape[0] == b._data.shape[0]:
        return Bmm.apply(a, b)
    return UnsafeMatMul.apply(a, b)


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
        out = a._data @ b._data
        if alpha != 1:
            out *= alpha
        cd = c._data
        if beta == 0:
            return out
        if beta != 1:
            cd = cd * beta
        if cd.shape == out.shape or np.broadcast_shapes(cd.shape, out.shape) == out.shape:
            out += cd
            return out
        raise RuntimeError(f"The expanded size of the tensor ({out.shape[-1]}) must match the existing size "
                           f"({cd.shape[-1]}) at non-singleton dimension 1.  Target sizes: {list(out.shape)}.  "
                           f"Tensor sizes: {list(cd.shape)}")

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = gc = None
        if ctx.needs_input_grad[0]:
            gc = g if ctx.beta == 1 else g * ctx.beta
        if ctx.needs_input_grad[1]:
            ga = g @ b.mT
            if ctx.alpha != 1:
                ga = ga * ctx.alpha
        if ctx.needs_input_grad[2]:
            gb = a.mT @ g
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
    """einsum(eq, *ops):  d/d(op_i) = einsum of g with the other operands, into op_i's subscripts"""
    _grad_fn_name = "EinsumBackward0"  # torch decomposes einsum; one node keeps it readable here

    @staticmethod
    def forward(ctx, eq, *ops):
        ins, rhs = _parse_einsum(eq, len(ops))
        ctx.ins, ctx.rhs = ins, rhs
        ctx.save_for_backward(*ops)
        arrs = [o._data for o in ops]
        dt = result_type(*ops).np
        arrs = [x.astype(dt, copy=False) for x in arrs]
        return array_module(arrs[0]).einsum(f"{','.join(ins)}->{rhs}", *arrs, optimize=len(arrs) > 2)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads = [None]
        for i, op in enumerate(ops):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [o for j, o in enumerate(ops) if j != i]
            subs = [ctx.rhs] + [s for j, s in enumerate(ctx.ins) if j != i]
            target = ctx.ins[i]
            # letters of op_i that appear nowhere else were summed away: broadcast them back
            avail = set("".join(subs))
            missing = [c for c in target if c not in avail and c != "."]
            tgt = "".join(c for c in target if c not in missing)
            gi = Einsum.apply(f"{','.join(subs)}->{tgt}", g, *others)
            if missing:
                for pos, c in enumerate(target):
                    if c in missing:
                        gi = gi.unsqueeze(pos)
                gi = gi.expand(op.shape)
            grads.append(gi)
        return tuple(grads)
