"""Process groups on MPI: who is in the job, and how a collective is started, checked and waited for.

PyTorch's ``torch.distributed`` talks to a *backend* (gloo, NCCL, MPI). Ember has one backend, MPI through
mpi4py (the ``distributed`` extra brings mpi4py and the MPICH wheel, whose ``mpiexec`` lands in the venv).
Every process of the job runs the same program; MPI numbers them 0..N-1 (the *rank*).

Plain MPI hangs forever when one rank raises, skips a collective or calls a different one. Ember adds
three guards, all here:

1. Before each collective every rank shares a short description of what it is about to do (name, shape,
   dtype, op, root and a sequence number) with a non-blocking ``Iallgather``; different descriptions raise
   a ``RuntimeError`` naming both calls, instead of mixing up buffers.
2. Every wait polls its MPI request until the group's ``timeout`` (``init_process_group(timeout=...)``,
   30 minutes by default as in torch); then it raises, naming the collective and the rank.
3. An uncaught exception on any rank prints its traceback with the rank and aborts the whole job
   (``MPI_Abort``), so the other ranks do not wait for it until the timeout.
"""
import datetime
import os
import sys
import threading
import time
import traceback

__all__ = ["ProcessGroup", "GroupMember", "group", "init_process_group", "destroy_process_group", "is_available",
           "is_initialized", "is_mpi_available", "is_gloo_available", "is_nccl_available",
           "is_torchelastic_launched", "get_rank", "get_world_size", "get_backend", "new_group", "get_global_rank",
           "get_group_rank", "get_process_group_ranks", "DistBackendError", "default_pg_timeout"]

default_pg_timeout = datetime.timedelta(minutes=30)
_INSTALL = 'pip install "ember[distributed]"  (mpi4py and the MPICH wheel)'


class DistBackendError(RuntimeError):
    """A collective failed or timed out (torch's ``torch.distributed.DistBackendError``)."""


def is_available():
    """True when mpi4py can be imported (Ember's only backend is MPI)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_gloo_available():
    """gloo is served by MPI in Ember: available when MPI is."""
    return is_available()


def is_nccl_available():
    """NCCL is not wired up yet (CUDA tensors are reduced through host memory over MPI)."""
    return False


def is_torchelastic_launched():
    """True when a launcher (``ember distributed-run``, torchrun) set ``TORCHELASTIC_RUN_ID``."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"ember.distributed needs MPI: {_INSTALL}") from e
    return MPI


class ProcessGroup:
    """A set of ranks with their own MPI communicator (``torch.distributed.ProcessGroup``).

    ``ranks`` are global ranks in group order; ``comm`` is ``None`` on processes outside the group.
    """

    def __init__(self, comm, ranks, backend, timeout, name):
        self.comm = comm
        self.ranks = list(ranks)
        self.backend = backend
        self.timeout = timeout
        self.group_name = name
        self._seq = 0

    def rank(self):
        return self.comm.Get_rank() if self.comm is not None else -1

    def size(self):
        return len(self.ranks)

    def name(self):
        return self.backend

    def __repr__(self):
        return f"ProcessGroup(name={self.group_name!r}, ranks={self.ranks}, backend={self.backend!r})"

    # --- the guards -------------------------------------------------------------------------------
    def wait(self, request, what):
        """Poll ``request`` until it completes; past the group's timeout raise ``DistBackendError``."""
        deadline = time.monotonic() + self.timeout.total_seconds()
        pause = 0.0
        while not request.Test():
            if time.monotonic() > deadline:
                raise DistBackendError(
                    f"[rank {_world_rank()}] {what} on {self.group_name} did not complete within "
                    f"{_seconds(self.timeout)}: another rank skipped or mismatched it, crashed, or is stuck")
            time.sleep(pause)
            pause = min(0.002, pause + 0.00005)  # spin first (short collectives), then back off

    def check_peers(self, desc):
        """Share ``desc`` (this rank's next collective) with the group; raise if another rank differs."""
        import numpy as np
        MPI = _mpi()
        self._seq += 1
        text = f"{desc} #{self._seq}".encode()[:_DESC_BYTES].ljust(_DESC_BYTES)
        mine = np.frombuffer(text, dtype=np.uint8).copy()
        everyone = np.empty((self.size(), _DESC_BYTES), dtype=np.uint8)
        self.wait(self.comm.Iallgather([mine, MPI.BYTE], [everyone, MPI.BYTE]), f"{desc} #{self._seq}")
        for r, row in enumerate(everyone):
            if not np.array_equal(row, mine):
                theirs = bytes(row).decode(errors="replace").rstrip()
                raise DistBackendError(
                    f"[rank {_world_rank()}] collective mismatch on {self.group_name}: rank {_world_rank()} "
                    f"called {desc} #{self._seq} but rank {self.ranks[r]} called {theirs}")


_DESC_BYTES = 160


def _seconds(td):
    s = td.total_seconds()
    return f"{s:g} s" if s < 120 else f"{s / 60:g} min"


class _World:
    """The state of this process's default group (``None`` before ``init_process_group``)."""
    pg = None
    groups = []


class GroupMember:
    """``GroupMember.WORLD`` is the default group; ``NON_GROUP_MEMBER`` what ``new_group`` gives outsiders."""
    WORLD = None
    NON_GROUP_MEMBER = object()


class group:  # noqa: N801 -- torch's name
    """``torch.distributed.group.WORLD``: the default group (``None`` before ``init_process_group``)."""
    WORLD = None


def _set_world(pg):
    _World.pg = GroupMember.WORLD = group.WORLD = pg
    _World.groups = [pg] if pg is not None else []


def _world_rank():
    pg = _World.pg
    return pg.comm.Get_rank() if pg is not None else int(os.environ.get("RANK", 0))


def _abort_on_uncaught_exception():
    """Make an uncaught exception on this rank end the whole job, showing the rank and the traceback."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if _World.pg is None or issubclass(exc_type, KeyboardInterrupt):
            return previous(exc_type, exc, tb)
        rank = _world_rank()
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write("".join(f"[rank {rank}] {line}\n" for line in text.rstrip("\n").split("\n")))
        sys.stderr.write(f"[rank {rank}] aborting the job: rank {rank} raised {exc_type.__name__}\n")
        sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(0.5)  # let the launcher forward what this rank printed before MPI_Abort tears the job down
        _mpi().COMM_WORLD.Abort(1)

    hook._ember_abort = True
    if not getattr(previous, "_ember_abort", False):
        sys.excepthook = hook
        threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)


def _env_int(name):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join the job's default process group (``torch.distributed.init_process_group``).

    Start the processes with ``ember distributed-run --nproc-per-node N script.py`` (torchrun's
    flags), ``mpiexec -n N python script.py`` or a cluster's ``srun``/``mpiexec``. Ranks come from MPI;
    ``init_method``, ``MASTER_ADDR``/``MASTER_PORT`` and ``store`` are accepted and not needed (MPI
    finds its peers itself). ``backend`` may be ``"mpi"``, ``"gloo"`` or ``"nccl"``: all run on MPI
    here (CUDA tensors go through host memory; a NCCL path through CuPy is a later step).
    ``timeout`` (a ``datetime.timedelta``, default 30 minutes) bounds every wait for a collective.
    """
    if _World.pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"backend must be a string, got {type(backend).__name__}")
    name = (backend or "gloo").lower()
    for part in name.split(","):
        b = part.split(":")[-1]
        if b not in ("mpi", "gloo", "nccl", "ucc", "cpu", "cuda"):
            raise ValueError(f"Invalid backend: '{backend}'. Ember runs 'mpi' (also accepting 'gloo' and 'nccl')")
    if timeout is None:
        timeout = default_pg_timeout
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout)}")
    MPI = _mpi()
    comm = MPI.COMM_WORLD.Dup()
    size, me = comm.Get_size(), comm.Get_rank()
    launched = _env_int("WORLD_SIZE")
    if launched is not None and launched != size:
        raise RuntimeError(
            f"the launcher started {launched} processes (WORLD_SIZE={launched}) but MPI sees a world of "
            f"{size}: mpi4py is bound to a different MPI than the mpiexec that started the job. Use the "
            f"mpiexec of the same installation (python -m ember.distributed.run finds it), or reinstall "
            f"mpi4py against the cluster's MPI")
    if world_size not in (-1, None) and world_size != size:
        raise ValueError(f"world_size={world_size} but MPI started {size} processes")
    if rank not in (-1, None) and rank != me:
        raise ValueError(f"rank={rank} but MPI says this process is rank {me}")
    _set_world(ProcessGroup(comm, range(size), name, timeout, group_name or "the default group"))
    _share_cores(comm)
    for var, value in (("RANK", me), ("WORLD_SIZE", size)):
        os.environ.setdefault(var, str(value))
    _abort_on_uncaught_exception()


def _share_cores(comm):
    """Processes on one machine split its cores (torchrun sets OMP_NUM_THREADS=1 for the same reason): two
    processes each running a 2-thread BLAS on 2 cores spend their time taking the cores from each other.
    An explicit ``OMP_NUM_THREADS`` wins."""
    if os.environ.get("OMP_NUM_THREADS"):
        return
    from .. import _parallel
    local = comm.Split_type(_mpi().COMM_TYPE_SHARED)
    n_local = local.Get_size()
    local.Free()
    if n_local > 1:
        _parallel.set_num_threads(max(1, _parallel.cpu_cores() // n_local))


def destroy_process_group(group=None):
    """Leave the process group (the default one: everything; later calls need ``init_process_group``)."""
    pg = _World.pg if group is None else group
    if pg is None or _World.pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    if pg is _World.pg:
        for g in _World.groups:
            if g.comm is not None:
                g.comm.Free()
                g.comm = None
        _set_world(None)
    elif pg.comm is not None:
        pg.comm.Free()
        pg.comm = None


def is_initialized():
    return _World.pg is not None


def _default():
    if _World.pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _World.pg


def resolve(group):
    """The ProcessGroup a call means (``None`` = the default one)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        raise ValueError("this rank is not a member of the group")
    return _default() if group is None else group


def get_rank(group=None):
    """This process's rank in ``group`` (-1 outside it)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return resolve(group).rank()


def get_world_size(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return resolve(group).size()


def get_backend(group=None):
    return resolve(group).backend


def get_process_group_ranks(group):
    return list(resolve(group).ranks)


def get_global_rank(group, group_rank):
    pg = resolve(group)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg.ranks}")
    return pg.ranks[group_rank]


def get_group_rank(group, global_rank):
    pg = resolve(group)
    if global_rank not in pg.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg.ranks}")
    return pg.ranks.index(global_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of some ranks. As in torch, *every* rank must call it (with the same ``ranks``);
    ranks outside get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default()
    ranks = sorted(range(world.size())) if ranks is None else sorted(int(r) for r in ranks)
    if len(set(ranks)) != len(ranks) or any(not 0 <= r < world.size() for r in ranks):
        raise ValueError(f"new_group: ranks {ranks} must be distinct ranks of a world of {world.size()}")
    world.check_peers(f"new_group(ranks={ranks})")
    MPI = _mpi()
    color = 0 if world.rank() in ranks else MPI.UNDEFINED
    comm = world.comm.Split(color, ranks.index(world.rank()) if color == 0 else 0)
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, ranks, backend or world.backend, timeout or world.timeout,
                      group_desc or f"group{ranks}")
    _World.groups.append(pg)
    return pg
