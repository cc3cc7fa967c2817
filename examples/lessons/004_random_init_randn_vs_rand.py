"""Lesson 004 -- weights initialised with torch.randn / torch.rand vs the layers' own initialisation.

randn draws N(0, 1): zero-centred, but too large for wide layers (activations grow with fan-in).
rand draws U[0, 1): all positive, never zero-centred. nn.Linear's default and nn.init's schemes scale
by fan-in so a layer's output keeps a sensible size.
"""
import math
import torch
import torch.nn as nn

torch.manual_seed(0)
w = torch.randn(500, 400)
u = torch.rand(500, 400)
print("randn: mean ~0", abs(w.mean().item()) < 0.01, "| std ~1", abs(w.std().item() - 1) < 0.01)
print("rand:  in [0, 1)", bool((u >= 0).all() and (u < 1).all()), "| mean ~0.5", abs(u.mean().item() - 0.5) < 0.01)

x = torch.randn(64, 400)
print("randn weights blow activations up (std ~sqrt(400) = 20):", 15 < (x @ w.T).std().item() < 25)
print("rand weights are all positive: a constant input of ones gives ~200 everywhere:",
      abs((torch.ones(1, 400) @ u.T).mean().item() - 200) < 5)

lin = nn.Linear(400, 500)
bound = 1 / math.sqrt(400)                       # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
print("nn.Linear default within 1/sqrt(fan_in):", lin.weight.abs().max().item() <= bound)
print("and keeps activations O(1):", 0.3 < lin(x).std().item() < 0.8)

nn.init.xavier_uniform_(lin.weight)
print("xavier_uniform std ~sqrt(2/(fan_in+fan_out)):",
      abs(lin.weight.std().item() - math.sqrt(2 / 900)) < 0.002)
nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
print("kaiming_normal std ~sqrt(2/fan_in):", abs(lin.weight.std().item() - math.sqrt(2 / 400)) < 0.002)
nn.init.zeros_(lin.bias)
print("zeros_:", lin.bias.abs().sum().item() == 0)
