"""Lesson 003 -- code block 1: Dropout in train vs eval mode."""
import torch
import torch.nn as nn

drop = nn.Dropout(p=0.5)
x = torch.ones(1, 8)

drop.train()
print(drop(x))   # ~half the entries zeroed, rest scaled by 2
                  # tensor([[2., 0., 0., 2., 0., 2., 2., 0.]]) (varies)

drop.eval()
print(drop(x))   # tensor([[1., 1., 1., 1., 1., 1., 1., 1.]]) -- no-op

# Checking the claims on a bigger tensor: in train mode every entry is 0 or 1/(1-p) and the mean is kept.
drop.train()
y = drop(torch.ones(100, 1000))
print("values:", sorted(set(y.unique().tolist())))
print("kept fraction ~0.5:", abs((y != 0).float().mean().item() - 0.5) < 0.01)
print("mean preserved ~1:", abs(y.mean().item() - 1.0) < 0.02)
drop.eval()
print("eval is identity:", torch.equal(drop(y), y))
