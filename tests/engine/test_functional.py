"""The vectorized conv and pooling agree with the naive loop oracle over many geometries."""
import numpy as np
import pytest

from cnnviz.engine import Sequential
from cnnviz.engine import functional as F
from cnnviz.engine.layers import AveragePooling2D, Conv2D, Input, MaxPooling2D
from tests.engine import naive

# (input (H, W), channels, filters, kernel, strides, padding)
CONV_GEOMETRIES = [
    ((7, 7), 2, 3, (3, 3), 1, "valid"),
    ((7, 7), 2, 3, (3, 3), 2, "valid"),
    ((8, 9), 1, 2, (3, 3), 3, "valid"),
    ((5, 5), 2, 2, (2, 2), 1, "same"),   # even kernel, odd size: extra pad bottom/right
    ((7, 5), 2, 2, (4, 4), 2, "same"),
    ((6, 7), 3, 2, (2, 3), (1, 2), "same"),  # non-square kernel and strides
    ((5, 6), 2, 2, (3, 2), (2, 1), 1),    # int padding
    ((4, 4), 1, 1, (3, 3), 1, 2),
    ((9, 9), 3, 4, (5, 5), 3, "same"),
    ((6, 6), 2, 2, (1, 1), 2, "valid"),
    ((5, 8), 2, 3, (5, 2), (1, 3), "valid"),
]

# (input (H, W), channels, pool, strides, padding)
POOL_GEOMETRIES = [
    ((6, 6), 2, 2, None, "valid"),
    ((7, 7), 2, 3, 2, "valid"),        # overlapping windows
    ((8, 8), 1, 2, 3, "valid"),        # stride larger than the pool
    ((5, 7), 3, (2, 3), (1, 2), "valid"),
    ((5, 5), 2, 2, None, "same"),
    ((6, 7), 2, 3, 2, "same"),
    ((4, 5), 1, 3, 1, "same"),
    ((5, 5), 2, 2, 2, 1),              # int padding
    ((7, 6), 2, (3, 2), (2, 2), "same"),
]


def build(layer, hw, channels, seed=0):
    model = Sequential(seed=seed, dtype="float64")
    model.add(Input(input_shape=(*hw, channels)))
    model.add(layer)
    return model


@pytest.mark.usefixtures("im2col_layout")
@pytest.mark.parametrize("hw, channels, filters, kernel, strides, padding", CONV_GEOMETRIES)
def test_conv_forward_matches_naive(hw, channels, filters, kernel, strides, padding):
    rng = np.random.default_rng(1)
    layer = Conv2D(filters, kernel, strides=strides, padding=padding)
    model = build(layer, hw, channels)
    layer.params["bias"][...] = rng.normal(size=filters)
    x = rng.normal(size=(3, *hw, channels))
    expected = naive.conv2d(x, layer.params["kernel"], layer.params["bias"], F.pair(strides, "s"), padding)
    out = model.forward(x)
    assert out.shape == expected.shape == (3, *layer.output_shape)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hw, channels, pool, strides, padding", POOL_GEOMETRIES)
def test_max_pool_forward_and_switches_match_naive(hw, channels, pool, strides, padding):
    layer = MaxPooling2D(pool, strides=strides, padding=padding)
    model = build(layer, hw, channels)
    x = np.random.default_rng(2).normal(size=(2, *hw, channels))
    pool_hw = F.pair(pool, "p")
    strides_hw = pool_hw if strides is None else F.pair(strides, "s")
    expected, switches = naive.pool2d(x, pool_hw, strides_hw, padding, "max")
    out = model.forward(x)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(layer.switches, switches)


@pytest.mark.parametrize("hw, channels, pool, strides, padding", POOL_GEOMETRIES)
def test_average_pool_forward_matches_naive(hw, channels, pool, strides, padding):
    model = build(AveragePooling2D(pool, strides=strides, padding=padding), hw, channels)
    x = np.random.default_rng(3).normal(size=(2, *hw, channels))
    pool_hw = F.pair(pool, "p")
    strides_hw = pool_hw if strides is None else F.pair(strides, "s")
    expected, _ = naive.pool2d(x, pool_hw, strides_hw, padding, "average")
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_max_pool_ties_pick_the_first_cell():
    model = build(MaxPooling2D(2), (4, 4), 1)
    model.forward(np.ones((1, 4, 4, 1)))
    np.testing.assert_array_equal(model.layers[0].switches, 0)


@pytest.mark.parametrize("size, kernel, stride, expected", [
    (5, 2, 1, (0, 1)), (7, 4, 2, (1, 2)), (6, 3, 2, (0, 1)), (5, 3, 2, (1, 1)), (4, 1, 1, (0, 0)),
    (28, 3, 1, (1, 1)), (7, 2, 3, (0, 1)),
])
def test_same_padding_as_tensorflow(size, kernel, stride, expected):
    assert F.pad_amounts(size, kernel, stride, "same") == expected
    assert F.output_size(size, kernel, stride, "same") == -(-size // stride)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_keeps_the_dtype(dtype):
    model = Sequential(seed=0, dtype=dtype)
    model.add(Input(input_shape=(6, 6, 2)))
    model.add(Conv2D(3, 3, activation="relu"))
    model.add(MaxPooling2D(2))
    assert model.forward(np.ones((2, 6, 6, 2))).dtype == dtype


@pytest.mark.usefixtures("im2col_layout")
@pytest.mark.parametrize("cached_rows", [1, 2 * 9, 10**6])  # 1 sample per block; 2 (5 = 2 + 2 + 1) for 3x3 outputs; all
@pytest.mark.parametrize("geometry", [CONV_GEOMETRIES[1], CONV_GEOMETRIES[5]])
def test_conv_forward_in_blocks_of_samples(monkeypatch, cached_rows, geometry):
    monkeypatch.setattr(F, "CACHED_ROWS", cached_rows)
    hw, channels, filters, kernel, strides, padding = geometry
    rng = np.random.default_rng(6)
    layer = Conv2D(filters, kernel, strides=strides, padding=padding)
    model = build(layer, hw, channels)
    x = rng.normal(size=(5, *hw, channels))
    expected = naive.conv2d(x, layer.params["kernel"], layer.params["bias"], F.pair(strides, "s"), padding)
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-12, atol=1e-12)
    windows = F.im2col(F.pad_nhwc(x, layer.pads), layer.kernel_size, layer.strides, layer.output_shape[:2])
    np.testing.assert_array_equal(layer.cols[:, :-1], windows)
    np.testing.assert_array_equal(layer.cols[:, -1], 1)  # the bias column


@pytest.mark.parametrize("channels, order", [(1, "F"), (3, "F"), (8, "C"), (32, "C")])
def test_im2col_layout_follows_the_channel_count(channels, order):
    """Few channels: column-major (fast to fill kernel cell by kernel cell); many: row-major."""
    x = np.random.default_rng(2).normal(size=(2, 5, 5, channels))
    cols = F.im2col(x, (3, 3), (1, 1), (3, 3))
    assert cols.flags[f"{order}_CONTIGUOUS"]
    other = np.empty(cols.shape, order="C" if order == "F" else "F")
    np.testing.assert_array_equal(F.im2col(x, (3, 3), (1, 1), (3, 3), out=other), cols)


def test_im2col_fills_a_strided_view_in_place():
    x = np.random.default_rng(3).normal(size=(2, 5, 5, 2))
    buffer = np.zeros((2 * 9, 36))
    F.im2col(x, (3, 3), (1, 1), (3, 3), out=buffer[:, ::2])  # neither rows nor columns contiguous
    np.testing.assert_array_equal(buffer[:, ::2], F.im2col(x, (3, 3), (1, 1), (3, 3)))
    assert not buffer[:, 1::2].any()
