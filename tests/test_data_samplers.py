"""Lazy samplers and the dataset combinators of torch.utils.data, against torch."""
import itertools
import time

import numpy as np
import pytest

import ember
import ember.utils.data as edata

torch = pytest.importorskip("torch")
import torch.utils.data as tdata  # noqa: E402


def _same_streams():
    """True once Ember's random streams are torch's (then samplers must agree index for index)."""
    a = ember.randperm(20, generator=ember.Generator().manual_seed(3)).tolist()
    b = torch.randperm(20, generator=torch.Generator().manual_seed(3)).tolist()
    return a == b


@pytest.mark.parametrize("lib,data", [(ember, edata), (torch, tdata)])
def test_random_sampler_with_replacement_is_lazy(lib, data):
    s = data.RandomSampler(range(7), replacement=True, num_samples=int(1e10))
    assert len(s) == int(1e10)
    t0 = time.perf_counter()
    first = list(itertools.islice(iter(s), 100))
    assert time.perf_counter() - t0 < 1.0  # nothing like 1e10 indices is drawn
    assert len(first) == 100 and all(0 <= i < 7 for i in first)


def test_random_sampler_lengths_and_chunks_match_torch():
    for replacement, num_samples in [(True, 70), (False, 17), (False, None), (True, 5)]:
        g_e, g_t = ember.Generator().manual_seed(0), torch.Generator().manual_seed(0)
        e = list(edata.RandomSampler(range(6), replacement, num_samples, generator=g_e))
        t = list(tdata.RandomSampler(range(6), replacement, num_samples, generator=g_t))
        assert len(e) == len(t)
        if not replacement:  # whole permutations chained, then part of one: no index repeats within one
            full = len(e) // 6 * 6
            assert np.bincount(e[:full], minlength=6).tolist() == np.bincount(t[:full], minlength=6).tolist()
            assert len(set(e[full:])) == len(e) - full
        if _same_streams():
            assert e == t


def test_random_sampler_errors_match_torch():
    for kwargs in ({"num_samples": 0}, {"num_samples": -3}, {"replacement": 1}):
        with pytest.raises((ValueError, TypeError)) as te:
            tdata.RandomSampler(range(3), **kwargs)
        with pytest.raises((ValueError, TypeError)) as ee:
            edata.RandomSampler(range(3), **kwargs)
        assert type(ee.value) is type(te.value) and str(ee.value) == str(te.value)


def test_weighted_and_subset_random_samplers():
    w = [0.0, 1.0, 3.0, 0.0]
    for lib, data in ((ember, edata), (torch, tdata)):
        lib.manual_seed(0)
        draws = list(data.WeightedRandomSampler(w, 4000, replacement=True))
        counts = np.bincount(draws, minlength=4)
        assert counts[0] == counts[3] == 0 and 2.5 < counts[2] / counts[1] < 3.5
        assert sorted(data.WeightedRandomSampler(w, 2, replacement=False)) == [1, 2]
        assert sorted(data.SubsetRandomSampler([10, 20, 30])) == [10, 20, 30]
    with pytest.raises(RuntimeError) as te:
        list(tdata.WeightedRandomSampler(w, 5, replacement=False))
    with pytest.raises(RuntimeError) as ee:
        list(edata.WeightedRandomSampler(w, 5, replacement=False))
    assert str(ee.value) == str(te.value)
    if _same_streams():
        e = list(edata.SubsetRandomSampler(list(range(9)), generator=ember.Generator().manual_seed(1)))
        t = list(tdata.SubsetRandomSampler(list(range(9)), generator=torch.Generator().manual_seed(1)))
        assert e == t


def test_random_split_fractions_and_generator():
    for fr in ([0.5, 0.3, 0.2], [0.34, 0.33, 0.33], [1.0]):
        e = edata.random_split(range(11), fr, generator=ember.Generator().manual_seed(0))
        t = tdata.random_split(range(11), fr, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in e] == [len(s) for s in t]
        assert sorted(i for s in e for i in s.indices) == list(range(11))
    with pytest.raises(ValueError) as te:
        tdata.random_split(range(5), [2, 2])
    with pytest.raises(ValueError) as ee:
        edata.random_split(range(5), [2, 2])
    assert str(ee.value) == str(te.value)


def test_concat_chain_stack_datasets_match_torch():
    a, b = list(range(3)), list(range(10, 15))
    ec, tc = edata.ConcatDataset([a, b]), tdata.ConcatDataset([a, b])
    assert len(ec) == len(tc) == 8 and [ec[i] for i in range(-8, 8)] == [tc[i] for i in range(-8, 8)]
    assert ec.cumulative_sizes == tc.cumulative_sizes

    class EStream(edata.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    class TStream(tdata.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    assert list(edata.ChainDataset([EStream(2), EStream(3)])) == list(tdata.ChainDataset([TStream(2), TStream(3)]))
    assert list(EStream(2) + EStream(1)) == list(TStream(2) + TStream(1))
    es = edata.StackDataset(x=a, y=[1, 2, 3])
    ts = tdata.StackDataset(x=a, y=[1, 2, 3])
    assert len(es) == len(ts) and [es[i] for i in range(3)] == [ts[i] for i in range(3)]
    assert edata.StackDataset(a, a)[1] == tdata.StackDataset(a, a)[1]
    with pytest.raises(ValueError) as te:
        tdata.StackDataset(a, b)
    with pytest.raises(ValueError) as ee:
        edata.StackDataset(a, b)
    assert str(ee.value) == str(te.value)


class _Shard(edata.IterableDataset):
    """The sharding recipe of torch's IterableDataset docs, written against Ember."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = edata.get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per = -(-(self.end - self.start) // info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))


class _TShard(tdata.IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = tdata.get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per = -(-(self.end - self.start) // info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))


def test_iterable_sharding_across_workers_and_loader_options_match_torch():
    kw = dict(batch_size=None, num_workers=2, persistent_workers=True, prefetch_factor=2, pin_memory=False,
              worker_init_fn=lambda wid: None)
    e = [int(x) for x in edata.DataLoader(_Shard(3, 10), generator=ember.Generator().manual_seed(0), **kw)]
    t = [int(x) for x in tdata.DataLoader(_TShard(3, 10), generator=torch.Generator().manual_seed(0), **kw)]
    assert e == t  # workers take turns: 3, 7, 4, 8, ...
    assert edata.get_worker_info() is None and tdata.get_worker_info() is None
    with pytest.raises(ValueError) as te:
        tdata.DataLoader(range(3), prefetch_factor=2)
    with pytest.raises(ValueError) as ee:
        edata.DataLoader(range(3), prefetch_factor=2)
    assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError) as te:
        tdata.DataLoader(range(3), persistent_workers=True)
    with pytest.raises(ValueError) as ee:
        edata.DataLoader(range(3), persistent_workers=True)
    assert str(ee.value) == str(te.value)
