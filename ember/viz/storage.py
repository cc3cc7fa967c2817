"""Storage and strides, drawn: which memory cells a tensor reads, and in which order (lesson 004).

A tensor is a window onto a flat *storage*: element ``[i, j, k]`` lives in cell
``offset + i*stride[0] + j*stride[1] + k*stride[2]``. ``view``, ``t()``, slicing, ``expand`` and
``as_strided`` make new windows onto the same cells (no copy); ``contiguous()`` and a ``reshape`` that
cannot be a view copy the cells into a new storage. :func:`explain` prints this; :func:`draw_storage`
draws it (matplotlib).
"""
import numpy as np

__all__ = ["cells", "explain", "draw_storage"]

_MAX_CELLS = 64  # cells drawn per storage / per tensor before the diagram says "..."


def cells(t):
    """The storage cell each element of ``t`` reads, as an int array of ``t``'s shape (reading order =
    ``cells(t).ravel()``): ``storage_offset + sum(index[d] * stride[d])``."""
    idx = np.full(tuple(t.shape), t.storage_offset(), dtype=np.int64)
    for d, (n, s) in enumerate(zip(t.shape, t.stride())):
        shape = [1] * len(t.shape)
        shape[d] = n
        idx = idx + np.arange(n, dtype=np.int64).reshape(shape) * s
    return idx


def _storage_values(t):
    """The storage's cells as a flat array of ``t``'s dtype (host memory)."""
    root = t._storage_root()
    host = root if isinstance(root, np.ndarray) else root.get()
    flat = host.reshape(-1)
    if flat.dtype != t._data.dtype:
        flat = flat.view(np.uint8).view(t._data.dtype if not hasattr(t._data.dtype, "type") else t._data.dtype)
    return flat


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, (bool, np.bool_)):
        return "T" if v else "F"
    return str(v)


def _names(tensors, names):
    if names is None:
        return [chr(ord("A") + i) if i < 26 else f"T{i}" for i in range(len(tensors))]
    names = list(names)
    if len(names) != len(tensors):
        raise ValueError(f"explain: got {len(tensors)} tensors but {len(names)} names")
    return names


def _group_by_storage(tensors):
    """[(storage pointer, [tensor indices])] in order of first appearance."""
    groups = {}
    for i, t in enumerate(tensors):
        groups.setdefault(t.untyped_storage().data_ptr(), []).append(i)
    return list(groups.items())


def _grid(arr, width):
    """A small int/str array as aligned rows (2-D and up: the last two dims as a grid per leading index)."""
    text = np.array2string(np.asarray(arr), separator=" ", threshold=_MAX_CELLS, edgeitems=3,
                           formatter={"all": lambda v: str(v).rjust(width)})
    return text


def explain(t, *views, names=None):
    """A text diagram of the storage under ``t`` (and ``views``): its cells, and for each tensor its
    shape, stride, storage offset, contiguity and the cells it reads, in reading order. Tensors sharing a
    storage are listed under it together; a tensor with its own storage (a copy) gets its own.

    >>> x = ember.arange(6).view(2, 3)
    >>> print(ember.viz.explain(x, x.t(), names=["x", "x.t()"]))
    """
    from .._tensor import Tensor
    tensors = [t, *views]
    for v in tensors:
        if not isinstance(v, Tensor):
            raise TypeError(f"explain() expects tensors, got {type(v).__name__}")
    labels = _names(tensors, names)
    lines = []
    for k, (_, members) in enumerate(_group_by_storage(tensors), start=1):
        first = tensors[members[0]]
        values = _storage_values(first)
        n = values.size
        dtype = str(first.dtype).replace("torch.", "")
        shown = min(n, _MAX_CELLS)
        width = max([len(str(n - 1))] + [len(_fmt(v)) for v in values[:shown]])
        lines.append(f"storage #{k}: {n} cells of {dtype} ({values.nbytes} bytes), shared by "
                     f"{', '.join(labels[i] for i in members)}")
        more = " ..." if n > shown else ""
        lines.append("  cell  | " + " ".join(str(c).rjust(width) for c in range(shown)) + more)
        lines.append("  value | " + " ".join(_fmt(v).rjust(width) for v in values[:shown]) + more)
        for i in members:
            v = tensors[i]
            c = cells(v)
            flat = c.ravel()
            reads = np.zeros(n, dtype=np.int64)
            np.add.at(reads, flat[(flat >= 0) & (flat < n)], 1)
            mark = " ".join(("#" if r == 1 else (str(r) if r < 10 else "+") if r else ".").rjust(width)
                            for r in reads[:shown])
            contiguous = "contiguous" if v.is_contiguous() else "not contiguous"
            repeated = " (some cells read more than once: a stride of 0 / overlapping windows)" \
                if flat.size and np.unique(flat).size < flat.size else ""
            lines.append("")
            lines.append(f"  {labels[i]}: shape {tuple(v.shape)}, stride {tuple(v.stride())}, "
                         f"offset {v.storage_offset()}, {contiguous}{repeated}")
            lines.append(f"  {'reads':5s} | {mark}{more}")
            order = " ".join(str(x) for x in flat[:_MAX_CELLS]) + (" ..." if flat.size > _MAX_CELLS else "")
            lines.append(f"  order: {order}")
            grid = _grid(c, len(str(n - 1)))
            lines.append("  cells by index:")
            lines.extend("    " + row for row in grid.split("\n"))
        lines.append("")
    if len(_group_by_storage(tensors)) > 1:
        lines.append("Tensors under different storages share no memory: a copy was made (contiguous(), a "
                     "reshape that could not be a view, clone()).")
    return "\n".join(lines).rstrip() + "\n"


def draw_storage(t, *views, names=None, path=None):
    """Draw :func:`explain`'s picture with matplotlib: each storage as a row of cells, each tensor as a grid
    of the cells it reads (same colour = same memory cell). Saves to ``path`` (PNG/SVG/PDF by suffix)
    when given; returns the matplotlib Figure."""
    import matplotlib
    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    tensors = [t, *views]
    labels = _names(tensors, names)
    groups = _group_by_storage(tensors)
    rows = []  # (kind, payload) drawn top to bottom
    for k, (_, members) in enumerate(groups, start=1):
        rows.append(("storage", (k, tensors[members[0]], [labels[i] for i in members])))
        for i in members:
            rows.append(("tensor", (labels[i], tensors[i])))
    heights = []
    for kind, payload in rows:
        if kind == "storage":
            heights.append(1.6)
        else:
            c = cells(payload[1])
            r = int(np.prod(c.shape[:-1])) if c.ndim > 1 else 1
            heights.append(1.0 + min(r, 16) * 0.6)
    n_max = max(min(_storage_values(tensors[m[0]]).size, _MAX_CELLS) for _, m in groups)
    fig, axes = plt.subplots(len(rows), 1, figsize=(max(7.5, 0.55 * n_max + 2), sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    cmap = plt.get_cmap("tab20")
    for ax, (kind, payload) in zip(axes[:, 0], rows):
        ax.set_axis_off()
        if kind == "storage":
            k, first, members = payload
            values = _storage_values(first)[:_MAX_CELLS]
            for c, v in enumerate(values):
                ax.add_patch(plt.Rectangle((c, 0), 0.95, 0.95, color=cmap(c % 20), alpha=0.55))
                ax.text(c + 0.47, 0.47, _fmt(v), ha="center", va="center", fontsize=8)
                ax.text(c + 0.47, 1.15, str(c), ha="center", va="center", fontsize=7, color="0.4")
            ax.set_xlim(-0.2, n_max + 0.2)
            ax.set_ylim(-0.2, 1.5)
            ax.set_aspect("equal")
            ax.set_title(f"storage #{k}: cell numbers above, values inside; shared by {', '.join(members)}",
                         fontsize=9, loc="left")
        else:
            name, v = payload
            c = cells(v)
            grid = c.reshape(-1, c.shape[-1]) if c.ndim > 1 else c.reshape(1, -1)
            grid = grid[:16, :_MAX_CELLS]
            for r, row in enumerate(grid):
                for j, cell in enumerate(row):
                    ax.add_patch(plt.Rectangle((j, -r), 0.95, 0.95, color=cmap(int(cell) % 20), alpha=0.55))
                    ax.text(j + 0.47, -r + 0.47, str(cell), ha="center", va="center", fontsize=8)
            ax.set_xlim(-0.2, n_max + 0.2)
            ax.set_ylim(-grid.shape[0] + 0.8, 1.2)
            ax.set_aspect("equal")
            state = "contiguous" if v.is_contiguous() else "not contiguous"
            ax.set_title(f"{name}: shape {tuple(v.shape)}, stride {tuple(v.stride())}, offset "
                         f"{v.storage_offset()}, {state}", fontsize=9, loc="left")
    fig.suptitle("each tensor grid shows, per element, the storage cell it reads (same colour = same memory)",
                 fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
        plt.close(fig)
    return fig
