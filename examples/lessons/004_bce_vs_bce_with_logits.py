"""Lesson 004 -- BCELoss (after a sigmoid) vs BCEWithLogitsLoss (sigmoid inside, computed stably).

At large logits sigmoid() rounds to exactly 0 or 1 in float32: BCELoss then takes log(0), clamps it to
-100 and loses the gradient, while BCEWithLogitsLoss stays finite, exact and keeps its gradient.
"""
import torch
import torch.nn as nn

logits = torch.tensor([0.5, -1.0, 2.0, -0.3])
target = torch.tensor([1.0, 0.0, 1.0, 0.0])
print(f"{nn.BCELoss()(torch.sigmoid(logits), target).item():.6f}")   # moderate logits: they agree
print(f"{nn.BCEWithLogitsLoss()(logits, target).item():.6f}")

big = torch.tensor([200.0, -200.0, 30.0], requires_grad=True)
t = torch.tensor([0.0, 1.0, 1.0])                # two confidently wrong, one confidently right
print(torch.sigmoid(big))                        # saturated: exactly 1, 0, 1

bce = nn.BCELoss(reduction='none')(torch.sigmoid(big), t)
print("BCELoss          ", bce)                  # log(0) clamped to -100 -> 100 (wrong: should be 200)
bce.sum().backward()
print("  grad           ", big.grad)             # gradient vanished
big.grad = None

bcel = nn.BCEWithLogitsLoss(reduction='none')(big, t)
print("BCEWithLogitsLoss", bcel)                 # 200, 200, ~1e-13: exact
bcel.sum().backward()
print("  grad           ", big.grad)             # sigmoid(x) - t: full gradient
print("finite:", bool(torch.isfinite(bcel).all()), "| exact 200:", bcel[0].item() == 200.0)
