"""``ember.nn.parallel`` -- data parallelism (``torch.nn.parallel``): ``DistributedDataParallel`` across
processes (MPI, see ``ember.distributed``), ``DataParallel`` on one device."""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel




__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
