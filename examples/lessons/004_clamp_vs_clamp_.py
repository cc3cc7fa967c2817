"""Lesson 004 -- clamp/clip return a new tensor; clamp_ changes the tensor in place."""
import torch

x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
y = torch.clamp(x, min=-1, max=1)
print(x)                       # unchanged!
print(y)
print(torch.clip(x, -1, 1))    # clip is an alias of clamp
print(x.clamp(min=0))          # one-sided

x.clamp_(-1, 1)                # trailing underscore: in place, returns x itself
print(x)

# In place is memory-efficient, but the old values are gone -- and autograd may need them
w = torch.tensor([0.5, 3.0], requires_grad=True)
z = w * 2
out = z.clamp(max=4)
out.sum().backward()
print(w.grad)                  # gradient is 0 where the clamp was active
