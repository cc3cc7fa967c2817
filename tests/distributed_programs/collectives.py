"""Every collective of ember.distributed on N ranks; rank 0 prints 'ok' when all checks pass
(a failed check raises, which aborts the job)."""
import numpy as np

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"


def eq(t, expected):
    got = t.numpy() if isinstance(t, ember.Tensor) else t
    assert np.array_equal(got, np.asarray(expected)), (got, expected)


ranks = np.arange(n)
for op, fold in [(dist.ReduceOp.SUM, ranks.sum()), (dist.ReduceOp.PRODUCT, np.prod(ranks + 1.0)),
                 (dist.ReduceOp.MIN, 0), (dist.ReduceOp.MAX, n - 1), (dist.ReduceOp.AVG, ranks.mean())]:
    t = ember.full((3,), float(r + 1 if op == dist.ReduceOp.PRODUCT else r))
    dist.all_reduce(t, op=op)
    eq(t, np.full(3, fold, dtype=np.float32))
t = ember.arange(6).reshape(2, 3).t() * (r + 1)          # non-contiguous int64: reduced through a copy
dist.all_reduce(t)
eq(t, (np.arange(6).reshape(2, 3).T * (ranks + 1).sum()))
t = ember.full((2,), float(r))
work = dist.all_reduce(t, async_op=True)
assert work.wait() and work.is_completed()
eq(t, np.full(2, ranks.sum(), dtype=np.float32))
t = ember.full((4,), float(r))
dist.broadcast(t, src=n - 1)
eq(t, np.full(4, n - 1, dtype=np.float32))
outs = [ember.zeros(2) for _ in range(n)]
dist.all_gather(outs, ember.full((2,), float(r)))
for q in range(n):
    eq(outs[q], [q, q])
big = ember.zeros(n * 2)
dist.all_gather_into_tensor(big, ember.full((2,), float(r)))
eq(big, np.repeat(ranks, 2).astype(np.float32))
out = ember.zeros(2)
dist.reduce_scatter(out, [ember.full((2,), float(q * 10 + r)) for q in range(n)])
eq(out, np.full(2, r * 10 * n + ranks.sum(), dtype=np.float32))
out = ember.zeros(2)
dist.reduce_scatter_tensor(out, ember.arange(2 * n, dtype=ember.float32))
eq(out, np.arange(2 * r, 2 * r + 2) * n)
t = ember.full((2,), float(r + 1))
dist.reduce(t, dst=0)
eq(t, np.full(2, (ranks + 1).sum() if r == 0 else r + 1, dtype=np.float32))
gl = [ember.zeros(1) for _ in range(n)] if r == 0 else None
dist.gather(ember.full((1,), float(r)), gl, dst=0)
if r == 0:
    eq(ember.cat(gl), ranks.astype(np.float32))
t = ember.zeros(1)
dist.scatter(t, [ember.full((1,), q * 2.0) for q in range(n)] if r == 0 else None, src=0)
eq(t, [2.0 * r])
t = ember.zeros(n)
dist.all_to_all_single(t, ember.arange(n, dtype=ember.float32) + 100 * r)
eq(t, ranks * 100.0 + r)
if n > 1:
    if r == 0:
        dist.send(ember.tensor([7.0, 8.0]), dst=1)
    elif r == 1:
        buf = ember.zeros(2)
        assert dist.recv(buf, src=0) == 0
        eq(buf, [7.0, 8.0])
objs = [{"rank": r} if r == 0 else None]
dist.broadcast_object_list(objs, src=0)
assert objs == [{"rank": 0}]
gathered = [None] * n
dist.all_gather_object(gathered, ("r", r))
assert gathered == [("r", q) for q in range(n)]
sub = dist.new_group([0]) if n > 1 else None
if n > 1:
    if r == 0:
        assert dist.get_world_size(sub) == 1
        t = ember.ones(1)
        dist.all_reduce(t, group=sub)
        eq(t, [1.0])
    else:
        assert sub is dist.GroupMember.NON_GROUP_MEMBER
dist.barrier()
if r == 0:
    print("ok")
dist.destroy_process_group()
assert not dist.is_initialized()
