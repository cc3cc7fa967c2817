"""VisionDataset: the shared shape of the image datasets (``torchvision.datasets.VisionDataset``)."""
import os

from ember.utils.data import Dataset

__all__ = ["VisionDataset"]


class VisionDataset(Dataset):
    """An image dataset with a ``root`` folder, an image ``transform`` and a ``target_transform``.

    Its ``repr`` lists the size, the root and the transforms, as torchvision's does.
    """

    _repr_indent = 4

    def __init__(self, root=None, transform=None, target_transform=None):
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        self.transform = transform
        self.target_transform = target_transform

    def extra_repr(self):
        return ""

    def __repr__(self):
        head = "Dataset " + self.__class__.__name__
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transform is not None or self.target_transform is not None:
            std = ["StandardTransform"]  # one multi-line entry: only its first line is indented
            if self.transform is not None:
                std += _format_transform(self.transform, "Transform: ")
            if self.target_transform is not None:
                std += _format_transform(self.target_transform, "Target transform: ")
            body.append("\n".join(std))
        lines = [head] + [" " * self._repr_indent + line for line in body]
        return "\n".join(lines)


def _format_transform(transform, head):
    lines = repr(transform).splitlines()
    return [f"{head}{lines[0]}"] + ["{}{}".format(" " * len(head), line) for line in lines[1:]]
