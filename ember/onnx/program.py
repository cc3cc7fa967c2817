"""``ONNXProgram``: an exported model held in memory (what ``torch.onnx.export(..., dynamo=True)`` returns).

It wraps the ``onnx.ModelProto``; ``save(path)`` writes the file and calling the program runs it in
onnxruntime (started on first use) on tensors, returning tensors — a quick check that the export computes
what the model does.
"""

__all__ = ["ONNXProgram"]


class ONNXProgram:
    def __init__(self, model_proto):
        self._proto = model_proto
        self._session = None

    @property
    def model_proto(self):
        """The ``onnx.ModelProto``."""
        return self._proto

    def save(self, destination, *, include_initializers=True, keep_initializers_as_inputs=False,
             external_data=None):
        """Write the model to ``destination`` (a path or a binary file object)."""
        import onnx
        proto = self._proto
        if not include_initializers:
            proto = onnx.ModelProto()
            proto.CopyFrom(self._proto)
            del proto.graph.initializer[:]
        if hasattr(destination, "write"):
            destination.write(proto.SerializeToString())
        else:
            onnx.save(proto, str(destination), save_as_external_data=bool(external_data))

    def initialize_inference_session(self, initializer=None):
        """Start the onnxruntime session ``__call__`` uses (``initializer(model_bytes)`` makes one)."""
        data = self._proto.SerializeToString()
        if initializer is not None:
            self._session = initializer(data)
            return
        try:
            import onnxruntime
        except ImportError as e:
            raise ImportError('running an exported model needs onnxruntime: pip install "ember[onnx]"') from e
        self._session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])

    def release(self):
        """Drop the inference session."""
        self._session = None

    def __call__(self, *args, **kwargs):
        """Run the model in onnxruntime on tensors (positional, then by input name); returns a list of tensors."""
        from .. import tensor
        if self._session is None:
            self.initialize_inference_session()
        names = [i.name for i in self._session.get_inputs()]
        feeds = {n: a.detach().cpu().numpy() if hasattr(a, "_data") else a for n, a in zip(names, args)}
        feeds.update({k: v.detach().cpu().numpy() if hasattr(v, "_data") else v for k, v in kwargs.items()})
        return [tensor(o) for o in self._session.run(None, feeds)]

    def __repr__(self):
        g = self._proto.graph
        return (f"ONNXProgram(inputs={[i.name for i in g.input]}, outputs={[o.name for o in g.output]}, "
                f"nodes={len(g.node)}, opset={self._proto.opset_import[0].version})")
