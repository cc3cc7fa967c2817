"""What every ``ember`` command shares: the one-line usage error and the argument parser that raises it."""
import argparse

__all__ = ["UsageError", "Parser", "HelpFormatter"]


class UsageError(Exception):
    """A bad option, a missing file or a clash between settings: printed as ``ember: error: ...`` on
    stderr (one line, plus indented detail lines where there is more to say), exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(message)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's and the examples' line breaks; wide enough for the option help."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)
