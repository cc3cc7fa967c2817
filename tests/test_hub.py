"""ember.hub.load_state_dict_from_url: local paths and the hub cache, never the network."""
import hashlib
import os

import pytest

import ember

torch = pytest.importorskip("torch")


def _state():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2).state_dict()


def test_cached_file_loads_like_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "home" / "hub")
    ckpt = tmp_path / "home" / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    sd = _state()
    torch.save(sd, ckpt / "linear-abc.pth")
    url = "https://example.com/models/linear-abc.pth"
    t = torch.hub.load_state_dict_from_url(url)   # cached: torch does not download either
    e = ember.hub.load_state_dict_from_url(url)
    assert list(e) == list(t)
    for k in t:
        assert (e[k].numpy() == t[k].numpy()).all()
    e2 = ember.hub.load_state_dict_from_url("https://x.org/other.pth", model_dir=str(ckpt), file_name="linear-abc.pth")
    assert list(e2) == list(t)


def test_local_path_and_file_url(tmp_path):
    sd = _state()
    p = tmp_path / "w.pth"
    torch.save(sd, p)
    for src in (str(p), "file://" + str(p)):
        e = ember.hub.load_state_dict_from_url(src)
        assert (e["weight"].numpy() == sd["weight"].numpy()).all()


def test_check_hash(tmp_path):
    sd = _state()
    raw = tmp_path / "raw.pth"
    torch.save(sd, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    good = tmp_path / f"lin-{digest[:8]}.pth"
    os.rename(raw, good)
    assert "weight" in ember.hub.load_state_dict_from_url(str(good), check_hash=True)
    bad = tmp_path / "lin-00000000.pth"
    bad.write_bytes(good.read_bytes())
    with pytest.raises(RuntimeError, match="invalid hash value"):
        ember.hub.load_state_dict_from_url(str(bad), check_hash=True)


def test_missing_file_says_ember_does_not_download(tmp_path):
    with pytest.raises(RuntimeError, match="ember does not download files.*save it as"):
        ember.hub.load_state_dict_from_url("https://example.com/resnet18.pth", model_dir=str(tmp_path))
    with pytest.raises(RuntimeError, match="ember does not download"):
        ember.hub.download_url_to_file("https://example.com/x.pth", str(tmp_path / "x.pth"))
