"""Activation checkpointing: trade compute for memory by recomputing a block's forward during backward.

``checkpoint(fn, *args)`` runs ``fn`` and keeps only its inputs — not the intermediate activations its
ops would save for backward. The result's grad_fn is one ``CheckpointFunctionBackward`` node; when the
backward pass reaches it, it re-runs ``fn`` with grad enabled on the saved inputs (restoring the random
number generator first, so dropout draws the same mask), then backpropagates through that fresh graph.

How the parameters ``fn`` uses get their gradients: the first forward also runs with grad enabled, only
to find which leaf tensors (parameters) the outputs depend on; that graph is dropped at once, and those
leaves become extra inputs of the checkpoint node. So ``loss.backward()`` and ``autograd.grad`` both work,
with either ``use_reentrant`` setting. (A tensor captured by ``fn`` that is itself the output of earlier
ops is reached through its leaves only.)
"""
import functools
import warnings

from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad, is_grad_enabled
from ..autograd.engine import grad as _autograd_grad
from .._tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointFunction", "detach_variable", "CheckpointError"]


class CheckpointError(RuntimeError):
    """Raised when the recomputed forward disagrees with the original one."""


def detach_variable(inputs):
    """Detached copies of a tuple of tensors, keeping each one's requires_grad."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    return tuple(x.detach().requires_grad_(x.requires_grad) if isinstance(x, Tensor) else x for x in inputs)


def _leaves(outputs, exclude):
    """The leaf tensors that require grad and that ``outputs`` depend on (minus ``exclude``), in order found."""
    skip = {id(t) for t in exclude}
    found, seen = [], set()
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    for o in outputs:
        if isinstance(o, Tensor) and o.requires_grad and o.grad_fn is None and id(o) not in skip:
            found.append(o)
            skip.add(id(o))
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        var = getattr(node, "variable", None)
        if var is not None:
            if id(var) not in skip:
                skip.add(id(var))
                found.append(var)
            continue
        stack.extend(n for n, _ in reversed(node.next_functions) if n is not None)
    return found


def _flat_outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


class CheckpointFunction(Function):
    """Forward: the outputs computed ahead (their graph dropped). Backward: recompute ``fn`` with grad
    enabled and the saved RNG state, backpropagate through it to the inputs and the leaves it used."""
    _grad_fn_name = "CheckpointFunctionBackward"

    @staticmethod
    def forward(ctx, run_function, rng_state, n_args, outputs, *inputs_and_leaves):
        ctx.run_function, ctx.rng_state, ctx.n_args = run_function, rng_state, n_args
        ctx.is_tuple = isinstance(outputs, (tuple, list))
        args = inputs_and_leaves[:n_args]
        ctx.non_tensor = [(i, a) for i, a in enumerate(args) if not isinstance(a, Tensor)]
        ctx.save_for_backward(*[a if isinstance(a, Tensor) else None for a in args])
        ctx.leaves = inputs_and_leaves[n_args:]
        return tuple(outputs) if ctx.is_tuple else outputs

    @staticmethod
    def backward(ctx, *grads):
        saved = list(ctx.saved_tensors)
        for i, a in ctx.non_tensor:
            saved[i] = a
        inputs = detach_variable(tuple(saved))
        from ..random import get_rng_state, set_rng_state
        stash = None
        if ctx.rng_state is not None:
            stash = get_rng_state()
            set_rng_state(ctx.rng_state)
        try:
            with enable_grad():
                out = ctx.run_function(*inputs)
        finally:
            if stash is not None:
                set_rng_state(stash)
        outs = _flat_outputs(out)
        pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, Tensor) and o.requires_grad and g is not None]
        targets = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad] + list(ctx.leaves)
        res = {}
        if pairs and targets:
            gs = _autograd_grad([o for o, _ in pairs], targets, [g for _, g in pairs], allow_unused=True)
            res = {id(t): g for t, g in zip(targets, gs)}
        input_grads = [res.get(id(x)) if isinstance(x, Tensor) else None for x in inputs]
        leaf_grads = [res.get(id(x)) for x in ctx.leaves]
        return (None, None, None, None, *input_grads, *leaf_grads)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default", debug=False,
               preserve_rng_state=True, early_stop=True, **kwargs):
    """``function(*args, **kwargs)`` without keeping its activations: they are recomputed in backward."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting "
                      "in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the differences "
                      "between the two variants.")
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    fn = functools.partial(function, **kwargs) if kwargs else function
    if not is_grad_enabled():
        return fn(*args)
    if use_reentrant and not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None")
        with no_grad():
            return fn(*args)
    from ..random import get_rng_state, set_rng_state
    rng_state = get_rng_state() if preserve_rng_state else None
    inputs = detach_variable(tuple(args))
    out = fn(*inputs)  # with grad on: find the leaves the outputs depend on, then drop this graph
    leaves = _leaves(_flat_outputs(out), [x for x in inputs if isinstance(x, Tensor)])
    if isinstance(out, (tuple, list)):
        detached = type(out)(o.detach() if isinstance(o, Tensor) else o for o in out)
    else:
        detached = out.detach() if isinstance(out, Tensor) else out
    del out
    return CheckpointFunction.apply(fn, rng_state, len(args), detached, *args, *leaves)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or list of modules) in ``segments`` chunks; every chunk but the last is checkpointed."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
                      "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the differences "
                      "between the two variants.")
        use_reentrant = True
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
