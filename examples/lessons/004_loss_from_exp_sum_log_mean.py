"""Lesson 004 -- a cross-entropy loss written with torch.exp/sum/log/mean equals the built-in one;
and why the naive formula breaks during training (overflow) while the shifted one does not."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(1)
logits = torch.from_numpy(rng.standard_normal((8, 5)).astype(np.float32))
target = torch.from_numpy(rng.integers(0, 5, size=8))


def my_cross_entropy(logits, target):
    log_z = torch.log(torch.sum(torch.exp(logits), dim=1))           # log of the softmax denominator
    picked = logits[torch.arange(len(target)), target]               # score of the right class
    return torch.mean(log_z - picked)


def my_stable_cross_entropy(logits, target):
    m = logits.max(dim=1, keepdim=True).values                        # subtract the max first
    log_z = m.squeeze(1) + torch.log(torch.sum(torch.exp(logits - m), dim=1))
    return (log_z - logits.gather(1, target.unsqueeze(1)).squeeze(1)).mean()


builtin = nn.CrossEntropyLoss()(logits, target)
print(f"mine     {my_cross_entropy(logits, target).item():.6f}")
print(f"stable   {my_stable_cross_entropy(logits, target).item():.6f}")
print(f"built-in {builtin.item():.6f}")
print("equal:", torch.allclose(my_cross_entropy(logits, target), builtin))

# the same with methods instead of functions
print(f"methods  {(logits.exp().sum(1).log() - logits.gather(1, target[:, None])[:, 0]).mean().item():.6f}")

# gradients agree too
a = logits.clone().requires_grad_(True)
my_cross_entropy(a, target).backward()
b = logits.clone().requires_grad_(True)
F.cross_entropy(b, target).backward()
print("grads equal:", torch.allclose(a.grad, b.grad, atol=1e-6))

# large logits (a model that has trained a while): exp overflows float32
big = logits * 100
print("naive  :", my_cross_entropy(big, target))
print("stable :", f"{my_stable_cross_entropy(big, target).item():.4f}")
print("builtin:", f"{F.cross_entropy(big, target).item():.4f}")
