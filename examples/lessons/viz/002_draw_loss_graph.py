"""Lesson 002 with pictures: the autograd graph behind a cross-entropy loss, as text and as a drawing.

Run: python examples/lessons/viz/002_draw_loss_graph.py [OUT_DIR]   (writes graph.svg there)
"""
import sys

import ember as torch
import ember.viz
from ember import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
x = torch.randn(8, 1, 8, 8)
y = torch.randint(0, 10, (8,))
logits = model(x)
loss = nn.functional.cross_entropy(logits, y)
params = dict(model.named_parameters())
print(ember.viz.graph_text(loss, params=params, show_saved=True))

loss.backward()  # fills .grad at every leaf the graph reaches
print({name: tuple(p.grad.shape) for name, p in params.items()})

out = sys.argv[1] if len(sys.argv) > 1 else "."
ember.viz.draw_graph(loss, params=params, path=f"{out}/graph.svg")
print("wrote graph.svg")
