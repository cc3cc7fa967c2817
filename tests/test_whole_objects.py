"""Whole-object checkpoints without pickle: torch.save(model) / torch.save({"model", "optimizer", ...}),
in Ember's format and from real PyTorch .pt files, against torch."""
import io
import pickle

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


class Tower(ember.nn.Module):
    """A user model at module level (importable: its class path is ``test_whole_objects:Tower``)."""

    def __init__(self):
        super().__init__()
        self.body = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 3))
        self.head = self.body[2]            # the same submodule twice: kept one object
        self.act = ember.nn.functional.gelu  # a function as an attribute: stored by import path
        self.scale = 0.5
        self.tags = {"kind": "tower", "sizes": (4, 8, 3)}
        self.register_buffer("offset", ember.arange(3, dtype=ember.float32))

    def forward(self, x):
        return self.act(self.body(x)) * self.scale + self.offset


def _torch_seq(t):
    t.manual_seed(0)
    return t.nn.Sequential(t.nn.Conv2d(1, 3, 3), t.nn.BatchNorm2d(3), t.nn.ReLU(), t.nn.Flatten(),
                           t.nn.Linear(3 * 4 * 4, 5))


def _ember_copy_of(tm):
    em = ember.nn.Sequential(ember.nn.Conv2d(1, 3, 3), ember.nn.BatchNorm2d(3), ember.nn.ReLU(), ember.nn.Flatten(),
                             ember.nn.Linear(3 * 4 * 4, 5))
    em.load_state_dict({k: ember.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})
    return em


def test_default_weights_only_refuses_with_torchs_message(tmp_path):
    tm = torch.nn.Linear(2, 3)
    torch.save(tm, tmp_path / "t.pt")
    with pytest.raises(pickle.UnpicklingError) as te:
        torch.load(tmp_path / "t.pt")
    ember.save(ember.nn.Linear(2, 3), tmp_path / "e.st")
    with pytest.raises(pickle.UnpicklingError) as ee:
        ember.load(tmp_path / "e.st")
    with pytest.raises(pickle.UnpicklingError) as pe:  # a torch file, refused the same way
        ember.load(tmp_path / "t.pt")
    first = str(te.value).split("\n")[0]
    assert str(ee.value).split("\n")[0] == str(pe.value).split("\n")[0] == first.replace("\x1b[1m", "").replace(
        "\x1b[0m", "")
    assert "GLOBAL torch.nn.modules.linear.Linear was not an allowed global" in str(pe.value)
    assert "GLOBAL ember.nn.linear.Linear was not an allowed global" in str(ee.value)
    assert isinstance(ee.value, ember.serialization.UnsafeCheckpointError)


def test_model_optimizer_epoch_round_trip_matches_torch(tmp_path):
    tm = _torch_seq(torch)
    em = _ember_copy_of(tm)
    topt = torch.optim.SGD(tm.parameters(), lr=0.05, momentum=0.9)
    eopt = ember.optim.SGD(em.parameters(), lr=0.05, momentum=0.9)
    x = np.random.default_rng(0).standard_normal((4, 1, 6, 6)).astype(np.float32)
    for lib, m, opt in ((torch, tm, topt), (ember, em, eopt)):
        m(lib.tensor(x)).square().mean().backward()
        opt.step()
        opt.zero_grad()
        lib.save({"model": m, "optimizer": opt, "epoch": 3}, tmp_path / f"{lib.__name__}.ckpt")
    t = torch.load(tmp_path / "torch.ckpt", weights_only=False)
    e = ember.load(tmp_path / "ember.ckpt", weights_only=False)
    assert e["epoch"] == t["epoch"] == 3
    assert type(e["model"]) is ember.nn.Sequential and type(e["optimizer"]) is ember.optim.SGD
    assert repr(e["model"]) == repr(t["model"])
    # the optimizer holds the loaded model's own parameters, with its momentum buffers
    assert all(a is b for a, b in zip(e["optimizer"].param_groups[0]["params"], e["model"].parameters()))
    assert len(e["optimizer"].state) == len(t["optimizer"].state) == 6
    for lib, d in ((torch, t), (ember, e)):  # one more training step on the loaded objects
        d["model"](lib.tensor(x)).square().mean().backward()
        d["optimizer"].step()
    for (name, tp), ep in zip(t["model"].named_parameters(), e["model"].parameters()):
        np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(e["model"][1].running_mean.numpy(), t["model"][1].running_mean.numpy(), rtol=1e-5)


def test_torch_written_whole_model_loads_with_weights_only_false(tmp_path):
    tm = _torch_seq(torch)
    tm.eval()
    topt = torch.optim.Adam(tm.parameters(), lr=1e-3)
    x = torch.randn(2, 1, 6, 6)
    tm(x).sum().backward()
    topt.step()
    torch.save({"model": tm, "optimizer": topt, "epoch": 7}, tmp_path / "whole.pt")
    torch.save(tm, tmp_path / "model.pt")
    m = ember.load(tmp_path / "model.pt", weights_only=False)
    assert isinstance(m, ember.nn.Sequential) and isinstance(m[0], ember.nn.Conv2d) and not m.training
    np.testing.assert_allclose(m(ember.tensor(x.numpy())).detach().numpy(), tm(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    d = ember.load(tmp_path / "whole.pt", weights_only=False)
    assert d["epoch"] == 7 and isinstance(d["optimizer"], ember.optim.Adam)
    assert d["optimizer"].param_groups[0]["params"][0] is d["model"][0].weight
    st = d["optimizer"].state[d["model"][0].weight]
    np.testing.assert_allclose(st["exp_avg"].numpy(), topt.state[tm[0].weight]["exp_avg"].numpy(), rtol=1e-6)
    # both continue identically
    tm.train()
    d["model"].train()
    topt.zero_grad()
    tm(x).square().mean().backward()
    topt.step()
    d["optimizer"].zero_grad()
    d["model"](ember.tensor(x.numpy())).square().mean().backward()
    d["optimizer"].step()
    np.testing.assert_allclose(d["model"][4].weight.detach().numpy(), tm[4].weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_user_class_identity_functions_and_buffers():
    ember.manual_seed(0)
    m = Tower()
    buf = io.BytesIO()
    ember.save(m, buf)
    buf.seek(0)
    r = ember.load(buf, weights_only=False)
    assert type(r) is Tower and r.head is r.body[2] and r.act is ember.nn.functional.gelu
    assert r.scale == 0.5 and r.tags == {"kind": "tower", "sizes": (4, 8, 3)}
    x = ember.randn(2, 4)
    np.testing.assert_array_equal(r(x).detach().numpy(), m(x).detach().numpy())
    assert [n for n, _ in r.named_buffers()] == ["offset"]
    assert all(p.requires_grad and isinstance(p, ember.nn.Parameter) for p in r.parameters())


def test_a_model_referring_to_itself_round_trips():
    m = ember.nn.Linear(2, 2)
    m.__dict__["owner"] = m  # a cycle through a plain attribute (pickle handles these; so must we)
    buf = io.BytesIO()
    ember.save(m, buf)
    buf.seek(0)
    r = ember.load(buf, weights_only=False)
    assert r.owner is r


def test_weights_only_false_still_loads_plain_checkpoints(tmp_path):
    sd = {"w": ember.ones(2), "n": 3}
    ember.save(sd, tmp_path / "sd.st")
    assert ember.load(tmp_path / "sd.st", weights_only=False)["n"] == 3
    assert ember.load(tmp_path / "sd.st")["n"] == 3


def test_unimportable_classes_cannot_be_saved(tmp_path):
    class Inner(ember.nn.Module):
        pass
    with pytest.raises(TypeError, match="cannot store an object of type"):
        ember.save({"m": Inner()}, tmp_path / "x.st")
    with pytest.raises(TypeError, match="cannot store an object of type"):
        ember.save({"f": lambda x: x}, tmp_path / "x.st")


def test_bfloat16_model_round_trips_and_reads_in_torch(tmp_path):
    ember.manual_seed(0)
    m = ember.nn.Linear(3, 2).to(ember.bfloat16)
    ember.save(m, tmp_path / "bf16.st")
    r = ember.load(tmp_path / "bf16.st", weights_only=False)
    assert r.weight.dtype == ember.bfloat16
    np.testing.assert_array_equal(r.weight.float().detach().numpy(), m.weight.float().detach().numpy())
    ember.save(m.state_dict(), tmp_path / "sd.st")
    from safetensors.torch import load_file
    sd = load_file(str(tmp_path / "sd.st"))
    assert sd["weight"].dtype == torch.bfloat16
    np.testing.assert_array_equal(sd["weight"].float().numpy(), m.weight.float().detach().numpy())


def test_safe_globals_allow_listed_classes_with_weights_only(tmp_path):
    import argparse
    ns = argparse.Namespace(lr=0.1, name="run", sizes=[1, 2])
    torch.save({"args": ns, "w": torch.ones(2)}, tmp_path / "t.pt")
    ember.save({"args": ns, "w": ember.ones(2)}, tmp_path / "e.st")
    for lib, path in ((torch, "t.pt"), (ember, "e.st"), (ember, "t.pt")):
        with pytest.raises(pickle.UnpicklingError if lib is torch or path == "e.st" else
                           ember.serialization.UnsafeCheckpointError):
            lib.load(tmp_path / path)
        with lib.serialization.safe_globals([argparse.Namespace]):
            assert argparse.Namespace in lib.serialization.get_safe_globals()
            d = lib.load(tmp_path / path)
        assert vars(d["args"]) == vars(ns) and d["w"].tolist() == [1.0, 1.0]
        assert argparse.Namespace not in lib.serialization.get_safe_globals()
    try:
        torch.serialization.add_safe_globals([argparse.Namespace])
        ember.serialization.add_safe_globals([argparse.Namespace])
        assert vars(torch.load(tmp_path / "t.pt")["args"]) == vars(ember.load(tmp_path / "t.pt")["args"])
        assert vars(ember.load(tmp_path / "e.st")["args"]) == vars(ns)
        with pytest.raises(pickle.UnpicklingError):  # other classes stay refused
            ember.save(ember.nn.Linear(2, 2), tmp_path / "m.st")
            ember.load(tmp_path / "m.st")
    finally:
        torch.serialization.clear_safe_globals()
        ember.serialization.clear_safe_globals()
