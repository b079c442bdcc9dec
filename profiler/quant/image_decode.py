"""Decoding calibration images, in a sandboxed child (``ImageFolderSource.samples`` runs
``decoded_batches`` through profiler.sandbox): Pillow's decoders are native code, and an image
folder is as untrusted as a model file. A decoder crash costs the child only; an image whose
header declares more than MAX_IMAGE_PIXELS is refused before it is decoded.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from profiler.files import FileRefused, open_regular
from profiler.quant.data import DataError
from profiler.records.record import record

MAX_IMAGE_FILE_BYTES = 256 << 20
MAX_IMAGE_PIXELS = 89_478_485
"""Pillow's own bomb threshold (Image.MAX_IMAGE_PIXELS): a larger image is refused from its
header; decoded, it would need 256 MiB and more before being resized."""


@record(frozen=True)
class DecodeRequest:
    """What a sandboxed child decodes: batches of image paths, and how to shape them."""

    batches: list[list[str]]
    channels: int
    width: int
    height: int
    mean: list[float]
    std: list[float]
    layout: str
    dtype: str


def decoded_batches(request: DecodeRequest) -> list[np.ndarray]:
    """The sandboxed child's side of ``ImageFolderSource.samples``: one array per batch, in
    the input's layout and dtype, normalised."""
    from profiler.sandbox_child import stage

    mean, std = np.asarray(request.mean, np.float32), np.asarray(request.std, np.float32)
    batches = []
    for paths in request.batches:
        images = []
        for path in paths:
            stage(f"image decoder (reading {os.path.basename(path)})")
            pixels = read_image(path, request.channels, request.width, request.height)
            images.append((pixels - mean) / std)
        stacked = np.stack(images)  # B x H x W x C
        if request.layout == "NCHW":
            stacked = stacked.transpose(0, 3, 1, 2)
        batches.append(np.ascontiguousarray(stacked.astype(request.dtype)))
    return batches


def read_image(path: str, channels: int, width: int, height: int) -> np.ndarray:
    """H x W x C float32 in [0, 1]: decoded, converted to RGB or grey, resized (bilinear).
    An image of more than MAX_IMAGE_PIXELS is refused from its header, before decoding."""
    from PIL import Image, UnidentifiedImageError

    data = _image_bytes(path)
    try:
        with warnings.catch_warnings():  # the size is checked here, with a clearer message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            _check_pixels(path, *image.size)
            converted = image.convert("RGB" if channels == 3 else "L")
            resized = converted.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(resized, dtype=np.float32) / 255.0
    except Image.DecompressionBombError as error:  # Pillow's own check, at open
        raise DataError(f"{path}: {_bomb_text(error)}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise DataError(f"{path}: cannot read the image ({error})") from None
    return pixels.reshape(height, width, channels)


def _image_bytes(path: str) -> bytes:
    try:
        with open_regular(path, MAX_IMAGE_FILE_BYTES) as handle:
            return handle.read()
    except FileRefused as refused:
        raise DataError(str(refused)) from None


def _check_pixels(path: str, width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(f"{path}: the image is {width} x {height} pixels, more than the "
                        f"{MAX_IMAGE_PIXELS} a calibration image may have (a decompression "
                        "bomb?); refused: resize it or leave it out")


def _bomb_text(error: Exception) -> str:
    return (f"the image is larger than the {MAX_IMAGE_PIXELS} pixels a calibration image may "
            f"have ({error}); refused: resize it or leave it out")
