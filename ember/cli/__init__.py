"""The ``ember`` command (entry point ``ember.cli:main``).

* ``ember train``: train a model and save it with its metrics and a plot (:mod:`.train`; the run
  folder's files: :mod:`.rundir`; the data: :mod:`.data`; progress display: :mod:`.progress`);
* ``ember run script.py [args...]``: run a PyTorch program on Ember (:mod:`.run`);
* ``ember distributed-run --nproc-per-node N script.py``: run it on N processes, as torchrun does
  (:mod:`ember.distributed.run`);
* ``ember --version``.

Errors a user can fix (a bad option, a missing file) print one ``ember: error: ...`` line, exit code 2;
Ctrl-C during ``ember train`` saves a checkpoint, prints how to resume, exit code 130.
"""
import sys

from . import run as _run
from . import train as _train
from .parsing import HelpFormatter, Parser, UsageError
from .train import Interrupted, TrainingError, train

__all__ = ["main", "train", "UsageError"]


def _parser():
    import ember
    p = Parser(prog="ember", formatter_class=HelpFormatter,
               description="Ember: a small deep learning framework with PyTorch's API.",
               epilog="examples:\n  ember train\n  ember train --help\n  ember run script.py\n"
                      "  ember distributed-run --nproc-per-node 2 script.py")
    p.add_argument("--version", action="version", version=f"ember {ember.__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="{train,run}")
    _train.add_parser(sub)
    _run.add_parser(sub)
    return p


def main(argv=None):
    """``ember ...``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run" and len(argv) > 1 and argv[1] not in ("-h", "--help"):
        return _run.run(argv[1:])  # everything after the script belongs to the script
    if argv == ["run"]:
        print("ember: error: the following arguments are required: script (ember run script.py [args...])",
              file=sys.stderr)
        return 2
    if argv and argv[0] == "distributed-run":  # torchrun's job, on MPI (ember/distributed/run.py)
        from ember.distributed.run import main as distributed_run
        return distributed_run(argv[1:])
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            _parser().print_help()
            return 0
        if args.command == "run":  # only reached without a script
            raise UsageError("ember run needs the script to run: ember run script.py [args...]")
        args.argv = argv
        train(args)
        return 0
    except UsageError as e:
        print(f"ember: error: {e}", file=sys.stderr)
        return 2
    except TrainingError as e:
        print(f"ember: error: {e}", file=sys.stderr)
        return 1
    except Interrupted as e:
        print(e, file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("ember: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # --help and --version print and exit 0
        return e.code if isinstance(e.code, int) else 0
