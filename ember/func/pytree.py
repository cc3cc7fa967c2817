"""Pytrees: nested tuples, lists and dicts with tensors (or anything) at the leaves.

The function transforms accept and return such structures (``grad`` of a dict of parameters is a dict of
gradients), so each flattens its arguments to a list of leaves, works on the list, and rebuilds the
structure with ``unflatten``.
"""

__all__ = ["tree_flatten", "tree_unflatten", "tree_map"]


def tree_flatten(tree):
    """(leaves, spec): the leaves in order, and a spec to rebuild the structure from new leaves."""
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        leaves, specs = [], []
        for item in tree:
            lv, sp = tree_flatten(item)
            leaves += lv
            specs.append(sp)
        return leaves, (type(tree), None, specs)
    if isinstance(tree, tuple):  # a named tuple
        leaves, specs = [], []
        for item in tree:
            lv, sp = tree_flatten(item)
            leaves += lv
            specs.append(sp)
        return leaves, (type(tree), "namedtuple", specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        keys = list(tree)
        for k in keys:
            lv, sp = tree_flatten(tree[k])
            leaves += lv
            specs.append(sp)
        return leaves, (type(tree), keys, specs)
    return [tree], None


def _count(spec):
    if spec is None:
        return 1
    return sum(_count(s) for s in spec[2])


def tree_unflatten(leaves, spec):
    """Rebuild the structure ``spec`` describes with ``leaves`` in place of the old ones."""
    leaves = list(leaves)
    out, _ = _build(leaves, 0, spec)
    return out


def _build(leaves, i, spec):
    if spec is None:
        return leaves[i], i + 1
    kind, keys, specs = spec
    items = []
    for s in specs:
        v, i = _build(leaves, i, s)
        items.append(v)
    if keys == "namedtuple":
        return kind(*items), i
    if keys is not None:
        return kind(zip(keys, items)), i
    return kind(items), i


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)
