"""The project's own error types: each carries a message a user can act on."""

from __future__ import annotations


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
