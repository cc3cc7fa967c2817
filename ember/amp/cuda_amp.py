"""torch.cuda.amp: ``torch.cuda.amp.autocast`` / ``GradScaler`` (deprecated spellings, as in torch).

Each warns with torch's FutureWarning and is ``torch.amp.autocast("cuda", ...)`` /
``torch.amp.GradScaler("cuda", ...)`` -- which, without a GPU, warn again and disable themselves.
Reached as ``ember.cuda.amp`` (``ember/cuda.py`` is a module, so this file stands in for the package)."""
import warnings

from .autocast_mode import autocast as _autocast
from .autocast_mode import custom_bwd, custom_fwd  # noqa: F401  (torch.cuda.amp.custom_fwd)
from .grad_scaler import GradScaler as _GradScaler

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]


class autocast(_autocast):
    """``torch.amp.autocast("cuda", dtype=float16, ...)`` under its old name."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        from ..dtypes import float16
        super().__init__("cuda", enabled=enabled, dtype=float16 if dtype is None else dtype,
                         cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``torch.amp.GradScaler("cuda", ...)`` under its old name."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
