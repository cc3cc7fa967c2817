"""Gradient clipping (by norm and by value) and gradient accumulation over micro-batches."""
import zlib
import numpy as np
import torch
import torch.nn as nn


def make_model():
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))
    with torch.no_grad():
        for name, p in m.named_parameters():
            r = np.random.default_rng(zlib.crc32(name.encode()))
            p.copy_(torch.from_numpy(r.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32)))
    return m


rng = np.random.default_rng(5)
x = torch.from_numpy(rng.standard_normal((16, 5)).astype(np.float32) * 3)
y = torch.from_numpy(rng.standard_normal((16, 2)).astype(np.float32))
loss_fn = nn.MSELoss()

# clip by norm: returns the norm before clipping; afterwards the total norm is max_norm
model = make_model()
loss_fn(model(x), y).backward()
total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
after = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))
print(f"norm before {total.item():.4f} after {after.item():.4f}")

# clip by value
model.zero_grad()
loss_fn(model(x), y).backward()
nn.utils.clip_grad_value_(model.parameters(), clip_value=0.05)
print(max(p.grad.abs().max().item() for p in model.parameters()))

# accumulation: 4 micro-batches of 4, each loss divided by 4 == one batch of 16
full = make_model()
loss_fn(full(x), y).backward()
acc = make_model()
for xb, yb in zip(x.split(4), y.split(4)):
    (loss_fn(acc(xb), yb) / 4).backward()
same = all(torch.allclose(a.grad, b.grad, atol=1e-6) for a, b in zip(full.parameters(), acc.parameters()))
print("accumulated gradient == full-batch gradient:", same)

# a training loop with both: accumulate 2 micro-batches, clip, step
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=0.05)
accum = 2
for step, (xb, yb) in enumerate(zip(x.split(4) * 3, y.split(4) * 3)):
    loss = loss_fn(model(xb), yb) / accum
    loss.backward()
    if (step + 1) % accum == 0:
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        opt.step()
        opt.zero_grad()
        print(f"update {(step + 1) // accum} grad norm {norm.item():.4f} loss {loss.item() * accum:.4f}")
print(f"final loss {loss_fn(model(x), y).item():.4f}")
