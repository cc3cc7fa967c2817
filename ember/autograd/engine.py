"""The backward engine: reverse-mode automatic differentiation over the recorded graph.

``loss.backward()`` starts at ``loss.grad_fn`` with gradient 1 and walks the graph of nodes
(``Node``) in reverse topological order — a node runs only after every node that feeds it a
gradient has run, so its gradient buffer is complete (Kahn's algorithm on dependency counts).
Each node's ``backward`` turns the gradients of its outputs into gradients of its inputs; the engine
sums what arrives for the same input, undoes broadcasting (sums back to the input's shape, as torch's
engine does), and finally ``AccumulateGrad`` nodes add the result into each leaf's ``.grad``.
"""
from sys import getrefcount as _getrefcount

import numpy as np

from .function import AccumulateGrad, fresh_view
from .grad_mode import STATE

__all__ = ["backward", "grad", "run_backward", "queue_callback"]

_final_callbacks = []  # run once the outermost backward pass has finished (``queue_callback``)
_depth = [0]


def queue_callback(callback):
    """Run ``callback()`` when the backward pass now running has finished (torch's
    ``Variable._execution_engine.queue_callback``; DistributedDataParallel waits for its reductions here)."""
    if _depth[0] == 0:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _final_callbacks.append(callback)


def _make_grads(outputs, grad_outputs):
    grads = []
    for out, g in zip(outputs, grad_outputs):
        if g is None:
            if out._data.size != 1:
                from ..hints import add_hint
                raise add_hint(RuntimeError("grad can be implicitly created only for scalar outputs"), "backward_scalar")
            if out._data.dtype.kind not in "fcV":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                   f"{out.dtype}")
            xp = _xp(out._data)
            g = wrap(xp.ones(out._data.shape, dtype=out._data.dtype))
        elif not isinstance(g, Tensor):
            xp = _xp(out._data)
            g = wrap(xp.full(out._data.shape, g, dtype=out._data.dtype))
        elif g._data.shape != out._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(g.shape)} and output[0] "
                               f"has a shape of {tuple(out.shape)}.".replace("(", "torch.Size([").replace(")", "])"))
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (``torch.autograd.backward``)."""
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    tensors = tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, Tensor) or not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = (grad_tensors,)
    for t in tensors:
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if t._base is not None:
            fresh_view(t)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(tensors, grad_tensors)
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad`` (``torch.autograd.grad``)."""
    single = isinstance(inputs, Tensor)
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    for o in outputs:
        if not o._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    for i in inputs:
        if not i._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    res = run_backward(outputs, _make_grads(outputs, grad_outputs), retain_graph, create_graph,
                       inputs=inputs, accumulate=False)
    out = []
    for t, g in zip(inputs, res):
        if g is None:
            if materialize_grads:
                g = wrap(_xp(t._data).zeros_like(t._data))
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
        out.append(g)
    return tuple(out)


def _input_key(t):
    """Where the gradient of tensor ``t`` arrives: its AccumulateGrad node, or (grad_fn, output_nr)."""
    if t.grad_fn is None:
        if t._accum is None:
            t._accum = AccumulateGrad(t)
        return (t._accum, 0)
    return (t.grad_fn, t._output_nr)


def run_backward(roots, root_grads, retain_graph, create_graph, inputs=None, accumulate=True):
    """Propagate ``root_grads`` from ``roots`` through the graph.

    accumulate=True (``backward``): leaves get ``.grad`` (only ``inputs`` if given).
    accumulate=False (``grad``): gradients that reach ``inputs`` are returned instead.
    """
    _depth[0] += 1
    autocast, _function._autocast = _function._autocast, None  # backward runs in its forward's dtypes
    try:
        results = _run_backward(roots, root_grads, retain_graph, create_graph, inputs, accumulate)
    except BaseException:
        if _depth[0] == 1:
            _final_callbacks.clear()
        raise
    finally:
        _depth[0] -= 1
        _function._autocast = autocast
    while _depth[0] == 0 and _final_callbacks:
        _final_callbacks.pop(0)()
    return results


def _run_backward(roots, root_grads, retain_graph, create_graph, inputs, accumulate):
    # 1. Count, for every node reachable from the roots, how many edges point into it.
    deps = {}
    stack = []
    for r in roots:
        fn = r.grad_fn if r.grad_fn is not None else _input_key(r)[0]
        if fn not in deps:
            deps[fn] = 0
            stack.append(fn)
    while stack:
        fn = stack.pop()
        for e in fn._edges:
            if e is not None:
                nxt = e[0]
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    stack.append(nxt)
    # 2. Seed the gradient buffers with the root gradients.
    buffers = {}
    for r, g in zip(roots, root_grads):
        key = (r.grad_fn, r._output_nr) if r.grad_fn is not None else _input_key(r)
        _add_to(buffers, key[0], key[1], g)
    capture = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            capture.setdefault(_input_key(t), []).append(i)
    results = [None] * len(inputs) if inputs is not None else None
    needed = None if accumulate else _needed_nodes(list(deps), {k[0] for k in capture})
    # 3. Run nodes whose every consumer has delivered its gradient.
    ready = [fn for fn in deps if deps[fn] == 0]
    prev = STATE.enabled
    STATE.enabled = create_graph
    try:
        while ready:
            fn = ready.pop()
            grads = buffers.pop(fn, None)
            if grads is None:
                grads = [None] * fn._n_out
            if fn._pre_hooks:
                grads = _run_pre_hooks(fn, grads)
            if capture is not None:
                for j, g in enumerate(grads):
                    for i in capture.get((fn, j), ()):
                        results[i] = g
            if fn.__class__ is AccumulateGrad:
                if accumulate and (capture is None or (fn, 0) in capture) and grads[0] is not None:
                    if _function._profiler is None:
                        _accumulate(fn.variable, grads, create_graph)
                    else:
                        _function._profiler.node(lambda f, g: _accumulate(f.variable, g, create_graph), fn, grads)
                    if fn._post_hooks:
                        for hook in list(fn._post_hooks):
                            hook(fn.variable)
                continue
            for g in grads:  # (identity tests: list.count(None) would call Tensor.__eq__ on each gradient)
                if g is not None:
                    empty = False
                    break
            else:
                empty = True
            if empty or (needed is not None and not needed[fn]):
                in_grads = ()  # nothing flows through this node (unused branch, or None gradients)
            elif _function._profiler is None:
                in_grads = _call_backward(fn, grads)
            else:   # a profile being recorded: it times the node
                in_grads = _function._profiler.node(_call_backward, fn, grads)
            for e, meta, g in zip(fn._edges, fn._in_meta, in_grads):
                if e is None or g is None:
                    continue
                if g.__class__ is not Tensor and not isinstance(g, Tensor):
                    raise TypeError(f"{fn.name()} returned a non-Tensor gradient: {type(g).__name__}")
                shape, dtype = meta
                if g._data.shape != shape:
                    g = _sum_to(g, shape, fn)
                if g._data.dtype != dtype:
                    g = g.to(_dt(dtype))
                _add_to(buffers, e[0], e[1], g)
            in_grads = g = None   # the buffers hold the gradients now (so a leaf can tell it is their only owner)
            leaves = None
            for e in fn._edges:
                if e is not None:
                    nxt = e[0]
                    deps[nxt] -= 1
                    if deps[nxt] == 0:
                        if nxt.__class__ is AccumulateGrad:
                            leaves = [nxt] if leaves is None else leaves + [nxt]
                        else:
                            ready.append(nxt)
            if leaves is not None:  # leaves next (as torch's engine does): each .grad is final as early as
                ready.extend(leaves)  # possible, so its post-accumulate hooks (DDP's buckets) can fire
            if not retain_graph:
                if fn._saved:
                    fn._saved = ()  # free what was saved: running this node again is an error, as in torch
                    fn._freed = True
                else:               # nothing saved: it may run again, unless its op stashed arrays on ctx
                    fn._spent = True  # (checked then, by _stashes_data: not worth a scan of every node now)
    finally:
        STATE.enabled = prev
    return results


def _stashes_data(fn):
    """Whether one of Ember's own ops kept tensors/arrays on its ctx (its equivalent of torch's saved
    variables, e.g. ``exp`` keeps its output). A user's Function is judged by ``save_for_backward``
    alone, as torch does: attributes it sets on ctx are not freed."""
    op = fn._fn
    if op is None:
        return False
    ours = _OURS.get(op)
    if ours is None:
        ours = _OURS[op] = op.__module__.startswith("ember.")
    if not ours:
        return False
    data = _DATA[0] if _DATA else _data_types()
    for k, v in fn.__dict__.items():
        if k[0] == "_" or v.__class__ in _PLAIN:
            continue
        if isinstance(v, data) or (v.__class__ in (tuple, list) and k != "needs_input_grad"
                                   and any(isinstance(e, data) for e in v)):
            return True
    return False


_PLAIN = (bool, int, float, complex, str, type(None))  # ctx attributes that are never saved data (skipped fast)
_OURS = {}      # Function class -> defined inside ember (cached: this runs once per node per backward)
_DATA = []


def _data_types():
    """(Tensor, ndarray[, cupy.ndarray]): what counts as saved data on a ctx."""
    if not _DATA:
        import numpy as np
        types = [Tensor, np.ndarray]
        try:
            import cupy
            types.append(cupy.ndarray)
        except ImportError:
            pass
        _DATA.append(tuple(types))
    return _DATA[0]


def _needed_nodes(roots, targets):
    """For ``grad()``: the nodes from which some target node can be reached (post-order DFS).

    Nodes outside this set never run, so unrelated branches cost nothing and leaves are not touched.
    """
    needed = {}
    stack = [(r, False) for r in roots]
    while stack:
        n, done = stack.pop()
        if done:
            needed[n] = n in targets or any(e is not None and needed.get(e[0], False) for e in n._edges)
        elif n not in needed:
            needed[n] = False
            stack.append((n, True))
            stack.extend((e[0], False) for e in n._edges if e is not None and e[0] not in needed)
    return needed


def _call_backward(fn, grads):
    if fn._freed or (fn._spent and _stashes_data(fn)):
        raise RuntimeError(
            "Trying to backward through the graph a second time (or directly access saved tensors after they "
            "have already been freed). Saved intermediate values of the graph are freed when you call "
            ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
            "graph a second time or if you need to access saved tensors after calling backward.")
    if fn.materialize_grads and fn._out_meta is not None:
        grads = [g if g is not None or m is None else wrap(m[2].zeros(m[0], dtype=m[1]))
                 for g, m in zip(grads, fn._out_meta)]
    out = fn._fn.backward(fn, *grads)
    if out.__class__ is not tuple:
        out = (out,) if not isinstance(out, list) else tuple(out)
    n_in = len(fn._edges)
    if len(out) < n_in:
        raise RuntimeError(f"function {fn.name()} returned an incorrect number of gradients "
                           f"(expected {n_in}, got {len(out)})")
    if fn._hooks:
        for h in fn._hooks:
            r = h(out, tuple(grads))
            if r is not None:
                out = tuple(r)
    if STATE.detect_anomaly:
        _check_nan(fn, out)
    return out


def _check_nan(fn, out):
    for i, g in enumerate(out):
        if g is not None and _xp(g._data).isnan(g._data).any():
            trace = getattr(fn, "_anomaly_trace", "")
            raise RuntimeError(f"Function '{fn.name()}' returned nan values in its {i}th output."
                               + (f"\nThe forward call that created it:\n{trace}" if trace else ""))


def _run_pre_hooks(fn, grads):
    grads = list(grads)
    for key, hooks in fn._pre_hooks.items():
        for h in list(hooks):
            if key == -1:
                r = h(tuple(grads))
                if r is not None:
                    grads = list(r)
            elif grads[key] is not None:
                r = h(grads[key])
                if r is not None:
                    grads[key] = r
    return grads


def _add_to(buffers, fn, idx, g):
    buf = buffers.get(fn)
    if buf is None:
        buf = buffers[fn] = [None] * fn._n_out
    cur = buf[idx]
    buf[idx] = g if cur is None else cur + g


def _accumulate(var, grads, create_graph):
    """``var.grad += grads[0]``. The first gradient becomes ``.grad`` itself when nothing else can see its
    memory (as torch's AccumulateGrad steals a gradient whose use count says it is the only owner);
    otherwise it is copied, so that no other tensor aliases ``.grad``."""
    if var.grad is None:
        if create_graph:
            var.grad = grads[0]
        else:   # (no local names for the gradient here: they would count as owners)
            var.grad = wrap(grads[0]._data if _sole_owner(grads) else grads[0]._data.copy())
        return
    g = grads[0]
    if create_graph or var.grad._requires_grad:
        var.grad = var.grad + g
    else:
        var.grad._data += g._data
        var.grad._vc[0] += 1


# Who else holds a gradient? CPython's reference counts say. ``_refs(grads, reach)`` counts the references to
# the object ``reach(grads)`` leads to; _ALONE keeps what the same probe returns for an object held in one
# place only (measured once, so it is right for whatever CPython runs us).
def _refs(grads, reach):
    obj = reach(grads)
    return _getrefcount(obj)


_TENSOR = lambda g: g[0]                       # noqa: E731  (the paths the probes follow)
_ARRAY = lambda g: g[0]._data                  # noqa: E731
_ARRAY_BASE = lambda g: g[0]._data.base        # noqa: E731
_VIEW_BASE = lambda g: g[0]._base              # noqa: E731
_VIEW_BASE_ARRAY = lambda g: g[0]._base._data  # noqa: E731
_ALONE = []


def _calibrate():
    """What the probe returns for objects nothing else refers to: [a list's item, an attribute, a view's base]."""
    _ALONE.extend((_refs([wrap(np.empty(1))], _TENSOR), _refs([wrap(np.empty(1))], _ARRAY),
                   _refs([wrap(np.empty(4).reshape(2, 2))], _ARRAY_BASE)))


def _sole_owner(grads):
    """True when nothing but the engine's gradient buffer can reach the memory of ``grads[0]``, so the leaf
    may keep it as ``.grad`` without a copy (torch's AccumulateGrad steals a gradient the same way, when its
    use count says it is the only owner). Owners are counted with CPython's reference counts:

    * the Tensor is referenced by the buffer only, and its array by that Tensor only;
    * the array owns its memory, or is a full-size C-contiguous view of an array that does, referenced by
      nothing else -- except, when the Tensor is a view (``out.t()`` in a backward), by the Tensor it is a
      view of, itself referenced by nothing but this view.
    """
    if not _ALONE:
        _calibrate()
    if grads[0]._data.__class__ is not np.ndarray or not grads[0]._data.flags.writeable \
            or _refs(grads, _TENSOR) != _ALONE[0] or _refs(grads, _ARRAY) != _ALONE[1]:
        return False
    if grads[0]._data.base is None:
        return grads[0]._data.flags.owndata and grads[0]._base is None
    if not (grads[0]._data.base.__class__ is np.ndarray and grads[0]._data.base.base is None
            and grads[0]._data.base.flags.owndata and grads[0]._data.base.nbytes == grads[0]._data.nbytes
            and grads[0]._data.flags.c_contiguous):
        return False
    if grads[0]._base is None:
        return _refs(grads, _ARRAY_BASE) == _ALONE[2]
    if grads[0]._base._base is not None or _refs(grads, _VIEW_BASE) != _ALONE[1]:
        return False   # (a Tensor held in one attribute counts like an array held in one: _ALONE[1])
    if grads[0]._base._data is grads[0]._data.base:       # the base Tensor holds the memory's owner itself
        return _refs(grads, _ARRAY_BASE) == _ALONE[2] + 1
    return grads[0]._base._data.base is grads[0]._data.base and _refs(grads, _VIEW_BASE_ARRAY) == _ALONE[1] \
        and _refs(grads, _ARRAY_BASE) == _ALONE[2] + 1


def _sum_to(g, shape, fn):
    """Undo broadcasting: sum ``g`` over the axes it was expanded along so it has ``shape``."""
    gshape = g._data.shape
    lead = len(gshape) - len(shape)
    ok = lead >= 0 and all(s == 1 or s == gs for s, gs in zip(shape, gshape[lead:]))
    if not ok:
        raise RuntimeError(f"Function {fn.name()} returned an invalid gradient - got {list(gshape)} but expected "
                           f"shape compatible with {list(shape)}")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1)
    if not STATE.enabled:   # no graph to build: sum and reshape the array itself
        return _raw_sum(g, axes, shape)
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    return g.reshape(shape)


def _raw_sum(g, axes, shape):
    a = g._data
    if not axes:
        return wrap(a.reshape(shape))
    if a.dtype.kind == "V":  # bfloat16: accumulate in float32, round once (as Sum does, as torch does)
        return wrap(a.sum(axis=axes, dtype="float32").astype(a.dtype).reshape(shape))
    return wrap(a.sum(axis=axes).reshape(shape))


from .._tensor import Tensor, wrap  # noqa: E402  (late: the tensor module imports this package)
from ..device import array_module as _xp  # noqa: E402
from ..dtypes import to_dtype as _dt  # noqa: E402
from . import function as _function  # noqa: E402
