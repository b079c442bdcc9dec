"""One way to open an input file: regular files only, symlinks held inside a folder, sizes
bounded before anything is read.

``open_regular`` resolves symlinks first, checks the resolved path stays inside ``within``
(the model's folder, for every companion file), then opens it with O_NOFOLLOW | O_NONBLOCK
(a FIFO opened this way never blocks; a link swapped in after the check is refused) and
decides on ``fstat`` of the open descriptor: pipes, devices, sockets and folders are refused
before a byte is read, and so is a file larger than ``max_bytes``. ``check_regular`` does
the same for files a runtime opens by itself (an IR's .bin, ONNX external data), so the
runtime only ever gets a path that was a regular file inside the folder a moment before.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from typing import BinaryIO

from profiler.errors import ProfilerError

MISSING = "missing"
NOT_REGULAR = "not-regular"
TOO_LARGE = "too-large"
OUTSIDE = "outside"
UNREADABLE = "unreadable"

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_prefetched: dict[tuple[str, int], tuple[bytes, str] | FileRefused] = {}


class FileRefused(ProfilerError):
    """An input file that is not opened; ``kind`` says why (callers word their own message
    from it), ``problem`` is a ready-made one-line reason, ``file_kind`` what a non-regular
    file is ("a pipe")."""

    def __init__(self, path: str, kind: str, problem: str, size_bytes: int = 0,
                 file_kind: str = "") -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.kind = kind
        self.problem = problem
        self.size_bytes = size_bytes
        self.file_kind = file_kind


def resolve_within(path: str, within: str | None = None) -> str:
    """``path`` with every symlink resolved; refused when that lands outside ``within``."""
    if "\0" in path:
        raise FileRefused(path, UNREADABLE, "the path contains a NUL character; refused")
    real = os.path.realpath(path)
    if within is None:
        return real
    folder = os.path.realpath(within)
    if os.path.commonpath([real, folder]) != folder:
        raise FileRefused(path, OUTSIDE, "points outside the model's folder (through a link or "
                          "'..'); refused: keep the file beside the model")
    return real


def open_regular(path: str, max_bytes: int | None = None,
                 within: str | None = None) -> BinaryIO:
    """A binary handle on ``path`` once it is known to be a regular file of at most
    ``max_bytes`` (inside ``within`` when given); FileRefused otherwise."""
    descriptor = _open_checked(path, max_bytes, within)
    try:
        flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
        fcntl.fcntl(descriptor, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_regular(path: str, max_bytes: int, within: str | None = None) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (checked before and
    while reading: a file that grows is refused too)."""
    with open_regular(path, max_bytes, within) as handle:
        size_bytes = os.fstat(handle.fileno()).st_size  # read(n) allocates n bytes up front
        data = handle.read(min(size_bytes, max_bytes) + 1)
        if len(data) == size_bytes + 1:  # it grew since: read on, still bounded
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise _too_large(path, len(data), max_bytes)
    return data


def prefetch_hashed(path: str, max_bytes: int) -> None:
    """Read and hash ``path`` now, for ``read_hashed`` to hand over later. A prestarted sandbox
    child calls it on a thread while its main thread still imports: reading and SHA-256
    release the GIL, so both run at once. A refusal is kept and raised by ``read_hashed``."""
    try:
        _prefetched[(path, max_bytes)] = _read_and_hash(path, max_bytes)
    except FileRefused as refused:
        _prefetched[(path, max_bytes)] = refused


def read_hashed(path: str, max_bytes: int) -> tuple[bytes, str]:
    """``read_regular`` and the SHA-256 (hex) of exactly the bytes read; a prefetched read of
    the same file and bound is used once."""
    kept = _prefetched.pop((path, max_bytes), None)
    if isinstance(kept, FileRefused):
        raise kept
    return kept if kept is not None else _read_and_hash(path, max_bytes)


def _read_and_hash(path: str, max_bytes: int) -> tuple[bytes, str]:
    import hashlib  # here: OpenSSL's set-up (3 ms) is for the process that reads models

    data = read_regular(path, max_bytes)
    return data, hashlib.sha256(data).hexdigest()


def check_regular(path: str, within: str | None = None) -> int:
    """Size in bytes of a regular file a runtime will open by itself; FileRefused otherwise."""
    descriptor = _open_checked(path, None, within)
    try:
        return os.fstat(descriptor).st_size
    finally:
        os.close(descriptor)


def _open_checked(path: str, max_bytes: int | None, within: str | None) -> int:
    real = resolve_within(path, within)
    try:
        descriptor = os.open(real, _OPEN_FLAGS)
    except OSError as error:
        raise _open_error(path, error) from None
    try:
        _check_descriptor(path, os.fstat(descriptor), max_bytes)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _check_descriptor(path: str, info: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(info.st_mode):
        file_kind = _kind_of(info)
        raise FileRefused(path, NOT_REGULAR, f"is not a regular file ({file_kind}); "
                          "give the file itself", file_kind=file_kind)
    if max_bytes is not None and info.st_size > max_bytes:
        raise _too_large(path, info.st_size, max_bytes)


def _too_large(path: str, size_bytes: int, max_bytes: int) -> FileRefused:
    return FileRefused(path, TOO_LARGE, f"{size_bytes} bytes, more than the {max_bytes} bytes "
                       "such a file may hold; refused", size_bytes)


def _open_error(path: str, error: OSError) -> FileRefused:
    if error.errno == errno.ENOENT:
        return FileRefused(path, MISSING, "no such file")
    if error.errno == errno.ENXIO:  # a UNIX socket cannot be opened at all
        return FileRefused(path, NOT_REGULAR, "is not a regular file (a socket); give the "
                           "file itself", file_kind="a socket")
    if error.errno == errno.ELOOP:  # replaced by a link after it was resolved
        return FileRefused(path, OUTSIDE, "changed into a link while being opened; refused")
    if error.errno == errno.EACCES:
        return FileRefused(path, UNREADABLE, "cannot be read (permission denied)")
    return FileRefused(path, UNREADABLE, f"cannot be read ({error.strerror or error})")


def _kind_of(info: os.stat_result) -> str:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"
