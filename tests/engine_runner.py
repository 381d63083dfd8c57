"""Run the engine on scikit-image's photos in a fresh process with a given thread count.

    python -m tests.engine_runner WEIGHTS OUT.npz --threads N

TensorFlow's thread pools are fixed once per process, so comparing thread counts needs one process
each. The photos are detected twice; the script fails if the two passes differ at all.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import skimage.data

PHOTOS = ("astronaut", "coffee", "chelsea")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("weights")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()

    from app.mrcnn import MaskRCNN

    model = MaskRCNN.from_weights(args.weights, threads=args.threads)
    images = [getattr(skimage.data, name)() for name in PHOTOS]
    first = model.detect(images)
    second = model.detect(images)
    arrays = {}
    for name, a, b in zip(PHOTOS, first, second, strict=True):
        for key in ("rois", "class_ids", "scores", "masks"):
            if a[key].dtype != b[key].dtype or not np.array_equal(a[key], b[key]):
                sys.exit(f"{name}: {key} differs between two passes in one process")
            arrays[f"{name}/{key}"] = a[key]
    np.savez_compressed(args.out, **arrays)


if __name__ == "__main__":
    main()
