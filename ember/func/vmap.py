"""``vmap``: map a function over a batch dimension.

Ember's vmap runs the function once per sample — each call sees the inputs with the mapped dimension
indexed away — and stacks the results along ``out_dims``. That is always correct (any Python code, any
other transform inside: ``vmap(grad(f))`` gives per-sample gradients), at the price of one call per
sample; torch instead rewrites each op into a batched one. ``chunk_size`` is accepted (results are the
same); with ``randomness='same'`` every sample sees the same random numbers (the generator state is
restored before each call), with ``'different'`` each call draws its own, and with ``'error'`` (the default)
a function that moves the random generator raises torch's error.
"""
import functools

from .._tensor import Tensor
from .pytree import tree_flatten, tree_unflatten

__all__ = ["vmap"]


def _broadcast_in_dims(in_dims, args):
    """in_dims as one entry per positional argument (an int / None applies to all)."""
    if isinstance(in_dims, int) or in_dims is None:
        return [in_dims] * len(args)
    if not isinstance(in_dims, (tuple, list)):
        raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a (potentially "
                         f"nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if len(in_dims) != len(args):
        raise ValueError(f"vmap(f, in_dims={tuple(in_dims)}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {len(in_dims)} but inputs has structure "
                         f"{len(args)}.")
    return list(in_dims)


def _leaf_dims(arg, d):
    """Per-leaf mapped dims for one argument: d is an int/None for the whole argument or a matching tree."""
    leaves, spec = tree_flatten(arg)
    if d is None or isinstance(d, int):
        return leaves, spec, [d] * len(leaves)
    dims, _ = tree_flatten(d)
    if len(dims) != len(leaves):
        raise ValueError("vmap: in_dims is not compatible with the structure of `inputs`")
    return leaves, spec, dims


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorise ``func`` over dimension ``in_dims`` of its inputs; outputs get the batch at ``out_dims``."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        per_arg = _broadcast_in_dims(in_dims, args)
        flat, specs, dims = [], [], []
        for a, d in zip(args, per_arg):
            lv, sp, ds = _leaf_dims(a, d)
            flat.append(lv)
            specs.append(sp)
            dims.append(ds)
        sizes = []
        for lv, ds in zip(flat, dims):
            for x, d in zip(lv, ds):
                if d is None:
                    continue
                if not isinstance(x, Tensor):
                    raise ValueError(f"vmap(f, in_dims=..., ...)(<inputs>): Got in_dim={d} for an input but the "
                                     f"input is of type {type(x)}. We cannot vmap over non-Tensor arguments, please "
                                     "use None as the respective in_dim")
                if not -x.dim() <= d < max(x.dim(), 1) or x.dim() == 0:
                    raise ValueError(f"vmap(f, in_dims=..., ...)(<inputs>): Got in_dim={d} for some input, but "
                                     f"that input is a Tensor of dimensionality {x.dim()} so expected in_dim to "
                                     f"satisfy -{x.dim()} <= in_dim < {x.dim()}.")
                sizes.append(x.shape[d])
        if not sizes:
            raise ValueError("vmap(f, in_dims=..., ...)(<inputs>): at least one input must be a Tensor with a "
                             "mapped dimension (in_dim is not None)")
        if len(set(sizes)) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        B = sizes[0]
        from ..random import get_rng_state, set_rng_state
        state = get_rng_state() if randomness in ("same", "error") else None
        results = []
        for i in range(B):
            call_args = []
            for lv, sp, ds in zip(flat, specs, dims):
                picked = [x.select(d, i) if d is not None else x for x, d in zip(lv, ds)]
                call_args.append(tree_unflatten(picked, sp))
            if randomness == "same":
                set_rng_state(state)
            results.append(func(*call_args, **kwargs))
            if randomness == "error" and i == 0 and not bool((get_rng_state() == state).all()):
                set_rng_state(state)  # the generator has moved: a random op ran inside the function
                raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use "
                                   "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                                   "operation out of vmap")
        return _stack_results(results, out_dims)
    return wrapper


def _stack_results(results, out_dims):
    from ..functions import stack
    flat0, spec = tree_flatten(results[0])
    columns = [tree_flatten(r)[0] for r in results]
    if isinstance(out_dims, int) or out_dims is None:
        od = [out_dims] * len(flat0)
    else:
        od, _ = tree_flatten(out_dims)
        if len(od) != len(flat0):
            raise ValueError("vmap: out_dims is not compatible with the structure of `outputs`")
    out = []
    for k, d in enumerate(od):
        items = [c[k] for c in columns]
        if d is None:
            out.append(items[0])
            continue
        if not isinstance(items[0], Tensor):
            raise ValueError(f"vmap: `{getattr(results, '__name__', 'f')}` must only return Tensors, got type "
                             f"{type(items[0])}. Did you mean to set out_dims= to None for output?")
        out.append(stack(items, d if d >= 0 else d + items[0].dim() + 1))
    return tree_unflatten(out, spec)
