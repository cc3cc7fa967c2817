"""Random number generation the way PyTorch's CPU generator does it, bit for bit.

The engine is torch's: a Mersenne twister (mt19937) seeded with the standard ``init_genrand`` on the low
32 bits of the seed. ``random()`` is one 32-bit word, ``random64()`` is two words ``(first << 32) | second``.
NumPy's ``MT19937`` bit generator is the same engine, so Ember keeps one and reads raw words from it; every
sampler (``ember/_sampling.py``) then turns words into values with torch's formulas. With the same seed, the
same calls give PyTorch's numbers (x86-64 Linux with glibc and an AVX2 CPU, where torch itself is defined
this way; other platforms may differ from torch in the last bit of float32 ``randn``/``uniform_``).

``get_state()`` is torch's 5056-byte layout, so a state saved by PyTorch restores here and the reverse.
"""
import contextlib
import os

import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng", "default_generator",
           "get_rng_state", "set_rng_state", "fork_rng"]

_DEFAULT_SEED = 67280421310721        # torch's default initial seed
_STATE_BYTES = 5056                   # sizeof(CPUGeneratorImplState)
_LEGACY_STATE_BYTES = 5048            # states saved before the float normal cache existed
_U64 = np.dtype("<u8")


class Generator:
    """A source of random numbers (``torch.Generator``): ``g = Generator().manual_seed(0)``.

    State: the twister's 624 words and position, the seed, and the cached second value of the last
    per-element Box-Muller pair (torch draws normals two at a time and keeps the spare).
    """

    def __init__(self, device="cpu"):
        from .device import device as _device
        self.device = _device(device) if isinstance(device, str) else device
        self._mt = np.random.MT19937(0)
        self._np = np.random.Generator(self._mt)
        self.manual_seed(_DEFAULT_SEED)

    # -- seeding ---------------------------------------------------------------------------------------------
    def manual_seed(self, seed):
        """Seed the engine (only the low 32 bits reach the twister; ``initial_seed`` keeps all 64)."""
        seed = int(seed)
        if seed < -(1 << 63) or seed >= (1 << 64):
            raise RuntimeError("Overflow when unpacking long long")
        seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self._mt._legacy_seeding(seed & 0xFFFF_FFFF)
        self._fresh = True             # torch: left_=1, next_=0 until the first draw
        self._normal64 = None          # cached double normal (next_double_normal_sample)
        self._normal32 = None          # cached float normal (next_float_normal_sample)
        return self

    def seed(self):
        """Seed from OS entropy; returns the new seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    # -- raw draws ---------------------------------------------------------------------------------------------
    def _words(self, n):
        """The next ``n`` 32-bit words (uint32 array): n calls of torch's ``random()``."""
        self._fresh = False
        return self._np.integers(0, 1 << 32, size=int(n), dtype=np.uint32)

    def _words64(self, n):
        """The next ``n`` 64-bit values (uint64): n calls of ``random64()`` = (first << 32) | second."""
        w = self._words(2 * int(n)).astype(np.uint64)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    # -- state -------------------------------------------------------------------------------------------------
    def get_state(self):
        """torch's ``CPUGeneratorImplState`` bytes as a uint8 tensor (5056 bytes)."""
        from ._tensor import wrap
        st = self._mt.state["state"]
        pos = int(st["pos"])
        left, nxt = (1, 0) if self._fresh else (625 - pos, pos)
        buf = bytearray(_STATE_BYTES)
        head = np.zeros(3, _U64)
        head[0] = self._seed
        buf[0:8] = head[:1].tobytes()
        buf[8:12] = np.int32(left).tobytes()
        buf[12:16] = np.int32(1).tobytes()
        buf[16:24] = np.uint64(nxt).tobytes()
        buf[24:24 + 624 * 8] = np.asarray(st["key"], np.uint32).astype(_U64).tobytes()
        off = 24 + 624 * 8                                  # normal_x, normal_y, normal_rho, normal_is_valid
        if self._normal64 is not None:
            buf[off + 8:off + 16] = np.float64(self._normal64).tobytes()
            buf[off + 24:off + 28] = np.int32(1).tobytes()
        if self._normal32 is not None:                      # next_float_normal_sample, is_valid
            buf[off + 32:off + 36] = np.float32(self._normal32).tobytes()
            buf[off + 36] = 1
        return wrap(np.frombuffer(bytes(buf), dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from ``get_state()`` (Ember's or PyTorch's: the bytes are the same)."""
        data = getattr(new_state, "_data", new_state)
        if hasattr(data, "get"):                            # CuPy
            data = data.get()
        arr = np.asarray(data)
        if arr.dtype != np.uint8:
            raise RuntimeError(f"expected a torch.ByteTensor, but got {arr.dtype}")
        raw = arr.reshape(-1).tobytes()
        if len(raw) not in (_STATE_BYTES, _LEGACY_STATE_BYTES):
            raise RuntimeError("Expected either a THGeneratorState of size 5048 or a CPUGeneratorImplState "
                               f"of size 5056 but found the input RNG state size to be {len(raw)}")
        seed = int(np.frombuffer(raw[0:8], _U64)[0])
        left = int(np.frombuffer(raw[8:12], np.int32)[0])
        nxt = int(np.frombuffer(raw[16:24], _U64)[0])
        if left < 1 or left > 624:
            raise RuntimeError("The input RNG state must have left in [1, 624]")
        key = np.frombuffer(raw[24:24 + 624 * 8], _U64).astype(np.uint32)
        self._seed = seed
        self._mt.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 625 - left}}
        self._fresh = left == 1 and nxt == 0
        off = 24 + 624 * 8
        valid = int(np.frombuffer(raw[off + 24:off + 28], np.int32)[0])
        self._normal64 = float(np.frombuffer(raw[off + 8:off + 16], np.float64)[0]) if valid else None
        self._normal32 = None
        if len(raw) == _STATE_BYTES and raw[off + 36]:
            self._normal32 = float(np.frombuffer(raw[off + 32:off + 36], np.float32)[0])
        return self

    def __repr__(self):
        return f"<ember.Generator object at {hex(id(self))}>"


default_generator = Generator()


def _gen(generator=None):
    """The ``Generator`` to draw from: ``generator`` or the global one."""
    return default_generator if generator is None else generator


def get_rng(generator=None):
    """A NumPy ``Generator`` over the same engine (for algorithms with no torch counterpart)."""
    g = _gen(generator)
    g._fresh = False
    return g._np


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
    """The global generator's state (a 5056-byte uint8 tensor, torch's layout)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """Run a block with the global generator's state saved and restored afterwards."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
