"""torch.autograd.graph: the node type of grad_fn objects."""
from .function import Node  # noqa: F401
