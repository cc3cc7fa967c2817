"""Lesson 004 -- a linear SVM (hinge loss: nn.MultiMarginLoss) vs logistic regression
(cross entropy) on a linearly separable 2-D set. Both separate it; the SVM stops caring about points
beyond the margin, logistic regression keeps pushing every point further."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(42)
n = 50
a = rng.normal([2.0, 2.0], 0.6, size=(n, 2))
b = rng.normal([-2.0, -2.0], 0.6, size=(n, 2))
x = torch.from_numpy(np.concatenate([a, b]).astype(np.float32))
y = torch.from_numpy(np.concatenate([np.zeros(n), np.ones(n)]).astype(np.int64))
w0 = torch.from_numpy(rng.normal(0, 0.1, size=(2, 2)).astype(np.float32))


def train(criterion, steps=300, lr=0.2):
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(w0)
        model.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = criterion(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, loss.item()


svm, svm_loss = train(nn.MultiMarginLoss(margin=1.0))
logreg, lr_loss = train(nn.CrossEntropyLoss())
for name, model, loss in [("linear SVM", svm, svm_loss), ("logistic regression", logreg, lr_loss)]:
    with torch.no_grad():
        scores = model(x)
        acc = (scores.argmax(1) == y).float().mean().item()
        margin = scores.gather(1, y[:, None])[:, 0] - scores.gather(1, (1 - y)[:, None])[:, 0]
    print(f"{name:<20} loss {loss:.4f} accuracy {acc:.2f} min margin {margin.min().item():.4f} "
          f"weight norm {model.weight.norm().item():.4f}")
print("SVM hinge loss is exactly 0 once all margins exceed 1:", svm_loss == 0.0)
print("logistic loss stays positive:", lr_loss > 0)
