"""Lesson 004 (Boostcamp week 1 notes) -- view vs reshape, stride() and storage.

view() never copies: it works exactly when the new shape can be described with strides over the same
storage. reshape() returns a view when it can and a copy when it must.
"""
import torch

x = torch.arange(12).reshape(3, 4)
print(x.stride(), x.is_contiguous())            # (4, 1) True: next column 1 element on, next row 4 on
t = x.t()                                       # transpose: same storage, strides swapped
print(t.shape, t.stride(), t.is_contiguous())   # torch.Size([4, 3]) (1, 4) False
print("same storage:", t.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())

try:
    t.view(12)
except RuntimeError as e:
    print("view on non-contiguous:", e)

r = t.reshape(12)                               # has to copy
print(r)
print("reshape copied:", r.data_ptr() != x.data_ptr())
c = t.contiguous().view(12)                     # the explicit way: copy, then view
print(torch.equal(r, c))

# A non-contiguous tensor can still be viewed when the strides allow it ("contiguity-like")
s = x[:, 1:3]                                   # columns 1..2: strides (4, 1), not contiguous
print(s.stride(), s.is_contiguous(), s.storage_offset())
print(s.view(3, 2, 1).shape, s.view(3, 2, 1).stride())
u = x[:, ::2]                                    # every other column
print(u.stride(), u.unsqueeze(1).stride())

# Views share memory: writing through one shows in the other
v = x.view(2, 6)
v[0, 0] = 100
print(x[0, 0].item(), v.data_ptr() == x.data_ptr())
r2 = x.reshape(4, 3)                             # contiguous input: reshape is a view too
r2[0, 1] = -1
print(x[0, 1].item())
