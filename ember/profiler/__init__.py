"""torch.profiler: time a training loop op by op, on a schedule, and hand each result to a handler.

::

    from ember.profiler import profile, record_function, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(x)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

The recording itself (what is timed, and where) is ``ember/autograd/profiler.py``; this module adds what
``torch.profiler`` has on top: activities, ``schedule`` (skip, wait, warm up, then record ``active`` steps,
``prof.step()`` marking each) and ``on_trace_ready`` handlers such as ``tensorboard_trace_handler``.
Ember runs on the CPU (CuPy kernels are timed from the host side), so CPU is the one activity recorded.
"""
import enum
import os
import socket
import time
import warnings

from ..autograd.profiler import _Recorder, _start, _stop, record_function
from ..autograd.profiler_util import EventList

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "supported_activities"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


def supported_activities():
    return {ProfilerActivity.CPU}


class ProfilerAction(enum.Enum):
    """What the profiler does during one step of a schedule."""
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """step -> ProfilerAction: after ``skip_first`` steps, cycles of ``wait`` idle, ``warmup`` (running,
    results dropped) and ``active`` recorded steps, the last of which saves; ``repeat`` cycles (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results")

    def schedule_fn(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def _always_record(step):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` handler writing each result as a Chrome trace into ``dir_name``
    (``<worker>.<time>.pt.trace.json``, the name TensorBoard's profiler plugin looks for)."""
    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{worker}.{time.time_ns() // 1000000}.pt.trace.json")
        if use_gzip:
            import gzip
            import shutil
            prof.export_chrome_trace(path)
            with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.remove(path)
            return
        prof.export_chrome_trace(path)
    return handler


class profile:
    """torch.profiler.profile: a context manager (or ``start()``/``stop()``) that records ops, backward nodes
    and ``record_function`` blocks; ``step()`` advances the ``schedule``."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False,
                 custom_trace_id_callback=None, use_cuda=None):
        self.activities = set(activities) if activities is not None else supported_activities()
        self.schedule = schedule or _always_record
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.step_num = 0
        self._recorder = None
        self._result = None
        self._action = ProfilerAction.NONE

    # --- running ---------------------------------------------------------------------------------
    def start(self):
        self._enter(self.schedule(self.step_num))

    def stop(self):
        if self._recorder is not None:
            self._finish(save=self.on_trace_ready is not None and self._action != ProfilerAction.WARMUP)
        self._action = ProfilerAction.NONE

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def step(self):
        """Mark the end of a training step: the schedule decides what the next step does."""
        prev = self._action
        self.step_num += 1
        action = self.schedule(self.step_num)
        recording = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if prev == ProfilerAction.RECORD_AND_SAVE or (prev == ProfilerAction.RECORD and action not in recording):
            self._finish(save=True)
        elif prev == ProfilerAction.WARMUP and action == ProfilerAction.NONE:
            self._finish(save=False)
        if prev == ProfilerAction.WARMUP and action in recording:
            self._recorder.events.clear()      # warm-up steps ran under the recorder; their events are dropped
            self._action = action
            return
        self._enter(action)

    def _enter(self, action):
        self._action = action
        if action != ProfilerAction.NONE and self._recorder is None:
            self._recorder = _Recorder(self.record_shapes)
            _start(self._recorder)

    def _finish(self, save):
        rec, self._recorder = self._recorder, None
        if rec is None:
            return
        _stop(rec)
        self._result = rec.events
        if save and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # --- results ---------------------------------------------------------------------------------
    def events(self):
        if self._result is None:
            return self._recorder.events if self._recorder is not None else EventList()
        return self._result

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path):
        return self.events().export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """One line per event name: ``name <metric in us>`` (torch writes folded stacks; no stacks are kept here)."""
        with open(path, "w") as f:
            for ev in self.key_averages():
                f.write(f"{ev.key} {int(getattr(ev, metric))}\n")
