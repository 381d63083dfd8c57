"""Detections → the canonical results document and the COCO results list.

The canonical file is the task's proof (`deterministic-output-path`): independent workers must
produce it byte for byte, so it holds no timings, no host data, scores rounded to 3 decimals,
integer boxes, keys sorted, and detections in an order that tiny float differences cannot swap.

The engine gives bit-identical scores whatever its thread count on one machine; machines with other
CPU instruction sets may still differ in the last float bits, which rounding to 3 decimals hides
except when a score sits right on a rounding step.
"""

from __future__ import annotations

import json

import numpy as np
from pycocotools import mask as mask_utils

FORMAT = "mask-rcnn-iexec/results/1"
SCORE_DECIMALS = 3

# COCO category ids of matterport's contiguous class ids 1..80 (COCO skips some ids).
COCO_CATEGORY_IDS = (
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    27,
    28,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    38,
    39,
    40,
    41,
    42,
    43,
    44,
    46,
    47,
    48,
    49,
    50,
    51,
    52,
    53,
    54,
    55,
    56,
    57,
    58,
    59,
    60,
    61,
    62,
    63,
    64,
    65,
    67,
    70,
    72,
    73,
    74,
    75,
    76,
    77,
    78,
    79,
    80,
    81,
    82,
    84,
    85,
    86,
    87,
    88,
    89,
    90,
)


def category_id(class_id: int, class_names: list[str]) -> int:
    """COCO category id for a COCO model (81 classes), the class id itself for any other model."""
    if len(class_names) == len(COCO_CATEGORY_IDS) + 1 and 1 <= class_id <= len(COCO_CATEGORY_IDS):
        return COCO_CATEGORY_IDS[class_id - 1]
    return class_id


def select_classes(names: str, class_names: list[str]) -> set[int]:
    """Class ids of a comma-separated list of class names; ValueError naming the unknown ones."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in class_names[1:]]
    if unknown or not wanted:
        shown = ", ".join(unknown) or "(none given)"
        raise ValueError(f"unknown class name(s) {shown}; known: {', '.join(class_names[1:])}")
    return {class_names.index(n) for n in wanted}


def keep_classes(detections: dict, class_ids: set[int] | None) -> dict:
    """Only the detections whose class is in `class_ids` (all of them when None)."""
    if class_ids is None:
        return detections
    keep = np.isin(np.asarray(detections["class_ids"]), sorted(class_ids))
    masks = np.asarray(detections["masks"])
    return {
        "rois": np.asarray(detections["rois"]).reshape(-1, 4)[keep],
        "class_ids": np.asarray(detections["class_ids"])[keep],
        "scores": np.asarray(detections["scores"])[keep],
        "masks": masks[:, :, keep] if masks.ndim == 3 else masks,
    }


def detection_records(detections: dict, class_names: list[str]) -> list[dict]:
    """One JSON-ready record per detection, mask as COCO compressed RLE, in canonical order."""
    rois = np.asarray(detections["rois"]).reshape(-1, 4)
    masks = np.asarray(detections["masks"])
    records = []
    for i, class_id in enumerate(np.asarray(detections["class_ids"]).reshape(-1)):
        cid = int(class_id)
        rle = mask_utils.encode(np.asfortranarray(masks[:, :, i].astype(np.uint8)))
        y1, x1, y2, x2 = (int(v) for v in rois[i])
        records.append(
            {
                "class_id": cid,
                "class_name": class_names[cid] if 0 <= cid < len(class_names) else f"class {cid}",
                "category_id": category_id(cid, class_names),
                "score": round(float(detections["scores"][i]), SCORE_DECIMALS),
                "box": [y1, x1, y2, x2],
                "area": int(mask_utils.area(rle)),
                "mask": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
            }
        )
    # Rounded score first, then geometry: two scores 1e-7 apart on another CPU keep their order.
    records.sort(key=lambda r: (-r["score"], r["class_id"], r["box"], r["area"], r["mask"]["counts"]))
    return records


def coco_results(inputs: list[dict]) -> list[dict]:
    """Detections of all ok inputs in COCO results format (`COCO.loadRes`), image_id = input index."""
    out = []
    for entry in inputs:
        for det in entry.get("detections", []):
            y1, x1, y2, x2 = det["box"]
            out.append(
                {
                    "image_id": entry["index"],
                    "category_id": det["category_id"],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": det["score"],
                    "segmentation": det["mask"],
                }
            )
    return out


def dump(document: object) -> bytes:
    """Canonical JSON bytes: compact, sorted keys, ASCII only, no NaN, trailing newline."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return (text + "\n").encode("ascii")
