"""Whole-object checkpoints: torch.save(model) and torch.save({"model", "optimizer", "epoch"}), loaded back
with weights_only=False (the default, weights_only=True, refuses whole objects)."""
import os
import pickle
import tempfile
import zlib

import numpy as np
import torch
import torch.nn as nn


class SmallNet(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.hidden = hidden
        self.body = nn.Sequential(nn.Linear(6, hidden), nn.Tanh(), nn.Linear(hidden, 3))
        self.norm = nn.LayerNorm(3)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        self.calls += 1
        return self.norm(self.body(x))


def make():
    m = SmallNet()
    with torch.no_grad():
        for name, p in m.named_parameters():
            r = np.random.default_rng(zlib.crc32(name.encode()))
            p.copy_(torch.from_numpy(r.uniform(-0.4, 0.4, size=tuple(p.shape)).astype(np.float32)))
    return m


rng = np.random.default_rng(1)
x = torch.from_numpy(rng.standard_normal((20, 6)).astype(np.float32))
target = torch.from_numpy(rng.integers(0, 3, size=20))

model = make()
opt = torch.optim.Adam(model.parameters(), lr=0.02)
loss_fn = nn.CrossEntropyLoss()


def step(m, o):
    loss = loss_fn(m(x), target)
    o.zero_grad()
    loss.backward()
    o.step()
    return loss.item()


for _ in range(3):
    step(model, opt)

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "whole.pt")
    torch.save({"model": model, "optimizer": opt, "epoch": 3}, path)
    try:
        torch.load(path)
    except pickle.UnpicklingError as e:
        print("weights_only=True refuses:", str(e).splitlines()[0][:40])
    ckpt = torch.load(path, weights_only=False)
    torch.save(model, os.path.join(d, "model.pt"))
    alone = torch.load(os.path.join(d, "model.pt"), weights_only=False)

m2, opt2 = ckpt["model"], ckpt["optimizer"]
print(type(m2).__name__, m2.hidden, ckpt["epoch"], int(m2.calls))
print(m2)
print(type(opt2).__name__, opt2.param_groups[0]["lr"], sorted(opt2.state_dict()["state"][0]))
print("optimizer holds the loaded parameters:", opt2.param_groups[0]["params"][0] is m2.body[0].weight)
with torch.no_grad():
    print("same outputs:", torch.allclose(model(x), m2(x)), torch.allclose(model(x), alone(x)))
losses = [(round(step(model, opt), 4), round(step(m2, opt2), 4)) for _ in range(3)]
print("resumed run identical:", all(a == b for a, b in losses), losses[-1])
