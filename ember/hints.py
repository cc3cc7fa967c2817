"""Errors that teach: ``ember.set_hints(True)`` (or ``EMBER_HINTS=1``) adds one ``hint:`` line to the
errors beginners meet most -- what went wrong in the words of the lessons, and the usual fix.

The error's class and torch's own message stay as they are (the hint is a second line), and hints are
off by default, so programs that compare error messages with PyTorch's still see the same text.
"""
import os

__all__ = ["set_hints", "hints_enabled", "add_hint"]

_ENABLED = [os.environ.get("EMBER_HINTS", "").strip() not in ("", "0", "false", "False")]

HINTS = {
    "view": "view() only re-reads the same storage with new strides, and this tensor's layout (after t(), "
            "permute(), a stepped slice ...) cannot be re-read as the shape you asked for. Use .reshape(...), which "
            "copies when it must, or .contiguous().view(...). ember.viz.explain(t) shows the strides.",
    "backward_scalar": "backward() without an argument computes d(output)/d(parameters) for ONE number: the loss "
                       "must be a scalar. Reduce it first (loss = out.mean() or out.sum()), or pass "
                       "gradient=torch.ones_like(out) to backward().",
    "inplace_saved": "a tensor autograd saved for backward was changed in place afterwards (x += ..., x.relu_(), "
                     "inplace=True, x[i] = ...). Use the out-of-place form (x = x + ...) or change a .clone().",
    "leaf_inplace": "parameters (leaf tensors with requires_grad=True) can't be changed in place while autograd "
                    "records. Update them inside `with torch.no_grad():`, as optimizers do.",
    "linear": "{layer} expects the last dimension of its input to be in_features={in_features}, but got {got} "
              "(input shape {shape}). Check the previous layer's output size (or a missing nn.Flatten()).",
    "ce_onehot": "CrossEntropyLoss takes class indices (shape (N,), int64 values in [0, C)) or float class "
                 "probabilities of the input's shape. For one-hot rows pass target.argmax(dim=1), or target.float().",
    "ce_float": "CrossEntropyLoss's class-index targets must be integers: use target.long() (float targets must "
                "have the input's shape: class probabilities).",
    "device": "every tensor of one op must be on one device: move the model and the data there together "
              "(model.to(device); x, y = x.to(device), y.to(device)).",
}


def set_hints(enabled=True):
    """Turn the ``hint:`` lines on (or off) for the rest of the program."""
    _ENABLED[0] = bool(enabled)


def hints_enabled():
    return _ENABLED[0]


def add_hint(exc, key, **info):
    """``exc`` with ``HINTS[key]`` (formatted with ``info``) appended as a ``hint:`` line when hints are on."""
    if _ENABLED[0] and exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]}\nhint: {HINTS[key].format(**info)}",) + exc.args[1:]
    return exc
