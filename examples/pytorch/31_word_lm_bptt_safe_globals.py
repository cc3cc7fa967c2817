"""A word-level language model trained with truncated backprop through time, saved whole and reloaded
with ``weights_only=True`` by naming its classes in ``torch.serialization.safe_globals``.

The token stream is cut into ``batch`` columns (``batchify``); each step feeds ``bptt`` rows and carries
the hidden state over, detached (``repackage_hidden``), so gradients stop at the chunk boundary.
"""
import math
import os
import pickle
import tempfile

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(0)
vocab, batch, bptt = 12, 4, 6
stream = torch.from_numpy(np.tile(rng.permutation(vocab), 12)).long()  # a repeating "sentence"


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


class WordLM(nn.Module):
    def __init__(self, ntoken, nhid):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.GRU(nhid, nhid)
        self.decoder = nn.Linear(nhid, ntoken)
        for p in self.parameters():  # NumPy-drawn weights: the same in any framework
            with torch.no_grad():
                p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))

    def forward(self, x, h):
        out, h = self.rnn(self.encoder(x), h)
        return torch.log_softmax(self.decoder(out), dim=-1).view(-1, self.decoder.out_features), h


def repackage_hidden(h):
    return h.detach() if isinstance(h, torch.Tensor) else tuple(repackage_hidden(v) for v in h)


data = batchify(stream, batch)
print("batchified:", tuple(data.shape), data[:2].tolist())
model, criterion, lr = WordLM(vocab, 16), nn.NLLLoss(), 2.0
for epoch in range(3):
    hidden, total = torch.zeros(1, batch, 16), 0.0
    for i in range(0, data.size(0) - 1, bptt):
        seq_len = min(bptt, data.size(0) - 1 - i)
        x, y = data[i:i + seq_len], data[i + 1:i + 1 + seq_len].reshape(-1)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        out, hidden = model(x, hidden)
        loss = criterion(out, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total += loss.item() * seq_len
    print(f"epoch {epoch} loss {total / (data.size(0) - 1):.4f} ppl {math.exp(total / (data.size(0) - 1)):.3f}")
    lr /= 2.0

allowed = [WordLM, torch.nn.modules.sparse.Embedding, torch.nn.modules.rnn.GRU, torch.nn.modules.linear.Linear]
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "word_lm.pt")
    torch.save(model, path)
    try:
        torch.load(path)
    except Exception as e:
        print("weights_only=True refuses:", isinstance(e, pickle.UnpicklingError), "WordLM" in str(e))
    with torch.serialization.safe_globals(allowed):
        loaded = torch.load(path)
print("allowlist restored:", WordLM not in torch.serialization.get_safe_globals())
x = data[:bptt]
with torch.no_grad():
    a, _ = model(x, torch.zeros(1, batch, 16))
    b, _ = loaded(x, torch.zeros(1, batch, 16))
print("loaded", type(loaded).__name__, "same outputs:", torch.equal(a, b))
print("next words:", a.argmax(-1)[:8].tolist())
