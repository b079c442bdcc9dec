"""Where a gap between our ov:CPU figure and benchmark_app's comes from, measured in one process.

benchmark_app (sync API, static shapes) sets the input tensors once and reports
``InferRequest.latency``: the native ``infer`` alone, clocked inside OpenVINO, without the
Python call around it. Our protocol clocks the whole ``OpenVINOBackend.infer`` call with
``time.perf_counter_ns``. ``loop_breakdown`` runs three variants on the same model, interleaved
call by call (so a busy machine slows all of them alike), and compares median per-call times:

* ``native``: a request with tensors set once, ``req.infer()``, read as ``req.latency``
  (what benchmark_app records);
* ``bare call``: the same call clocked from Python (the call's own overhead added);
* ``ours``: ``OpenVINOBackend.infer`` clocked from Python (what our timed loop records), and
  its own request's native latency: the difference is our call's overhead, and our native
  figure against the first shows how much two compiles of the same model differ.

It also runs the native variant on benchmark_app's own random fill, to show whether the input
values change the latency. Medians of process CPU time are reported next to wall time: CPU time
leaves out the time the process waited for a core, so it holds up on a shared machine.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

Specs = Sequence[tuple[str, str, Sequence[int]]]
WARMUP_CALLS = 5
BENCHMARK_APP_INT_HIGH = 256
"""benchmark_app fills integer inputs uniform in [0, 255] (uint8's range), floats in [0, 255)."""


def benchmark_app_fill(specs: Specs) -> dict[str, np.ndarray]:
    """The values benchmark_app's random fill gives (its inputs_filling: a fresh RandomState
    seeded 0 per input, uniform over uint8's range, cast to the input's type)."""
    arrays = {}
    for name, dtype, shape in specs:
        rs = np.random.RandomState(np.random.MT19937(np.random.SeedSequence(0)))
        numpy_dtype = np.dtype(dtype)
        high = {"b": 2, "i": BENCHMARK_APP_INT_HIGH, "u": BENCHMARK_APP_INT_HIGH}.get(
            numpy_dtype.kind, BENCHMARK_APP_INT_HIGH - 1)
        arrays[name] = np.asarray(rs.uniform(0, high, list(shape))).astype(numpy_dtype)
    return arrays


def our_values(model: Path, shapes: Mapping[str, list[int]]) -> tuple[Specs, dict[str, np.ndarray]]:
    """The specs and arrays ``edgeprof-cli profile`` makes by default (graph-derived value
    rules, seed 0), with the given shapes."""
    from profiler.api import analyze_model
    from profiler.bench.profile import concrete_shapes, input_rules
    from profiler.model.input_settings import InputSettings
    from profiler.runtime.inputs import make_inputs

    settings = InputSettings({name: tuple(dims) for name, dims in shapes.items()})
    report = analyze_model(str(model), inputs=settings)
    if report.model is None:
        raise SystemExit(f"{model}: cannot analyse: {'; '.join(report.errors)}")
    concrete = concrete_shapes(report.model.inputs)
    specs = [(spec.name, spec.dtype, concrete[spec.name]) for spec in report.model.inputs]
    return specs, make_inputs(specs, None, seed=0, rules=input_rules(report.model.inputs))


@dataclass
class LoopBreakdown:
    native_ms: float
    bare_call_ms: float
    ours_ms: float
    ours_native_ms: float
    ours_cpu_ms: float
    native_cpu_ms: float
    their_values_cpu_ms: float
    rounds: int

    @property
    def ours_vs_native(self) -> float:
        return self.ours_ms / self.native_ms

    @property
    def values_effect(self) -> float:
        """CPU time on our values / on benchmark_app's random fill (1.0: values do not matter)."""
        return self.native_cpu_ms / self.their_values_cpu_ms


def _request(compiled: Any, ov: Any, arrays: Mapping[str, np.ndarray], names: list[str]) -> Any:
    request = compiled.create_infer_request()
    for port, name in enumerate(names):
        request.set_input_tensor(port, ov.Tensor(np.ascontiguousarray(arrays[name])))
    return request


def _compile(model: Path, shapes: Mapping[str, list[int]], threads: int) -> tuple[Any, Any]:
    import openvino as ov

    core = ov.Core()
    read = core.read_model(str(model))
    targets = {port: ov.PartialShape(shapes[sorted(p.get_names())[0]])
               for port, p in enumerate(read.inputs) if sorted(p.get_names())[0] in shapes}
    if targets:
        read.reshape(targets)
    properties = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
                  "INFERENCE_PRECISION_HINT": "f32"}
    return ov, core.compile_model(read, "CPU", properties)


def _our_backend(model: Path, shapes: Mapping[str, list[int]], threads: int) -> Any:
    from profiler.runtime.backend import RunSettings
    from profiler.runtime.openvino_backend import OpenVINOBackend

    backend = OpenVINOBackend("ov:CPU")
    backend.load(str(model), RunSettings(device="ov:CPU", threads=threads, precision="f32",
                                         shapes=dict(shapes)))
    backend.compile()
    return backend


Timed = tuple[Callable[[], None], Callable[[], float] | None]
"""A call to time, and where its native latency (ms) is read afterwards (None: not read)."""


def _interleave(variants: dict[str, Timed], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Each round calls every variant once; per variant: wall, cpu and native samples (ms)."""
    samples: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": [], "native": []} for name in variants}
    for call, _ in variants.values():
        for _ in range(WARMUP_CALLS):
            call()
    for _ in range(rounds):
        for name, (call, native) in variants.items():
            cpu_start, wall_start = time.process_time_ns(), time.perf_counter_ns()
            call()
            wall_end, cpu_end = time.perf_counter_ns(), time.process_time_ns()
            samples[name]["wall"].append((wall_end - wall_start) / 1e6)
            samples[name]["cpu"].append((cpu_end - cpu_start) / 1e6)
            if native is not None:
                samples[name]["native"].append(native())
    return samples


def loop_breakdown(model: Path, shapes: Mapping[str, list[int]], arrays: Mapping[str, np.ndarray],
                   specs: Specs, threads: int, rounds: int) -> LoopBreakdown:
    ov, compiled = _compile(model, shapes, threads)
    names = [sorted(p.get_names())[0] for p in compiled.inputs]
    ours_request = _request(compiled, ov, arrays, names)
    theirs_request = _request(compiled, ov, benchmark_app_fill(specs), names)
    backend = _our_backend(model, shapes, threads)
    feed = dict(arrays)
    variants: dict[str, Timed] = {
        "native": (ours_request.infer, lambda: float(ours_request.latency)),
        "their_values": (theirs_request.infer, None),
        "ours": (lambda: backend.infer(feed), lambda: float(backend._request.latency)),
    }
    samples = _interleave(variants, rounds)
    backend.close()
    median = statistics.median
    return LoopBreakdown(
        native_ms=median(samples["native"]["native"]),
        bare_call_ms=median(samples["native"]["wall"]),
        ours_ms=median(samples["ours"]["wall"]), ours_native_ms=median(samples["ours"]["native"]),
        ours_cpu_ms=median(samples["ours"]["cpu"]),
        native_cpu_ms=median(samples["native"]["cpu"]),
        their_values_cpu_ms=median(samples["their_values"]["cpu"]), rounds=rounds)


def breakdown_rows(name: str, loop: LoopBreakdown) -> list[str]:
    overhead_us = (loop.ours_ms - loop.ours_native_ms) * 1000.0
    bare_us = (loop.bare_call_ms - loop.native_ms) * 1000.0
    return [
        f"{name:<16} in-process, interleaved x {loop.rounds}: bare req.infer(): native "
        f"{loop.native_ms:.3f} ms, call {loop.bare_call_ms:.3f} ms (+{bare_us:.0f} us); "
        f"OpenVINOBackend.infer: native {loop.ours_native_ms:.3f} ms, call {loop.ours_ms:.3f} ms "
        f"(+{overhead_us:.0f} us); ours call/bare native {loop.ours_vs_native:.3f}, "
        f"compile vs compile {loop.ours_native_ms / loop.native_ms:.3f}",
        f"{name:<16} input values: CPU ms per call on our values / on benchmark_app's random "
        f"fill {loop.values_effect:.3f}",
    ]
