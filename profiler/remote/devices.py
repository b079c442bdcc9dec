"""A target's devices as ordinary devices: the board lists its own (``remote-info``) and the
host prefixes each id with the target's name (``pi5/ov:CPU``)."""

from __future__ import annotations

import json
from dataclasses import field
from typing import Any

from profiler import __version__
from profiler.records.record import record
from profiler.remote import ssh
from profiler.remote.board import BOARD_PROTOCOL
from profiler.remote.targets import Target
from profiler.runtime.devices import DeviceInfo, target_device_id

INFO_TIMEOUT_S = 120.0
"""Discovery imports both runtimes; a small board takes seconds to do it."""


@record
class BoardInfo:
    target: str
    version: str
    board_protocol: int
    worker_protocol: int | None
    python_executable: str
    environment: dict[str, Any]
    devices: list[DeviceInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _device(target: Target, raw: dict[str, Any]) -> DeviceInfo:
    from profiler.records.serialize import from_dict

    device = from_dict(DeviceInfo, raw, where=f"{target.name}'s device list")
    device.id = target_device_id(target.name, device.id)
    return device


def _checked(target: Target, answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict) or "board_protocol" not in answer:
        raise ssh.RemoteError(target.name, f"{target.name} answered something that is not "
                              "edge-model-profiler's board information")
    if answer["board_protocol"] != BOARD_PROTOCOL:
        raise ssh.RemoteError(target.name, (
            f"{target.name} runs edge-model-profiler {answer.get('version', '?')} (board "
            f"protocol {answer['board_protocol']}); this machine has {__version__} (protocol "
            f"{BOARD_PROTOCOL}): install the same version there "
            f"(pip install edge-model-profiler=={__version__})"))
    return answer


def board_info(target: Target) -> BoardInfo:
    """Connect, ask the board what it is and what it offers; RemoteError with the reason."""
    output = ssh.run(target, ssh.python_argv(target, "remote-info"), timeout_s=INFO_TIMEOUT_S)
    try:
        answer = _checked(target, json.loads(output))
    except ValueError:
        raise ssh.RemoteError(target.name, f"{target.name} answered something that is not "
                              "JSON; is the target's python the right one?") from None
    return BoardInfo(
        target=target.name, version=str(answer.get("version", "")),
        board_protocol=int(answer["board_protocol"]),
        worker_protocol=answer.get("worker_protocol"),
        python_executable=str(answer.get("python_executable", "")),
        environment=dict(answer.get("environment") or {}),
        devices=[_device(target, raw) for raw in answer.get("devices") or []],
        notes=[str(text) for text in answer.get("notes") or []],
    )
