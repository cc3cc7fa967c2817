"""``ember.distributed`` -- ``torch.distributed`` on MPI (mpi4py).

Start N copies of a program (``ember distributed-run --nproc-per-node N train.py``, or
``mpiexec -n N python train.py``); each calls :func:`init_process_group` and then moves tensors between
the processes with collectives (``all_reduce``, ``broadcast`` ...). ``ember.nn.parallel.
DistributedDataParallel`` builds data-parallel training on them. Without mpi4py (``pip install
"ember[distributed]"``) ``is_available()`` is False and ``init_process_group`` says what to install.

``process_group.py`` holds who is in the job and the guards against hangs (mismatch check, timeouts,
abort on an uncaught exception); ``collectives.py`` the data movement; ``run.py`` the launcher.
"""
from .collectives import *  # noqa: F401,F403
from .collectives import __all__ as _collective_names
from .process_group import *  # noqa: F401,F403
from .process_group import __all__ as _group_names

Backend = type("Backend", (), {"GLOO": "gloo", "NCCL": "nccl", "MPI": "mpi", "UCC": "ucc",
                               "__doc__": "Backend names accepted by init_process_group (all run on MPI)."})

__all__ = list(_collective_names) + list(_group_names) + ["Backend"]
