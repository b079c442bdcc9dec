"""Drift metrics: a variant's outputs against the reference's, accumulated sample by sample.

Nothing is kept per sample but running sums, so any number of samples fits in memory:
- SQNR (dB) = 10 log10(sum ref^2 / sum (ref - var)^2), over all elements of all samples;
  capped at ±MAX_SQNR_DB (identical outputs give +MAX_SQNR_DB, a zero reference with an
  error gives -MAX_SQNR_DB), so every number stays finite and JSON-safe;
- cosine similarity of the flattened tensors, averaged over samples (two all-zero tensors
  count as 1, one all-zero tensor as 0);
- max and mean absolute error;
- elements the variant turned into inf/NaN (FP16 overflow) are counted, not summed, and make
  the SQNR -MAX_SQNR_DB;
- top-1 agreement for outputs that look like class scores: rank 2 [N, C] with C >= 2
  (so also [1, C]); the share of rows whose arg-max agrees.
Sums are float64 whatever the tensors' dtype (FP16 variants compare with FP32 references).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from profiler.records.variants import MAX_SQNR_DB, DriftMetrics, OutputDrift

MIN_CLASSES = 2


def sqnr_db(signal_energy: float, noise_energy: float) -> float:
    """10 log10(signal / noise), capped at ±MAX_SQNR_DB (also when a sum overflowed)."""
    if noise_energy <= 0.0:
        return MAX_SQNR_DB
    ratio = signal_energy / noise_energy
    if not math.isfinite(ratio) or ratio <= 0.0:
        return MAX_SQNR_DB if ratio == math.inf else -MAX_SQNR_DB
    return max(-MAX_SQNR_DB, min(MAX_SQNR_DB, 10.0 * math.log10(ratio)))


def cosine(dot: float, norm_a_sq: float, norm_b_sq: float) -> float:
    if norm_a_sq <= 0.0 and norm_b_sq <= 0.0:
        return 1.0
    if norm_a_sq <= 0.0 or norm_b_sq <= 0.0:
        return 0.0
    value = dot / math.sqrt(norm_a_sq * norm_b_sq)
    return max(-1.0, min(1.0, value)) if math.isfinite(value) else 0.0


def looks_like_class_scores(shape: tuple[int, ...]) -> bool:
    """[N, C] with C >= 2: one row of class scores per batch item."""
    return len(shape) == 2 and shape[1] >= MIN_CLASSES


class TensorStats:
    """Running sums for one tensor (or one set of tensors) over samples."""

    def __init__(self) -> None:
        self.signal = self.noise = 0.0
        self.abs_sum = 0.0
        self.max_abs = 0.0
        self.elements = 0
        self.cosine_sum = 0.0
        self.samples = 0
        self.top1_agree = self.top1_rows = 0
        self.nonfinite = 0

    def add(self, reference: np.ndarray, variant: np.ndarray) -> None:
        """One sample's tensor pair (same shape). Elements the variant made inf/NaN where the
        reference is finite (an FP16 overflow) are counted in ``nonfinite`` and left out of the
        sums; any of them makes the SQNR -MAX_SQNR_DB."""
        ref = np.asarray(reference, dtype=np.float64).ravel()
        var = np.asarray(variant, dtype=np.float64).ravel()
        if ref.shape != var.shape:
            raise ValueError(f"shapes differ: reference {np.shape(reference)}, variant "
                             f"{np.shape(variant)}")
        finite = np.isfinite(ref) & np.isfinite(var)
        if not finite.all():
            self.nonfinite += int(np.sum(np.isfinite(ref) & ~np.isfinite(var)))
            ref, var = ref[finite], var[finite]
        diff = ref - var
        self.signal += float(ref @ ref)
        self.noise += float(diff @ diff)
        abs_diff = np.abs(diff)
        self.abs_sum += float(abs_diff.sum())
        self.max_abs = max(self.max_abs, float(abs_diff.max(initial=0.0)))
        self.elements += ref.size
        self.cosine_sum += cosine(float(ref @ var), float(ref @ ref), float(var @ var))
        self.samples += 1

    def add_top1(self, reference: np.ndarray, variant: np.ndarray) -> None:
        ref_class = np.argmax(reference, axis=-1)
        var_class = np.argmax(variant, axis=-1)
        self.top1_agree += int(np.sum(ref_class == var_class))
        self.top1_rows += int(ref_class.size)

    def merge(self, other: TensorStats) -> None:
        """Fold one sample's per-output sums into an all-outputs total (cosine excluded)."""
        self.signal += other.signal
        self.noise += other.noise
        self.abs_sum += other.abs_sum
        self.max_abs = max(self.max_abs, other.max_abs)
        self.elements += other.elements
        self.top1_agree += other.top1_agree
        self.top1_rows += other.top1_rows
        self.nonfinite += other.nonfinite

    @property
    def sqnr_db(self) -> float:
        return -MAX_SQNR_DB if self.nonfinite else sqnr_db(self.signal, self.noise)

    @property
    def cosine(self) -> float:
        return self.cosine_sum / self.samples if self.samples else 0.0

    @property
    def mean_abs_error(self) -> float:
        return self.abs_sum / self.elements if self.elements else 0.0

    @property
    def top1_agreement(self) -> float | None:
        return self.top1_agree / self.top1_rows if self.top1_rows else None


def _float_outputs(outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: array for name, array in outputs.items()
            if np.asarray(array).dtype.kind == "f"}


class DriftAccumulator:
    """Feed (reference outputs, variant outputs) per sample; ``metrics()`` at the end."""

    def __init__(self) -> None:
        self.per_output: dict[str, TensorStats] = {}
        self.total = TensorStats()

    def add(self, reference: Mapping[str, np.ndarray], variant: Mapping[str, np.ndarray]) -> None:
        """Outputs matched by name; the reference's float outputs define what is compared."""
        ref_outputs = _float_outputs(reference)
        missing = [name for name in ref_outputs if name not in variant]
        if missing:
            raise ValueError(f"the variant has no output {', '.join(map(repr, missing))}; it "
                             f"has {', '.join(variant) or 'none'}")
        sample = TensorStats()
        for name, ref in ref_outputs.items():
            stats = self.per_output.setdefault(name, TensorStats())
            one = TensorStats()
            one.add(ref, variant[name])
            if looks_like_class_scores(tuple(np.shape(ref))):
                one.add_top1(ref, variant[name])
            _fold(stats, one)
            sample.merge(one)
        flat_ref = _concat(ref_outputs.values())
        flat_var = _concat(variant[name] for name in ref_outputs)
        sample.cosine_sum = cosine(float(flat_ref @ flat_var), float(flat_ref @ flat_ref),
                                   float(flat_var @ flat_var))
        sample.samples = 1
        _fold(self.total, sample)

    def metrics(self, indicative_only: bool = False, device: str = "",
                reference: str = "") -> DriftMetrics:
        total = self.total
        return DriftMetrics(
            sqnr_db=total.sqnr_db, cosine=total.cosine, max_abs_error=total.max_abs,
            mean_abs_error=total.mean_abs_error, top1_agreement=total.top1_agreement,
            samples=total.samples, indicative_only=indicative_only, device=device,
            reference=reference, nonfinite_values=total.nonfinite,
            outputs=[OutputDrift(name, s.sqnr_db, s.cosine, s.max_abs, s.mean_abs_error,
                                 s.top1_agreement, s.nonfinite)
                     for name, s in self.per_output.items()],
        )


def _fold(into: TensorStats, sample: TensorStats) -> None:
    into.merge(sample)
    into.cosine_sum += sample.cosine_sum
    into.samples += sample.samples


def _concat(arrays: Iterable[np.ndarray]) -> np.ndarray:
    parts = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    return np.concatenate(parts) if parts else np.zeros(0)


def match_outputs(reference: Mapping[str, np.ndarray], variant: Mapping[str, np.ndarray],
                  ) -> dict[str, np.ndarray]:
    """The variant's outputs under the reference's names: by name, else by position when
    both have the same number of outputs (a runtime may name an IR's outputs differently)."""
    if all(name in variant for name in reference):
        return dict(variant)
    if len(reference) != len(variant):
        raise ValueError(f"the variant has {len(variant)} outputs ({', '.join(variant)}), the "
                         f"reference {len(reference)} ({', '.join(reference)})")
    return dict(zip(reference, variant.values(), strict=True))
