"""Lesson 003 -- code block 3: a minimal pre-LN Transformer block."""
import torch
import torch.nn as nn

class TransformerBlock(nn.Module):
    def __init__(self, d_model=512, n_head=8, d_ff=2048, drop=0.1):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head, dropout=drop, batch_first=True)
        self.ln1 = nn.LayerNorm(d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(
            nn.Linear(d_model, d_ff),
            nn.GELU(),
            nn.Dropout(drop),
            nn.Linear(d_ff, d_model),
            nn.Dropout(drop),
        )

    def forward(self, x, attn_mask=None):
        # Pre-LN style -- modern Transformer convention
        h = self.ln1(x)
        h, _ = self.attn(h, h, h, attn_mask=attn_mask, need_weights=False)
        x = x + h               # residual connection

        h = self.ln2(x)
        h = self.ff(h)
        x = x + h               # residual connection
        return x

block = TransformerBlock()
x = torch.randn(2, 16, 512)    # batch=2, seq=16, dim=512
print(block(x).shape)          # torch.Size([2, 16, 512])

# With a causal mask (True = may not attend), in eval mode
block.eval()
mask = torch.triu(torch.ones(16, 16, dtype=torch.bool), diagonal=1)
print(block(x, attn_mask=mask).shape)
print(block)
