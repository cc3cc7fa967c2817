"""The models ``ember train`` trains — each one a lesson's network, written as ordinary PyTorch-style code.

- ``MLP``: lesson 001's ``NeuralNetwork`` (Flatten -> Linear -> ReLU -> Linear -> ReLU -> Linear).
- ``SmallCNN``: two conv blocks and a linear head.
- ``TransformerBlock``: lesson 003's pre-LN block (attention and feed-forward, each with a residual).
- ``TransformerClassifier``: image rows as tokens through TransformerBlocks, mean-pooled to logits.
- ``CharTransformer``: a GPT-style character model (token + position embeddings, causal blocks, head).
"""
import ember
from ember import nn

__all__ = ["MLP", "SmallCNN", "TransformerBlock", "TransformerClassifier", "CharTransformer", "build_model",
           "TEXT_MODEL"]


class MLP(nn.Module):
    """Lesson 001's network: ``in_features`` pixels -> 512 -> 512 -> ``num_classes`` logits."""

    def __init__(self, in_features=784, hidden=512, num_classes=10):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        x = self.flatten(x)
        return self.linear_relu_stack(x)


class SmallCNN(nn.Module):
    """conv(3x3) -> ReLU -> maxpool(2) twice, then global average pooling and a linear head."""

    def __init__(self, in_channels=1, num_classes=10, width=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.head(ember.flatten(x, 1))


class TransformerBlock(nn.Module):
    """Lesson 003's pre-LN Transformer block: x + Attn(LN(x)), then x + FF(LN(x))."""

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
        return x + h


class TransformerClassifier(nn.Module):
    """Reads an image as a sequence: each pixel row is a token, embedded and passed through blocks."""

    def __init__(self, image_size=8, num_classes=10, d_model=64, n_head=4, depth=2, drop=0.1):
        super().__init__()
        self.embed = nn.Linear(image_size, d_model)
        self.pos = nn.Parameter(ember.zeros(1, image_size, d_model))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList([TransformerBlock(d_model, n_head, 4 * d_model, drop) for _ in range(depth)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x):
        x = x.reshape(x.shape[0], x.shape[-2], x.shape[-1])  # (N, 1, H, W) -> (N, H, W): H tokens of W pixels
        h = self.embed(x) + self.pos
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h).mean(dim=1))


class CharTransformer(nn.Module):
    """A GPT-style character model: predicts each next character from the ones before it."""

    def __init__(self, vocab_size, block_size=64, d_model=128, n_head=4, depth=2, drop=0.1):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(block_size, d_model)
        self.blocks = nn.ModuleList([TransformerBlock(d_model, n_head, 4 * d_model, drop) for _ in range(depth)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        # True above the diagonal = "may not look at later positions" (a bool attn_mask, as in torch)
        self.register_buffer("causal", ember.triu(ember.ones(block_size, block_size, dtype=ember.bool), 1),
                             persistent=False)

    def forward(self, idx):
        t = idx.shape[1]
        h = self.tok(idx) + self.pos(ember.arange(t))
        mask = self.causal[:t, :t]
        for block in self.blocks:
            h = block(h, attn_mask=mask)
        return self.head(self.norm(h))

    @ember.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, generator=None):
        """Append ``max_new_tokens`` sampled characters to ``idx`` (N, T)."""
        for _ in range(max_new_tokens):
            logits = self(idx[:, -self.block_size:])[:, -1, :] / temperature
            probs = ember.softmax(logits, dim=-1)
            nxt = ember.multinomial(probs, 1, generator=generator)
            idx = ember.cat([idx, nxt], dim=1)
        return idx


# The character model ember train builds for --data text: small enough to learn a useful amount in about a
# minute on two CPU cores (it underfits rather than overfits there, so no dropout).
TEXT_MODEL = dict(d_model=64, n_head=4, depth=2, drop=0.0)


def build_model(name, *, image_size=8, in_channels=1, num_classes=10, vocab_size=None, block_size=64):
    """The model ``ember train --model name`` uses for this data (``vocab_size`` given: text)."""
    if vocab_size is not None:
        if name != "transformer":
            raise ValueError(f"--data text trains a character-level Transformer: use --model transformer "
                             f"(or leave --model out), not --model {name}")
        return CharTransformer(vocab_size, block_size, **TEXT_MODEL)
    if name == "mlp":
        return MLP(in_channels * image_size * image_size, 512, num_classes)
    if name == "cnn":
        return SmallCNN(in_channels, num_classes)
    if name == "transformer":
        return TransformerClassifier(image_size, num_classes)
    raise ValueError(f"unknown model {name!r}: choose mlp, cnn or transformer")
