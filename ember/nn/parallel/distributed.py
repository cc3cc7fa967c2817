"""``DistributedDataParallel``: the same model on every process, each on its own slice of the batch.

How data-parallel training stays in step:

1. At construction, rank 0's parameters and buffers are broadcast, so every replica starts equal
   (after checking that every rank built the same parameter shapes).
2. During ``loss.backward()`` each parameter's gradient, as soon as it is final (a post-accumulate-grad
   hook), is copied into a slot of a flat *bucket* buffer. Buckets hold parameters in reverse order (the
   order backward produces their gradients), the first one 1 MB and the others ``bucket_cap_mb`` (25 MB).
3. A full bucket is handed to a communication thread, which all-reduces it on its own MPI
   communicator while backward goes on computing the next gradients: communication hides behind
   compute. Buckets are always reduced in bucket order, so every rank runs the same sequence.
4. When backward ends, the last reductions are waited for, the sums divided by the world size, and
   each ``.grad`` becomes a view into its bucket: every replica holds the average gradient, and the
   optimizer takes the same step everywhere.

``no_sync()`` skips steps 2-4 (gradients accumulate locally, to be reduced by the next synced
backward). ``find_unused_parameters=True`` walks the graph after forward and marks parameters that did
not take part as ready, so their buckets still go out.
"""
import contextlib
import queue
import threading
import time

import numpy as np

from ...autograd import grad_mode
from ...autograd.engine import queue_callback
from ...distributed.process_group import DistBackendError, _mpi, _seconds, resolve
from ..module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


class _Bucket:
    """One flat buffer and the parameters whose gradients live in it."""

    def __init__(self, index, params, dtype):
        self.index = index
        self.params = params
        self.flat = np.zeros(sum(p._data.size for p in params), dtype=dtype)
        self.slots, offset = [], 0
        for p in params:
            n = p._data.size
            self.slots.append(self.flat[offset:offset + n].reshape(p._data.shape))
            offset += n
        self.pending = len(params)
        self.done = None  # a threading.Event while its all-reduce runs


class _CommThread:
    """Runs blocking all-reduces one after another on a communicator of its own (mpi4py releases the
    GIL while MPI works, so backward keeps computing meanwhile)."""

    def __init__(self, comm):
        self.comm = comm
        self.jobs = queue.Queue()
        self.error = None
        self.busy_s = 0.0  # seconds spent inside all-reduce (for benchmarks)
        self.thread = threading.Thread(target=self._loop, name="ember-ddp-comm", daemon=True)
        self.thread.start()

    def _loop(self):
        MPI = _mpi()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            flat, done = job
            t0 = time.perf_counter()
            try:
                self.comm.Allreduce(MPI.IN_PLACE, flat, MPI.SUM)
            except BaseException as e:  # noqa: B902 -- handed to the main thread
                self.error = e
            self.busy_s += time.perf_counter() - t0
            done.set()

    def submit(self, flat):
        done = threading.Event()
        self.jobs.put((flat, done))
        return done

    def close(self):
        self.jobs.put(None)


class DistributedDataParallel(Module):
    """Data-parallel training across processes (``torch.nn.parallel.DistributedDataParallel``).

    Wrap the model after ``dist.init_process_group()``; use ``ddp(x)`` like the model; its
    ``state_dict`` has the ``module.`` prefix as in torch (save ``ddp.module.state_dict()`` to get plain
    keys). ``device_ids``, ``output_device``, ``gradient_as_bucket_view`` and ``static_graph`` are
    accepted for compatibility (gradients are always views into the buckets).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None, mixed_precision=None,
                 device_mesh=None, skip_all_reduce_unused_params=False):
        super().__init__()
        if not any(p.requires_grad for p in module.parameters()):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        pg = resolve(process_group)
        object.__setattr__(self, "process_group", pg)
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.device_ids = device_ids
        self.output_device = output_device
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._param_names = [n for n, _ in named]
        params = [p for _, p in named]
        self._verify_same_model(pg, named)
        if init_sync:
            self._broadcast_from_rank0(pg, [p for p in module.parameters()] + [b for b in module.buffers()])
        self._comm = pg.comm.Dup()
        self._comm_thread = None
        self._buckets = self._make_buckets(params)
        self._where = {id(p): (b, i) for b in self._buckets for i, p in enumerate(b.params)}
        self._index = {id(p): i for i, p in enumerate(params)}
        self._params = params
        self._sync = True
        self._seen = set()            # parameters whose gradient arrived in this backward
        self._next_launch = 0
        self._in_backward = False
        self._unfinished = None       # names of parameters that got no gradient in the last backward
        self._locally_used = np.zeros(len(params), dtype=np.uint8)
        self.exposed_comm_s = 0.0    # seconds backward's end waited for reductions (for benchmarks)
        self._grad_hook_handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    # --- construction ------------------------------------------------------------------------------
    @staticmethod
    def _verify_same_model(pg, named):
        """Every rank must have built the same parameters (names, shapes, dtypes) in the same order."""
        desc = ";".join(f"{n}:{tuple(p.shape)}:{p.dtype}" for n, p in named).encode()
        sizes = np.zeros(pg.size(), dtype=np.int64)
        pg.wait(pg.comm.Iallgather(np.array([len(desc)], dtype=np.int64), sizes), "DDP model check")
        everyone = np.empty(int(sizes.sum()), dtype=np.uint8)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        MPI = _mpi()
        pg.wait(pg.comm.Iallgatherv([np.frombuffer(desc, dtype=np.uint8), MPI.BYTE],
                                    [everyone, (sizes, offsets), MPI.BYTE]), "DDP model check")
        mine = desc.split(b";")
        for r in range(pg.size()):
            theirs = bytes(everyone[offsets[r]:offsets[r] + sizes[r]]).split(b";")
            if theirs == mine:
                continue
            if len(theirs) != len(mine):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {pg.rank()} has {len(mine)} "
                                   f"params, while rank {r} has inconsistent {len(theirs)} params.")
            a, b = next((a, b) for a, b in zip(mine, theirs) if a != b)
            raise RuntimeError(f"DDP expects same model across all ranks, but rank {pg.rank()} has parameter "
                               f"{a.decode()} where rank {r} has {b.decode()} (name:shape:dtype)")

    @staticmethod
    def _broadcast_from_rank0(pg, tensors):
        """Make every replica start from rank 0's values: one broadcast per dtype, of all tensors at once."""
        by_dtype = {}
        for t in tensors:
            by_dtype.setdefault(t._data.dtype.str, []).append(t)
        for group in by_dtype.values():
            flat = np.concatenate([np.asarray(t._data).ravel() for t in group])
            if flat.dtype.kind == "V":
                flat = flat.astype(np.float32)
            pg.wait(pg.comm.Ibcast(flat, root=0), "DDP broadcast of rank 0's parameters and buffers")
            offset = 0
            for t in group:
                n = t._data.size
                t._data[...] = flat[offset:offset + n].reshape(t._data.shape).astype(t._data.dtype, copy=False)
                t._vc[0] += 1
                offset += n

    def _make_buckets(self, params):
        """Parameters in reverse order, cut into buckets of one dtype: 1 MB first, then bucket_cap_mb."""
        buckets, current, size, dtype = [], [], 0, None
        for p in reversed(params):
            limit = _FIRST_BUCKET_BYTES if not buckets else self.bucket_bytes_cap
            if current and (p._data.dtype != dtype or size >= limit):
                buckets.append(_Bucket(len(buckets), current, dtype))
                current, size = [], 0
            current.append(p)
            dtype = p._data.dtype
            size += p._data.nbytes
        if current:
            buckets.append(_Bucket(len(buckets), current, dtype))
        return buckets

    # --- forward ---------------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._unfinished:
            names = ", ".join(self._unfinished)
            self._unfinished = None
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. You can enable "
                "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs "
                f"participate in calculating loss.\nParameters which did not receive grad for rank "
                f"{self.process_group.rank()}: {names}")
        if self.broadcast_buffers and self.training:
            buffers = list(self.module.buffers())
            if buffers:
                self._broadcast_from_rank0(self.process_group, buffers)
        out = self.module(*inputs, **kwargs)
        if self._sync and grad_mode.is_grad_enabled():
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, out):
        self._seen = set()
        self._next_launch = 0
        for b in self._buckets:
            b.pending, b.done = len(b.params), None
        self._locally_used[:] = 0
        if self.find_unused_parameters:
            used = _reachable_leaves(out)
            for i, p in enumerate(self._params):
                if id(p) not in used:
                    self._mark_ready(p, unused=True)

    # --- backward: hooks, buckets, the end ---------------------------------------------------------
    def _grad_ready(self, p):
        if not self._sync:
            return
        if not self._in_backward:
            self._in_backward = True
            queue_callback(self._finish_backward)
        if id(p) in self._seen:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter {self._param_names[self._index[id(p)]]} "
                "received its gradient twice in one backward pass (did several backward passes run without "
                "no_sync(), or is the parameter shared?)")
        self._mark_ready(p)

    def _mark_ready(self, p, unused=False):
        bucket, i = self._where[id(p)]
        self._seen.add(id(p))
        slot = bucket.slots[i]
        if unused or p.grad is None:
            slot[...] = 0
        else:
            self._locally_used[self._index[id(p)]] = 1
            g = p.grad._data
            if not (isinstance(g, np.ndarray) and g.ctypes.data == slot.ctypes.data and g.shape == slot.shape):
                slot[...] = g if isinstance(g, np.ndarray) else g.get()
        bucket.pending -= 1
        if bucket.pending == 0:
            while self._next_launch < len(self._buckets) and self._buckets[self._next_launch].pending == 0:
                self._launch(self._buckets[self._next_launch])
                self._next_launch += 1

    def _launch(self, bucket):
        if self._comm_thread is None:
            self._comm_thread = _CommThread(self._comm)
        bucket.done = self._comm_thread.submit(bucket.flat)

    def _finish_backward(self):
        """At the end of backward: wait for the reductions, average, point each ``.grad`` at its slot."""
        self._in_backward = False
        pg = self.process_group
        timeout = pg.timeout.total_seconds()
        t0 = time.perf_counter()
        for bucket in self._buckets:
            if bucket.done is None:
                continue
            if not bucket.done.wait(timeout):
                raise DistBackendError(
                    f"[rank {pg.rank()}] DistributedDataParallel's all_reduce of gradient bucket {bucket.index} did "
                    f"not complete within {_seconds(pg.timeout)}: another rank skipped its backward or is stuck")
            if self._comm_thread.error is not None:
                raise DistBackendError(f"[rank {pg.rank()}] gradient all_reduce failed: {self._comm_thread.error}")
        self.exposed_comm_s += time.perf_counter() - t0
        missing = [self._param_names[i] for i, p in enumerate(self._params) if id(p) not in self._seen]
        if missing:
            self._unfinished = missing
        globally_used = None
        if self.find_unused_parameters:
            globally_used = self._locally_used.copy()
            pg.wait(self._comm.Iallreduce(_mpi().IN_PLACE, globally_used, _mpi().MAX), "DDP unused-parameter map")
        from ..._tensor import wrap
        world = pg.size()
        for bucket in self._buckets:
            if bucket.done is None:
                continue
            bucket.flat /= world
            for p, slot in zip(bucket.params, bucket.slots):
                if globally_used is not None and not globally_used[self._index[id(p)]]:
                    continue  # nobody used it: its .grad stays as it was (None), as in torch
                if p.grad is not None and p.grad._data is slot:
                    p.grad._vc[0] += 1
                else:
                    p.grad = wrap(slot)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward only accumulates local gradients; the first synced backward after reduces all."""
        old = self._sync
        self._sync = False
        try:
            yield
        finally:
            self._sync = old

    def comm_stats(self):
        """``(seconds inside all-reduce, seconds backward's end waited for it)`` since construction:
        1 - waited / inside is the fraction of communication hidden behind backward."""
        busy = self._comm_thread.busy_s if self._comm_thread is not None else 0.0
        return busy, self.exposed_comm_s

    def __del__(self):
        if getattr(self, "_comm_thread", None) is not None:
            self._comm_thread.close()

    def extra_repr(self):
        return ""


def _reachable_leaves(out):
    """ids of the leaf tensors the autograd graph of ``out`` (tensors nested in lists/dicts) reaches."""
    from ..._tensor import Tensor
    roots, stack = [], [out]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            roots.append(o)
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    seen, leaves, nodes = set(), set(), []
    for t in roots:
        if t.grad_fn is not None:
            nodes.append(t.grad_fn)
        elif t._requires_grad:
            leaves.add(id(t))
    while nodes:
        n = nodes.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        var = getattr(n, "variable", None)
        if var is not None:
            leaves.add(id(var))
        for e in n._edges or ():
            if e is not None:
                nodes.append(e[0])
    return leaves

