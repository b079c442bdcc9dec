"""The child process that measures drift: ``python -m profiler.quant.drift_worker``.

It speaks the worker protocol (profiler.bench.wire): one ``DriftRequest`` in, stage and
progress frames out, then a ``DriftOutcome`` or a ``Failure``, so the same Supervisor runs it:
a crash, a hang or a cancel costs only this child.

Kinds:
- "outputs": the reference and the variant, both compiled on ``device``, run the same
  evaluation samples; their outputs are compared (profiler.quant.drift).
- "layers": ONNX files only; intermediate tensors compared in batches
  (profiler.quant.layer_drift) on ``device``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any, ClassVar, Literal, Protocol, cast

import numpy as np

from profiler.bench.protocol import BackendLike, StageFailed, error_text, run_settings
from profiler.bench.requests import MeasureSettings
from profiler.bench.supervisor import CancelToken, Limits, ProgressSink, Supervisor
from profiler.bench.wire import Emit, Failure, JobKind, ProgressEvent, Stage, StageEvent, stage_verb
from profiler.bench.worker import apply_affinity, backend_factory, serve_one_job
from profiler.model.graph import ValueRule
from profiler.quant.data import ImageOptions, open_data
from profiler.quant.drift import DriftAccumulator, match_outputs
from profiler.quant.layer_drift import DEFAULT_BATCH_TENSORS, DEFAULT_LAYER_SAMPLES
from profiler.records.record import record
from profiler.records.variants import DriftMetrics, LayerDriftResult

DRIFT_WORKER_ARGV = (sys.executable, "-m", "profiler.quant.drift_worker")
DriftKind = Literal["outputs", "layers"]


@record(frozen=True)
class DriftRequest:
    """``model_path`` is the variant, ``reference_path`` the FP32 model; both on ``device``."""

    kind: ClassVar[JobKind] = "drift"
    model_path: str
    reference_path: str
    device: str
    variant: str
    drift_kind: DriftKind = "outputs"
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    """Threads, CPUs, precision and backend as the variant was measured with."""
    shapes: dict[str, list[int]] = field(default_factory=dict)
    input_rules: dict[str, ValueRule] = field(default_factory=dict)
    data_source: str | None = None
    """Evaluation data: an image folder, a .npy/.npz file, or None / 'random'."""
    data_seed: int = 0
    image: ImageOptions = field(default_factory=ImageOptions)
    samples: int = 32
    threshold_db: float = 20.0
    batch_tensors: int = DEFAULT_BATCH_TENSORS
    layer_samples: int = DEFAULT_LAYER_SAMPLES

    def where(self, stage: str) -> str:
        return f"{stage_verb(stage)} on {self.device}"

    def crashed(self, signal_text: str, stage: str) -> str:
        return f"runtime crashed: {signal_text} while {self.where(stage)}"

    def stage_weights_s(self) -> dict[str, float]:
        if self.drift_kind == "layers":
            return {"worker": 0.5, "compile_reference": 2.0, "eval_data": 0.5,
                    "layer_drift": 10.0}
        return {"worker": 0.5, "compile_reference": 2.0, "compile_variant": 2.0,
                "eval_data": 0.5, "drift": 3.0}


@record
class DriftOutcome:
    kind: ClassVar[JobKind] = "drift"
    drift: DriftMetrics | None = None
    """Output drift ("outputs" requests)."""
    layer_drift: LayerDriftResult | None = None
    """Per-layer drift ("layers" requests)."""


def _staged(stage: Stage, emit: Emit, action: Callable[[], Any]) -> Any:
    emit(StageEvent(stage=stage))
    try:
        return action()
    except Exception as error:
        raise StageFailed(stage, error) from error


class OutputsBackend(BackendLike, Protocol):
    """A backend that also returns its outputs (profiler.runtime.backend.Backend.outputs)."""

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


def open_backend(request: DriftRequest, path: str) -> OutputsBackend:
    """Load and compile ``path`` on the request's device."""
    factory = backend_factory(request.settings.backend_factory)
    backend = cast(OutputsBackend, factory(request.device))
    backend.load(path, run_settings(request.device, request.settings, request.shapes))
    backend.compile()
    return backend


def renamed_inputs(sample: dict[str, np.ndarray], specs: Sequence[tuple[str, str, list[int]]],
                   ) -> dict[str, np.ndarray]:
    """The sample under the backend's input names: by name, else by position."""
    names = [name for name, _, _ in specs]
    if all(name in sample for name in names):
        return sample
    return dict(zip(names, sample.values(), strict=True))


def _samples(request: DriftRequest, backend: BackendLike, count: int) -> tuple[list[Any], bool]:
    data = open_data(backend.input_specs(), request.data_source, request.image,
                     seed=request.data_seed, rules=request.input_rules)
    samples = data.samples(count)
    if not samples:
        raise ValueError(f"no evaluation samples in {data.label}")
    return samples, data.is_random


def _progress(emit: Emit, stage: Stage, fraction: float, message: str) -> None:
    emit(ProgressEvent(stage=stage, fraction=min(1.0, max(0.0, fraction)), message=message))


def output_drift(request: DriftRequest, emit: Emit) -> DriftMetrics:
    reference = _staged("compile_reference", emit,
                        lambda: open_backend(request, request.reference_path))
    variant = _staged("compile_variant", emit, lambda: open_backend(request, request.model_path))
    samples, is_random = _staged("eval_data", emit,
                                 lambda: _samples(request, reference, request.samples))
    accumulator = DriftAccumulator()
    variant_specs = variant.input_specs()

    def compare() -> None:
        for index, sample in enumerate(samples):
            ref_out = reference.outputs(sample)
            var_out = variant.outputs(renamed_inputs(sample, variant_specs))
            accumulator.add(ref_out, match_outputs(ref_out, var_out))
            _progress(emit, "drift", (index + 1) / len(samples),
                      f"{index + 1}/{len(samples)} samples")

    _staged("drift", emit, compare)
    for backend in (reference, variant):
        backend.close()
    return accumulator.metrics(is_random, request.device, f"fp32 model on {request.device}")


def layer_drift(request: DriftRequest, emit: Emit) -> LayerDriftResult:
    from profiler.quant.layer_drift import compare_layers

    reference = _staged("compile_reference", emit,
                        lambda: open_backend(request, request.reference_path))
    samples, is_random = _staged("eval_data", emit,
                                 lambda: _samples(request, reference, request.layer_samples))
    reference.close()

    def runner(path: str) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
        backend = open_backend(request, path)
        return backend.outputs

    result: LayerDriftResult = _staged("layer_drift", emit, lambda: compare_layers(
        request.reference_path, request.model_path, samples, runner, request.threshold_db,
        request.batch_tensors,
        lambda fraction, text: _progress(emit, "layer_drift", fraction, text)))
    result.device, result.indicative_only = request.device, is_random
    return result


def handle(request: DriftRequest, emit: Emit) -> DriftOutcome | Failure:
    """The drift, or a Failure naming the stage that failed."""
    try:
        apply_affinity(request.settings.cpus)
        if request.drift_kind == "layers":
            return DriftOutcome(layer_drift=layer_drift(request, emit))
        return DriftOutcome(drift=output_drift(request, emit))
    except StageFailed as failure:
        return Failure(kind="runtime", stage=failure.stage, message=str(failure))
    except Exception as error:
        return Failure(kind="runtime", stage="worker", message=error_text(error))


def run_drift(request: DriftRequest, progress: ProgressSink | None = None,
              cancel: CancelToken | None = None, limits: Limits | None = None,
              worker_argv: Sequence[str] | None = None) -> DriftOutcome | Failure:
    """The request in its own child process, watched by the bench Supervisor."""
    supervisor = Supervisor(progress, cancel, limits, worker_argv or DRIFT_WORKER_ARGV)
    return supervisor.run(request, DriftOutcome)


def main() -> int:
    return serve_one_job(DriftRequest, handle)


if __name__ == "__main__":
    sys.exit(main())
