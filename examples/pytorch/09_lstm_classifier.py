"""An LSTM sequence classifier: Embedding -> LSTM -> last hidden state -> Linear, trained a few steps.
Task: does the sequence contain more 1-tokens than 2-tokens?"""
import zlib
import numpy as np
import torch
import torch.nn as nn


class LSTMClassifier(nn.Module):
    def __init__(self, vocab=5, emb=8, hidden=12, n_classes=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, tokens):
        h_seq, (h_n, c_n) = self.lstm(self.embed(tokens))
        return self.out(h_n[-1])


model = LSTMClassifier()
print(model)
print([(n, tuple(p.shape)) for n, p in model.named_parameters()])
with torch.no_grad():
    for name, p in model.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        p.copy_(torch.from_numpy(r.uniform(-0.4, 0.4, size=tuple(p.shape)).astype(np.float32)))
    model.embed.weight[0].zero_()

rng = np.random.default_rng(7)
tokens = rng.integers(1, 5, size=(24, 10))
labels = ((tokens == 1).sum(1) > (tokens == 2).sum(1)).astype(np.int64)
x, y = torch.from_numpy(tokens), torch.from_numpy(labels)
print(x.shape, y.float().mean().item())

out, (h, c) = model.lstm(model.embed(x))
print(out.shape, h.shape, c.shape, torch.allclose(out[:, -1], h[0]))

opt = torch.optim.Adam(model.parameters(), lr=0.02)
loss_fn = nn.CrossEntropyLoss()
for step in range(10):
    loss = loss_fn(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 3 == 0 or step == 9:
        print(f"step {step} loss {loss.item():.4f}")
with torch.no_grad():
    logits = model(x)
print(logits[:4].round(decimals=4))
print("accuracy", (logits.argmax(1) == y).float().mean().item())
