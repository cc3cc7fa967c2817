"""torch.utils.data beyond the basic loop: map-style and iterable datasets, Subset/ConcatDataset,
samplers, drop_last, and collate functions (default on dicts/tuples, and a custom padding one)."""
import torch
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                              SequentialSampler, Subset, TensorDataset)


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": torch.tensor([float(i), float(i) ** 2]), "y": i % 3, "name": f"item{i}"}


ds = Squares()
batch = next(iter(DataLoader(ds, batch_size=4)))
print(sorted(batch), batch["x"], batch["y"], batch["name"])

loader = DataLoader(ds, batch_size=4, drop_last=True)
print(len(loader), [b["y"].tolist() for b in loader])

sub = Subset(ds, [9, 0, 5])
print(len(sub), [item["y"] for item in sub])
both = ConcatDataset([TensorDataset(torch.arange(3)), TensorDataset(torch.arange(10, 14))])
print(len(both), [both[i][0].item() for i in range(len(both))])

print(list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)))
print([b.tolist() for (b,) in DataLoader(both, sampler=[6, 0, 4, 2], batch_size=2)])


class Counter(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(torch.tensor([i, -i]) for i in range(self.n))


print([b.tolist() for b in DataLoader(Counter(5), batch_size=2)])


def pad_collate(samples):
    """Variable-length sequences -> one padded batch + lengths."""
    lengths = torch.tensor([len(s) for s in samples])
    out = torch.zeros(len(samples), int(lengths.max()), dtype=torch.long)
    for i, s in enumerate(samples):
        out[i, :len(s)] = s
    return out, lengths


seqs = [torch.arange(1, n + 1) for n in (3, 1, 4, 2)]
for padded, lengths in DataLoader(seqs, batch_size=2, collate_fn=pad_collate):
    print(padded.tolist(), lengths.tolist())

x, y = next(iter(DataLoader(TensorDataset(torch.ones(5, 2), torch.arange(5)), batch_size=5)))
print(x.shape, y.dtype, y.tolist())
