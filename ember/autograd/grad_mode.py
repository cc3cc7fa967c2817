"""Switching graph recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

All of them flip one flag that ``Function.apply`` reads before it records a node. Each works as a
context manager and as a decorator (``@no_grad()`` or bare ``@no_grad``), like torch's.
"""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State:
    enabled = True
    inference = False
    detect_anomaly = False


STATE = _State()


def is_grad_enabled():
    return STATE.enabled


def is_inference_mode_enabled():
    return STATE.inference


class _GradMode:
    """Enter sets the flag, exit restores it; ``mode(fn)`` returns ``fn`` wrapped in a fresh ``mode``."""

    enabled = True
    inference = False
    _args = ()

    def __new__(cls, *args):
        if len(args) == 1 and callable(args[0]) and cls in (no_grad, enable_grad, inference_mode):
            return object.__new__(cls)(args[0])  # bare decorator: @no_grad
        return object.__new__(cls)

    def __init__(self, *args):
        self._args = args

    def __enter__(self):
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled, STATE.inference = self.enabled, self.inference or STATE.inference

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self._prev
        return False

    def clone(self):
        return type(self)(*self._args)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Ops inside don't record a graph: their results have ``requires_grad=False``."""

    enabled = False


class enable_grad(_GradMode):
    """Record the graph again inside a ``no_grad`` block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` acts as ``no_grad``; called as a plain function it sets the flag at once."""

    def __init__(self, mode):
        self._args = (mode,)
        self.enabled = bool(mode)
        self._prev = (STATE.enabled, STATE.inference)
        STATE.enabled = self.enabled

    def __enter__(self):
        pass

    def __call__(self, fn):
        STATE.enabled, STATE.inference = self._prev  # used as a decorator: undo the eager switch
        return super().__call__(fn)


class inference_mode(_GradMode):
    """``no_grad`` for inference (Ember has no extra bookkeeping to skip, so it is the same switch)."""

    def __init__(self, mode=True):
        self._args = (mode,)
        self.enabled = not mode
        self.inference = bool(mode)
