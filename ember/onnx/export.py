"""``export``: a model's forward pass, written as an ONNX graph.

How it works, in three steps:

1. **Record.** The model runs once on the example ``args`` in eval mode with a ``Tracer`` on
   (``ember.autograd.tracer``): every ``Function.apply`` it makes is kept, with its arguments, outputs and
   the module it ran in. Python control flow is thereby unrolled for these inputs, as torch's tracer does.
2. **Translate.** Walking the calls in order, each tensor gets an ONNX value name — the graph inputs are
   named by ``input_names``, parameters and buffers by their ``state_dict`` names (as initializers), tensors
   made outside any Function become constants — and ``symbolic.TRANSLATE[Function]`` emits the nodes of each
   call. With ``do_constant_folding`` a call whose inputs are all constants (not parameters) is replaced by
   the value it computed.
3. **Write.** Unused nodes are dropped, inputs/outputs get their dtypes and shapes (``dynamic_axes`` become
   named symbolic dims), ``onnx.checker.check_model`` validates the model and it is saved to ``f``.

What is not recorded is baked in: a value computed from an input *outside* the Functions (a comparison,
``.item()``, ``argmax``) becomes a constant; an input used only that way triggers a warning.
"""
import contextlib
import enum
import inspect
import os
import warnings

import numpy as np

from .errors import OnnxExporterError, OnnxExporterWarning, UnsupportedOperatorError

__all__ = ["export", "is_in_onnx_export", "TrainingMode", "OperatorExportTypes", "select_model_mode_for_export",
           "DEFAULT_OPSET", "MIN_OPSET", "MAX_OPSET"]

DEFAULT_OPSET = 20  # torch 2.13's default
MIN_OPSET = 13
MAX_OPSET = 23  # torch's newest
_EXPORTING = [False]


class TrainingMode(enum.IntEnum):
    """The mode the model is exported in: EVAL (default: dropout off, batch norm uses its running
    statistics), PRESERVE (as it is), TRAINING."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """torch's choices for ops without an ONNX form; Ember always exports plain ONNX (and stops with
    ``UnsupportedOperatorError`` otherwise)."""
    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


@contextlib.contextmanager
def select_model_mode_for_export(model, mode):
    """Within the block the model is in ``mode`` (a ``TrainingMode``); its own mode comes back after."""
    was = model.training
    if TrainingMode(int(mode)) != TrainingMode.PRESERVE:
        model.train(TrainingMode(int(mode)) == TrainingMode.TRAINING)
    try:
        yield
    finally:
        model.train(was)


def is_in_onnx_export():
    """True while ``export`` is running the model (models may branch on it, as in torch)."""
    return _EXPORTING[0]


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError('ONNX export needs the onnx package: pip install "ember[onnx]"') from e
    return onnx


def _flatten(obj):
    from .. import Tensor
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _flatten(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flatten(o)]
    return []


class CallView:
    """A recorded call as the translators see it (see ``symbolic.py``)."""

    def __init__(self, call, value_of, opset, alt=None, dim_of=None, probe=None, later=()):
        self.call, self.fn, self.args = call, call.fn, tuple(call.args) + tuple(call.kwargs.values())
        self._value_of, self.opset, self.dim_of = value_of, opset, dim_of
        # the same call in a second recording with other sizes on the dynamic axes (None without them)
        self.alt = None if alt is None else (tuple(alt.args) + tuple(alt.kwargs.values()), list(alt.output_list))
        self.probe = None if probe is None else tuple(probe.args) + tuple(probe.kwargs.values())
        self.later = later  # the calls recorded after this one
        self.outs = list(call.output_list)
        first = next((o for o in self.outs if hasattr(o, "_data")), None)
        self.out_dtype = first._data.dtype if first is not None else None

    def arg(self, i, default=None):
        return self.args[i] if i < len(self.args) else default

    def kwargs_get(self, name, default=None):
        return self.call.kwargs.get(name, default)

    def is_tensor(self, i):
        return hasattr(self.arg(i), "_data")

    def value(self, t):
        """The ONNX name of any tensor the call was given (e.g. inside a tuple argument)."""
        return self._value_of(t)

    def val(self, i):
        probe = None if self.probe is None or (i == 0 and self.fn.__name__ in ("Assign", "Fill")) else self.probe[i]
        return self._value_of(self.arg(i), None if self.alt is None else self.alt[0][i], probe, self)

    def alt_shape(self, t_or_index, out=False):
        """The shape the argument (or output) had in the second recording; the same shape without one."""
        if out:
            t = self.outs[t_or_index]
            return list(t.shape) if self.alt is None else list(self.alt[1][t_or_index].shape)
        t = self.arg(t_or_index)
        return list(t.shape) if self.alt is None else list(self.alt[0][t_or_index].shape)

    def unsupported(self, detail=""):
        where = f"(in module '{self.call.scope or '<root>'}')"
        return UnsupportedOperatorError(f"ember::{self.fn.__name__}", self.opset, None,
                                        (detail + ". " if detail else "") + where)


def _input_names(model, n, given):
    names = list(given or [])
    try:
        params = [p.name for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    for i in range(len(names), n):
        names.append(params[i] if i < len(params) and n <= len(params) else f"input_{i}")
    return names


def _dynamic(dynamic_axes, name):
    """{axis: dim name} for graph value ``name`` from torch's ``dynamic_axes`` (dict or list form)."""
    spec = (dynamic_axes or {}).get(name)
    if spec is None:
        return {}
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    return {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(spec)}


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None, output_names=None,
           opset_version=None, dynamo=True, external_data=True, dynamic_shapes=None, export_params=True,
           keep_initializers_as_inputs=False, dynamic_axes=None, training=None, do_constant_folding=True,
           **unused_options):
    """Export ``model`` (an ``nn.Module`` or a function of tensors) run on ``args`` to the ONNX file ``f``.

    ``input_names`` / ``output_names`` name the graph's inputs and outputs; ``dynamic_axes``
    (``{"x": {0: "batch"}}`` or ``{"x": [0]}``) marks axes whose size may change; ``opset_version``
    (default 20 as in torch; 13 to 23); ``export_params=False`` leaves the weights out (they become inputs);
    ``do_constant_folding`` precomputes parameter-free constant subgraphs. ``dynamo`` and the other options
    of torch's new exporter are accepted; Ember always records the Functions of one forward pass.
    The model is written to ``f`` (a path or a binary file object) if given; like torch, the call returns an
    ``ONNXProgram`` (``.save(path)``, callable through onnxruntime) unless ``dynamo=False`` (then None)."""
    onnx = _onnx()
    from .. import Tensor
    from .builder import GraphBuilder
    from .symbolic import translation, onnx_dtype
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    top = min(MAX_OPSET, onnx.defs.onnx_opset_version())
    if opset < MIN_OPSET or opset > top:
        raise ValueError(f"Unsupported ONNX opset version: {opset} (Ember exports opsets {MIN_OPSET} to {top})")
    if f is None and not dynamo:
        raise OnnxExporterError("export() needs a destination file f (a path or a binary file object)")
    if isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict) and not kwargs:  # torch's legacy (x, {"kw": v}) convention
        args, kwargs = args[:-1], dict(args[-1])
    from ..nn import Module
    from .. import random as _random
    is_module = isinstance(model, Module)
    was_training = model.training if is_module else False
    mode = TrainingMode.EVAL if training is None else TrainingMode(int(training))
    train_flag = was_training if mode == TrainingMode.PRESERVE else mode == TrainingMode.TRAINING
    rng_before = _random.get_rng_state()
    tr, out = _record(model, is_module, train_flag, args, kwargs)
    calls = tr.calls
    first = (lambda t: tr.first_snapshot.get(id(t), t))  # an input written in place: its value before
    rng_after = _random.get_rng_state()

    g = GraphBuilder(opset)
    values, constants, keep_alive = {}, set(), []
    graph_inputs, inputs = [], _flatten(args) + _flatten(kwargs)
    names = _input_names(model if is_module else _FnHolder(model), len(inputs), input_names)
    # the extra recordings below must leave no trace: buffers a forward updates (batch-norm statistics in
    # training mode) and the random stream are put back as the first recording left them
    buffers = [(b, b._data.copy()) for _, b in model.named_buffers()] if is_module else []
    alt_calls, dyn_sizes = None, {}
    if dynamic_axes:
        _random.set_rng_state(rng_before)
        alt_calls, dyn_sizes = _record_resized(model, is_module, train_flag, args, kwargs, names, dynamic_axes,
                                               calls)
    _random.set_rng_state(rng_before)  # the same random draws, other input values: finds input-made constants
    probe_calls = _record_shuffled(model, is_module, train_flag, args, kwargs, calls)
    _random.set_rng_state(rng_after)
    for b, data in buffers:
        b._data[...] = data
    for t, name in zip(inputs, names):
        values[id(first(t))] = name
        graph_inputs.append((name, t))
    param_inputs = []
    if is_module:
        named = list(model.named_parameters()) + list(model.named_buffers())
        for name, p in named:
            p = first(p)
            if id(p) in values:
                continue
            values[id(p)] = name
            if export_params:
                g.const(p.detach().cpu().numpy(), name=name)
            else:
                param_inputs.append((name, p))

    dim_cache = {}

    def dim_of(size, alt_size):
        """A 1-element int64 value holding the size of the dynamic input axis that had ``size`` in the
        first recording and ``alt_size`` in the second (read with Shape at run time); None if none did."""
        for (name, axis), (a, b) in dyn_sizes.items():
            if (a, b) == (size, alt_size):
                key = (name, axis)
                if key not in dim_cache:  # one Shape read per input axis, shared by every use
                    scope, g.scope = g.scope, ""
                    if opset >= 15:
                        dim_cache[key] = g.op("Shape", name, start=axis, end=axis + 1)
                    else:
                        dim_cache[key] = g.op("Unsqueeze", g.op("Gather", g.op("Shape", name),
                                                                g.const(np.asarray(axis, np.int64)), axis=0),
                                              g.ints([0]))
                    g.scope = scope
                return dim_cache[key]
        return None

    def value_of(t, alt=None, probe=None, view=None):
        if not hasattr(t, "_data"):
            raise OnnxExporterError(f"expected a tensor, got {type(t).__name__}")
        name = values.get(id(t))
        if name is None:  # made outside the recorded Functions: a constant
            arr = t.detach().cpu().numpy()
            if probe is not None and tuple(probe.shape) == arr.shape and \
                    not np.array_equal(probe.detach().cpu().numpy(), arr, equal_nan=arr.dtype.kind in "fc"):
                raise OnnxExporterError(
                    f"ONNX export: an input of ember::{view.fn.__name__} (in module '{view.call.scope or '<root>'}') "
                    "was computed from the model's inputs outside Ember's autograd Functions (a comparison, "
                    "argmax, a mask built from a tensor's values, .item() ...), so the graph cannot compute it: "
                    "it changed when the inputs did. Build it with differentiable ops, or pass it as an input.")
            name = None
            if alt is not None and tuple(alt.shape) != tuple(t.shape):
                name = _sized_fill(g, arr, list(alt.shape), dim_of) or _sized_range(g, arr, alt, dim_of)
                if name is None:
                    warnings.warn(f"ONNX export: a constant of shape {list(arr.shape)} made outside the recorded "
                                  "ops has a size that follows the dynamic axes; it is baked in, so the graph "
                                  "only works for the example's sizes.", OnnxExporterWarning)
            if name is None:
                name = g.const(arr, name="onnx::Const")
                constants.add(name)
            values[id(t)] = name
            keep_alive.append(t)
        return name

    for k, call in enumerate(calls):
        view = CallView(call, value_of, opset, None if alt_calls is None else alt_calls[k], dim_of,
                        None if probe_calls is None else probe_calls[k], calls[k + 1:])
        tensor_args = [i for i in range(len(view.args)) if view.is_tensor(i)]
        outs = [o for o in call.output_list if hasattr(o, "_data")]
        g.scope = "/" + call.scope.replace(".", "/") if call.scope else ""
        if do_constant_folding and tensor_args and all(view.val(i) in constants for i in tensor_args) and \
                all(view.alt_shape(j, out=True) == list(o.shape) for j, o in enumerate(view.outs)
                    if hasattr(o, "_data")):
            for o in outs:
                name = values[id(o)] = g.const(o.detach().cpu().numpy(), name="onnx::Folded")
                constants.add(name)
            keep_alive.extend(outs)
            continue
        fn = translation(call.fn)
        if fn is None:
            raise view.unsupported("Ember has no ONNX translation for this Function")
        res = fn(g, view)
        res = res if isinstance(res, list) else [res]
        if len(res) != len(outs):
            raise OnnxExporterError(f"internal: the translation of {call.fn.__name__} gave {len(res)} outputs for "
                                    f"{len(outs)} tensors")
        for o, name in zip(outs, res):
            values[id(o)] = name
        keep_alive.extend(outs)
    g.scope = ""

    # --- graph outputs, named as asked ---------------------------------------------------------------
    results = _flatten(out)
    out_names = list(output_names or [])
    out_names += [f"output_{i}" if len(results) > 1 else "output" for i in range(len(out_names), len(results))]
    for t, name in zip(results, out_names):
        src = value_of(t)
        node = g.producer.get(src)
        taken = src in g.initializers or any(src == n for n, _ in graph_inputs) or src in out_names
        if node is not None and not taken and src not in dict.fromkeys(out_names):
            for n in g.nodes:  # rename the value everywhere
                n.output[:] = [name if o == src else o for o in n.output]
                n.input[:] = [name if i == src else i for i in n.input]
            g.producer[name] = node
            values[id(t)] = name
        else:
            g.nodes.append(onnx.helper.make_node("Identity", [src], [name], name=g.fresh("/Identity")))
    needed = g.prune(out_names)

    def info(name, t, dyn):
        shape = [dyn.get(i, int(d)) for i, d in enumerate(t.shape)]
        return onnx.helper.make_tensor_value_info(name, onnx_dtype(t._data.dtype), shape)

    any_dynamic = bool(dynamic_axes)
    onnx_inputs = []
    for name, t in graph_inputs:
        if name not in needed:
            warnings.warn(f"ONNX export: input '{name}' is not used by any recorded operation: the model used "
                          "it outside Ember's Functions (e.g. a comparison or a mask built with NumPy), so what "
                          "it computed was baked into the graph as a constant.", OnnxExporterWarning)
        onnx_inputs.append(info(name, t, _dynamic(dynamic_axes, name)))
    onnx_inputs += [info(name, p, {}) for name, p in param_inputs if name in needed]
    if keep_initializers_as_inputs:
        onnx_inputs += [onnx.helper.make_tensor_value_info(k, v.data_type, list(v.dims))
                        for k, v in g.initializers.items() if k not in constants]
    onnx_outputs = []
    for name, t in zip(out_names, results):
        dyn = _dynamic(dynamic_axes, name)
        if any_dynamic and not dyn:  # sizes may follow a dynamic input: give the rank only
            onnx_outputs.append(onnx.helper.make_tensor_value_info(name, onnx_dtype(t._data.dtype),
                                                                   [None] * t.dim()))
        else:
            onnx_outputs.append(info(name, t, dyn))
    graph = onnx.helper.make_graph(g.nodes, type(model).__name__ if is_module else getattr(model, "__name__", "graph"),
                                   onnx_inputs, onnx_outputs, list(g.initializers.values()))
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="ember",
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    if verbose:
        printer = getattr(onnx, "printer", None)
        print(printer.to_text(proto.graph) if printer is not None else onnx.helper.printable_graph(proto.graph))
    if f is None:
        pass
    elif hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        onnx.save(proto, os.fspath(f))
    if dynamo:  # torch's default exporter returns the program (and saves it when f is given)
        from .program import ONNXProgram
        return ONNXProgram(proto)
    return None


def _record(model, is_module, train_flag, args, kwargs):
    """Run the model once with a Tracer on; returns (tracer, output). The module's mode is restored.
    Recurrent layers are recorded whole (``symbolic.WHOLE_MODULES``): ONNX has them as single ops."""
    from .. import no_grad
    from ..autograd.tracer import Tracer
    from .symbolic import WHOLE_MODULES
    if is_module:
        was = model.training
        model.train(train_flag)
    _EXPORTING[0] = True
    try:
        with no_grad(), Tracer(model if is_module else None, whole=WHOLE_MODULES()) as tr:
            out = model(*args, **kwargs)
    finally:
        _EXPORTING[0] = False
        if is_module:
            model.train(was)
    return tr, out


def _map_tensors(obj, fn):
    from .. import Tensor
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _record_shuffled(model, is_module, train_flag, args, kwargs, calls):
    """Record again with each input's elements shuffled (same shapes, dtypes and value range). A constant
    that comes out different was made from the inputs by code the tracer cannot see. None if the model
    then runs other Functions (its control flow depends on the values) or fails."""
    from .. import tensor
    rng = np.random.default_rng(0)

    def shuffle(t):
        a = t.detach().cpu().numpy()
        return tensor(rng.permutation(a.reshape(-1)).reshape(a.shape)) if a.size > 1 else t
    try:
        probe, _ = _record(model, is_module, train_flag, _map_tensors(args, shuffle), _map_tensors(kwargs, shuffle))
    except Exception:
        return None
    probe = probe.calls
    if len(probe) != len(calls) or any(a.fn is not b.fn for a, b in zip(probe, calls)):
        return None
    return probe


def _resized(t, axes):
    """``t`` one element longer along each of ``axes`` (the first slice repeated)."""
    from .. import tensor
    a = t.detach().cpu().numpy()
    for ax in axes:
        a = np.concatenate([a, np.take(a, [0], axis=ax)], axis=ax)
    return tensor(a)


def _record_resized(model, is_module, training, args, kwargs, names, dynamic_axes, calls):
    """Record the forward again with every dynamic input axis one longer. Comparing the two recordings
    tells which sizes in the graph follow the dynamic axes (a reshape to ``(batch, -1)`` must not bake in
    the batch size). Returns the second recording's calls (None if it ran other Functions) and
    ``{(input name, axis): (size, other size)}``."""
    from .. import Tensor
    counter = iter(range(10 ** 9))
    sizes = {}

    def swap(obj):
        if isinstance(obj, Tensor):
            name = names[next(counter)]
            axes = sorted(_dynamic(dynamic_axes, name))
            for ax in axes:
                sizes[(name, ax)] = (obj.shape[ax], obj.shape[ax] + 1)
            return _resized(obj, axes) if axes else obj
        if isinstance(obj, (list, tuple)):
            return type(obj)(swap(o) for o in obj)
        if isinstance(obj, dict):
            return {k: swap(v) for k, v in obj.items()}
        return obj
    args2, kwargs2 = swap(args), swap(kwargs)
    try:
        alt, _ = _record(model, is_module, training, args2, kwargs2)
    except Exception:
        return None, sizes
    alt = alt.calls
    if len(alt) != len(calls) or any(a.fn is not b.fn for a, b in zip(alt, calls)):
        warnings.warn("ONNX export: the model ran different operations for another size of its dynamic axes; "
                      "the graph may only work for the example's sizes.", OnnxExporterWarning)
        return None, sizes
    return alt, sizes


def _sized_fill(g, arr, alt_shape, dim_of):
    """A constant filled with one value whose size follows a dynamic axis (e.g. an RNN's zero initial
    state): ConstantOfShape with the shape read from the input at run time. None if not expressible."""
    flat = arr.reshape(-1)
    if flat.size == 0 or not (flat == flat[0]).all():
        return None
    parts = []
    for d, a in zip(arr.shape, alt_shape):
        parts.append(g.ints([d]) if d == a else dim_of(d, a))
        if parts[-1] is None:
            return None
    shape = g.op("Concat", *parts, axis=0)
    from onnx import numpy_helper
    return g.op("ConstantOfShape", shape, value=numpy_helper.from_array(flat[:1].copy()))


def _sized_range(g, arr, alt, dim_of):
    """``arange(n)``-like constants whose length follows a dynamic axis (positions for an embedding):
    start + step * (0, 1, ..., n-1) with n read at run time. None if ``arr`` is not such a range."""
    b = alt.detach().cpu().numpy()
    if arr.ndim != 1 or b.ndim != 1 or arr.size < 2 or arr.dtype.kind not in "iuf":
        return None
    start, step = arr[0], arr[1] - arr[0]
    if not (np.array_equal(arr, start + step * np.arange(arr.size, dtype=arr.dtype)) and
            np.array_equal(b, start + step * np.arange(b.size, dtype=arr.dtype))):
        return None
    n = dim_of(arr.size, b.size)
    if n is None:
        return None
    # 0, 1, ..., n-1 as a running sum of ones (onnxruntime's optimizer mis-fuses Gather over a Range)
    from onnx import numpy_helper
    from .symbolic import onnx_dtype
    ones = g.op("ConstantOfShape", n, value=numpy_helper.from_array(np.ones(1, np.int64)))
    idx = g.op("Sub", g.op("CumSum", ones, g.const(np.asarray(0, np.int64))), g.const(np.asarray(1, np.int64)))
    if arr.dtype != np.int64:
        idx = g.op("Cast", idx, to=onnx_dtype(arr.dtype))
    return g.op("Add", g.const(np.asarray(start, arr.dtype)), g.op("Mul", idx, g.const(np.asarray(step, arr.dtype))))


class _FnHolder:
    """Lets ``_input_names`` read a plain function's parameter names like a module's forward."""

    def __init__(self, fn):
        self.forward = fn
