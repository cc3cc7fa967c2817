"""DataLoader: batches from a dataset, in this process or in worker processes.

How one batch is made::

    sampler ──► BatchSampler ──► [i0, i1, ...] ──► fetch dataset[i] for each ──► collate_fn ──► batch

With ``num_workers=0`` all of that happens in ``__next__``. With ``num_workers=N`` the main process
keeps the samplers; it sends *index lists* to N worker processes over queues (round-robin, at most
``prefetch_factor * N`` in flight), each worker fetches and collates, and sends the batch back over
one result queue. Batches carry their sequence number, so the main process hands them out in order
and ``num_workers=2`` gives exactly the batches of ``num_workers=0``.

Clean shutdown, whatever happens: workers are daemon processes; breaking out of a ``for`` loop
drops the iterator, whose ``__del__`` tells the workers to stop (``None`` on each index queue), joins
them with a timeout and terminates stragglers; an exception in a worker is sent back with its
traceback text and re-raised in the main process; an ``atexit`` hook stops whatever is still alive.
"""
import atexit
import itertools
import multiprocessing
import os
import queue
import random
import signal
import sys
import threading
import time
import traceback
import warnings
import weakref

import ember
from ember.creation import empty as _empty
from ember.dtypes import int64 as _int64
from ember.autograd import function as _function
from ember.autograd.profiler import record_function

from ._collate import default_collate, default_convert
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo", "default_collate", "default_convert"]

# How long a blocking queue read waits before checking that its peer is still alive (seconds).
MP_STATUS_CHECK_INTERVAL = 1.0


# ----------------------------------------------------------------------------------------------
# Worker side
# ----------------------------------------------------------------------------------------------

class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker: ``id``, ``num_workers``, ``seed``,
    ``dataset`` (this worker's copy)."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = [f"{k}={getattr(self, k)}" for k in self.__keys]
        return f"{self.__class__.__name__}({', '.join(items)})"


_worker_info = None


def get_worker_info():
    """In a DataLoader worker process: its :class:`WorkerInfo`; in the main process: ``None``.

    Typical use, sharding an :class:`IterableDataset` so workers do not duplicate samples::

        info = get_worker_info()
        start = 0 if info is None else info.id
        step = 1 if info is None else info.num_workers
        yield from stream[start::step]
    """
    return _worker_info


class _DatasetKind:
    Map = 0
    Iterable = 1


class _MapDatasetFetcher:
    """Fetch ``dataset[i]`` for each index of a batch, then collate."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        # A plain TensorDataset (possibly seen through Subsets, e.g. from random_split) under the
        # default collate: one fancy-index per tensor gives the same batch as stacking the rows
        # one by one (same values, dtype and shape), in one NumPy call instead of one per sample.
        self._tensor_fast_path = (auto_collation and collate_fn is default_collate
                                  and _tensor_dataset_under(dataset) is not None)

    def _fetch_tensor_rows(self, index):
        ds, index = self.dataset, list(index)
        while type(ds) is Subset:
            index = [ds.indices[i] for i in index]
            ds = ds.dataset
        return [t[index] for t in ds.tensors]

    def fetch(self, index):
        if self.auto_collation:
            if self._tensor_fast_path:
                return self._fetch_tensor_rows(index)
            getitems = getattr(self.dataset, "__getitems__", None)
            if callable(getitems):
                data = getitems(index)
            else:
                data = [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


def _tensor_dataset_under(dataset):
    """The TensorDataset that ``dataset`` is, or that a chain of Subsets wraps; else None."""
    while type(dataset) is Subset:
        dataset = dataset.dataset
    if type(dataset) is TensorDataset and len(dataset.tensors) > 0:
        return dataset
    return None


class _IterableDatasetFetcher:
    """Take the next ``len(index)`` samples of the dataset's iterator (or one, unbatched)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if len(data) == 0 or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


def _create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
    cls = _MapDatasetFetcher if kind == _DatasetKind.Map else _IterableDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


class KeyErrorMessage(str):
    """A str whose repr is itself, so a KeyError's multi-line message prints readably."""

    def __repr__(self):
        return self


def _importable(cls):
    """Whether ``cls`` can be found again by module and name (so it can cross a process boundary)."""
    mod = sys.modules.get(getattr(cls, "__module__", None) or "")
    obj = mod
    for part in getattr(cls, "__qualname__", "<>").split("."):
        obj = getattr(obj, part, None)
    return obj is cls


class ExceptionWrapper:
    """An exception caught in a worker, as its type and formatted traceback text."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        exc_type = exc_info[0]
        self.exc_type_name = exc_type.__name__
        self.exc_type = exc_type if _importable(exc_type) else None
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type_name} {self.where}.\nOriginal {self.exc_msg}"
        exc_type = self.exc_type or RuntimeError
        if exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = exc_type(msg)
        except Exception:  # an exception type whose constructor wants other arguments
            raise RuntimeError(msg) from None
        raise exception


class _IterableDatasetStopIteration:
    """Sent by a worker whose copy of an iterable dataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _TensorPayload:
    """A tensor in transit between processes: its ndarray and its ``requires_grad`` flag."""

    __slots__ = ("array", "requires_grad")

    def __init__(self, array, requires_grad):
        self.array = array
        self.requires_grad = requires_grad


def _pack(obj):
    """Replace every tensor in a (nested) batch by a plain ndarray payload for the queue."""
    if isinstance(obj, ember.Tensor):
        return _TensorPayload(obj.detach().numpy(), bool(obj.requires_grad))
    if type(obj) in (list, tuple):
        return type(obj)(_pack(o) for o in obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_pack(o) for o in obj))
    if type(obj) is dict:
        return {k: _pack(v) for k, v in obj.items()}
    return obj


def _unpack(obj):
    """Inverse of :func:`_pack`: payloads become tensors again (no copy)."""
    if isinstance(obj, _TensorPayload):
        t = ember.from_numpy(obj.array)
        return t.requires_grad_() if obj.requires_grad else t
    if type(obj) in (list, tuple):
        return type(obj)(_unpack(o) for o in obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_unpack(o) for o in obj))
    if type(obj) is dict:
        return {k: _unpack(v) for k, v in obj.items()}
    return obj


def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers):
    """The body of one worker process.

    Messages on ``index_queue``: ``("task", epoch, idx, indices)`` -> fetch, collate, and put
    ``(epoch, idx, batch)`` on ``data_queue``; ``("resume", epoch)`` -> start a new epoch (persistent
    workers); ``None`` -> exit. Every wait has a timeout, after which the worker checks that its
    parent is still alive, so an orphaned worker never lingers.
    """
    global _worker_info
    parent = os.getppid()
    try:
        seed = base_seed + worker_id
        random.seed(seed)
        ember.manual_seed(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        iteration_end = False
        while os.getppid() == parent:
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if r is None:
                break
            if r[0] == "resume":
                if init_exception is None:
                    fetcher = _create_fetcher(dataset_kind, dataset, auto_collation, collate_fn,
                                              drop_last)
                iteration_end = False
                continue
            if done_event.is_set() or iteration_end:
                continue  # shutting down, or nothing left: skip queued work
            _, epoch, idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = _pack(fetcher.fetch(index))
                except StopIteration:
                    if dataset_kind != _DatasetKind.Iterable:
                        data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
                    else:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:
                    data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            data_queue.put((epoch, idx, data))
            del data
    except KeyboardInterrupt:
        pass
    # Do not wait at exit for the queue's feeder thread to flush to a reader that may be gone.
    data_queue.cancel_join_thread()
    data_queue.close()


# ----------------------------------------------------------------------------------------------
# Main-process side
# ----------------------------------------------------------------------------------------------

class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: ``None`` forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


def _accelerator_available():
    from ... import accelerator
    return accelerator.is_available()


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.pin_memory and not _accelerator_available():  # torch's words, on every new iterator
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)
        self._pin_memory = loader.pin_memory and _accelerator_available()
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        # Drawn every epoch as in PyTorch (it seeds the workers), so the generator stream is the
        # same whether or not workers are used.
        self._base_seed = int(_empty((), dtype=_int64).random_(generator=loader.generator).item())
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0

    def _next_index(self):
        return next(self._sampler_iter)  # may raise StopIteration

    def __next__(self):
        if _function._profiler is not None:   # a profile being recorded: the batch's wait, named as torch does
            with record_function(f"enumerate(DataLoader)#{type(self).__name__}.__next__"):
                data = self._next_data()
        else:
            data = self._next_data()
        self._num_yielded += 1
        return data

    def __len__(self):
        return len(self._index_sampler)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._dataset_fetcher = _create_fetcher(self._dataset_kind, self._dataset,
                                                self._auto_collation, self._collate_fn,
                                                self._drop_last)

    def _next_data(self):
        index = self._next_index()  # may raise StopIteration
        return self._dataset_fetcher.fetch(index)  # may raise StopIteration (iterable datasets)


_live_iterators = weakref.WeakSet()


def _shutdown_live_iterators():
    for it in list(_live_iterators):
        try:
            it._shutdown_workers()
        except Exception:
            pass


atexit.register(_shutdown_live_iterators)


def _death_report(w):
    """torch's words for how a worker process ended: the signal that killed it or its exit code."""
    code = w.exitcode
    if code is not None and code < 0:
        try:
            name = signal.strsignal(-code) or f"signal {-code}"
        except ValueError:
            name = f"signal {-code}"
        return f"DataLoader worker (pid {w.pid}) is killed by signal: {name}. "
    return (f"DataLoader worker (pid {w.pid}) exited unexpectedly with exit code {code}. Details are lost due "
            "to multiprocessing. Rerunning with num_workers=0 may give better error trace.")


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Feeds index lists to worker processes and hands their batches back in order."""

    def __init__(self, loader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        ctx = loader.multiprocessing_context or _default_context()
        self._worker_result_queue = ctx.Queue()
        self._workers_done_event = ctx.Event()
        self._index_queues, self._workers = [], []
        self._epoch = 0
        self._shutdown = False  # from here on, __del__ / atexit stop whatever workers were started
        _live_iterators.add(self)
        for i in range(self._num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()
            w = ctx.Process(
                target=_worker_loop,
                args=(self._dataset_kind, self._dataset, index_queue, self._worker_result_queue,
                      self._workers_done_event, self._auto_collation, self._collate_fn,
                      self._drop_last, self._base_seed, loader.worker_init_fn, i,
                      self._num_workers),
                daemon=True)
            w.start()
            self._index_queues.append(index_queue)
            self._workers.append(w)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        self._send_idx = 0  # sequence number of the next task to send
        self._rcvd_idx = 0  # sequence number of the next batch to hand out
        # idx -> (worker_id,) while in flight; (worker_id, data) once it arrived out of order
        self._task_info = {}
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:  # persistent workers: start a new epoch; stale results are dropped
            self._epoch += 1
            for q in self._index_queues:
                q.put(("resume", self._epoch))
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_queue_idx = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_queue_idx]:
                break
        else:
            return  # every worker is done (iterable dataset exhausted)
        self._index_queues[worker_queue_idx].put(("task", self._epoch, self._send_idx, index))
        self._task_info[self._send_idx] = (worker_queue_idx,)
        self._send_idx += 1

    def _try_get_data(self, timeout):
        try:
            while True:
                epoch, idx, data = self._worker_result_queue.get(timeout=timeout)
                if epoch == self._epoch:
                    return True, (idx, data)
        except queue.Empty:
            failed = [w for i, w in enumerate(self._workers)
                      if self._workers_status[i] and not w.is_alive()]
            if failed:
                pids = ", ".join(str(w.pid) for w in failed)
                cause = RuntimeError("".join(_death_report(w) for w in failed))
                self._shutdown_workers(wait=False)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly") from cause
            return False, None

    def _get_data(self):
        if self._timeout > 0:
            ok, data = self._try_get_data(self._timeout)
            if ok:
                return data
            self._shutdown_workers(wait=False)  # a worker stuck in __getitem__ gains nothing from waiting
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        while True:
            ok, data = self._try_get_data(MP_STATUS_CHECK_INTERVAL)
            if ok:
                return data

    def _next_data(self):
        while True:
            if self._shutdown:
                raise StopIteration
            # Skip sequence numbers already handed out (in_order=False) or owned by exhausted workers.
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._workers_status[info[0]]):
                    break
                self._task_info.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:  # arrived earlier, out of order
                data = self._task_info.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process_data(data)
            idx, data = self._get_data()
            if isinstance(data, _IterableDatasetStopIteration):
                self._workers_status[data.worker_id] = False
                self._task_info.pop(idx, None)
                self._try_put_index()
                continue
            if idx == self._rcvd_idx:
                del self._task_info[idx]
                self._rcvd_idx += 1
                return self._process_data(data)
            if not self._in_order:
                del self._task_info[idx]
                return self._process_data(data)
            self._task_info[idx] += (data,)

    def _process_data(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            if not self._persistent_workers:
                self._shutdown_workers()
            data.reraise()
        return _unpack(data)

    def _shutdown_workers(self, wait=True):
        """Stop every worker: signal, send ``None``, join with a timeout, terminate stragglers.
        ``wait=False`` (after a timeout or a dead worker) terminates them at once."""
        if getattr(self, "_shutdown", True):
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for q in self._index_queues:
                try:
                    q.put(None)
                except Exception:
                    pass
            deadline = time.monotonic() + (MP_STATUS_CHECK_INTERVAL * 5 if wait else 0.0)  # all workers together
            for w in self._workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=MP_STATUS_CHECK_INTERVAL)
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
        finally:
            _live_iterators.discard(self)

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:
            pass


def _default_context():
    """``fork`` where the platform has it (fast, no pickling of the dataset), else the default."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.current_thread() is \
            threading.main_thread():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


# ----------------------------------------------------------------------------------------------
# DataLoader
# ----------------------------------------------------------------------------------------------

class DataLoader:
    """Iterate over ``dataset`` in (optionally shuffled) mini-batches (``torch.utils.data.DataLoader``).

    >>> loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
    >>> for xb, yb in loader:
    ...     loss = loss_fn(model(xb), yb)

    ``shuffle=True`` draws a new permutation every epoch from ``generator`` (or the global generator,
    seeded by ``ember.manual_seed``). ``batch_size=None`` turns batching off: each item comes as the
    dataset returns it (NumPy arrays converted to tensors). ``num_workers > 0`` loads in worker
    processes with the same batches in the same order. ``pin_memory`` is accepted and does nothing
    on the CPU.
    """

    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        elif num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._iterator = None

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx):
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(ctx, str):
                methods = multiprocessing.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid start "
                                     f"method in {methods!r}, but got multiprocessing_context={ctx!r}")
                ctx = multiprocessing.get_context(ctx)
            if not isinstance(ctx, multiprocessing.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context object "
                                f"or a string specifying the start method, but got "
                                f"multiprocessing_context={ctx}")
        self.__multiprocessing_context = ctx

    def __setattr__(self, attr, val):
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last",
                                           "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What the iterator draws from: the batch sampler when batching, else the sampler."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self):
        if self._dataset_kind == _DatasetKind.Iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    length = length // self.batch_size
                else:
                    length = -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

