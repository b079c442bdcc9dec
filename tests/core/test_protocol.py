"""The measurement protocol with a fake backend and a fake clock: stop rules, warm-up, stage
order, what a run records. No real timing is asserted: the fake clock advances by set amounts.

``fake_backend`` is also the backend the worker-isolation tests load in a child process
(``Job.backend_factory = "tests.core.test_protocol:fake_backend"``).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from profiler.bench.protocol import (
    DeviceRun,
    StopRule,
    measure_request,
    timed_call,
    timed_loop,
    warm_up,
)
from profiler.bench.wire import Event, StageEvent
from profiler.records.runs import LayerProfile, MemoryStats, RuntimeLayer

MS = 1_000_000  # nanoseconds


class FakeClock:
    """A nanosecond clock that moves only when told to."""

    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        return self.now_ns

    def advance_ms(self, milliseconds: float) -> None:
        self.now_ns += int(milliseconds * MS)


class FakeBackend:
    """Implements the Backend interface; each call costs a set time on the fake clock.

    ``fail_at`` names a method that raises; ``crash_at`` one that kills the process with
    SIGSEGV; ``hang_at`` one that never returns (for the isolation tests).
    """

    name = "fake"

    def __init__(self, clock: Callable[[], Any] | None = None, infer_ms: Callable[[int], float]
                 | None = None, fail_at: str = "", crash_at: str = "", hang_at: str = "") -> None:
        self.clock = clock
        self.infer_ms = infer_ms or (lambda index: 2.0)
        self.fail_at, self.crash_at, self.hang_at = fail_at, crash_at, hang_at
        self.calls: list[str] = []
        self.settings: Any = None
        self.inputs_seen: list[dict[str, np.ndarray]] = []

    def _step(self, method: str, cost_ms: float) -> None:
        self.calls.append(method)
        if method == self.crash_at:
            os.kill(os.getpid(), signal.SIGSEGV)
        if method == self.hang_at:
            time.sleep(3600)
        if method == self.fail_at:
            raise RuntimeError(f"boom in {method}\nsecond line of detail")
        if isinstance(self.clock, FakeClock):
            self.clock.advance_ms(cost_ms)

    def load(self, model_path: str, settings: Any) -> None:
        self.settings = settings
        self._step("load", 5.0)

    def compile(self) -> None:
        self._step("compile", 20.0)

    def input_specs(self) -> list[tuple[str, str, list[int]]]:
        return [("x", "float32", [1, 4])]

    def infer(self, inputs: dict[str, np.ndarray]) -> None:
        self.inputs_seen.append(inputs)
        self._step("infer", self.infer_ms(self.calls.count("infer")))

    def infer_throughput(self, inputs: dict[str, np.ndarray],
                         duration_s: float) -> tuple[int, float]:
        self._step("infer_throughput", duration_s * 1000.0)
        return 300, 3.0

    def actual_precision(self) -> str:
        return "fp32"

    def device_name(self) -> str:
        return "Fake CPU 9000"

    def applied_config(self) -> dict[str, Any]:
        return {"INFERENCE_NUM_THREADS": 2}

    def profile_layers(self, inputs: dict[str, np.ndarray], iterations: int) -> LayerProfile:
        self._step("profile_layers", 0.0)
        return LayerProfile(layers=[RuntimeLayer(name="conv", time_ms=1.5, model_nodes=["conv"])],
                            iterations=iterations)

    def close(self) -> None:
        self.calls.append("close")


def fake_backend(device_id: str) -> FakeBackend:
    """Factory for the worker: 'fake:crash-compile', 'fake:hang-compile', 'fake:fail-compile'."""
    behaviour = device_id.partition(":")[2]
    action, _, method = behaviour.partition("-")
    return FakeBackend(**{f"{action}_at": method} if method else {})


# stop rules ----------------------------------------------------------------------------------

def _loop(rule: StopRule, costs_ms: Callable[[int], float]) -> tuple[list[float], str, float]:
    clock, index = FakeClock(), [0]

    def infer() -> None:
        clock.advance_ms(costs_ms(index[0]))
        index[0] += 1

    result = timed_loop(infer, rule, None, clock)
    return result.samples_ms, result.stop_reason, result.total_seconds


def test_iterations_rule_keeps_raw_samples() -> None:
    samples, reason, total = _loop(StopRule(iterations=4), lambda i: [1.0, 2.0, 3.5, 0.25][i])
    assert samples == [1.0, 2.0, 3.5, 0.25]
    assert reason == "iterations"
    assert total == pytest.approx(0.00675)


def test_duration_rule() -> None:
    samples, reason, total = _loop(StopRule(duration_s=1.0), lambda i: 100.0)
    assert samples == [100.0] * 10 and reason == "duration" and total == pytest.approx(1.0)


def test_adaptive_stops_at_min_samples_when_constant() -> None:
    samples, reason, _ = _loop(StopRule(min_seconds=0.0), lambda i: 5.0)
    assert reason == "stable" and len(samples) == 10


def test_adaptive_runs_at_least_the_minimum_time() -> None:
    # 5 ms samples: the CI is tight at once, but 1 s of timed loop takes 200 samples
    samples, reason, total = _loop(StopRule(min_seconds=1.0), lambda i: 5.0)
    assert reason == "stable" and len(samples) == 200 and total == pytest.approx(1.0)


def test_adaptive_waits_until_the_ci_is_inside_one_percent() -> None:
    # Samples cycle 9, 10, 11 ms. Checks at n = 10, 15, ..., 40, 45. At n = 40 the lower CI
    # rank is round(20 - 6.198) = 14, still a 9 (ranks 1-14 are 9 ms): not within 1 %.
    # At n = 45 the ranks are 16 and 30, both 10 ms (ranks 16-30): stable.
    samples, reason, _ = _loop(StopRule(min_seconds=0.0), lambda i: (9.0, 10.0, 11.0)[i % 3])
    assert reason == "stable" and len(samples) == 45


def test_adaptive_hits_the_time_cap_when_noisy() -> None:
    samples, reason, total = _loop(StopRule(max_time_s=2.0), lambda i: (1.0, 100.0)[i % 2])
    assert reason == "time_cap"
    assert total >= 2.0
    assert sum(samples) == pytest.approx(total * 1000.0)


def test_warm_up_needs_both_minimums() -> None:
    clock = FakeClock()
    assert warm_up(lambda: clock.advance_ms(100.0), 3, 0.5, clock) == 5
    clock = FakeClock()
    assert warm_up(lambda: clock.advance_ms(1000.0), 3, 0.5, clock) == 3


def test_timed_call_in_ms() -> None:
    clock = FakeClock()
    assert timed_call(lambda: clock.advance_ms(12.345), clock) == pytest.approx(12.345)


def test_stop_rule_describe() -> None:
    assert StopRule(iterations=7).describe() == {"kind": "iterations", "iterations": 7}
    assert StopRule().describe() == {"kind": "adaptive", "median_ci95_within": 0.01,
                                     "min_samples": 10, "min_seconds": 1.0,
                                     "max_time_s": 60.0}


# one device run ------------------------------------------------------------------------------

def _device_run(backend: FakeBackend, **job_fields: Any) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    job = measure_request("model.onnx", "fake:cpu", threads=2, cpus=[0], precision="f32",
                          shapes={"x": [1, 4]}, **job_fields)
    assert isinstance(backend.clock, FakeClock)
    run = DeviceRun(job, backend, events.append, clock=backend.clock).execute(MemoryStats())
    return run, events


def test_device_run_order_times_and_config() -> None:
    backend = FakeBackend(FakeClock())
    run, events = _device_run(backend, stop=StopRule(iterations=4), warmup_min_runs=3,
                              warmup_min_seconds=0.0)
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    assert stages == ["load", "compile", "inputs", "first_inference", "warmup", "latency",
                      "layers"]
    # first inference + 3 warm-up + 4 timed, and the layer pass only after all of them
    assert backend.calls == ["load", "compile"] + ["infer"] * 8 + ["profile_layers"]
    assert (run.load_ms, run.compile_ms, run.first_inference_ms) == (5.0, 20.0, 2.0)
    assert run.latency is not None and run.latency.samples_ms == [2.0] * 4
    assert run.latency.stop_reason == "iterations"
    assert run.throughput_fps == pytest.approx(500.0)
    assert (run.device_name, run.precision, run.error) == ("Fake CPU 9000", "fp32", None)
    assert run.layer_profile is not None and run.layer_profile.layers[0].name == "conv"
    assert run.config["threads"] == 2 and run.config["cpus"] == [0]
    assert run.config["precision_hint"] == "f32"
    assert run.config["stop_rule"] == {"kind": "iterations", "iterations": 4}
    assert run.config["warmup"]["runs"] == 3
    assert run.config["runtime_properties"] == {"INFERENCE_NUM_THREADS": 2}
    assert "numpy" in run.config["runtime_versions"]
    assert run.config["inputs"] == "random (seed 0)"
    assert backend.settings.threads == 2 and backend.settings.shapes == {"x": [1, 4]}


def test_every_inference_gets_the_same_inputs() -> None:
    backend = FakeBackend(FakeClock())
    _device_run(backend, stop=StopRule(iterations=3), layers=False)
    first = backend.inputs_seen[0]
    assert set(first) == {"x"} and first["x"].shape == (1, 4)
    assert all(seen is first for seen in backend.inputs_seen)


def test_compile_failure_is_recorded_with_its_stage() -> None:
    run, _ = _device_run(FakeBackend(FakeClock(), fail_at="compile"))
    assert run.error is not None and run.error.stage == "compile"
    assert run.error.message == "RuntimeError: boom in compile second line of detail"
    assert run.latency is None and run.load_ms == 5.0 and run.compile_ms is None


def test_layer_failure_keeps_the_latency() -> None:
    run, _ = _device_run(FakeBackend(FakeClock(), fail_at="profile_layers"),
                         stop=StopRule(iterations=2))
    assert run.error is not None and run.error.stage == "layers"
    assert run.latency is not None and run.latency.count == 2


def test_no_layers_pass_when_disabled() -> None:
    backend = FakeBackend(FakeClock())
    run, _ = _device_run(backend, stop=StopRule(iterations=2), layers=False)
    assert "profile_layers" not in backend.calls and run.layer_profile is None


def test_throughput_mode_reports_fps() -> None:
    backend = FakeBackend(FakeClock())
    run, events = _device_run(backend, mode="throughput", throughput_seconds=3.0, layers=False)
    assert run.throughput_fps == pytest.approx(100.0)
    assert run.latency is None
    assert run.config["throughput"] == {"inferences": 300, "seconds": 3.0}
    assert "throughput" in [e.stage for e in events if isinstance(e, StageEvent)]


def test_noisy_run_gets_a_warning() -> None:
    run, _ = _device_run(FakeBackend(FakeClock(), infer_ms=lambda i: (1.0, 9.0)[i % 2]),
                         stop=StopRule(iterations=20), layers=False)
    assert any("noisy run" in warning for warning in run.warnings)


# memory per stage ----------------------------------------------------------------------------

BLOCK_BYTES = 64 << 20


STAGE_PEAKS_SCRIPT = """
import sys
import numpy as np
from profiler.bench.memory import METHOD_SAMPLED, METHOD_VMHWM, StagePeaks, vmhwm_usable

force_sampling = sys.argv[1] == "1"
block_bytes = int(sys.argv[2])
tracker = StagePeaks(force_sampling=force_sampling)
try:
    if force_sampling:
        assert tracker.method == METHOD_SAMPLED, tracker.method
    elif vmhwm_usable():
        assert tracker.method == METHOD_VMHWM, tracker.method
    tracker.end_stage()
    before = tracker.end_stage()
    block = np.ones(block_bytes, dtype=np.uint8)  # touched: resident, not just reserved
    with_block = tracker.end_stage()
    del block
    tracker.end_stage()  # this stage began with the block resident
    after = tracker.end_stage()  # the mark was reset: the freed block no longer counts
finally:
    tracker.close()
print(before, with_block, after)
"""


@pytest.mark.parametrize("force_sampling", [False, True])
def test_stage_peaks_see_a_freed_block_and_reset(force_sampling: bool) -> None:
    """Run in a fresh process, as the worker does: a long test session's heap keeps freed
    blocks resident, which is exactly what a clean worker process avoids."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", STAGE_PEAKS_SCRIPT, "1" if force_sampling else "0",
         str(BLOCK_BYTES)], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    before, with_block, after = (int(v) for v in result.stdout.split())
    assert with_block >= before + BLOCK_BYTES * 0.9
    assert after <= with_block - BLOCK_BYTES * 0.5


def test_model_file_bytes_counts_ir_weights(tmp_path: Any) -> None:
    from profiler.bench.memory import model_file_bytes

    (tmp_path / "m.xml").write_bytes(b"x" * 10)
    (tmp_path / "m.bin").write_bytes(b"y" * 32)
    assert model_file_bytes(str(tmp_path / "m.xml")) == 42
