"""Mask R-CNN inference for TensorFlow 2 / Keras 3 that loads matterport's `.h5` weight files.

Public API:
    MaskRCNN.from_weights(path, config=None, class_names=None, threads=None) -> MaskRCNN
    model.detect(images) -> list of dicts with matterport's keys rois/class_ids/scores/masks
    model.class_names, model.config
    WeightsError: raised with a one-line message for any unusable weight file
"""
