"""`ember train` and `ember run` as a user meets them: outputs, determinism, resume (also after Ctrl-C),
the run folder, one-line errors, help, the README's commands."""
import csv
import gzip
import json
import os
import re
import shlex
import signal
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import ember
from ember.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, cwd=None, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "ember", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _text_file(tmp_path, n=300):
    words = np.array("hello ember torch the quick brown fox jumps over lazy dog .\n".split(" "))
    p = tmp_path / "input.txt"
    p.write_text(" ".join(np.random.default_rng(0).choice(words, 8 * n)))
    return p


TEXT_FAST = ["--steps-per-epoch", "3", "--block-size", "16", "--batch-size", "8"]


# ------------------------------------------------------------------------------------ the main job
def test_default_train_reaches_95_percent_with_plain_lines(tmp_path):
    """The README's main command: >= 95% test accuracy, every output file, and -- output not a terminal --
    plain lines, no carriage-return progress bars."""
    r = _run("train", "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "run"
    for name in ("model.safetensors", "checkpoint.safetensors", "config.json", "metrics.csv", "metrics.json",
                 "training.png"):
        assert (out / name).exists(), name
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["train_loss"]) == len(m["val_accuracy"]) == len(m["val_loss"]) == 20
    assert m["test_accuracy"] >= 0.95
    assert m["train_loss"][-1] < m["train_loss"][0]
    assert 1 <= m["best_epoch"] <= 20 and m["val_loss"][m["best_epoch"] - 1] == min(m["val_loss"])
    assert "\r" not in r.stdout + r.stderr
    assert "epoch  20/20" in r.stdout and "test accuracy" in r.stdout and "estimated time" in r.stdout
    rows = _csv(out / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, 21))
    assert set(rows[0]) == {"epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds"}
    assert float(rows[0]["lr"]) == 0.001
    cfg = json.loads((out / "config.json").read_text())
    assert None not in cfg.values()
    assert cfg["model"] == "mlp" and cfg["epochs"] == 20 and cfg["lr"] == 0.001 and cfg["batch_size"] == 64
    assert cfg["data"] == ["digits"] and cfg["optimizer"] == "adam" and cfg["seed"] == 0
    assert cfg["ember_version"] == ember.__version__ and cfg["command"].startswith("ember train --out")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", cfg["started"])


def test_same_seed_same_numbers_and_resume_matches(tmp_path):
    a = main(["train", "--epochs", "2", "--out", str(tmp_path / "a"), "--quiet"])
    b = main(["train", "--epochs", "1", "--out", str(tmp_path / "b"), "--quiet"])
    c = main(["train", "--epochs", "2", "--out", str(tmp_path / "b"), "--quiet",
              "--resume", str(tmp_path / "b" / "checkpoint.safetensors")])
    assert a == b == c == 0
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    for k in ("train_loss", "val_loss", "val_accuracy", "test_accuracy", "best_epoch"):
        assert ma[k] == mb[k], k
    wa = ember.load(str(tmp_path / "a" / "model.safetensors"))
    wb = ember.load(str(tmp_path / "b" / "model.safetensors"))
    assert all(ember.equal(wa[k], wb[k]) for k in wa)
    assert len(_csv(tmp_path / "b" / "metrics.csv")) == 2


def test_resume_needs_no_flags(tmp_path, capsys):
    """The checkpoint records the settings: --resume DIR alone continues with them."""
    args = ["--model", "cnn", "--lr", "0.002", "--batch-size", "128", "--seed", "3", "--optimizer", "adamw"]
    assert main(["train", *args, "--epochs", "2", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["train", *args, "--epochs", "1", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert main(["train", "--resume", str(tmp_path / "b"), "--epochs", "2", "--quiet"]) == 0
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    assert (cfg["model"], cfg["lr"], cfg["batch_size"], cfg["seed"], cfg["optimizer"]) == ("cnn", 0.002, 128, 3, "adamw")
    assert cfg["resumed_at_epoch"] == 1
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert ma["train_loss"] == mb["train_loss"] and ma["test_accuracy"] == mb["test_accuracy"]


def test_model_file_is_the_best_plain_state_dict(tmp_path):
    assert main(["train", "--epochs", "2", "--out", str(tmp_path), "--quiet"]) == 0
    from safetensors.numpy import load_file
    flat = load_file(str(tmp_path / "model.safetensors"))
    assert sorted(flat) == sorted(["linear_relu_stack.0.weight", "linear_relu_stack.0.bias",
                                   "linear_relu_stack.2.weight", "linear_relu_stack.2.bias",
                                   "linear_relu_stack.4.weight", "linear_relu_stack.4.bias"])
    assert flat["linear_relu_stack.0.weight"].shape == (512, 64)
    ck = ember.load(str(tmp_path / "checkpoint.safetensors"))
    best = ck["best"]["epoch"]
    assert ck["history"]["val_loss"][best - 1] == min(ck["history"]["val_loss"])
    for k, v in ck["best_model"].items():
        np.testing.assert_array_equal(v.numpy(), flat[k])


def test_early_stopping(tmp_path, capsys):
    """With a high learning rate the validation loss soon stops improving; patience 1 stops 1 epoch later."""
    assert main(["train", "--early-stopping", "1", "--lr", "0.01", "--batch-size", "256", "--out", str(tmp_path),
                 "--quiet"]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["stopped_early"] and len(m["val_loss"]) == m["best_epoch"] + 1 < 20
    assert min(m["val_loss"]) == m["val_loss"][m["best_epoch"] - 1] < m["val_loss"][-1]
    assert len(_csv(tmp_path / "metrics.csv")) == len(m["val_loss"])
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path), "--quiet"]) == 0  # patience spent: nothing to train
    assert "nothing to train" in capsys.readouterr().out


def test_cnn_and_transformer_models_train(tmp_path):
    for model in ("cnn", "transformer"):
        assert main(["train", "--model", model, "--epochs", "1", "--out", str(tmp_path / model), "--quiet"]) == 0
        m = json.loads((tmp_path / model / "metrics.json").read_text())
        assert 0.0 <= m["test_accuracy"] <= 1.0 and m["train_loss"][0] > 0


# ------------------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_mid_epoch_then_resume_is_bit_exact(tmp_path, monkeypatch, capsys):
    """SIGINT in the middle of an epoch: the batch finishes, a checkpoint is saved, the resume command is
    printed (exit 130); resuming gives exactly the numbers of an uninterrupted run."""
    assert main(["train", "--epochs", "2", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    calls = {"n": 0}
    real_step = ember.optim.Adam.step

    def step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 27:  # epoch 2 (20 batches an epoch), batch 7
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(self, *a, **k)

    monkeypatch.setattr(ember.optim.Adam, "step", step)
    capsys.readouterr()
    assert main(["train", "--epochs", "2", "--out", str(tmp_path / "b"), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "interrupted at epoch 2, batch 7 of 20" in err
    assert f"resume with: ember train --resume {tmp_path / 'b'}" in err
    assert len(_csv(tmp_path / "b" / "metrics.csv")) == 1  # the history so far is on disk
    monkeypatch.setattr(ember.optim.Adam, "step", real_step)
    assert main(["train", "--resume", str(tmp_path / "b"), "--quiet"]) == 0
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    for k in ("train_loss", "val_loss", "val_accuracy", "test_accuracy"):
        assert ma[k] == mb[k], k


def test_ctrl_c_real_signal_subprocess(tmp_path):
    """A real Ctrl-C (SIGINT) to `ember train`: exit 130, a resumable checkpoint, the resume command."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "ember", "train", "--epochs", "500", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in p.stdout:  # wait for the first finished epoch
            if line.startswith("epoch"):
                break
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "resume with: ember train --resume" in stderr
    ck = ember.load(str(out / "checkpoint.safetensors"))
    done = int(ck["epoch"])
    assert main(["train", "--resume", str(out), "--epochs", str(done + 1), "--quiet"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["train_loss"]) == done + 1


# ---------------------------------------------------------------------------------- run folder
def test_out_refuses_to_overwrite_a_run(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "--epochs", "1", "--out", out, "--quiet"]) == 0
    before = os.path.getmtime(os.path.join(out, "model.safetensors"))
    capsys.readouterr()
    assert main(["train", "--epochs", "1", "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert os.path.getmtime(os.path.join(out, "model.safetensors")) == before
    (tmp_path / "run" / "notes.txt").write_text("mine")
    assert main(["train", "--epochs", "2", "--out", out, "--quiet", "--overwrite"]) == 0
    assert len(_csv(os.path.join(out, "metrics.csv"))) == 2
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"  # only the run's own files are replaced


def test_resume_at_target_trains_nothing_and_says_so(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", "--epochs", "1", "--out", out, "--quiet"]) == 0
    stamps = {n: os.path.getmtime(os.path.join(out, n)) for n in os.listdir(out)}
    capsys.readouterr()
    assert main(["train", "--resume", out, "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "nothing to train" in printed and "No files were written" in printed and "wrote" not in printed
    assert {n: os.path.getmtime(os.path.join(out, n)) for n in os.listdir(out)} == stamps


def test_resume_into_another_folder_copies_the_run(tmp_path):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["train", "--resume", str(tmp_path / "a"), "--epochs", "2", "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    assert len(_csv(tmp_path / "b" / "metrics.csv")) == 2 and len(_csv(tmp_path / "a" / "metrics.csv")) == 1
    assert (tmp_path / "b" / "model.safetensors").exists()


def test_plot_has_both_losses_integer_ticks_and_title(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ember.cli.plot import plot_history
    seen = {}
    real_close = plt.close

    def close(fig):
        seen["fig"] = fig
        real_close(fig)

    monkeypatch.setattr(plt, "close", close)
    hist = {"train_loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.8], "val_accuracy": [0.5, 0.8, 0.85]}
    plot_history(hist, str(tmp_path / "p.png"), "mlp on digits: test accuracy 85.0%", best_epoch=2)
    fig = seen["fig"]
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()[:2]] == ["train", "validation"]
    assert list(loss_ax.get_lines()[1].get_ydata()) == [1.1, 0.7, 0.8]
    assert all(float(t).is_integer() for t in loss_ax.get_xticks())
    assert fig._suptitle.get_text() == "mlp on digits: test accuracy 85.0%"
    assert (tmp_path / "p.png").stat().st_size > 1000


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("args, needle", [
    (["train", "--model", "resnet"], "invalid choice"),
    (["train", "--data", "fashion-mnist", "/no/such/dir"], "no such folder"),
    (["train", "--data", "text", "/no/such/file.txt"], "no such file"),
    (["train", "--data", "text"], "--data text needs a text file"),
    (["train", "--data", "digits", "x"], "takes no path"),
    (["train", "--data", "imagenet"], "unknown --data 'imagenet'"),
    (["train", "--resume", "/no/such/ckpt.safetensors"], "no such checkpoint"),
    (["train", "--epochs", "zero"], "invalid int value"),
    (["train", "--epochs", "0"], "--epochs must be a positive whole number"),
    (["train", "--lr", "-1"], "--lr must be a positive number, got -1.0"),
    (["train", "--lr", "nan"], "--lr must be a positive number"),
    (["train", "--early-stopping", "-2"], "--early-stopping must be 0"),
    (["train", "--device", "meta"], "--device meta: ember trains on cpu or cuda"),
    (["train", "--device", "tpu"], "--device tpu"),
    (["run"], "required: script"),
])
def test_bad_options_one_line_exit_2(args, needle, capsys):
    assert main(args) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert lines[0].startswith("ember: error: ")


def test_bad_option_in_a_subprocess_has_no_traceback():
    r = _run("train", "--lr", "-1")
    assert r.returncode == 2 and r.stderr.strip() == "ember: error: --lr must be a positive number, got -1.0"


def test_out_that_is_a_file_or_unwritable(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["train", "--out", str(f)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["train", "--out", str(f / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ember: error: cannot write the run folder --out {f / 'sub'}:") and "\n" not in err
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        assert main(["train", "--out", str(ro / "run")]) == 2
        assert "cannot write the run folder" in capsys.readouterr().err


def test_text_data_picks_the_transformer_and_refuses_other_models(tmp_path, capsys):
    text = _text_file(tmp_path)
    assert main(["train", "--data", "text", str(text), "--model", "mlp"]) == 2
    err = capsys.readouterr().err
    assert "--data text trains a character-level Transformer: use --model transformer" in err
    assert main(["train", "--data", "text", str(text), "--epochs", "2", *TEXT_FAST, "--out",
                 str(tmp_path / "run"), "--quiet"]) == 0  # no --model needed
    run = tmp_path / "run"
    m = json.loads((run / "metrics.json").read_text())
    assert isinstance(m["sample"], str) and len(m["train_loss"]) == 2
    assert m["test_loss"] != m["val_loss"][-1]  # the test part is not the validation part
    samples = (run / "samples.txt").read_text()
    assert samples.count("--- epoch ") == 2 and "--- epoch 2 ---" in samples
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"] == "transformer" and cfg["block_size"] == 16 and cfg["steps_per_epoch"] == 3
    assert cfg["data"] == ["text", str(text)]


def test_text_splits_are_disjoint(tmp_path):
    from ember.datasets import TextFile
    p = tmp_path / "t.txt"
    p.write_text("".join(chr(ord("a") + i % 26) for i in range(1000)))
    parts = [TextFile(str(p), 8, split=s, val_fraction=0.1, test_fraction=0.1) for s in ("train", "val", "test")]
    assert [len(d.data) for d in parts] == [800, 100, 100]
    assert parts[1].decode(parts[1].data[:5]) == "".join(chr(ord("a") + i % 26) for i in range(800, 805))
    assert parts[2].decode(parts[2].data[:3]) == "".join(chr(ord("a") + i % 26) for i in range(900, 903))


def test_resume_into_a_different_model_names_the_keys(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "a"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "a"), "--model", "cnn", "--epochs", "2",
                 "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "its weights do not fit --model cnn (the checkpoint holds a mlp model" in err
    assert "missing keys: features.0.weight" in err and "unexpected keys: linear_relu_stack.0.weight" in err
    assert "Traceback" not in err


def test_resume_shape_clash_is_listed(tmp_path, capsys):
    from ember.cli.train import _check_fits
    from ember.cli.parsing import UsageError
    own = {"w": ember.zeros(3, 4), "b": ember.zeros(3)}
    with pytest.raises(UsageError, match=r"shape clashes: w: checkpoint \(5, 4\), model \(3, 4\)"):
        _check_fits("mlp", own, {"w": ember.zeros(5, 4), "b": ember.zeros(3)}, "ck", {})


def test_diverging_run_stops_with_advice_and_no_numpy_warnings(tmp_path, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["train", "--lr", "1e8", "--optimizer", "sgd", "--epochs", "2", "--out", str(tmp_path),
                     "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "training diverged: the loss became nan" in err and "try a smaller --lr than 1e+08" in err
    ours = [w for w in caught if issubclass(w.category, RuntimeWarning) and "ops/nn.py" not in w.filename]
    assert ours == [], [(w.filename, w.lineno, str(w.message)) for w in ours]


# ---------------------------------------------------------------------------------- mnist files
def _write_idx(path, array, gz):
    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = head + array.astype(np.uint8).tobytes()
    if gz:
        path = path + ".gz"
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)


def _fake_mnist(folder, gz, n=48):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, m in (("train", n), ("t10k", n // 4)):
        _write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), rng.integers(0, 256, (m, 28, 28)), gz)
        _write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), rng.integers(0, 10, (m,)), gz)


@pytest.mark.parametrize("kind, gz", [("mnist", False), ("fashion-mnist", True)])
def test_mnist_and_fashion_mnist_from_idx_files(tmp_path, kind, gz):
    _fake_mnist(str(tmp_path / "data"), gz)
    assert main(["train", "--data", kind, str(tmp_path / "data"), "--epochs", "1", "--batch-size", "16",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["train_examples"] == 44 and cfg["val_examples"] == 4 and cfg["test_examples"] == 12


def test_mnist_missing_file_is_named_with_where_to_get_it(tmp_path, capsys):
    _fake_mnist(str(tmp_path), gz=True)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    assert main(["train", "--data", "mnist", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "needs t10k-labels-idx1-ubyte[.gz] in" in err and "t10k-images" not in err
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in err
    assert main(["train", "--data", "fashion-mnist", str(tmp_path / "empty")]) == 2
    assert "github.com/zalandoresearch/fashion-mnist" in capsys.readouterr().err


# ------------------------------------------------------------------------- help, version, run
def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ember {ember.__version__}"


def test_train_help_lists_defaults_and_examples_without_jargon(capsys):
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for needle in ("Default: mlp", "Default: digits", "Default: 20 for digits", "Default: 64",
                   "Default: 0.001", "Default: adam", "Default: 0", "Default: cpu", "runs/<date>-<time>",
                   "--early-stopping PATIENCE", "--quiet", "--overwrite", "examples:", "model.safetensors"):
        assert needle in text, needle
    assert "lesson" not in text.lower()


def _fast(args, out, prev):
    """A documented command made fast: 1 epoch (2 when resuming ``prev``, a 1-epoch run), tiny text settings."""
    args = list(args)
    if "--epochs" in args:
        i = args.index("--epochs")
        del args[i:i + 2]
    if "--resume" in args:
        main(["train", "--epochs", "1", "--out", prev, "--quiet"])
        args[args.index("--resume") + 1] = prev
        args += ["--epochs", "2"]
    else:
        if "--out" in args:
            i = args.index("--out")
            del args[i:i + 2]
        args += ["--epochs", "1", "--out", out]
    return args + (TEXT_FAST if "text" in args else []) + ["--quiet"]


def test_help_examples_run(tmp_path, monkeypatch):
    """Every example in `ember train --help` works (made fast: 1 epoch, tiny files)."""
    from ember.cli.train import EPILOG
    monkeypatch.chdir(tmp_path)
    _fake_mnist(str(tmp_path / "fashion"), gz=True)
    _text_file(tmp_path)
    examples = [line.strip() for line in EPILOG.splitlines() if line.strip().startswith("ember train")]
    assert len(examples) >= 3
    for i, line in enumerate(examples):
        args = shlex.split(line.replace("~/data/fashion-mnist", str(tmp_path / "fashion")))[1:]
        assert main(_fast(args, f"run{i}", f"prev{i}")) == 0, line


def test_run_help_and_missing_script(capsys, tmp_path):
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "ember run [-h] script" in out and "import torch" in out and "examples:" in out
    r = _run("run", "--help")
    assert r.returncode == 0 and "can't open file" not in r.stderr
    script = tmp_path / "s.py"
    script.write_text("import sys, torch\nprint(torch.__name__, sys.argv[1:])\n")
    r = _run("run", str(script), "--help")  # after the script, --help is the script's
    assert r.returncode == 0 and r.stdout.strip() == "torch ['--help']"  # the hook's torch is ember


def test_readme_commands_and_synopsis(tmp_path, capsys):
    """The README's `ember train` synopsis names only real options (--quiet included); its commands run."""
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text.split("## `ember train`", 1)[1].split("\n## ", 1)[0]
    synopsis = re.search(r"```\n(ember train.*?)```", section, re.S).group(1)
    assert main(["train", "--help"]) == 0
    help_text = capsys.readouterr().out
    options = set(re.findall(r"--[a-z-]+", synopsis))
    assert "--quiet" in options and "--early-stopping" in options
    assert options <= set(re.findall(r"--[a-z-]+", help_text))
    commands = re.findall(r"^(ember train[^\n#]*)", section, re.M)
    commands = [c.strip() for c in commands if "[" not in c]
    assert commands
    _text_file(tmp_path)
    _fake_mnist(str(tmp_path / "fashion"), gz=True)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for i, c in enumerate(commands):
            args = shlex.split(c.replace("~/data/fashion-mnist", str(tmp_path / "fashion")))[1:]
            assert main(_fast(args, f"readme{i}", f"prev{i}")) == 0, c
    finally:
        os.chdir(cwd)


# ---------------------------------------------------------------------------------- TensorBoard
def test_tensorboard_logs_readable_by_tensorboard(tmp_path):
    pytest.importorskip("tensorboardX")
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--batch-size", "256", "--tensorboard", "--out", str(out), "--quiet"]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0  # keeps logging
    m = json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "config.json").read_text())["tensorboard"] is True
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    ea = ea_mod.EventAccumulator(str(out / "tensorboard"))
    ea.Reload()
    val = ea.Scalars("loss/val")
    assert [e.step for e in val] == [1, 2]
    np.testing.assert_allclose([e.value for e in val], m["val_loss"], rtol=1e-6)
    assert {"loss/train", "accuracy/val", "lr", "accuracy/test"} <= set(ea.Tags()["scalars"])


def test_tensorboard_without_the_extra_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ember.utils.tensorboard", None)
    assert main(["train", "--tensorboard", "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip() == \
        'ember: error: --tensorboard needs tensorboardX: pip install "ember[tensorboard]"'
    assert not (tmp_path / "run").exists()
