"""The worker as a board runs it: ``python -m profiler.remote.board_worker``.

The same worker as a local device's (profiler.bench.worker), with one guard more. On a
board the worker's parent is the SSH server's session process; when the connection drops
(board-side sshd killed, link lost, host process killed), that process goes away and nothing
tells the worker: no terminal, so no SIGHUP, and its stdin was already closed after the
request (end of input is part of the protocol, so it cannot mean "the host left"). The worker
asks the kernel to kill it with its parent (Linux, PR_SET_PDEATHSIG), which covers a worker
started directly by sshd; a login shell that does not exec its command would sit between
them, so a watchdog thread also checks the parent pid and, once it changes, kills the
worker's whole process group: nothing it started keeps running on the board.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PARENT_POLL_S = 0.2


def own_process_group() -> bool:
    """Lead a process group of our own (sshd already made us a session leader, or we become
    one here), so the guard's kill reaches our children and nothing of the login's."""
    if os.getpgrp() == os.getpid():
        return True
    try:
        os.setpgid(0, 0)
    except OSError:
        return False
    return True


def end_everything(leader: bool) -> None:
    if leader:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def watch_parent(parent_pid: int, leader: bool, poll_s: float = PARENT_POLL_S) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    end_everything(leader)


def start_guard() -> threading.Thread:
    guard = threading.Thread(target=watch_parent, args=(os.getppid(), own_process_group()),
                             daemon=True, name="parent-guard")
    guard.start()
    return guard


def main() -> int:
    start_guard()
    from profiler.bench.worker import main as worker_main

    return worker_main()


if __name__ == "__main__":
    sys.exit(main())
