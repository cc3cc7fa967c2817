"""Lesson 004 -- train a linear regression, then read its parameters from state_dict()."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(0)
x_np = rng.uniform(-1, 1, size=(100, 1)).astype(np.float32)
y_np = (3.0 * x_np + 0.5 + 0.01 * rng.standard_normal((100, 1))).astype(np.float32)
x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)


class LinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


model = LinearRegression()
with torch.no_grad():                       # same start in every framework
    model.linear.weight.fill_(0.0)
    model.linear.bias.fill_(0.0)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.MSELoss()
for epoch in range(200):
    loss = criterion(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 50 == 0:
        print(f"epoch {epoch:3d} loss {loss.item():.6f}")

model_info = model.state_dict()
print(list(model_info.keys()))
coef = model_info["linear.weight"]
bias = model_info["linear.bias"]
print("coef", coef.shape, round(coef.item(), 4))
print("bias", bias.shape, round(bias.item(), 4))
print("final loss", round(criterion(model(x), y).item(), 6))
