"""Write deterministic random weights in the exact HDF5 layout of matterport's mask_rcnn_coco.h5.

The real file cannot be downloaded on the build machines, so tests, benchmarks and the
container CI lane use this stand-in. It reproduces the real file's structure: 407 layer groups
in `layer_names` order, fixed-length byte attributes, nested dataset names, empty float64
`weight_names` for weightless layers, float32 contiguous datasets.

Values are scaled so that activations stay in a sane range through 101 residual layers, and the
class logits of a few classes are amplified so that random weights still yield confident
detections (otherwise every score sits near 1/81 and nothing passes the 0.7 threshold).

    python -m tests.random_weights OUT.h5 [--classes N] [--seed S]
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import h5py
import numpy as np

LAYOUT = Path(__file__).parent / "data" / "mask_rcnn_coco_layout.json.gz"
CLASS_DEPENDENT = {"mrcnn_class_logits", "mrcnn_bbox_fc", "mrcnn_mask"}
# Classes whose logits are amplified (COCO ids: person, cat, dog, cup, ...); modulo num_classes.
CONFIDENT_CLASSES = (1, 16, 17, 42, 47, 58)


def load_layout() -> dict:
    with gzip.open(LAYOUT, "rt") as f:
        return json.load(f)


def _shape_for(layer: str, weight: dict, num_classes: int) -> tuple[int, ...]:
    """Shape of one dataset, re-derived for a class count other than COCO's 81."""
    shape = list(weight["shape"])
    if layer in CLASS_DEPENDENT and num_classes != 81:
        per_class = 4 if layer == "mrcnn_bbox_fc" else 1
        shape[-1] = per_class * num_classes
    return tuple(shape)


def _values(rng: np.random.Generator, layer: str, weight: dict, shape: tuple[int, ...]) -> np.ndarray:
    role = weight["role"]
    name = weight["name"]
    if role == "bias":
        return rng.normal(0.0, 0.01, shape)
    if role == "bn_gamma":
        # Residual branches end in bn*_branch2c: keep them small so the trunk does not blow up.
        scale = 0.3 if "branch2c" in layer else 1.0
        return rng.uniform(0.8, 1.2, shape) * scale
    if role == "bn_beta":
        return rng.normal(0.0, 0.05, shape)
    if role == "bn_moving_mean":
        return rng.normal(0.0, 0.1, shape)
    if role == "bn_moving_variance":
        return rng.uniform(0.5, 1.5, shape)
    if role == "conv_transpose_kernel":
        fan_in = shape[-1]
    elif role == "dense_kernel":
        fan_in = shape[0]
    else:  # conv kernel (kh, kw, in, out)
        fan_in = shape[0] * shape[1] * shape[2]
    std = np.sqrt(1.0 / fan_in)  # keeps activations O(1) through the 101 layers
    if layer == "conv1":
        std /= 64.0  # the molded input is in pixel units (about +-100), not unit scale
    if "rpn_class_raw" in name:
        std *= 4.0  # spread the objectness scores so the proposal ranking is not flat
    return rng.normal(0.0, std, shape)


def write_random_weights(path: str | Path, num_classes: int = 81, seed: int = 0,
                         confident_gain: float = 6.0) -> Path:
    """Write a weight file in the real layout; returns its path."""
    layout = load_layout()
    rng = np.random.default_rng(seed)
    path = Path(path)
    with h5py.File(path, "w") as f:
        names = [layer["name"] for layer in layout["layers"]]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["keras_version"] = np.bytes_(b"2.0.8")
        for layer in layout["layers"]:
            group = f.create_group(layer["name"])
            weights = layer["weights"]
            if not weights:
                group.attrs["weight_names"] = np.array([], dtype=np.float64)
                continue
            group.attrs["weight_names"] = np.array([w["name"].encode() for w in weights])
            for w in weights:
                shape = _shape_for(layer["name"], w, num_classes)
                data = _values(rng, layer["name"], w, shape).astype(np.float32)
                if layer["name"] == "mrcnn_class_logits" and w["role"] == "dense_kernel":
                    for c in CONFIDENT_CLASSES:
                        data[:, c % num_classes or 1] *= confident_gain
                group.create_dataset(w["name"], data=data)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--classes", type=int, default=81)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_random_weights(args.out, args.classes, args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {args.classes} classes)")


if __name__ == "__main__":
    main()
