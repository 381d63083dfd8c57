"""MaskRCNN: the stages composed into one traced inference function, plus matterport's `detect`.

Data flows one way: mold (numpy) -> backbone -> FPN -> RPN -> proposals -> ROI align -> box head
-> detections -> ROI align -> mask head (graph, traced once) -> unmold (numpy).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .config import Config
from .errors import WeightsError
from .threads import configure_tensorflow, thread_count


class MaskRCNN:
    """Mask R-CNN inference model. Build it with `MaskRCNN.from_weights(path)`."""

    def __init__(self, config: Config, class_names: Sequence[str]):
        # TensorFlow is imported here, after the caller had the chance to size its thread pools.
        import tensorflow as tf

        from .anchors import generate_anchors
        from .backbone import ResNet101
        from .box_head import BoxHead
        from .fpn import FeaturePyramid
        from .mask_head import MaskHead
        from .rpn import RegionProposalNetwork

        if len(class_names) != config.NUM_CLASSES:
            raise ValueError(f"{len(class_names)} class names for {config.NUM_CLASSES} classes")
        self.config = config
        self.class_names = list(class_names)
        self.backbone = ResNet101(config)
        self.fpn = FeaturePyramid(config)
        self.rpn = RegionProposalNetwork(config)
        self.box_head = BoxHead(config)
        self.mask_head = MaskHead(config)
        self.timings: dict[str, float] = {}  # build/load seconds, filled by from_weights
        self._anchors = tf.constant(generate_anchors(config))
        dim = config.IMAGE_MAX_DIM
        # No autograph: the graph has no Python control flow on tensors, and converting every
        # layer's source would double the one-off tracing time.
        self._infer = tf.function(self._forward, autograph=False, input_signature=[
            tf.TensorSpec([1, dim, dim, 3], tf.float32),
            tf.TensorSpec([config.IMAGE_META_SIZE], tf.float32),
            tf.TensorSpec([], tf.float32),
        ])

    @classmethod
    def from_weights(cls, path: str | Path, config: Config | None = None,
                     class_names: Sequence[str] | None = None, threads: int | None = None) -> MaskRCNN:
        """Build the inference model and load a matterport `.h5` (COCO or a user's own training).

        The class count is read from the file; COCO's names are the default for 81 classes.
        `threads` overrides the CPU count TensorFlow uses (default: the CPUs this process may use).
        Raises WeightsError with a one-line message for any file that cannot be used.
        """
        from .coco_names import COCO_CLASS_NAMES
        from .weights import WeightReader, open_weights, summarize

        configure_tensorflow(thread_count(threads))
        started = time.perf_counter()
        with open_weights(path) as root:
            summary = summarize(root, path)
            config = dataclasses.replace(config or Config(), NUM_CLASSES=summary.num_classes,
                                         BACKBONE_STAGE4_BLOCKS=summary.stage4_blocks)
            if class_names is None:
                class_names = (COCO_CLASS_NAMES if summary.num_classes == len(COCO_CLASS_NAMES)
                               else ["BG"] + [f"class {i}" for i in range(1, summary.num_classes)])
            elif len(class_names) != summary.num_classes:
                raise WeightsError(f"{path} has {summary.num_classes} classes (background included) but "
                                   f"{len(class_names)} class names were given")
            model = cls(config, class_names)
            built = time.perf_counter()
            model.load(WeightReader(root, path))
        model.timings = {"build_s": built - started, "load_s": time.perf_counter() - built}
        return model

    def loaded_layers(self) -> list:
        """Every layer whose weights come from the file, in network order."""
        from .layers import LoadedLayer

        return [layer for part in (self.backbone, self.fpn, self.rpn, self.box_head, self.mask_head)
                for layer in part._flatten_layers(include_self=True, recursive=True)
                if isinstance(layer, LoadedLayer)]

    def load(self, reader) -> None:
        """Fill every weighted layer from the file; a layer left unfilled is an error, never silent."""
        layers = self.loaded_layers()
        for layer in layers:
            layer.load(reader)
        missing = [layer.name for layer in layers if not layer.loaded]
        if missing:
            raise WeightsError(f"{reader.path}: layers not loaded: {', '.join(missing)}")
        unused = reader.unread_weighted_groups()
        if unused:
            more = f" (and {len(unused) - 1} more)" if len(unused) > 1 else ""
            raise WeightsError(f"{reader.path}: layer {unused[0]}{more} is not part of matterport's "
                               "Mask R-CNN: the file does not match this model")

    def _forward(self, image, meta, min_confidence):
        import tensorflow as tf

        from .detections import refine_detections
        from .proposals import select_proposals
        from .roi_align import pyramid_roi_align

        cfg = self.config
        area = float(cfg.IMAGE_MAX_DIM * cfg.IMAGE_MAX_DIM)
        pyramid = self.fpn(self.backbone(image))
        rpn_probs, rpn_deltas = self.rpn(pyramid)
        rois = select_proposals(rpn_probs[0], rpn_deltas[0], self._anchors, cfg)
        crops = pyramid_roi_align(rois, pyramid[:4], cfg.POOL_SIZE, area)
        probs, deltas = self.box_head(crops)
        detections = refine_detections(rois, probs, deltas, meta, min_confidence, cfg)
        # Masks only for the real detections; padding slots would be computed and thrown away.
        count = tf.reduce_sum(tf.cast(detections[:, 4] > 0, tf.int32))
        real = detections[:count]
        mask_crops = pyramid_roi_align(real[:, :4], pyramid[:4], cfg.MASK_POOL_SIZE, area)
        masks = self.mask_head(mask_crops, tf.cast(real[:, 4], tf.int32))
        return real, masks

    def detect(self, images: Sequence[np.ndarray], verbose: int = 0) -> list[dict]:
        """Detect instances in RGB uint8 images (grayscale and RGBA are converted).

        Returns one dict per image: rois int32 (N, 4) y1, x1, y2, x2 in image pixels (y2/x2
        exclusive), class_ids int32 (N,), scores float32 (N,), masks bool (H, W, N), by
        descending score.
        """
        from .postprocess import unmold
        from .preprocess import mold

        results = []
        for image in images:
            molded = mold(image, self.config)
            detections, masks = self._infer(molded.image[None], molded.meta,
                                            np.float32(self.config.DETECTION_MIN_CONFIDENCE))
            results.append(unmold(detections.numpy(), masks.numpy(), molded, self.config.MASK_THRESHOLD))
        return results
