"""The autograd graph behind a result, as text or as a picture (lessons 002/003).

Every op that ran with grad enabled left a node (``y.grad_fn``, named as torch names it:
``AddmmBackward0``); ``node.next_functions`` points at the nodes that made its inputs, down to one
``AccumulateGrad`` per leaf tensor (the parameters), where ``backward()`` deposits ``.grad``.
:func:`graph_text` prints that walk as a tree; :func:`draw_graph` draws it like torchviz's ``make_dot``
(Graphviz's ``dot`` when installed, else a layered layout drawn with matplotlib).
"""
import shutil
import subprocess

from ..autograd.engine import _stashes_data

__all__ = ["graph", "graph_text", "draw_graph", "Graph"]


class Graph:
    """The walked graph: ``nodes`` (dicts with id, label, kind, name) in walk order, ``edges`` as
    ``(from_id, to_id)`` -- from an input's node to the node that consumed it, the direction data flowed
    forward -- and ``source``, the Graphviz DOT text. Save with :meth:`save`."""

    def __init__(self, nodes, edges, roots):
        self.nodes, self.edges, self.roots = nodes, edges, roots

    @property
    def source(self):
        style = {"output": 'fillcolor="darkolivegreen1"', "leaf": 'fillcolor="lightblue"', "op": 'fillcolor="lightgrey"'}
        lines = ["digraph {", '  graph [rankdir=BT]', '  node [shape=box style="filled,rounded" fontname=monospace '
                 'fontsize=10]']
        for n in self.nodes:
            label = n["label"].replace('"', r'\"').replace("\n", r"\n")
            extra = ' color="orange" penwidth=2' if n.get("retains_grad") else ""
            lines.append(f'  n{n["id"]} [label="{label}" {style[n["kind"]]}{extra}]')
        lines += [f"  n{a} -> n{b}" for a, b in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save(self, path):
        """Write the picture; the format comes from the suffix (.svg, .png, .pdf, or .dot for the source)."""
        path = str(path)
        fmt = path.rsplit(".", 1)[-1].lower() if "." in path else "svg"
        if fmt in ("dot", "gv"):
            with open(path, "w") as f:
                f.write(self.source)
            return path
        dot = shutil.which("dot")
        if dot is not None:
            subprocess.run([dot, f"-T{fmt}", "-o", path], input=self.source.encode(), check=True,
                           capture_output=True)
            return path
        fig = self.figure()
        fig.savefig(path, format=fmt)
        import matplotlib.pyplot as plt
        plt.close(fig)
        return path

    def figure(self):
        """The graph drawn with matplotlib: nodes in layers by their distance from the output."""
        import matplotlib.pyplot as plt
        depth = {}
        children = {}
        for a, b in self.edges:
            children.setdefault(b, []).append(a)
        order = [n["id"] for n in self.nodes]
        for r in self.roots:
            depth[r] = 0
        for nid in order:  # nodes come in walk order from the roots, so parents are placed first
            for c in children.get(nid, ()):
                depth[c] = max(depth.get(c, 0), depth.get(nid, 0) + 1)
        for _ in range(len(order)):  # settle longest-path depths (a node below all its consumers)
            changed = False
            for a, b in self.edges:
                if depth.get(a, 0) < depth.get(b, 0) + 1:
                    depth[a] = depth.get(b, 0) + 1
                    changed = True
            if not changed:
                break
        layers = {}
        for nid in order:
            layers.setdefault(depth.get(nid, 0), []).append(nid)
        width = max(len(v) for v in layers.values())
        height = max(layers) + 1
        fig, ax = plt.subplots(figsize=(max(4.0, 2.6 * width), max(2.0, 1.0 * height + 0.5)))
        ax.set_axis_off()
        pos = {}
        for d, ids in layers.items():
            for i, nid in enumerate(ids):
                pos[nid] = ((i + 0.5) * width / len(ids), height - d)
        by_id = {n["id"]: n for n in self.nodes}
        colors = {"output": "#caff70", "leaf": "#add8e6", "op": "#d3d3d3"}
        for a, b in self.edges:
            ax.annotate("", xy=pos[b], xytext=pos[a], arrowprops=dict(arrowstyle="->", color="0.35",
                                                                      shrinkA=14, shrinkB=14))
        for nid, (x, y) in pos.items():
            n = by_id[nid]
            ax.text(x, y, n["label"], ha="center", va="center", fontsize=8, family="monospace",
                    bbox=dict(boxstyle="round,pad=0.4", fc=colors[n["kind"]],
                              ec="orange" if n.get("retains_grad") else "0.3",
                              lw=2 if n.get("retains_grad") else 0.8))
        ax.set_xlim(-0.2, width + 0.2)
        ax.set_ylim(0.4, height + 0.6)
        fig.tight_layout()
        return fig

    def _repr_svg_(self):  # notebooks show the picture
        import io
        import matplotlib.pyplot as plt
        if shutil.which("dot") is not None:
            return subprocess.run(["dot", "-Tsvg"], input=self.source.encode(), capture_output=True).stdout.decode()
        buf = io.StringIO()
        fig = self.figure()
        fig.savefig(buf, format="svg")
        plt.close(fig)
        return buf.getvalue()


def _shape(t):
    return "(" + ", ".join(str(s) for s in t.shape) + ("," if len(t.shape) == 1 else "") + ")"


def _retains(fn):
    hooks = getattr(fn, "_pre_hooks", None) or {}
    return any(getattr(h, "__name__", "") == "_keep" for hs in hooks.values() for h in hs)


def graph(*outputs, params=None, show_saved=False):
    """Walk the graph from ``outputs`` (tensors) through ``next_functions``; returns a :class:`Graph`.

    ``params``: ``dict(model.named_parameters())`` names the leaves; ``show_saved`` adds the shapes of the
    tensors each node saved for backward."""
    from .._tensor import Tensor
    names = {id(p): n for n, p in (params or {}).items()}
    nodes, edges, ids = [], [], {}
    roots = []

    def node_id(fn):
        return ids.get(id(fn))

    stack = []
    for k, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"graph() expects tensors, got {type(out).__name__}")
        oid = len(nodes)
        label = f"output{'' if len(outputs) == 1 else k}\n{_shape(out)}"
        nodes.append({"id": oid, "label": label, "kind": "output", "name": "output"})
        roots.append(oid)
        if out.grad_fn is not None:
            stack.append((out.grad_fn, oid))
        elif out.requires_grad:
            nodes[oid]["label"] = f"{names.get(id(out), 'leaf')}\n{_shape(out)}"
    while stack:
        fn, consumer = stack.pop(0)
        known = node_id(fn)
        if known is not None:
            edges.append((known, consumer))
            continue
        nid = ids[id(fn)] = len(nodes)
        var = getattr(fn, "variable", None)
        if var is not None:
            label = f"{names.get(id(var), 'leaf')}\n{_shape(var)}"
            nodes.append({"id": nid, "label": label, "kind": "leaf", "name": fn.name(), "param": names.get(id(var)),
                          "shape": tuple(var.shape)})
        else:
            label = fn.name()
            if show_saved:
                saved = [t for t, _ in getattr(fn, "_saved", ()) if t is not None]
                if getattr(fn, "_freed", False) or (getattr(fn, "_spent", False) and _stashes_data(fn)):
                    label += "\n(saved: freed by backward)"
                elif saved:
                    label += "\nsaved: " + " ".join(_shape(t) for t in saved)
            nodes.append({"id": nid, "label": label, "kind": "op", "name": fn.name(), "retains_grad": _retains(fn)})
        edges.append((nid, consumer))
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                stack.append((nxt, nid))
    return Graph(nodes, edges, roots)


def graph_text(*outputs, params=None, show_saved=False):
    """The graph as an indented tree, the output at the top and the leaves (named by ``params``) below::

        output (): NllLossBackward0
        └── LogSoftmaxBackward0
            └── AddmmBackward0
                ├── 2.bias (10,)
                ...
    A node reached a second time (its result used twice) is shown once and then referred to."""
    g = graph(*outputs, params=params, show_saved=show_saved)
    by_id = {n["id"]: n for n in g.nodes}
    inputs = {}
    for a, b in g.edges:
        inputs.setdefault(b, []).append(a)
    lines, shown = [], set()

    def one_line(n):
        text = n["label"].replace("\n", " ")
        if n.get("retains_grad"):
            text += "  [retains grad]"
        return text

    def visit(nid, prefix, last, top):
        n = by_id[nid]
        branch = "" if top else ("└── " if last else "├── ")
        if nid in shown and n["kind"] == "op":
            lines.append(f"{prefix}{branch}{n['name']} (used again: shown above)")
            return
        shown.add(nid)
        lines.append(f"{prefix}{branch}{one_line(n)}")
        kids = inputs.get(nid, [])
        for i, c in enumerate(kids):
            visit(c, prefix + ("" if top else ("    " if last else "│   ")), i == len(kids) - 1, False)

    for r in g.roots:
        visit(r, "", True, True)
    return "\n".join(lines) + "\n"


def draw_graph(*outputs, params=None, show_saved=False, path=None):
    """Draw the autograd graph like torchviz's ``make_dot``: grey op nodes named as torch names them,
    blue leaves named by ``params`` with their shapes, the output in green, retained grads outlined
    in orange. With ``path`` (``graph.svg``/``.png``/``.pdf``/``.dot``) the picture is written there and
    the path returned; without it the :class:`Graph` is returned (``.source``, ``.save()``, ``.figure()``)."""
    g = graph(*outputs, params=params, show_saved=show_saved)
    if path is None:
        return g
    return g.save(path)
