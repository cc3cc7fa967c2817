"""torch.backends.mps: Apple's Metal back-end. Ember has none."""

__all__ = ["is_available", "is_built"]


def is_available():
    return False


def is_built():
    return False
