"""Lesson 003 with a summary: the pre-LN Transformer block (d_model=512) layer by layer.

Run: python examples/lessons/viz/003_summarise_block.py
"""
import ember as torch
from ember import nn


class PreLNBlock(nn.Module):
    def __init__(self, d_model=512, n_heads=8, d_ff=2048, dropout=0.1):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.drop(self.attn(h, h, h, need_weights=False)[0])
        return x + self.drop(self.ff(self.ln2(x)))


block = PreLNBlock()
stats = torch.summary(block, input_size=(2, 16, 512))
print(f"total: {stats.total_params:,} parameters")
