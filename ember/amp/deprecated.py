"""The older device-specific spellings: ``torch.cpu.amp.autocast`` / ``GradScaler`` and
``torch.cuda.amp.autocast`` / ``GradScaler``. torch deprecates them with a FutureWarning naming
the new spelling; each is ``torch.amp.autocast(device, ...)`` / ``torch.amp.GradScaler(device, ...)``."""
import warnings

from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def device_amp(device, module):
    """The ``(autocast, GradScaler)`` classes of ``torch.<device>.amp``, defined in ``module``."""

    def warn(name):
        warnings.warn(f"`torch.{device}.amp.{name}(args...)` is deprecated. Please use "
                      f"`torch.amp.{name}('{device}', args...)` instead.", FutureWarning, stacklevel=3)

    class autocast(_autocast):
        __doc__ = f"``torch.amp.autocast('{device}', ...)`` under its old name (deprecated)."

        def __init__(self, enabled=True, dtype=None, cache_enabled=True):
            warn("autocast")
            from .autocast_mode import _State
            super().__init__(device, enabled=enabled, dtype=_State().dtype[device] if dtype is None else dtype,
                             cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        __doc__ = f"``torch.amp.GradScaler('{device}', ...)`` under its old name (deprecated)."

        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            warn("GradScaler")
            super().__init__(device, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    for cls in (autocast, GradScaler):
        cls.__module__ = module
        cls.__qualname__ = cls.__name__
    return autocast, GradScaler
