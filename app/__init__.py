"""Mask R-CNN instance segmentation as an iExec application."""
