"""Function transforms built on the ordinary autograd engine: grad, vjp, jvp, jacrev, jacfwd, hessian.

Each transform calls the function on fresh copies of its inputs that require grad (inputs that already
require grad — because an outer transform is differentiating — are aliased, so gradients compose:
``jacfwd(jacrev(f))`` is the Hessian) and asks ``ember.autograd.grad`` for the result.

* reverse mode (grad, vjp, jacrev): one backward pass per output direction (jacrev: one per output
  element, a loop over the rows of the Jacobian);
* forward mode (jvp, jacfwd) by the double-vjp trick: with u a dummy cotangent, g(u) = J^T u is linear in u,
  so the vjp of g with tangent t is J t. It needs the ops' backward to be differentiable, which Ember's are.

Results are detached when they do not depend on anything outside the transform, as torch.func returns them.
"""
import functools

from ..autograd.grad_mode import enable_grad
from ..autograd.engine import grad as _autograd_grad
from .._tensor import Tensor
from .pytree import tree_flatten, tree_unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize"]

_DEPTH = [0]  # how many transforms are running (an inner one keeps its graph for the outer one)


def _fresh(x):
    """A differentiable stand-in for input ``x``."""
    if not isinstance(x, Tensor):
        return x
    if x.requires_grad:
        return x.view_as(x)  # an alias: gradients w.r.t. it still flow on to x (an outer transform)
    if not (x.is_floating_point() or x.is_complex()):
        return x
    return x.detach().requires_grad_(True)


def _reaches_outside(tensors, own):
    """Does any tensor's graph reach a leaf that is not one of ``own`` (the transform's fresh leaves)?"""
    own_ids = {id(t) for t in own}
    seen, stack = set(), [t.grad_fn for t in tensors if isinstance(t, Tensor) and t.grad_fn is not None]
    for t in tensors:
        if isinstance(t, Tensor) and t.requires_grad and t.grad_fn is None and id(t) not in own_ids:
            return True
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        var = getattr(node, "variable", None)
        if var is not None:
            if id(var) not in own_ids:
                return True
            continue
        for nxt, _ in node.next_functions:
            if nxt is not None:
                stack.append(nxt)
    return False


def _finish(results, own):
    """Detach results that depend only on the transform's own inputs (torch.func returns plain tensors)."""
    flat, spec = tree_flatten(results)
    tensors = [t for t in flat if isinstance(t, Tensor)]
    if _DEPTH[0] == 0 and tensors and not _reaches_outside(tensors, own):
        flat = [t.detach() if isinstance(t, Tensor) else t for t in flat]
    return tree_unflatten(flat, spec)


def _grads(outputs, inputs, cotangents):
    """d(outputs)/d(inputs) contracted with cotangents; zeros for inputs the outputs do not depend on."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if isinstance(o, Tensor) and o.requires_grad]
    targets = [i for i in inputs if isinstance(i, Tensor) and i.requires_grad]
    res = {}
    if pairs and targets:
        gs = _autograd_grad([o for o, _ in pairs], targets, [c for _, c in pairs], retain_graph=True,
                            create_graph=True, allow_unused=True)
        res = {id(t): g for t, g in zip(targets, gs)}
    out = []
    for i in inputs:
        g = res.get(id(i)) if isinstance(i, Tensor) else None
        if g is None and isinstance(i, Tensor):
            g = i.detach() * 0
        out.append(g)
    return out


def _argnums_tuple(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnums={argnums} but only {n} positional inputs")
    return tuple(a % n for a in nums)


class _Transform:
    """Enter/exit bookkeeping: the depth counter and grad mode forced on."""

    def __enter__(self):
        _DEPTH[0] += 1
        self._grad = enable_grad()
        self._grad.__enter__()

    def __exit__(self, *exc):
        self._grad.__exit__(*exc)
        _DEPTH[0] -= 1


def _fresh_args(args, nums):
    """``args`` with the tensors inside ``args[i]`` (i in ``nums``) replaced by fresh leaves that require
    grad; returns (new args, {i: (leaves, tree spec)}, all the fresh leaves)."""
    args, specs, leaves = list(args), {}, []
    for a in nums:
        flat, spec = tree_flatten(args[a])
        flat = [_fresh(x) for x in flat]
        leaves += flat
        specs[a] = (flat, spec)
        args[a] = tree_unflatten(flat, spec)
    return args, specs, leaves


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of func's scalar output w.r.t. args[argnums], the output)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args))
        with _Transform():
            args, specs, fresh_leaves = _fresh_args(args, nums)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: "
                                       "(output, aux) if has_aux is True")
                out, aux = out
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(out)}")
            if out.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs "
                                   "instead?")
            grads = []
            for a in nums:
                flat, spec = specs[a]
                grads.append(tree_unflatten(_grads([out], flat, [None]), spec))
        g = grads[0] if isinstance(argnums, int) else tuple(grads)
        value = (out, aux) if has_aux else out
        return _finish((g, value), fresh_leaves)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar function: ``grad(f)(x)`` is df/dx (``has_aux``: returns (grad, aux))."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn): vjp_fn(cotangents) gives the cotangents pulled back to each primal."""
    flat_in, in_spec = tree_flatten(list(primals))
    with _Transform():
        fresh = [_fresh(x) for x in flat_in]
        out = func(*tree_unflatten(fresh, in_spec))
    aux = None
    if has_aux:
        out, aux = out
    flat_out, out_spec = tree_flatten(out)

    def vjp_fn(*cotangents):
        cts = cotangents[0] if len(cotangents) == 1 and out_spec is None else \
            (cotangents[0] if len(cotangents) == 1 else cotangents)
        flat_ct, ct_spec = tree_flatten(cts)
        if len(flat_ct) != len(flat_out):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function")
        for o, c in zip(flat_out, flat_ct):
            if isinstance(o, Tensor) and isinstance(c, Tensor) and tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] has "
                                   f"a shape of {o.shape}.")
        with _Transform():
            gs = _grads(flat_out, fresh, flat_ct)
        return _finish(tuple(tree_unflatten(gs, in_spec)), fresh)

    result = _finish(out, fresh)
    return (result, vjp_fn, aux) if has_aux else (result, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J · tangents): the forward-mode derivative along ``tangents`` (double-vjp trick)."""
    if not isinstance(primals, (tuple, list)):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid "
                           "to call f(*primals).")
    flat_in, in_spec = tree_flatten(list(primals))
    flat_t, _ = tree_flatten(list(tangents))
    if len(flat_t) != len(flat_in):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           "structure.")
    with _Transform():
        fresh = [_fresh(x) for x in flat_in]
        out = func(*tree_unflatten(fresh, in_spec))
        aux = None
        if has_aux:
            out, aux = out
        flat_out, out_spec = tree_flatten(out)
        dummies = [_zeros_leaf(o) for o in flat_out]
        g = _grads(flat_out, fresh, dummies)             # g = J^T u, linear in u
        targets = [(gi, ti) for gi, ti in zip(g, flat_t) if isinstance(gi, Tensor) and gi.requires_grad]
        if targets:
            jt = _autograd_grad([gi for gi, _ in targets], dummies, [ti for _, ti in targets], retain_graph=True,
                                create_graph=True, allow_unused=True)
        else:
            jt = [None] * len(dummies)
        jt = [j if j is not None else o.detach() * 0 for j, o in zip(jt, flat_out)]
    res = (tree_unflatten(flat_out, out_spec), tree_unflatten(jt, out_spec))
    res = _finish(res, fresh + dummies)
    return (res[0], res[1], aux) if has_aux else res


def _zeros_leaf(o):
    return (o.detach() * 0).requires_grad_(True)


def linearize(func, *primals):
    """(func(*primals), jvp_fn): jvp_fn(*tangents) is J · tangents at these primals."""
    out = func(*primals)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]
    return out, jvp_fn


def _basis_rows(out):
    """The unit cotangents e_0, e_1, … for the elements of ``out`` (one at a time)."""
    n = out.numel()
    flat = out.detach().reshape(-1) * 0
    for k in range(n):
        e = flat.clone()
        e._data[k] = 1
        yield e.reshape(out.shape)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian by reverse mode: one vjp per output element; shape out.shape + input.shape."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args))
        with _Transform():
            args, specs, own = _fresh_args(args, nums)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                out, aux = out
            flat_out, out_spec = tree_flatten(out)
            jac_per_out = []
            for o in flat_out:
                rows = {a: [] for a in nums}
                for e in _basis_rows(o):
                    for a in nums:
                        rows[a].append(_grads([o], specs[a][0], [e]))
                per_arg = []
                for a in nums:
                    flat_in, in_spec = specs[a]
                    cols = []
                    for j, x in enumerate(flat_in):
                        from ..functions import stack
                        r = [row[j] for row in rows[a]]
                        J = stack(r).reshape(*o.shape, *x.shape) if r else \
                            (x.detach() * 0).reshape(1, -1)[:0].reshape(*o.shape, *x.shape)
                        cols.append(J)
                    per_arg.append(tree_unflatten(cols, in_spec))
                jac_per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = tree_unflatten(jac_per_out, out_spec)
        res = (jac, aux) if has_aux else jac
        return _finish(res, own)
    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian by forward mode: one jvp per input element; shape out.shape + input.shape."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..functions import stack
        nums = _argnums_tuple(argnums, len(args))
        per_arg = []
        aux = None
        out_spec = None
        for a in nums:
            flat_in, in_spec = tree_flatten(args[a])
            cols_per_leaf = []
            for j, x in enumerate(flat_in):
                columns = []
                for e in _basis_rows(x):
                    tangents = [e if k == j else xi.detach() * 0 for k, xi in enumerate(flat_in)]

                    def f_a(*leaves, a=a, in_spec=in_spec):
                        new = list(args)
                        new[a] = tree_unflatten(list(leaves), in_spec)
                        return func(*new, **kwargs)
                    r = jvp(f_a, tuple(flat_in), tuple(tangents), has_aux=has_aux)
                    if has_aux:
                        aux = r[2]
                    flat_jt, out_spec = tree_flatten(r[1])
                    columns.append(flat_jt)
                # columns[k][m]: d out_m / d x_k  ->  per output m: stack over k, move to the back
                outs = []
                for m in range(len(columns[0])):
                    col = stack([c[m] for c in columns])       # (n_x, *out_m.shape)
                    o_shape = tuple(columns[0][m].shape)
                    J = col.reshape(x.numel(), -1).t().reshape(*o_shape, *x.shape)
                    outs.append(J)
                cols_per_leaf.append(outs)
            # regroup: per output m, the input structure
            n_out = len(cols_per_leaf[0])
            per_arg.append([tree_unflatten([cols_per_leaf[j][m] for j in range(len(flat_in))], in_spec)
                            for m in range(n_out)])
        n_out = len(per_arg[0])
        jac_flat = [per_arg[0][m] if isinstance(argnums, int) else tuple(p[m] for p in per_arg)
                    for m in range(n_out)]
        jac = tree_unflatten(jac_flat, out_spec)
        return (jac, aux) if has_aux else jac
    return wrapper


def hessian(func, argnums=0):
    """The matrix of second derivatives: jacfwd(jacrev(func))."""
    return jacfwd(jacrev(func, argnums), argnums)
