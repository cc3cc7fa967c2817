"""The built-in nn.TransformerEncoder (batch_first, pre-norm) with a padding mask, a classifier on top;
weights copied in from NumPy, a few training steps, then eval-mode predictions."""
import zlib
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self, vocab=12, d=16, n_classes=3, max_len=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d))
        layer = nn.TransformerEncoderLayer(d_model=d, nhead=4, dim_feedforward=32, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d, n_classes)

    def forward(self, tokens):
        pad = tokens == 0                                  # True where padding: not attended to
        h = self.encoder(self.embed(tokens) + self.pos[:, :tokens.shape[1]], src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        pooled = (h * keep).sum(1) / keep.sum(1)           # mean over real tokens
        return self.head(pooled)


model = Classifier()
print([n for n, _ in model.named_parameters()][:8])
print(sum(p.numel() for p in model.parameters()))
with torch.no_grad():
    for name, p in model.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        if "norm" in name and name.endswith("weight"):
            p.fill_(1.0)
        else:
            p.copy_(torch.from_numpy((0.3 * r.standard_normal(tuple(p.shape))).astype(np.float32)))
    model.embed.weight[0].zero_()

rng = np.random.default_rng(11)
lengths = rng.integers(4, 11, size=20)
tokens = np.zeros((20, 10), dtype=np.int64)
for i, n in enumerate(lengths):
    tokens[i, :n] = rng.integers(1, 12, size=n)
labels = torch.from_numpy(tokens[:, 0] % 3)                # the class is set by the first token
x = torch.from_numpy(tokens)

opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(6):
    loss = F.cross_entropy(model(x), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.4f}")
model.eval()
with torch.no_grad():
    logits = model(x)
    # padding really is ignored: the same sequence without its padding gives the same logits
    n = int(lengths[0])
    alone = model(x[:1, :n])
    print(torch.allclose(alone, logits[:1], atol=1e-5), n)
    print(logits[:3].round(decimals=4))
    print("accuracy", (logits.argmax(1) == labels).float().mean().item())
