"""The project's own error types: each carries a message a user can act on."""

from __future__ import annotations

import re


class ProfilerError(Exception):
    """Base class for every error the core raises on purpose.

    ``str(error)`` is one line that names the file (when there is one), what is wrong and,
    where possible, what to do about it.
    """


class ModelLoadError(ProfilerError):
    """The model file cannot be read or is not a valid model."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ShapeError(ProfilerError):
    """Input shapes cannot be resolved (bad override, unusable dynamic dims)."""


class UsageError(ProfilerError):
    """The caller asked for something that cannot be done as asked (bad option values)."""


class ReportError(ProfilerError):
    """A report file cannot be read or written."""


class Cancelled(ProfilerError):
    """The work was stopped because the user asked (closing a tab or the window): not a
    failure of the file."""


# One line from a runtime's exception (OpenVINO, ONNX Runtime, NNCF) ----------------------

_CPP_LOCATION = re.compile(r"\s*(?:at\s+)?\S*[\\/]?\S+\.(?:cpp|hpp|cc|h|c):\d+:?")
_EXCEPTION_FROM = re.compile(r"^\s*Exception from \S+:\d+:?\s*$")
_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*")
_CHECK_FAILED = re.compile(r"Check '.*?' failed\s*")
_NOISE_LINE = re.compile(r"^(FrontEnd API failed with \w+:?|\[ ?\w+ ?\])$")
"""OpenVINO frontend status lines and bare status codes like '[ GENERAL_ERROR ]'."""
_VALIDATING = re.compile(r"While validating node '[^']*' with friendly_name '([^']*)':")
MAX_MESSAGE_CHARS = 400


def _clean_line(raw: str) -> str:
    """One line without locations, prefixes and status noise ('' when nothing is left)."""
    if _EXCEPTION_FROM.match(raw) or _NOISE_LINE.match(raw.strip()):
        return ""
    line = _ORT_PREFIX.sub("", raw.strip())
    line = _CHECK_FAILED.sub("", _VALIDATING.sub(r"at node '\1':", line))
    return _CPP_LOCATION.sub("", line).strip().lstrip(":").strip()


def clean_runtime_message(error: BaseException | str) -> str:
    """One line from a runtime exception: no C++ source locations, no error-code prefixes.
    A line ending in ':' introduces the next one (joined with a space), others join with '; '."""
    message = ""
    seen: list[str] = []
    for line in (_clean_line(raw) for raw in str(error).splitlines()):
        if not line.strip(":") or line in seen:
            continue
        separator = " " if message.endswith(":") else "; "
        message = f"{message}{separator}{line}" if message else line
        seen.append(line)
    message = message.rstrip(" :") or type(error).__name__
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    return message
