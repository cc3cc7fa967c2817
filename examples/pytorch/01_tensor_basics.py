"""Tensor basics: creation, dtypes, arithmetic and broadcasting, indexing, reductions, shapes, NumPy."""
import numpy as np
import torch

a = torch.tensor([[1, 2, 3], [4, 5, 6]])
b = torch.arange(6, dtype=torch.float32).reshape(2, 3)
print(a.dtype, b.dtype, a.shape, b.size(1), a.ndim, a.numel())
print(torch.zeros(2, 2), torch.ones(3, dtype=torch.int64), torch.full((2,), 7.5))
print(torch.eye(3))
print(torch.linspace(0, 1, 5), torch.arange(0, 10, 3))

# arithmetic, type promotion, broadcasting
print(a + b)                        # int64 + float32 -> float32
print((a * 2).dtype, (a / 2).dtype, (a // 2), a % 4)
print(b - b.mean(dim=0, keepdim=True))
print(a.T.float() @ b, torch.matmul(b, b.T))
print(torch.tensor([1.0, 4.0, 9.0]).sqrt(), torch.exp(torch.tensor([0.0, 1.0])), b.pow(2))

# indexing and slicing
x = torch.arange(24).reshape(2, 3, 4)
print(x[1], x[:, 0, ::2], x[..., -1])
print(x[x % 5 == 0])
idx = torch.tensor([2, 0])
print(x[0, idx], x[0].index_select(1, idx))
print(torch.where(b > 2, b, -b))

# reductions
print(b.sum(), b.sum(dim=1), b.mean(), b.max(), b.argmax(), b.max(dim=1))
print(b.std(), b.var(dim=0), b.prod(dim=1), b.cumsum(dim=1))
print(torch.tensor([3, 1, 2]).sort(), torch.topk(torch.tensor([5.0, 1.0, 7.0, 3.0]), 2))

# shapes
print(x.view(6, 4).shape, x.permute(2, 0, 1).shape, x.transpose(0, 1).shape, x.flatten(1).shape)
print(torch.cat([b, b], dim=0).shape, torch.stack([b, b]).shape, b.unsqueeze(0).shape, b[None].squeeze().shape)
print(torch.chunk(torch.arange(10), 3), torch.split(torch.arange(5), 2))

# NumPy bridge: from_numpy shares memory
n = np.array([1.0, 2.0, 3.0], dtype=np.float32)
t = torch.from_numpy(n)
n[0] = 100.0
print(t, t.numpy().dtype, torch.tensor(n).dtype)
print(t.tolist(), t[1].item(), type(t[1].item()).__name__)
print(b.to(torch.int32), b.double().dtype, b.long().dtype, b.bool())
