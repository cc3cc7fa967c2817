"""ember.nn — neural-network building blocks, laid out like ``torch.nn``.

Each file holds one family of modules and lists its public names in ``__all__``.
"""
from .parameter import *  # noqa: F401,F403  Parameter, Buffer
from .module import *  # noqa: F401,F403  Module
from .containers import *  # noqa: F401,F403  Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import *  # noqa: F401,F403  Identity, Linear, Bilinear, LazyLinear
from .activation import *  # noqa: F401,F403  ReLU, GELU, Softmax, ... MultiheadAttention lives in transformer.py
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403  Embedding, EmbeddingBag
from .normalization import *  # noqa: F401,F403  LayerNorm, RMSNorm, GroupNorm, BatchNorm*
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403  MultiheadAttention, TransformerEncoder/Decoder(Layer)
from .loss import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403  AdaptiveLogSoftmaxWithLoss
from .lazy import *  # noqa: F401,F403  LazyConv*/LazyConvTranspose*/LazyBatchNorm*/LazyInstanceNorm*
from . import functional, init, utils  # noqa: F401,E402
from .parallel import DataParallel  # noqa: F401,E402
