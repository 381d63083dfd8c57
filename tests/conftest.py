"""Shared fixtures. Add new fixtures below; keep the existing ones as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.random_weights import write_random_weights


@pytest.fixture(scope="session")
def coco_weights(tmp_path_factory) -> Path:
    """Random weights (seed 0) in the exact layout of mask_rcnn_coco.h5, written once per session."""
    return write_random_weights(tmp_path_factory.mktemp("weights") / "random_coco_layout.h5")


@pytest.fixture(scope="session")
def coco_model(coco_weights):
    """One loaded engine shared by the in-process tests (building costs a few seconds)."""
    from app.mrcnn import MaskRCNN

    return MaskRCNN.from_weights(coco_weights)


@pytest.fixture(scope="session")
def three_class_weights(tmp_path_factory) -> Path:
    """Random weights for a custom 3-class model (BG + 2) in the real layout, written once per session."""
    return write_random_weights(tmp_path_factory.mktemp("weights3") / "random_3_classes.h5", num_classes=3)
