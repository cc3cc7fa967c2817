"""The launcher: ``ember distributed-run --nproc-per-node N script.py args`` (``torchrun``'s job).

It starts N copies of the script under the ``mpiexec`` that sits beside the running Python (the one
the ``mpich`` wheel installs; a cluster's own ``mpiexec`` from ``PATH`` otherwise). Each copy first sets
the environment torchrun sets -- ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT`` -- from what MPI says, then runs the script as ``ember run`` would
(``import torch`` gives Ember), so PyTorch DDP programs run unchanged. A copy that fails aborts the job.

Across machines use the site's MPI directly: ``mpiexec -n 8 -ppn 4 -hosts node1,node2 python train.py``
or ``srun``; :func:`launcher_env` reads the rank variables of MPICH, Open MPI and Slurm.
"""
import argparse
import os
import shutil
import subprocess
import sys

__all__ = ["main", "launcher_env", "find_mpiexec"]

_RANK_VARS = [  # (rank, size, local rank, local size) as MPICH/hydra, Open MPI and Slurm name them
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"),
]


def launcher_env(environ=None):
    """Set torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE ...) from an MPI launcher's, where unset.

    Returns the ``(rank, world_size)`` found, or ``None`` when no launcher variables are present."""
    env = os.environ if environ is None else environ
    for rank, size, local, local_size in _RANK_VARS:
        if rank in env and size in env:
            values = {"RANK": env[rank], "WORLD_SIZE": env[size], "LOCAL_RANK": env.get(local, env[rank]),
                      "LOCAL_WORLD_SIZE": env.get(local_size, env[size]).split("(")[0],
                      "GROUP_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
            for k, v in values.items():
                env.setdefault(k, v)
            return int(env["RANK"]), int(env["WORLD_SIZE"])
    return None


def find_mpiexec():
    """The ``mpiexec`` of the MPI that mpi4py uses: beside this Python first, then on ``PATH``."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(here):
        return here
    found = shutil.which("mpiexec")
    if found is None:
        raise RuntimeError('no mpiexec found: pip install "ember[distributed]" (mpi4py and the MPICH wheel)')
    return found


def _parser():
    p = argparse.ArgumentParser(
        prog="ember distributed-run",  # also: python -m ember.distributed.run
        description="Run a (PyTorch or Ember) training script on N processes, as torchrun does, on MPI.",
        epilog="example: ember distributed-run --nproc-per-node 2 train.py --epochs 3\n"
               "many machines: mpiexec -n 8 -ppn 4 -hosts node1,node2 python train.py (or the site's srun)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="processes to start on this machine (a number, or 'cpu'/'auto' for one per core; default 1)")
    p.add_argument("--nnodes", default="1", help="only 1 here: start multi-node jobs with the site's mpiexec/srun")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1", help="accepted; MPI finds its peers")
    p.add_argument("--master-port", "--master_port", default="29500", help="accepted; MPI finds its peers")
    p.add_argument("--standalone", action="store_true", help="accepted (a single-machine job)")
    p.add_argument("--rdzv-backend", "--rdzv_backend", "--rdzv-endpoint", "--rdzv_endpoint", "--rdzv-id",
                   "--rdzv_id", "--max-restarts", "--max_restarts", dest="ignored", action="append",
                   help=argparse.SUPPRESS)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("script", help="the program to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return p


def _nproc(value):
    if value in ("cpu", "auto"):
        return os.cpu_count() or 1
    try:
        n = int(value)
    except ValueError:
        raise SystemExit(f"ember distributed-run: --nproc-per-node must be a number, 'cpu' or 'auto', got {value!r}")
    if n < 1:
        raise SystemExit(f"ember distributed-run: --nproc-per-node must be at least 1, got {n}")
    return n


def _worker(script, args):
    """One process of the job: torchrun's environment, then the script; a failure aborts every rank."""
    if launcher_env() is None:
        os.environ.setdefault("RANK", "0")
        os.environ.setdefault("WORLD_SIZE", "1")
        os.environ.setdefault("LOCAL_RANK", "0")
    os.environ.setdefault("TORCHELASTIC_RUN_ID", "ember")
    from ..compat.runner import run_script
    code = run_script(script, args)
    if code != 0 and int(os.environ.get("WORLD_SIZE", 1)) > 1:
        sys.stdout.flush()
        sys.stderr.write(f"[rank {os.environ['RANK']}] exited with code {code}: aborting the job\n")
        sys.stderr.flush()
        import time
        time.sleep(0.5)  # let the launcher forward this rank's output before MPI_Abort ends the job
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(code)
    return code


def main(argv=None):
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        return _worker(args.script, args.args)
    if args.nnodes not in ("1", "1:1"):
        print("ember distributed-run: one machine only; start multi-node jobs with the site's MPI, e.g. "
              "mpiexec -n 8 -ppn 4 -hosts node1,node2 python train.py", file=sys.stderr)
        return 2
    if not os.path.exists(args.script):
        print(f"ember distributed-run: can't open file {args.script!r}: No such file or directory", file=sys.stderr)
        return 2
    try:
        mpiexec = find_mpiexec()
    except RuntimeError as e:
        print(f"ember distributed-run: {e}", file=sys.stderr)
        return 2
    env = dict(os.environ, MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port))
    cmd = [mpiexec, "-n", str(_nproc(args.nproc_per_node)), sys.executable, "-m", "ember.distributed.run",
           "--worker", args.script, *args.args]
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
