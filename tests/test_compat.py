"""ember.compat: the torch import hook, ``ember run`` and the coverage report.

Also the shared helpers of tests/test_lessons.py and tests/test_examples.py: run programs under
``python -m ember run`` (in parallel) and under real PyTorch (all in one process), and compare what they print.
"""
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import ember
import ember.compat
from ember.compat import MissingTorchAPI, MissingTorchModule, TorchModule

pytestmark = pytest.mark.filterwarnings("ignore:PyTorch was imported before ember.compat.install")

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


# ---------------------------------------------------------------------------------------------------
# helpers shared with test_lessons.py / test_examples.py
def ember_run(script, *args, timeout=600):
    """``python -m ember run script args...`` from the repo root: (returncode, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "ember", "run", str(script), *args], cwd=REPO, env=ENV,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# Runs several scripts under real PyTorch in ONE process (importing torch costs seconds), each as __main__
# with its own stdout; torchvision is stubbed (empty datasets/transforms) when it is not installed.
_TORCH_DRIVER = textwrap.dedent(r'''
    import contextlib, io, json, os, runpy, sys, traceback, types
    try:
        import torch
    except ImportError:
        print(json.dumps(None)); sys.exit(0)
    try:
        import torchvision
    except ImportError:
        tv = types.ModuleType("torchvision")
        for sub in ("datasets", "transforms"):
            m = types.ModuleType("torchvision." + sub); setattr(tv, sub, m); sys.modules[m.__name__] = m
        sys.modules["torchvision"] = tv
    results, argv0, path0 = {}, sys.argv, list(sys.path)
    for script in json.loads(sys.stdin.read()):
        out, err = io.StringIO(), io.StringIO()
        sys.argv = [script]
        sys.path[:] = [os.path.dirname(os.path.abspath(script))] + path0
        rc = 0
        torch.manual_seed(67280421310721)  # torch's documented default seed, Ember's at start-up (each `ember run`)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(script, run_name="__main__")
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                traceback.print_exc()
                rc = 1
        results[script] = [rc, out.getvalue(), err.getvalue()]
    sys.stdout.write(json.dumps(results))
''')


def run_all(scripts, with_torch=True, workers=2):
    """Run ``scripts`` under ``ember run`` (a few at a time) and, if PyTorch is installed, under real
    PyTorch (one process, started first so both overlap). Returns ``{name: {"ember": (rc, out, err),
    "torch": (rc, out, err) or None}}`` keyed by file name."""
    scripts = [str(s) for s in scripts]
    torch_proc = None
    if with_torch:
        torch_proc = subprocess.Popen([sys.executable, "-c", _TORCH_DRIVER], cwd=REPO, env=ENV, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        torch_proc.stdin.write(json.dumps(scripts))
        torch_proc.stdin.close()
    with ThreadPoolExecutor(workers) as pool:
        ember_results = dict(zip(scripts, pool.map(ember_run, scripts)))
    torch_results = None
    if torch_proc is not None:
        out = torch_proc.stdout.read()
        torch_proc.wait(timeout=600)
        torch_results = json.loads(out) if out.strip() else None
    return {Path(s).name: {"ember": ember_results[s],
                           "torch": None if torch_results is None else tuple(torch_results[s])} for s in scripts}


NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?\b(?:inf|nan)\b")


def split_numbers(text):
    """``text`` as (the words between numbers, whitespace-collapsed; the numbers as floats)."""
    numbers = [float(m.group()) for m in NUMBER.finditer(text)]
    words = [" ".join(w.split()) for w in NUMBER.split(text)]
    return words, numbers


# reprs that changed between PyTorch 2.x releases (the oracle may be older than 2.13): compared without them
VERSION_NEUTRAL = [(re.compile(r"affine=True, bias=True, track_running_stats"), "affine=True, track_running_stats")]


def version_neutral(text):
    for pattern, repl in VERSION_NEUTRAL:
        text = pattern.sub(repl, text)
    return text


def assert_same_output(ours, theirs, rtol=1e-4, atol=1.5e-4, what=""):
    """Two program outputs say the same thing: identical text between the numbers (up to whitespace) and
    numbers equal within tolerance (printed values are rounded, so atol covers one unit in the 4th decimal)."""
    import math
    w1, n1 = split_numbers(version_neutral(ours))
    w2, n2 = split_numbers(version_neutral(theirs))
    for i, (a, b) in enumerate(zip(w1, w2)):
        assert a == b, f"{what}: text differs at piece {i}: ember {a!r} vs torch {b!r}"
    assert len(w1) == len(w2), f"{what}: ember printed {len(n1)} numbers, torch {len(n2)}"
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(n1, n2))
           if not (a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= atol + rtol * abs(b))]
    assert not bad, f"{what}: numbers differ (index, ember, torch): {bad[:10]}"


FLOATISH = re.compile(r"\d\.|\d[eE][-+]\d|\b(?:inf|nan)\b")


def fixed_lines(text, ignore=()):
    """The lines of ``text`` that do not depend on random values: no floats in them and not matching any of
    the ``ignore`` patterns (e.g. random integer labels)."""
    lines = [line.rstrip() for line in version_neutral(text).splitlines()]
    return [line for line in lines
            if line.strip() and not FLOATISH.search(line) and not any(re.search(p, line) for p in ignore)]


# ---------------------------------------------------------------------------------------------------
@pytest.fixture
def hook():
    """The import hook installed for one test (real torch modules, if loaded, are set aside and restored)."""
    was = ember.compat.is_installed()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ember.compat.install()
    import torch
    yield torch
    if not was:
        ember.compat.uninstall()


def test_import_torch_gives_ember(hook):
    torch = hook
    import torch.nn as nn
    import torch.nn.functional as F
    from torch import optim
    from torch.utils.data import DataLoader, TensorDataset
    assert isinstance(torch, TorchModule) and torch.__name__ == "torch"
    assert torch.nn.Linear is ember.nn.Linear and nn.Module is ember.nn.Module
    assert F.relu is ember.nn.functional.relu and F.__name__ == "torch.nn.functional"
    assert optim.SGD is ember.optim.SGD and DataLoader is ember.utils.data.DataLoader
    assert TensorDataset is ember.utils.data.TensorDataset
    assert torch.Tensor is ember.Tensor and isinstance(torch.zeros(2), torch.Tensor)
    assert torch.float32 is ember.float32
    import torch.optim.lr_scheduler as sched
    assert sched.StepLR is ember.optim.lr_scheduler.StepLR
    assert sys.modules["torch.nn"] is torch.nn  # one module object per name
    assert torch.cuda.is_available() == ember.cuda.is_available()


def test_from_imports_and_star(hook):
    ns = {}
    exec("from torch.nn import *\nfrom torch.nn.modules.loss import _Loss\nfrom torch.autograd import Function",
         ns)
    assert ns["Linear"] is ember.nn.Linear and ns["_Loss"] is ember.nn.loss._Loss
    assert ns["Function"] is ember.autograd.Function
    assert "Linear" in dir(hook.nn)


def test_torchvision_maps_to_ember_datasets_and_transforms(hook):
    from torchvision import datasets, transforms
    assert transforms.Compose is ember.transforms.Compose
    assert datasets.MNIST is ember.datasets.MNIST
    with pytest.raises(MissingTorchModule, match=r"^ember does not implement torchvision\.models\.resnet18 yet$"):
        exec("from torchvision.models import resnet18", {})


def test_missing_api_names_the_torch_path(hook):
    torch = hook
    with pytest.raises(MissingTorchAPI, match=r"^ember does not implement torch\.nested\.nested_tensor yet$"):
        torch.nested.nested_tensor([torch.ones(4)])
    with pytest.raises(AttributeError, match=r"torch\.nn\.functional\.no_such_function"):
        torch.nn.functional.no_such_function
    with pytest.raises(MissingTorchModule, match=r"^ember does not implement torch\.nested\.nested_tensor yet$"):
        exec("from torch.nested import nested_tensor", {})
    with pytest.raises(ImportError, match=r"^ember does not implement torch\.nn\.functional\.no_such yet$"):
        exec("from torch.nn.functional import no_such", {})
    with pytest.raises(ImportError, match=r"^ember does not implement torch\.no_such_module yet$"):
        exec("import torch.no_such_module", {})
    with pytest.raises(ModuleNotFoundError, match=r"^No module named 'torch\.nn\.Linear'$") as info:
        exec("import torch.nn.Linear", {})  # Ember has it -- as a class, not a module (as in PyTorch)
    assert not isinstance(info.value, MissingTorchModule)
    assert issubclass(MissingTorchAPI, AttributeError) and issubclass(MissingTorchModule, ImportError)
    assert not hasattr(torch, "no_such_thing") and not hasattr(torch.nn, "NoSuchLayer")
    assert hasattr(torch, "nested")  # torch has the module; Ember gives a stand-in that fails on use
    with pytest.raises(AttributeError) as info:  # dunders probed by tools stay plain AttributeErrors
        torch.__no_such_dunder__
    assert not isinstance(info.value, MissingTorchAPI)


def test_torch_nn_modules_paths_name_the_classes(hook):
    """``torch.nn.modules.<file>.<Class>`` paths (written out in allowlists for torch.load) give Ember's
    classes even where Ember keeps the class in another file; a missing name raises, never a module."""
    torch = hook
    assert torch.nn.modules.activation.MultiheadAttention is ember.nn.MultiheadAttention
    assert torch.nn.modules.linear.NonDynamicallyQuantizableLinear is ember.nn.linear.NonDynamicallyQuantizableLinear
    assert type(torch.nn.MultiheadAttention(4, 2).out_proj) is torch.nn.modules.linear.NonDynamicallyQuantizableLinear
    assert torch.nn.modules.rnn.GRU is ember.nn.GRU and torch.nn.modules.sparse.Embedding is ember.nn.Embedding
    with pytest.raises(MissingTorchAPI, match=r"^ember does not implement torch\.nn\.modules\.linear\.NoSuch yet$"):
        torch.nn.modules.linear.NoSuch


def test_missing_tensor_method_names_torch_tensor(hook):
    torch = hook
    x = torch.ones(3)
    missing = sorted(n for n in ember.compat._hook.TORCH_TENSOR_ATTRS if not hasattr(ember.Tensor, n))
    if not missing:
        pytest.skip("Ember implements every torch.Tensor attribute")
    name = missing[0]
    with pytest.raises(MissingTorchAPI, match=rf"^ember does not implement torch\.Tensor\.{name} yet$"):
        getattr(x, name)
    with pytest.raises(AttributeError, match=r"^'Tensor' object has no attribute 'not_a_torch_method'$") as info:
        x.not_a_torch_method
    assert not isinstance(info.value, MissingTorchAPI)
    assert not hasattr(x, name) and hasattr(x, "sum")
    p = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(MissingTorchAPI, match=name):
        getattr(p, name)


def test_tensor_patch_is_removed_by_uninstall(hook):
    assert "__getattr__" in ember.Tensor.__dict__
    ember.compat.uninstall()
    assert "__getattr__" not in ember.Tensor.__dict__
    ember.compat.install()


def test_flags_on_missing_modules_stick_and_sets_forward(hook):
    torch = hook
    import torch.backends.cudnn
    old = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = True
    assert torch.backends.cudnn.benchmark is True
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = old
    torch.nn.functional._compat_probe = 123  # setting an attribute reaches the Ember module
    try:
        assert ember.nn.functional._compat_probe == 123
    finally:
        del torch.nn.functional._compat_probe
    assert not hasattr(ember.nn.functional, "_compat_probe")


def test_uninstall_restores(hook):
    ember.compat.uninstall()
    assert not ember.compat.is_installed()
    assert not any(issubclass(type(m), TorchModule) for m in list(sys.modules.values()))
    ember.compat.install()
    assert ember.compat.is_installed()


def test_install_after_real_torch_warns_and_uninstall_brings_it_back():
    if ember.compat.is_installed():
        pytest.skip("hook installed by the session")
    real = pytest.importorskip("torch")
    with pytest.warns(RuntimeWarning, match="imported before"):
        ember.compat.install()
    try:
        import torch
        assert torch is not real and torch.nn.Linear is ember.nn.Linear
    finally:
        ember.compat.uninstall()
    import torch
    assert torch is real


# ---------------------------------------------------------------------------------------------------
# run_script
def _script(tmp_path, body, name="prog.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def test_run_script_in_process(tmp_path, capsys):
    from ember.compat.runner import run_script
    (tmp_path / "helper_mod_for_compat.py").write_text("VALUE = 7\n")
    p = _script(tmp_path, """
        import sys, torch
        import helper_mod_for_compat
        print(__name__, sys.argv[1:], helper_mod_for_compat.VALUE, torch.tensor([1, 2]).sum().item())
        print(__file__)
    """)
    argv, path = sys.argv, list(sys.path)
    assert run_script(str(p), ["a", "--b"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "__main__ ['a', '--b'] 7 3"
    assert out[1] == str(p)
    assert sys.argv is argv and sys.path == path
    sys.modules.pop("helper_mod_for_compat", None)


@pytest.mark.parametrize("body, code, err", [
    ("import sys; sys.exit(3)", 3, ""),
    ("import sys; sys.exit()", 0, ""),
    ("raise SystemExit('bad input')", 1, "bad input"),
    ("print('hi')", 0, ""),
])
def test_run_script_exit_codes(tmp_path, capsys, body, code, err):
    from ember.compat.runner import run_script
    assert run_script(str(_script(tmp_path, body)), []) == code
    assert capsys.readouterr().err.strip() == err


def test_run_script_traceback_starts_at_the_script(tmp_path, capsys):
    from ember.compat.runner import run_script
    p = _script(tmp_path, """
        def f():
            raise ValueError("boom")
        f()
    """)
    assert run_script(str(p), []) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'Traceback (most recent call last):\n  File "{p}", line 4, in <module>\n')
    assert err.rstrip().endswith("ValueError: boom")
    assert "runpy" not in err and "runner.py" not in err


def test_run_script_missing_api_traceback(tmp_path, capsys):
    from ember.compat.runner import run_script
    p = _script(tmp_path, """
        import torch
        x = torch.ones(8)
        y = torch.nested.nested_tensor([x])
    """)
    assert run_script(str(p), []) == 1
    err = capsys.readouterr().err
    assert err.rstrip().endswith("ember.compat.MissingTorchAPI: ember does not implement torch.nested.nested_tensor yet")
    assert "_hook.py" not in err and f'File "{p}", line 4' in err


def test_run_script_directory_with_main(tmp_path, capsys):
    from ember.compat.runner import run_script
    (tmp_path / "app").mkdir()
    main = _script(tmp_path, "import torch\nprint(torch.ones(2).sum().item())\nraise KeyError('k')\n",
                   "app/__main__.py")
    assert run_script(str(tmp_path / "app"), []) == 1
    captured = capsys.readouterr()
    assert captured.out == "2.0\n"
    assert captured.err.startswith(f'Traceback (most recent call last):\n  File "{main}", line 3, in <module>\n')


def test_run_script_missing_file(tmp_path, capsys):
    from ember.compat.runner import run_script
    assert run_script(str(tmp_path / "nope.py"), []) == 2
    assert "can't open file" in capsys.readouterr().err


def test_run_script_syntax_error(tmp_path, capsys):
    from ember.compat.runner import run_script
    assert run_script(str(_script(tmp_path, "x = (\n")), []) == 1
    err = capsys.readouterr().err
    assert "SyntaxError" in err and "Traceback" not in err


def test_ember_run_cli_subprocess(tmp_path):
    p = _script(tmp_path, """
        import sys
        import torch
        from torch import nn
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
        print(device, sys.argv[1:], __name__)
        print(nn.Linear(3, 2))
        if sys.argv[1:] == ['fail']:
            torch.nested.nested_tensor([torch.ones(2)])
        sys.exit(int(sys.argv[1]) if sys.argv[1:] and sys.argv[1].isdigit() else 0)
    """)
    rc, out, err = ember_run(p, "x", "--flag")
    assert rc == 0, err
    expected_device = "cuda" if ember.cuda.is_available() else "cpu"
    assert out.splitlines() == [f"{expected_device} ['x', '--flag'] __main__",
                                "Linear(in_features=3, out_features=2, bias=True)"]
    assert ember_run(p, "5")[0] == 5
    rc, out, err = ember_run(p, "fail")
    assert rc == 1
    assert err.splitlines()[-1] == "ember.compat.MissingTorchAPI: ember does not implement torch.nested.nested_tensor yet"
    assert err.startswith("Traceback (most recent call last):\n") and "runpy" not in err


def test_ember_run_needs_a_script():
    p = subprocess.run([sys.executable, "-m", "ember", "run"], cwd=REPO, env=ENV, capture_output=True, text=True)
    assert p.returncode == 2 and "required: script" in p.stderr


# ---------------------------------------------------------------------------------------------------
# the output comparison helpers themselves
def test_assert_same_output_tolerates_rounding_only():
    assert_same_output("loss 0.1235 tensor([ 1.0000, -0.])", "loss 0.1234 tensor([1.0000, 0.])")
    with pytest.raises(AssertionError):
        assert_same_output("loss 0.1250", "loss 0.1234")
    with pytest.raises(AssertionError):
        assert_same_output("acc 1", "loss 1")
    assert fixed_lines("a 1.5\nSize([3, 4])\nlabel 7", ignore=[r"^label"]) == ["Size([3, 4])"]


# ---------------------------------------------------------------------------------------------------
# the coverage report
def test_report_coverage_against_real_torch():
    torch = pytest.importorskip("torch")
    if ember.compat.is_installed():
        pytest.skip("hook installed by the session")
    from ember.compat.report import NAMESPACES, coverage, format_report
    cov = coverage(torch)
    assert list(cov) == NAMESPACES
    have, missing = cov["torch.nn"]
    assert {"Linear", "Module", "CrossEntropyLoss", "functional"} <= set(have)
    assert "Linear" not in missing
    assert "nested" in cov["torch"][1] and "tensor" in cov["torch"][0] and "fft" in cov["torch"][0]
    assert "backward" in cov["torch.Tensor"][0] and "relu" in cov["torch.nn.functional"][0]
    assert "DataLoader" in cov["torch.utils.data"][0] and "SGD" in cov["torch.optim"][0]
    text = format_report(cov, summary_only=True)
    for ns in NAMESPACES:
        assert re.search(rf"^{re.escape(ns)}\s+\d+\s+\d+\s+\d+\.\d%$", text, re.M), ns
    full = format_report(cov)
    assert "[x] Linear" in full and "[ ] nested" in full


def test_report_cli():
    pytest.importorskip("torch")
    p = subprocess.run([sys.executable, "-m", "ember.compat.report", "--summary"], cwd=REPO, env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^torch\.nn\.functional\s+\d+\s+\d+\s+\d+\.\d%$", p.stdout, re.M)
    assert p.stdout.splitlines()[-1].startswith("all")


def test_report_json_and_without_torch(tmp_path, monkeypatch, capsys):
    from ember.compat import report
    monkeypatch.setattr(report, "_import_real_torch", lambda: None)
    assert report.main(["--summary"]) == 2
    assert "needs PyTorch installed" in capsys.readouterr().err
    monkeypatch.undo()
    pytest.importorskip("torch")
    if ember.compat.is_installed():
        pytest.skip("hook installed by the session")
    out = tmp_path / "coverage.json"
    assert report.main(["--missing", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == set(report.NAMESPACES)
    nn = data["torch.nn"]
    assert "Linear" in nn["provided"] and 0 < nn["coverage"] <= 100
    printed = capsys.readouterr().out
    assert "[x]" not in printed.split("namespace")[0]  # --missing lists only what is missing
