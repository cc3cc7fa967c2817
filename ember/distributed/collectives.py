"""Collectives: every rank calls the same function, and data moves between them (MPI underneath).

Each one works on the tensors' own memory where it can: an in-place ``Allreduce`` on a NumPy buffer
costs about 0.2 ms per MB here, while mpi4py's pickling lower-case calls (``comm.allreduce(obj)``) are
~30x slower -- those are used only by the ``*_object*`` functions, which exchange arbitrary Python
objects by pickling them. Only use those in a job whose ranks you trust: unpickling what another rank
sent can run its code.

``async_op=True`` starts the MPI operation and returns a :class:`Work`; ``work.wait()`` finishes it.
"""
import numpy as np

from .process_group import GroupMember, _mpi, resolve

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter", "reduce_scatter_tensor", "reduce", "gather", "scatter", "all_to_all",
           "all_to_all_single", "send", "recv", "isend", "irecv", "P2POp", "batch_isend_irecv", "barrier",
           "monitored_barrier", "broadcast_object_list", "all_gather_object", "gather_object",
           "scatter_object_list"]


class ReduceOp:
    """How ``all_reduce``/``reduce``/``reduce_scatter`` combine the ranks' values."""
    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"
    RedOpType = None  # torch's enum type; the constants above are what programs use


ReduceOp.RedOpType = ReduceOp


def _mpi_op(op):
    MPI = _mpi()
    table = {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MIN": MPI.MIN, "MAX": MPI.MAX,
             "BAND": MPI.BAND, "BOR": MPI.BOR, "BXOR": MPI.BXOR}
    if op not in table:
        raise ValueError(f"unknown ReduceOp {op!r}")
    return table[op]


class _Buffer:
    """A tensor's memory as a contiguous host buffer MPI can use, and the way back into the tensor.

    Contiguous NumPy tensors are used in place. Non-contiguous ones, CuPy arrays and dtypes MPI has no
    type for (float16, bfloat16) travel through a copy (float32 for the reduced float types)."""

    def __init__(self, tensor, reducing=False):
        self.tensor = tensor
        arr = tensor._data
        self.on_host = isinstance(arr, np.ndarray)
        host = arr if self.on_host else arr.get()
        if host.dtype.kind == "V" or (reducing and host.dtype == np.float16):
            host = host.astype(np.float32)  # bfloat16/float16: MPI has no such type
        elif reducing and host.dtype.kind == "b":
            host = host.astype(np.uint8)  # SUM/MAX of bools = logical or, as in torch
        self.copied = host is not arr or not host.flags.c_contiguous
        self.array = np.ascontiguousarray(host)

    def write_back(self):
        """Put the buffer's values into the tensor (a no-op when MPI wrote into the tensor directly)."""
        t = self.tensor
        if self.copied:
            if self.on_host:
                t._data[...] = self.array.astype(t._data.dtype, copy=False)
            else:
                import cupy
                t._data[...] = cupy.asarray(self.array).astype(t._data.dtype, copy=False)
        t._vc[0] += 1


class Work:
    """A started collective (``torch.distributed.Work``): ``wait()`` finishes it and returns True."""

    def __init__(self, pg, request, what, finish=None):
        self._pg, self._request, self._what, self._finish = pg, request, what, finish
        self._done = False

    def is_completed(self):
        if not self._done and self._request is not None and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            if self._request is not None:
                self._pg.wait(self._request, self._what)
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def result(self):
        return []

    def get_future(self):
        raise RuntimeError("Work.get_future() is not supported by Ember's MPI backend; call wait()")


def _run(pg, request, what, finish, async_op):
    work = Work(pg, request, what, finish)
    if async_op:
        return work
    work.wait()
    return None


def _describe(name, tensor=None, **kw):
    parts = []
    if tensor is not None:
        parts += [f"shape={list(tensor.shape)}", f"dtype={str(tensor.dtype).replace('ember.', '')}"]
    parts += [f"{k}={v}" for k, v in kw.items()]
    return f"{name}({', '.join(parts)})"


def _start(group, desc):
    """The group (None where this rank is not a member) after checking that every rank calls ``desc``."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    pg = resolve(group)
    if pg.comm is None:
        return None
    pg.check_peers(desc)
    return pg


def _group_rank(pg, global_rank, what):
    if global_rank not in pg.ranks:
        raise ValueError(f"{what} rank {global_rank} is not part of the group {pg.ranks}")
    return pg.ranks.index(global_rank)


def _root(pg, global_rank, group_rank, what):
    if group_rank is not None:
        return group_rank
    return _group_rank(pg, global_rank, what)


def _average(buf, pg, op):
    if op == ReduceOp.AVG:
        a = buf.array
        if a.dtype.kind == "f":
            a /= pg.size()
        else:
            a //= pg.size()


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Every rank's ``tensor`` becomes the reduction (``op``) of all ranks' tensors, in place."""
    pg = _start(group, _describe("all_reduce", tensor, op=op))
    if pg is None:
        return None
    MPI = _mpi()
    buf = _Buffer(tensor, reducing=True)
    req = pg.comm.Iallreduce(MPI.IN_PLACE, buf.array, _mpi_op(op))

    def finish():
        _average(buf, pg, op)
        buf.write_back()
    return _run(pg, req, "all_reduce", finish, async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Every rank's ``tensor`` becomes rank ``src``'s (``src`` is a global rank, as in torch)."""
    pg = _start(group, _describe("broadcast", tensor, src=src if group_src is None else f"g{group_src}"))
    if pg is None:
        return None
    root = _root(pg, src if src is not None else 0, group_src, "broadcast src")
    buf = _Buffer(tensor)
    req = pg.comm.Ibcast(buf.array, root=root)
    return _run(pg, req, "broadcast", buf.write_back if pg.rank() != root else None, async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Rank ``dst``'s ``tensor`` becomes the reduction of all ranks' tensors; the others keep theirs."""
    pg = _start(group, _describe("reduce", tensor, dst=dst if group_dst is None else f"g{group_dst}", op=op))
    if pg is None:
        return None
    MPI = _mpi()
    root = _root(pg, dst if dst is not None else 0, group_dst, "reduce dst")
    buf = _Buffer(tensor, reducing=True)
    if pg.rank() == root:
        req = pg.comm.Ireduce(MPI.IN_PLACE, buf.array, _mpi_op(op), root=root)

        def finish():
            _average(buf, pg, op)
            buf.write_back()
    else:
        req, finish = pg.comm.Ireduce(buf.array, None, _mpi_op(op), root=root), None
    return _run(pg, req, "reduce", finish, async_op)


def _check_same(tensors, like, what):
    for t in tensors:
        if tuple(t.shape) != tuple(like.shape) or t.dtype != like.dtype:
            raise ValueError(f"{what}: every tensor must have shape {tuple(like.shape)} and dtype {like.dtype}, "
                             f"got {tuple(t.shape)} {t.dtype}")


def _list_len(pg, tensors, what):
    if len(tensors) != pg.size():
        raise ValueError(f"{what}: expected a list of {pg.size()} tensors (the group's size), got {len(tensors)}")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` becomes rank ``r``'s ``tensor`` on every rank."""
    pg = _start(group, _describe("all_gather", tensor))
    if pg is None:
        return None
    _list_len(pg, tensor_list, "all_gather")
    _check_same(tensor_list, tensor, "all_gather")
    send = _Buffer(tensor).array
    recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
    req = pg.comm.Iallgather(send, recv)

    def finish():
        _scatter_rows(recv, tensor_list)
    return _run(pg, req, "all_gather", finish, async_op)


def _scatter_rows(rows, tensors):
    for row, t in zip(rows, tensors):
        out = _Buffer(t)
        out.array = row
        out.copied = True
        out.write_back()


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """``output_tensor`` (world x input numel, concatenated or stacked on dim 0) gets every rank's input."""
    pg = _start(group, _describe("all_gather_into_tensor", input_tensor))
    if pg is None:
        return None
    if output_tensor.numel() != input_tensor.numel() * pg.size() or output_tensor.dtype != input_tensor.dtype:
        raise ValueError(f"all_gather_into_tensor: output {tuple(output_tensor.shape)} {output_tensor.dtype} must "
                         f"hold {pg.size()} x input {tuple(input_tensor.shape)} {input_tensor.dtype}")
    out = _Buffer(output_tensor)
    req = pg.comm.Iallgather(_Buffer(input_tensor).array, out.array)
    return _run(pg, req, "all_gather_into_tensor", out.write_back, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Rank ``r``'s ``output`` becomes the reduction over ranks of their ``input_list[r]``."""
    pg = _start(group, _describe("reduce_scatter", output, op=op))
    if pg is None:
        return None
    _list_len(pg, input_list, "reduce_scatter")
    _check_same(input_list, output, "reduce_scatter")
    send = np.stack([_Buffer(t, reducing=True).array for t in input_list])
    out = _Buffer(output, reducing=True)
    req = pg.comm.Ireduce_scatter_block(send, out.array, _mpi_op(op))

    def finish():
        _average(out, pg, op)
        out.write_back()
    return _run(pg, req, "reduce_scatter", finish, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Like ``reduce_scatter`` with the inputs concatenated (or stacked) on dim 0 of one tensor."""
    pg = _start(group, _describe("reduce_scatter_tensor", output, op=op))
    if pg is None:
        return None
    if input.numel() != output.numel() * pg.size() or input.dtype != output.dtype:
        raise ValueError(f"reduce_scatter_tensor: input {tuple(input.shape)} {input.dtype} must hold "
                         f"{pg.size()} x output {tuple(output.shape)} {output.dtype}")
    out = _Buffer(output, reducing=True)
    req = pg.comm.Ireduce_scatter_block(_Buffer(input, reducing=True).array, out.array, _mpi_op(op))

    def finish():
        _average(out, pg, op)
        out.write_back()
    return _run(pg, req, "reduce_scatter_tensor", finish, async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Rank ``dst`` gets every rank's ``tensor`` in ``gather_list`` (the others pass ``None``)."""
    pg = _start(group, _describe("gather", tensor, dst=dst if group_dst is None else f"g{group_dst}"))
    if pg is None:
        return None
    root = _root(pg, dst if dst is not None else 0, group_dst, "gather dst")
    send = _Buffer(tensor).array
    if pg.rank() == root:
        if gather_list is None:
            raise ValueError("gather: the destination rank must pass gather_list")
        _list_len(pg, gather_list, "gather")
        _check_same(gather_list, tensor, "gather")
        recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
        req = pg.comm.Igather(send, recv, root=root)
        return _run(pg, req, "gather", lambda: _scatter_rows(recv, gather_list), async_op)
    if gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    return _run(pg, pg.comm.Igather(send, None, root=root), "gather", None, async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Rank ``r``'s ``tensor`` becomes rank ``src``'s ``scatter_list[r]``."""
    pg = _start(group, _describe("scatter", tensor, src=src if group_src is None else f"g{group_src}"))
    if pg is None:
        return None
    root = _root(pg, src if src is not None else 0, group_src, "scatter src")
    out = _Buffer(tensor)
    if pg.rank() == root:
        if scatter_list is None:
            raise ValueError("scatter: the source rank must pass scatter_list")
        _list_len(pg, scatter_list, "scatter")
        _check_same(scatter_list, tensor, "scatter")
        send = np.stack([_Buffer(t).array for t in scatter_list])
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
        send = None
    req = pg.comm.Iscatter(send, out.array, root=root)
    return _run(pg, req, "scatter", out.write_back, async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op=False):
    """Rank ``r`` sends its ``input``'s ``r``-th chunk (dim 0) to each rank and gets theirs in ``output``."""
    pg = _start(group, _describe("all_to_all_single", input))
    if pg is None:
        return None
    n = pg.size()
    row = int(np.prod(input.shape[1:], dtype=np.int64))
    ins = input_split_sizes or [input.shape[0] // n] * n
    outs = output_split_sizes or [output.shape[0] // n] * n
    send, out = _Buffer(input).array, _Buffer(output)
    sc, rc = [s * row for s in ins], [s * row for s in outs]
    sd, rd = np.concatenate([[0], np.cumsum(sc)[:-1]]), np.concatenate([[0], np.cumsum(rc)[:-1]])
    req = pg.comm.Ialltoallv([send, (sc, sd)], [out.array, (rc, rd)])
    return _run(pg, req, "all_to_all_single", out.write_back, async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """Rank ``r`` sends ``input_tensor_list[q]`` to rank ``q``, receiving into ``output_tensor_list[q]``."""
    pg = _start(group, _describe("all_to_all", input_tensor_list[0] if input_tensor_list else None))
    if pg is None:
        return None
    _list_len(pg, input_tensor_list, "all_to_all")
    _list_len(pg, output_tensor_list, "all_to_all")
    send = np.concatenate([_Buffer(t).array.ravel() for t in input_tensor_list])
    sc = [t.numel() for t in input_tensor_list]
    rc = [t.numel() for t in output_tensor_list]
    recv = np.empty(sum(rc), dtype=send.dtype)
    sd, rd = np.concatenate([[0], np.cumsum(sc)[:-1]]), np.concatenate([[0], np.cumsum(rc)[:-1]])
    req = pg.comm.Ialltoallv([send, (sc, sd)], [recv, (rc, rd)])

    def finish():
        _scatter_rows([recv[o:o + c].reshape(t.shape) for o, c, t in zip(rd, rc, output_tensor_list)],
                      output_tensor_list)
    return _run(pg, req, "all_to_all", finish, async_op)


# --- point to point ----------------------------------------------------------------------------------
def _p2p_group(group):
    return None if group is GroupMember.NON_GROUP_MEMBER else resolve(group)


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work."""
    pg = _p2p_group(group)
    if pg is None:
        return None
    peer = _root(pg, dst, group_dst, "send dst")
    return Work(pg, pg.comm.Isend(_Buffer(tensor).array, dest=peer, tag=tag), f"send to rank {dst}")


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None); returns a Work."""
    pg = _p2p_group(group)
    if pg is None:
        return None
    MPI = _mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _root(pg, src, group_src, "recv src")
    buf = _Buffer(tensor)
    status = MPI.Status()
    request = pg.comm.Irecv(buf.array, source=peer, tag=tag)

    class _Recv(Work):
        def wait(self, timeout=None):
            if not self._done:
                self._pg.wait(_StatusRequest(self._request, status), self._what)
                self._complete()
            return True
    work = _Recv(pg, request, f"recv from rank {src}", buf.write_back)
    work._status = status
    return work


class _StatusRequest:
    """A request whose ``Test`` also fills ``status`` (who sent a receive)."""

    def __init__(self, request, status):
        self.request, self.status = request, status

    def Test(self):  # noqa: N802 -- mpi4py's name
        return self.request.Test(self.status)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst`` (blocks until it is delivered or buffered)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    pg = work._pg
    return pg.ranks[work._status.Get_source()]


class P2POp:
    """One send or receive for ``batch_isend_irecv``: ``P2POp(dist.isend, tensor, peer)``."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag, self.group_peer = op, tensor, peer, group, tag, group_peer


def batch_isend_irecv(p2p_op_list):
    """Start every send/receive of the list at once; returns their Works."""
    return [op.op(op.tensor, op.peer, op.group, op.tag, op.group_peer) for op in p2p_op_list]


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group reaches this call."""
    pg = _start(group, "barrier()")
    if pg is None:
        return None
    return _run(pg, pg.comm.Ibarrier(), "barrier", None, async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that raises after ``timeout`` (default: the group's) instead of waiting forever."""
    pg = resolve(group)
    if timeout is None:
        return barrier(group)
    saved = pg.timeout
    pg.timeout = timeout
    try:
        return barrier(group)
    finally:
        pg.timeout = saved


# --- Python objects (pickled: trusted jobs only) ------------------------------------------------------
def _obj_group(group, desc):
    return _start(group, desc)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Every rank's ``object_list`` becomes rank ``src``'s (pickled: only within a job you trust)."""
    pg = _obj_group(group, f"broadcast_object_list(n={len(object_list)})")
    if pg is None:
        return
    root = _root(pg, src if src is not None else 0, group_src, "broadcast src")
    got = pg.comm.bcast(list(object_list) if pg.rank() == root else None, root=root)
    object_list[:] = got


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` becomes rank ``r``'s ``obj`` (pickled: only within a job you trust)."""
    pg = _obj_group(group, "all_gather_object()")
    if pg is None:
        return
    _list_len(pg, object_list, "all_gather_object")
    object_list[:] = pg.comm.allgather(obj)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """Rank ``dst``'s ``object_gather_list[r]`` becomes rank ``r``'s ``obj`` (pickled: trusted jobs only)."""
    pg = _obj_group(group, f"gather_object(dst={dst})")
    if pg is None:
        return
    root = _root(pg, dst if dst is not None else 0, group_dst, "gather dst")
    got = pg.comm.gather(obj, root=root)
    if pg.rank() == root:
        _list_len(pg, object_gather_list, "gather_object")
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None):
    """Rank ``r``'s ``scatter_object_output_list[0]`` becomes rank ``src``'s ``scatter_object_input_list[r]``."""
    pg = _obj_group(group, f"scatter_object_list(src={src})")
    if pg is None:
        return
    root = _root(pg, src if src is not None else 0, group_src, "scatter src")
    got = pg.comm.scatter(list(scatter_object_input_list) if pg.rank() == root else None, root=root)
    scatter_object_output_list[0] = got
