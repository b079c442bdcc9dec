"""The sandboxed child's side of profiler.sandbox: what runs in the child, and the format
of its messages.

A child (forked by profiler.sandbox, or ahead of its job by profiler.prestart) hardens itself
(``_harden``: parent-death signal, no core dumps, first for the out-of-memory killer, empty
user and network namespaces), runs its one function and sends back its answer or its error
as data, then leaves without clean-up. While it runs, ``stage`` names the native stage
starting, so a crash names it. Answers are pickled with numpy arrays as dtype, shape and
bytes (``rebuilt_array`` rebuilds and checks them in the parent). The parent's side (starting
and watching children, enforcing limits, reading answers with an allow-list) is
profiler.sandbox, which the child never needs: a loader marking its stages imports only this.
"""

from __future__ import annotations

import contextlib
import copyreg
import faulthandler
import gc
import importlib
import io
import math
import os
import pickle
import resource
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from profiler.errors import ProfilerError

DEFAULT_STAGE = "model loader"
ARRAY_KINDS = "biufc"
"""numpy dtype kinds an array in the answer may have: bool, integers, floats, complex."""
MAX_ARRAY_DIMS = 32
_PR_SET_PDEATHSIG = 1
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000


class MessageChannel(Protocol):
    """One end of a pipe of messages: multiprocessing's Connection, or profiler.prestart's
    MessagePipe (which spares the prestarted child the import of multiprocessing)."""

    def send_bytes(self, data: bytes | memoryview, /) -> None: ...
    def recv_bytes(self) -> bytes: ...
    def poll(self, timeout: float, /) -> bool: ...
    def close(self) -> None: ...


_channel: MessageChannel | None = None
_network_isolated = False


def in_child() -> bool:
    """True inside a sandboxed child: nested calls run in place."""
    return _channel is not None


def network_isolated() -> bool:
    """In a child: whether the network namespaces applied (else only Python sockets are off)."""
    return _network_isolated


def stage(name: str) -> None:
    """Tell the parent which native stage starts ('ONNX shape inference'): a crash names it."""
    if _channel is not None:
        _send(_channel, {"stage": name})


def _send(channel: MessageChannel, message: dict[str, Any]) -> None:
    channel.send_bytes(pickled_part(message))  # arrays go as dtype, shape and bytes


def _reduced_array(array: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    contiguous = array if array.flags.c_contiguous else array.copy(order="C")
    return rebuilt_array, (contiguous.dtype.str, contiguous.shape,
                           pickle.PickleBuffer(contiguous))


def rebuilt_array(dtype_text: Any, shape: Any, data: Any) -> Any:
    """A numpy array from the child's answer: a plain dtype (no objects, fields or
    sub-arrays), a shape of non-negative sizes and exactly the bytes they need; else refused."""
    import numpy

    try:
        plain = isinstance(dtype_text, str) and len(dtype_text) <= 16
        dtype = numpy.dtype(dtype_text if plain else "O")
    except (TypeError, ValueError):
        dtype = numpy.dtype("O")
    if dtype.kind not in ARRAY_KINDS or dtype.fields or dtype.subdtype:
        raise pickle.UnpicklingError(f"array of dtype {dtype_text!r} is not a plain array")
    if not (isinstance(shape, tuple) and len(shape) <= MAX_ARRAY_DIMS and
            all(type(size) is int and size >= 0 for size in shape)):
        raise pickle.UnpicklingError("an array shape that is not a tuple of sizes")
    if not isinstance(data, (bytes, bytearray)) or len(data) != math.prod(shape) * dtype.itemsize:
        raise pickle.UnpicklingError("an array whose bytes do not match its shape")
    buffer = data if isinstance(data, bytearray) else bytearray(data)  # a writable array
    return numpy.frombuffer(buffer, dtype).reshape(shape)


def pickled_part(value: Any) -> bytes:
    """In a child: ``value`` pickled on its own, for ``unpickled_part`` in the parent. A large
    answer sent as several parts is unpickled one part at a time, and the C unpickler holds
    the GIL only that long (the app's GUI thread waits on it otherwise)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        pickler.dispatch_table = {**copyreg.dispatch_table, numpy.ndarray: _reduced_array}
    pickler.dump(value)
    return buffer.getvalue()


def _child_main(channel: MessageChannel, function: Callable[..., Any], args: Sequence[Any]) -> None:
    global _channel
    _channel = channel
    _harden()
    try:
        result = function(*args)
    except BaseException as error:  # everything goes back as data; the parent raises it
        if not isinstance(error, ProfilerError):  # a bug: its traceback for the debug log
            import logging

            logging.getLogger(__name__).debug("in the sandboxed child", exc_info=error)
        _send(channel, {"error": _error_record(error)})
        _leave()
    _send(channel, {"result": result})
    _leave()


def serve_prestarted(reader: threading.Thread, job: list[bytes], channel: MessageChannel,
                     preload: Sequence[str]) -> None:
    """The prestarted child (profiler.prestart): import ``preload`` while ``reader`` receives
    the job (and reads its file ahead), then run the job as any sandboxed child. The job
    comes from our own parent (a plain unpickle); none (the parent ended, or had no file for
    it) ends the child quietly."""
    for name in preload:
        with contextlib.suppress(ImportError):  # the job imports what it needs anyway
            importlib.import_module(name)
    gc.freeze()  # what the imports made lives as long as this child: never collect it (the
    gc.enable()  # first collection after the imports would walk it all, 8 ms)
    reader.join()  # one thread again before _harden (a threaded process cannot unshare)
    if not job:
        _leave()
    function, args = pickle.loads(job[0])
    _child_main(channel, function, args)


def _leave() -> None:
    """Exit at once: the answer is sent, and the inherited interpreter needs no clean-up."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _harden() -> None:
    global _network_isolated
    import ctypes  # here: only the child needs it

    faulthandler.disable()  # a crash is reported by the parent as one line, not a dump
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as handle:
        handle.write("1000")
    _wait_for_one_thread()
    _network_isolated = libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0
    if not _network_isolated:
        _disable_python_sockets()


def _wait_for_one_thread(limit_s: float = 0.2) -> None:
    """The kernel refuses a new user namespace to a process of two threads, and a thread
    that ``join()`` has returned for may still be leaving for a moment (the prestarted
    child's job reader): wait until it is gone, at most ``limit_s``."""
    import time

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if len(os.listdir("/proc/self/task")) <= 1:
                return
        except OSError:  # no /proc: nothing to wait for here
            return
        time.sleep(0.0005)


def _disable_python_sockets() -> None:
    import socket

    def refuse(*_: Any, **__: Any) -> Any:
        raise OSError("network access is disabled while reading an input file")

    socket.socket = refuse  # type: ignore[assignment,misc]
    socket.create_connection = refuse


def _error_record(error: BaseException) -> dict[str, Any]:
    attributes = {k: v for k, v in vars(error).items() if isinstance(v, (str, int, float))}
    return {"module": type(error).__module__, "type": type(error).__qualname__,
            "message": str(error), "attributes": attributes}


@contextlib.contextmanager
def staged(name: str) -> Iterator[None]:
    """``with staged('OpenVINO reader'):`` marks a stage and returns to the loader's after."""
    stage(name)
    try:
        yield
    finally:
        stage(DEFAULT_STAGE)
