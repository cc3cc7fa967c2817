"""Where the time goes: ``torch.autograd.profiler``'s ``profile`` and ``record_function``.

While a profile is active, Ember times three things, each at the one place it happens:

* every op, where it enters (``Function.apply`` hands the call to ``_Recorder.op``), named as torch
  names the op (``aten::addmm``; a user's Function by its class name). An op's forward works on arrays,
  so anything its forward calls counts as its own time;
* every backward node the engine runs (``AddmmBackward0``; a leaf's ``torch::autograd::AccumulateGrad``),
  with the ops its backward applies as children;
* ``record_function("name")`` blocks, and optimizer steps (``Optimizer.step#SGD.step``).

Events nest by thread, so each has a *self* time: its interval minus its children's. Read the results
with ``prof.key_averages().table(sort_by="self_cpu_time_total")``; ``ember.profiler.profile`` adds
schedules and trace handlers on top of this.
"""
import re
import threading
import time

from . import function as _function
from .profiler_util import EventList, FunctionEvent

__all__ = ["profile", "record_function", "EventList", "FunctionEvent"]


class _Recorder:
    """Collects FunctionEvents; ``op``/``node``/``begin``/``end`` are the hooks the framework calls."""

    def __init__(self, record_shapes=False):
        self.record_shapes = record_shapes
        self.events = EventList()
        self._stacks = {}          # thread id -> open events, innermost last
        self._lock = threading.Lock()
        self._t0 = time.perf_counter_ns()

    def begin(self, name, shapes=None, user=False):
        tid = threading.get_ident()
        stack = self._stacks.setdefault(tid, [])
        with self._lock:
            ev = FunctionEvent(len(self.events), name, tid, (time.perf_counter_ns() - self._t0) / 1e3,
                               shapes, user)
            self.events.append(ev)
        if stack:
            ev.cpu_parent = stack[-1]
            stack[-1].cpu_children.append(ev)
        stack.append(ev)
        return ev

    def end(self, ev):
        ev.time_range.end = (time.perf_counter_ns() - self._t0) / 1e3
        stack = self._stacks.get(ev.thread)
        if stack and stack[-1] is ev:
            stack.pop()

    def op(self, cls, args, kwargs):
        """Time one ``cls.apply(*args, **kwargs)``: the recorder steps aside while it runs."""
        ev = self.begin(_op_name(cls), _shapes(args) if self.record_shapes else None)
        _function._profiler = None
        try:
            return cls.apply(*args, **kwargs)
        finally:
            _function._profiler = self
            self.end(ev)

    def node(self, run, fn, grads):
        """Time one backward node ``fn`` (``run(fn, grads)`` is the engine's call)."""
        ev = self.begin("torch::autograd::AccumulateGrad" if fn.__class__ is _function.AccumulateGrad
                        else fn.name())
        try:
            return run(fn, grads)
        finally:
            self.end(ev)


_NAMES = {}


def _op_name(cls):
    """torch's profiler name for an op: ``aten::`` + its node's name in snake case (``AddmmBackward0`` ->
    ``aten::addmm``, ``MaxPool2DWithIndicesBackward0`` -> ``aten::max_pool2d_with_indices``); a
    user-defined Function keeps its class name."""
    name = _NAMES.get(cls)
    if name is None:
        if not cls.__module__.startswith("ember."):
            name = cls.__name__
        else:
            base = re.sub(r"Backward\d*$", "", cls._node_cls.__name__)
            words = re.sub(r"([A-Z]+|[0-9])([A-Z][a-z])", r"\1_\2", base)      # "2DWith", "L1Loss"
            name = "aten::" + re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
        _NAMES[cls] = name
    return name


def _shapes(args):
    """Input shapes as torch lists them: a tensor's shape, [] for anything else."""
    return [list(a._data.shape) if hasattr(a, "_data") else [] for a in args]


_active = []   # the recorders now collecting (profiles may nest; the innermost one is hooked in)


def _start(recorder):
    _active.append(recorder)
    _function._profiler = recorder


def _stop(recorder):
    if recorder in _active:
        _active.remove(recorder)
    _function._profiler = _active[-1] if _active else None


class profile:
    """``with profile() as prof: ...`` then ``prof.key_averages().table()`` (torch.autograd.profiler.profile).

    CPU time only: ``use_cuda``/``use_device`` are accepted and record nothing more."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, with_flops=False,
                 profile_memory=False, with_stack=False, with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False, custom_trace_id_callback=None):
        self.enabled, self.record_shapes = enabled, record_shapes
        self._recorder = None
        self.function_events = None

    def __enter__(self):
        if self.enabled:
            self._recorder = _Recorder(self.record_shapes)
            _start(self._recorder)
        return self

    def __exit__(self, *exc):
        if self._recorder is not None:
            _stop(self._recorder)
            self.function_events = self._recorder.events
        return False

    def _events(self):
        if self.function_events is None:
            if self._recorder is None:
                raise RuntimeError("Profiler didn't finish running")
            return self._recorder.events
        return self.function_events

    def events(self):
        return self._events()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        return self._events().key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by=None, row_limit=100, **kwargs):
        return self._events().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def total_average(self):
        return self._events().total_average()

    @property
    def self_cpu_time_total(self):
        return self._events().self_cpu_time_total

    def export_chrome_trace(self, path):
        return self._events().export_chrome_trace(path)

    def __str__(self):
        return self.table()


class record_function:
    """Name a block of code in the profile: ``with record_function("data"): ...`` or as a decorator."""

    def __init__(self, name, args=None):
        self.name, self.args = name, args
        self._ev = self._rec = None

    def __enter__(self):
        self._rec = _function._profiler
        if self._rec is not None:
            self._ev = self._rec.begin(self.name, user=True)
        return self

    def __exit__(self, *exc):
        if self._ev is not None:
            self._rec.end(self._ev)
            self._ev = None
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped
