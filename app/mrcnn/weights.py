"""Loading matterport's Keras 2 `.h5` weight files by layer name, with h5py, and checking the load.

A silent partial load (layers left at their initial values) is the classic failure of matterport
ports; here every weighted layer of the model must be filled from the file with the exact shape,
and each value is compared with the file's after assignment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .errors import WeightsError

CLASS_LOGITS = "mrcnn_class_logits"
_STAGE4_LAYER = re.compile(r"(?:res|bn)4([a-z])_branch")


@dataclass(frozen=True)
class FileSummary:
    """What the model builder needs to know about a weight file before building."""

    num_classes: int
    stage4_blocks: int


def _decode(names) -> list[str]:
    # Weightless layers store an empty float64 array; names are fixed-length bytes.
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in np.asarray(names).ravel()]


@contextmanager
def open_weights(path: str | Path) -> Iterator[h5py.Group]:
    """Open a weight file and yield the group holding the layers (root or `model_weights`)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weight file not found: {path}")
    if not h5py.is_hdf5(path):
        raise WeightsError(f"{path} is not an HDF5 file: expected matterport's mask_rcnn_coco.h5 "
                           "or a .h5 saved by its model")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsError(f"{path} is a damaged or truncated HDF5 file ({exc})") from None
    with handle:
        root = handle
        if "layer_names" not in root.attrs and "model_weights" in root:
            root = root["model_weights"]  # a full-model file wraps the weights in this group
        if "layer_names" not in root.attrs and "layers" in root and "vars" in root:
            raise WeightsError(f"{path} is a Keras 3 .weights.h5 file (no layer_names attribute): expected "
                               "matterport's Keras 2 layout, as in mask_rcnn_coco.h5")
        if "layer_names" not in root.attrs:
            raise WeightsError(f"{path} is HDF5 but not a Keras weight file (no layer_names attribute)")
        yield root


def summarize(root: h5py.Group, path: str | Path) -> FileSummary:
    """Class count (from the class-logits bias) and ResNet stage-4 depth of a weight file."""
    names = tuple(_decode(root.attrs["layer_names"]))
    if CLASS_LOGITS not in names or CLASS_LOGITS not in root:
        raise WeightsError(f"{path} is not a matterport Mask R-CNN weight file: missing layer {CLASS_LOGITS}")
    weights = _decode(root[CLASS_LOGITS].attrs.get("weight_names", []))
    try:
        bias = root[CLASS_LOGITS][next(w for w in weights if w.endswith("bias:0"))]
        num_classes = int(bias.shape[0])
    except (StopIteration, KeyError, IndexError):
        raise WeightsError(f"{path}: layer {CLASS_LOGITS} has no bias to read the class count from") from None
    # Count stage-4 blocks by every layer that names one (conv or BN, any branch), not by one layer
    # kind: a file that lost e.g. res4w_branch2a must fail as "missing layer res4w_branch2a", not
    # build a 22-block network that silently ignores the rest of block w.
    stage4 = len({m.group(1) for n in names if (m := _STAGE4_LAYER.match(n))})
    return FileSummary(num_classes, stage4)


class WeightReader:
    """Reads one layer group at a time, checking weight names and shapes against the model's."""

    def __init__(self, root: h5py.Group, path: str | Path):
        self.root = root
        self.path = path
        self.names = set(_decode(root.attrs["layer_names"]))
        self.groups_read: list[str] = []

    def read(self, group_name: str, expected: Sequence[tuple[str, tuple[int, ...]]]) -> list[np.ndarray]:
        """Datasets of one group in the file's weight order; `expected` is (short name, shape) each.

        Raises WeightsError naming the layer on a missing layer, name or shape mismatch, or bad data.
        """
        path = self.path
        if group_name not in self.names or group_name not in self.root:
            raise WeightsError(f"{path}: missing layer {group_name}")
        group = self.root[group_name]
        weight_names = _decode(group.attrs.get("weight_names", []))
        if len(weight_names) != len(expected):
            raise WeightsError(f"{path}: layer {group_name} has {len(weight_names)} weights, "
                               f"expected {len(expected)}")
        arrays = []
        for weight_name, (short, shape) in zip(weight_names, expected, strict=True):
            if weight_name.rsplit("/", 1)[-1].split(":")[0] != short:
                raise WeightsError(f"{path}: layer {group_name} has weight {weight_name} where "
                                   f"{short} was expected")
            try:
                dataset = group[weight_name]
                if tuple(dataset.shape) != tuple(shape):
                    raise WeightsError(f"{path}: shape mismatch at layer {group_name} ({weight_name}): "
                                       f"expected {tuple(shape)}, found {tuple(dataset.shape)}")
                arrays.append(np.asarray(dataset, dtype=np.float32))
            except (OSError, KeyError) as exc:
                raise WeightsError(f"{path}: cannot read {weight_name} of layer {group_name} "
                                   f"(damaged file? {exc})") from None
        self.groups_read.append(group_name)
        return arrays

    def unread_weighted_groups(self) -> list[str]:
        """Groups of the file that hold weights but were never read: a layout this model does not match."""
        read = set(self.groups_read)
        return [name for name in sorted(self.names - read)
                if name in self.root and len(_decode(self.root[name].attrs.get("weight_names", [])))]
