"""Weight loading (SPEC 13): real-layout random weights load fully and exactly; bad files fail clearly.

The file is read here independently with h5py. The engine folds each frozen BatchNorm into the
convolution before it (a speed choice); for those layers the expected values are recomputed here
from the file's conv and BN datasets in float64.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from app.mrcnn import Config, MaskRCNN, WeightsError

# SPEC 13.1 / 16
GROUPS, WEIGHTED_GROUPS, DATASETS, VALUES = 407, 233, 690, 64_158_584
BN_EPSILON = 1e-3


def _names(attr) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in np.asarray(attr).ravel()]


def file_weights(path: Path) -> dict[str, list[np.ndarray]]:
    """Weighted group name -> its datasets in `weight_names` order (iterating `layer_names`)."""
    out = {}
    with h5py.File(path, "r") as f:
        for name in _names(f.attrs["layer_names"]):
            weight_names = _names(f[name].attrs["weight_names"])
            if weight_names:
                out[name] = [f[name][w][()] for w in weight_names]
    return out


def fold(kernel, bias, gamma, beta, mean, var):
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + BN_EPSILON)
    folded_bias = (bias - mean.astype(np.float64)) * scale + beta
    return (kernel * scale).astype(np.float32), folded_bias.astype(np.float32)


# ---- the generated file has the real layout --------------------------------------------------

def test_random_file_has_the_real_layout(coco_weights):
    with h5py.File(coco_weights, "r") as f:
        layer_names = _names(f.attrs["layer_names"])
        assert f.attrs["layer_names"].dtype.kind == "S"  # fixed-length byte strings
        assert len(layer_names) == GROUPS == len(f.keys())
        weighted = [n for n in layer_names if len(_names(f[n].attrs["weight_names"]))]
        assert len(weighted) == WEIGHTED_GROUPS
        datasets = [f[n][w] for n in weighted for w in _names(f[n].attrs["weight_names"])]
        assert len(datasets) == DATASETS
        assert sum(d.size for d in datasets) == VALUES
        assert all(d.dtype == np.float32 for d in datasets)
        assert f["conv1"]["conv1"]["kernel:0"].shape == (7, 7, 3, 64)  # nested dataset names
        assert _names(f["rpn_model"].attrs["weight_names"])[0] == "rpn_conv_shared/kernel:0"
        assert f["mrcnn_mask_deconv"]["mrcnn_mask_deconv"]["kernel:0"].shape == (2, 2, 256, 256)


# ---- a full load takes every value from the file ---------------------------------------------

def test_every_loaded_value_equals_the_file(coco_model, coco_weights):
    want = file_weights(coco_weights)
    consumed: set[str] = set()
    checked = 0
    for layer in coco_model.loaded_layers():
        variables = [np.asarray(v.numpy()) for v in layer.weights]
        arrays = want[layer.name]
        consumed.add(layer.name)
        bn = getattr(layer, "batchnorm", None)
        if bn:
            consumed.add(bn)
            arrays = list(fold(*arrays, *want[bn]))
            assert len(variables) == 2, layer.name
            np.testing.assert_allclose(variables[0], arrays[0], rtol=1e-6, atol=0, err_msg=layer.name)
            np.testing.assert_allclose(variables[1], arrays[1], rtol=1e-6, atol=1e-9, err_msg=layer.name)
        else:
            assert len(variables) == len(arrays), layer.name
            for got, exp in zip(variables, arrays, strict=True):
                assert got.dtype == np.float32 and got.shape == exp.shape, layer.name
                assert np.array_equal(got, exp), f"{layer.name}: values differ from the file"
        checked += 1
    assert consumed == set(want), f"unused file layers: {sorted(set(want) - consumed)}"
    assert checked > 100
    assert sum(a.size for arrays in want.values() for a in arrays) == VALUES


def test_coco_model_defaults(coco_model):
    assert coco_model.config.NUM_CLASSES == 81
    assert coco_model.config.IMAGE_META_SIZE == 93
    assert len(coco_model.class_names) == 81
    assert coco_model.class_names[:3] == ["BG", "person", "bicycle"]
    assert coco_model.class_names[80] == "toothbrush"
    assert coco_model.config.DETECTION_MIN_CONFIDENCE == 0.7


# ---- custom class count ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def three_class_model(three_class_weights):
    # A small square keeps the detection cheap; the weights do not depend on the input size.
    return MaskRCNN.from_weights(three_class_weights, config=Config(IMAGE_MIN_DIM=128, IMAGE_MAX_DIM=256),
                                 class_names=["BG", "cat", "dog"])


def test_three_class_file_loads_and_detects(three_class_model):
    import skimage.data

    model = three_class_model
    assert model.class_names == ["BG", "cat", "dog"]
    assert model.config.NUM_CLASSES == 3 and model.config.IMAGE_META_SIZE == 15
    image = skimage.data.astronaut()[::4, ::4]  # 128x128
    model.config.DETECTION_MIN_CONFIDENCE = 0.0  # settable by the caller; 0 disables the filter
    try:
        result = model.detect([image])[0]
    finally:
        model.config.DETECTION_MIN_CONFIDENCE = 0.7
    n = len(result["class_ids"])
    assert n > 0
    assert set(result["class_ids"].tolist()) <= {1, 2}
    assert result["rois"].dtype == np.int32 and result["rois"].shape == (n, 4)
    assert result["scores"].dtype == np.float32 and (np.diff(result["scores"]) <= 0).all()
    assert result["masks"].dtype == bool and result["masks"].shape == (128, 128, n)


@pytest.mark.parametrize("names", [["BG", "cat"], ["BG"] + ["x"] * 80])
def test_wrong_number_of_class_names(three_class_weights, names):
    with pytest.raises(WeightsError) as info:
        MaskRCNN.from_weights(three_class_weights, class_names=names)
    message = str(info.value)
    assert "\n" not in message
    assert "3 classes" in message and f"{len(names)} class names" in message


# ---- files that must fail with one clear line ------------------------------------------------

def load_error(path: Path) -> str:
    with pytest.raises(WeightsError) as info:
        MaskRCNN.from_weights(path, config=Config(IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128))
    message = str(info.value)
    assert "\n" not in message, message
    assert str(path) in message
    return message


@pytest.fixture
def damaged_copy(three_class_weights, tmp_path):
    """A private copy of the 3-class file, to be damaged by the test.

    Every layer group is an HDF5 external link into the original (reading through it is the same
    for the loader), so the copy costs nothing; a test replaces or deletes links to damage it.
    """
    path = tmp_path / "damaged.h5"
    with h5py.File(three_class_weights, "r") as src, h5py.File(path, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name in src:
            dst[name] = h5py.ExternalLink(str(three_class_weights), f"/{name}")
    return path


def _replace_dataset(path: Path, layer: str, weight: str, data: np.ndarray) -> None:
    """Turn one linked layer group into a real group holding `data` for `weight`."""
    with h5py.File(path, "r+") as f:
        source = {k: v for k, v in f[layer].attrs.items()}
        arrays = {w: f[layer][w][()] for w in _names(source["weight_names"])}
        del f[layer]
        group = f.create_group(layer)
        for key, value in source.items():
            group.attrs[key] = value
        arrays[weight] = data
        for w, values in arrays.items():
            group.create_dataset(w, data=values)


def test_missing_file(tmp_path):
    assert "not found" in load_error(tmp_path / "nope.h5")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    assert "not an HDF5 file" in load_error(path)


def test_jpeg_file(tmp_path):
    path = tmp_path / "photo.h5"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, format="JPEG")
    assert "not an HDF5 file" in load_error(path)


def test_text_file(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_text("<html>404 Not Found</html>\n")
    assert "not an HDF5 file" in load_error(path)


def test_truncated_file(three_class_weights, tmp_path):
    path = tmp_path / "truncated.h5"
    with open(three_class_weights, "rb") as src:
        path.write_bytes(src.read(three_class_weights.stat().st_size // 2))
    message = load_error(path)
    assert "truncated" in message or "damaged" in message


def test_hdf5_without_layer_names(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=np.zeros(3))
    assert "not a Keras weight file" in load_error(path)


def test_keras3_weights_file(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense")])
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    message = load_error(path)
    assert "Keras 3 .weights.h5 file" in message and "layer_names" in message


def _drop_layer(path: Path, name: str, keep_name: bool = False) -> None:
    with h5py.File(path, "r+") as f:
        if not keep_name:
            f.attrs["layer_names"] = np.array([n for n in f.attrs["layer_names"] if n != name.encode()])
        del f[name]


@pytest.mark.parametrize("layer", ["mrcnn_mask_deconv", "bn5c_branch2c", "rpn_model", "mrcnn_bbox_fc"])
def test_missing_layer(damaged_copy, layer):
    _drop_layer(damaged_copy, layer)
    assert load_error(damaged_copy).endswith(f"missing layer {layer}")


def test_layer_listed_but_group_missing(damaged_copy):
    _drop_layer(damaged_copy, "res3b_branch2b", keep_name=True)
    assert load_error(damaged_copy).endswith("missing layer res3b_branch2b")


def test_missing_class_logits(damaged_copy):
    _drop_layer(damaged_copy, "mrcnn_class_logits")
    assert "missing layer mrcnn_class_logits" in load_error(damaged_copy)


def test_shape_mismatch(damaged_copy):
    _replace_dataset(damaged_copy, "fpn_p5", "fpn_p5/kernel:0", np.zeros((3, 3, 256, 128), np.float32))
    message = load_error(damaged_copy)
    assert message.endswith("shape mismatch at layer fpn_p5 (fpn_p5/kernel:0): "
                            "expected (3, 3, 256, 256), found (3, 3, 256, 128)")


def test_class_dependent_layers_disagree(damaged_copy):
    # the logits say 3 classes, the mask layer (as in an 81-class file) says otherwise
    _replace_dataset(damaged_copy, "mrcnn_mask", "mrcnn_mask/kernel:0", np.zeros((1, 1, 256, 81), np.float32))
    assert load_error(damaged_copy).endswith("shape mismatch at layer mrcnn_mask (mrcnn_mask/kernel:0): "
                                             "expected (1, 1, 256, 3), found (1, 1, 256, 81)")


def test_stage4_block_missing_one_layer_is_not_a_shorter_network(damaged_copy):
    # Regression: the stage-4 depth was counted from the res4*_branch2a layers only, so a file without
    # res4w_branch2a built a 22-block ResNet and loaded "successfully", ignoring the rest of block w.
    _drop_layer(damaged_copy, "res4w_branch2a")
    assert load_error(damaged_copy).endswith("missing layer res4w_branch2a")


def test_full_model_file_with_model_weights_group(three_class_weights, tmp_path):
    # Keras `model.save` files wrap the weights in a `model_weights` group (SPEC 13.1).
    path = tmp_path / "full_model.h5"
    with h5py.File(path, "w") as f:
        f["model_weights"] = h5py.ExternalLink(str(three_class_weights), "/")
    model = MaskRCNN.from_weights(path, config=Config(IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128))
    assert model.config.NUM_CLASSES == 3
    assert len(model.class_names) == 3 and model.class_names[0] == "BG"  # default names for K classes


def test_weighted_layer_the_model_does_not_use_is_an_error(damaged_copy):
    # A file from another architecture must not load with some of its layers quietly ignored.
    with h5py.File(damaged_copy, "r+") as f:
        names = list(_names(f.attrs["layer_names"])) + ["my_extra_head"]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        group = f.create_group("my_extra_head")
        group.attrs["weight_names"] = np.array([b"my_extra_head/kernel:0"])
        group.create_dataset("my_extra_head/kernel:0", data=np.zeros((4, 4), np.float32))
    message = load_error(damaged_copy)
    assert "my_extra_head" in message and "not part of" in message


def test_resnet50_file_builds_a_six_block_stage4(damaged_copy):
    # matterport's BACKBONE="resnet50" files have blocks res4a..res4f only.
    with h5py.File(damaged_copy, "r") as f:
        names = _names(f.attrs["layer_names"])
    for name in names:
        if re.match(r"(res|bn)4[g-w]_", name):
            _drop_layer(damaged_copy, name)
    model = MaskRCNN.from_weights(damaged_copy, config=Config(IMAGE_MIN_DIM=64, IMAGE_MAX_DIM=128))
    assert model.config.BACKBONE_STAGE4_BLOCKS == 6
    assert [len(blocks) for blocks in model.backbone.stages] == [3, 4, 6, 3]
