"""Every constant of Mask R-CNN inference in one place (matterport's names, COCO values)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Config:
    """Inference configuration. Attribute names follow matterport's `Config` so its users feel at home."""

    NAME: str = "coco"
    NUM_CLASSES: int = 81  # background + 80 COCO classes; read from the weight file when loading

    # Backbone and feature pyramid
    BACKBONE_STRIDES: tuple[int, ...] = (4, 8, 16, 32, 64)  # P2..P6
    TOP_DOWN_PYRAMID_SIZE: int = 256
    FPN_CLASSIF_FC_LAYERS_SIZE: int = 1024
    BATCHNORM_EPSILON: float = 1e-3  # Keras 2 default, which the weights were trained with

    # Region proposal network
    RPN_ANCHOR_SCALES: tuple[int, ...] = (32, 64, 128, 256, 512)
    RPN_ANCHOR_RATIOS: tuple[float, ...] = (0.5, 1.0, 2.0)
    RPN_ANCHOR_STRIDE: int = 1
    RPN_NMS_THRESHOLD: float = 0.7
    PRE_NMS_LIMIT: int = 6000
    POST_NMS_ROIS_INFERENCE: int = 1000
    RPN_BBOX_STD_DEV: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2)

    # Input molding
    IMAGE_MIN_DIM: int = 800
    IMAGE_MAX_DIM: int = 1024
    MEAN_PIXEL: tuple[float, ...] = (123.7, 116.8, 103.9)

    # Heads and detections
    POOL_SIZE: int = 7
    MASK_POOL_SIZE: int = 14
    MASK_SHAPE: tuple[int, int] = (28, 28)
    BBOX_STD_DEV: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2)
    DETECTION_MAX_INSTANCES: int = 100
    DETECTION_MIN_CONFIDENCE: float = 0.7  # 0 disables the filter, as in the original
    DETECTION_NMS_THRESHOLD: float = 0.3
    MASK_THRESHOLD: float = 0.5

    # Stage-4 depth of ResNet-101; matterport's "resnet50" would be 6.
    BACKBONE_STAGE4_BLOCKS: int = 23

    @property
    def IMAGE_SHAPE(self) -> tuple[int, int, int]:  # noqa: N802 - matterport's name
        return (self.IMAGE_MAX_DIM, self.IMAGE_MAX_DIM, 3)

    @property
    def IMAGE_META_SIZE(self) -> int:  # noqa: N802 - matterport's name
        # id, original shape (3), molded shape (3), window (4), scale, active class ids
        return 1 + 3 + 3 + 4 + 1 + self.NUM_CLASSES
