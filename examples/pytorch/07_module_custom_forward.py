"""nn.Module with a custom forward: control flow, a buffer, a shared layer, ModuleDict/ParameterList,
and hooks."""
import zlib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class GatedResidualNet(nn.Module):
    def __init__(self, dim=8, depth=3):
        super().__init__()
        self.inp = nn.Linear(4, dim)
        self.shared = nn.Linear(dim, dim)                # applied `depth` times (weight sharing)
        self.gates = nn.ParameterList([nn.Parameter(torch.zeros(dim)) for _ in range(depth)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(dim, 3), "reg": nn.Linear(dim, 1)})
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))
        self.depth = depth

    def forward(self, x, task="cls"):
        self.calls += 1
        h = F.gelu(self.inp(x))
        for i in range(self.depth):
            g = torch.sigmoid(self.gates[i])
            h = g * h + (1 - g) * torch.relu(self.shared(h))
            if h.abs().max() > 10:                       # data-dependent control flow
                h = h / h.abs().max()
        return self.heads[task](h)


net = GatedResidualNet()
with torch.no_grad():
    for name, p in net.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        p.copy_(torch.from_numpy(r.uniform(-0.6, 0.6, size=tuple(p.shape)).astype(np.float32)))
print(list(net.state_dict().keys()))
print(sum(p.numel() for p in net.parameters()))

x = torch.from_numpy(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
seen = []
handle = net.shared.register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape)))
out_cls = net(x)
out_reg = net(x, task="reg")
handle.remove()
net(x)
print(out_cls.shape, out_reg.shape, seen, net.calls.item())
print(out_cls.detach().round(decimals=4))
print(out_reg.detach().round(decimals=4).flatten())

loss = F.cross_entropy(out_cls, torch.tensor([0, 1, 2, 1, 0])) + out_reg.pow(2).mean()
loss.backward()
print(f"{loss.item():.4f}")
print(net.shared.weight.grad.abs().sum().round(decimals=4), net.gates[0].grad.round(decimals=4))
print(net.heads["reg"].weight.grad.shape, "calls" in dict(net.named_buffers()))
