"""``python -m ember.cli ...`` (the same as ``ember ...``)."""
import sys

from . import main

sys.exit(main())
