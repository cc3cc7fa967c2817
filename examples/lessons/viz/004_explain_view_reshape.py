"""Lesson 004 with pictures: which storage cells view, t(), slicing, expand and reshape read.

Run: python examples/lessons/viz/004_explain_view_reshape.py [OUT_DIR]   (writes storage.png there)
"""
import sys

import ember as torch
import ember.viz

x = torch.arange(12).view(3, 4)
xt = x.t()
print(ember.viz.explain(x, xt, x[:, ::2], names=["x", "x.t()", "x[:, ::2]"]))

# x.t() is not contiguous: view() can't re-read it as 12 elements in a row, reshape() copies
print("x.t().is_contiguous():", xt.is_contiguous())
try:
    xt.view(12)
except RuntimeError as e:
    print("x.t().view(12) ->", str(e).splitlines()[0][:60], "...")
flat = xt.reshape(12)
print(ember.viz.explain(xt, flat, names=["x.t()", "x.t().reshape(12)"]))

# expand reads the same cells again (stride 0): no memory is copied
row = torch.tensor([1.0, 2.0, 3.0])
print(ember.viz.explain(row.expand(2, 3), names=["row.expand(2, 3)"]))

out = sys.argv[1] if len(sys.argv) > 1 else "."
ember.viz.draw_storage(x, xt, flat, names=["x", "x.t()", "x.t().reshape(12)"], path=f"{out}/storage.png")
print("wrote storage.png")
