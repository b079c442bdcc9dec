"""Human-readable numbers for tables and charts (the report itself keeps raw units)."""

from __future__ import annotations

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BINARY = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def si(value: float, digits: int = 3) -> str:
    """4089184256 -> '4.089 G'."""
    for scale, suffix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f} {suffix}"
    return f"{value:g}"


def size_bytes(value: float) -> str:
    """102443816 -> '97.70 MiB'."""
    for scale, suffix in _BINARY:
        if abs(value) >= scale:
            return f"{value / scale:.2f} {suffix}"
    return f"{int(value)} B"


def percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


def shape_text(shape: list[int | str | None] | None) -> str:
    if shape is None:
        return "?"
    return "x".join("?" if d is None or d == "" else str(d) for d in shape) or "scalar"


def si_compact(value: float) -> str:
    """Axis-tick form of :func:`si`: 1500000 -> '1.5 M', 400 -> '400', 0.25 -> '0.25'."""
    for scale, suffix in _SI:
        if abs(value) >= scale:
            return f"{_trimmed(value / scale)} {suffix}"
    return _trimmed(value)


def _trimmed(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def milliseconds(value: float | None) -> str:
    """A time in ms at a resolution that suits it: 123.4, 12.35, 0.123, 0.0012 ms; '-' if None."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.1f} ms"
    if abs(value) >= 1:
        return f"{value:.2f} ms"
    if abs(value) >= 0.01:
        return f"{value:.3f} ms"
    return f"{value:.4f} ms"


def rate(value: float | None) -> str:
    """A throughput-like figure at a sensible precision: 393, 12.5, 0.0006; '-' if None."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"
