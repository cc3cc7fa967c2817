"""Argument helpers shared by the spatial functionals: torch accepts ``kernel_size=3`` or ``(3, 3)``, an
unbatched ``(C, H, W)`` or a batched ``(N, C, H, W)`` input, and names shapes and dtypes in its errors in a
fixed way.  These few functions do that normalising once, for conv, pooling, unfold and attention.
"""
from ..._tensor import Tensor


def _ntuple(v, n, name="argument"):
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        v = tuple(int(a) for a in v)
        if len(v) == 1 and n > 1:
            return v * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values "
                               f"to match the convolution dimensions, but got {name}={list(v)}")
        return v
    return (int(v),) * n


def _cname(dtype):
    """torch's C++ name of a dtype, as its error messages print it (float, double, long ...)."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool"}.get(dtype.name, dtype.name)


def _shape_str(t):
    return "[" + ", ".join(str(s) for s in t.shape) + "]"


def _batchify(x, nd, opname):
    """Accept (C, *sp) or (N, C, *sp); return the batched tensor and whether to squeeze after."""
    if x.dim() == nd + 1:
        return x.unsqueeze(0), True
    if x.dim() == nd + 2:
        return x, False
    raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {opname}, "
                       f"but got input of size: {_shape_str(x)}")
