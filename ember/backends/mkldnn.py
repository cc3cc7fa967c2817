"""torch.backends.mkldnn: oneDNN kernels. Ember does not use oneDNN; the flag is kept as set."""

__all__ = ["is_available", "enabled"]

enabled = True


def is_available():
    return False
