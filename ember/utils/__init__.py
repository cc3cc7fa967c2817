"""ember.utils — data loading lives in ember.utils.data."""
from . import data  # noqa: F401
