"""app.results: canonical records (RLE masks, rounding, order) and COCO results that loadRes accepts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from app.results import category_id, coco_results, detection_records, dump, keep_classes, select_classes

COCO_NAMES = ["BG"] + [f"c{i}" for i in range(1, 81)]


def detections(scores=(0.91234, 0.91249, 0.5)) -> dict:
    masks = np.zeros((20, 30, 3), bool)
    masks[2:8, 3:9, 0] = True
    masks[10:18, 5:25, 1] = True
    masks[0:3, 0:3, 2] = True
    return {
        "rois": np.array([[2, 3, 8, 9], [10, 5, 18, 25], [0, 0, 3, 3]], np.int32),
        "class_ids": np.array([1, 12, 80], np.int32),
        "scores": np.array(scores, np.float32),
        "masks": masks,
    }


def test_records_round_scores_and_keep_masks_exactly():
    det = detections()
    records = detection_records(det, COCO_NAMES)
    assert [r["score"] for r in records] == [0.912, 0.912, 0.5]
    for record in records:
        i = [1, 12, 80].index(record["class_id"])
        rle = {"size": record["mask"]["size"], "counts": record["mask"]["counts"].encode()}
        assert np.array_equal(mask_utils.decode(rle).astype(bool), det["masks"][:, :, i])
        assert record["area"] == int(det["masks"][:, :, i].sum())
        assert record["box"] == det["rois"][i].tolist()


def test_order_ignores_differences_below_the_rounding():
    # Another CPU swaps two nearly equal scores: the canonical order and bytes stay the same.
    a = detection_records(detections((0.91234, 0.91249, 0.5)), COCO_NAMES)
    b = detection_records(detections((0.91249, 0.91234, 0.5)), COCO_NAMES)
    assert dump(a) == dump(b)
    assert [r["class_id"] for r in a] == [1, 12, 80]


def test_coco_category_ids():
    assert [category_id(c, COCO_NAMES) for c in (1, 11, 12, 80)] == [1, 11, 13, 90]
    assert category_id(3, ["BG", "a", "b", "c"]) == 3  # a non-COCO model keeps its own ids


def test_select_classes():
    names = ["BG", "person", "car", "traffic light"]
    assert select_classes("person, traffic light", names) == {1, 3}
    with pytest.raises(
        ValueError, match=r"^unknown class name\(s\) cat, BG; known: person, car, traffic light$"
    ):
        select_classes("person,cat,BG", names)
    with pytest.raises(ValueError, match="none given"):
        select_classes(" , ", names)


def test_keep_classes():
    det = detections()
    kept = keep_classes(det, {12})
    assert kept["class_ids"].tolist() == [12]
    assert kept["masks"].shape == (20, 30, 1) and kept["rois"].tolist() == [[10, 5, 18, 25]]
    assert keep_classes(det, None) is det


def test_dump_is_canonical():
    assert dump({"b": 1, "a": [0.5, "é"]}) == b'{"a":[0.5,"\\u00e9"],"b":1}\n'


def test_coco_results_load_against_a_ground_truth(tmp_path):
    entries = [
        {"index": 1, "detections": detection_records(detections(), COCO_NAMES)},
        {"index": 2, "status": "error"},
    ]
    path = tmp_path / "coco.json"
    path.write_bytes(dump(coco_results(entries)))
    gt = COCO()
    gt.dataset = {
        "images": [{"id": 1, "width": 30, "height": 20}, {"id": 2, "width": 30, "height": 20}],
        "categories": [{"id": i} for i in (1, 13, 90)],
        "annotations": [],
    }
    gt.createIndex()
    dt = gt.loadRes(str(path))
    anns = dt.loadAnns(dt.getAnnIds())
    assert sorted(a["category_id"] for a in anns) == [1, 13, 90]
    assert {a["image_id"] for a in anns} == {1}
    first = json.loads(path.read_text())[0]
    assert first["bbox"] == [3, 2, 6, 6] and first["segmentation"]["size"] == [20, 30]
