"""Variable-length sequences: pad_sequence, a bidirectional GRU over a PackedSequence, and pad_packed_sequence."""
import zlib
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

rng = np.random.default_rng(2)
seqs = [torch.from_numpy(rng.standard_normal((n, 3)).astype(np.float32)) for n in (5, 2, 4)]
lengths = torch.tensor([len(s) for s in seqs])
padded = pad_sequence(seqs, batch_first=True)
print(padded.shape, lengths.tolist(), padded[1, 2:].abs().sum().item())

gru = nn.GRU(input_size=3, hidden_size=4, batch_first=True, bidirectional=True)
with torch.no_grad():
    for name, p in gru.named_parameters():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        p.copy_(torch.from_numpy(r.uniform(-0.5, 0.5, size=tuple(p.shape)).astype(np.float32)))
print([(n, tuple(p.shape)) for n, p in gru.named_parameters()])

packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
out, h_n = gru(packed)
unpacked, out_lengths = pad_packed_sequence(out, batch_first=True)
print(unpacked.shape, out_lengths.tolist(), h_n.shape)
print(unpacked[1, 2:].abs().sum().item())          # positions past the end stay zero
print(h_n.detach().round(decimals=4))

# the same sequence alone gives the same result as inside the packed batch
alone, h_alone = gru(seqs[1].unsqueeze(0))
print(torch.allclose(alone[0], unpacked[1, :2], atol=1e-6), torch.allclose(h_alone[:, 0], h_n[:, 1], atol=1e-6))

loss = unpacked.pow(2).sum() + h_n.sum()
loss.backward()
print(f"{loss.item():.4f}", gru.weight_hh_l0_reverse.grad.abs().sum().round(decimals=4))
