"""The optimizer base class (torch.optim.Optimizer).

An optimizer owns *parameter groups* -- dicts holding a list of tensors under ``'params'`` plus
hyperparameters (``lr``, ``momentum`` ...) -- and a per-parameter ``state`` dict (moment buffers,
step counters) keyed by the parameter tensor itself.  ``step()`` walks the groups and updates every
parameter that has a ``.grad``.

How the updates are computed here:

* **Outside the graph.**  An update is not something to differentiate through, so it never goes
  through ``Function.apply``: it writes straight into ``p._data`` (the parameter's ndarray) with
  in-place ufuncs (``np.multiply(a, b, out=a)``) and then calls ``p._bump()`` so autograd's version
  counter knows the tensor changed.
* **torch's formulas, op by op.**  Each optimizer follows torch's single-tensor code path in the same
  order of operations, in the parameter's dtype.  PyTorch's CPU kernels fuse ``a*b + c`` (``lerp_``,
  ``addcmul_``, ``add_(x, alpha=...)``) into one FMA rounding where NumPy rounds twice, so an element
  may differ by an ulp per step: after 20 steps the parameters agree to ~1e-7 of their scale.
* **Cache-sized blocks.**  A formula such as Adam's is a dozen elementwise passes.  Run over a
  1M-element tensor, every pass streams 4 MB per operand through memory; run over 32K-element
  blocks, all the operands of one block stay in the CPU's L2 cache while the dozen passes run, so
  memory traffic drops to one read/write of each array (about 2.5x faster for Adam).  ``_foreach_block`` does this slicing and
  hands each optimizer's *kernel* (a plain function over equally-shaped arrays) a few reusable
  scratch buffers, so a step allocates nothing large.
* **Compiled loops.**  With Numba installed, SGD and Adam/AdamW update a float32 parameter in one
  compiled pass instead (``optim/_kernels.py``): each array read and written once, the same bits as
  the NumPy kernels (which stay the reference, and serve every other dtype, layout and device).
"""
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from .._jit import LazyKernels
from .._parallel import split_work
from .._tensor import Tensor, wrap
from ..autograd import function as _function
from ..autograd.profiler import record_function
from ..device import array_module

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

# Elements per block: ~8 block-sized float32 arrays (param, grad, states, scratch) fit a 2 MB L2 cache.
_BLOCK = 32768
_N_SCRATCH = 4
# The compiled update loops (optim/_kernels.py): one pass per parameter instead of a dozen per block, for a
# float32 parameter big enough to be worth importing Numba for.
_compiled_kernels = LazyKernels("ember.optim._kernels")
_PLAIN = (float, int, bool)   # hyperparameter types NumPy rounds to float32 as the compiled loops do
# Parameters from this size get one slab per core: the loops are memory-bound, and below it the thread
# hand-off (tens of microseconds on a busy machine) costs more than a second core gains.
_SPLIT = 1 << 20


class _RequiredParameter:
    """Marks a hyperparameter that every param group must give (no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class _RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks_dict):
        self._hooks = hooks_dict
        self.id = _RemovableHandle._next_id
        _RemovableHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """Register ``hook(optimizer, args, kwargs)`` to run before every optimizer's ``step``."""
    handle = _RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """Register ``hook(optimizer, args, kwargs)`` to run after every optimizer's ``step``."""
    handle = _RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _with_step_hooks(step):
    """Wrap a ``step`` method so the registered pre/post hooks run around it."""

    def hooked_step(self, *args, **kwargs):
        if self.__dict__.get("_in_step"):  # a subclass's step calling super().step(): hooks ran already
            return step(self, *args, **kwargs)
        if _function._profiler is not None:   # a profile being recorded: name the step as torch does
            with record_function(f"Optimizer.step#{type(self).__name__}.step"):
                return _run_hooked(self, step, args, kwargs)
        return _run_hooked(self, step, args, kwargs)

    hooked_step.__name__ = step.__name__
    hooked_step.__qualname__ = step.__qualname__
    hooked_step.__doc__ = step.__doc__
    hooked_step.hooked = True
    return hooked_step


def _run_hooked(self, step, args, kwargs):
    """``step`` with the global and the optimizer's own pre/post hooks around it."""
    for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                          self._optimizer_step_pre_hooks.values()):
        result = pre_hook(self, args, kwargs)
        if result is not None:
            if isinstance(result, tuple) and len(result) == 2:
                args, kwargs = result
            else:
                raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), "
                                   f"but got {result}.")
    self._in_step = True
    try:
        out = step(self, *args, **kwargs)
    finally:
        self._in_step = False
    for post_hook in chain(self._optimizer_step_post_hooks.values(),
                           _global_optimizer_post_hooks.values()):
        post_hook(self, args, kwargs)
    return out


def _typename(obj):
    if isinstance(obj, Tensor):
        return "torch." + {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                           "int64": "LongTensor", "int32": "IntTensor", "bool": "BoolTensor"}.get(
            getattr(obj.dtype, "name", ""), "Tensor")
    t = type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _check_tensor_lr(lr):
    """torch accepts a 1-element tensor as ``lr`` (so it can change without rebuilding the optimizer)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


def _check_hyperparams(lr, betas=None, **nonnegative):
    """torch's argument checks, with its messages: ``lr >= 0`` (a number or a 1-element tensor), every
    keyword ``>= 0`` ("Invalid epsilon value: -1"), and each of ``betas`` in [0, 1)."""
    _check_tensor_lr(lr)
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    for name, value in nonnegative.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {'epsilon' if name == 'eps' else name} value: {value}")
    for i, b in enumerate(betas or ()):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")


def _scalar(x):
    """A hyperparameter as a Python number (torch accepts 1-element tensors for ``lr`` etc.)."""
    return x.item() if isinstance(x, Tensor) else x


def _scalar_dtype():
    """dtype of the ``step`` counters: float64 when the default dtype is float64, else float32 (torch)."""
    from ..dtypes import get_default_dtype
    return np.float64 if get_default_dtype().np == np.float64 else np.float32


def _new_step(value=0.0):
    """A fresh 0-d step counter, kept on the CPU like torch's non-capturable optimizers."""
    return wrap(np.array(value, dtype=_scalar_dtype()))


def _advance(step_t):
    """``step_t += 1`` on a 0-d state tensor; returns the new count as a Python float."""
    data = step_t._data
    data += 1
    step_t._bump()
    return float(data)


def _state_like(p, fill=0.0):
    """A state buffer shaped like parameter ``p`` (same dtype, same device), filled with ``fill``."""
    arr = p._data
    xp = array_module(arr)
    out = xp.zeros(arr.shape, dtype=arr.dtype) if fill == 0 else xp.full(arr.shape, fill, dtype=arr.dtype)
    return wrap(out)


def _ensure_tensor_steps(optimizer, keys=("step",)):
    """Old state dicts stored ``step`` as a Python number; torch 2.x stores 0-d tensors."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            p_state = optimizer.state.get(p, None)
            if p_state:
                for key in keys:
                    if key in p_state and not isinstance(p_state[key], Tensor):
                        p_state[key] = _new_step(float(p_state[key]))


def _lerp_(xp, a, b, w, tmp):
    """``a.lerp_(b, w)`` exactly as torch computes it: a + w*(b-a) for w < 0.5, else b - (b-a)*(1-w)."""
    xp.subtract(b, a, out=tmp)
    if abs(w) < 0.5:
        tmp *= w
        a += tmp
    else:
        tmp *= 1 - w
        xp.subtract(b, tmp, out=a)


def _decay_square_(xp, v, g, beta, tmp):
    """``v.mul_(beta).addcmul_(g, g, value=1 - beta)``: a running mean of squares, rounded as torch does."""
    xp.multiply(g, 1 - beta, out=tmp)
    tmp *= g
    v *= beta
    v += tmp


def _grad_in(xp, p, g, out, tmp, maximize, weight_decay):
    """The gradient a formula sees: -g when maximizing, plus ``weight_decay * p`` (L2 penalty).

    Writes into scratch ``out`` when it has to change ``g``; never modifies ``p.grad``."""
    if maximize:
        xp.negative(g, out=out)
        g = out
    if weight_decay != 0:
        xp.multiply(p, weight_decay, out=tmp)   # grad.add(param, alpha=weight_decay)
        xp.add(g, tmp, out=out)
        g = out
    return g


def _adam_moments(xp, p, g, m, v, S, lr, beta1, beta2, weight_decay, decoupled, maximize):
    """The gradient and moment updates Adam, AdamW, NAdam, RAdam and Adamax share (torch's order)::

        p <- p (1 - lr wd)  (decoupled weight decay)   or   g <- g + wd p   (L2 penalty)
        g <- -g if maximize
        m <- lerp(m, g, 1 - beta1)              = beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2          (skipped when ``v`` is None: Adamax keeps a max instead)

    Returns the gradient the rest of the formula uses (scratch ``S[0]`` when it differs from ``g``);
    ``S[1]`` is free again on return."""
    if weight_decay != 0 and decoupled:
        p *= 1 - lr * weight_decay
        weight_decay = 0
    g = _grad_in(xp, p, g, S[0], S[1], maximize, weight_decay)
    _lerp_(xp, m, g, 1 - beta1, S[1])
    if v is not None:
        _decay_square_(xp, v, g, beta2, S[1])
    return g


def _check_capturable(group):
    """``capturable=True`` keeps step counters on the accelerator for CUDA-graph capture; torch refuses
    it at ``step`` for CPU parameters, with this message."""
    if any(p.device.type != "cuda" for p in group["params"]):
        raise AssertionError("If capturable=True, params and state_steps must be on supported devices: "
                             "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla'].")


class Optimizer:
    r"""Base class for all optimizers.

    Args:
        params (iterable): tensors to optimize, ``(name, tensor)`` pairs (``named_parameters()``),
            or dicts defining parameter groups (``{'params': [...], 'lr': 0.1}``).
        defaults (dict): default hyperparameters, used where a group does not set them.

    A subclass gives its per-group update in ``_update_group(group)``; ``step`` evaluates the
    closure (with grad enabled) and calls it for every group.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        if defaults.get("differentiable", False):
            raise ValueError(f"{type(self).__name__}: differentiable=True is not supported -- Ember's "
                             "optimizer updates run in place outside the autograd graph")
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            "or dicts, but got " + _typename(params))

        self.state = defaultdict(dict)
        self.param_groups = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _with_step_hooks(step)

    # ----------------------------------------------------------------- pickling / loading support
    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def _fill_group_defaults(self, step_keys=("step",), **flags):
        """For ``__setstate__``: give groups saved by older versions the flags they lack, and make
        the counters named in ``step_keys`` 0-d tensors (torch 2.x's layout)."""
        for group in self.param_groups:
            for key, value in flags.items():
                group.setdefault(key, value)
        if step_keys:
            _ensure_tensor_steps(self, keys=step_keys)

    def __repr__(self):
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    # ----------------------------------------------------------------------------- param groups
    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with ``'params'`` and optional hyperparameters).

        Useful for fine-tuning: unfreeze layers and hand them to the optimizer mid-training."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")

        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a list "
                            "instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) == len(tensors):
                param_group["param_names"] = names
            else:
                raise ValueError("all optimizer params should be with/without names. Some param names "
                                 "are missing")

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not (param.is_leaf or getattr(param, "retains_grad", False)):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see github.com/pytorch/pytorch/issues/"
                          "40967 for more information", stacklevel=3)

        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if any(id(p) in seen for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    # ------------------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: to ``None`` (default, frees memory) or, with ``set_to_none=False``, to 0.

        With ``None`` a parameter that gets no gradient next time is skipped by ``step`` instead of
        being updated with a zero gradient (which still moves it under momentum or weight decay)."""
        if _function._profiler is not None:   # a profile being recorded: name the call as torch does
            with record_function(f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"):
                return self._reset_grads(set_to_none)
        return self._reset_grads(set_to_none)

    def _reset_grads(self, set_to_none):
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad.zero_()

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when a closure is given.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss (it runs with
                gradients enabled, so it may call ``backward``).
        """
        loss = None
        if closure is not None:
            from .. import enable_grad
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            if group.get("capturable"):
                _check_capturable(group)
            self._update_group(group)
        return loss

    def _params_with_grad(self, group, buffers=(), counters=None):
        """Yield ``(p, state)`` for each parameter of ``group`` that has a gradient.

        A parameter seen for the first time gets torch's fresh state, in torch's key order: a
        ``step`` counter, the 0-d ``counters`` (name -> start value, e.g. NAdam's ``mu_product``),
        then the ``buffers`` shaped like ``p`` (names, or ``(name, fill)`` pairs; zeros by default)."""
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _new_step()
                for name, value in (counters or {}).items():
                    state[name] = _new_step(value)
                for name in buffers:
                    name, fill = (name, 0.0) if isinstance(name, str) else name
                    state[name] = _state_like(p, fill)
            yield p, state

    # ------------------------------------------------------------------------- block machinery
    def _scratch(self, xp, dtype, shape):
        """``_N_SCRATCH`` scratch arrays: reusable block-sized ones (``shape=None``) or new ``shape``-sized ones."""
        if shape is not None:  # whole-array kernel (GPU: its memory pool recycles the buffers)
            return [xp.empty(shape, dtype=dtype) for _ in range(_N_SCRATCH)]
        cache = self.__dict__.setdefault("_scratch_cache", {})
        bufs = cache.get(dtype)
        if bufs is None:
            bufs = cache[dtype] = [np.empty(_BLOCK, dtype=dtype) for _ in range(_N_SCRATCH)]
        return bufs

    def _foreach_block(self, kernel, p, grad, states, *consts, compiled=None):
        """Run ``kernel(xp, p, grad, *states, scratch, *consts)`` over cache-sized blocks of ``p``.

        ``grad`` is read, never written; ``states`` are ndarrays shaped like ``p`` (moment buffers),
        updated in place, or ``None``.  On NumPy, when the parameter and its states are
        C-contiguous, the flat arrays are cut into ``_BLOCK``-element slices so one block's operands
        stay in cache across all the kernel's passes.  Otherwise (GPU arrays, strided parameters)
        the kernel runs once over the whole arrays.  Complex tensors are viewed as (real, imag)
        pairs, as torch does.

        ``compiled(K, p, grad, *states, *consts)``, when given, returns ``work(lo, hi)``: the same update
        as one compiled loop from module ``K`` (optim/_kernels.py), bit for bit. It runs instead for a
        C-contiguous float32 NumPy parameter whose hyperparameters are Python numbers (NumPy rounds those
        to float32 exactly as the loop does), when Numba is installed and a parameter big enough to pay
        for importing it has asked (after that, small ones use the loops too: a call costs ~1 us, a
        dozen NumPy calls ~10). Parameters of ``_SPLIT`` elements or more get one slab per core.
        """
        data = p._data
        xp = array_module(data)
        if data.dtype.kind == "c":
            real = data.real.dtype
            data = data.view(real)
            grad = xp.ascontiguousarray(grad).view(real)
            states = [None if s is None else s.view(real) for s in states]
            compiled = None   # (real, imag) pairs stay on the reference path
        dtype = data.dtype
        if grad.dtype != dtype:
            grad = grad.astype(dtype)
        if xp is np and data.flags.c_contiguous and all(s is None or s.flags.c_contiguous for s in states):
            flats = [data.reshape(-1), np.ascontiguousarray(grad).reshape(-1)]
            flats += [None if s is None else s.reshape(-1) for s in states]
            K = None
            if compiled is not None and dtype == np.float32 and all(c.__class__ in _PLAIN for c in consts):
                K = _compiled_kernels.loaded() or _compiled_kernels(data.size)
            if K is not None:
                n = data.size
                split_work(n, compiled(K, *flats, *consts), n if n >= _SPLIT else 0)
            else:
                self._run_blocks(kernel, flats, consts)
        else:
            kernel(xp, data, grad, *states, self._scratch(xp, dtype, data.shape), *consts)
        p._bump()

    def _run_blocks(self, kernel, flats, consts):
        """The kernel over the flat arrays, one ``_BLOCK``-element slice at a time."""
        scratch = self._scratch(np, flats[0].dtype, None)
        n = flats[0].size
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            S = scratch if stop - start == _BLOCK else [s[:stop - start] for s in scratch]
            kernel(np, *[None if a is None else a[start:stop] for a in flats], S, *consts)

    # --------------------------------------------------------------------------- state dicts
    def state_dict(self):
        """The optimizer state as ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``.

        Parameters are replaced by their index in group order, so the dict can be loaded into
        another optimizer built over the same parameters (in the same order).  State tensors are
        returned by reference, as torch does."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)

        param_mappings = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}

        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _process_value_according_to_param_policy(param, value, param_id, param_groups, key=None):
        """Loaded state follows its parameter's dtype and device; ``step`` counters stay as saved."""
        if key == "step":
            return value
        if param.dtype.is_floating_point:
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)

    def load_state_dict(self, state_dict):
        """Load a dict produced by ``state_dict()`` (this optimizer's, or PyTorch's for the same model)."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result

        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size "
                             "of optimizer's group")

        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def _cast(param, value, param_id=None, param_groups=None, key=None):
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, param_groups, key)
            if isinstance(value, dict):
                return {k: _cast(param, v, param_id=param_id, param_groups=param_groups, key=k)
                        for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(_cast(param, v, param_id=param_id, param_groups=param_groups)
                                   for v in value)
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast(param, v, param_id=k, param_groups=state_dict["param_groups"])
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})

        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # ---------------------------------------------------------------------------------- hooks
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (args, kwargs)`` runs before ``step``."""
        handle = _RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after ``step``."""
        handle = _RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    def _register(self, hooks, hook, prepend):
        handle = _RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs before ``state_dict``."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None`` runs after ``state_dict``."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None`` runs before ``load_state_dict``."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs after ``load_state_dict``."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)


Optimizer.step = _with_step_hooks(Optimizer.step)
