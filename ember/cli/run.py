"""``ember run script.py [args...]``: run a program written for PyTorch on Ember (``import torch`` gives Ember).

Everything after the script's name belongs to the script, ``--help`` included; ``ember run --help``
(with no script) explains the command itself.
"""
import argparse

from .parsing import HelpFormatter

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Run a Python program written for PyTorch on Ember: inside it, `import torch` (and torch.nn,
torch.optim, torch.utils.data, ...) gives Ember. The program runs as `python script.py args...`
would run it: as __main__, with sys.argv = [script, args...]. Its exit code is ember run's."""

EPILOG = """\
examples:
  ember run train.py
  ember run train.py --epochs 3 --lr 0.01     (the options go to train.py)
  ember run train.py --help                   (train.py's own help)"""


def add_parser(sub):
    r = sub.add_parser("run", help="run a PyTorch program on Ember (import torch -> ember)",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    r.add_argument("script", help="the Python file to run")
    r.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed on to the script")
    return r


def run(argv):
    """``argv`` = ``[script, *args]``; the script's exit code."""
    from ember.compat.runner import run_script
    return run_script(argv[0], argv[1:])
