"""normalize_frame: what is accepted, what is rejected and how it says so."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentreel.video import FrameError, normalize_frame


def _check(out: np.ndarray) -> None:
    assert out.dtype == np.uint8
    assert out.ndim == 3 and out.shape[2] == 3
    assert out.shape[0] % 2 == 0 and out.shape[1] % 2 == 0
    assert out.flags.c_contiguous


def test_uint8_rgb_even_is_returned_without_copy():
    frame = np.zeros((4, 6, 3), np.uint8)
    assert normalize_frame(frame) is frame


def test_non_contiguous_is_made_contiguous():
    frame = np.zeros((8, 8, 3), np.uint8)[::2, ::2]
    out = normalize_frame(frame)
    _check(out)
    assert out.shape == (4, 4, 3)


def test_odd_sizes_padded_by_replicating_edge():
    frame = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    out = normalize_frame(frame)
    assert out.shape == (4, 6, 3)
    np.testing.assert_array_equal(out[:3, :5], frame)
    np.testing.assert_array_equal(out[3, :5], frame[2])  # bottom row copied
    np.testing.assert_array_equal(out[:3, 5], frame[:, 4])  # right column copied


@pytest.mark.parametrize("shape", [(4, 4), (4, 4, 1)])
def test_gray_replicated_to_rgb(shape):
    frame = np.full(shape, 7, np.uint8)
    out = normalize_frame(frame)
    assert out.shape == (4, 4, 3)
    assert (out == 7).all()


def test_rgba_drops_alpha():
    frame = np.zeros((2, 2, 4), np.uint8)
    frame[..., 0], frame[..., 3] = 10, 99
    out = normalize_frame(frame)
    assert out.shape == (2, 2, 3)
    assert (out[..., 0] == 10).all() and (out[..., 1:] == 0).all()


def test_bool_to_0_255():
    out = normalize_frame(np.array([[True, False], [False, True]]))
    assert out[0, 0, 0] == 255 and out[0, 1, 0] == 0


def test_float_unit_range_scaled():
    frame = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    out = normalize_frame(frame)[..., 0]
    np.testing.assert_array_equal(out, [[0, 128], [255, 64]])


def test_wider_ints_in_range_accepted():
    frame = np.full((2, 2, 3), 200, np.int64)
    assert (normalize_frame(frame) == 200).all()


@pytest.mark.parametrize(
    "frame, words",
    [
        (np.full((2, 2, 3), np.nan), ["NaN"]),
        (np.full((2, 2, 3), np.inf), ["infinity"]),
        (np.full((2, 2, 3), 200.0), ["[0, 1]", "astype(np.uint8)"]),
        (np.full((2, 2, 3), -0.5), ["[0, 1]"]),
        (np.full((2, 2, 3), 300, np.int32), ["0..255"]),
        (np.full((2, 2, 3), -1, np.int16), ["0..255"]),
    ],
)
def test_bad_values_rejected_with_hint(frame, words):
    with pytest.raises(FrameError) as err:
        normalize_frame(frame)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize(
    "frame, word",
    [
        (None, "render_mode='rgb_array'"),
        ([np.zeros((2, 2, 3), np.uint8)] * 3, "one (H, W, 3)"),
        (np.zeros((3, 8, 8), np.uint8), "transpose(1, 2, 0)"),
        (np.zeros((2, 2, 2), np.uint8), "(H, W, 3)"),
        (np.zeros((2, 2, 2, 3), np.uint8), "(H, W, 3)"),
        (np.zeros((2,), np.uint8), "(H, W, 3)"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((2, 2, 3), np.complex64), "dtype"),
        ("frame", "numpy array"),
    ],
)
def test_bad_shapes_and_types_rejected(frame, word):
    with pytest.raises(FrameError) as err:
        normalize_frame(frame)
    assert word in str(err.value)


def test_frame_error_is_value_error():
    assert issubclass(FrameError, ValueError)


def test_size_change_names_both_shapes():
    with pytest.raises(FrameError) as err:
        normalize_frame(np.zeros((6, 8, 3), np.uint8), expected_shape=(4, 4, 3))
    assert "(4, 4, 3)" in str(err.value) and "(6, 8, 3)" in str(err.value)


def test_expected_shape_compares_after_padding():
    out = normalize_frame(np.zeros((3, 3, 3), np.uint8), expected_shape=(4, 4, 3))
    assert out.shape == (4, 4, 3)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    layout=st.sampled_from(["hw", "hw1", "hw3", "hw4"]),
    dtype=st.sampled_from(["uint8", "bool", "float32", "float64", "int32", "uint16"]),
    seed=st.integers(0, 2**16),
)
def test_valid_inputs_always_normalise(h, w, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = {"hw": (h, w), "hw1": (h, w, 1), "hw3": (h, w, 3), "hw4": (h, w, 4)}[layout]
    if dtype.startswith("float"):
        frame = rng.random(shape).astype(dtype)
    elif dtype == "bool":
        frame = rng.random(shape) > 0.5
    else:
        frame = rng.integers(0, 256, shape).astype(dtype)
    out = normalize_frame(frame)
    _check(out)
    assert out.shape == (h + h % 2, w + w % 2, 3)
