"""``add_graph``: a model's forward pass as a TensorBoard ``GraphDef``.

torch traces the model with TorchScript; Ember records the Functions one forward pass runs
(``ember.autograd.tracer``) and draws each as a node, grouped by the module it ran in, so TensorBoard shows
the module tree (``Net/fc1/Addmm``) with the tensors' shapes on the edges. Parameters and buffers appear as
nodes of their own, the inputs and outputs as ``IO Node`` s, as in torch's graphs.
"""
from tensorboardX.proto.attr_value_pb2 import AttrValue
from tensorboardX.proto.graph_pb2 import GraphDef
from tensorboardX.proto.node_def_pb2 import NodeDef
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboardX.proto.versions_pb2 import VersionDef

__all__ = ["graph"]


def _attrs(t, text=None):
    attr = {"dtype": AttrValue(s=str(t.dtype).encode())}
    if text:
        attr["attr"] = AttrValue(s=text.encode())
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in t.shape])
    attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=[shape]))
    return attr


def _flatten(obj):
    """The tensors in a nested structure of tuples/lists/dicts, in order."""
    from ... import Tensor
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _flatten(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flatten(o)]
    return []


def graph(model, args, verbose=False):
    """Run ``model(*args)`` once in eval mode, recording its Functions; return ``(GraphDef, None)``."""
    from ... import Tensor, no_grad
    from ...autograd.tracer import Tracer
    if args is None:
        args = ()
    elif not isinstance(args, (tuple, list)):
        args = (args,)
    args = tuple(args)
    was_training = model.training
    model.eval()
    try:
        with no_grad(), Tracer(model) as tr:
            out = model(*args)
    finally:
        model.train(was_training)
    root = type(model).__name__
    names, nodes = {}, []

    def scoped(scope, leaf):
        return "/".join([root] + (scope.split(".") if scope else []) + [leaf])

    for i, t in enumerate(_flatten(args)):
        names[id(t)] = f"input/input.{i}"
        nodes.append(NodeDef(name=names[id(t)], op="IO Node", attr=_attrs(t)))
    for kind, items in (("Parameter", model.named_parameters()), ("Buffer", model.named_buffers())):
        for name, p in items:
            scope, _, leaf = name.rpartition(".")
            names[id(p)] = scoped(scope, leaf)
            nodes.append(NodeDef(name=names[id(p)], op=kind, attr=_attrs(p)))
    counts = {}
    for c in tr.calls:
        op = c.fn.__name__
        inputs = []
        for a in list(c.args) + list(c.kwargs.values()):
            for t in _flatten(a):
                if id(t) not in names:  # a tensor made outside the recorded Functions: a constant
                    names[id(t)] = scoped(c.scope, f"Constant_{len(names)}")
                    nodes.append(NodeDef(name=names[id(t)], op="Constant", attr=_attrs(t)))
                inputs.append(names[id(t)])
        key = (c.scope, op)
        counts[key] = counts.get(key, 0) + 1
        name = scoped(c.scope, op if counts[key] == 1 else f"{op}_{counts[key] - 1}")
        outs = [o for o in c.output_list if isinstance(o, Tensor)]
        nodes.append(NodeDef(name=name, op=op, input=inputs, attr=_attrs(outs[0]) if outs else {}))
        for o in outs:
            names[id(o)] = name
    for i, t in enumerate(_flatten(out)):
        nodes.append(NodeDef(name=f"output/output.{i}", op="IO Node", input=[names.get(id(t), "input/input.0")],
                             attr=_attrs(t)))
    if verbose:
        for n in nodes:
            print(n.name, n.op, list(n.input))
    return GraphDef(node=nodes, versions=VersionDef(producer=22)), None  # (graph, run metadata: none kept)
