"""``nn.utils.stateless.functional_call``: the deprecated spelling of ``ember.func.functional_call``.

Calls a module with some of its parameters/buffers replaced by the given tensors for one call, then puts the
originals back. The implementation lives in ``ember/func/functional_call.py``.
"""
import warnings

from ember.func.functional_call import functional_call as _functional_call

__all__ = ["functional_call"]


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with ``parameters_and_buffers`` ({dotted name: tensor}) swapped in.

    ``tie_weights``: names that share one tensor in the module get the same replacement; ``strict``: every
    parameter and buffer must be given, and nothing else. Deprecated: use ``ember.func.functional_call``.
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed "
                  "in a future version of PyTorch. Please use `torch.func.functional_call` instead which is a "
                  "drop-in replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
