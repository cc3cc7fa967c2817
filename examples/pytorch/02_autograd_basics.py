"""Autograd basics: requires_grad, backward, accumulation, no_grad/detach, autograd.grad, higher order."""
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x ** 2 + 3 * x).sum()
y.backward()
print(y.item(), x.grad)                     # dy/dx = 2x + 3

y = (x ** 2).sum()
y.backward()                                # gradients accumulate ...
print(x.grad)
x.grad.zero_()                              # ... until zeroed
print(x.grad)

w = torch.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
b = torch.tensor([0.1, -0.2], requires_grad=True)
inp = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
out = torch.tanh(inp @ w + b)
loss = (out ** 2).mean()
loss.backward()
print(round(loss.item(), 6), w.grad, b.grad)
print(out.grad_fn is not None, w.is_leaf, out.is_leaf, out.requires_grad)

with torch.no_grad():
    z = w * 2
print(z.requires_grad, w.detach().requires_grad)

# non-leaf gradients need retain_grad
h = x * 2
h.retain_grad()
(h * h).sum().backward()
print(h.grad)

# torch.autograd.grad and second derivatives
t = torch.tensor(2.0, requires_grad=True)
f = t ** 3
(g,) = torch.autograd.grad(f, t, create_graph=True)
(g2,) = torch.autograd.grad(g, t)
print(g.item(), g2.item())                  # 3t^2 = 12, 6t = 12

# gradient of a non-scalar output needs a vector
v = torch.tensor([1.0, 0.5, 0.25], requires_grad=True)
o = v * torch.tensor([2.0, 4.0, 8.0])
o.backward(torch.ones(3))
print(v.grad)
print(torch.is_grad_enabled())
