"""ember.utils.data: datasets, samplers, collation and the DataLoader (single and multi-process)."""
import collections
import gc
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ember
from ember.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset,
                              DistributedSampler, IterableDataset, RandomSampler,
                              Sampler, SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
                              TensorDataset, WeightedRandomSampler, default_collate,
                              default_convert, get_worker_info, random_split)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def as_plain(x):
    """Ember or torch structure -> comparable plain structure: tensors -> ('T', dtype name, array)."""
    if isinstance(x, ember.Tensor):
        return ("T", str(x.dtype).split(".")[-1], x.numpy())
    if type(x).__module__.startswith("torch") and hasattr(x, "numpy"):
        return ("T", str(x.dtype).split(".")[-1], x.numpy())
    if isinstance(x, dict):
        return {k: as_plain(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__,) + tuple(as_plain(v) for v in x)
    if isinstance(x, (list, tuple)):
        return type(x)(as_plain(v) for v in x)
    return x


def assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)) and len(a) == 3 and a[:1] == ("T",):
        assert a[1] == b[1], (a[1], b[1])
        assert a[2].shape == b[2].shape
        np.testing.assert_array_equal(a[2], b[2])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert_same(u, v)
    else:
        assert a == b


def batches_plain(loader):
    return [as_plain(b) for b in loader]


class Squares(Dataset):
    """Map-style: item i is (tensor([i, i*i]) float32, i)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return ember.tensor([float(i), float(i * i)]), i


class Failing(Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, i):
        if i == 5:
            raise ValueError("sample five is broken")
        return np.float32(i)


class Slow(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        time.sleep(0.2)
        return i


class Crashing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3 and get_worker_info() is not None:
            os._exit(3)  # a worker dying without a Python exception (like a segfault)
        return i


class WorkerIds(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return -1 if info is None else info.id


class Stream(IterableDataset):
    """0..n-1, each worker taking every num_workers-th item (sharding via get_worker_info)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


# ---------------------------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------------------------

def test_tensor_dataset():
    x = ember.arange(12, dtype=ember.float32).reshape(6, 2)
    y = ember.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.numpy(), [8.0, 9.0])
    assert yi.item() == 4 and yi.dtype == ember.int64
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, ember.arange(5))


def test_subset_concat_chain_stack():
    base = Squares(10)
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7 and sub[2][1] == 5
    assert [s[1] for s in sub.__getitems__([1, 0])] == [2, 7]

    cat = ConcatDataset([Squares(3), Squares(4)])
    assert len(cat) == 7 and cat.cumulative_sizes == [3, 7]
    assert [cat[i][1] for i in range(7)] == [0, 1, 2, 0, 1, 2, 3]
    assert cat[-1][1] == 3 and cat[-7][1] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        cat[-8]
    assert len(Squares(2) + Squares(5)) == 7
    with pytest.raises(AssertionError, match="empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Stream(3)])

    chain = Stream(3) + Stream(2)
    assert isinstance(chain, ChainDataset)
    assert list(chain) == [0, 1, 2, 0, 1] and len(chain) == 5

    st = StackDataset(Squares(3), Squares(3))
    assert st[1][0][1] == 1 and st[1][1][1] == 1
    sd = StackDataset(a=Squares(3), b=Squares(3))
    assert set(sd[2]) == {"a", "b"}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(Squares(3), Squares(4))


@pytest.mark.parametrize("n, fractions", [(10, [0.5, 0.5]), (10, [0.3, 0.3, 0.4]), (7, [0.5, 0.5]),
                                          (1797, [0.7, 0.1, 0.2]), (11, [0.33, 0.33, 0.34]),
                                          (5, [0.1, 0.9])])
def test_random_split_fraction_lengths_match_torch(n, fractions):
    torch = pytest.importorskip("torch")
    from torch.utils.data import random_split as torch_split
    ours = [len(s) for s in random_split(range(n), fractions)]
    theirs = [len(s) for s in torch_split(range(n), fractions)]
    assert ours == theirs


def test_random_split_properties_and_determinism():
    ds = list(range(20))
    parts = random_split(ds, [5, 15], generator=ember.Generator().manual_seed(3))
    idx = [list(p.indices) for p in parts]
    assert sorted(idx[0] + idx[1]) == list(range(20))
    again = random_split(ds, [5, 15], generator=ember.Generator().manual_seed(3))
    assert [list(p.indices) for p in again] == idx
    other = random_split(ds, [5, 15], generator=ember.Generator().manual_seed(4))
    assert [list(p.indices) for p in other] != idx
    ember.manual_seed(0)
    a = random_split(ds, [0.5, 0.5])[0].indices
    ember.manual_seed(0)
    b = random_split(ds, [0.5, 0.5])[0].indices
    assert a == b
    assert parts[0][0] == idx[0][0]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the "
                                         "input dataset!"):
        random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(ds, [0.5, 1.5, -1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(list(range(2)), [0.99, 0.01])


# ---------------------------------------------------------------------------------------------
# samplers
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, bs, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True),
                                              (1, 4, False), (1, 4, True), (0, 2, False)])
def test_sequential_and_batch_sampler_match_torch(n, bs, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils import data as td
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    theirs = td.BatchSampler(td.SequentialSampler(range(n)), bs, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    assert list(SequentialSampler(range(n))) == list(td.SequentialSampler(range(n)))


def test_batch_sampler_errors():
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got drop_last=1"):
        BatchSampler(range(3), 2, 1)


def test_random_sampler():
    ember.manual_seed(1)
    a = list(RandomSampler(range(50)))
    ember.manual_seed(1)
    b = list(RandomSampler(range(50)))
    assert a == b and sorted(a) == list(range(50)) and a != list(range(50))
    s = RandomSampler(range(50), generator=ember.Generator().manual_seed(7))
    first, second = list(s), list(s)
    assert first != second  # a fresh permutation per epoch
    assert list(RandomSampler(range(50), generator=ember.Generator().manual_seed(7))) == first

    r = RandomSampler(range(5), replacement=True, num_samples=100)
    draws = list(r)
    assert len(draws) == len(r) == 100 and set(draws) <= set(range(5)) and len(set(draws)) == 5
    long = list(RandomSampler(range(4), num_samples=10))
    assert len(long) == 10 and sorted(long[:4]) == [0, 1, 2, 3] and sorted(long[4:8]) == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got "
                                         "num_samples=0"):
        RandomSampler(range(3), num_samples=0)


def test_subset_random_and_weighted_samplers():
    s = SubsetRandomSampler([10, 20, 30, 40], generator=ember.Generator().manual_seed(0))
    out = list(s)
    assert sorted(out) == [10, 20, 30, 40] and len(s) == 4

    w = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], num_samples=400,
                              generator=ember.Generator().manual_seed(0))
    draws = np.array(list(w))
    assert len(draws) == 400 and set(draws.tolist()) == {1, 3}
    assert 0.65 < (draws == 3).mean() < 0.85  # expected 0.75
    assert w.weights.dtype == ember.float64
    nr = list(WeightedRandomSampler([1, 2, 3, 4], 4, replacement=False))
    assert sorted(nr) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        list(WeightedRandomSampler([1, 1], 3, replacement=False))
    with pytest.raises(ValueError, match="weights should be a 1d sequence but given weights have "
                                         r"shape \(1, 2\)"):
        WeightedRandomSampler([[1, 2]], 2)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        WeightedRandomSampler([1, 2], 0)
    with pytest.raises(RuntimeError, match="element < 0"):
        list(WeightedRandomSampler([1, -2], 2))


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (12, 4, False),
                                                    (5, 4, False), (5, 4, True), (2, 3, False)])
def test_distributed_sampler_matches_torch_without_shuffle(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchDS
    for rank in range(replicas):
        ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                  drop_last=drop_last)
        theirs = TorchDS(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                         drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


def test_distributed_sampler_shuffle_shards():
    n, k = 23, 4
    shards = [list(DistributedSampler(range(n), k, r, shuffle=True, seed=5)) for r in range(k)]
    flat = sum(shards, [])
    assert len(flat) == 24 and set(flat) == set(range(n))  # padded by one repeat
    again = [list(DistributedSampler(range(n), k, r, shuffle=True, seed=5)) for r in range(k)]
    assert again == shards
    s = DistributedSampler(range(n), k, 0, shuffle=True, seed=5)
    s.set_epoch(1)
    assert list(s) != shards[0]
    dropped = [list(DistributedSampler(range(n), k, r, drop_last=True)) for r in range(k)]
    assert len(sum(dropped, [])) == 20 and len(set(sum(dropped, []))) == 20
    with pytest.raises(ValueError, match=r"Invalid rank 4, rank should be in the interval \[0, 3\]"):
        DistributedSampler(range(n), num_replicas=4, rank=4)
    assert len(DistributedSampler(range(n))) == n  # single process by default


# ---------------------------------------------------------------------------------------------
# collation
# ---------------------------------------------------------------------------------------------

Point = collections.namedtuple("Point", ["x", "y"])


def _samples(lib):
    """The same batch of samples built for ember or torch."""
    t = lib.tensor
    return [
        [(t([1.0, 2.0]), 3, 0.5, True, "a", np.array([1, 2], dtype=np.int32)),
         (t([3.0, 4.0]), 4, 1.5, False, "b", np.array([3, 4], dtype=np.int32))],
        [{"img": t([[1, 2]], dtype=lib.uint8), "label": 1, "meta": {"name": "x", "w": 0.25}},
         {"img": t([[3, 4]], dtype=lib.uint8), "label": 2, "meta": {"name": "y", "w": 0.75}}],
        [Point(t(1.0), [1, 2]), Point(t(2.0), [3, 4])],
        [[t(1), 2], [t(3), 4]],
        [np.float32(1.5), np.float32(2.5)],
        [np.int16(1), np.int16(2)],
        [np.array(1.0), np.array(2.0)],
        [t(1.0, dtype=lib.float64), t(2.0, dtype=lib.float64)],
        [True, 2],
        [b"ab", b"cd"],
    ]


def test_default_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    for ours, theirs in zip(_samples(ember), _samples(torch)):
        assert_same(as_plain(default_collate(ours)), as_plain(torch_collate(theirs)))


def test_default_collate_structure_and_dtypes():
    xb, ib, fb, bb, sb, nb = default_collate(_samples(ember)[0])
    assert xb.shape == (2, 2) and xb.dtype == ember.float32
    assert ib.dtype == ember.int64 and ib.tolist() == [3, 4]
    assert fb.dtype == ember.float64 and fb.tolist() == [0.5, 1.5]
    assert bb.dtype == ember.bool and bb.tolist() == [True, False]
    assert sb == ("a", "b")  # the transposed column, as torch returns it
    assert nb.dtype == ember.int32 and nb.tolist() == [[1, 2], [3, 4]]
    p = default_collate(_samples(ember)[2])
    assert isinstance(p, Point) and p.x.tolist() == [1.0, 2.0]


def test_default_collate_errors_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    cases = [
        lambda lib: [lib.zeros(3), lib.zeros(4)],
        lambda lib: [[1, 2], [1, 2, 3]],
        lambda lib: [object(), object()],
        lambda lib: [np.array(["a"]), np.array(["b"])],
    ]
    for make in cases:
        with pytest.raises(Exception) as theirs:
            torch_collate(make(torch))
        with pytest.raises(type(theirs.value)) as ours:
            default_collate(make(ember))
        assert str(ours.value) == str(theirs.value)


def test_default_convert():
    out = default_convert((np.arange(3), {"a": np.float32(2.0)}, "s", 5))
    assert isinstance(out, list)
    assert isinstance(out[0], ember.Tensor) and out[0].dtype == ember.int64
    assert isinstance(out[1]["a"], ember.Tensor) and out[1]["a"].dtype == ember.float32
    assert out[2] == "s" and out[3] == 5


# ---------------------------------------------------------------------------------------------
# DataLoader, one process
# ---------------------------------------------------------------------------------------------

def test_dataloader_batches_and_len():
    loader = DataLoader(Squares(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    xb, yb = batches[0]
    assert xb.shape == (4, 2) and xb.dtype == ember.float32
    assert yb.dtype == ember.int64 and yb.tolist() == [0, 1, 2, 3]
    assert batches[-1][1].tolist() == [8, 9]
    dl = DataLoader(Squares(10), batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[1].tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    single = list(DataLoader(Squares(3), batch_size=None))
    assert single[1][1] == 1 and single[1][0].shape == (2,)
    assert len(DataLoader(Squares(3))) == 3


def test_dataloader_matches_torch_structure():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TorchDL

    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)

    class Pairs:
        def __init__(self, lib):
            self.lib = lib

        def __len__(self):
            return 10

        def __getitem__(self, i):
            return {"x": self.lib.from_numpy(x[i]), "y": int(y[i]), "n": x[i, 0].item()}

    for bs, drop in ((3, False), (3, True), (10, False)):
        ours = batches_plain(DataLoader(Pairs(ember), batch_size=bs, drop_last=drop))
        theirs = batches_plain(TorchDL(Pairs(torch), batch_size=bs, drop_last=drop))
        assert_same(ours, theirs)


def test_dataloader_tensor_dataset_fast_path_equals_stacking():
    x = ember.randn(17, 3, 2)
    y = ember.arange(17)
    ds = TensorDataset(x, y)
    fast = batches_plain(DataLoader(ds, batch_size=5, shuffle=True,
                                    generator=ember.Generator().manual_seed(0)))
    slow = batches_plain(DataLoader(ds, batch_size=5, shuffle=True,
                                    generator=ember.Generator().manual_seed(0),
                                    collate_fn=lambda b: default_collate(b)))
    assert_same(fast, slow)
    assert isinstance(fast[0], list) and fast[0][0][2].shape == (5, 3, 2)
    part = random_split(ds, [0.6, 0.4], generator=ember.Generator().manual_seed(1))[1]
    sub = Subset(part, [4, 0, 2, 1, 3, 5])
    fast = batches_plain(DataLoader(sub, batch_size=4))
    slow = batches_plain(DataLoader(sub, batch_size=4, collate_fn=lambda b: default_collate(b)))
    assert_same(fast, slow)
    assert fast[0][1][2].tolist() == [part.indices[i] for i in (4, 0, 2, 1)]


def test_generic_subscription():
    class Typed(Dataset[int]):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i

    class MySampler(RandomSampler):
        pass

    assert len(Typed()) == 2 and IterableDataset[int] is not None
    assert Sampler[int] is not None
    assert sorted(MySampler(range(3))) == [0, 1, 2]


def test_dataloader_shuffle_determinism():
    ds = TensorDataset(ember.arange(40))

    def order(**kw):
        return [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True, **kw)]

    a = order(generator=ember.Generator().manual_seed(42))
    b = order(generator=ember.Generator().manual_seed(42))
    c = order(generator=ember.Generator().manual_seed(43))
    assert a == b and a != c
    assert sorted(sum(a, [])) == list(range(40))
    ember.manual_seed(5)
    d = order()
    ember.manual_seed(5)
    assert order() == d
    g = ember.Generator().manual_seed(1)
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=g)
    e1, e2 = [b[0].tolist() for b in loader], [b[0].tolist() for b in loader]
    assert e1 != e2  # each epoch reshuffles


def test_dataloader_sampler_options_and_errors():
    ds = Squares(6)
    got = [b[1].tolist() for b in DataLoader(ds, sampler=[5, 4, 3, 2, 1, 0], batch_size=2)]
    assert got == [[5, 4], [3, 2], [1, 0]]
    got = [b[1].tolist() for b in DataLoader(ds, batch_sampler=[[0, 5], [1], [2, 3, 4]])]
    assert got == [[0, 5], [1], [2, 3, 4]]
    assert len(DataLoader(ds, batch_sampler=[[0, 5], [1]])) == 2
    got = [b for b in DataLoader(ds, batch_size=3, collate_fn=lambda b: [s[1] for s in b])]
    assert got == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with "
                                         "batch_size, shuffle, sampler, and drop_last"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(ds, timeout=-1)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        DataLoader(Stream(3), shuffle=True)
    loader = DataLoader(ds, batch_size=2, pin_memory=True)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader "
                                         "is initialized"):
        loader.batch_size = 3
    assert len(list(loader)) == 3  # pin_memory is accepted (a no-op on the CPU)


def test_dataloader_iterable_dataset():
    loader = DataLoader(Stream(10), batch_size=4)
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(loader) == 3
    dl = DataLoader(Stream(10), batch_size=4, drop_last=True)
    assert [b.tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(dl) == 2
    assert [int(b) for b in DataLoader(Stream(3), batch_size=None)] == [0, 1, 2]
    assert get_worker_info() is None


# ---------------------------------------------------------------------------------------------
# DataLoader, worker processes
# ---------------------------------------------------------------------------------------------

def _no_workers_left(timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        gc.collect()
        if not multiprocessing.active_children():
            return True
        time.sleep(0.05)
    return False


def test_workers_give_the_same_batches():
    ds = Squares(37)
    for kw in ({"batch_size": 5}, {"batch_size": 5, "drop_last": True}, {"batch_size": None},
               {"batch_size": 4, "shuffle": True}):
        make = (lambda: {"generator": ember.Generator().manual_seed(9)}) if kw.get("shuffle") \
            else (lambda: {})
        zero = batches_plain(DataLoader(ds, num_workers=0, **kw, **make()))
        two = batches_plain(DataLoader(ds, num_workers=2, **kw, **make()))
        assert_same(zero, two)
    # global-seed shuffling also agrees (the main process draws the permutation)
    ember.manual_seed(3)
    zero = batches_plain(DataLoader(ds, batch_size=6, shuffle=True))
    ember.manual_seed(3)
    two = batches_plain(DataLoader(ds, batch_size=6, shuffle=True, num_workers=2))
    assert_same(zero, two)
    assert _no_workers_left()


def test_workers_tensor_dataset_and_in_order_false():
    x = ember.randn(50, 4)
    ds = TensorDataset(x, ember.arange(50))
    zero = batches_plain(DataLoader(ds, batch_size=8))
    two = batches_plain(DataLoader(ds, batch_size=8, num_workers=2, prefetch_factor=3))
    assert_same(zero, two)
    unordered = [b[1].tolist() for b in DataLoader(ds, batch_size=8, num_workers=2, in_order=False)]
    assert sorted(sum(unordered, [])) == list(range(50))
    assert _no_workers_left()


def test_workers_iterable_dataset_sharded():
    loader = DataLoader(Stream(10), batch_size=2, num_workers=2)
    got = [b.tolist() for b in loader]
    # worker 0 streams 0,2,4,6,8 and worker 1 streams 1,3,5,7,9; batches alternate between them
    assert got == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    assert _no_workers_left()


def test_worker_info_and_init_fn():
    ids = [b.tolist() for b in DataLoader(WorkerIds(), batch_size=2, num_workers=2)]
    assert ids == [[0, 0], [1, 1], [0, 0], [1, 1]]
    seen = multiprocessing.get_context("fork").Queue() if "fork" in \
        multiprocessing.get_all_start_methods() else None
    if seen is not None:
        def init(worker_id):
            info = get_worker_info()
            seen.put((worker_id, info.num_workers, info.id))
        list(DataLoader(WorkerIds(), batch_size=4, num_workers=2, worker_init_fn=init))
        got = sorted(seen.get(timeout=5) for _ in range(2))
        assert got == [(0, 2, 0), (1, 2, 1)]
    assert _no_workers_left()


def test_worker_exception_is_reraised_with_traceback():
    t0 = time.time()
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        for _ in loader:
            pass
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process" in msg
    assert "sample five is broken" in msg and "Traceback" in msg and "__getitem__" in msg
    del info
    assert _no_workers_left()
    assert time.time() - t0 < 10


def test_worker_crash_is_detected():
    t0 = time.time()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(DataLoader(Crashing(), batch_size=2, num_workers=2))
    assert _no_workers_left()
    assert time.time() - t0 < 10


def test_worker_init_fn_exception():
    def bad_init(worker_id):
        raise KeyError("no such thing")
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(DataLoader(Squares(4), num_workers=1, worker_init_fn=bad_init))
    assert _no_workers_left()


def test_break_shuts_workers_down():
    t0 = time.time()
    loader = DataLoader(Squares(1000), batch_size=2, num_workers=2)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    assert _no_workers_left()
    it = iter(loader)
    next(it)
    assert len(multiprocessing.active_children()) == 2
    del it
    assert _no_workers_left()
    assert time.time() - t0 < 10


def test_persistent_workers_keep_processes_and_results():
    ds = Squares(11)
    loader = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True)
    ref = batches_plain(DataLoader(ds, batch_size=3))
    assert_same(batches_plain(loader), ref)
    pids = sorted(p.pid for p in multiprocessing.active_children())
    assert len(pids) == 2
    for i, _ in enumerate(loader):  # break mid-epoch: the next epoch must still be right
        if i == 0:
            break
    assert_same(batches_plain(loader), ref)
    assert sorted(p.pid for p in multiprocessing.active_children()) == pids
    shuffled = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True, shuffle=True)
    e1, e2 = ([b[1].tolist() for b in shuffled] for _ in range(2))
    assert sorted(sum(e1, [])) == sorted(sum(e2, [])) == list(range(11))
    stream = DataLoader(Stream(6), batch_size=2, num_workers=2, persistent_workers=True)
    assert [b.tolist() for b in stream] == [b.tolist() for b in stream]
    del loader, stream, shuffled
    assert _no_workers_left()


def test_timeout():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.05 seconds"):
        list(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.05))
    assert _no_workers_left()


def test_workers_exit_at_interpreter_exit():
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        import ember
        from ember.utils.data import DataLoader, TensorDataset
        loader = DataLoader(TensorDataset(ember.arange(1000)), batch_size=2, num_workers=2)
        it = iter(loader)
        print(next(it)[0].tolist())
        keep = it  # still alive at exit: the atexit hook must stop the workers
    """ % ROOT)
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0, 1]"
    assert time.time() - t0 < 30


def test_pin_memory_without_accelerator_warns_like_torch():
    torch = pytest.importorskip("torch")
    import warnings as _w

    def messages(mod):
        ds = mod.utils.data.TensorDataset(mod.arange(4.0))
        with _w.catch_warnings(record=True) as rec:
            _w.simplefilter("always")
            batches = [b[0].tolist() for b in mod.utils.data.DataLoader(ds, batch_size=2, pin_memory=True)]
        return batches, [(r.category, str(r.message)) for r in rec]

    if torch.accelerator.is_available() or ember.accelerator.is_available():
        pytest.skip("an accelerator is present: pin_memory is honoured, no warning")
    assert messages(ember) == messages(torch)
    assert messages(ember)[1] == [(UserWarning, "'pin_memory' argument is set as true but no accelerator is "
                                                "found, then device pinned memory won't be used.")]
