"""Calibration/evaluation data: image folders, .npy/.npz files, random data, and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from profiler.quant.data import (
    ArraySource,
    DataError,
    ImageFolderSource,
    ImageOptions,
    RandomSource,
    detect_layout,
    model_input_specs,
    open_data,
)
from tests.core.test_quant_variants import save_model, small_cnn

NCHW = [("x", "float32", [1, 3, 32, 32])]
RED, GREEN = (255, 0, 0), (0, 255, 0)


def write_images(folder: Path, colours: list[tuple[int, int, int]],
                 size: tuple[int, int] = (48, 40), extension: str = "png") -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for index, colour in enumerate(colours):
        path = folder / f"img{index}.{extension}"
        Image.new("RGB", size, colour).save(path)
        paths.append(path)
    return paths


def normalised(value: float, channel: int) -> float:
    """An 8-bit pixel value as the default ImageNet normalisation gives it."""
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    return (value / 255.0 - mean[channel]) / std[channel]


# --- images --------------------------------------------------------------------------------


def test_image_folder_nchw_resized_and_normalised(tmp_path: Path) -> None:
    write_images(tmp_path / "imgs", [RED, GREEN, RED], extension="png")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    source = open_data(NCHW, str(tmp_path / "imgs"))
    assert isinstance(source, ImageFolderSource) and not source.is_random
    assert source.layout == "NCHW" and source.available() == 3
    samples = source.samples(5)
    assert len(samples) == 3
    first = samples[0]["x"]
    assert first.shape == (1, 3, 32, 32) and first.dtype == np.float32
    assert first[0, :, 7, 9] == pytest.approx([normalised(255, 0), normalised(0, 1),
                                               normalised(0, 2)], abs=1e-5)
    assert samples[1]["x"][0, 1, 0, 0] == pytest.approx(normalised(255, 1), abs=1e-5)


def test_image_folder_nhwc_grey_batch_and_options(tmp_path: Path) -> None:
    write_images(tmp_path / "imgs", [RED, GREEN, RED, GREEN, RED], extension="bmp")
    nhwc = open_data([("img", "float32", [2, 16, 24, 3])], str(tmp_path / "imgs"),
                     ImageOptions(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)))
    assert nhwc.layout == "NHWC" and nhwc.available() == 2  # batches of two images
    batch = nhwc.samples(10)[1]["img"]
    assert batch.shape == (2, 16, 24, 3)
    assert batch[1, 0, 0].tolist() == pytest.approx([-1.0, 1.0, -1.0])  # image 3 is green
    grey = open_data([("g", "float32", [1, 1, 8, 8])], str(tmp_path / "imgs"))
    value = grey.samples(1)[0]["g"][0, 0, 0, 0]
    luma = round(255 * 299 / 1000)  # Pillow's L = R * 299/1000 + G * 587/1000 + B * 114/1000
    mean, std = np.mean([0.485, 0.456, 0.406]), np.mean([0.229, 0.224, 0.225])
    assert value == pytest.approx((luma / 255 - mean) / std, abs=1e-4)
    forced = open_data([("x", "float32", [1, 3, 3, 3])], str(tmp_path / "imgs"),
                       ImageOptions(layout="NHWC"))
    assert forced.layout == "NHWC"


def test_layout_detection() -> None:
    assert detect_layout("x", [1, 3, 224, 224]) == "NCHW"
    assert detect_layout("x", [1, 224, 224, 3]) == "NHWC"
    assert detect_layout("x", [1, 1, 28, 28]) == "NCHW"
    with pytest.raises(DataError, match=r"input 'x' has shape \[1, 4, 8, 8\].*layout"):
        detect_layout("x", [1, 4, 8, 8])


def test_image_folder_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=f"^{empty}: no images"):
        open_data(NCHW, str(empty))
    broken = tmp_path / "broken"
    write_images(broken, [RED])
    (broken / "img9.png").write_bytes(b"definitely not a png")
    source = open_data(NCHW, str(broken))
    with pytest.raises(DataError, match=f"^{broken / 'img9.png'}: cannot read the image"):
        source.samples(2)
    with pytest.raises(DataError, match="one input, this one has 2"):
        open_data([*NCHW, ("y", "float32", [1, 3, 32, 32])], str(broken))
    with pytest.raises(DataError, match="must have 1 or 3 values"):
        open_data(NCHW, str(broken), ImageOptions(mean=(0.5, 0.5), std=(0.5, 0.5)))
    with pytest.raises(DataError, match="not a float image batch"):
        open_data([("ids", "int64", [1, 3, 8, 8])], str(broken))


# --- arrays --------------------------------------------------------------------------------


def test_npy_first_axis_counts_samples(tmp_path: Path) -> None:
    stacked = np.arange(4 * 3 * 32 * 32, dtype=np.float64).reshape(4, 1, 3, 32, 32)
    np.save(tmp_path / "stacked.npy", stacked)
    source = open_data(NCHW, str(tmp_path / "stacked.npy"))
    assert isinstance(source, ArraySource) and source.available() == 4
    samples = source.samples(2)
    assert len(samples) == 2 and samples[1]["x"].dtype == np.float32
    assert samples[1]["x"][0, 0, 0, 0] == 3 * 32 * 32
    np.save(tmp_path / "flat.npy", stacked.reshape(4, 3, 32, 32))  # batch axis = sample axis
    flat = open_data(NCHW, str(tmp_path / "flat.npy")).samples(10)
    assert len(flat) == 4 and flat[3]["x"].shape == (1, 3, 32, 32)
    np.testing.assert_array_equal(flat[3]["x"], samples[0]["x"] + 3 * 3 * 32 * 32)


def test_npz_by_input_name(tmp_path: Path) -> None:
    specs = [("ids", "int64", [1, 8]), ("mask", "int64", [1, 8])]
    ids = np.arange(3 * 8, dtype=np.int32).reshape(3, 1, 8)
    np.savez(tmp_path / "data.npz", ids=ids, mask=np.ones((3, 1, 8), np.int64))
    samples = open_data(specs, str(tmp_path / "data.npz")).samples(3)
    assert [sorted(s) for s in samples] == [["ids", "mask"]] * 3
    assert samples[2]["ids"].dtype == np.int64 and samples[2]["ids"][0, 0] == 16


def test_array_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "wrong.npy", np.zeros((2, 3, 16, 16), np.float32))
    with pytest.raises(DataError, match=r"wrong.npy: array 'x' has shape \[2, 3, 16, 16\]"):
        open_data(NCHW, str(tmp_path / "wrong.npy"))
    np.savez(tmp_path / "names.npz", input=np.zeros((1, 1, 3, 32, 32), np.float32))
    with pytest.raises(DataError, match="holds input, but the model's inputs are x"):
        open_data(NCHW, str(tmp_path / "names.npz"))
    np.savez(tmp_path / "uneven.npz", a=np.zeros((2, 1, 4)), b=np.zeros((3, 1, 4)))
    with pytest.raises(DataError, match="different numbers of samples"):
        open_data([("a", "float32", [1, 4]), ("b", "float32", [1, 4])],
                  str(tmp_path / "uneven.npz"))
    np.save(tmp_path / "floats.npy", np.zeros((2, 1, 4), np.float32))
    with pytest.raises(DataError, match="is float32 but the model takes int64"):
        open_data([("ids", "int64", [1, 4])], str(tmp_path / "floats.npy")).samples(1)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        open_data(NCHW, str(tmp_path / "bad.npz"))
    with pytest.raises(DataError, match="no such file or folder"):
        open_data(NCHW, str(tmp_path / "missing.npz"))
    (tmp_path / "data.csv").write_text("1,2,3")
    with pytest.raises(DataError, match=r"must be a folder of images, a \.npy or a \.npz"):
        open_data(NCHW, str(tmp_path / "data.csv"))


# --- random --------------------------------------------------------------------------------


def test_random_samples_differ_and_repeat() -> None:
    source = open_data(NCHW, None)
    assert isinstance(source, RandomSource) and source.is_random
    assert source.available() is None and "indicative only" in source.label
    first, second = source.samples(2)
    assert not np.array_equal(first["x"], second["x"])
    np.testing.assert_array_equal(source.samples(1)[0]["x"], first["x"])
    assert len(open_data(NCHW, "random").samples(7)) == 7


def test_fingerprints_follow_the_content(tmp_path: Path) -> None:
    assert RandomSource(NCHW, 0).fingerprint() == RandomSource(NCHW, 0).fingerprint()
    assert RandomSource(NCHW, 0).fingerprint() != RandomSource(NCHW, 1).fingerprint()
    np.save(tmp_path / "a.npy", np.zeros((2, 1, 3, 32, 32), np.float32))
    before = open_data(NCHW, str(tmp_path / "a.npy")).fingerprint()
    np.save(tmp_path / "a.npy", np.ones((2, 1, 3, 32, 32), np.float32))
    assert open_data(NCHW, str(tmp_path / "a.npy")).fingerprint() != before
    paths = write_images(tmp_path / "imgs", [RED, GREEN])
    images = open_data(NCHW, str(tmp_path / "imgs")).fingerprint()
    other_std = open_data(NCHW, str(tmp_path / "imgs"), ImageOptions(std=(1.0, 1.0, 1.0)))
    assert other_std.fingerprint() != images
    Image.new("RGB", (50, 40), GREEN).save(paths[0])
    assert open_data(NCHW, str(tmp_path / "imgs")).fingerprint() != images


def test_model_input_specs(tmp_path: Path) -> None:
    path = save_model(small_cnn(), tmp_path / "cnn.onnx")
    assert model_input_specs(path) == [("x", "float32", [1, 3, 32, 32])]
