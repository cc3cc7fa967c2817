"""torch.cpu.amp: ``autocast`` and ``GradScaler`` under their old, deprecated names (see ``amp/deprecated.py``)."""
from ..amp.deprecated import device_amp

__all__ = ["autocast", "GradScaler"]

autocast, GradScaler = device_amp("cpu", __name__)
