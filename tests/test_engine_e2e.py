"""End to end on real photos: detections exist, have matterport's types, and are reproducible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from tests.engine_runner import PHOTOS

ROOT = Path(__file__).resolve().parents[1]


def _run(weights: Path, out: Path, threads: int) -> dict:
    subprocess.run([sys.executable, "-m", "tests.engine_runner", str(weights), str(out),
                    "--threads", str(threads)], cwd=ROOT, check=True, timeout=600)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def runs(coco_weights, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    return _run(coco_weights, tmp / "t1.npz", 1), _run(coco_weights, tmp / "t2.npz", 2)


def test_photos_give_detections_with_matterport_types(runs):
    one, _ = runs
    total = 0
    for name in PHOTOS:
        height, width = getattr(skimage.data, name)().shape[:2]
        rois, class_ids = one[f"{name}/rois"], one[f"{name}/class_ids"]
        scores, masks = one[f"{name}/scores"], one[f"{name}/masks"]
        n = len(class_ids)
        total += n
        assert rois.dtype == np.int32 and rois.shape == (n, 4)
        assert class_ids.dtype == np.int32 and scores.dtype == np.float32 and scores.shape == (n,)
        assert masks.dtype == bool and masks.shape == (height, width, n)
        assert np.all(class_ids > 0) and np.all(scores >= 0.7) and np.all(scores <= 1)
        assert np.all(np.diff(scores) <= 0), "detections must come by descending score"
        assert np.all(rois[:, 2] > rois[:, 0]) and np.all(rois[:, 3] > rois[:, 1])
        assert np.all(rois >= 0) and np.all(rois[:, [2]] <= height) and np.all(rois[:, [3]] <= width)
        for i in range(n):
            y1, x1, y2, x2 = rois[i]
            ys, xs = np.nonzero(masks[..., i])
            if len(ys):  # every mask pixel lies inside its box
                assert ys.min() >= y1 and ys.max() < y2 and xs.min() >= x1 and xs.max() < x2
    assert total > 0, "random weights with amplified class logits must give some detections"


def test_one_and_two_threads_agree_bit_for_bit(runs):
    # iExec consensus hashes results computed by workers with different CPU counts.
    one, two = runs
    for name in PHOTOS:
        for key in ("rois", "class_ids", "masks", "scores"):
            assert np.array_equal(one[f"{name}/{key}"], two[f"{name}/{key}"]), f"{name} {key}"


def test_grayscale_and_rgba_are_converted_like_the_original(coco_model):
    rgb = skimage.data.astronaut()
    gray = skimage.data.camera()
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    from_gray = coco_model.detect([gray])[0]
    from_rgb3 = coco_model.detect([np.stack([gray] * 3, axis=-1)])[0]
    assert from_gray["masks"].shape[:2] == gray.shape
    for key in ("rois", "class_ids", "masks"):
        assert np.array_equal(from_gray[key], from_rgb3[key])
    from_rgba = coco_model.detect([rgba])[0]
    from_rgb = coco_model.detect([rgb])[0]
    for key in ("rois", "class_ids", "masks"):
        assert np.array_equal(from_rgba[key], from_rgb[key])


def test_min_confidence_is_settable(coco_model):
    image = skimage.data.astronaut()
    strict = coco_model.detect([image])[0]
    coco_model.config.DETECTION_MIN_CONFIDENCE = 0.9
    try:
        stricter = coco_model.detect([image])[0]
    finally:
        coco_model.config.DETECTION_MIN_CONFIDENCE = 0.7
    assert np.all(stricter["scores"] >= 0.9)
    assert len(stricter["scores"]) <= len(strict["scores"])
    assert coco_model.class_names[1] == "person" and len(coco_model.class_names) == 81


def test_graph_is_traced_once_for_all_image_sizes(coco_model):
    for shape in ((300, 451, 3), (640, 480, 3), (1024, 1024, 3)):
        coco_model.detect([np.full(shape, 128, np.uint8)])
    assert coco_model._infer.experimental_get_tracing_count() == 1
