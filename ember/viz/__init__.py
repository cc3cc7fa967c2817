"""``ember.viz`` -- pictures of what the lessons teach, built in (PyTorch needs torchviz, torchinfo and
TensorBoard for these, and has nothing for storage and strides).

- ``storage.py``: :func:`explain` / :func:`draw_storage` -- the cells a tensor and its views read.
- ``graph.py``: :func:`graph_text` / :func:`draw_graph` -- the autograd graph behind a loss.
- ``summary.py``: :func:`summary` (also ``ember.summary``) -- a torchinfo-style table of a model.
- ``report.py``: :func:`write_report` -- the self-contained ``report.html`` of an ``ember train`` run.
"""
from .graph import Graph, draw_graph, graph, graph_text
from .storage import cells, draw_storage, explain
from .summary import ModelSummary, summary
from .report import write_report

__all__ = ["cells", "explain", "draw_storage", "graph", "graph_text", "draw_graph", "Graph", "summary", "ModelSummary", "write_report"]
