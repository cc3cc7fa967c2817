"""A convolutional autoencoder: strided Conv2d down, ConvTranspose2d and Upsample up, trained a few steps."""
import zlib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

encoder = nn.Sequential(
    nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),       # 8x8 -> 4x4
    nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),       # 4x4 -> 2x2
)
decoder = nn.Sequential(
    nn.ConvTranspose2d(8, 4, kernel_size=2, stride=2), nn.ReLU(),   # 2x2 -> 4x4
    nn.Upsample(scale_factor=2, mode="nearest"),                    # 4x4 -> 8x8
    nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid(),
)
model = nn.Sequential(encoder, decoder)
print(model)
with torch.no_grad():
    for name, p in model.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        fan_in = p[0].numel() if p.dim() > 1 else 9
        p.copy_(torch.from_numpy(r.uniform(-1, 1, size=tuple(p.shape)).astype(np.float32) / np.sqrt(fan_in)))

rng = np.random.default_rng(4)
imgs = np.zeros((16, 1, 8, 8), dtype=np.float32)
for i in range(16):                                           # bright squares at random spots
    r0, c0 = rng.integers(0, 5, size=2)
    imgs[i, 0, r0:r0 + 4, c0:c0 + 4] = 1.0
x = torch.from_numpy(imgs)
z = encoder(x)
print(z.shape, decoder(z).shape)

opt = torch.optim.Adam(model.parameters(), lr=0.02)
for step in range(10):
    recon = model(x)
    loss = F.binary_cross_entropy(recon, x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 3 == 0 or step == 9:
        print(f"step {step} loss {loss.item():.4f} mse {F.mse_loss(recon, x).item():.4f}")
print(model[1][0].weight.grad.shape, model[1][0].weight.grad.abs().sum().round(decimals=4))
