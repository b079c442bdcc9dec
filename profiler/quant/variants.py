"""The variant registry and ``build_variant``: quantized/converted models, built once and cached.

Each variant is made by the library that owns the technique (ONNX Runtime's float16 converter
and quantizers, OpenVINO's IR serializer, NNCF), never by editing weights here: see
ort_variants.py and ov_variants.py for the exact calls and defaults. A built variant lives in
the variant cache (cache.py), keyed by the sha256 of the model's files, the variant id, every
setting, the library versions and the calibration data's fingerprint, so a second build with
the same inputs returns the cached files at once (``BuiltVariant.cached``). The input model is
only read: outputs go to a fresh folder inside the cache.

A build that fails (unknown node names, an op the library cannot handle, no calibration data,
a library error) raises ``VariantBuildError`` with one line; callers record it per variant and
go on with the others.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from profiler.errors import ProfilerError
from profiler.quant.cache import VariantCache, cache_key
from profiler.quant.data import DataSource, file_sha256
from profiler.records.record import record

RECIPE_VERSION = 2
"""Bumped when the way a variant is built here changes: old cache entries stop matching."""
DEFAULT_CALIBRATION_SAMPLES = 100
RANDOM_DATA_WARNING = ("calibrated on random data: accuracy drift numbers are indicative only; "
                       "give an image folder or a .npy/.npz of real inputs")
ORT_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino",
                     "onnxruntime-directml", "onnxruntime-qnn")


class VariantBuildError(ProfilerError):
    """One variant could not be built; the message names the variant and why."""

    def __init__(self, variant_id: str, message: str) -> None:
        super().__init__(f"{variant_id}: {message}")
        self.variant_id = variant_id
        self.problem = message


@record(frozen=True)
class VariantSpec:
    id: str
    description: str
    library: str
    """"onnxruntime" | "openvino" | "nncf"."""
    accepts: tuple[str, ...]
    """Model file extensions it takes."""
    output_format: str
    """"onnx" | "openvino-ir"."""
    needs_data: bool = False
    """Calibration data is required."""
    uses_exclude: bool = True


_ONNX, _ANY = (".onnx",), (".onnx", ".xml", ".tflite")
"""ONNX Runtime's tools read ONNX only; OpenVINO and NNCF take whatever OpenVINO reads."""
VARIANTS: dict[str, VariantSpec] = {spec.id: spec for spec in (
    VariantSpec("fp16", "ONNX FP16 (float16 converter, float32 inputs/outputs)",
                "onnxruntime", _ONNX, "onnx"),
    VariantSpec("int8-dynamic", "ONNX INT8 weights, activations quantized at run time "
                "(quantize_dynamic)", "onnxruntime", _ONNX, "onnx"),
    VariantSpec("int8-static", "ONNX INT8 QDQ, per-channel weights, calibrated activations "
                "(quantize_static)", "onnxruntime", _ONNX, "onnx", needs_data=True),
    VariantSpec("ov-fp32", "OpenVINO IR FP32 (converted, uncompressed: the IR reference)",
                "openvino", _ANY, "openvino-ir", uses_exclude=False),
    VariantSpec("ov-fp16", "OpenVINO IR with FP16-compressed weights", "openvino", _ANY,
                "openvino-ir", uses_exclude=False),
    VariantSpec("ov-int8", "OpenVINO IR INT8, calibrated (nncf.quantize)", "nncf", _ANY,
                "openvino-ir", needs_data=True),
    VariantSpec("ov-int8-weights", "OpenVINO IR INT8 weights only (nncf.compress_weights "
                "INT8_ASYM)", "nncf", _ANY, "openvino-ir"),
    VariantSpec("ov-int4-weights", "OpenVINO IR INT4 weights, data-free (nncf.compress_weights "
                "INT4; INT8 where NNCF keeps a backup precision)", "nncf", _ANY, "openvino-ir"),
)}


@record(frozen=True)
class VariantOptions:
    exclude_nodes: tuple[str, ...] = ()
    """Nodes kept in float: ORT nodes_to_exclude / node_block_list, NNCF IgnoredScope names."""
    calibration_method: str = "minmax"
    """int8-static: "minmax" | "entropy" | "percentile"."""
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    """Samples used for calibration (int8-static, ov-int8); fewer when the data holds fewer."""
    activation_type: str = "auto"
    """int8-static activations: "auto" (uint8 on x86, int8 on ARM) | "uint8" | "int8"."""
    int4_mode: str = "sym"
    """ov-int4-weights: "sym" (INT4_SYM) | "asym" (INT4_ASYM)."""
    int4_ratio: float = 1.0
    """Share of the eligible weights given INT4 (the rest stay INT8)."""
    int4_group_size: int = 128
    """Weights per quantization scale along the input channels (-1: per channel)."""


@record
class BuiltVariant:
    variant_id: str
    description: str
    model_path: str
    model_sha256: str
    path: str
    """The main file: the .onnx, or the IR's .xml (its .bin beside it)."""
    files: list[str]
    file_bytes: int
    """All of the variant's files together (.xml + .bin, .onnx + external data)."""
    format: str
    build_seconds: float
    settings: dict[str, Any]
    library_versions: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    """What the library reported, e.g. int4_weights / int8_weights counts."""
    data_label: str = ""
    data_is_random: bool = False
    cached: bool = False
    cache_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_variants() -> list[VariantSpec]:
    return list(VARIANTS.values())


def build_variant(model_path: str, variant_id: str, options: VariantOptions | None = None,
                  data: DataSource | None = None, cache: VariantCache | None = None,
                  ) -> BuiltVariant:
    """Build (or fetch from the cache) one variant of ``model_path``; VariantBuildError if not."""
    try:
        return _build(model_path, variant_id, options or VariantOptions(), data,
                      cache if cache is not None else VariantCache())
    except VariantBuildError:
        raise
    except ProfilerError as error:
        raise VariantBuildError(variant_id, str(error)) from None


def _build(model_path: str, variant_id: str, options: VariantOptions, data: DataSource | None,
           cache: VariantCache) -> BuiltVariant:
    spec = _spec(variant_id)
    files = _checked_model(model_path, spec)
    if spec.needs_data and data is None:
        raise VariantBuildError(variant_id, "needs calibration data: give an image folder, a "
                                ".npy/.npz file or random data")
    settings = variant_settings(spec, options)
    versions = library_versions(spec)
    model_sha = _files_sha256(files)
    key = cache_key({"recipe": RECIPE_VERSION, "variant": spec.id, "model": model_sha,
                     "settings": settings, "versions": versions,
                     "data": data.fingerprint() if spec.needs_data and data else None})
    entry = cache.lookup(key)
    if entry is None:
        build = _Build(spec, model_path, options, data if spec.needs_data else None, settings)
        entry, evicted = cache.store(key, build.run)
        entry.meta["warnings"] = [*entry.meta["warnings"], *evicted]
        cached = False
    else:
        cached = True
    built = _built(spec, model_path, model_sha, entry.path, entry.meta, versions, key, cached)
    if options.exclude_nodes and not spec.uses_exclude:
        built.warnings.append(f"--exclude does not apply to {spec.id}: it quantizes nothing")
    return built


def _spec(variant_id: str) -> VariantSpec:
    spec = VARIANTS.get(variant_id)
    if spec is None:
        raise VariantBuildError(variant_id, f"unknown variant; known: {', '.join(VARIANTS)}")
    return spec


def _checked_model(model_path: str, spec: VariantSpec) -> list[str]:
    from profiler.model.loader import check_model_path

    extension = check_model_path(model_path)
    if extension not in spec.accepts:
        kind = {".xml": "an OpenVINO IR", ".tflite": "a TFLite model"}.get(
            extension, f"a {extension} file")
        raise VariantBuildError(spec.id, f"{spec.id} needs an ONNX model; {model_path} is {kind} "
                                "(use an ov-* variant for it)")
    return model_files(model_path)


def model_files(model_path: str) -> list[str]:
    """The model file and the files it needs (an IR's .bin, an ONNX model's external data),
    found by loading it in a sandboxed child (profiler.model.companions)."""
    from profiler.model.companions import model_files as sandboxed_model_files

    return sandboxed_model_files(model_path)


def _files_sha256(files: list[str]) -> str:
    from hashlib import sha256

    return sha256("".join(file_sha256(path) for path in files).encode()).hexdigest()


def variant_settings(spec: VariantSpec, options: VariantOptions) -> dict[str, Any]:
    """The settings that define this variant (the cache key's), with "auto" resolved."""
    settings: dict[str, Any] = {}
    if spec.uses_exclude:
        settings["exclude_nodes"] = sorted(options.exclude_nodes)
    if spec.needs_data:
        settings["calibration_samples"] = options.calibration_samples
    if spec.id == "int8-static":
        settings.update(_static_settings(options))
    elif spec.id == "ov-int8-weights":
        settings.update(weight_bits=8, mode="INT8_ASYM")
    elif spec.id == "ov-int4-weights":
        settings.update(weight_bits=4, int4_mode=options.int4_mode, int4_ratio=options.int4_ratio,
                        int4_group_size=options.int4_group_size)
    return settings


def _static_settings(options: VariantOptions) -> dict[str, Any]:
    from profiler.environment import cpu_info
    from profiler.quant.ort_variants import CALIBRATION_METHODS, OrtBuildProblem, static_types

    method = CALIBRATION_METHODS.get(options.calibration_method.lower())
    if method is None:
        raise VariantBuildError("int8-static", f"unknown calibration method "
                                f"{options.calibration_method!r}; use minmax, entropy or "
                                "percentile")
    try:
        activation, reduce_range = static_types(options.activation_type,
                                                cpu_info()["isa_flags"])
    except OrtBuildProblem as problem:
        raise VariantBuildError("int8-static", str(problem)) from None
    return {"calibrate_method": method, "activation_type": activation,
            "reduce_range": reduce_range}


LIBRARIES = {"onnxruntime": ("onnx", "onnxruntime"), "openvino": ("openvino",),
             "nncf": ("openvino", "nncf")}


def library_versions(spec: VariantSpec) -> dict[str, str]:
    names = LIBRARIES[spec.library]
    return {name: _version(name) for name in names}


def _version(name: str) -> str:
    candidates = ORT_DISTRIBUTIONS if name == "onnxruntime" else (name,)
    for candidate in candidates:
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _built(spec: VariantSpec, model_path: str, model_sha: str, folder: Path,
           meta: dict[str, Any], versions: dict[str, str], key: str, cached: bool,
           ) -> BuiltVariant:
    files = [str(folder / name) for name in meta["files"]]
    return BuiltVariant(
        variant_id=spec.id, description=spec.description, model_path=model_path,
        model_sha256=model_sha, path=files[0], files=files,
        file_bytes=sum(os.path.getsize(path) for path in files), format=spec.output_format,
        build_seconds=meta["build_seconds"], settings=meta["settings"],
        library_versions=versions, warnings=list(meta["warnings"]), details=meta["details"],
        data_label=meta["data_label"], data_is_random=meta["data_is_random"], cached=cached,
        cache_key=key,
    )


class _Build:
    """One build into the cache's temp folder; ``run`` returns the entry's metadata."""

    def __init__(self, spec: VariantSpec, model_path: str, options: VariantOptions,
                 data: DataSource | None, settings: dict[str, Any]) -> None:
        self.spec, self.model_path, self.data = spec, model_path, data
        self.options = replace(options, exclude_nodes=tuple(settings.get("exclude_nodes", ())))
        self.settings = dict(settings)
        self.warnings: list[str] = []
        self.details: dict[str, Any] = {}

    def run(self, folder: Path) -> dict[str, Any]:
        stem = os.path.splitext(os.path.basename(self.model_path))[0]
        extension = ".onnx" if self.spec.output_format == "onnx" else ".xml"
        output = folder / f"{stem}.{self.spec.id}{extension}"
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="edgeprof-build-") as work:
            self._dispatch(output, Path(work))
        elapsed = time.perf_counter() - started
        self._data_warnings()
        names = sorted(p.name for p in folder.iterdir() if p.name != output.name)
        return {"variant": self.spec.id, "model_name": os.path.basename(self.model_path),
                "files": [output.name, *names], "build_seconds": elapsed,
                "settings": self.settings, "warnings": self.warnings, "details": self.details,
                "data_label": self.data.label if self.data else "",
                "data_is_random": bool(self.data and self.data.is_random)}

    def _dispatch(self, output: Path, work: Path) -> None:
        from profiler.quant.ort_variants import OrtBuildProblem
        from profiler.quant.ov_variants import OvBuildProblem

        try:
            if self.spec.library == "onnxruntime":
                self._build_ort(output, work)
            else:
                self._build_ov(output)
        except (OrtBuildProblem, OvBuildProblem) as problem:
            raise VariantBuildError(self.spec.id, str(problem)) from None
        except ProfilerError:
            raise
        except ModuleNotFoundError as error:
            raise VariantBuildError(self.spec.id, f"{error.name} is not installed; reinstall "
                                    "the profiler with its dependencies") from None
        except Exception as error:  # the library's own failure: one line, the run goes on
            from profiler.errors import clean_runtime_message

            raise VariantBuildError(self.spec.id, f"{self.spec.library} failed: "
                                    f"{clean_runtime_message(error)}") from None

    def _build_ort(self, output: Path, work: Path) -> None:
        from profiler.quant import ort_variants as ort

        excluded = self.options.exclude_nodes
        ort.check_known_nodes(excluded, ort.onnx_node_names(self.model_path))
        min_opset = ort.PER_CHANNEL_MIN_OPSET if self.spec.id == "int8-static" else None
        preparation: list[str] = []
        source = ort.prepare(self.model_path, work, min_opset, preparation)
        pre_processed = ort.pre_process(source, work, self.settings)
        self.details["preparation"] = preparation
        self.warnings.extend(ort.merged_nodes_notes(excluded, pre_processed))
        if self.spec.id == "fp16":
            ort.build_fp16(pre_processed, output, excluded, self.settings)
        elif self.spec.id == "int8-dynamic":
            ort.build_int8_dynamic(pre_processed, output, excluded, self.settings)
        else:
            assert self.data is not None
            ort.build_int8_static(pre_processed, output, excluded, self.settings, self.data,
                                  self.options.calibration_samples)

    def _build_ov(self, output: Path) -> None:
        from profiler.quant import ov_variants as ov

        excluded = self.options.exclude_nodes
        if self.spec.id in ("ov-fp32", "ov-fp16"):
            ov.build_ov_float(self.model_path, output, self.spec.id == "ov-fp16", self.settings)
            return
        if self.spec.id == "ov-int8":
            assert self.data is not None
            counts = ov.build_ov_int8(self.model_path, output, excluded, self.settings,
                                      self.data, self.options.calibration_samples)
        else:
            counts = ov.build_ov_weights(self.model_path, output, excluded, self.settings)
        self.details.update(counts)
        if self.spec.id == "ov-int4-weights" and counts["int4_weights"] == 0:
            self.warnings.append(
                "NNCF compressed no weight to INT4 (only MatMul/Gemm-like weights are eligible; "
                "embeddings, the last layer and convolutions stay INT8): this variant "
                f"has {counts['int8_weights']} INT8 weights and is in effect INT8 weights-only")

    def _data_warnings(self) -> None:
        if self.data is not None and self.data.is_random:
            self.warnings.append(RANDOM_DATA_WARNING)
        used = self.settings.get("calibration_samples_used")
        if used is not None and used < self.options.calibration_samples:
            asked = self.options.calibration_samples
            label = self.data.label if self.data else ""
            self.warnings.append(f"calibrated on {used} samples ({asked} asked for): {label} "
                                 "holds no more")
