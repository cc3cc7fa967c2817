"""Lesson 003 -- code block 2: nn.Embedding as a lookup table, and padding_idx."""
import torch
import torch.nn as nn

# Vocab of 10,000 tokens, each represented by a 256-dim vector
embed = nn.Embedding(num_embeddings=10000, embedding_dim=256)

token_ids = torch.tensor([42, 100, 7, 2023])
vectors = embed(token_ids)
print(vectors.shape)   # torch.Size([4, 256])
print("embed(idx) is weight[idx]:", torch.equal(vectors, embed.weight[token_ids]))

# Batched
batch = torch.randint(0, 10000, (32, 50))   # batch=32, seq=50
print(embed(batch).shape)                    # torch.Size([32, 50, 256])

# padding_idx -- vector for index 0 stays zero and isn't trained
embed_pad = nn.Embedding(10000, 256, padding_idx=0)
print(embed_pad.weight[0].sum())             # tensor(0.) -- guaranteed

out = embed_pad(torch.tensor([[0, 5, 0, 9]]))
out.sum().backward()
print("grad of padding row:", embed_pad.weight.grad[0].abs().sum())
print("grad of row 5:", embed_pad.weight.grad[5].sum())
print("grad of an unused row:", embed_pad.weight.grad[1].abs().sum())
