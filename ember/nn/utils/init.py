"""``skip_init``: build a module whose parameters and buffers are left uninitialised (like ``torch.empty``)."""
import inspect

from ..module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with fresh, uninitialised storage for every parameter and buffer.

    For when a custom initialisation (or a checkpoint load) follows anyway. As in torch, the class must take
    a ``device`` argument. Ember has no "meta" device, so the module is built normally and then moved to
    empty storage of the same shapes (``Module.to_empty``).
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs).to_empty(device=device)
