"""Optimizers and learning-rate schedulers (torch.optim).

``opt = ember.optim.Adam(model.parameters(), lr=1e-3)`` then, each iteration,
``opt.zero_grad(); loss.backward(); opt.step()``.  Schedulers in ``ember.optim.lr_scheduler``
change the groups' ``lr`` between steps.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "lr_scheduler"]
