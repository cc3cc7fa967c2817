"""A small CNN (Conv2d, BatchNorm2d, MaxPool2d, Dropout) trained for a few Adam steps on 8x8 images."""
import zlib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCNN(nn.Module):
    def __init__(self, n_classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=3, padding=1, bias=False)  # BN follows: a bias would only get noise
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(8 * 2 * 2, n_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))   # (6, 8, 8) -> (6, 4, 4)
        x = self.pool(F.relu(self.conv2(x)))             # (8, 4, 4) -> (8, 2, 2)
        x = torch.flatten(x, 1)
        return self.fc(self.drop(x))


model = SmallCNN()
print(model)
with torch.no_grad():
    for name, p in model.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        fan_in = p[0].numel() if p.dim() > 1 else 4
        p.copy_(torch.from_numpy(r.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32) / np.sqrt(fan_in)))

rng = np.random.default_rng(0)
labels = rng.integers(0, 4, size=32)
images = rng.standard_normal((32, 1, 8, 8)).astype(np.float32) * 0.3
for i, c in enumerate(labels):            # each class lights up one quadrant
    r0, c0 = divmod(int(c), 2)
    images[i, 0, 4 * r0:4 * r0 + 4, 4 * c0:4 * c0 + 4] += 1.0
x, y = torch.from_numpy(images), torch.from_numpy(labels)

print(model.conv1(x).shape, model.pool(model.conv1(x)).shape)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
model.drop.p = 0.0                        # dropout off so both frameworks draw no random numbers
for step in range(8):
    model.train()
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.4f}")
model.eval()
with torch.no_grad():
    logits = model(x)
print("train accuracy", (logits.argmax(1) == y).float().mean().item())
print(model.bn1.running_mean.round(decimals=4), model.bn1.num_batches_tracked)
