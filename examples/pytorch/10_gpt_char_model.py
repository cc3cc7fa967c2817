"""A tiny GPT-style character model: token + position embeddings, causal self-attention, MLP blocks,
trained for a few AdamW steps, then greedy generation."""
import math
import zlib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

text = "hello world. hello ember. hello torch. " * 4
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
itos = {i: c for c, i in stoi.items()}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
vocab, block, d = len(chars), 16, 32
print(vocab, len(data))


class CausalSelfAttention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.n_head = n_head
        self.register_buffer("mask", torch.tril(torch.ones(block, block)).view(1, 1, block, block))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, n_head)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.blocks = nn.Sequential(Block(d, 4), Block(d, 4))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T))
        logits = self.head(self.ln_f(self.blocks(x)))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, n):
        for _ in range(n):
            logits, _ = self(idx[:, -block:])
            idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return idx


model = GPT()
with torch.no_grad():
    for name, p in model.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_f.weight":
            p.fill_(1.0)
        elif p.dim() == 1:
            p.zero_()
        else:
            p.copy_(torch.from_numpy((0.2 * r.standard_normal(tuple(p.shape))).astype(np.float32)))
print(sum(p.numel() for p in model.parameters()))

# check the mask really is causal: changing a later token leaves earlier logits alone
a = data[:block].unsqueeze(0)
b = a.clone()
b[0, -1] = (b[0, -1] + 1) % vocab
with torch.no_grad():
    print("causal:", torch.allclose(model(a)[0][:, :-1], model(b)[0][:, :-1], atol=1e-6))

starts = torch.arange(0, len(data) - block - 1, 9)
xb = torch.stack([data[s:s + block] for s in starts])
yb = torch.stack([data[s + 1:s + block + 1] for s in starts])
print(xb.shape, yb.shape)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
for step in range(30):
    _, loss = model(xb, yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0 or step == 29:
        print(f"step {step} loss {loss.item():.4f}")
out = model.generate(torch.tensor([[stoi["h"]]]), 12)
print(repr("".join(itos[i] for i in out[0].tolist())))
