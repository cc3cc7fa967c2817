"""TensorBoard logging (torch.utils.tensorboard): ``SummaryWriter`` writes event files TensorBoard reads.

The files are written with tensorboardX (it needs only protobuf, not TensorFlow), an optional extra:
``pip install "ember[tensorboard]"``. ``writer.py`` holds the writer, ``summary.py`` turns values into
Summary protos, ``graph.py`` draws a model's forward pass for ``add_graph``.
"""
try:
    import tensorboardX  # noqa: F401
except ImportError as e:  # the error says what to install
    raise ImportError('TensorBoard logging needs tensorboardX: pip install "ember[tensorboard]"') from e

from .writer import SummaryWriter, FileWriter  # noqa: F401,E402

__all__ = ["SummaryWriter", "FileWriter"]
