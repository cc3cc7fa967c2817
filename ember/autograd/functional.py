"""``torch.autograd.functional``: Jacobians, Hessians and their products for a function of tensors.

The older interface to what ``ember.func`` does (and built on it): ``inputs`` is a tensor or a tuple of
tensors, ``v`` matches the outputs (vjp) or the inputs (jvp, hvp, vhp), and results are detached unless
``create_graph=True``.
"""
from .._tensor import Tensor
from .. import func as _func

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _tup(x):
    return (x, False) if isinstance(x, tuple) else ((x,), True)


def _untup(x, single):
    return x[0] if single else tuple(x)


def _keep(x, create_graph):
    if isinstance(x, tuple):
        return tuple(_keep(v, create_graph) for v in x)
    return x if create_graph or not isinstance(x, Tensor) else x.detach()


def _ones_for(out):
    if out.numel() != 1:
        raise RuntimeError("The vector v can only be None if the user-provided function returns a single Tensor "
                           "with a single element.")
    return out.detach() * 0 + 1


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J)."""
    ins, single = _tup(inputs)
    out, fn = _func.vjp(func, *ins)
    if v is None:
        v = _ones_for(out)
    grads = fn(v)
    return _keep(out, create_graph), _keep(_untup(grads, single), create_graph)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v)."""
    ins, single = _tup(inputs)
    if v is None:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        v = ins[0].detach() * 0 + 1
    vs, _ = _tup(v)
    out, jv = _func.jvp(func, ins, vs)
    return _keep(out, create_graph), _keep(jv, create_graph)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(inputs) / d inputs: shape out.shape + in.shape (tuples of them for tuple inputs/outputs)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                         'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                         'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:  # torch's own restriction, same words
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                  "only implemented for `vectorize=True`.")
    ins, single = _tup(inputs)
    transform = _func.jacrev if strategy == "reverse-mode" else _func.jacfwd
    argnums = 0 if single else tuple(range(len(ins)))
    jac = transform(func, argnums)(*ins)
    return _keep(jac, create_graph)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """Second derivatives of a scalar function: in.shape + in.shape (nested tuples for tuple inputs)."""
    ins, single = _tup(inputs)
    argnums = 0 if single else tuple(range(len(ins)))

    def scalar(*xs):
        out = func(*xs)
        if not (isinstance(out, Tensor) and out.numel() == 1):
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element.")
        return out.reshape(())
    h = _func.jacfwd(_func.jacrev(scalar, argnums), argnums)(*ins)
    return _keep(h, create_graph)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar func."""
    ins, single = _tup(inputs)
    vs, _ = _tup(v)
    argnums = 0 if single else tuple(range(len(ins)))
    out = func(*ins)
    _, hv = _func.jvp(_func.grad(func, argnums), ins, vs)
    return _keep(out, create_graph), _keep(hv, create_graph)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar func."""
    ins, single = _tup(inputs)
    argnums = 0 if single else tuple(range(len(ins)))
    out = func(*ins)
    _, fn = _func.vjp(_func.grad(func, argnums), *ins)
    res = fn(v)
    return _keep(out, create_graph), _keep(_untup(res, single), create_graph)
