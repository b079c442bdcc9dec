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
