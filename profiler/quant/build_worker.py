"""The child process that builds variants: ``python -m profiler.quant.build_worker``.

Quantizers and converters (ONNX Runtime's tools, OpenVINO, NNCF) are native code: a crash or
a hang in one of them must cost only this child, never the app or CLI that asked for the
build. The worker speaks the bench worker's protocol (one job as JSON on stdin, JSON-line
events on stdout, the result as ``{"event": "result", "run": {...}}``), so the bench
Supervisor runs it: progress, the silence timeout, the memory cap and cancel all apply.

The job is a ``BuildJob`` (a bench ``Job`` plus what a build needs); the result is a ``Run``
used as an envelope: ``config["built"]`` holds the BuiltVariant, ``config["file_bytes"]`` a
size reference, ``error`` the VariantBuildError's message.

Kinds:
- "variant": ``build_variant`` of ``variant`` (the calibration data reopened here from its
  source, the variant cache at ``cache_root``);
- "size_reference": the FP32 ONNX model as ONNX Runtime's basic optimisation writes it
  (profiler.quant.sizes.stored_onnx_bytes).

While a build runs, a heartbeat event goes out every HEARTBEAT_S: the libraries report no
progress of their own, and the Supervisor takes a long silence for a hang. A native hang that
holds the interpreter lock stops the heartbeat too; one that releases it is caught only by
``Limits.total_timeout_s`` (or cancel).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from profiler.bench.protocol import Job, error_text
from profiler.bench.supervisor import CancelToken, Limits, ProgressSink, run_job
from profiler.bench.types import Run, RunError
from profiler.bench.worker import serve_one_job
from profiler.errors import ProfilerError
from profiler.quant.cache import DEFAULT_MAX_CACHE_BYTES, VariantCache
from profiler.quant.data import IMAGENET_MEAN, IMAGENET_STD, DataSource, ImageOptions, open_data
from profiler.quant.variants import VARIANTS, BuiltVariant, VariantOptions, build_variant
from profiler.report.serialize import from_dict, to_dict

BUILD_WORKER_ARGV = (sys.executable, "-m", "profiler.quant.build_worker")
BUILD_DEVICE = "cpu"
"""Builds run on the host's CPU; the Supervisor names this device in its messages."""
KINDS = ("variant", "size_reference")
HEARTBEAT_S = 1.0

Emit = Callable[[dict[str, Any]], None]


class BuildWorkerError(ProfilerError):
    """A build in the child failed, crashed, hung or was cancelled; the message says which."""


@dataclass
class BuildJob(Job):
    """``model_path`` is the FP32 model, ``variant`` the id of the variant to build."""

    kind: str = "variant"
    build: VariantOptions = field(default_factory=VariantOptions)
    data_source: str | None = None
    """Calibration data: an image folder, a .npy/.npz file, or None / 'random'."""
    data_seed: int = 0
    input_dtypes: dict[str, str] = field(default_factory=dict)
    """With ``shapes``, the model's inputs in order: what the calibration data must fit."""
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    layout: str | None = None
    cache_root: str = ""
    """'' = the default variant cache folder."""
    max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES


def subject(job: BuildJob) -> str:
    """What the job builds, for stages and messages."""
    return "the FP32 size reference" if job.kind == "size_reference" else job.variant


# --- the child side -------------------------------------------------------------------------


class _Heartbeat:
    """Emits a progress event every HEARTBEAT_S from a thread, until the block ends."""

    def __init__(self, emit: Emit, what: str) -> None:
        self._emit, self._what = emit, what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(HEARTBEAT_S):
            elapsed_s = time.monotonic() - started
            self._emit({"event": "progress", "fraction": 0.0,
                        "message": f"building {self._what} ({elapsed_s:.0f} s)"})


def _locked(emit: Emit) -> Emit:
    """The heartbeat thread and the build share one stream: one line at a time."""
    lock = threading.Lock()

    def locked_emit(event: dict[str, Any]) -> None:
        with lock:
            emit(event)

    return locked_emit


def calibration_data(job: BuildJob) -> DataSource | None:
    """The calibration data, reopened here, when the variant needs it."""
    spec = VARIANTS.get(job.variant)
    if spec is None or not spec.needs_data:
        return None
    specs = [(name, dtype, job.shapes[name]) for name, dtype in job.input_dtypes.items()]
    options = ImageOptions(tuple(job.mean), tuple(job.std), job.layout)
    return open_data(specs, job.data_source, options, job.data_seed, job.input_rules)


def _build(job: BuildJob) -> BuiltVariant:
    cache = VariantCache(job.cache_root or None, job.max_cache_bytes)
    return build_variant(job.model_path, job.variant, job.build, calibration_data(job), cache)


def _do(job: BuildJob, run: Run) -> None:
    if job.kind == "variant":
        run.config["built"] = to_dict(_build(job))
    elif job.kind == "size_reference":
        from profiler.quant.sizes import stored_onnx_bytes

        run.config["file_bytes"] = stored_onnx_bytes(job.model_path)
    else:
        raise ValueError(f"unknown build job kind {job.kind!r}; use {' or '.join(KINDS)}")


def measure(job: BuildJob, emit: Emit) -> Run:
    """Always a Run: the build's result in its config, or the build's error."""
    run = Run(device=job.device, variant=job.variant, model_path=job.model_path,
              config={"kind": job.kind})
    emit = _locked(emit)
    emit({"event": "stage", "stage": f"building {subject(job)}", "device": job.device})
    with _Heartbeat(emit, subject(job)):
        try:
            _do(job, run)
        except ProfilerError as error:  # VariantBuildError, DataError: already one line
            run.error = RunError(stage="build", message=str(error))
        except Exception as error:
            run.error = RunError(stage="build", message=error_text(error))
    return run


# --- the parent side ------------------------------------------------------------------------

_CRASH = re.compile(r"^runtime crashed: (.*?) while ")


def build_message(job: BuildJob, message: str) -> str:
    """The Supervisor's crash message, reworded for a build (its stage may still be 'worker')."""
    match = _CRASH.match(message)
    if match is None:
        return message
    return f"variant build crashed: {match.group(1)} while building {subject(job)}"


def run_build_job(job: BuildJob, progress: ProgressSink | None = None,
                  cancel: CancelToken | None = None, limits: Limits | None = None,
                  worker_argv: Sequence[str] | None = None) -> Run:
    """The job in its own child process, watched by the bench Supervisor; always a Run."""
    run = run_job(job, progress, cancel, limits, worker_argv or BUILD_WORKER_ARGV)
    if run.error is not None:
        run.error.message = build_message(job, run.error.message)
    return run


def result_of(run: Run, key: str) -> Any:
    """The result under ``key``; BuildWorkerError with the build's message when it failed."""
    if run.error is not None:
        raise BuildWorkerError(run.error.message)
    if key not in run.config:
        raise BuildWorkerError(f"the build worker returned no {key} for {run.variant}")
    return run.config[key]


def built_of(run: Run) -> BuiltVariant:
    return from_dict(BuiltVariant, result_of(run, "built"), where="build result")


def main() -> int:
    return serve_one_job(BuildJob, measure)


if __name__ == "__main__":
    sys.exit(main())
