"""The child process that builds variants: ``python -m profiler.quant.build_worker``.

Quantizers and converters (ONNX Runtime's tools, OpenVINO, NNCF) are native code: a crash or
a hang in one of them must cost only this child, never the app or CLI that asked for the
build. The worker speaks the worker protocol (profiler.bench.wire): one ``BuildRequest`` in,
stage and progress frames out, then a ``BuildOutcome`` or a ``Failure``, so the bench
Supervisor runs it: progress, the silence timeout, the memory cap and cancel all apply.

Kinds:
- "variant": ``build_variant`` of ``variant`` (the calibration data reopened here from its
  source, the variant cache at ``cache_root``); the outcome holds the BuiltVariant;
- "size_reference": the FP32 ONNX model as ONNX Runtime's basic optimisation writes it
  (profiler.quant.sizes.stored_onnx_bytes); the outcome holds its size.

While a build runs, a heartbeat goes out every HEARTBEAT_S: the libraries report no progress
of their own, and the Supervisor takes a long silence for a hang. A native hang that holds the
interpreter lock stops the heartbeat too; one that releases it is caught only by
``Limits.total_timeout_s`` (or cancel).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import field
from typing import ClassVar, Literal

from profiler.bench.progress import Heartbeat
from profiler.bench.protocol import error_text
from profiler.bench.supervisor import CancelToken, Limits, ProgressSink, Supervisor
from profiler.bench.wire import Emit, Failure, JobKind, StageEvent
from profiler.bench.worker import serve_one_job
from profiler.errors import ProfilerError
from profiler.model.graph import ValueRule
from profiler.quant.cache import DEFAULT_MAX_CACHE_BYTES, VariantCache
from profiler.quant.data import DataSource, ImageOptions, open_data
from profiler.quant.variants import VARIANTS, BuiltVariant, VariantOptions, build_variant
from profiler.records.record import record

BUILD_WORKER_ARGV = (sys.executable, "-m", "profiler.quant.build_worker")
BUILD_DEVICE = "cpu"
"""Builds run on the host's CPU; the Supervisor names this device in its messages."""
HEARTBEAT_S = 1.0
BuildKind = Literal["variant", "size_reference"]


class BuildWorkerError(ProfilerError):
    """A build in the child failed, crashed, hung or was cancelled; the message says which."""


@record(frozen=True)
class BuildRequest:
    """Build ``variant`` of the FP32 model ``model_path`` (or, for "size_reference", measure
    the FP32 ONNX model as stored)."""

    kind: ClassVar[JobKind] = "build"
    model_path: str
    variant: str
    build_kind: BuildKind = "variant"
    build: VariantOptions = field(default_factory=VariantOptions)
    data_source: str | None = None
    """Calibration data: an image folder, a .npy/.npz file, or None / 'random'."""
    data_seed: int = 0
    image: ImageOptions = field(default_factory=ImageOptions)
    shapes: dict[str, list[int]] = field(default_factory=dict)
    input_dtypes: dict[str, str] = field(default_factory=dict)
    """With ``shapes``, the model's inputs in order: what the calibration data must fit."""
    input_rules: dict[str, ValueRule] = field(default_factory=dict)
    cache_root: str = ""
    """'' = the default variant cache folder."""
    max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES

    @property
    def device(self) -> str:
        return ""  # events name the variant alone; messages name BUILD_DEVICE

    @property
    def subject(self) -> str:
        """What the request builds, for stages and messages."""
        return "the FP32 size reference" if self.build_kind == "size_reference" \
            else self.variant

    def where(self, stage: str) -> str:
        return f"building {self.subject} on {BUILD_DEVICE}"

    def crashed(self, signal_text: str, stage: str) -> str:
        return f"variant build crashed: {signal_text} while building {self.subject}"

    def stage_weights_s(self) -> dict[str, float]:
        return {"worker": 0.5, "build": 10.0}


@record
class BuildOutcome:
    kind: ClassVar[JobKind] = "build"
    built: BuiltVariant | None = None
    """The variant built ("variant" requests)."""
    size_reference_bytes: int | None = None
    """The stored FP32 ONNX model's bytes ("size_reference" requests)."""


# --- the child side -------------------------------------------------------------------------


def calibration_data(request: BuildRequest) -> DataSource | None:
    """The calibration data, reopened here, when the variant needs it."""
    spec = VARIANTS.get(request.variant)
    if spec is None or not spec.needs_data:
        return None
    specs = [(name, dtype, request.shapes[name]) for name, dtype in request.input_dtypes.items()]
    return open_data(specs, request.data_source, request.image, request.data_seed,
                     request.input_rules)


def _outcome(request: BuildRequest) -> BuildOutcome:
    if request.build_kind == "size_reference":
        from profiler.quant.sizes import stored_onnx_bytes

        return BuildOutcome(size_reference_bytes=stored_onnx_bytes(request.model_path))
    cache = VariantCache(request.cache_root or None, request.max_cache_bytes)
    return BuildOutcome(built=build_variant(request.model_path, request.variant, request.build,
                                            calibration_data(request), cache))


def handle(request: BuildRequest, emit: Emit) -> BuildOutcome | Failure:
    """The build's outcome, or a Failure with the build's one-line error."""
    emit(StageEvent(stage="build", detail=request.subject))
    with Heartbeat(emit, "build", None, f"building {request.subject}", HEARTBEAT_S):
        try:
            return _outcome(request)
        except ProfilerError as error:  # VariantBuildError, DataError: already one line
            return Failure(kind="runtime", stage="build", message=str(error))
        except Exception as error:
            return Failure(kind="runtime", stage="build", message=error_text(error))


# --- the parent side ------------------------------------------------------------------------


def run_build(request: BuildRequest, progress: ProgressSink | None = None,
              cancel: CancelToken | None = None, limits: Limits | None = None,
              worker_argv: Sequence[str] | None = None) -> BuildOutcome | Failure:
    """The request in its own child process, watched by the bench Supervisor."""
    supervisor = Supervisor(progress, cancel, limits, worker_argv or BUILD_WORKER_ARGV)
    return supervisor.run(request, BuildOutcome)


def built_of(result: BuildOutcome | Failure) -> BuiltVariant:
    """The variant built; BuildWorkerError with the build's message when there is none."""
    if isinstance(result, Failure):
        raise BuildWorkerError(result.message)
    if result.built is None:
        raise BuildWorkerError("the build worker returned no variant")
    return result.built


def size_reference_of(result: BuildOutcome | Failure) -> int:
    if isinstance(result, Failure):
        raise BuildWorkerError(result.message)
    if result.size_reference_bytes is None:
        raise BuildWorkerError("the build worker returned no size reference")
    return result.size_reference_bytes


def main() -> int:
    return serve_one_job(BuildRequest, handle)


if __name__ == "__main__":
    sys.exit(main())
