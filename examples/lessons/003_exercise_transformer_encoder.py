"""Lesson 003 -- exercise: 6 TransformerBlocks stacked in an nn.ModuleList, depth driven by a config dict;
check the parameter counts (about 3.15M per block at d_model=512, about 18.9M for the stack)."""
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
        h = self.ln1(x)
        h, _ = self.attn(h, h, h, attn_mask=attn_mask, need_weights=False)
        x = x + h
        h = self.ln2(x)
        h = self.ff(h)
        x = x + h
        return x


class TransformerEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.blocks = nn.ModuleList([
            TransformerBlock(config["d_model"], config["n_head"], config["d_ff"], config["dropout"])
            for _ in range(config["n_layer"])
        ])
        self.ln_f = nn.LayerNorm(config["d_model"]) if config.get("final_norm") else nn.Identity()

    def forward(self, x, attn_mask=None):
        for block in self.blocks:
            x = block(x, attn_mask=attn_mask)
        return self.ln_f(x)


config = {"d_model": 512, "n_head": 8, "d_ff": 2048, "dropout": 0.1, "n_layer": 6}
encoder = TransformerEncoder(config)


def count(module):
    return sum(p.numel() for p in module.parameters())


per_block = count(encoder.blocks[0])
total = count(encoder)
print(f"parameters per block: {per_block:,}")
print(f"parameters in {config['n_layer']} blocks: {total:,}")
print("blocks:", len(encoder.blocks), "| total == n_layer * per_block:", total == config["n_layer"] * per_block)
for name, p in encoder.blocks[0].named_parameters():
    print(f"{name:<28} {tuple(p.shape)}")

# A short forward pass through the whole stack (small batch keeps it quick)
x = torch.randn(2, 8, 512)
print(encoder(x).shape)

# The same class at another depth, just by changing the config
small = TransformerEncoder({**config, "n_layer": 2, "final_norm": True})
print("n_layer=2:", f"{count(small):,}")
