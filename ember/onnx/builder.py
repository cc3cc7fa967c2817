"""``GraphBuilder``: an ONNX graph under construction, as the exporter fills it in.

An ONNX model is a list of nodes (``op_type``, input names, output names, attributes) in topological
order, plus *initializers* (named constant tensors: the weights) and typed graph inputs/outputs. Values
are referred to only by name. The builder hands out unique names, turns NumPy constants into initializers,
remembers which node made each value (so a translator can look one step back: is this ``W^T``?) and at the
end drops the nodes and initializers no output depends on.
"""
import numpy as np

__all__ = ["GraphBuilder"]


class GraphBuilder:
    def __init__(self, opset):
        import onnx
        self.onnx = onnx
        self.opset = opset
        self.nodes = []
        self.initializers = {}      # name -> TensorProto
        self.producer = {}          # value name -> the NodeProto that outputs it
        self.scope = ""             # "/fc1" while translating a call made inside module fc1
        self._counts = {}

    def fresh(self, hint):
        """A name not used before: ``hint``, ``hint.1``, ``hint.2`` ..."""
        n = self._counts.get(hint, 0)
        self._counts[hint] = n + 1
        return hint if n == 0 else f"{hint}.{n}"

    def op(self, op_type, *inputs, n_out=1, **attrs):
        """Append a node; returns its output name (a list when ``n_out > 1``). ``None`` inputs become ''
        (an omitted optional input)."""
        name = self.fresh(f"{self.scope}/{op_type}")
        outs = [self.fresh(f"{name}_output_{i}") for i in range(n_out)]
        node = self.onnx.helper.make_node(op_type, ["" if i is None else i for i in inputs], outs, name=name,
                                          **{k: v for k, v in attrs.items() if v is not None})
        self.nodes.append(node)
        for o in outs:
            self.producer[o] = node
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=None, name=None):
        """An initializer holding ``value`` (a NumPy array or a number, cast to ``dtype`` if given)."""
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(name or f"onnx::Constant")
        self.initializers[name] = self.onnx.numpy_helper.from_array(np.ascontiguousarray(arr), name)
        return name

    def ints(self, values):
        """A 1-D int64 constant (shapes, axes, split sizes)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1), name="onnx::Ints")

    def made_by(self, name, op_type):
        """The node of type ``op_type`` that produced ``name``, or None."""
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None

    def prune(self, outputs):
        """Keep only the nodes and initializers the graph ``outputs`` depend on."""
        needed, keep = set(outputs), []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                keep.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = keep[::-1]
        self.initializers = {k: v for k, v in self.initializers.items() if k in needed}
        return needed
