"""Run programs written for PyTorch on Ember, unchanged.

>>> import ember.compat
>>> ember.compat.install()          # from now on ``import torch`` gives Ember
>>> import torch
>>> torch.nn.Linear is ember.nn.Linear
True

``ember run script.py [args...]`` does this for a whole program (see :mod:`ember.compat.runner`);
``python -m ember.compat.report`` lists which PyTorch names Ember provides (needs PyTorch installed).
A PyTorch API Ember lacks raises :class:`MissingTorchAPI` (``ember does not implement torch.nested.nested_tensor yet``).
"""
import sys
import warnings

from . import _hook
from ._hook import MissingTorchAPI, MissingTorchModule, TorchModule

__all__ = ["install", "uninstall", "is_installed", "MissingTorchAPI", "MissingTorchModule", "TorchModule"]

_saved_modules = {}  # real torch modules moved out of sys.modules by install(), put back by uninstall()


def _is_torch_name(name):
    return name.split(".")[0] in _hook.ROOTS


def _is_proxy(module):
    # type(), not isinstance(): reading __class__ of some lazy modules imports things (and changes sys.modules)
    return issubclass(type(module), TorchModule)


def is_installed():
    """True while ``import torch`` resolves to Ember."""
    return _hook.FINDER in sys.meta_path


def install():
    """Make ``import torch`` (and ``torch.*``, ``torchvision.datasets``/``transforms``) give Ember's modules.

    Call it before the first ``import torch``. If real PyTorch was imported already, its modules are set
    aside (a warning says so) -- objects taken from it earlier stay PyTorch's. Calling it twice is harmless.
    """
    if is_installed():
        return
    real = [n for n, m in list(sys.modules.items()) if _is_torch_name(n) and not _is_proxy(m)]
    if real:
        warnings.warn("PyTorch was imported before ember.compat.install(); objects already taken from it stay "
                      "PyTorch's. `import torch` now gives Ember.", RuntimeWarning, stacklevel=2)
        for n in real:
            _saved_modules[n] = sys.modules.pop(n)
    sys.meta_path.insert(0, _hook.FINDER)
    _hook.patch_tensor()


def uninstall():
    """Undo :func:`install`: ``import torch`` finds real PyTorch again (if installed)."""
    while _hook.FINDER in sys.meta_path:
        sys.meta_path.remove(_hook.FINDER)
    _hook.unpatch_tensor()
    for n in [n for n, m in list(sys.modules.items()) if _is_torch_name(n) and _is_proxy(m)]:
        del sys.modules[n]
    _hook._PROXIES.clear()
    sys.modules.update(_saved_modules)
    _saved_modules.clear()
