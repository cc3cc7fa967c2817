"""The spatial and sequence half of ``torch.nn.functional``, one module per concept.  ``nn/functional.py``
star-imports each module and adds its ``__all__`` to its own, so ``ember.nn.functional.conv2d`` is
``_functional.conv.conv2d`` (the same object).

- ``conv.py``: conv1d/2d/3d, conv_transpose1d/2d/3d, conv_tbc
- ``pooling.py``: max/avg/adaptive/L^p/fractional pooling (1-3 d) and max_unpool
- ``padding.py``: pad (constant, reflect, replicate, circular)
- ``resampling.py``: interpolate/upsample, affine_grid, grid_sample
- ``fold.py``: unfold/fold, pixel_shuffle/unshuffle, channel_shuffle
- ``attention.py``: scaled_dot_product_attention, multi_head_attention_forward
- ``arguments.py``: the argument helpers they share (ints -> tuples, batching, torch's shape/dtype names)

Each functional checks and normalises its arguments and calls one Function from ``ember/ops/``.
"""
