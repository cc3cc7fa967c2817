"""ONNX export (torch.onnx): ``export(model, args, "model.onnx")`` writes the forward pass as an ONNX graph.

Ember records the Functions one forward pass runs and translates each into ONNX nodes (``export.py``:
the steps; ``symbolic.py``: the table of translations; ``builder.py``: the graph under construction;
``errors.py``: torch's exceptions; ``program.py``: the exported model in memory). Writing the file needs
the onnx package, an optional extra: ``pip install "ember[onnx]"`` (which also brings onnxruntime, to run
the exported file).
"""
from . import errors  # noqa: F401
from .errors import OnnxExporterError, UnsupportedOperatorError  # noqa: F401
from .export import export, is_in_onnx_export, TrainingMode, OperatorExportTypes, select_model_mode_for_export  # noqa
from .program import ONNXProgram  # noqa: F401

__all__ = ["export", "is_in_onnx_export", "TrainingMode", "OperatorExportTypes", "select_model_mode_for_export",
           "ONNXProgram", "errors", "OnnxExporterError", "UnsupportedOperatorError"]
