"""A training loop with Dataset + DataLoader: an MLP classifying 3 Gaussian blobs, SGD with momentum."""
import zlib
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

rng = np.random.default_rng(0)
centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
X = np.concatenate([c + 0.7 * rng.standard_normal((40, 2)) for c in centers]).astype(np.float32)
Y = np.repeat(np.arange(3), 40)
perm = rng.permutation(len(X))
X, Y = X[perm], Y[perm]


class Blobs(Dataset):
    def __init__(self, x, y):
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


train = Blobs(X[:90], Y[:90])
val = TensorDataset(torch.from_numpy(X[90:]), torch.from_numpy(Y[90:]))
train_loader = DataLoader(train, batch_size=16, shuffle=False)
val_loader = DataLoader(val, batch_size=64)
print(len(train), len(val), len(train_loader), len(val_loader))
xb, yb = next(iter(train_loader))
print(xb.shape, xb.dtype, yb.shape, yb.dtype)

model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
with torch.no_grad():
    for name, p in model.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        p.copy_(torch.from_numpy((r.uniform(-0.5, 0.5, size=tuple(p.shape))).astype(np.float32)))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(5):
    model.train()
    total = 0.0
    for xb, yb in train_loader:
        pred = model(xb)
        loss = loss_fn(pred, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in val_loader:
            correct += (model(xb).argmax(1) == yb).sum().item()
    print(f"epoch {epoch} train loss {total / len(train):.4f} val acc {correct / len(val):.4f}")
