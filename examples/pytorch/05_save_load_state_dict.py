"""Saving and loading: state_dicts of a model and its optimizer; resuming gives the same result."""
import os
import tempfile
import zlib
import numpy as np
import torch
import torch.nn as nn


def make_model():
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for name, p in m.named_parameters():
            r = np.random.default_rng(zlib.crc32(name.encode()))
            p.copy_(torch.from_numpy(r.uniform(-0.5, 0.5, size=tuple(p.shape)).astype(np.float32)))
    return m


rng = np.random.default_rng(3)
x = torch.from_numpy(rng.standard_normal((32, 4)).astype(np.float32))
y = torch.from_numpy(rng.standard_normal((32, 1)).astype(np.float32))


def step(model, opt):
    loss = nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


model = make_model()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for _ in range(3):
    step(model, opt)

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "checkpoint.pt")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 3}, path)
    ckpt = torch.load(path)
print(sorted(ckpt), ckpt["step"])
print(list(ckpt["model"].keys()))
print(sorted(ckpt["optimizer"].keys()), ckpt["optimizer"]["param_groups"][0]["lr"])

restored = make_model()                   # fresh weights ...
opt2 = torch.optim.Adam(restored.parameters(), lr=0.01)
print(restored.load_state_dict(ckpt["model"]))  # ... replaced by the saved ones
opt2.load_state_dict(ckpt["optimizer"])
with torch.no_grad():
    print("same outputs:", torch.equal(model(x), restored(x)))

# continuing from the checkpoint == continuing the original run
a = [round(step(model, opt), 6) for _ in range(3)]
b = [round(step(restored, opt2), 6) for _ in range(3)]
print(a)
print("resumed run identical:", a == b)
print(restored.state_dict()["2.bias"])

# a state_dict holds tensors detached from autograd
print(all(not t.requires_grad for t in model.state_dict().values()))
