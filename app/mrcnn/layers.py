"""Small constructors for the Keras layers of the network, built eagerly with known input depth.

Layers are built at construction (not on first call) so that the weight loader can fill every
variable before any inference, and with zero initialisers because the file overwrites them anyway
(random initialisation of 64 M parameters would cost a second for nothing).
"""

from __future__ import annotations

import keras


def conv(name: str, filters: int, kernel: int, in_channels: int, strides: int = 1,
         padding: str = "same", activation: str | None = None) -> keras.layers.Conv2D:
    layer = keras.layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, activation=activation, name=name,
        kernel_initializer="zeros", bias_initializer="zeros")
    layer.build((None, None, None, in_channels))
    return layer


def batch_norm(name: str, channels: int, epsilon: float) -> keras.layers.BatchNormalization:
    # Frozen statistics: the layer is only ever called with training=False.
    layer = keras.layers.BatchNormalization(epsilon=epsilon, name=name)
    layer.build((None, None, None, channels))
    return layer


def dense(name: str, units: int, in_units: int) -> keras.layers.Dense:
    layer = keras.layers.Dense(units, name=name, kernel_initializer="zeros", bias_initializer="zeros")
    layer.build((None, in_units))
    return layer


def conv_transpose(name: str, filters: int, kernel: int, in_channels: int, strides: int,
                   activation: str | None = None) -> keras.layers.Conv2DTranspose:
    layer = keras.layers.Conv2DTranspose(
        filters, kernel, strides=strides, padding="valid", activation=activation, name=name,
        kernel_initializer="zeros", bias_initializer="zeros")
    layer.build((None, None, None, in_channels))
    return layer
