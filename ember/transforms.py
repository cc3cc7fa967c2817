"""Image transforms in torchvision's style: callables you chain with :class:`Compose`.

>>> transform = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
>>> x = transform(image)          # (H, W) uint8 ndarray -> (1, H, W) float32 in [-1, 1]

``ToTensor`` turns a picture -- an ``(H, W)`` or ``(H, W, C)`` ndarray, or a PIL image -- into a
channels-first ``(C, H, W)`` tensor, dividing uint8 values by 255. ``Normalize`` then maps each
channel ``c`` to ``(x - mean[c]) / std[c]``.
"""
import numpy as np

import ember

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda", "to_tensor", "normalize"]


def _is_pil_image(pic):
    return type(pic).__module__.startswith("PIL.") and hasattr(pic, "mode") and hasattr(pic, "size")


def to_tensor(pic):
    """A picture as a float tensor ``(C, H, W)``: uint8 values are divided by 255 (into [0, 1],
    in the default float dtype); other dtypes keep their values and dtype."""
    if _is_pil_image(pic):
        mode_to_nptype = {"I": np.int32, "I;16": np.int16, "F": np.float32}
        arr = np.array(pic, mode_to_nptype.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.size[1], pic.size[0], -1)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    arr = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if arr.dtype == np.uint8:
        dt = ember.get_default_dtype().np
        arr = arr.astype(dt) / dt.type(255)
    return ember.from_numpy(arr)


def normalize(tensor, mean, std, inplace=False):
    """``(tensor - mean[c]) / std[c]`` per channel of a ``(..., C, H, W)`` float tensor."""
    if not isinstance(tensor, ember.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    dtype = tensor.dtype
    mean_a = np.asarray(mean.tolist() if isinstance(mean, ember.Tensor) else mean, dtype=dtype.np)
    std_a = np.asarray(std.tolist() if isinstance(std, ember.Tensor) else std, dtype=dtype.np)
    if (std_a == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to division "
                         f"by zero.")
    if mean_a.ndim == 1:
        mean_a = mean_a.reshape(-1, 1, 1)
    if std_a.ndim == 1:
        std_a = std_a.reshape(-1, 1, 1)
    mean_t = ember.as_tensor(mean_a, device=tensor.device)
    std_t = ember.as_tensor(std_a, device=tensor.device)
    if inplace:
        return tensor.sub_(mean_t).div_(std_t)
    return tensor.sub(mean_t).div(std_t)


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        s = self.__class__.__name__ + "("
        for t in self.transforms:
            s += f"\n    {t}"
        return s + "\n)"


class ToTensor:
    """Picture (``(H, W[, C])`` ndarray or PIL image) -> ``(C, H, W)`` tensor; uint8 / 255 -> [0, 1]."""

    def __call__(self, pic):
        return to_tensor(pic)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class Normalize:
    """Per-channel ``(x - mean[c]) / std[c]`` of a ``(..., C, H, W)`` float tensor.

    ``Normalize((0.1307,), (0.3081,))`` standardizes MNIST; ``inplace=True`` overwrites the input.
    """

    def __init__(self, mean, std, inplace=False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor):
        return normalize(tensor, self.mean, self.std, self.inplace)

    def forward(self, tensor):
        return self(tensor)

    def __repr__(self):
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Wrap any function as a transform: ``Lambda(lambda x: x.flatten())``."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{self.__class__.__name__}()"
