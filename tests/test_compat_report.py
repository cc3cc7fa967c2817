"""The --user-facing view of python -m ember.compat.report: which names count, and the tested-by rule."""
import subprocess
import sys
from pathlib import Path

import pytest

from ember.compat import report

torch = pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[1]


def test_user_facing_filter_keeps_api_and_drops_internals():
    names = set(report.user_facing_names(torch, "torch"))
    assert {"add", "matmul", "Tensor", "Generator", "no_grad", "save", "FloatTensor"} <= names
    for internal in ("cudnn_convolution", "parse_ir", "sparse_coo_tensor", "sym_int", "alias_copy", "float32",
                     "pi", "fft", "_C", "quantize_per_tensor"):
        assert internal not in names, internal
    f = set(report.user_facing_names(torch, "torch.nn.functional"))
    assert {"relu", "conv2d", "cross_entropy"} <= f and "Tensor" not in f and "handle_torch_function" not in f
    t = set(report.user_facing_names(torch, "torch.Tensor"))
    assert {"add", "backward", "shape", "grad"} <= t and "to_sparse" not in t
    data = set(report.user_facing_names(torch, "torch.utils.data"))
    assert "DataLoader" in data and "IterDataPipe" not in data


def test_tested_names_rule():
    texts = ["import torch\nx = torch.nn.functional.relu(a)\ny = F.gelu(b)\nz = t.sum(1).mean()\n"
             "from torch.nn import (Linear,\n ReLU)\n",
             "for name in ['abs', 'exp']:\n    getattr(torch, name)\n"]
    assert report.tested_names("torch.nn.functional", ["relu", "gelu", "silu"], texts) == {"relu", "gelu"}
    assert report.tested_names("torch.nn", ["Linear", "ReLU", "GELU"], texts) == {"Linear", "ReLU"}
    assert report.tested_names("torch.Tensor", ["sum", "mean", "std"], texts) == {"sum", "mean"}
    assert report.tested_names("torch", ["abs", "exp", "log"], texts) == {"abs", "exp"}


def test_oracle_sources_are_torch_tests():
    texts = report.oracle_sources(REPO)
    assert any("test_user_facing_filter_keeps_api_and_drops_internals" in t for t in texts)


def test_cli_user_facing_summary():
    import os
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, "-m", "ember.compat.report", "--user-facing", "--summary"], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    for ns in ("torch.nn.functional", "torch.utils.data", "torch.Tensor", "torch.optim.lr_scheduler"):
        assert ns in p.stdout
