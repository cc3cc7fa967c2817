"""Lesson 002 (torch.autograd: why the loss is a scalar) -- every code cell.

Cross entropy of one example by hand (exp -> sum -> log -> minus the target's score) equals
nn.CrossEntropyLoss; for a (64, 10) batch the loss is ONE number, the mean of the 64 per-example losses;
and that is what lets loss.backward() run without arguments.
"""
import torch
import torch.nn as nn

score = torch.tensor([0.8982, 0.805, 0.6393, 0.9983, 0.5731, 0.0469, 0.556, 0.1476, 0.8404, 0.5544])
target = torch.tensor(1)
print(score.shape)
print(target.shape)

# 1. exp, 2. sum, 3. log, 4. minus the target's score
print(torch.exp(score))
print(torch.sum(torch.exp(score)))
print(torch.log(torch.sum(torch.exp(score))))
print(torch.log(torch.sum(torch.exp(score))) - score[target.item()])
print(target.item(), score[target.item()])

criterion = nn.CrossEntropyLoss()
print(criterion(score, target))

# A batch of 64: one scalar, the mean of the 64 per-image losses
score = torch.randn(64, 10)
target = torch.randint(9, size=(64,))
print(score[:3])
print(score.shape)
print('------------------------------------------------------------------------------')
print(target)
print(target.shape)

acc_loss = 0
for i in range(len(score)):
    loss = torch.log(torch.sum(torch.exp(score[i]))) - score[i, target[i].item()]
    acc_loss += loss
by_hand = acc_loss / len(score)
print(by_hand)
print(criterion(score, target))
print("same:", torch.allclose(by_hand, criterion(score, target)))
print("loss shape:", criterion(score, target).shape)

# Why a scalar: backward() of a scalar needs no argument (d loss / d loss = 1) ...
logits = score.clone().requires_grad_(True)
loss = criterion(logits, target)
loss.backward()
print("grad shape:", logits.grad.shape)
# ... while the 64 per-example losses are a vector: backward() would need a gradient for each of them.
losses = nn.CrossEntropyLoss(reduction='none')(logits, target)
print("per-example losses:", losses.shape)
try:
    losses.backward()
except RuntimeError as e:
    print("RuntimeError:", e)
# Passing that gradient explicitly (ones / 64) gives back the gradient of the mean.
logits.grad = None
losses.backward(torch.ones_like(losses) / 64)
print("grad of mean via explicit gradient matches:", torch.allclose(logits.grad, torch.autograd.grad(
    criterion(logits, target), logits)[0], atol=1e-6))
