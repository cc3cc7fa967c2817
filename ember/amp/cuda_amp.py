"""torch.cuda.amp: ``autocast`` and ``GradScaler`` under their old, deprecated names (see ``deprecated.py``).

Without a GPU they warn again and disable themselves, as torch's do. Reached as ``ember.cuda.amp``
(``ember/cuda.py`` is a module, so this file stands in for the package)."""
from .autocast_mode import custom_bwd, custom_fwd  # noqa: F401  (torch.cuda.amp.custom_fwd)
from .deprecated import device_amp

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]

autocast, GradScaler = device_amp("cuda", "ember.cuda.amp")
