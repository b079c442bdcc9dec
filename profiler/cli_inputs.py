"""The input options every model command shares: --shape, --input-value, --input-range."""

from __future__ import annotations

import argparse
from typing import Any

from profiler.model.input_settings import InputSettings, parse_input_ranges, parse_input_values


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """--shape, --input-value and --input-range, each repeatable (one per input)."""
    parser.add_argument(
        "--shape", action="append", default=[], metavar="NAME=DIMS",
        help="input size, e.g. --shape input=1x3x224x224; --shape sr=scalar for rank 0 "
             "(repeat per input)",
    )
    parser.add_argument(
        "--input-value", action="append", default=[], metavar="NAME=V",
        help="one value for an input: a scalar (e.g. sr=16000), or a fill for a tensor "
             "(default: read from the graph where it can be)",
    )
    parser.add_argument(
        "--input-range", action="append", default=[], metavar="NAME=LO:HI",
        help="value range of an input: integers in [LO, HI), floats uniform "
             "(e.g. input_ids=0:30522)",
    )


def input_settings(args: argparse.Namespace) -> InputSettings:
    """What the input options say, parsed (UsageError/ShapeError on a bad item)."""
    from profiler.model.shapes import parse_shape_overrides

    return InputSettings(
        shapes=parse_shape_overrides(getattr(args, "shape", None) or []),
        values=parse_input_values(getattr(args, "input_value", None) or []),
        ranges=parse_input_ranges(getattr(args, "input_range", None) or []),
    )


def value_options(args: argparse.Namespace) -> dict[str, Any]:
    """ProfileOptions keywords for the input values and ranges the options give."""
    settings = input_settings(args)
    return {"input_values": settings.values, "input_ranges": settings.ranges}
