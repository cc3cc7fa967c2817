"""Calling a Module with parameters and buffers it does not own: ``functional_call``, ``stack_module_state``.

``functional_call(model, {"fc.weight": w, ...}, args)`` swaps the given tensors into the module tree for one
call (restoring the originals afterwards, also on error), so a model becomes a pure function of its
parameters — what ``grad``/``vmap`` need for per-sample gradients and ensembles.
"""
__all__ = ["functional_call", "stack_module_state"]


def _owner(module, name):
    """(submodule, attribute) for a dotted name like 'encoder.0.weight'."""
    *path, attr = name.split(".")
    mod = module
    for p in path:
        mod = getattr(mod, p)
    return mod, attr


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with the named parameters/buffers replaced by the given tensors."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        merged = dict(dicts)
    else:
        merged = {}
        for d in dicts:
            for k, v in d.items():
                if k in merged:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is "
                                     "ambiguous")
                merged[k] = v
    args = () if args is None else (args if isinstance(args, tuple) else (args,))
    kwargs = kwargs or {}

    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(dict(module.named_buffers(remove_duplicate=False)))
    if tie_weights:  # names sharing one tensor in the module get the same replacement
        by_id = {}
        for n, t in named.items():
            by_id.setdefault(id(t), []).append(n)
        for n in list(merged):
            if n in named:
                tied = by_id[id(named[n])]
                given = [m for m in tied if m in merged]
                if len({id(merged[m]) for m in given}) > 1:
                    raise ValueError(f"functional_call got multiple values for keys {sorted(given)}, which are tied. "
                                     "Consider using tie_weights=False")
                for m in tied:
                    merged.setdefault(m, merged[n])
    if strict:
        missing = [n for n in named if n not in merged]
        unexpected = [n for n in merged if n not in named]
        if missing or unexpected:
            parts = []
            if unexpected:
                parts.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
            if missing:
                parts.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(parts))

    saved = []
    try:
        for name, value in merged.items():
            mod, attr = _owner(module, name)
            d = mod.__dict__
            for store in ("_parameters", "_buffers"):
                if attr in d[store]:
                    saved.append((d[store], attr, d[store][attr]))
                    d[store][attr] = value
                    break
            else:
                saved.append((d, attr, d.get(attr, _MISSING)))
                d[attr] = value
        return module(*args, **kwargs)
    finally:
        for store, attr, old in reversed(saved):
            if old is _MISSING:
                del store[attr]
            else:
                store[attr] = old


_MISSING = object()


def stack_module_state(models):
    """(params, buffers): each name mapped to the models' tensors stacked on a new leading dim (for vmap over
    an ensemble). Stacked parameters are new leaves that require grad."""
    from ..functions import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    first = models[0]
    params = {n: stack([dict(m.named_parameters())[n].detach() for m in models]).requires_grad_(p.requires_grad)
              for n, p in first.named_parameters()}
    buffers = {n: stack([dict(m.named_buffers())[n] for m in models]) for n, _ in first.named_buffers()}
    return params, buffers
