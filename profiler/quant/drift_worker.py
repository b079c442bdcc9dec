"""The child process that measures drift: ``python -m profiler.quant.drift_worker``.

It speaks the bench worker's protocol (one job as JSON on stdin, JSON-line events on stdout,
the result as ``{"event": "result", "run": {...}}``), so the same Supervisor runs it: a crash,
a hang or a cancel costs only this child. The job is a ``DriftJob`` (a bench ``Job`` plus what
drift needs); the result is a ``Run`` used as an envelope: ``config["drift"]`` holds the
DriftMetrics, ``config["layer_drift"]`` the LayerDriftResult, ``error`` a failure.

Kinds:
- "outputs": the reference and the variant, both compiled on ``device``, run the same
  evaluation samples; their outputs are compared (profiler.quant.drift).
- "layers": ONNX files only; intermediate tensors compared in batches
  (profiler.quant.layer_drift) on ``device``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np

from profiler.bench.protocol import BackendLike, Job, error_text, run_settings
from profiler.bench.supervisor import CancelToken, Limits, ProgressSink, run_job
from profiler.bench.types import Run, RunError
from profiler.bench.worker import apply_affinity, backend_factory, serve_one_job
from profiler.quant.data import IMAGENET_MEAN, IMAGENET_STD, ImageOptions, open_data
from profiler.quant.drift import DriftAccumulator, match_outputs
from profiler.quant.layer_drift import DEFAULT_BATCH_TENSORS, DEFAULT_LAYER_SAMPLES
from profiler.quant.types import DriftMetrics, LayerDriftResult
from profiler.report.serialize import from_dict, to_dict

DRIFT_WORKER_ARGV = (sys.executable, "-m", "profiler.quant.drift_worker")
KINDS = ("outputs", "layers")

Emit = Callable[[dict[str, Any]], None]


@dataclass
class DriftJob(Job):
    """``model_path`` is the variant, ``reference_path`` the FP32 model; both on ``device``."""

    kind: str = "outputs"
    reference_path: str = ""
    data_source: str | None = None
    """Evaluation data: an image folder, a .npy/.npz file, or None / 'random'."""
    data_seed: int = 0
    samples: int = 32
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    layout: str | None = None
    threshold_db: float = 20.0
    batch_tensors: int = DEFAULT_BATCH_TENSORS
    layer_samples: int = DEFAULT_LAYER_SAMPLES


class _Stage(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(error_text(error))
        self.stage = stage


def _staged(stage: str, emit: Emit, job: DriftJob, action: Callable[[], Any]) -> Any:
    emit({"event": "stage", "stage": stage, "device": job.device})
    try:
        return action()
    except Exception as error:
        raise _Stage(stage, error) from error


class OutputsBackend(BackendLike, Protocol):
    """A backend that also returns its outputs (profiler.runtime.backend.Backend.outputs)."""

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


def open_backend(job: DriftJob, path: str) -> OutputsBackend:
    """Load and compile ``path`` on the job's device."""
    backend = cast(OutputsBackend, backend_factory(job.backend_factory)(job.device))
    backend.load(path, run_settings(job))
    backend.compile()
    return backend


def renamed_inputs(sample: dict[str, np.ndarray], specs: Sequence[tuple[str, str, list[int]]],
                   ) -> dict[str, np.ndarray]:
    """The sample under the backend's input names: by name, else by position."""
    names = [name for name, _, _ in specs]
    if all(name in sample for name in names):
        return sample
    return dict(zip(names, sample.values(), strict=True))


def _samples(job: DriftJob, backend: BackendLike, count: int) -> tuple[list[Any], bool]:
    options = ImageOptions(tuple(job.mean), tuple(job.std), job.layout)
    data = open_data(backend.input_specs(), job.data_source, options, seed=job.data_seed,
                     rules=job.input_rules)
    samples = data.samples(count)
    if not samples:
        raise ValueError(f"no evaluation samples in {data.label}")
    return samples, data.is_random


def _progress(emit: Emit, fraction: float, message: str) -> None:
    emit({"event": "progress", "fraction": min(1.0, max(0.0, fraction)), "message": message})


def output_drift(job: DriftJob, emit: Emit) -> DriftMetrics:
    reference = _staged("compiling the reference", emit, job,
                        lambda: open_backend(job, job.reference_path))
    variant = _staged("compiling the variant", emit, job, lambda: open_backend(job, job.model_path))
    samples, is_random = _staged("reading evaluation data", emit, job,
                                 lambda: _samples(job, reference, job.samples))
    accumulator = DriftAccumulator()
    variant_specs = variant.input_specs()

    def compare() -> None:
        for index, sample in enumerate(samples):
            ref_out = reference.outputs(sample)
            var_out = variant.outputs(renamed_inputs(sample, variant_specs))
            accumulator.add(ref_out, match_outputs(ref_out, var_out))
            _progress(emit, (index + 1) / len(samples), f"{index + 1}/{len(samples)} samples")

    _staged("measuring drift", emit, job, compare)
    for backend in (reference, variant):
        backend.close()
    return accumulator.metrics(is_random, job.device, f"fp32 model on {job.device}")


def layer_drift(job: DriftJob, emit: Emit) -> LayerDriftResult:
    from profiler.quant.layer_drift import compare_layers

    reference = _staged("compiling the reference", emit, job,
                        lambda: open_backend(job, job.reference_path))
    samples, is_random = _staged("reading evaluation data", emit, job,
                                 lambda: _samples(job, reference, job.layer_samples))
    reference.close()

    def runner(path: str) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
        backend = open_backend(job, path)
        return backend.outputs

    result: LayerDriftResult = _staged("comparing layers", emit, job, lambda: compare_layers(
        job.reference_path, job.model_path, samples, runner, job.threshold_db,
        job.batch_tensors, lambda fraction, text: _progress(emit, fraction, text)))
    result.device, result.indicative_only = job.device, is_random
    return result


def measure(job: DriftJob, emit: Emit) -> Run:
    """Always a Run: the drift in its config, or an error."""
    run = Run(device=job.device, variant=job.variant, model_path=job.model_path,
              config={"kind": job.kind})
    try:
        apply_affinity(job.cpus)
        if job.kind == "layers":
            run.config["layer_drift"] = to_dict(layer_drift(job, emit))
        elif job.kind == "outputs":
            run.config["drift"] = to_dict(output_drift(job, emit))
        else:
            raise ValueError(f"unknown drift job kind {job.kind!r}; use {' or '.join(KINDS)}")
    except _Stage as failure:
        run.error = RunError(stage=failure.stage, message=str(failure))
    except Exception as error:
        run.error = RunError(stage="worker", message=error_text(error))
    return run


def run_drift_job(job: DriftJob, progress: ProgressSink | None = None,
                  cancel: CancelToken | None = None, limits: Limits | None = None,
                  worker_argv: Sequence[str] | None = None) -> Run:
    """The job in its own child process, watched by the bench Supervisor."""
    return run_job(job, progress, cancel, limits, worker_argv or DRIFT_WORKER_ARGV)


def drift_of(run: Run) -> DriftMetrics | None:
    data = run.config.get("drift")
    return from_dict(DriftMetrics, data, where="drift result") if data is not None else None


def layer_drift_of(run: Run) -> LayerDriftResult | None:
    data = run.config.get("layer_drift")
    if data is None:
        return None
    return from_dict(LayerDriftResult, data, where="layer drift result")


def main() -> int:
    return serve_one_job(DriftJob, measure)


if __name__ == "__main__":
    sys.exit(main())
