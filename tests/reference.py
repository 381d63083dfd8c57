"""Independent numpy re-statements of the Mask R-CNN rules (SPEC sections noted), for the stage tests.

Written from the specification, not from the engine: nothing here imports `app`. Kept plain and
loop-based where that makes the rule easy to read; inputs in the tests are small.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


# ---- resize (SPEC 2.3): half-pixel bilinear, zero extension, float64, fixed accumulation order ----

def _taps(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = ((np.arange(m, dtype=np.float64) + 0.5) * (n / m)) - 0.5
    p = np.floor(u).astype(np.int64)
    t = u - p
    return p, 1.0 - t, t


def resize_ref(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """float64 result clipped to the global input range (no truncation)."""
    img = np.asarray(image).astype(np.float64)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    h, w, c = img.shape
    padded = np.zeros((h + 2, w + 2, c))  # taps outside [0, n-1] read 0
    padded[1:-1, 1:-1] = img
    p, a0, a1 = _taps(h, out_h)
    q, b0, b1 = _taps(w, out_w)
    rows0, rows1 = p + 1, p + 2
    cols0, cols1 = q + 1, q + 2
    a0, a1 = a0[:, None, None], a1[:, None, None]
    b0, b1 = b0[None, :, None], b1[None, :, None]
    out = np.zeros((out_h, out_w, c))
    out = out + (padded[rows0][:, cols0] * a0) * b0
    out = out + (padded[rows0][:, cols1] * a0) * b1
    out = out + (padded[rows1][:, cols0] * a1) * b0
    out = out + (padded[rows1][:, cols1] * a1) * b1
    out = np.clip(out, img.min(), img.max())
    return out[..., 0] if squeeze else out


# ---- boxes (SPEC 5.3, 7) ----

def normalize_ref(boxes, h: int, w: int) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    return ((b - np.array([0, 0, 1, 1])) / np.array([h - 1, w - 1, h - 1, w - 1])).astype(F32)


def denormalize_ref(boxes, h: int, w: int) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    return np.around(b * np.array([h - 1, w - 1, h - 1, w - 1]) + np.array([0, 0, 1, 1])).astype(np.int32)


def apply_deltas_ref(boxes: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    boxes = boxes.astype(F32)
    deltas = deltas.astype(F32)
    h = boxes[:, 2] - boxes[:, 0]
    w = boxes[:, 3] - boxes[:, 1]
    cy = boxes[:, 0] + F32(0.5) * h
    cx = boxes[:, 1] + F32(0.5) * w
    cy = cy + deltas[:, 0] * h
    cx = cx + deltas[:, 1] * w
    h = h * np.exp(deltas[:, 2])
    w = w * np.exp(deltas[:, 3])
    y1 = cy - F32(0.5) * h
    x1 = cx - F32(0.5) * w
    return np.stack([y1, x1, y1 + h, x1 + w], axis=1).astype(F32)


def clip_ref(boxes: np.ndarray, window) -> np.ndarray:
    wy1, wx1, wy2, wx2 = (F32(v) for v in window)
    out = boxes.astype(F32).copy()
    out[:, 0] = np.maximum(np.minimum(out[:, 0], wy2), wy1)
    out[:, 2] = np.maximum(np.minimum(out[:, 2], wy2), wy1)
    out[:, 1] = np.maximum(np.minimum(out[:, 1], wx2), wx1)
    out[:, 3] = np.maximum(np.minimum(out[:, 3], wx2), wx1)
    return out


# ---- NMS (SPEC 7 step 5) ----

def iou_ref(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(F32)
    b = b.astype(F32)
    ay1, ay2 = min(a[0], a[2]), max(a[0], a[2])
    ax1, ax2 = min(a[1], a[3]), max(a[1], a[3])
    by1, by2 = min(b[0], b[2]), max(b[0], b[2])
    bx1, bx2 = min(b[1], b[3]), max(b[1], b[3])
    area_a = (ay2 - ay1) * (ax2 - ax1)
    area_b = (by2 - by1) * (bx2 - bx1)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter = max(F32(0), min(ay2, by2) - max(ay1, by1)) * max(F32(0), min(ax2, bx2) - max(ax1, bx1))
    return float(inter / (area_a + area_b - inter))


def nms_ref(boxes: np.ndarray, scores: np.ndarray, max_out: int, threshold: float) -> list[int]:
    """Greedy NMS: descending score, ties to the lower index, drop if IoU > threshold (strictly)."""
    order = np.argsort(-np.asarray(scores, dtype=F32), kind="stable")
    thr = float(F32(threshold))
    selected: list[int] = []
    for i in order:
        if len(selected) >= max_out:
            break
        if all(iou_ref(boxes[i], boxes[j]) <= thr for j in selected):
            selected.append(int(i))
    return selected


# ---- pyramid ROI align (SPEC 8) ----

def level_ref(boxes: np.ndarray, image_area: float) -> np.ndarray:
    b = boxes.astype(F32)
    h = b[:, 2] - b[:, 0]
    w = b[:, 3] - b[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.sqrt(h * w) / F32(224.0 / np.sqrt(image_area))
        lvl = np.log(x) / np.log(F32(2.0))
    out = np.full(len(b), 2, dtype=np.int64)
    finite = np.isfinite(lvl)
    out[finite] = np.clip(4 + np.round(lvl[finite]).astype(np.int64), 2, 5)  # -inf (zero box) -> P2
    return out


def crop_and_resize_ref(fmap: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Corner-aligned bilinear sampling, extrapolation 0; fmap (H, W, C) float32."""
    fmap = fmap.astype(F32)
    hf, wf, c = fmap.shape
    y1, x1, y2, x2 = (F32(v) for v in box)
    ys = y1 * F32(hf - 1) + np.arange(size, dtype=F32) * ((y2 - y1) * F32(hf - 1) / F32(size - 1))
    xs = x1 * F32(wf - 1) + np.arange(size, dtype=F32) * ((x2 - x1) * F32(wf - 1) / F32(size - 1))
    out = np.zeros((size, size, c), dtype=F32)
    for i, r in enumerate(ys):
        if r < 0 or r > hf - 1:
            continue
        r0, r1 = int(np.floor(r)), int(np.ceil(r))
        tr = F32(r - r0)
        for j, col in enumerate(xs):
            if col < 0 or col > wf - 1:
                continue
            c0, c1 = int(np.floor(col)), int(np.ceil(col))
            tc = F32(col - c0)
            top = fmap[r0, c0] + (fmap[r0, c1] - fmap[r0, c0]) * tc
            bottom = fmap[r1, c0] + (fmap[r1, c1] - fmap[r1, c0]) * tc
            out[i, j] = top + (bottom - top) * tr
    return out
