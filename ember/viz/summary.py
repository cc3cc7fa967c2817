"""``ember.summary(model, input_size=...)``: a torchinfo-style table of a model, from one forward pass.

Forward hooks on every submodule record, in call order, what each layer returned; the table lists each
layer nested under its parent with its output shape, its parameters (and whether they train), and the
multiply-adds its own computation takes. Totals count every parameter once (shared ones too), so
``Total params`` equals ``sum(p.numel() for p in model.parameters())``.
"""
import numpy as np

__all__ = ["summary", "ModelSummary"]

_WIDTH = {"layer": 42, "input_size": 22, "output_size": 22, "num_params": 13, "trainable": 10, "mult_adds": 14}
_TITLE = {"input_size": "Input Shape", "output_size": "Output Shape", "num_params": "Param #",
          "trainable": "Trainable", "mult_adds": "Mult-Adds"}


def _shapes(obj):
    """Shape(s) of what a layer took or returned: a list for one tensor, a list of lists for several."""
    from .._tensor import Tensor
    if isinstance(obj, Tensor):
        return list(obj.shape)
    if isinstance(obj, (list, tuple)):
        found = [_shapes(o) for o in obj]
        found = [f for f in found if f is not None]
        if not found:
            return None
        return found[0] if len(found) == 1 else found
    if isinstance(obj, dict):
        return _shapes(list(obj.values()))
    return None


def _numel_bytes(obj):
    from .._tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, (list, tuple)):
        return sum(_numel_bytes(o) for o in obj)
    if isinstance(obj, dict):
        return sum(_numel_bytes(o) for o in obj.values())
    return 0


def _first_tensor(obj):
    from .._tensor import Tensor
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _mult_adds(module, inputs, output):
    """Multiply-adds of the layer's own math (children count separately), counted as torchinfo does:
    Linear/Conv: (weight + bias elements) x output positions; attention: projections + the two matmuls;
    RNNs: weight elements x time steps; elementwise layers and norms: 0."""
    from .. import nn
    out = _first_tensor(output)
    if out is None:
        return 0
    shape = list(out.shape)
    own = sum(p.numel() for p in module.parameters(recurse=False))
    if isinstance(module, (nn.Linear, getattr(nn, "Bilinear", ()))):  # weight and bias, per output row
        return int(own * int(np.prod(shape[:-1] or [1])))
    conv = tuple(getattr(nn, n) for n in ("Conv1d", "Conv2d", "Conv3d") if hasattr(nn, n))
    convt = tuple(getattr(nn, n) for n in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d") if hasattr(nn, n))
    if conv and isinstance(module, conv):
        return int(own * int(np.prod(shape[2:] or [1])) * shape[0])
    if convt and isinstance(module, convt):
        x = _first_tensor(inputs)
        return int(own * int(np.prod(list(x.shape)[2:] or [1])) * x.shape[0])
    if isinstance(module, nn.MultiheadAttention):
        q = _first_tensor(inputs)
        e = module.embed_dim
        tokens = q.numel() // e
        length = q.shape[1] if getattr(module, "batch_first", False) else q.shape[0]
        return int(4 * e * e * tokens + 2 * tokens * length * e)
    rnn = tuple(getattr(nn, n) for n in ("RNN", "LSTM", "GRU") if hasattr(nn, n))
    if rnn and isinstance(module, rnn):
        x = _first_tensor(inputs)
        steps = x.numel() // x.shape[-1]
        weights = sum(p.numel() for n, p in module.named_parameters() if "weight" in n)
        return int(weights * steps)
    return 0


class _Row:
    def __init__(self, module, name, depth, index, first_call):
        self.module, self.name, self.depth, self.index = module, name, depth, index
        self.first_call = first_call
        self.input_size = self.output_size = None
        self.output_bytes = 0
        self.mult_adds = 0
        self.params = 0          # parameters this row shows (not shown by a called descendant)
        self.trainable = "--"
        self.is_leaf = True


class ModelSummary:
    """The result of :func:`summary`: ``str()`` is the table; the numbers are attributes
    (``total_params``, ``trainable_params``, ``total_mult_adds``, ``rows`` ...)."""

    def __init__(self, model, rows, columns, depth, input_bytes, params_bytes, total, trainable, mult_adds,
                 pass_bytes):
        self.model, self.rows, self.columns, self.depth = model, rows, columns, depth
        self.total_params, self.trainable_params = total, trainable
        self.non_trainable_params = total - trainable
        self.total_mult_adds = mult_adds
        self.input_bytes, self.params_bytes, self.pass_bytes = input_bytes, params_bytes, pass_bytes

    @property
    def total_bytes(self):
        return self.input_bytes + self.params_bytes + self.pass_bytes

    def _cell(self, row, col):
        if col == "input_size":
            return str(row.input_size) if row.input_size is not None else "--"
        if col == "output_size":
            return str(row.output_size) if row.output_size is not None else "--"
        if col == "num_params":
            if not row.first_call:
                return "(recursive)"
            return f"{row.params:,}" if row.params else "--"
        if col == "trainable":
            return row.trainable
        if col == "mult_adds":
            return f"{row.mult_adds:,}" if row.mult_adds else "--"
        raise ValueError(f"unknown column {col!r}")

    def __str__(self):
        cols = list(self.columns)
        width = _WIDTH["layer"] + sum(_WIDTH[c] for c in cols)
        bar = "=" * width
        head = "Layer (type (var_name):depth-idx)".ljust(_WIDTH["layer"]) + "".join(
            _TITLE[c].ljust(_WIDTH[c]) for c in cols)
        lines = [bar, head.rstrip(), bar]
        for row in self.rows:
            if row.depth > self.depth:
                continue
            kind = type(row.module).__name__
            if row.depth == 0:
                label = f"{kind}"
            else:
                branch = "├─" if row.depth == 1 else "│    " * (row.depth - 1) + "└─"
                label = f"{branch}{kind} ({row.name.split('.')[-1]}): {row.depth}-{row.index}"
            if len(label) >= _WIDTH["layer"]:
                label = label[:_WIDTH["layer"] - 2] + "…"
            lines.append((label.ljust(_WIDTH["layer"]) + "".join(self._cell(row, c).ljust(_WIDTH[c] - 1) + " "
                                                              for c in cols)).rstrip())
        mb = 1e6
        lines += [bar,
                  f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}",
                  f"Total mult-adds (M): {self.total_mult_adds / 1e6:.2f}",
                  bar,
                  f"Input size (MB): {self.input_bytes / mb:.2f}",
                  f"Forward/backward pass size (MB): {self.pass_bytes / mb:.2f}",
                  f"Params size (MB): {self.params_bytes / mb:.2f}",
                  f"Estimated Total Size (MB): {self.total_bytes / mb:.2f}",
                  bar]
        return "\n".join(lines)

    __repr__ = __str__


def _make_input(input_size, dtypes, device):
    import ember
    sizes = input_size
    if isinstance(sizes, (list, tuple)) and sizes and all(isinstance(s, int) for s in sizes):
        sizes = [tuple(sizes)]
    dtypes = list(dtypes) if dtypes is not None else [ember.float32] * len(sizes)
    out = []
    for size, dt in zip(sizes, dtypes):
        if dt.is_floating_point:
            out.append(ember.rand(*size, dtype=dt, device=device))
        else:
            out.append(ember.zeros(*size, dtype=dt, device=device))
    return out


def summary(model, input_size=None, input_data=None, batch_dim=None, dtypes=None, device=None, depth=3,
            col_names=("output_size", "num_params", "trainable", "mult_adds"), verbose=None, **kwargs):
    """A torchinfo-style summary of ``model`` (``ember.summary(model, input_size=(1, 1, 28, 28))``).

    Give ``input_size`` (a shape, or a list of shapes for several inputs; ``dtypes`` per input, float32
    by default) or ``input_data`` (tensors, a tuple of them, or a dict of keyword arguments). The model
    runs once under ``no_grad`` in its current train/eval mode. Rows deeper than ``depth`` are hidden
    (their numbers still count in the totals). ``verbose=1`` (or None) prints the table too, as torchinfo.
    """
    import ember
    if input_data is None and input_size is None:
        raise ValueError("summary() needs input_size or input_data to run a forward pass")
    for c in col_names:
        if c not in _TITLE:
            raise ValueError(f"unknown column {c!r}; choose from {sorted(_TITLE)}")
    if input_data is None:
        args, kw = _make_input(input_size, dtypes, device), {}
    elif isinstance(input_data, dict):
        args, kw = [], dict(input_data)
    elif isinstance(input_data, (list, tuple)):
        args, kw = list(input_data), {}
    else:
        args, kw = [input_data], {}
    kw.update(kwargs)

    names = {id(m): n for n, m in model.named_modules()}
    rows, seen, counters, stack = [], set(), {}, []
    handles = []

    def pre(module, inputs):
        name = names.get(id(module), "")
        d = 0 if module is model else name.count(".") + 1
        parent = stack[-1] if stack else None
        key = (id(parent), d)
        counters[key] = counters.get(key, 0) + 1
        row = _Row(module, name, d, counters[key], id(module) not in seen)
        seen.add(id(module))
        row.input_size = _shapes(inputs)
        if parent is not None:
            parent.is_leaf = False
        rows.append(row)
        stack.append(row)

    def post(module, inputs, output):
        row = stack.pop()
        first = _first_tensor(output)  # a layer returning several tensors shows its first, as torchinfo
        row.output_size = list(first.shape) if first is not None else None
        row.output_bytes = _numel_bytes(output)
        row.mult_adds = _mult_adds(module, inputs, output)

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    try:
        with ember.no_grad():
            model(*args, **kw)
    finally:
        for h in handles:
            h.remove()

    # each parameter is shown on the deepest called row that owns it (torchinfo's rule), counted once
    shown = set()
    for row in sorted(rows, key=lambda r: -r.depth):
        if not row.first_call:
            continue
        own = [p for p in row.module.parameters() if id(p) not in shown]
        for p in own:
            shown.add(id(p))
        row.params = sum(p.numel() for p in own)
        if own:
            flags = {p.requires_grad for p in own}
            row.trainable = "True" if flags == {True} else ("False" if flags == {False} else "Partial")
    params = {id(p): p for p in model.parameters()}.values()
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    params_bytes = sum(p.numel() * p.element_size() for p in params)
    input_bytes = _numel_bytes(args) + _numel_bytes(kw)
    pass_bytes = 2 * sum(r.output_bytes for r in rows if r.is_leaf)  # every leaf layer's output and its gradient
    result = ModelSummary(model, rows, col_names, depth, input_bytes, params_bytes, total, trainable,
                          sum(r.mult_adds for r in rows), pass_bytes)
    if verbose is None or verbose >= 1:
        print(result)
    return result
