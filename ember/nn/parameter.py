"""Parameter and Buffer: tensors that a Module registers when they are assigned as attributes.

``Parameter(data)`` is a Tensor subclass over the *same* array as ``data`` (no copy) that is a leaf and
requires grad by default. Assigning one to a Module attribute adds it to ``module.parameters()``;
a plain Tensor attribute is not registered (it may be a temporary such as an RNN's last state).
Operations on Parameters return ordinary Tensors.

``Buffer(data, persistent=True)`` (torch 2.x ``nn.Buffer``) marks a tensor to be registered as a
buffer on assignment: state saved in ``state_dict`` but not trained (e.g. running statistics).
"""
import ember
from ember._tensor import Tensor, wrap

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"]


def _share(cls, data, requires_grad):
    """A new ``cls`` instance over ``data``'s array and version counter, a leaf."""
    t = object.__new__(cls)
    t._data = data._data
    t._requires_grad = False
    t.grad = None
    t.grad_fn = None
    t._vc = data._vc
    t._base = None
    t._output_nr = 0
    t._accum = None
    t.requires_grad_(requires_grad)
    return t


class Parameter(Tensor):
    r"""A Tensor that is a module parameter: ``nn.Parameter(torch.randn(3, 4))``.

    Shares memory with ``data``, is a leaf, and has ``requires_grad=True`` unless told otherwise
    (even inside ``no_grad()``). Prints as ``Parameter containing:`` followed by the tensor.
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = ember.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        return _share(cls, data, requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(wrap(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            result.grad = wrap(self.grad._data.copy())
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        import numpy as np
        return (_rebuild_parameter, (np.asarray(self.__array__()), self.requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


def _rebuild_parameter(arr, requires_grad):
    return Parameter(wrap(arr), requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute.

    ``self.running_mean = nn.Buffer(torch.zeros(4))`` is ``self.register_buffer("running_mean", ...)``;
    ``persistent=False`` keeps it out of ``state_dict``. The module stores a plain Tensor over the
    same memory.
    """

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = ember.empty(0)
        t = _share(cls, data, data.requires_grad)
        t.persistent = persistent
        return t

    def __repr__(self):
        return repr(_share(Tensor, self, self.requires_grad))

    __str__ = __repr__


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (lazy modules): empty until ``materialize(shape)``, which
    gives it storage of that shape and turns it into a plain ``Parameter``."""
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return _share(cls, ember.empty(0, device=device, dtype=dtype), requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        self._data = ember.empty(shape, device=device or self.device, dtype=dtype or self.dtype)._data
        self.__class__ = self.cls_to_become

    def __repr__(self):
        return "<UninitializedParameter>"


class UninitializedBuffer(Tensor):
    """A buffer whose shape is not known yet; ``materialize(shape)`` turns it into a plain Tensor."""

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        return _share(cls, ember.empty(0, device=device, dtype=dtype), requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        self._data = ember.empty(shape, device=device or self.device, dtype=dtype or self.dtype)._data
        self.__class__ = Tensor

    def __repr__(self):
        return "<UninitializedBuffer>"
