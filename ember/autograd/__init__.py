"""Reverse-mode automatic differentiation (torch.autograd).

- ``function.py``: ``Function`` (the one door for every op) and the graph ``Node``;
- ``engine.py``: ``backward`` and ``grad``, walking the graph in reverse topological order;
- ``grad_mode.py``: ``no_grad`` and friends; ``gradcheck.py``: finite-difference checks;
- ``anomaly_mode.py``: ``set_detect_anomaly``; ``profiler.py``: ``profile`` and ``record_function``.
"""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled  # noqa: F401
from .function import Function, once_differentiable, Node  # noqa: F401
from .function import FunctionCtx  # noqa: F401
from .engine import backward, grad  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401
from .anomaly_mode import set_detect_anomaly, detect_anomaly, is_anomaly_enabled  # noqa: F401
from . import function, graph  # noqa: F401


def __getattr__(name):
    if name in ("functional", "profiler", "profiler_util"):  # loaded on first use (functional imports ember.func)
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'ember.autograd' has no attribute '{name}'")


class Variable:
    """Deprecated torch.autograd.Variable: ``Variable(t, requires_grad=...)`` returns a tensor."""

    def __new__(cls, data, requires_grad=False):
        t = data.detach()
        t.requires_grad_(requires_grad)
        return t
