"""Errors the engine reports to its callers, each with a one-line message."""


class WeightsError(Exception):
    """A weight file cannot be used: missing, not HDF5, wrong layout, wrong shapes."""


class ImageError(ValueError):
    """An image array the model cannot take (wrong rank, channels or dtype)."""
