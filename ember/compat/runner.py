"""``ember run script.py [args...]``: run a program written for PyTorch on Ember.

The program runs as ``python script.py [args...]`` would run it -- as ``__main__``, with
``sys.argv == [script, *args]`` and the script's folder first on ``sys.path`` -- except that
``import torch`` gives Ember (:func:`ember.compat.install`). An uncaught exception prints the usual
traceback (starting at the script's own frame) and gives exit code 1; ``sys.exit(n)`` gives ``n``.
"""
import os
import runpy
import sys

from . import MissingTorchAPI, MissingTorchModule, install, is_installed, uninstall

__all__ = ["run_script"]


_HERE = os.path.dirname(os.path.abspath(__file__))
_OURS = {__file__, os.path.abspath(__file__), runpy.__file__, "<frozen runpy>"}  # frames above the script's


def _user_traceback(e):
    """``e``'s traceback from the script's first frame on (the frames of ember run itself are noise to the
    user); for a missing PyTorch API, also without the import hook's own frames at the end."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in _OURS:
        tb = tb.tb_next
    if isinstance(e, (MissingTorchAPI, MissingTorchModule)):
        frames, t = [], tb
        while t is not None:
            frames.append(t)
            t = t.tb_next
        user = [t for t in frames if not (t.tb_frame.f_code.co_filename.startswith((_HERE, "<frozen importlib")))]
        if user:
            user[-1].tb_next = None
    return tb


def _exit_code(code):
    """What ``python`` turns ``SystemExit(code)`` into."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_script(path, argv=()):
    """Run the PyTorch program ``path`` on Ember with arguments ``argv``; return its exit code."""
    script = os.path.abspath(path)
    if not os.path.exists(script):
        print(f"ember run: can't open file {script!r}: [Errno 2] No such file or directory", file=sys.stderr)
        return 2
    was_installed = is_installed()
    install()
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(script) if os.path.isfile(script) else script)
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as e:
        code = _exit_code(e.code)
    except BaseException as e:  # noqa: B902 -- report it exactly as python would, then return its code
        sys.stdout.flush()
        tb = _user_traceback(e)
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        code = 130 if isinstance(e, KeyboardInterrupt) else 1
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if not was_installed:
            uninstall()
    sys.stdout.flush()
    return code
