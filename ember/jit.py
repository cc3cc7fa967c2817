"""torch.jit (TorchScript) entry points -- in Ember they run the model eagerly.

TorchScript compiles a model's Python into a static, typed program (``script``) or records the ops one
call runs (``trace``), so it can run without Python and be saved with its code. Ember has no second
language: ``script`` and ``trace`` return the module or function itself, which computes exactly the
same thing when called (``trace`` does not run the example inputs, so nothing -- BatchNorm statistics,
random numbers -- moves). ``isinstance(m, torch.jit.ScriptModule)`` holds for what they returned.

``save``/``load`` keep a scripted or traced *module* in Ember's whole-object format (safetensors plus
its class's import path and attributes, never pickle), and ``load`` rebuilds it by importing that
class. A function cannot be saved that way (its code is not data), and a real TorchScript archive
written by PyTorch cannot be read (it holds TorchScript code); both give a clear error.
"""
import warnings
import weakref

from .nn.module import Module

__all__ = ["script", "trace", "trace_module", "save", "load", "ScriptModule", "ScriptFunction", "ignore",
           "unused", "export", "is_scripting", "is_tracing", "freeze", "optimize_for_inference", "annotate",
           "Final", "Attribute", "interface", "fork", "wait", "enable_onednn_fusion", "onednn_fusion_enabled"]

_scripted = weakref.WeakSet()      # modules/functions returned by script/trace (for isinstance)


class _Marked(type):
    def __instancecheck__(cls, obj):
        try:
            return obj in _scripted and (isinstance(obj, Module) == (cls is ScriptModule))
        except TypeError:
            return False


class ScriptModule(Module, metaclass=_Marked):
    """``isinstance(m, ScriptModule)`` is True for a module returned by ``script``/``trace``."""


class ScriptFunction(metaclass=_Marked):
    """``isinstance(f, ScriptFunction)`` is True for a function returned by ``script``/``trace``."""


def _deprecated(name, instead="`torch.compile` or `torch.export`"):
    """torch 2.13 deprecates TorchScript's entry points with this DeprecationWarning."""
    warnings.warn(f"`torch.jit.{name}` is deprecated. Please switch to {instead}.", DeprecationWarning,
                  stacklevel=3)


def _mark(obj):
    try:
        _scripted.add(obj)
    except TypeError:   # builtins and bound methods cannot be weakly referenced: returned unmarked
        pass
    return obj


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """Return ``obj`` (an ``nn.Module``, function or class) to be run eagerly; see the module doc."""
    _deprecated("script")
    if not callable(obj):
        raise RuntimeError(f"Type '{type(obj)}' cannot be compiled since it inherits from nn.Module, pass an "
                           "instance instead" if isinstance(obj, type) else
                           f"Type '{type(obj).__name__}' cannot be compiled")
    return obj if isinstance(obj, type) else _mark(obj)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs=True):
    """Return ``func`` (module or function) to be run eagerly; ``example_inputs`` are not run."""
    _deprecated("trace")
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("example_kwarg_inputs or example_inputs must be provided")
    if not callable(func):
        raise RuntimeError(f"trace: expected a function or an nn.Module, got {type(func).__name__}")
    return _mark(func)


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
                 strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
                 example_inputs_is_kwarg=False, _store_inputs=True):
    """Trace the methods named in ``inputs`` (a dict name -> example); returns ``mod`` itself."""
    if not isinstance(mod, Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    if not isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    return _mark(mod)


def save(m, f, _extra_files=None):
    """Save a scripted/traced module in Ember's whole-object format (no pickle); see the module doc."""
    _deprecated("save", "`torch.export`")
    if not isinstance(m, Module):
        raise RuntimeError(f"torch.jit.save: Ember can save a scripted or traced nn.Module, not a "
                           f"{type(m).__name__}: a function's code cannot be stored without pickle. Save the "
                           "module that calls it, or keep the function in your source.")
    from .serialization import save as _save
    _save(m, f)


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    """Load a module saved by ``ember.jit.save`` (rebuilt by importing its class); see the module doc."""
    _deprecated("load", "`torch.export`")
    from .serialization import load as _load
    return _mark(_load(f, map_location=map_location, weights_only=False))


def ignore(drop=False, **kwargs):
    """Leave a function to Python (everything is Python here); usable as ``@ignore`` or ``@ignore(drop=...)``."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def is_scripting():
    """False: code is never being compiled to TorchScript."""
    return False


def is_tracing():
    return False


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """torch inlines parameters as constants; here the (eval-mode) module is returned as it is."""
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. Please call "
                           ".eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    return freeze(mod.eval()) if mod.training else mod


def annotate(the_type, the_value):
    """A type hint for the TorchScript compiler: returns ``the_value``."""
    return the_value


class _FinalMeta(type):
    def __getitem__(cls, item):
        return item


class Final(metaclass=_FinalMeta):
    """``Final[int]``: a constant attribute in TorchScript; only a hint here."""


def Attribute(value, type=None):
    return value


class _Future:
    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value


def fork(func, *args, **kwargs):
    """Run ``func`` now (Ember has no TorchScript thread pool); ``wait`` returns its result."""
    return _Future(func(*args, **kwargs))


def wait(future):
    return future.wait()


def enable_onednn_fusion(enabled):
    """Accepted; no fusion here."""


def onednn_fusion_enabled():
    return False
