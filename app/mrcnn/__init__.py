"""Mask R-CNN inference for TensorFlow 2 / Keras 3 that loads matterport's `.h5` weight files.

    model = MaskRCNN.from_weights("mask_rcnn_coco.h5")
    result = model.detect([rgb_uint8_image])[0]   # rois, class_ids, scores, masks

TensorFlow is imported only when a model is built, so that its thread pools can be sized first.
"""

import os

# TensorFlow's C++ start-up chatter (CPU feature notices, cost-model warnings) is not for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .config import Config  # noqa: E402
from .errors import ImageError, WeightsError  # noqa: E402
from .model import MaskRCNN  # noqa: E402

__all__ = ["Config", "ImageError", "MaskRCNN", "WeightsError"]
