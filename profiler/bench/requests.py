"""What a measurement job asks for and gives back, as the worker protocol carries it
(profiler.bench.wire), and the settings profile, quantize and every worker share."""

from __future__ import annotations

from dataclasses import field, fields
from typing import Any, ClassVar, Literal

from profiler.bench.wire import JobKind, stage_verb
from profiler.model.graph import ValueRule
from profiler.records.record import record
from profiler.records.runs import Run

WARMUP_MIN_RUNS = 3
WARMUP_MIN_SECONDS = 0.5
ADAPTIVE_MIN_SAMPLES = 10
ADAPTIVE_MIN_SECONDS = 1.0
ADAPTIVE_CI_RELATIVE = 0.01
DEFAULT_MAX_TIME_S = 60.0
DEFAULT_THROUGHPUT_S = 10.0
DEFAULT_LAYER_ITERATIONS = 20

Mode = Literal["latency", "throughput"]
StopKind = Literal["iterations", "duration", "adaptive"]


@record
class StopRule:
    """When the timed loop ends; iterations win over duration, duration over adaptive."""

    iterations: int | None = None
    duration_s: float | None = None
    max_time_s: float = DEFAULT_MAX_TIME_S
    ci_relative: float = ADAPTIVE_CI_RELATIVE
    min_samples: int = ADAPTIVE_MIN_SAMPLES
    min_seconds: float = ADAPTIVE_MIN_SECONDS

    @property
    def kind(self) -> StopKind:
        if self.iterations is not None:
            return "iterations"
        return "duration" if self.duration_s is not None else "adaptive"

    def describe(self) -> dict[str, Any]:
        """The rule as recorded in Run.config (only the parts that applied)."""
        if self.kind == "iterations":
            return {"kind": "iterations", "iterations": self.iterations}
        if self.kind == "duration":
            return {"kind": "duration", "duration_s": self.duration_s}
        return {"kind": "adaptive", "median_ci95_within": self.ci_relative,
                "min_samples": self.min_samples, "min_seconds": self.min_seconds,
                "max_time_s": self.max_time_s}

    def expected_s(self) -> float:
        """A guess of the loop's length before it starts (progress weights only)."""
        if self.kind == "duration":
            return float(self.duration_s or 0.0)
        if self.kind == "iterations":
            return 2.0
        return min(self.max_time_s, max(self.min_seconds, 0.25 * self.max_time_s))


@record
class MeasureSettings:
    """How to measure, shared by profile, quantize (ProfileOptions extends it) and workers."""

    mode: Mode = "latency"
    threads: int | None = None
    cpus: list[int] | None = None
    precision: str | None = None
    input_source: str | None = None
    seed: int = 0
    stop: StopRule = field(default_factory=StopRule)
    warmup_min_runs: int = WARMUP_MIN_RUNS
    warmup_min_seconds: float = WARMUP_MIN_SECONDS
    throughput_seconds: float = DEFAULT_THROUGHPUT_S
    layers: bool = True
    layer_iterations: int = DEFAULT_LAYER_ITERATIONS
    backend_factory: str = ""
    """'module:callable' building the backend from the device id; '' = create_backend.
    Lets tests (and other embedders) run the protocol with their own backend."""

    def measure_settings(self) -> MeasureSettings:
        """Just the measurement settings (a subclass's own fields left out)."""
        return MeasureSettings(**{f.name: getattr(self, f.name)
                                  for f in fields(MeasureSettings)})


SETTINGS_FIELDS = frozenset(f.name for f in fields(MeasureSettings))


@record(frozen=True)
class MeasureRequest:
    """Measure one model on one device."""

    kind: ClassVar[JobKind] = "measure"
    model_path: str
    device: str
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    variant: str = "fp32"
    shapes: dict[str, list[int]] = field(default_factory=dict)
    input_rules: dict[str, ValueRule] = field(default_factory=dict)
    """How each input's values are made (random by dtype where none is given)."""
    model_file_bytes: int = 0

    def where(self, stage: str) -> str:
        return f"{stage_verb(stage)} on {self.device}"

    def crashed(self, signal_text: str, stage: str) -> str:
        return f"runtime crashed: {signal_text} while {self.where(stage)}"

    def stage_weights_s(self) -> dict[str, float]:
        """Each stage's expected seconds: what the overall progress is weighted by."""
        settings = self.settings
        measured = (("throughput", settings.throughput_seconds) if settings.mode == "throughput"
                    else ("latency", settings.stop.expected_s()))
        weights = {"worker": 0.3, "start": 0.5, "load": 1.0, "compile": 2.0, "inputs": 0.1,
                   "first_inference": 0.3, "warmup": max(0.3, settings.warmup_min_seconds),
                   measured[0]: max(0.1, measured[1])}
        if settings.layers:
            weights["layers"] = 3.0
        return weights


def measure_request(model_path: str, device: str, **values: Any) -> MeasureRequest:
    """A MeasureRequest from flat keywords: settings fields go into ``settings``."""
    settings = {k: v for k, v in values.items() if k in SETTINGS_FIELDS}
    own = {k: v for k, v in values.items() if k not in SETTINGS_FIELDS}
    return MeasureRequest(model_path=model_path, device=device,
                          settings=MeasureSettings(**settings), **own)


@record
class MeasureOutcome:
    kind: ClassVar[JobKind] = "measure"
    run: Run

    def note(self, warning: str) -> None:
        self.run.warnings.append(warning)
