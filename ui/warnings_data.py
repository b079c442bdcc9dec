"""Every warning of a document, in plain words, each with the app action that addresses it.

Sources: the model (guessed input values, dynamic sizes filled by defaults, shapes inference
could not compute), the analysis (op types without a cost function, layers of unknown shape,
control-flow notes), the runs (noisy, stopped by the time cap, layer times that do not add up,
failed) and the variants. Core messages name command-line flags; here they read in app words
(ui.app_words) and carry an action the warnings strip offers as a button. Pure data, no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.records.variants import Variant
from ui.app_words import app_text
from ui.runs_data import run_failed, was_cancelled

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = (ERROR, WARNING, INFO)
SET_INPUTS, PIN_CPUS, LONGER_RUN, REPROFILE = "set_inputs", "pin_cpus", "longer_run", "reprofile"
ACTION_LABELS = {
    SET_INPUTS: "Set inputs",
    PIN_CPUS: "Pin CPUs",
    LONGER_RUN: "Longer run",
    REPROFILE: "Profile again",
}
"""The button each action gets; an action not listed here has no button."""
LISTED_NODES = 3
_INPUT_NAME = re.compile(r"input '([^']+)'")


@dataclass(frozen=True)
class DocWarning:
    kind: str
    """guessed_inputs | input_values | defaulted_shape | unknown_shapes | unsupported_ops |
    analysis_note | noisy_run | time_cap | few_samples | coverage | failed_run | run_note |
    variant | report_error | other."""
    severity: str
    text: str
    """One plain sentence in app words."""
    action: str = ""
    """What addresses it (a key of ACTION_LABELS), '' when nothing in the app does."""
    payload: str = ""
    """What the action is about: an input name for set_inputs, a device for the others."""
    where: str = ""
    """Whose warning: 'model', 'analysis', a run's 'device variant', a variant id."""

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, "")


# one rule per kind of core message: (kind, severity, action, test on the raw message)
_MODEL_RULES: list[tuple[str, str, str, Callable[[str], bool]]] = [
    ("guessed_inputs", WARNING, SET_INPUTS, lambda m: "values guessed" in m),
    ("input_values", WARNING, SET_INPUTS,
     lambda m: "valid range" in m or "--input-value" in m),
    ("defaulted_shape", INFO, SET_INPUTS, lambda m: " is dynamic " in m),
    ("unknown_shapes", WARNING, SET_INPUTS,
     lambda m: "could not be computed" in m or "shape inference failed" in m),
]
_RUN_RULES: list[tuple[str, str, str, Callable[[str], bool]]] = [
    ("noisy_run", WARNING, PIN_CPUS, lambda m: m.startswith("noisy run")),
    ("time_cap", WARNING, LONGER_RUN, lambda m: "time cap" in m),
    ("few_samples", INFO, LONGER_RUN, lambda m: "timed samples" in m),
    ("coverage", INFO, "", lambda m: m.startswith("per-layer times sum to")),
]


def _classify(message: str, rules: Sequence[tuple[str, str, str, Callable[[str], bool]]],
              fallback: tuple[str, str, str]) -> tuple[str, str, str]:
    for kind, severity, action, matches in rules:
        if matches(message):
            return kind, severity, action
    return fallback


def _sentence(text: str) -> str:
    """Core messages start lower-case and end bare: a sentence for the strip."""
    text = app_text(text).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def model_warnings(model: ModelInfo | None) -> list[DocWarning]:
    found = []
    for message in model.warnings if model is not None else []:
        kind, severity, action = _classify(message, _MODEL_RULES, ("other", WARNING, ""))
        name = _INPUT_NAME.search(message)
        found.append(DocWarning(kind, severity, _sentence(message), action,
                                name.group(1) if name and action else "", "model"))
    return found


def _node_list(names: Sequence[str]) -> str:
    shown = ", ".join(names[:LISTED_NODES])
    return shown + (f" and {len(names) - LISTED_NODES} more" if len(names) > LISTED_NODES else "")


def analysis_warnings(analysis: StaticAnalysis | None) -> list[DocWarning]:
    if analysis is None:
        return []
    found = []
    if analysis.unsupported_ops:
        ops = ", ".join(f"{op} ×{count}" for op, count in analysis.unsupported_ops.items())
        found.append(DocWarning(
            "unsupported_ops", WARNING,
            f"No cost formula for {ops}: those layers count as unknown in the totals, "
            "not as zero.", where="analysis"))
    unknown = analysis.unknown_shape_nodes
    if unknown:
        found.append(DocWarning(
            "unknown_shapes", WARNING,
            f"{len(unknown)} layer(s) have output sizes that stay unknown "
            f"({_node_list(unknown)}): their costs are missing. Setting the input shapes "
            "often resolves them.", SET_INPUTS, where="analysis"))
    found += [DocWarning("analysis_note", INFO, _sentence(note), where="analysis")
              for note in analysis.notes]
    return found


def run_name(run: Run) -> str:
    return f"{run.device} {run.variant}"


def run_warnings(run: Run) -> list[DocWarning]:
    """A failed run first (a cancelled one is no warning: the Runs pane says so), then the
    run's own warnings."""
    found = []
    if run_failed(run) and not was_cancelled(run) and run.error is not None:
        found.append(DocWarning("failed_run", ERROR,
                                f"{run_name(run)} failed: {_sentence(run.error.message)}",
                                REPROFILE, run.device, run_name(run)))
    for message in run.warnings:
        kind, severity, action = _classify(message, _RUN_RULES, ("run_note", WARNING, ""))
        found.append(DocWarning(kind, severity, f"{run_name(run)}: {_sentence(message)}",
                                action, run.device, run_name(run)))
    return found


def variant_warnings(variant: Variant) -> list[DocWarning]:
    return [DocWarning("variant", WARNING, f"{variant.id}: {_sentence(message)}",
                       where=variant.id) for message in variant.warnings]


def report_errors(report: Report) -> list[DocWarning]:
    """Errors the report lists beyond its runs' own (those come with their run)."""
    run_errors = [run.error.message for run in report.runs if run.error is not None]
    return [DocWarning("report_error", ERROR, _sentence(error), where="report")
            for error in report.errors
            if not any(error.endswith(message) for message in run_errors)]


def document_warnings(report: Report, runs: Sequence[Run] | None = None,
                      extra: Sequence[DocWarning] = ()) -> list[DocWarning]:
    """Every warning of a document, errors first, each listed once. ``runs``: the document's
    runs when they are more than the report's (see ui.runs_data.RunList)."""
    found = model_warnings(report.model)
    model_kinds = {w.kind for w in found}  # the loader's note on unknown shapes says it already
    found += [w for w in analysis_warnings(report.analysis) if w.kind not in model_kinds]
    for run in report.runs if runs is None else runs:
        found += run_warnings(run)
    for variant in report.variants:
        found += variant_warnings(variant)
    found += [*report_errors(report), *extra]
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda w: SEVERITY_ORDER.index(w.severity))


def note_warnings(notes: Sequence[str], kind: str = "run_note") -> list[DocWarning]:
    """The run list's notes (a pair measured again, a pair not measured) as strip rows."""
    return [DocWarning(kind, INFO, _sentence(note), where="runs") for note in notes]


def summary_text(warnings: Sequence[DocWarning]) -> str:
    """'3 warnings' / '1 error, 2 warnings' for the collapsed strip."""
    errors = sum(1 for w in warnings if w.severity == ERROR)
    others = len(warnings) - errors
    parts = ([f"{errors} error{'s' if errors != 1 else ''}"] if errors else []) + (
        [f"{others} warning{'s' if others != 1 else ''}"] if others else [])
    return ", ".join(parts) or "No warnings"
