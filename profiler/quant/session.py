"""Quantize and measure: build every variant, measure it beside the FP32 model, explain it.

For each device the FP32 model (the reference) is measured first with the ``profile``
protocol. Then, per variant: build, in a child process (profiler.quant.build_worker; a
failure, crash or hang is recorded in ``Variant.error``; the others go on), and on every
device the pair makes sense on, measure it with the same protocol (isolated worker, same
inputs, per-layer pass on), compare its outputs with the FP32 model's on the
same device in a drift worker, and derive the diagnostics from its layer profile. ONNX
variants also get a per-layer drift. Last, the Pareto front per device.

Which pairs run: ONNX variants (fp16, int8-*) on ``ort:*`` devices; OpenVINO IR variants
(ov-*) on ``ov:*`` devices; with ``cross_runtime`` ONNX variants also on ``ov:*`` devices
(OpenVINO reads ONNX, QDQ models included). An IR never runs on ONNX Runtime. The FP32
reference runs on every device that can read the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field, replace

from profiler.bench.profile import (
    ProfileOptions,
    build_jobs,
    concrete_shapes,
    input_rules,
    run_failed,
)
from profiler.bench.supervisor import CancelToken, ProgressSink
from profiler.bench.wire import Failure
from profiler.errors import ProfilerError, UsageError
from profiler.quant.build_worker import (
    BuildKind,
    BuildOutcome,
    BuildRequest,
    built_of,
    run_build,
    size_reference_of,
)
from profiler.quant.cache import VariantCache
from profiler.quant.data import DataSource, ImageOptions, open_data
from profiler.quant.diagnostics import diagnose
from profiler.quant.drift_worker import DriftKind, DriftOutcome, DriftRequest, run_drift
from profiler.quant.layer_drift import DEFAULT_BATCH_TENSORS, DEFAULT_LAYER_SAMPLES
from profiler.quant.pareto import assign_fronts
from profiler.quant.sizes import IR_FAMILY, ONNX_FAMILY, SizeReferences, model_family
from profiler.quant.variants import VARIANTS, BuiltVariant, VariantOptions
from profiler.records.record import record
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.records.variants import REFERENCE_ID, DataInfo, Variant
from profiler.remote.runner import measure_job
from profiler.runtime.devices import split_target

DEFAULT_EVAL_SAMPLES = 32
DEFAULT_THRESHOLD_DB = 20.0
ONNX_VARIANTS = ("fp16", "int8-dynamic", "int8-static")
OV_VARIANTS = ("ov-fp16", "ov-int8", "ov-int8-weights")
SAME_DATA_WARNING = ("drift is measured on the calibration data; give --eval with other "
                     "inputs for an unbiased figure")


@record
class QuantizeOptions:
    variants: list[str] | None = None
    """None: the default set for the model's format and the devices."""
    devices: list[str] = field(default_factory=list)
    build: VariantOptions = field(default_factory=VariantOptions)
    calibration: str | None = None
    """Image folder, .npy/.npz, or None/'random'."""
    evaluation: str | None = None
    """None: the calibration data when it is real, else random data."""
    eval_samples: int = DEFAULT_EVAL_SAMPLES
    image: ImageOptions = field(default_factory=ImageOptions)
    seed: int = 0
    profile: ProfileOptions = field(default_factory=ProfileOptions)
    drift_threshold_db: float = DEFAULT_THRESHOLD_DB
    layer_drift: bool = True
    layer_samples: int = DEFAULT_LAYER_SAMPLES
    layer_batch_tensors: int = DEFAULT_BATCH_TENSORS
    cross_runtime: bool = False
    cache: VariantCache | None = None
    worker_argv: Sequence[str] | None = None
    drift_worker_argv: Sequence[str] | None = None
    build_worker_argv: Sequence[str] | None = None
    """The child that builds variants and size references (None: profiler.quant.build_worker)."""
    backend_factory: str = ""
    """'module:callable' for the workers' backends ('' = the real runtimes)."""


def default_variants(model_path: str, devices: Sequence[str]) -> list[str]:
    """ONNX Runtime variants when an ort device is chosen, ov-* ones for ov devices."""
    prefixes = {split_target(device)[1].split(":")[0] for device in devices}
    chosen = list(ONNX_VARIANTS) if "ort" in prefixes and model_family(model_path) == \
        ONNX_FAMILY else []
    return chosen + (list(OV_VARIANTS) if "ov" in prefixes else [])


def runs_on(family: str, device: str, cross_runtime: bool = False) -> bool:
    """Whether a model of this family runs on the device (see the module docstring)."""
    prefix = split_target(device)[1].split(":")[0]  # 'pi5/ort:cpu' runs what 'ort:cpu' runs
    if family == ONNX_FAMILY:
        return prefix == "ort" or (cross_runtime and prefix == "ov")
    return prefix == "ov"


def remote_drift_note(device: str) -> str:
    local = split_target(device)[1]
    return (f"drift for {device} was computed on this machine's {local}: the board measures "
            "speed and memory; its kernels may round differently")


def check_variants(variant_ids: Sequence[str]) -> None:
    unknown = [v for v in variant_ids if v not in VARIANTS]
    if unknown:
        raise UsageError(f"--variants: unknown {', '.join(unknown)}; known: "
                         f"{', '.join(VARIANTS)}")
    if not variant_ids:
        raise UsageError("no variant to build: name some with --variants")


def _label(variant: str, device: str) -> str:
    return f"{variant} @ {device}" if device else variant


class QuantizeSession:
    """One quantize run over ``report``, the model's static analysis; ``run()`` returns it
    completed (``profiler.api.quantize_model`` makes the analysis first)."""

    def __init__(self, report: Report, model_path: str, options: QuantizeOptions,
                 progress: ProgressSink | None = None, cancel: CancelToken | None = None) -> None:
        self.model_path, self.options = model_path, options
        self.progress, self.cancel = progress, cancel
        self.report = report
        assert self.report.model is not None
        self.rules = input_rules(self.report.model.inputs)
        self.shapes = concrete_shapes(self.report.model.inputs)
        self.family = model_family(model_path)
        self.devices = list(dict.fromkeys(options.devices))
        self.variant_ids = options.variants or default_variants(model_path, self.devices)
        check_variants(self.variant_ids)
        self.cache = options.cache if options.cache is not None else VariantCache()
        self.sizes = SizeReferences(self.report, self._ov_fp32_bytes, self._onnx_fp32_bytes)
        self.reference_runs: dict[str, Run] = {}
        self.data_warnings: list[str] = []
        self.calibration, self.calibration_error = self._open_calibration()
        self.evaluation_source, self.evaluation, self.evaluation_error = self._open_evaluation()

    # data -----------------------------------------------------------------------------------

    def _specs(self) -> list[tuple[str, str, list[int]]]:
        assert self.report.model is not None
        return [(s.name, s.dtype, self.shapes[s.name]) for s in self.report.model.inputs]

    def _open_calibration(self) -> tuple[DataSource | None, str]:
        if not any(VARIANTS[v].needs_data for v in self.variant_ids):
            return None, ""
        try:
            return open_data(self._specs(), self.options.calibration, self.options.image,
                             self.options.seed, self.rules), ""
        except Exception as error:  # only the variants that need data fail
            return None, f"calibration data: {error}"

    def _open_evaluation(self) -> tuple[str | None, DataInfo | None, str]:
        source = self.options.evaluation
        if source is None and self.options.calibration not in (None, "random"):
            source = self.options.calibration
            self.data_warnings.append(SAME_DATA_WARNING)
        try:
            data = open_data(self._specs(), source, self.options.image, self.options.seed,
                             self.rules)
        except Exception as error:
            return source, None, f"evaluation data: {error}"
        available = data.available()
        count = min(self.options.eval_samples, available if available is not None else
                    self.options.eval_samples)
        info = DataInfo(data.label, data.kind, count, data.is_random)
        return (None if data.is_random else source), info, ""

    # measuring ------------------------------------------------------------------------------

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def _measure(self, path: str, variant: str, device: str, file_bytes: int) -> Run:
        options = replace(self.options.profile, variant=variant, layers=True)
        job = build_jobs(path, [device], self.shapes, options, file_bytes, self.rules,
                         self.options.backend_factory)[0]
        return measure_job(job, self.progress, self.cancel, options.limits,
                           self.options.worker_argv)

    def _drift_request(self, variant: Variant, device: str, kind: DriftKind) -> DriftRequest:
        settings = self.options.profile.measure_settings()
        settings.backend_factory = self.options.backend_factory or settings.backend_factory
        return DriftRequest(
            model_path=variant.path, reference_path=self.model_path,
            device=split_target(device)[1],  # a target's variant: drift on this machine
            variant=variant.id, drift_kind=kind, settings=settings, shapes=dict(self.shapes),
            input_rules=self.rules, data_source=self.evaluation_source,
            data_seed=self.options.seed, image=self.options.image,
            samples=self.options.eval_samples, threshold_db=self.options.drift_threshold_db,
            batch_tensors=self.options.layer_batch_tensors,
            layer_samples=self.options.layer_samples)

    def _run_drift(self, request: DriftRequest) -> DriftOutcome | Failure:
        return run_drift(request, self.progress, self.cancel, self.options.profile.limits,
                         self.options.drift_worker_argv)

    # the steps ------------------------------------------------------------------------------

    def run(self) -> Report:
        reference = self._reference_variant()
        variants = [reference]
        for device in self.devices:
            if self._cancelled():
                break
            if runs_on(self.family, device, cross_runtime=True):
                run = self._measure(self.model_path, REFERENCE_ID, device,
                                    self.report.model.file_bytes if self.report.model else 0)
                self.reference_runs[device] = run
                self.report.runs.append(run)
                reference.devices.append(device)
                self._note_run(run)
        for variant_id in self.variant_ids:
            if self._cancelled():
                break
            variants.append(self._variant(variant_id))
        assign_fronts(variants, self.report.runs)
        self.report.variants = variants
        self.report.errors += self.sizes.notes
        return self.report

    def _reference_variant(self) -> Variant:
        assert self.report.model is not None
        size = self.sizes.for_family(self.family)
        return Variant(id=REFERENCE_ID, description="the model as given (FP32 reference)",
                       format=self.family, source_model=self.model_path, path=self.model_path,
                       file_bytes=self.report.model.file_bytes,
                       size_reference_bytes=size.file_bytes, size_reference=size.description,
                       evaluation=self.evaluation)

    def _note_run(self, run: Run) -> None:
        if run.error is not None:
            self.report.errors.append(f"{_label(run.variant, run.device)}: {run.error.message}")

    def _variant(self, variant_id: str) -> Variant:
        spec = VARIANTS[variant_id]
        variant = Variant(id=variant_id, library=spec.library, description=spec.description,
                          format=spec.output_format, source_model=self.model_path,
                          excluded_nodes=list(self.options.build.exclude_nodes),
                          evaluation=self.evaluation)
        self._build(variant)
        if variant.error:
            self.report.errors.append(f"{variant_id}: {variant.error}")
            return variant
        self._size(variant)
        for device in self.devices:
            if self._cancelled():
                break
            if runs_on(variant.format, device, self.options.cross_runtime):
                self._on_device(variant, device)
        if self.options.layer_drift and variant.format == ONNX_FAMILY and variant.devices:
            self._layer_drift(variant)
        return variant

    def _build(self, variant: Variant) -> None:
        spec = VARIANTS[variant.id]
        if spec.needs_data and self.calibration is None:
            variant.error = self.calibration_error or "no calibration data"
            return
        try:  # in a child: a crashing or hanging library costs only this variant
            built = self._build_isolated(variant.id)
        except ProfilerError as error:  # the build's error, a crash, a hang or cancel: go on
            variant.error = str(error)
            return
        variant.path, variant.file_bytes = built.path, built.file_bytes
        variant.build_seconds, variant.cached = built.build_seconds, built.cached
        variant.settings, variant.library_versions = built.settings, built.library_versions
        variant.warnings = [*built.warnings, *self.data_warnings]
        variant.details = dict(built.details)
        if spec.needs_data:
            used = built.settings.get("calibration_samples_used",
                                      self.options.build.calibration_samples)
            kind = self.calibration.kind if self.calibration else ""
            variant.calibration = DataInfo(built.data_label, kind, int(used),
                                           built.data_is_random)

    def _size(self, variant: Variant) -> None:
        family = ONNX_FAMILY if variant.format == ONNX_FAMILY else IR_FAMILY
        reference = self.sizes.for_family(family)
        variant.size_reference_bytes = reference.file_bytes
        variant.size_reference = reference.description

    def _build_request(self, variant_id: str, kind: BuildKind = "variant") -> BuildRequest:
        specs = self._specs()
        return BuildRequest(
            model_path=self.model_path, variant=variant_id, build_kind=kind,
            shapes={name: shape for name, _, shape in specs},
            input_dtypes={name: dtype for name, dtype, _ in specs}, build=self.options.build,
            data_source=self.options.calibration, data_seed=self.options.seed,
            input_rules=self.rules, image=self.options.image,
            cache_root=str(self.cache.root), max_cache_bytes=self.cache.max_cache_bytes)

    def _run_build(self, request: BuildRequest) -> BuildOutcome | Failure:
        return run_build(request, self.progress, self.cancel, self.options.profile.limits,
                         self.options.build_worker_argv)

    def _build_isolated(self, variant_id: str) -> BuiltVariant:
        return built_of(self._run_build(self._build_request(variant_id)))

    def _ov_fp32_bytes(self) -> int:
        return self._build_isolated("ov-fp32").file_bytes

    def _onnx_fp32_bytes(self, model_path: str) -> int:
        request = replace(self._build_request(REFERENCE_ID, "size_reference"),
                          model_path=model_path)
        return size_reference_of(self._run_build(request))

    def _on_device(self, variant: Variant, device: str) -> None:
        run = self._measure(variant.path, variant.id, device, variant.file_bytes)
        self.report.runs.append(run)
        self._note_run(run)
        if run_failed(run):
            return
        variant.devices.append(device)
        variant.diagnostics[device] = diagnose(variant.id, run, self._reference_ok(device))
        if self.evaluation is None:
            variant.drift_errors[device] = self.evaluation_error
            return
        result = self._run_drift(self._drift_request(variant, device, "outputs"))
        drift = result.drift if isinstance(result, DriftOutcome) else None
        if drift is None:
            message = result.message if isinstance(result, Failure) else "no drift result"
            variant.drift_errors[device] = message
            self.report.errors.append(f"{_label(variant.id, device)}: drift: {message}")
        else:
            variant.drift[device] = drift
            if split_target(device)[0]:
                variant.warnings.append(remote_drift_note(device))

    def _reference_ok(self, device: str) -> Run | None:
        run = self.reference_runs.get(device)
        return run if run is not None and not run_failed(run) else None

    def _layer_drift(self, variant: Variant) -> None:
        if self.evaluation is None:
            variant.layer_drift_error = self.evaluation_error
            return
        ort_devices = [d for d in variant.devices if d.startswith("ort:")]
        device = (ort_devices or variant.devices)[0]
        result = self._run_drift(self._drift_request(variant, device, "layers"))
        layers = result.layer_drift if isinstance(result, DriftOutcome) else None
        if layers is None:
            variant.layer_drift_error = (result.message if isinstance(result, Failure)
                                         else "no result")
            self.report.errors.append(f"{variant.id}: per-layer drift: "
                                      f"{variant.layer_drift_error}")
        else:
            variant.layer_drift = layers


def require_devices(options: QuantizeOptions) -> None:
    if not options.devices:
        raise UsageError("quantize needs at least one device")


def quantize_report(report: Report, model_path: str, options: QuantizeOptions,
                    progress: ProgressSink | None = None,
                    cancel: CancelToken | None = None) -> Report:
    """The FP32 reference and every variant measured, added to ``report`` (the analysis)."""
    require_devices(options)
    return QuantizeSession(report, model_path, options, progress, cancel).run()

