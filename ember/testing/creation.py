"""``make_tensor``: a tensor of the given shape and dtype filled with random values, for tests.

Floats are uniform in [low, high) (default [-9, 9)), integers in [low, high) (default [-9, 10)), bools
fair coin flips, complex numbers get independent real and imaginary parts. Values come from Ember's
generator (``manual_seed`` makes them repeatable; they are not torch's numbers).
"""
import math

import numpy as np

__all__ = ["make_tensor"]


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    from ..dtypes import to_dtype
    from ..creation import rand, randint, zeros
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dt = to_dtype(dtype)
    for name, v in (("low", low), ("high", high)):
        if v is not None and isinstance(v, float) and math.isnan(v):
            raise ValueError(f"{name} cannot be NaN, but got {name}={v}")
    if low is not None and high is not None and low >= high and not (low == high and dt.np.kind == "f"):
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    if dt.name == "bool":
        t = randint(0, 2, shape).to(dt)
    elif dt.np.kind in "iu":
        info = np.iinfo(dt.np)
        lo = max(info.min, -9 if low is None else math.ceil(low))
        hi = min(info.max + 1, 10 if high is None else math.ceil(high))
        t = randint(lo, hi, shape, dtype=dt)
    else:
        lo = -9.0 if low is None else low
        hi = 9.0 if high is None else high
        real = dt.to_real()
        t = rand(shape, dtype=real) * (hi - lo) + lo
        if dt.is_complex:
            from ..creation import complex as _complex
            t = _complex(t, rand(shape, dtype=real) * (hi - lo) + lo)
    if exclude_zero:
        from ..functions import where
        one = 1 if dt.np.kind in "iub" else (np.finfo(dt.to_real().np).tiny if low is None or low < 0 else hi)
        t = where(t == 0, zeros((), dtype=dt) + one, t)
    if noncontiguous and t.numel() > 1:
        from ..functions import repeat_interleave
        t = repeat_interleave(t, 2, dim=-1)[..., ::2]
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t
