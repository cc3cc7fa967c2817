"""Optimizers and learning-rate schedulers (torch.optim).

``opt = ember.optim.Adam(model.parameters(), lr=1e-3)`` then, each iteration,
``opt.zero_grad(); loss.backward(); opt.step()``.  Schedulers in ``ember.optim.lr_scheduler``
change the groups' ``lr`` between steps.
"""
from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "Adadelta", "RAdam",
           "Rprop", "ASGD", "SparseAdam", "LBFGS", "Adafactor", "Muon", "lr_scheduler", "swa_utils"]
