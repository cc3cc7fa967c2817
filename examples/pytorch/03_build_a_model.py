"""Building a model: nn.Module subclass, Sequential, parameters, load_state_dict from NumPy weights."""
import zlib
import numpy as np
import torch
import torch.nn as nn


def numpy_weights(model):
    """A state_dict drawn with NumPy: the same numbers under any framework (each tensor seeded by its name)."""
    sd = {}
    for name, p in model.state_dict().items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        scale = 1.0 / np.sqrt(p.shape[-1]) if p.dim() > 1 else 0.1
        sd[name] = torch.from_numpy((rng.uniform(-1, 1, size=tuple(p.shape)) * scale).astype(np.float32))
    return sd


class MLP(nn.Module):
    def __init__(self, d_in=6, hidden=16, d_out=3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.head(self.net(x))


model = MLP()
print(model)
print([name for name, _ in model.named_parameters()])
print(sum(p.numel() for p in model.parameters()), sum(p.numel() for p in model.parameters() if p.requires_grad))
print(model.load_state_dict(numpy_weights(model)))
x = torch.from_numpy(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32))
with torch.no_grad():
    y = model(x)
print(y.shape)
print(y.round(decimals=4))
print(torch.softmax(y, dim=1).argmax(dim=1))
print([type(m).__name__ for m in model.modules()])
print([n for n, _ in model.named_children()], model.training, model.eval().training)
model.head.weight.requires_grad_(False)
print([n for n, p in model.named_parameters() if not p.requires_grad])
