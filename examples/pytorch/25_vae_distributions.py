"""A variational autoencoder trained with torch.distributions: a Normal encoder q(z|x), a Bernoulli
decoder p(x|z), and the ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)).

The sample z must be differentiable in the encoder's outputs (the reparameterisation trick). rsample does
that with fresh noise; so that this program prints the same numbers in any framework, the training loop
feeds the noise drawn by NumPy through the inverse CDF, z = q.icdf(u) -- the same reparameterisation."""
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

rng = np.random.default_rng(0)
# 64 binary 4x4 "images": two prototypes with 10% of the pixels flipped
protos = np.array([[1, 1, 0, 0] * 4, [0, 0, 1, 1] * 4], dtype=np.float32)
labels = rng.integers(0, 2, 64)
flips = rng.random((64, 16)) < 0.1
data = torch.tensor(np.abs(protos[labels] - flips).astype(np.float32))


def init(module):
    """Fixed weights from sin, so both frameworks start at the same point."""
    for i, p in enumerate(module.parameters()):
        p.data = 0.3 * torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.7 + i).reshape(p.shape)


class VAE(nn.Module):
    def __init__(self, d=16, h=12, z=2):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, 2 * z))
        self.dec = nn.Sequential(nn.Linear(z, h), nn.Tanh(), nn.Linear(h, d))

    def posterior(self, x):
        mu, log_std = self.enc(x).chunk(2, dim=-1)
        return Independent(Normal(mu, log_std.exp()), 1)  # event = the 2-d latent

    def likelihood(self, z):
        return Independent(Bernoulli(logits=self.dec(z)), 1)


model = VAE()
init(model)
prior = Independent(Normal(torch.zeros(2), torch.ones(2)), 1)
q = model.posterior(data)
print(q.batch_shape, q.event_shape, q.has_rsample, q.rsample((3,)).shape)
# rsample is differentiable: d z / d mu = 1 whatever the noise
z = q.rsample()
print(torch.autograd.grad(z.sum(), q.base_dist.loc)[0].unique())
print("KL at init", round(kl_divergence(q, prior).mean().item(), 4))

opt = torch.optim.Adam(model.parameters(), lr=0.05)
for step in range(60):
    q = model.posterior(data)
    u = torch.tensor(rng.uniform(0.02, 0.98, (64, 2)).astype(np.float32))
    z = q.base_dist.icdf(u)                       # reparameterised sample from q
    rec = model.likelihood(z).log_prob(data)      # log p(x|z), one number per image
    kl = kl_divergence(q, prior)                  # closed form for two Normals
    loss = -(rec - kl).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 15 == 14:
        print(f"step {step + 1} -ELBO {loss.item():.3f} rec {rec.mean().item():.3f} kl {kl.mean().item():.3f}")

with torch.no_grad():
    mu = model.posterior(data).mean
    centres = [mu[torch.tensor(labels == k)].mean(0) for k in (0, 1)]
    print("latent clusters apart:", (centres[0] - centres[1]).norm().item() > 1.0)
    recon = model.likelihood(mu).mean.round()
    print("reconstruction accuracy", round((recon == data).float().mean().item(), 2))
