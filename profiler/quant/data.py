"""Calibration and evaluation inputs: a folder of images, a .npy/.npz file, or random data.

Images (.jpg .jpeg .png .bmp, sorted by file name) are decoded with Pillow in a sandboxed
child (profiler.quant.image_decode), converted to RGB (or to grey for a one-channel input),
resized to the input's H x W (bilinear), scaled to [0, 1], then normalised per channel as
``(x - mean) / std``. Defaults: the ImageNet statistics mean (0.485, 0.456, 0.406), std
(0.229, 0.224, 0.225); a grey input uses the average of each.
The layout is NCHW when the input's dim 1 is 1 or 3, else NHWC when its last dim is 1 or 3;
``ImageOptions.layout`` overrides it. A batch of B images makes one sample.

A .npy feeds a model with one input, a .npz one array per input name; in both the first axis
counts samples: an array of shape (S, *input_shape) gives S samples, and one of shape
(S * B, *input_shape[1:]) gives S samples of batch B.

Random data (``make_inputs`` with one seed per sample, each input made by its value rule:
valid table ids, masks of ones, the user's values or ranges) has ``is_random`` set: every
drift number derived from it is indicative only.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np

from profiler.errors import ProfilerError, UsageError
from profiler.files import FileRefused, check_regular, open_regular
from profiler.records.record import record
from profiler.runtime.inputs import InputSpecs, ValueRules, check_npz_sizes, make_inputs

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
LAYOUTS = ("NCHW", "NHWC")
RANDOM_LABEL = "random data (indicative only)"
HASH_CHUNK_BYTES = 1 << 20
MAX_ARRAY_FILE_BYTES = 16 << 30
"""A .npy/.npz larger than this is refused before it is read (calibration needs far less)."""
DECODED_BYTES_PER_CHILD = 256 << 20
"""Decoded pixels one sandboxed child sends back; more batches take more children."""

Sample = dict[str, np.ndarray]


class DataError(ProfilerError):
    """Calibration/evaluation data cannot be read or does not fit the model's inputs."""


@record(frozen=True)
class ImageOptions:
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    layout: str | None = None
    """"NCHW" | "NHWC"; None: detected from the input's shape."""


class DataSource(abc.ABC):
    """Where samples come from; ``samples(count)`` returns at most ``count`` of them."""

    kind: str = ""
    is_random: bool = False

    def __init__(self, specs: InputSpecs, label: str) -> None:
        self.specs = [(name, dtype, [int(d) for d in shape]) for name, dtype, shape in specs]
        self.label = label

    @abc.abstractmethod
    def available(self) -> int | None:
        """How many samples exist (None: as many as asked for)."""

    @abc.abstractmethod
    def samples(self, count: int) -> list[Sample]:
        """The first ``count`` samples (fewer when the source holds fewer)."""

    @abc.abstractmethod
    def _content_fingerprint(self) -> Any:
        """What identifies the content (file hashes, stats), for the cache key."""

    def fingerprint(self) -> str:
        """sha256 of the kind, the input specs and the content: a cache-key part."""
        payload = {"kind": self.kind, "specs": self.specs, "content": self._content_fingerprint()}
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


class RandomSource(DataSource):
    kind = "random"
    is_random = True

    def __init__(self, specs: InputSpecs, seed: int = 0, rules: ValueRules | None = None) -> None:
        super().__init__(specs, RANDOM_LABEL)
        self.seed = seed
        self.rules = dict(rules or {})

    def available(self) -> int | None:
        return None

    def samples(self, count: int) -> list[Sample]:
        return [make_inputs(self.specs, None, seed=self.seed + index, rules=self.rules)
                for index in range(count)]

    def _content_fingerprint(self) -> Any:
        made_by = {name: [r.kind, r.low, r.high, r.fill] for name, r in self.rules.items()
                   if r.kind != "random"}
        return {"seed": self.seed, "rules": made_by} if made_by else {"seed": self.seed}


class ArraySource(DataSource):
    """A .npy (one input) or .npz (by input name); the first axis counts samples."""

    def __init__(self, specs: InputSpecs, path: str) -> None:
        super().__init__(specs, path)
        self.kind = os.path.splitext(path)[1].lower().lstrip(".")
        self._arrays = {name: _split_samples(path, name, array, shape)
                        for name, array, shape in _read_arrays(self.specs, path)}
        counts = {len(parts) for parts in self._arrays.values()}
        if len(counts) != 1:
            raise DataError(f"{path}: the arrays hold different numbers of samples "
                            f"({_counts(self._arrays)}); give every input the same number")
        self._count = counts.pop()

    def available(self) -> int | None:
        return self._count

    def samples(self, count: int) -> list[Sample]:
        chosen = range(min(count, self._count))
        return [{name: _as_dtype(self.label, name, parts[i], dtype)
                 for (name, dtype, _), parts in zip(self.specs, self._arrays.values(), strict=True)}
                for i in chosen]

    def _content_fingerprint(self) -> Any:
        return file_sha256(self.label)


class ImageFolderSource(DataSource):
    kind = "images"

    def __init__(self, specs: InputSpecs, folder: str, options: ImageOptions | None = None) -> None:
        super().__init__(specs, folder)
        self.options = options or ImageOptions()
        self.files = _image_files(folder)
        self.input_name, self.dtype, shape = _image_input(folder, self.specs)
        self.layout = (self.options.layout or detect_layout(self.input_name, shape)).upper()
        self.batch, self.channels, self.height, self.width = _image_dims(shape, self.layout)
        self.mean, self.std = _channel_stats(self.options, self.channels, folder)

    def available(self) -> int | None:
        return len(self.files) // self.batch

    def samples(self, count: int) -> list[Sample]:
        """Decoded in sandboxed children (profiler.sandbox), at most DECODED_BYTES_PER_CHILD
        of pixels each: Pillow's decoders are native code reading untrusted files."""
        total = min(count, self.available() or 0)
        per_child = max(1, DECODED_BYTES_PER_CHILD // max(1, self._batch_bytes()))
        batches: list[np.ndarray] = []
        for first in range(0, total, per_child):
            batches.extend(self._decoded(range(first, min(total, first + per_child))))
        return [{self.input_name: batch} for batch in batches]

    def _batch_bytes(self) -> int:
        return self.batch * self.channels * self.height * self.width * np.dtype(self.dtype).itemsize

    def _decoded(self, indices: range) -> list[np.ndarray]:
        from profiler.errors import ModelLoadError
        from profiler.quant.image_decode import DecodeRequest, decoded_batches
        from profiler.sandbox import run_isolated

        request = DecodeRequest(
            [self.files[i * self.batch:(i + 1) * self.batch] for i in indices], self.channels,
            self.width, self.height, self.mean.tolist(), self.std.tolist(), self.layout,
            self.dtype)
        try:
            batches = run_isolated(decoded_batches, (request,), self.label, subject="image")
        except ModelLoadError as error:  # the decoder crashed, hung or ran out of memory
            raise DataError(str(error)) from None
        return list(batches)

    def _content_fingerprint(self) -> Any:
        stats = [(os.path.basename(p), os.path.getsize(p), os.stat(p).st_mtime_ns)
                 for p in self.files]
        return {"files": stats, "mean": self.mean.tolist(), "std": self.std.tolist(),
                "layout": self.layout}


def open_data(specs: InputSpecs, source: str | None, image_options: ImageOptions | None = None,
              seed: int = 0, rules: ValueRules | None = None) -> DataSource:
    """A folder of images, a .npy/.npz file, or random data (``source`` None or "random") made
    by the inputs' value ``rules``."""
    if source is None or source == "random":
        return RandomSource(specs, seed, rules)
    if os.path.isdir(source):
        return ImageFolderSource(specs, source, image_options)
    if not os.path.exists(source):
        raise DataError(f"{source}: no such file or folder (give an image folder, a .npy/.npz "
                        "file, or 'random')")
    if os.path.splitext(source)[1].lower() not in (".npy", ".npz"):
        raise DataError(f"{source}: data must be a folder of images, a .npy or a .npz file")
    return ArraySource(specs, source)


def model_input_specs(model_path: str, shapes: Mapping[str, Sequence[int]] | None = None,
                      ) -> list[tuple[str, str, list[int]]]:
    """(name, dtype, concrete shape) of each input of the model file, as the loader resolves
    them (dynamic dims get the loader's defaults unless ``shapes`` overrides them). The model
    is parsed in a sandboxed child (profiler.sandbox)."""
    from profiler.sandbox import run_isolated

    overrides = {name: tuple(int(d) for d in dims) for name, dims in (shapes or {}).items()}
    specs = []
    for name, dtype, shape in run_isolated(loaded_input_specs, (model_path, overrides),
                                           model_path):
        if shape is None:
            raise DataError(f"{model_path}: input {name!r} has no concrete shape; set it "
                            "with --shape")
        specs.append((str(name), str(dtype), [int(d) for d in shape]))
    return specs


def loaded_input_specs(model_path: str, overrides: dict[str, tuple[int, ...]]) -> list[Any]:
    """The sandboxed child's side of ``model_input_specs``: plain JSON data."""
    from profiler.model.loader import load_model

    model = load_model(model_path, overrides)
    return [[spec.name, spec.dtype, None if spec.shape is None else list(spec.shape)]
            for spec in model.input_specs]


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with _open_data_file(path, None) as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_data_file(path: str, max_bytes: int | None) -> BinaryIO:
    """A regular file of at most ``max_bytes`` (pipes, devices, folders refused unopened)."""
    try:
        return open_regular(path, max_bytes)
    except FileRefused as refused:
        raise DataError(str(refused)) from None


# --- arrays --------------------------------------------------------------------------------


def _read_arrays(specs: list[tuple[str, str, list[int]]], path: str,
                 ) -> list[tuple[str, np.ndarray, list[int]]]:
    names = ", ".join(name for name, _, _ in specs)
    if path.lower().endswith(".npy"):
        if len(specs) != 1:
            raise DataError(f"{path}: a .npy holds one array but the model has {len(specs)} "
                            f"inputs ({names}); give a .npz with one array per input name")
        return [(specs[0][0], _load_npy(path), specs[0][2])]
    arrays = _load_npz(path)
    if sorted(arrays) != sorted(name for name, _, _ in specs):
        raise DataError(f"{path}: holds {', '.join(arrays) or 'no arrays'}, but the model's "
                        f"inputs are {names}; name one array per input")
    return [(name, arrays[name], shape) for name, _, shape in specs]


def _load_npy(path: str) -> np.ndarray:
    try:
        with _open_data_file(path, MAX_ARRAY_FILE_BYTES) as handle:
            return np.load(handle, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npy array ({error})") from None


def _load_npz(path: str) -> dict[str, np.ndarray]:
    try:
        with _open_data_file(path, MAX_ARRAY_FILE_BYTES) as handle, np.load(
                handle, allow_pickle=False) as archive:
            check_npz_sizes(archive, path)
            return {key: archive[key] for key in archive.files}
    except UsageError as error:
        raise DataError(str(error)) from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from None


def _split_samples(path: str, name: str, array: np.ndarray, shape: list[int],
                   ) -> list[np.ndarray]:
    """(S, *shape) -> S samples; (S*B, *shape[1:]) -> S samples of batch B."""
    if array.ndim == len(shape) + 1 and list(array.shape[1:]) == shape:
        return list(array)
    batch = shape[0] if shape else 0
    if shape and array.ndim == len(shape) and list(array.shape[1:]) == shape[1:] and batch > 0:
        count = array.shape[0] // batch
        if count > 0 and array.shape[0] % batch == 0:
            return [array[i * batch:(i + 1) * batch] for i in range(count)]
    raise DataError(f"{path}: array {name!r} has shape {list(array.shape)}, but input {name!r} "
                    f"runs at {shape}: give (samples, {', '.join(map(str, shape))}) "
                    f"or (samples x {batch}, {', '.join(map(str, shape[1:]))})")


def _as_dtype(path: str, name: str, array: np.ndarray, dtype: str) -> np.ndarray:
    target = np.dtype(dtype)
    if array.dtype != target:
        if not np.can_cast(array.dtype, target, casting="same_kind"):
            raise DataError(f"{path}: array {name!r} is {array.dtype} but the model takes "
                            f"{target}")
        array = array.astype(target)
    return np.ascontiguousarray(array)


def _counts(arrays: dict[str, list[np.ndarray]]) -> str:
    return ", ".join(f"{name}: {len(parts)}" for name, parts in arrays.items())


# --- images --------------------------------------------------------------------------------


def _image_files(folder: str) -> list[str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError as error:
        raise DataError(f"{folder}: cannot list the folder ({error.strerror})") from None
    files = [os.path.join(folder, n) for n in names
             if n.lower().endswith(IMAGE_EXTENSIONS) and not os.path.isdir(os.path.join(folder, n))]
    if not files:
        raise DataError(f"{folder}: no images ({' '.join(IMAGE_EXTENSIONS)}) in the folder")
    for path in files:  # a pipe or device named like an image is refused now, not skipped
        try:
            check_regular(path)
        except FileRefused as refused:
            raise DataError(str(refused)) from None
    return files


def _image_input(folder: str, specs: list[tuple[str, str, list[int]]],
                 ) -> tuple[str, str, list[int]]:
    if len(specs) != 1:
        names = ", ".join(name for name, _, _ in specs)
        raise DataError(f"{folder}: an image folder feeds a model with one input, this one has "
                        f"{len(specs)} ({names}); give a .npz with one array per input")
    name, dtype, shape = specs[0]
    if len(shape) != 4 or np.dtype(dtype).kind != "f":
        raise DataError(f"{folder}: input {name!r} is {dtype} {shape}, not a float image batch "
                        "(4 dims); give a .npy/.npz instead")
    return name, dtype, shape


def detect_layout(name: str, shape: Sequence[int]) -> str:
    """NCHW when dim 1 is 1 or 3, else NHWC when the last dim is; otherwise ask for it."""
    if shape[1] in (1, 3):
        return "NCHW"
    if shape[-1] in (1, 3):
        return "NHWC"
    raise DataError(f"input {name!r} has shape {list(shape)}: no channel dim of 1 or 3, so the "
                    "image layout is unknown; give the layout (NCHW or NHWC)")


def _image_dims(shape: list[int], layout: str) -> tuple[int, int, int, int]:
    if layout not in LAYOUTS:
        raise DataError(f"unknown image layout {layout!r}; use NCHW or NHWC")
    batch, *rest = shape
    channels, height, width = rest if layout == "NCHW" else (rest[2], rest[0], rest[1])
    if channels not in (1, 3):
        raise DataError(f"an image input needs 1 or 3 channels; shape {shape} in {layout} has "
                        f"{channels}")
    return batch, channels, height, width


def _channel_stats(options: ImageOptions, channels: int, folder: str,
                   ) -> tuple[np.ndarray, np.ndarray]:
    mean, std = np.asarray(options.mean, np.float32), np.asarray(options.std, np.float32)
    allowed = {1, channels, len(IMAGENET_MEAN)} if channels == 1 else {1, channels}
    if mean.size != std.size or mean.size not in allowed:
        raise DataError(f"{folder}: mean {list(options.mean)} and std {list(options.std)} must "
                        f"have 1 or {channels} values each")
    if channels == 1:
        mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
    if np.any(std <= 0):
        raise DataError(f"{folder}: std values must be positive, got {list(options.std)}")
    return mean, std
