"""``rearrange``: einops-style reshaping by a pattern, ``"b (h w) c -> b c h w"``.

The left side names each input dim (a parenthesised group is one dim made of several axes; ``...`` stands
for any number of dims); the right side names the output dims. The tensor is reshaped to the elementary
axes, permuted into the right side's order, and reshaped to its groups: one reshape, one permute, one reshape.
"""
import math
import re

__all__ = ["rearrange"]


def _parse(side):
    """A side of the pattern as a list of groups, each a list of axis names ('...' for the ellipsis)."""
    tokens = re.findall(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z_0-9]*|\d+", side)
    groups, current = [], None
    for tok in tokens:
        if tok == "(":
            if current is not None:
                raise ValueError(f"Invalid pattern, nested parentheses: {side!r}")
            current = []
        elif tok == ")":
            if current is None:
                raise ValueError(f"Invalid pattern, unbalanced parentheses: {side!r}")
            groups.append(current)
            current = None
        else:
            (current if current is not None else groups).append(tok if current is not None else [tok])
    if current is not None:
        raise ValueError(f"Invalid pattern, unbalanced parentheses: {side!r}")
    return [g if isinstance(g, list) else [g] for g in groups]


def rearrange(tensor, pattern, **axes_lengths):
    """Reshape and permute ``tensor`` as ``pattern`` says (axis sizes not implied by the input go in kwargs)."""
    from .._tensor import Tensor
    if not isinstance(tensor, Tensor):
        from ..functions import stack
        tensor = stack(list(tensor))
    if "->" not in pattern:
        raise ValueError(f"Pattern must contain '->': {pattern!r}")
    left_s, right_s = pattern.split("->")
    left, right = _parse(left_s), _parse(right_s)
    n_ell = sum(g == ["..."] for g in left)
    fixed = len(left) - n_ell
    if (n_ell == 0 and fixed != tensor.dim()) or (n_ell and fixed > tensor.dim()):
        raise ValueError(f"Number of dimensions in pattern ({len(left)}) must be equal to the number of dimensions "
                         f"in the tensor ({tensor.dim()})")
    sizes = dict(axes_lengths)
    elementary = []  # the input's elementary axes, in order
    dim = 0
    for g in left:
        if g == ["..."]:
            k = tensor.dim() - fixed
            for j in range(k):
                name = f"...{j}"
                sizes[name] = tensor.shape[dim + j]
                elementary.append(name)
            dim += k
            continue
        n = tensor.shape[dim]
        unknown = [a for a in g if a not in sizes and not a.isdigit()]
        known = math.prod(int(a) if a.isdigit() else sizes[a] for a in g if a not in unknown)
        if len(unknown) > 1:
            raise ValueError(f"Could not infer sizes for {unknown}")
        if unknown:
            if n % max(known, 1):
                raise ValueError(f"Shape mismatch, can't divide axis of length {n} in chunks of {known}")
            sizes[unknown[0]] = n // known
        elif known != n:
            raise ValueError(f"Shape mismatch, {known} != {n}")
        elementary += [a for a in g if not a.isdigit()]
        dim += 1
    order, out_shape = [], []
    ell_names = [a for a in elementary if a.startswith("...")]
    for g in right:
        if g == ["..."]:
            order += [elementary.index(a) for a in ell_names]
            out_shape += [sizes[a] for a in ell_names]
            continue
        names = []
        for a in g:
            if a == "...":
                names += ell_names
            elif not a.isdigit():
                names.append(a)
        for a in names:
            if a not in elementary:
                raise ValueError(f"Unknown axis {a} on the right side of the pattern")
        order += [elementary.index(a) for a in names]
        out_shape.append(math.prod(sizes[a] for a in names) if names else 1)
    if sorted(order) != list(range(len(elementary))):
        raise ValueError(f"Identifiers only on one side of the expression (should be on both): {pattern!r}")
    x = tensor.reshape(*[sizes[a] for a in elementary]) if elementary else tensor.reshape(())
    return x.permute(*order).reshape(*out_shape) if order else x.reshape(*out_shape)
