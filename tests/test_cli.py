"""`ember train`: the main job — outputs, determinism, resume, and clean errors."""
import json
import os
import subprocess
import sys

import pytest

import ember
from ember.cli import main


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ember", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_default_train_reaches_95_percent(tmp_path):
    """The README's main command with its defaults: >= 95% test accuracy and every output file."""
    r = _run("train", "--out", str(tmp_path / "run"), "--quiet")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "run"
    for name in ("model.safetensors", "checkpoint.safetensors", "config.json", "metrics.json", "training.png"):
        assert (out / name).exists(), name
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["train_loss"]) == len(m["val_accuracy"]) == 20
    assert m["test_accuracy"] >= 0.95
    assert m["train_loss"][-1] < m["train_loss"][0]
    assert "test accuracy" in r.stdout and "epoch  20/20" in r.stdout


def test_same_seed_same_numbers_and_resume_matches(tmp_path):
    a = main(["train", "--epochs", "2", "--out", str(tmp_path / "a"), "--quiet"])
    b = main(["train", "--epochs", "1", "--out", str(tmp_path / "b"), "--quiet"])
    c = main(["train", "--epochs", "2", "--out", str(tmp_path / "b"), "--quiet",
              "--resume", str(tmp_path / "b" / "checkpoint.safetensors")])
    assert a == b == c == 0
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert ma["train_loss"] == mb["train_loss"]
    assert ma["val_accuracy"] == mb["val_accuracy"]
    assert ma["test_accuracy"] == mb["test_accuracy"]
    wa = ember.load(str(tmp_path / "a" / "model.safetensors"))
    wb = ember.load(str(tmp_path / "b" / "model.safetensors"))
    assert all(ember.equal(wa[k], wb[k]) for k in wa)


def test_model_file_is_a_plain_state_dict_torch_can_read(tmp_path):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    from safetensors.numpy import load_file
    flat = load_file(str(tmp_path / "model.safetensors"))
    assert sorted(flat) == sorted(["linear_relu_stack.0.weight", "linear_relu_stack.0.bias",
                                   "linear_relu_stack.2.weight", "linear_relu_stack.2.bias",
                                   "linear_relu_stack.4.weight", "linear_relu_stack.4.bias"])
    assert flat["linear_relu_stack.0.weight"].shape == (512, 64)


@pytest.mark.parametrize("args, needle", [
    (["train", "--model", "resnet"], "invalid choice"),
    (["train", "--data", "fashion-mnist", "/no/such/dir"], "no such folder"),
    (["train", "--data", "text", "/no/such/file.txt"], "no such file"),
    (["train", "--resume", "/no/such/ckpt.safetensors"], "no such checkpoint"),
    (["train", "--epochs", "zero"], "invalid int value"),
])
def test_bad_options_one_line_exit_2(args, needle):
    r = _run(*args)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_cnn_and_transformer_models_train(tmp_path):
    for model in ("cnn", "transformer"):
        assert main(["train", "--model", model, "--epochs", "1", "--out", str(tmp_path / model), "--quiet"]) == 0
        m = json.loads((tmp_path / model / "metrics.json").read_text())
        assert 0.0 <= m["test_accuracy"] <= 1.0 and m["train_loss"][0] > 0


def test_text_model_samples_a_line(tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("hello ember, hello torch.\n" * 200)
    assert main(["train", "--data", "text", str(text), "--model", "transformer", "--epochs", "1",
                 "--steps-per-epoch", "5", "--block-size", "16", "--batch-size", "8", "--out",
                 str(tmp_path / "run"), "--quiet"]) == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert isinstance(m["sample"], str) and m["train_loss"]
