"""Parametrizations: let a module's tensor be computed from other tensors on every access.

``register_parametrization(m, "weight", P())`` moves ``m.weight`` into ``m.parametrizations.weight.original``
and turns ``m.weight`` into a property that returns ``P()(original)``. The optimizer trains ``original``;
the module only ever sees the constrained value (orthogonal, symmetric, unit-norm, ...). So that the
property can live on the class without touching other instances, the module's class is swapped for a
one-off subclass ``Parametrized<Name>``.

If ``P`` has ``right_inverse(X)``, registering (and assigning ``m.weight = X``) stores ``right_inverse(X)``
as the original, so that ``m.weight`` keeps its value. ``right_inverse`` may return a tuple of tensors:
they become ``original0, original1, ...`` and ``P.forward`` takes them all (weight_norm's ``g`` and ``v``).
"""
import contextlib

import ember
from ember import Tensor

from ..containers import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations", "transfer_parametrizations_and_params"]

_cache_depth = 0   # > 0 inside ``cached()``
_cache = {}        # (id(module), name) -> the value computed once inside ``cached()``


@contextlib.contextmanager
def cached():
    """Inside this context each parametrized tensor is computed once, on first access, and then reused.

    Useful when a weight is read many times in one forward (e.g. an RNN's recurrent weight per step).
    """
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if _cache_depth == 0:
            _cache.clear()


def _store(module, name, value, as_parameter):
    """Register ``value`` on ``module`` as a Parameter (trainable) or as a buffer."""
    if as_parameter:
        module.register_parameter(name, value if isinstance(value, Parameter)
                                  else Parameter(value, value.requires_grad))
    else:
        module.register_buffer(name, value)


def _check_same(shape, dtype, after, what):
    """A safe parametrization must give back a tensor of the original's shape and dtype."""
    if not isinstance(after, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(after).__name__}.")
    if after.dtype != dtype:
        raise ValueError(f"{what} may not change the dtype of the tensor, unless `unsafe` flag is enabled.\n"
                         f"unparametrized dtype: {dtype}\nparametrized dtype: {after.dtype}")
    if after.shape != shape:
        raise ValueError(f"{what} may not change the shape of the tensor, unless `unsafe` flag is enabled.\n"
                         f"unparametrized shape: {shape}\nparametrized shape: {after.shape}")


class ParametrizationList(ModuleList):
    """The chain of parametrizations of one tensor, plus the tensor(s) they start from.

    ``forward()`` = ``P_n(...P_1(P_0(original)))``. ``original`` (or ``original0, original1, ...`` when
    ``P_0.right_inverse`` returns a sequence) is a Parameter when the tensor was one, else a buffer.
    """

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        as_parameter = isinstance(original, Parameter)
        shape, dtype = original.shape, original.dtype
        first = self[0]
        new = original
        if hasattr(first, "right_inverse"):
            try:
                with ember.no_grad():
                    new = first.right_inverse(original)
            except NotImplementedError:  # not invertible: start from the tensor as it is
                pass
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            if new is not original:
                original.data = new  # keep the Parameter object (optimizers may hold it), take the new values
            _store(self, "original", original, as_parameter)
        else:
            if not all(isinstance(t, Tensor) for t in new):
                raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                                 f"Got {type(new).__name__}")
            self.ntensors = len(new)
            for i, t in enumerate(new):
                t = t.detach().clone()
                t.requires_grad_(original.requires_grad)
                _store(self, f"original{i}", t, as_parameter)
        if not unsafe:
            with ember.no_grad():
                _check_same(shape, dtype, self(), "Registering a parametrization")

    def originals(self):
        """The stored tensors, in the order ``P_0.forward`` takes them."""
        if self.is_tensor:
            return (self.original,)
        return tuple(getattr(self, f"original{i}") for i in range(self.ntensors))

    def right_inverse(self, value):
        """Store ``value`` so that ``forward()`` returns it: apply the right inverses last-to-first."""
        with ember.no_grad():
            for p in reversed(list(self)[1:]):
                if not hasattr(p, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(p).__name__} does not implement right_inverse.")
                value = p.right_inverse(value)
            first = self[0]
            new = first.right_inverse(value) if hasattr(first, "right_inverse") else value
            if self.is_tensor:
                if not isinstance(new, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(new).__name__}")
                if new.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {new.dtype} while "
                                     f"`original` has dtype {self.original.dtype}")
                self.original.data = new
            else:
                if len(new) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                     f"Got a sequence of length {len(new)}")
                for orig, t in zip(self.originals(), new):
                    if t.dtype != orig.dtype:
                        raise ValueError(f"Tensor {t.dtype} returned by `right_inverse` does not match the dtype "
                                         f"{orig.dtype} of the stored original")
                    orig.data = t

    def forward(self):
        x = self[0](*self.originals())
        for p in list(self)[1:]:
            x = p(x)
        return x


def _parametrized_property(name):
    """The class property that stands in for the tensor ``name``: read = compute, write = right_inverse."""
    def get(self):
        plist = self.parametrizations[name]
        if _cache_depth == 0:
            return plist()
        key = (id(self), name)
        if key not in _cache:
            _cache[key] = plist()
        return _cache[key]

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(get, set_)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (see the module docstring).

    Registering a second parametrization on the same tensor appends it to the chain. With ``unsafe=True``
    the parametrization may change the tensor's shape or dtype. Returns ``module``.
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            _check_same(y.shape, y.dtype, x, "Registering a parametrization")
            if hasattr(parametrization, "right_inverse"):
                z = parametrization.right_inverse(x)
                if not isinstance(z, Tensor):
                    raise ValueError(f"parametrization.right_inverse must return a tensor. Got: {type(z).__name__}")
                _check_same(y.shape, y.dtype, z, "The tensor returned by parametrization.right_inverse")
        plist.append(parametrization)
        plist.unsafe |= unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
                         f"with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = module.__class__
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    setattr(module.__class__, tensor_name, _parametrized_property(tensor_name))
    module.parametrizations[tensor_name] = plist
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has any parametrization (or one on ``tensor_name``)."""
    plists = module._modules.get("parametrizations") if hasattr(module, "_modules") else None
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo the parametrizations of ``module.<tensor_name>``.

    ``leave_parametrized=True`` keeps the current (parametrized) value as a plain parameter/buffer;
    ``False`` restores the stored original. When no parametrizations remain, the module gets its
    original class back. Returns ``module``.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with ember.no_grad():
                value = getattr(module, tensor_name)
            if value.dtype != original.dtype:
                raise ValueError("The parametrization changes the dtype of the tensor; it cannot be removed "
                                 f"with leave_parametrized=True ({original.dtype} -> {value.dtype}).")
            original.data = value
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        with ember.no_grad():
            value = getattr(module, tensor_name).detach()
        original = Parameter(value, plist.original0.requires_grad) \
            if isinstance(plist.original0, Parameter) else value
    as_parameter = isinstance(original, Parameter)
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _store(module, tensor_name, original, as_parameter)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module):
    """The module's class as it was before parametrizations swapped it for ``Parametrized<Name>``."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Give ``to_module`` the same parametrizations (shared objects) and originals as ``from_module``.

    ``tensor_name=None`` transfers every parametrized tensor. A tensor ``to_module`` lacks is first created
    as a Parameter holding ``from_module``'s current value. Returns ``to_module``.
    """
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach().clone()))
        src = from_module.parametrizations[name]
        for p in src:
            register_parametrization(to_module, name, p)
        dst = to_module.parametrizations[name]
        if src.is_tensor:
            dst.original = src.original
        else:
            for i in range(src.ntensors):
                setattr(dst, f"original{i}", getattr(src, f"original{i}"))
    return to_module
