"""torch.compile and torch.compiler -- in Ember, entry points that run eagerly.

PyTorch's ``torch.compile`` captures the Python bytecode of a model (TorchDynamo) into a graph and
hands it to a code generator (Inductor) that fuses operations into new kernels. Ember has no code
generator: every op already is one NumPy call, and its graph is the autograd graph built as the
program runs. So ``ember.compile(model)`` checks its arguments as torch does and returns something
that runs the *same Python* eagerly -- equal results, no speed-up:

* for an ``nn.Module``: an :class:`OptimizedModule` wrapping it, as torch returns (so its
  ``state_dict`` keys carry torch's ``_orig_mod.`` prefix, and attributes read through);
* for a function: a wrapper calling it;
* with no model (``@torch.compile(mode=...)``): a decorator doing one of the above.
"""
import functools

from .nn.module import Module

__all__ = ["compile", "OptimizedModule", "is_compiling", "is_dynamo_compiling", "is_exporting", "disable",
           "reset", "allow_in_graph", "assume_constant_result", "list_backends"]

_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class OptimizedModule(Module):
    """What ``compile(module)`` returns: calls the original module (``_orig_mod``) eagerly."""

    def __init__(self, mod, dynamo_ctx=None):
        super().__init__()
        self._orig_mod = mod
        self.dynamo_ctx = dynamo_ctx
        self.training = mod.training

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            name=None, disable=False, recompile_limit=None, isolate_recompiles=False, shapes_spec=None):
    """Return ``model`` ready to call, computing exactly what it computes (eagerly; see the module doc).

    Accepts torch's keywords; ``mode`` and ``options`` together, or an unknown ``mode``, raise
    torch's RuntimeError. ``disable=True`` returns ``model`` itself."""
    if model is None:
        def fn(model):
            if model is None:
                raise RuntimeError("Model can't be None")
            return compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                           options=options, name=name, disable=disable)
        return fn
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if not callable(model):
        raise RuntimeError(f"compile: expected a callable (an nn.Module or a function), got "
                           f"{type(model).__name__}")
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model)

    @functools.wraps(model)
    def compiled(*args, **kwargs):
        return model(*args, **kwargs)
    compiled._torchdynamo_orig_callable = model
    return compiled


def is_compiling():
    """False: Ember never traces a program into a graph, so code always runs as plain Python."""
    return False


is_dynamo_compiling = is_compiling


def is_exporting():
    return False


def disable(fn=None, recursive=True, *, reason=None):
    """Exclude ``fn`` from compilation: here everything runs eagerly already, so ``fn`` is returned."""
    if fn is None:
        return lambda f: f
    return fn


def reset():
    """Clear compilation caches (there are none)."""


def allow_in_graph(fn):
    return fn


def assume_constant_result(fn):
    return fn


def list_backends(exclude_tags=("debug", "experimental")):
    """The compile backends; Ember's one is eager execution."""
    return ["eager"]
