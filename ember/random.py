"""Random number generation: one global generator, seedable like torch's.

Ember draws from NumPy's PCG64 ``numpy.random.Generator``. The same seed gives the same numbers in Ember
every time; they are not the numbers PyTorch's Mersenne twister would give.
"""
import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng", "default_generator",
           "get_rng_state", "set_rng_state"]


class Generator:
    """A source of random numbers (``torch.Generator``): ``g = Generator().manual_seed(0)``."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 67280421310721  # torch's default initial seed
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor (JSON of the bit generator's state)."""
        import json
        from ._tensor import wrap
        st = self._rng.bit_generator.state
        return wrap(np.frombuffer(json.dumps(st).encode(), dtype=np.uint8).copy())

    def set_state(self, state):
        import json
        st = json.loads(bytes(np.asarray(state._data if hasattr(state, "_data") else state,
                                         dtype=np.uint8)).decode())
        self._rng.bit_generator.state = st
        return self


default_generator = Generator()


def get_rng(generator=None):
    """The NumPy generator to draw from: ``generator``'s own, or the global one."""
    return (generator or default_generator)._rng


def manual_seed(seed):
    """Seed the global generator (and CuPy's, when present); returns it."""
    from .device import cupy
    if cupy is not None:
        try:
            cupy.random.seed(int(seed) & 0xFFFF_FFFF)
        except Exception:
            pass
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)
