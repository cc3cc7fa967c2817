"""``python -m benchmarks``: the Ember-vs-PyTorch table (benchmarks/run_all.py)."""
from .run_all import main

main()
