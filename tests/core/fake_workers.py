"""Building blocks for hand-written worker children (``python -c``): the worker side of the
protocol's handshake, then frames printed by the test's own script."""

from __future__ import annotations

HANDSHAKE = (
    "import json, sys\n"
    "from profiler.bench import wire\n"
    "sys.stdin.readline()\n"
    "print(wire.hello_line(wire.worker_hello()), flush=True)\n"
    "frame = json.loads(sys.stdin.readline())\n"
    "job = frame['request']\n"
)
"""Leaves the request (a dict) in ``job``."""


def frame(frame_type: str, **body: object) -> str:
    """Python source printing one frame of the current protocol version."""
    return (f"print(json.dumps({{'v': wire.PROTOCOL_VERSION, 'type': {frame_type!r}, "
            f"**{body!r}}}), flush=True)\n")
