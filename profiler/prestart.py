"""Fork the next sandboxed child before the file is known, so its imports overlap ours.

``edgeprof-cli analyze`` spends most of its time importing ONNX and numpy in the sandboxed
child (profiler.sandbox). Forked when the CLI starts, the child imports them on the other
core while the CLI parses its arguments and imports its own modules. As soon as the CLI
knows the file, ``read_ahead`` names it: a thread in the child reads and hashes it meanwhile
(file reads and SHA-256 release the GIL). ``run_isolated`` then hands the child its job
instead of forking a new one.

Both pipes carry messages framed as an 8-byte length and the bytes. The job pipe carries
two: the file to read ahead (``max_bytes`` and the path; empty for none), then the pickled
job; the answers pipe carries the child's stage marks and answer (``MessagePipe``). This
module imports only what the interpreter has loaded already, and the child needs no more:
every import would delay the fork or the child's start, which is why it frames its own
messages rather than use multiprocessing (whose import costs more than the rest of this).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence

_LENGTH_BYTES = 8
ANALYSIS_PRELOAD = ("profiler.model.onnx_loader", "profiler.analysis.file_analysis",
                    "profiler.analysis.analyze", "profiler.model.describe",
                    "profiler.model.input_settings")
"""What a child that will analyse a model imports before its job (what
``analysis.file_analysis.analyze_file_in_parts`` runs on, which it imports only when it
runs): the CLI's prestarted child and, with the api besides, the app's fork server
(profiler.sandbox). test_prestart checks that the job imports nothing more of ours."""
_waiting: Waiting | None = None


class Waiting:
    """A forked child that imports, then waits for one job: its pid, our write end of the job
    pipe and our read end of the pipe its messages come back on."""

    __slots__ = ("answers_fd", "jobs_fd", "pid", "read_ahead_sent")

    def __init__(self, pid: int, jobs_fd: int, answers_fd: int) -> None:
        self.pid, self.jobs_fd, self.answers_fd = pid, jobs_fd, answers_fd
        self.read_ahead_sent = False

    def send_read_ahead(self, path: str | None, max_bytes: int = 0) -> None:
        """Name the file the job will read whole (at most ``max_bytes``); None: no file."""
        text = b"" if path is None else b"%d\n" % max_bytes + os.fsencode(path)
        _write_message(self.jobs_fd, text)
        self.read_ahead_sent = True

    def send_job(self, job: bytes) -> None:
        """The pickled job (after 'no file' when nothing was read ahead). OSError: gone."""
        if not self.read_ahead_sent:
            self.send_read_ahead(None)
        _write_message(self.jobs_fd, job)


def prestart(preload: Sequence[str]) -> None:
    """Fork a child that imports ``preload`` and waits for a job (profiler.sandbox's
    ``serve_prestarted``). Only where a plain fork is safe: the caller must be the only
    thread. Does nothing when one is waiting already."""
    global _waiting
    threading = sys.modules.get("threading")
    if _waiting is not None or (threading is not None and threading.active_count() > 1):
        return
    jobs_read, jobs_write = os.pipe()
    answers_read, answers_write = os.pipe()
    gc.freeze()  # the child's collections skip what it inherits: fewer copy-on-write faults
    try:
        pid = os.fork()
    finally:
        gc.unfreeze()
    if pid == 0:
        _child(jobs_read, jobs_write, answers_read, answers_write, preload)
    os.close(jobs_read)
    os.close(answers_write)
    _waiting = Waiting(pid, jobs_write, answers_read)


def read_ahead(path: str, max_bytes: int | None) -> None:
    """Name the file the waiting child's job will read whole, so it starts reading now;
    nothing without a waiting child or a bound (formats the runtimes read themselves)."""
    if _waiting is None or _waiting.read_ahead_sent or max_bytes is None:
        return
    try:
        _waiting.send_read_ahead(path, max_bytes)
    except OSError:  # the child is gone: run_isolated notices and forks a fresh one
        return


def take() -> Waiting | None:
    """The waiting child, now the caller's to use (or None): taken once."""
    global _waiting
    waiting, _waiting = _waiting, None
    return waiting


def _child(jobs_read: int, jobs_write: int, answers_read: int, answers_write: int,
           preload: Sequence[str]) -> None:
    """The child's side; never returns into the caller's code. The job reader starts first,
    so the file is read while profiler.sandbox_child and ``preload`` are imported."""
    code = 1
    gc.disable()  # some 70 collections during the imports (12 ms); back on before the job
    # numpy's OpenBLAS starts a thread per core that spins for ~100 ms of CPU after import:
    # on a 2-core machine that takes the other core from the parent (and from onnx's
    # import here). The analysis' constant folding is small work that needs no BLAS threads.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        os.close(jobs_write)  # else this child holds the job pipe open and never sees EOF
        os.close(answers_read)
        import threading

        job: list[bytes] = []
        reader = threading.Thread(target=_receive, args=(jobs_read, job), name="job reader")
        reader.start()
        from profiler.sandbox_child import serve_prestarted

        serve_prestarted(reader, job, MessagePipe(answers_write), preload)
        code = 0
    finally:
        os._exit(code)


def _receive(jobs_fd: int, job: list[bytes]) -> None:
    """The child's reader thread: reads the named file ahead (profiler.files.read_hashed
    takes it from there), then the job. Nothing appended: no job is coming."""
    try:
        target = receive_read_ahead(jobs_fd)
        if target is not None:
            from profiler.files import prefetch_hashed

            prefetch_hashed(*target)
        job.append(_read_message(jobs_fd))
    except (EOFError, OSError, ValueError):  # the parent ended, or sent no job
        return
    finally:
        os.close(jobs_fd)


class MessagePipe:
    """One end of a pipe of framed messages, with the part of multiprocessing's Connection
    that profiler.sandbox uses (send_bytes, recv_bytes, poll, close)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send_bytes(self, data: bytes | memoryview) -> None:
        _write_message(self.fd, data)

    def recv_bytes(self) -> bytes:
        return _read_message(self.fd)

    def poll(self, timeout_s: float) -> bool:
        import select

        return bool(select.select([self.fd], [], [], timeout_s)[0])

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def receive_read_ahead(jobs_fd: int) -> tuple[str, int] | None:
    """In the child: the file to read ahead and its bound, or None. EOFError: no job."""
    text = _read_message(jobs_fd)
    if not text:
        return None
    bound, _, path = text.partition(b"\n")
    return os.fsdecode(path), int(bound)


def _write_message(descriptor: int, data: bytes | memoryview) -> None:
    for part in (len(data).to_bytes(_LENGTH_BYTES, "little"), data):
        view = memoryview(part).cast("B")
        while view:
            view = view[os.write(descriptor, view):]


def _read_message(descriptor: int) -> bytes:
    size = int.from_bytes(_read_exactly(descriptor, _LENGTH_BYTES), "little")
    return _read_exactly(descriptor, size)


def _read_exactly(descriptor: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(descriptor, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the job pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
