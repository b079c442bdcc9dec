"""Native code that parses an untrusted file runs in a child process, never in ours.

ONNX's parser and shape inference, OpenVINO's readers and frontends and Pillow's decoders are
C++/C code: a hostile file can crash them (a 119-byte GatherND with ``batch_dims=-7`` is a
segfault in ONNX shape inference). ``run_isolated`` runs a function in a child and returns
what it returned; a crash, a timeout or the memory cap becomes one ``ModelLoadError`` line
naming the file, the stage that was running (``stage()`` marks them) and the signal.

How the child starts: a plain ``fork`` when the caller is the only Python thread (the CLI:
the child inherits every import, so it costs a few milliseconds); otherwise a fork from
multiprocessing's fork server (the app, whose Qt threads make a plain fork unsafe), which
``start_helper`` starts once, with the analysis imports done, and which every file reuses.
A single-threaded caller that knows it will need a child soon (``edgeprof-cli analyze``)
forks it first with ``profiler.prestart``: the child imports the analysis stack while the
caller parses its arguments, on the other core; ``run_isolated`` then hands it the job.

This module is the parent's side: starting and watching children, the limits, and reading
their answers. What runs in the child (hardening, the function, its answer, ``stage``) is
``profiler.sandbox_child``, which a loader marking its stages imports without this module.

Limits in the child, and what is enforced:
- memory: the parent samples the child's resident set every POLL_S and kills it past the
  cap (the worker machinery's default: 80 % of the available RAM); the child offers itself
  first to the kernel's out-of-memory killer;
- time: the parent kills it after ``SandboxLimits.timeout_s``;
- parent death: the child gets SIGKILL when its parent exits (PR_SET_PDEATHSIG);
- network: the child moves into new, empty user and network namespaces (``unshare``, no
  privileges needed where the kernel allows unprivileged user namespaces): no interface but
  a downed loopback, so no connection leaves. Where the kernel refuses, Python's ``socket``
  is disabled in the child instead, which stops Python code only, not native code;
  ``network_isolated()`` in the child says which applied;
- no core dumps (RLIMIT_CORE 0). There is no system-call filter (seccomp): a child that
  native code took over can still read files the user can read; it cannot send them anywhere
  when the namespaces applied, and its answer is unpickled with an allow-list (plain data,
  the record dataclasses of profiler.records, numpy arrays of plain dtypes rebuilt from
  dtype, shape and bytes by ``rebuilt_array``), so it cannot run code in our process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import gc
import importlib
import io
import os
import pickle
import resource
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any, Protocol

from profiler import prestart
from profiler.errors import Cancelled, ModelLoadError, ProfilerError
from profiler.processes import default_memory_limit_bytes, signal_text
from profiler.records.record import record
from profiler.sandbox_child import (  # noqa: F401  (stage, network_isolated: named here too)
    DEFAULT_STAGE,
    MessageChannel,
    _child_main,
    in_child,
    network_isolated,
    rebuilt_array,
    stage,
)
from profiler.units import size_bytes

POLL_S = 0.05
CANCELLED = "cancelled"
DEFAULT_TIMEOUT_S = 300.0
JOIN_GRACE_S = 2.0
ALLOWED_MODULE_PREFIX = "profiler.records."
"""The only classes the child's answer may hold (besides plain data and plain arrays)."""
HELPER_PRELOAD = ("profiler.api", *prestart.ANALYSIS_PRELOAD)
"""Imported once in the fork server so each file's child starts warm."""


class CancelToken(Protocol):
    """Anything with ``is_set`` (a threading.Event): set, it stops the child."""

    def is_set(self) -> bool: ...


_helper_lock = threading.Lock()


@record
class SandboxLimits:
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_limit_bytes: int | None = field(default_factory=default_memory_limit_bytes)


class _RecordsUnpickler(pickle.Unpickler):
    """Reads the child's answer: plain data and the record dataclasses only. Any other class
    (the way a pickle runs code) is refused, so a child that a hostile file took over cannot
    run anything in this process."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (rebuilt_array.__module__, rebuilt_array.__name__):
            return rebuilt_array
        if module.startswith(ALLOWED_MODULE_PREFIX) and "." not in name:
            cls = getattr(importlib.import_module(module), name, None)
            if isinstance(cls, type) and (dataclasses.is_dataclass(cls) or
                                          issubclass(cls, enum.Enum)):
                return cls
        raise pickle.UnpicklingError(f"{module}.{name} is not a record type")


def _received(data: bytes) -> Any:
    return _RecordsUnpickler(io.BytesIO(data)).load()


def unpickled_part(data: Any) -> Any:
    """A part of a child's answer, read as the answer itself is: plain data and records only;
    ValueError for anything else."""
    if not isinstance(data, bytes):
        raise ValueError("a part of the answer is not bytes")
    try:
        return _received(data)
    except Exception as error:  # a damaged or hostile part: whatever the unpickler raised
        raise ValueError(f"a part of the answer is not plain data ({error})") from None


def run_isolated(function: Callable[..., Any], args: Sequence[Any], path: str,
                 limits: SandboxLimits | None = None, subject: str = "model",
                 cancel: CancelToken | None = None) -> Any:
    """``function(*args)`` in a sandboxed child; its result (plain data, records, plain
    arrays). Errors it raised are raised here (ProfilerError subclasses keep their type); a
    crash, timeout or memory overrun raises ModelLoadError naming ``path``, the stage and
    ("crashed on this image") the ``subject``. ``function`` must be a module-level function
    (the fork server imports it by name). A child forked ahead by profiler.prestart takes
    the job when there is one. Once ``cancel`` is set the child is killed (within POLL_S)
    and Cancelled raised."""
    if in_child():
        return function(*args)
    limits = limits or SandboxLimits()
    waiting = prestart.take()
    if waiting is not None:
        handed, result = _run_prestarted(waiting, (function, tuple(args)), path, limits,
                                         subject, cancel)
        if handed:
            return result
    import multiprocessing

    receiver, sender = multiprocessing.Pipe(duplex=False)
    process_type = _process_type(_start_method())
    process = process_type(target=_child_main, args=(sender, function, tuple(args)),
                           daemon=True)
    try:
        gc.freeze()  # the child's collections skip what it inherits: fewer copy-on-write faults
        process.start()
        sender.close()
        return _outcome(_Watch(process, receiver, limits, subject, cancel).wait(), path)
    finally:
        gc.unfreeze()
        receiver.close()
        _reap(process)


class _ForkedChild:
    """The few Process methods _Watch and _reap use, for a child forked by profiler.prestart
    (a plain os.fork, not a multiprocessing.Process)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exitcode: int | None = None

    def is_alive(self) -> bool:
        return self._poll() is None

    def kill(self) -> None:
        if self.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(0.005)

    def _poll(self) -> int | None:
        if self.exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: gone all the same
                self.exitcode = -signal.SIGKILL
                return self.exitcode
            if pid:
                self.exitcode = os.waitstatus_to_exitcode(status)
        return self.exitcode


def _run_prestarted(waiting: prestart.Waiting, job: tuple[Callable[..., Any], tuple[Any, ...]],
                    path: str, limits: SandboxLimits, subject: str,
                    cancel: CancelToken | None) -> tuple[bool, Any]:
    """(True, the result) from the prestarted child; (False, None) when it is gone before
    taking the job, so the caller forks a fresh one."""
    child = _ForkedChild(waiting.pid)
    receiver = prestart.MessagePipe(waiting.answers_fd)
    answered = False
    try:
        try:
            waiting.send_job(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return False, None
        ended = _Watch(child, receiver, limits, subject, cancel).wait()
        answered = ended.message is not None
        return True, _outcome(ended, path)
    finally:
        os.close(waiting.jobs_fd)
        receiver.close()  # closes the answers descriptor
        if answered:
            _reap_when_gone(child)
        else:
            _reap(child)


_answered_children: list[_ForkedChild] = []


def _reap_when_gone(child: _ForkedChild) -> None:
    """A child that has answered is leaving (os._exit) by itself: not waited for, as its
    exit takes milliseconds (the kernel frees its address space) that would delay the
    answer's use. It is reaped here once gone, at the next call, or by init after we exit."""
    _answered_children.append(child)
    _answered_children[:] = [c for c in _answered_children if c.is_alive()]


def _start_method() -> str:
    alone = threading.active_count() == 1
    return "fork" if alone and threading.current_thread() is threading.main_thread() else (
        "forkserver")


def _process_type(method: str) -> Any:
    import multiprocessing

    if method == "fork":
        return multiprocessing.get_context("fork").Process
    return _helper_process_type()


def _helper_popen(process_obj: Any) -> Any:
    """multiprocessing's fork-server start, less its re-run of the caller's ``__main__`` in
    each child (the function to run lives in this package: the main script is not needed)."""
    import io
    from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
    from multiprocessing.context import set_spawning_popen

    class Popen(popen_forkserver.Popen):
        def _launch(self, process_obj: Any) -> None:
            prep_data = spawn.get_preparation_data(process_obj._name)
            for key in ("init_main_from_path", "init_main_from_name"):
                prep_data.pop(key, None)
            buffer = io.BytesIO()
            set_spawning_popen(self)
            try:
                reduction.dump(prep_data, buffer)
                reduction.dump(process_obj, buffer)
            finally:
                set_spawning_popen(None)
            fds = self._fds  # type: ignore[attr-defined]  # set by its __init__
            self.sentinel, writer = forkserver.connect_to_new_process(fds)
            parent_writer = os.dup(writer)
            close_fds = util.close_fds  # type: ignore[attr-defined]
            self.finalizer = util.Finalize(self, close_fds, (parent_writer, self.sentinel))
            with open(writer, "wb", closefd=True) as handle:
                handle.write(buffer.getbuffer())
            self.pid = forkserver.read_signed(self.sentinel)

    return Popen(process_obj)


def _helper_process_type() -> type:
    """multiprocessing's ForkServerProcess started by ``_helper_popen``; made on first use
    (importing multiprocessing, 12 ms, is for the processes that fork children through it,
    not for the CLI, whose children are forked by profiler.prestart)."""
    made = globals().get("_HelperProcess")
    if made is not None:
        return made
    import multiprocessing.context

    class _HelperProcess(multiprocessing.context.ForkServerProcess):
        _start_method = "forkserver"

        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            return _helper_popen(process_obj)

    _HelperProcess.__qualname__ = "_HelperProcess"  # pickle finds it by this name
    globals()["_HelperProcess"] = _HelperProcess
    return _HelperProcess


def __getattr__(name: str) -> Any:
    """The fork server's child unpickles its process object by name: made on demand."""
    if name == "_HelperProcess":
        return _helper_process_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def start_helper() -> None:
    """Start the fork server (imports done) now, so the first file opens without waiting.
    For processes with threads (the app); the CLI forks directly."""
    import multiprocessing
    from multiprocessing import forkserver

    with _helper_lock:
        multiprocessing.get_context("forkserver").set_forkserver_preload(list(HELPER_PRELOAD))
        forkserver.ensure_running()


def _reap(process: Any) -> None:
    if process.pid is None:
        return
    process.join(JOIN_GRACE_S)
    if process.is_alive():
        process.kill()
        process.join()


@record
class _Ended:
    message: dict[str, Any] | None
    stage: str
    problem: str = ""


class _Watch:
    """Reads the child's messages until its answer, enforcing the time and memory limits."""

    def __init__(self, process: Any, receiver: MessageChannel, limits: SandboxLimits,
                 subject: str, cancel: CancelToken | None = None) -> None:
        self.process, self.receiver, self.limits = process, receiver, limits
        self.subject, self.cancel = subject, cancel
        self.stage = DEFAULT_STAGE
        self.started = time.monotonic()

    def wait(self) -> _Ended:
        while True:
            if self.receiver.poll(POLL_S):
                try:
                    message = _received(self.receiver.recv_bytes())
                except Exception:  # EOF, or an answer that is not plain data and records
                    return self._died()
                if isinstance(message, dict) and isinstance(message.get("stage"), str):
                    self.stage = message["stage"]
                    continue
                return _Ended(message if isinstance(message, dict) else None, self.stage)
            problem = CANCELLED if self.cancel is not None and self.cancel.is_set() else (
                self._over_limits())
            if problem:
                self.process.kill()
                return _Ended(None, self.stage, problem)

    def _died(self) -> _Ended:
        self.process.join(JOIN_GRACE_S)
        code = self.process.exitcode
        if code is not None and code < 0:
            return _Ended(None, self.stage,
                          f"crashed on this {self.subject} ({signal_text(-code)})")
        return _Ended(None, self.stage, f"ended without an answer (exit code {code})")

    def _over_limits(self) -> str:
        if time.monotonic() - self.started > self.limits.timeout_s:
            return f"did not finish within {self.limits.timeout_s:g} s; stopped"
        cap = self.limits.memory_limit_bytes
        if cap is not None and _rss_bytes(self.process.pid) > cap:
            return f"exceeded the memory limit of {size_bytes(cap)}; stopped"
        return ""


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _outcome(ended: _Ended, path: str) -> Any:
    message = ended.message
    if ended.problem == CANCELLED:
        raise Cancelled(f"{path}: stopped as asked")
    if message is None:
        raise ModelLoadError(path, f"the {ended.stage} {ended.problem}; the file is malformed "
                             "or hostile (nothing else was affected)")
    if "error" in message:
        raise _rebuilt(message["error"])
    return message.get("result")


def _rebuilt(record: Any) -> BaseException:
    """The child's exception as one of ours (same type and fields); anything else becomes a
    RuntimeError with the same text. Only classes of this package are rebuilt."""
    record = record if isinstance(record, dict) else {}
    message = str(record.get("message", "unknown error"))
    cls = _profiler_class(str(record.get("module", "")), str(record.get("type", "")))
    if cls is None:
        return RuntimeError(f"{record.get('type', 'Error')}: {message}")
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    attributes = record.get("attributes")
    for key, value in (attributes.items() if isinstance(attributes, dict) else ()):
        if isinstance(key, str) and isinstance(value, (str, int, float)):
            setattr(error, key, value)
    return error


def _profiler_class(module: str, name: str) -> type[ProfilerError] | None:
    if not (module == "profiler" or module.startswith("profiler.")) or "." in name:
        return None
    try:
        cls = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return cls if isinstance(cls, type) and issubclass(cls, ProfilerError) else None
