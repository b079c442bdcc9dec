"""The real-model corpus through the whole tool: analyze, profile and quantize, one table.

For every model of ``scripts/fetch_corpus.py`` this runs, each in its own child process with a
timeout (a crash or a hang costs one row, not the run):

  1. ``edgeprof-cli analyze MODEL -o analyze.json``
  2. ``edgeprof-cli profile MODEL --device ov:CPU [--device ort:cpu] --iterations 20
     --max-time 10 --no-history -o profile.json`` (ort:cpu only for ONNX files)
  3. ``edgeprof-cli quantize MODEL --variants V --device D --iterations 10 ...`` with one cheap
     variant per format: fp16 on ort:cpu for ONNX, ov-int8-weights on ov:CPU otherwise

then reads the JSON reports and prints one row per model: MACs, nodes whose shape stayed
unknown, unsupported ops, status and median latency per device, per-layer coverage (sum of
layer times / end-to-end median), the quantize result, and how each input was made.
Everything runs with the tool's defaults: no ``--shape`` or input files are given, so a row
shows what a user who just opens the model gets.

    python scripts/fetch_corpus.py
    python benchmarks/real_models.py [--only NAME] [--skip-quantize] [--out DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from profiler.units import si  # noqa: E402  (after the path: the benchmark runs from a checkout)

ANALYZE_TIMEOUT_S = 120
PROFILE_TIMEOUT_S = 240
QUANTIZE_TIMEOUT_S = 240
REASON_CHARS = 60
# Keys of a tensor spec that describe the tensor itself, not how its data was made.
SPEC_KEYS = {"name", "dtype", "shape", "declared_shape"}


def _load_fetch_module() -> ModuleType:
    path = REPO_ROOT / "scripts" / "fetch_corpus.py"
    spec = importlib.util.spec_from_file_location("fetch_corpus", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: cannot load the corpus table")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_corpus"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


fetch_corpus = _load_fetch_module()


@dataclass
class Step:
    """One CLI call: its report (when one was written) and why it failed (when it did)."""

    report: dict[str, Any] | None = None
    failure: str = ""
    seconds: float = 0.0


@dataclass
class Row:
    name: str
    family: str
    fmt: str
    cells: dict[str, str] = field(default_factory=dict)


# Boilerplate the runtimes put before the part of a message that says what went wrong.
NOISE = (re.compile(r"^(exit \d+: )?edgeprof-cli: (error: )?"),
         re.compile(r"^\w+: \[ONNXRuntimeError\] : \d+ : \w+ : "),
         re.compile(r"Non-zero status code returned while running "),
         re.compile(r"^\S+\.(onnx|xml|tflite): "))
FOLDERS = re.compile(r"(?<![\w.])/[^\s:'\"]+/")  # a path's folders: the file name is enough


def short(text: str) -> str:
    """A reason cut to one short line (the table stays readable)."""
    line = " ".join(str(text).split())
    for pattern in NOISE:
        line = pattern.sub("", line)
    line = FOLDERS.sub("", line)
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def run_cli(args: list[str], report_path: Path, timeout_s: int, reuse: bool = False) -> Step:
    """Run ``python -m profiler ARGS -o REPORT``; a timeout or crash becomes a failure text.

    With ``reuse``, a report already at REPORT (from an earlier ``--out`` run) is read instead.
    """
    if reuse and report_path.is_file():
        return Step(report=json.loads(report_path.read_text(encoding="utf-8")))
    command = [sys.executable, "-m", "profiler", *args, "-o", str(report_path)]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return Step(failure=f"timeout after {timeout_s} s", seconds=float(timeout_s))
    step = Step(seconds=time.monotonic() - started)
    if report_path.is_file():
        try:
            step.report = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            step.failure = f"unreadable report: {exc}"
    if done.returncode != 0 and step.report is None and not step.failure:
        step.failure = f"exit {done.returncode}: {_last_line(done.stderr) or 'no message'}"
    return step


def analyze_cells(step: Step) -> dict[str, str]:
    analysis = (step.report or {}).get("analysis")
    if not analysis:
        reason = short(step.failure or "; ".join((step.report or {}).get("errors", [])))
        return {"MACs": f"FAIL {reason}", "unk": "-", "unsup": "-"}
    totals = analysis.get("totals", {})
    unsupported = analysis.get("unsupported_ops", {}) or {}
    unsup = sum(unsupported.values())
    unsup_text = f"{unsup} ({','.join(sorted(unsupported))})" if unsup else "0"
    return {"MACs": si(float(totals.get("macs", 0))),
            "unk": str(len(analysis.get("unknown_shape_nodes", []) or [])),
            "unsup": short(unsup_text)}


def _run_for(report: dict[str, Any] | None, device: str, variant: str) -> dict[str, Any] | None:
    for run in (report or {}).get("runs", []) or []:
        if run.get("device") == device and run.get("variant", "fp32") == variant:
            return dict(run)
    return None


def run_status(run: dict[str, Any] | None, step: Step) -> str:
    """``ok 1.234 ms`` or ``FAIL stage: reason``."""
    if run is None:
        return f"FAIL {short(step.failure or 'no run in the report')}"
    error = run.get("error")
    latency = run.get("latency") or {}
    if error:
        return f"FAIL {error.get('stage', '?')}: {short(error.get('message', ''))}"
    if latency.get("p50") is None:
        return "FAIL no latency"
    return f"ok {latency['p50']:.3f} ms"


def coverage_text(run: dict[str, Any] | None) -> str:
    profile = (run or {}).get("layer_profile") or {}
    coverage = profile.get("coverage")
    return "-" if coverage is None else f"{coverage * 100:.0f}%"


def profile_cells(step: Step, devices: list[str]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for device in ("ov:CPU", "ort:cpu"):
        if device not in devices:
            cells[device] = "n/a (format)"
            cells[f"cov {device}"] = "-"
            continue
        run = _run_for(step.report, device, "fp32")
        cells[device] = run_status(run, step)
        cells[f"cov {device}"] = coverage_text(run)
    return cells


def quantize_cell(step: Step, variant: str, device: str) -> str:
    report = step.report or {}
    built = next((v for v in report.get("variants", []) or [] if v.get("id") == variant), None)
    if built is None:
        errors = report.get("errors") or []
        return f"FAIL {short(step.failure or (errors[0] if errors else 'no variant'))}"
    if built.get("error"):
        return f"FAIL build: {short(built['error'])}"
    status = run_status(_run_for(report, device, variant), step)
    sqnr = ((built.get("drift") or {}).get(device) or {}).get("sqnr_db")
    drift = f", {sqnr:.0f} dB" if isinstance(sqnr, (int, float)) else ""
    return f"{variant} {status}{drift}"


def _provenance_item(key: str, value: Any) -> str:
    """One field of an input spec as ``shape=default``; '' for what the table leaves out."""
    if key in SPEC_KEYS or value in ("", None, False) or key.endswith("_note"):
        return ""  # notes are long: they are in the kept reports (--out)
    label = key.removesuffix("_source").removeprefix("value_")
    if value is True:
        return label
    if isinstance(value, list):
        return f"{label}=[{','.join(f'{v:g}' if isinstance(v, float) else str(v) for v in value)})"
    text = str(value)
    return f"{label}={text}" if key.endswith("_source") or len(text) <= 20 else ""


def provenance(step: Step) -> str:
    """How each input was made: whatever provenance fields the report has, defensively."""
    model = (step.report or {}).get("model") or {}
    parts = []
    for spec in model.get("inputs", []) or []:
        items = [_provenance_item(k, v) for k, v in spec.items()]
        shape = "x".join(str(d) for d in spec.get("shape") or []) or "scalar"
        parts.append(f"{spec.get('name', '?')}[{shape}]({','.join(i for i in items if i)})")
    return "; ".join(parts) or "-"


def _devices_for(fmt: str) -> list[str]:
    return ["ov:CPU", "ort:cpu"] if fmt == "onnx" else ["ov:CPU"]


def _quantize_plan(fmt: str) -> tuple[str, str]:
    return ("fp16", "ort:cpu") if fmt == "onnx" else ("ov-int8-weights", "ov:CPU")


def profile_step(model_path: Path, devices: list[str], out: Path, reuse: bool) -> Step:
    device_args = [a for d in devices for a in ("--device", d)]
    return run_cli(["profile", str(model_path), *device_args, "--iterations", "20",
                    "--max-time", "10", "--no-history"], out / "profile.json",
                   PROFILE_TIMEOUT_S, reuse)


def quantize_step(model_path: Path, variant: str, device: str, out: Path, reuse: bool) -> Step:
    # Whole-model drift only: per-layer drift of a large detector alone takes minutes.
    return run_cli(["quantize", str(model_path), "--variants", variant, "--device", device,
                    "--iterations", "10", "--max-time", "10", "--samples", "8",
                    "--no-layer-drift"], out / "quantize.json", QUANTIZE_TIMEOUT_S, reuse)


def bench_model(entry: Any, model_path: Path, out: Path, args: argparse.Namespace) -> Row:
    row = Row(entry.name, entry.family, entry.format)
    out.mkdir(parents=True, exist_ok=True)
    analyzed = run_cli(["analyze", str(model_path)], out / "analyze.json", ANALYZE_TIMEOUT_S,
                       args.reuse)
    row.cells.update(analyze_cells(analyzed))
    devices = _devices_for(entry.format)
    profiled = profile_step(model_path, devices, out, args.reuse)
    row.cells.update(profile_cells(profiled, devices))
    row.cells["quantize"] = "skipped"
    if not args.skip_quantize:
        variant, device = _quantize_plan(entry.format)
        quantized = quantize_step(model_path, variant, device, out, args.reuse)
        row.cells["quantize"] = quantize_cell(quantized, variant, device)
    row.cells["inputs"] = provenance(profiled if profiled.report else analyzed)
    return row


COLUMNS = ("model", "family", "format", "MACs", "unk", "unsup", "ov:CPU", "ort:cpu",
           "cov ov:CPU", "cov ort:cpu", "quantize", "inputs")


def row_values(row: Row) -> list[str]:
    fixed = {"model": row.name, "family": row.family, "format": row.fmt}
    return [fixed.get(c, row.cells.get(c, "")) for c in COLUMNS]


def format_markdown(rows: list[Row]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(esc(v) for v in row_values(r)) + " |" for r in rows]
    return "\n".join(lines)


def format_text(rows: list[Row]) -> str:
    table = [list(COLUMNS)] + [row_values(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in table)


def missing_row(entry: Any) -> Row:
    row = Row(entry.name, entry.family, entry.format)
    row.cells["MACs"] = "not fetched: run scripts/fetch_corpus.py"
    return row


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this corpus model (repeatable)")
    parser.add_argument("--skip-quantize", action="store_true", help="leave out quantize")
    parser.add_argument("--out", type=Path, default=None,
                        help="keep the reports in DIR/<model>/ (default: a temporary folder)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--reuse", action="store_true",
                        help="with --out: read the reports already there instead of running")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = fetch_corpus.corpus_dir()
    entries = fetch_corpus.select(args.only)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="edgeprof-corpus-") as scratch:
        out_root = args.out or Path(scratch)
        for entry in entries:
            model_path = fetch_corpus.main_file(entry, root)
            if not model_path.is_file():
                rows.append(missing_row(entry))
                continue
            started = time.monotonic()
            rows.append(bench_model(entry, model_path, out_root / entry.name, args))
            print(f"{entry.name}: {time.monotonic() - started:.0f} s", file=sys.stderr,
                  flush=True)
    print(format_markdown(rows) if args.markdown else format_text(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
