"""Automatic mixed precision (torch.amp): ``autocast`` regions and ``GradScaler`` loss scaling.

``with ember.autocast("cpu", dtype=ember.bfloat16):`` runs matrix products in bfloat16 and losses in
float32 (see ``autocast_mode``); ``GradScaler`` keeps float16 gradients from underflowing
(see ``grad_scaler``).
"""
from . import autocast_mode, grad_scaler
from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "is_autocast_available", "custom_fwd", "custom_bwd"]
