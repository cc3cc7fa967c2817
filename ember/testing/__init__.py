"""``torch.testing``: ``assert_close`` (tolerances by dtype, torch's failure report) and ``make_tensor``."""
from .comparison import assert_close, assert_allclose  # noqa: F401
from .creation import make_tensor  # noqa: F401

__all__ = ["assert_close", "assert_allclose", "make_tensor"]
