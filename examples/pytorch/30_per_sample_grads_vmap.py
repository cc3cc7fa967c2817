"""Per-sample gradients with torch.func: vmap(grad(loss)) over a batch, with the model turned into a pure
function of its parameters by functional_call. Checks them against a slow loop of ordinary backward passes,
then uses their norms (as differential-privacy style clipping does) and computes a Jacobian and a Hessian."""
import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap, jacrev, hessian

rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((16, 5)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 3, size=16))

model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.tensor(0.4 * np.cos(np.arange(p.numel()) * 1.3 + i).reshape(p.shape), dtype=torch.float32))

params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}


def loss_fn(params, buffers, sample, target):
    logits = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
    return nn.functional.cross_entropy(logits, target.unsqueeze(0))


per_sample = vmap(grad(loss_fn), in_dims=(None, None, 0, 0))(params, buffers, X, y)
print({k: tuple(v.shape) for k, v in per_sample.items()})

# the slow way: one backward pass per sample
loop = {k: [] for k in params}
for i in range(len(X)):
    model.zero_grad()
    nn.functional.cross_entropy(model(X[i:i + 1]), y[i:i + 1]).backward()
    for k, p in model.named_parameters():
        loop[k].append(p.grad.clone())
print("matches the loop:", all(torch.allclose(per_sample[k], torch.stack(loop[k]), atol=1e-6) for k in params))

# their mean is the ordinary batch gradient
model.zero_grad()
nn.functional.cross_entropy(model(X), y).backward()
print("mean == batch grad:", all(torch.allclose(per_sample[k].mean(0), p.grad, atol=1e-6)
                                 for k, p in model.named_parameters()))

norms = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in per_sample.values()))
print("per-sample grad norms:", [round(v, 4) for v in norms[:6].tolist()])
clip = (1.0 / (norms + 1e-6)).clamp(max=1.0)
clipped = {k: (g * clip.view(-1, *([1] * (g.dim() - 1)))).mean(0) for k, g in per_sample.items()}
print("clipped update norm:", round(torch.sqrt(sum(g.pow(2).sum() for g in clipped.values())).item(), 4))

x0 = X[0]
J = jacrev(lambda inp: model(inp))(x0)
print("Jacobian:", tuple(J.shape), round(J.abs().sum().item(), 4))
H = hessian(lambda inp: loss_fn(params, buffers, inp, y[0]))(x0)
print("Hessian:", tuple(H.shape), "symmetric:", torch.allclose(H, H.T, atol=1e-5), round(H.trace().item(), 4))
