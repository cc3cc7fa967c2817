"""Ember: PyTorch's programming model on NumPy, small enough to read end to end.

``import ember as torch`` gives the torch top level: tensors and their creators, dtypes, math functions,
``no_grad``, ``manual_seed``, ``save``/``load``; ``ember.nn``, ``ember.optim``, ``ember.utils.data``,
``ember.autograd`` and ``ember.cuda`` sit where PyTorch puts them. See ARCHITECTURE.md for the map.
"""
import importlib as _importlib
import importlib.util  # noqa: F401  (find_spec for the lazy sub-packages)

from . import _allocator  # noqa: F401,E402  (first: freed big buffers stay in the process for the next step)

from .dtypes import (dtype, float16, half, float32, float, float64, double, bfloat16, int8, int16, short,  # noqa
                     int32, int, int64, long, uint8, bool, complex64, cfloat, complex128, cdouble,
                     get_default_dtype, set_default_dtype, promote_types, result_type, can_cast, finfo, iinfo)
from ._tensor import Tensor, Size  # noqa: F401
from . import _methods  # noqa: F401  (attaches the Tensor methods and operators)
from .device import device  # noqa: F401
from .random import manual_seed, seed, initial_seed, Generator, default_generator, get_rng_state, set_rng_state  # noqa
from .creation import *  # noqa: F401,F403
from .functions import *  # noqa: F401,F403
from .functions import return_types, sum, max, min, abs, all, any, round, pow  # noqa: F401
from .composite import *  # noqa: F401,F403  (hypot, quantile, block_diag … built from other ops)
from .windows import *  # noqa: F401,F403  (hann_window, hamming_window …)
from .accelerator import AcceleratorError, OutOfMemoryError  # noqa: F401,E402
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,  # noqa
                                 is_inference_mode_enabled)
from . import autograd, cuda  # noqa: F401,E402
from .storage import *  # noqa: F401,F403  (UntypedStorage, TypedStorage, FloatStorage …)
from ._tensor_str import set_printoptions, get_printoptions  # noqa: F401
from .amp.autocast_mode import (autocast, is_autocast_enabled, set_autocast_enabled, get_autocast_dtype,  # noqa
                                set_autocast_dtype, is_autocast_cpu_enabled, get_autocast_cpu_dtype,
                                get_autocast_gpu_dtype, is_autocast_cache_enabled, set_autocast_cache_enabled,
                                clear_autocast_cache)
from ._settings import *  # noqa: F401,F403  (threads, matmul precision, determinism, default device)

__version__ = "0.1.0"

from ._legacy_tensors import (FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor,  # noqa
                              ShortTensor, CharTensor, ByteTensor, BoolTensor)
strided = "torch.strided"
contiguous_format = preserve_format = channels_last = "torch.contiguous_format"
inf, nan, pi, e = __import__("math").inf, __import__("math").nan, __import__("math").pi, __import__("math").e


def is_tensor(obj):
    return isinstance(obj, Tensor)


def compile(model=None, **kwargs):
    """torch.compile: returns ``model`` ready to run eagerly (see ``ember/compiler.py``)."""
    from .compiler import compile as _compile
    return _compile(model, **kwargs)


# Sub-packages load on first use (``ember.nn``, ``from ember import optim``), keeping ``import ember`` fast.
_LAZY = {"nn", "optim", "utils", "datasets", "transforms", "compat", "serialization", "linalg", "fft", "testing", "func",
         "backends", "distributions", "special", "jit", "amp", "multiprocessing", "hub", "onnx", "overrides",
         "accelerator", "cpu", "compiler"}

_LAZY |= {"distributed", "viz", "profiler"}


def __getattr__(name):
    if name == "summary":  # ember.summary(model, input_size=...): the torchinfo-style table (ember/viz)
        return _importlib.import_module(".viz", __name__).summary
    if name in _LAZY and _importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return _importlib.import_module(f".{name}", __name__)
    if name in ("save", "load"):
        return getattr(_importlib.import_module(".serialization", __name__), name)
    if name in ("softmax", "log_softmax", "dropout", "layer_norm", "embedding", "conv1d", "conv2d", "batch_norm",
                "group_norm", "pdist", "cosine_similarity", "pairwise_distance", "sigmoid_", "relu_", "celu",
                "selu", "rrelu", "prelu", "hardshrink", "pixel_shuffle", "binary_cross_entropy_with_logits",
                "max_pool1d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool1d", "threshold",
                "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "channel_shuffle",
                "native_channel_shuffle", "pixel_unshuffle", "celu_", "selu_", "rrelu_", "threshold_", "bilinear"):
        F = _importlib.import_module(".nn.functional", __name__)
        if hasattr(F, name):
            return getattr(F, name)
    raise AttributeError(f"module 'ember' has no attribute '{name}'")
from .hints import set_hints  # noqa: E402,F401  (``ember.set_hints(True)``: errors that teach)
from .ops.strided import as_strided  # noqa: E402,F401
