"""Anomaly detection: name the forward op whose backward produced NaN."""
import traceback

from .grad_mode import STATE

__all__ = ["set_detect_anomaly", "detect_anomaly", "is_anomaly_enabled"]


def is_anomaly_enabled():
    return STATE.detect_anomaly


class set_detect_anomaly:
    """``set_detect_anomaly(True)``: backward checks every gradient for NaN and raises naming the node.

    Works as a function call (takes effect at once) and as a context manager."""

    def __init__(self, mode, check_nan=True):
        self._prev = STATE.detect_anomaly
        STATE.detect_anomaly = bool(mode)
        _install(bool(mode))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.detect_anomaly = self._prev
        _install(self._prev)
        return False


class detect_anomaly(set_detect_anomaly):
    def __init__(self, check_nan=True):
        super().__init__(True, check_nan)


def _install(on):
    """While anomaly mode is on, every recorded node keeps the stack of the forward call that made it."""
    from . import function
    if on and not hasattr(function._connect, "_anomaly"):
        orig = function._connect

        def connect(ctx, args, outs, flags):
            ctx._anomaly_trace = "".join(traceback.format_stack(limit=12)[:-2])
            return orig(ctx, args, outs, flags)
        connect._anomaly = orig
        function._connect = connect
    elif not on and hasattr(function._connect, "_anomaly"):
        function._connect = function._connect._anomaly
