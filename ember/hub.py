"""ember.hub: pretrained weights from a cache, never from the network.

``load_state_dict_from_url(url)`` looks where torch would have downloaded the file
(``<hub_dir>/checkpoints/<file name from the url>``, hub_dir = ``$TORCH_HOME/hub``, default
``~/.cache/torch/hub``) and loads it with :func:`ember.load` (safetensors, or a PyTorch ``.pt`` zip through
the restricted reader). A local path or a ``file://`` url is read directly. Ember does not download: a
file that is neither local nor cached raises one error saying where to put it.
"""
import os
import re
from urllib.parse import urlparse, unquote

__all__ = ["get_dir", "set_dir", "load_state_dict_from_url", "download_url_to_file", "HASH_REGEX"]

ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # file-<sha256 prefix>.ext, as torch names hub files

_hub_dir = None


def _get_torch_home():
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, os.path.join(
        os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR), "torch")))


def get_dir():
    """The hub cache folder: ``set_dir``'s, else ``$TORCH_HOME/hub`` (as torch)."""
    return _hub_dir if _hub_dir is not None else os.path.join(_get_torch_home(), "hub")


def set_dir(d):
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Ember has no network access; copies a local (``file://``) source, else raises RuntimeError."""
    src = _local_path(url)
    if src is None:
        raise RuntimeError(f"ember does not download files: cannot fetch {url}. Download it yourself and "
                           f"save it as {dst}.")
    import shutil
    shutil.copyfile(src, dst)
    if hash_prefix is not None:
        _check_hash(dst, hash_prefix)


def _local_path(url):
    parts = urlparse(url)
    if parts.scheme == "file":
        return unquote(parts.path)
    if parts.scheme == "" and os.path.exists(url):
        return url
    return None


def _check_hash(path, hash_prefix):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if digest[:len(hash_prefix)] != hash_prefix:
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True, check_hash=False,
                             file_name=None, weights_only=False):
    """Load the checkpoint ``url`` names from a local path or the hub cache (no download).

    ``check_hash=True`` verifies the sha256 prefix in a ``name-<hash>.ext`` file name, as torch does.
    """
    from .serialization import load
    local = _local_path(url)
    if local is not None:
        path = local
    else:
        if model_dir is None:
            model_dir = os.path.join(get_dir(), "checkpoints")
        filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
        path = os.path.join(model_dir, filename)
        if not os.path.exists(path):
            raise RuntimeError(f"ember does not download files: {url} is not in the cache. Download it yourself "
                               f"and save it as {path} (the hub cache; set TORCH_HOME or pass model_dir= to "
                               "use another folder).")
    if check_hash:
        m = HASH_REGEX.search(os.path.basename(path))
        if m is not None:
            _check_hash(path, m.group(1))
    return load(path, map_location=map_location, weights_only=weights_only)
