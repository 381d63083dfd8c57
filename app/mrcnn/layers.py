"""The network's weighted layers, whose weights come from a matterport `.h5` file, never from training.

Each layer knows which file groups feed it and creates its variables once, directly from the file's
values (no random initialisation first: 64 M parameters would cost a second for nothing). A frozen
BatchNorm that follows a convolution is folded into that convolution's kernel and bias at load time:
y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta is conv with a rescaled kernel and a new
bias, which saves a pass over every feature map and two thirds of the variables.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from .errors import WeightsError
from .weights import WeightReader

BN_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")


class LoadedLayer(keras.layers.Layer):
    """A layer whose variables are created by `load` from a weight file."""

    def __init__(self, name: str, **kwargs):
        super().__init__(name=name, trainable=False, **kwargs)
        self.loaded = False

    def load(self, reader: WeightReader) -> None:
        raise NotImplementedError

    def _constant_weight(self, name: str, value: np.ndarray):
        variable = self.add_weight(name=name, shape=value.shape, dtype="float32", trainable=False,
                                   initializer=lambda shape, dtype: value)
        # A load that silently did not happen is the classic failure of ports: check every value.
        if not np.array_equal(variable.numpy(), value, equal_nan=True):
            raise WeightsError(f"layer {self.name}: variable {name} did not take the file's values")
        return variable


def fold_batchnorm(kernel: np.ndarray, bias: np.ndarray, bn: Sequence[np.ndarray],
                   epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of conv+BN as one conv; computed in float64, stored as float32."""
    gamma, beta, mean, variance = (np.asarray(a, dtype=np.float64) for a in bn)
    scale = gamma / np.sqrt(variance + epsilon)
    folded_kernel = np.empty(kernel.shape, dtype=np.float32)
    # One kernel row at a time: no float64 copy of a whole kernel (the box head's is 51 MB).
    for row in range(kernel.shape[0]):
        folded_kernel[row] = kernel[row].astype(np.float64) * scale  # scales the output channels
    folded_bias = ((bias.astype(np.float64) - mean) * scale + beta).astype(np.float32)
    return folded_kernel, folded_bias


class Conv(LoadedLayer):
    """Conv2D with bias, optionally followed by a frozen BatchNorm (folded) and a ReLU."""

    def __init__(self, name: str, filters: int, kernel: int, in_channels: int, strides: int = 1,
                 padding: str = "same", relu: bool = False, batchnorm: str | None = None,
                 epsilon: float = 1e-3, **kwargs):
        super().__init__(name, **kwargs)
        self.kernel_shape = (kernel, kernel, in_channels, filters)
        self.strides = strides
        self.padding = padding.upper()
        self.relu = relu
        self.batchnorm = batchnorm
        self.epsilon = epsilon

    def load(self, reader: WeightReader) -> None:
        filters = self.kernel_shape[-1]
        kernel, bias = reader.read(self.name, [("kernel", self.kernel_shape), ("bias", (filters,))])
        if self.batchnorm:
            bn = reader.read(self.batchnorm, [(n, (filters,)) for n in BN_WEIGHTS])
            kernel, bias = fold_batchnorm(kernel, bias, bn, self.epsilon)
        self.kernel = self._constant_weight("kernel", kernel)
        self.bias = self._constant_weight("bias", bias)
        self.loaded = True
        self.built = True

    def call(self, x):
        kh, kw, cin, cout = self.kernel_shape
        if kh == kw == 1 and self.strides == 1:
            # A 1x1 convolution is a matmul over pixels. Run as one: oneDNN's 1x1 convolution
            # kernel splits deep reductions (fpn_c5p5: 2048 channels on a 32x32 map) across
            # threads, which makes results depend on the thread count; its matmul does not.
            shape = tf.shape(x)
            y = tf.matmul(tf.reshape(x, [-1, cin]), tf.reshape(self.kernel, [cin, cout]))
            y = tf.reshape(tf.nn.bias_add(y, self.bias), tf.concat([shape[:3], [cout]], axis=0))
        elif self.padding == "VALID" and x.shape[1] == kh and x.shape[2] == kw:
            # The kernel covers the whole input (the box head's 7x7 "conv" on 7x7 crops): a fully
            # connected layer, which a matmul computes faster than the convolution kernel.
            y = tf.matmul(tf.reshape(x, [-1, kh * kw * cin]), tf.reshape(self.kernel, [-1, cout]))
            y = tf.reshape(tf.nn.bias_add(y, self.bias), [-1, 1, 1, cout])
        else:
            y = tf.nn.bias_add(tf.nn.conv2d(x, self.kernel, self.strides, self.padding), self.bias)
        return tf.nn.relu(y) if self.relu else y


class Dense(LoadedLayer):
    """Fully connected layer with bias."""

    def __init__(self, name: str, units: int, in_units: int, **kwargs):
        super().__init__(name, **kwargs)
        self.units = units
        self.in_units = in_units

    def load(self, reader: WeightReader) -> None:
        kernel, bias = reader.read(self.name, [("kernel", (self.in_units, self.units)),
                                               ("bias", (self.units,))])
        self.kernel = self._constant_weight("kernel", kernel)
        self.bias = self._constant_weight("bias", bias)
        self.loaded = True
        self.built = True

    def call(self, x):
        return tf.nn.bias_add(tf.matmul(x, self.kernel), self.bias)


class ConvTranspose(LoadedLayer):
    """2x2 stride-2 transposed convolution with bias and ReLU (kernel stored as kh, kw, out, in)."""

    def __init__(self, name: str, filters: int, kernel: int, in_channels: int, strides: int, **kwargs):
        super().__init__(name, **kwargs)
        self.kernel_shape = (kernel, kernel, filters, in_channels)
        self.strides = strides

    def load(self, reader: WeightReader) -> None:
        kernel, bias = reader.read(self.name, [("kernel", self.kernel_shape),
                                               ("bias", (self.kernel_shape[2],))])
        self.kernel = self._constant_weight("kernel", kernel)
        self.bias = self._constant_weight("bias", bias)
        self.loaded = True
        self.built = True

    def call(self, x):
        shape = tf.shape(x)
        out_shape = tf.stack([shape[0], shape[1] * self.strides, shape[2] * self.strides,
                              self.kernel_shape[2]])
        y = tf.nn.conv2d_transpose(x, self.kernel, out_shape, self.strides, padding="VALID")
        return tf.nn.relu(tf.nn.bias_add(y, self.bias))
