"""A learned spectral filter: denoise signals by multiplying their spectrum (torch.fft.rfft) by complex
weights learned with Adam, then going back with irfft. Also: fftfreq/rfftfreq, fftshift, a 2-D FFT,
Parseval's identity with norm="ortho", and the gradient flowing through complex tensors."""
import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(0)
N, B = 64, 32
t = np.arange(N) / N
freqs = rng.integers(1, 6, size=(B, 2))
clean = np.sin(2 * np.pi * freqs[:, :1] * t) + 0.5 * np.cos(2 * np.pi * freqs[:, 1:] * t)
noisy = clean + 0.4 * rng.standard_normal((B, N))
x = torch.tensor(noisy, dtype=torch.float32)
y = torch.tensor(clean, dtype=torch.float32)

X = torch.fft.rfft(x)
print(X.shape, X.dtype, torch.fft.rfftfreq(N, d=1 / N)[:6])
print("fftfreq:", torch.fft.fftfreq(8), torch.fft.fftshift(torch.fft.fftfreq(8)))
energy_time = (x ** 2).sum(dim=1)
energy_freq = torch.fft.fft(x, norm="ortho").abs().pow(2).sum(dim=1)
print("Parseval holds:", torch.allclose(energy_time, energy_freq, rtol=1e-4))
print("round trip:", torch.allclose(torch.fft.irfft(X, n=N), x, atol=1e-5))


class SpectralFilter(nn.Module):
    """y = irfft(rfft(x) * w): one learned complex weight per frequency bin, stored as (bins, 2) reals."""

    def __init__(self, n):
        super().__init__()
        init = np.stack([np.full(n // 2 + 1, 0.5), np.zeros(n // 2 + 1)], axis=1)
        self.weight = nn.Parameter(torch.tensor(init, dtype=torch.float32))
        self.n = n

    def forward(self, x):
        w = torch.view_as_complex(self.weight)
        return torch.fft.irfft(torch.fft.rfft(x) * w, n=self.n)


model = SpectralFilter(N)
opt = torch.optim.Adam(model.parameters(), lr=0.05)
print("loss before:", round(nn.functional.mse_loss(x, y).item(), 4))
for step in range(60):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    if step % 20 == 19:
        print(f"step {step + 1} loss {loss.item():.4f}")
gain = torch.view_as_complex(model.weight.detach()).abs()
print("learned |w| on bins 0-7:", [round(v, 2) for v in gain[:8].tolist()])
print("passband above stopband:", bool(gain[1:6].mean() > gain[10:].mean()))
print("grad dtype:", model.weight.grad.dtype, model.weight.grad.shape)

img = torch.tensor(np.outer(np.hanning(8), np.hanning(8)), dtype=torch.float32)
F2 = torch.fft.fft2(img)
print("fft2:", F2.shape, round(F2[0, 0].real.item(), 4), torch.allclose(torch.fft.ifft2(F2).real, img, atol=1e-6))
print("rfft2 / irfft2:", torch.fft.rfft2(img).shape, torch.allclose(torch.fft.irfft2(torch.fft.rfft2(img), s=(8, 8)),
                                                                      img, atol=1e-6))
