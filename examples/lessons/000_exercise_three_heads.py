"""Lesson 000 -- exercise: one backbone, three heads (10-class classification, scalar regression, 32-d
embedding), a batch of 16 through all three, each head's output fed to the loss it belongs with."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadNet(nn.Module):
    def __init__(self, in_dim=128, hidden_dim=64, num_classes=10, emb_dim=32):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
        )
        self.clf = nn.Linear(hidden_dim, num_classes)   # logits
        self.reg = nn.Linear(hidden_dim, 1)             # one number per example
        self.emb = nn.Linear(hidden_dim, emb_dim)       # L2-normalized projection

    def forward(self, x):
        z = self.backbone(x)
        return self.clf(z), self.reg(z), F.normalize(self.emb(z), dim=-1)


model = MultiHeadNet()
x = torch.randn(16, 128)
logits, pred, emb = model(x)
print("logits", logits.shape)      # [16, 10]
print("regression", pred.shape)    # [16, 1]
print("embedding", emb.shape)      # [16, 32]
print("unit norm:", torch.allclose(emb.norm(dim=-1), torch.ones(16), atol=1e-5))

# classification: logits (not probabilities) + class indices -> CrossEntropyLoss
labels = torch.randint(0, 10, (16,))
ce = nn.CrossEntropyLoss()(logits, labels)
# regression: [16, 1] predictions need [16, 1] targets (a [16] target would broadcast to [16, 16])
targets = torch.randn(16, 1)
mse = nn.MSELoss()(pred, targets)
# embedding: pairs of normalized vectors, +1 for "similar", -1 for "dissimilar"
other = F.normalize(torch.randn(16, 32), dim=-1)
same = torch.where(torch.rand(16) > 0.5, torch.ones(16), -torch.ones(16))
cos = nn.CosineEmbeddingLoss()(emb, other, same)
for name, loss in [("cross_entropy", ce), ("mse", mse), ("cosine_embedding", cos)]:
    print(name, "loss shape", loss.shape, "finite", bool(torch.isfinite(loss)))

(ce + mse + cos).backward()
print("every parameter has a gradient:", all(p.grad is not None for p in model.parameters()))
