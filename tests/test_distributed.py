"""ember.distributed and DistributedDataParallel, run as real multi-process jobs under the venv's mpiexec.

The programs live in ``tests/distributed_programs/``; each job has a timeout, so a hang fails the test
instead of stalling the suite. Skipped where mpi4py or mpiexec is missing.
"""
import math
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ember
import ember.distributed as dist
from ember.utils.data import DistributedSampler

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "tests" / "distributed_programs"
MPIEXEC = Path(sys.executable).parent / "mpiexec"
needs_mpi = pytest.mark.skipif(not dist.is_available() or not MPIEXEC.exists(),
                               reason="needs mpi4py and mpiexec (pip install \"ember[distributed]\")")
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "TORCHELASTIC_RUN_ID"):
    ENV.pop(var, None)


def mpirun(n, program, *args, timeout=90):
    cmd = [str(MPIEXEC), "-n", str(n), sys.executable, str(PROGRAMS / program), *args]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout)


def leftover(marker):
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return out.stdout.split()


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 3])
def test_collectives(n):
    p = mpirun(n, "collectives.py")
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip() == "ok"


@needs_mpi
@pytest.mark.parametrize("n", [2, 3, 4])
def test_ddp_equals_one_process_on_the_whole_batch(n):
    """40 SGD-momentum and 40 Adam steps: DDP's parameters equal one process trained on the concatenated
    batch (max abs difference <= 1e-6), and every replica ends identical."""
    p = mpirun(n, "ddp_equivalence.py", timeout=180)
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout)
    for opt in ("sgd", "adam"):
        assert result[opt]["vs_single"] <= 1e-6, result
        assert result[opt]["replica_spread"] == 0.0, result
        assert result[opt]["keys"] == ["module.0.weight", "module.0.bias"]


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 3])
def test_ddp_no_sync_unused_parameters_buffers_and_checks(n):
    p = mpirun(n, "ddp_features.py")
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip() == "ok"


@needs_mpi
@pytest.mark.parametrize("mode, expected", [
    ("raise", ["[rank 1] ValueError: bad batch on rank 1", "aborting the job: rank 1 raised ValueError"]),
    ("skip", ["collective mismatch", "called barrier()", "all_reduce(shape=[4]"]),
    ("mismatch", ["collective mismatch", "broadcast(shape=[4]", "all_reduce(shape=[4]"]),
    ("stuck", ["all_reduce(shape=[4], dtype=torch.float32, op=SUM) #1", "did not complete within 3 s"]),
])
def test_failures_end_the_job_quickly_with_a_clear_message(mode, expected):
    t0 = time.monotonic()
    p = mpirun(2, "failures.py", mode, timeout=60)
    elapsed = time.monotonic() - t0
    assert p.returncode != 0
    assert elapsed <= 10, f"{mode}: the job took {elapsed:.1f} s to end"
    for text in expected:
        assert text in p.stderr, p.stderr[-3000:]
    assert "finished" not in p.stdout
    time.sleep(0.2)
    assert leftover(f"failures.py {mode}") == []


@needs_mpi
def test_launcher_mismatch_with_mpi_is_refused():
    """WORLD_SIZE says 2 but MPI started one process (mpi4py bound to another MPI): refuse, don't hang."""
    code = "import ember.distributed as d; d.init_process_group('gloo')"
    p = subprocess.run([sys.executable, "-c", code], env=dict(ENV, WORLD_SIZE="2"), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode != 0
    assert "the launcher started 2 processes (WORLD_SIZE=2) but MPI sees a world of 1" in p.stderr


@needs_mpi
def test_distributed_run_launches_a_pytorch_program(tmp_path):
    """``python -m ember.distributed.run --nproc-per-node 2`` runs an unmodified torch DDP program, with
    torchrun's environment variables."""
    script = tmp_path / "train.py"
    script.write_text(
        "import os, torch, torch.distributed as dist\n"
        "from torch.nn.parallel import DistributedDataParallel as DDP\n"
        "dist.init_process_group('gloo')\n"
        "assert int(os.environ['LOCAL_RANK']) == dist.get_rank() and int(os.environ['WORLD_SIZE']) == 2\n"
        "assert dist.is_torchelastic_launched()\n"
        "torch.manual_seed(0)\n"
        "m = DDP(torch.nn.Linear(3, 1))\n"
        "m(torch.ones(2, 3) * (dist.get_rank() + 1)).sum().backward()\n"
        "print(f'{dist.get_rank()} {m.module.weight.grad.tolist()}', flush=True)\n"
        "dist.destroy_process_group()\n")
    p = subprocess.run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2", str(script)],
                       env=ENV, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    import re  # mpiexec may interleave the two ranks' lines: find each rank's report anywhere
    assert sorted(re.findall(r"(\d) \[\[3\.0, 3\.0, 3\.0\]\]", p.stdout)) == ["0", "1"], p.stdout


@needs_mpi
def test_distributed_run_aborts_when_a_rank_fails(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import os, sys, time, torch.distributed as dist\n"
                      "if os.environ['RANK'] == '1':\n    sys.exit(3)\n"
                      "dist.init_process_group()\n")
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2", str(script)],
                       env=ENV, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode != 0 and time.monotonic() - t0 <= 10
    assert "[rank 1] exited with code 3: aborting the job" in p.stderr


def test_not_initialized_errors():
    assert dist.is_available() in (True, False)
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(ember.ones(1))


def test_launcher_env_reads_mpich_open_mpi_and_slurm():
    from ember.distributed.run import launcher_env
    for env, rank in [({"PMI_RANK": "3", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}, 3),
                      ({"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "4",
                        "OMPI_COMM_WORLD_LOCAL_RANK": "0", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}, 2),
                      ({"SLURM_PROCID": "1", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1"}, 1)]:
        assert launcher_env(env) == (rank, 4)
        assert env["RANK"] == str(rank) and env["WORLD_SIZE"] == "4" and "LOCAL_RANK" in env
    assert launcher_env({}) is None


def _torch_indices(torch, n, replicas, rank, shuffle, drop_last, epoch, seed=0):
    from torch.utils.data import DistributedSampler as TorchSampler
    s = TorchSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
    s.set_epoch(epoch)
    return list(s), len(s)


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (7, 4, False), (2, 5, False)])
def test_distributed_sampler_matches_torch_without_shuffle(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    for rank in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert (list(s), len(s)) == _torch_indices(torch, n, replicas, rank, False, drop_last, 0)


def test_distributed_sampler_shuffle_matches_torch():
    """The shuffle is torch's ``randperm`` from a Generator seeded with ``seed + epoch``."""
    torch = pytest.importorskip("torch")
    g = ember.Generator()
    g.manual_seed(5)
    tg = torch.Generator()
    tg.manual_seed(5)
    if ember.randperm(50, generator=g).tolist() != torch.randperm(50, generator=tg).tolist():
        pytest.skip("ember.randperm does not follow torch's stream in this build")
    for epoch in (0, 3):
        for rank in range(3):
            s = DistributedSampler(range(50), num_replicas=3, rank=rank, seed=2, drop_last=False)
            s.set_epoch(epoch)
            assert (list(s), len(s)) == _torch_indices(torch, 50, 3, rank, True, False, epoch, seed=2)
            assert len(s) == math.ceil(50 / 3)


def test_data_parallel_runs_the_module_and_prefixes_state_dict():
    torch = pytest.importorskip("torch")
    inner = ember.nn.Linear(3, 2)
    dp = ember.nn.DataParallel(inner)
    x = ember.randn(4, 3)
    assert ember.equal(dp(x), inner(x))
    t = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(dp.state_dict()) == list(t.state_dict()) == ["module.weight", "module.bias"]
    assert repr(dp).startswith("DataParallel(\n  (module): Linear(")


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_sync_batchnorm_equals_batchnorm_on_the_whole_batch(n):
    p = mpirun(n, "sync_batchnorm.py")
    assert p.returncode == 0, p.stderr[-3000:]
    diffs = json.loads(p.stdout)
    assert max(diffs.values()) < 1e-12, diffs


@needs_mpi
def test_ember_train_nproc_2_matches_one_process(tmp_path):
    """``ember train --nproc 2``: each process takes half of every batch; DDP averages the gradients, so the
    run reaches the same test accuracy as one process with the same global batch. Rank 0 writes the files."""
    def train(out, *extra):
        p = subprocess.run([sys.executable, "-m", "ember", "train", "--epochs", "2", "--quiet", "--out", str(out),
                            *extra], env=ENV, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert p.returncode == 0, p.stderr[-3000:]
        return json.loads((out / "metrics.json").read_text()), p.stdout
    one, _ = train(tmp_path / "one")
    two, stdout = train(tmp_path / "two", "--nproc", "2")
    assert abs(one["test_accuracy"] - two["test_accuracy"]) <= 0.01
    assert abs(one["train_loss"][-1] - two["train_loss"][-1]) <= 1e-3
    assert stdout.count("test accuracy") == 1  # only rank 0 reports
    assert json.loads((tmp_path / "two" / "config.json").read_text())["processes"] == 2
    assert (tmp_path / "two" / "report.html").exists()


@needs_mpi
def test_ember_distributed_run_subcommand(tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import torch.distributed as dist\ndist.init_process_group()\n"
                      "print(f'rank {dist.get_rank()} of {dist.get_world_size()}', flush=True)\n")
    p = subprocess.run([sys.executable, "-m", "ember", "distributed-run", "--nproc-per-node", "2", str(script)],
                       env=ENV, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "rank 0 of 2" in p.stdout and "rank 1 of 2" in p.stdout
