"""The transport to a target: the system OpenSSH client (``ssh``) run as a subprocess.

Why the system client and not an SSH library: it honours the user's ``~/.ssh/config`` (host
aliases, ProxyJump, ports, per-host keys), the agent and known_hosts exactly as their own
``ssh`` does, so a board that answers ``ssh pi5`` answers here too, and no key or password
ever passes through this program. The options we add:

- ``BatchMode=yes``: never prompt (no password, no passphrase, no "are you sure?"); a login
  that would need one fails with a reason instead of hanging a GUI or a sweep;
- ``StrictHostKeyChecking=yes``: the host key must already be in known_hosts; a target's
  ``accept_new_host_key = true`` (the user's explicit choice) maps to ``accept-new``, which
  records an unknown key but still refuses a changed one;
- ``ServerAliveInterval=5``, ``ServerAliveCountMax=3``: a dropped link (board rebooted,
  cable pulled) is noticed within about 15 s instead of TCP's minutes;
- ``ConnectTimeout``: an unreachable host fails in seconds.

No connection sharing (OpenSSH ControlMaster): every command opens its own connection.
Sharing would cut the start of a remote run (benchmarks/remote_overhead.py on the loopback:
one ``ssh board true`` 370-500 ms, over a shared connection 135-220 ms; a run opens two, a cache
lookup and the worker, so about 0.5 s of a 3 s run), but the worker's life is tied to its
connection: when the host stops a run (cancel, timeout, a killed CLI), ending the ssh client
ends the board's session process, and the worker ends with it (profiler.remote.board_worker).
Through a shared connection the session process lives on with the master, so a cancelled
worker would keep running until its next write; the master would also outlive the command
(ControlPersist) and one cut master would fail every run sharing it. Measurement time dwarfs
the half second; a board left busy would falsify the next measurement.

The remote command is one string built with ``shlex.join`` (ssh hands it to the login shell
there), so arguments with spaces or quotes arrive intact. Failures become one plain sentence
(``RemoteError``): host key unknown or changed, connection refused, dropped, Python missing,
edge-model-profiler not installed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from typing import IO

from profiler.errors import ProfilerError
from profiler.remote.targets import Target

SSH_PROGRAM = "ssh"
CONNECT_TIMEOUT_S = 10
ALIVE_INTERVAL_S = 5
ALIVE_COUNT = 3
DEFAULT_COMMAND_TIMEOUT_S = 120.0
EXIT_SSH_FAILED = 255
"""ssh's own failures (connect, authenticate, link lost) exit 255."""
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
STDERR_TAIL_LINES = 20


class RemoteError(ProfilerError):
    """A target could not be reached or could not run what was asked; one plain reason."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(reason)
        self.target = target


def ssh_options(target: Target) -> list[str]:
    """Everything between ``ssh`` and the destination."""
    host_keys = "accept-new" if target.accept_new_host_key else "yes"
    options = ["-F", os.path.expanduser(target.ssh_config)] if target.ssh_config else []
    options += ["-T", "-o", "BatchMode=yes", "-o", f"StrictHostKeyChecking={host_keys}",
                "-o", f"ServerAliveInterval={ALIVE_INTERVAL_S}",
                "-o", f"ServerAliveCountMax={ALIVE_COUNT}",
                "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}"]
    if target.port is not None:
        options += ["-p", str(target.port)]
    if target.identity_file:
        options += ["-i", os.path.expanduser(target.identity_file)]
    return options


def _remote_word(word: str) -> str:
    """shlex.quote, except a leading '~/' stays unquoted so the board's shell expands it."""
    if word.startswith("~/") and len(word) > 2:
        return "~/" + shlex.quote(word[2:])
    return shlex.quote(word)


def remote_command(argv: Sequence[str]) -> str:
    """The command line the board's shell runs: each argument quoted (shlex.join), but a
    Python given as ``~/venv/bin/python`` still finds the home folder."""
    return " ".join(_remote_word(word) for word in argv)


def ssh_argv(target: Target, argv: Sequence[str]) -> list[str]:
    return [SSH_PROGRAM, *ssh_options(target), "--", target.destination, remote_command(argv)]


def python_argv(target: Target, *args: str) -> list[str]:
    """``PYTHON -m profiler ARGS`` as run on the target."""
    return [target.python, "-m", "profiler", *args]


def worker_argv(target: Target) -> list[str]:
    """The local command that runs a worker on the target: ssh carries the worker protocol's
    lines on its stdin/stdout, so the supervisor drives it as it drives a local worker. The
    board runs it under a guard that ends it with its connection (profiler.remote.board_worker)."""
    return ssh_argv(target, [target.python, "-m", "profiler.remote.board_worker"])


# the endpoint ssh will use (for messages) ---------------------------------------------------

def endpoint(target: Target) -> str:
    """'127.0.0.1:2222' as ssh resolves the destination (``ssh -G`` reads the config only,
    nothing is sent); the destination itself when that fails."""
    argv = [SSH_PROGRAM, *ssh_options(target), "-G", "--", target.destination]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return target.destination
    settings = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    host = settings.get("hostname", target.destination.rsplit("@", 1)[-1])
    return f"{host}:{settings.get('port', '22')}"


# failures -> one sentence ------------------------------------------------------------------

def _ssh_reason(target: Target, stderr: str) -> str:
    where = f"{target.name} ({endpoint(target)})"
    lowered = stderr.lower()
    if "remote host identification has changed" in lowered:
        return (f"host key of {where} has CHANGED since it was recorded in known_hosts: make "
                "sure the board was reinstalled, then remove the old key with ssh-keygen -R")
    if "host key verification failed" in lowered or "host key is known" in lowered:
        return (f"host key of {where} is not in known_hosts: connect once with ssh, or set "
                "accept_new_host_key")
    if "connection refused" in lowered:
        return f"connection refused by {where}: is the board on and its SSH server running?"
    if "could not resolve hostname" in lowered:
        return f"cannot resolve the host name of {where}: check the destination"
    if "timed out" in lowered and "connect" in lowered:
        return f"no answer from {where} within {CONNECT_TIMEOUT_S} s: is the board reachable?"
    if "permission denied" in lowered:
        return (f"{where} refused the login (permission denied): add your key to the board's "
                "authorized_keys (ssh-copy-id) or set identity_file")
    if any(word in lowered for word in ("closed by", "reset by", "broken pipe",
                                        "not responding", "connection closed")):
        return f"connection to {where} dropped"
    return f"ssh to {where} failed: {_last_line(stderr) or 'no reason given'}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def explain_failure(target: Target, code: int, stderr: str) -> str:
    """One sentence for a remote command that exited with ``code`` and said ``stderr``."""
    if code == EXIT_SSH_FAILED or code < 0:
        return _ssh_reason(target, stderr) if code > 0 else \
            f"connection to {target.name} was stopped"
    python = target.python
    if code == EXIT_NOT_FOUND:
        return f"{python} not found on {target.name}: set the target's python to one that exists"
    if code == EXIT_NOT_EXECUTABLE:
        return f"{python} on {target.name} cannot be run (not executable)"
    if "no module named profiler" in stderr.lower() or "no module named 'profiler" in stderr:
        return (f"edge-model-profiler is not installed in {target.name}'s Python ({python}): "
                "run `pip install edge-model-profiler` there")
    if "invalid choice" in stderr:
        return (f"the edge-model-profiler on {target.name} is too old for this one: upgrade "
                "it there (pip install -U edge-model-profiler)")
    detail = _last_line(stderr).removeprefix("edgeprof-cli: error: ")
    return f"{target.name}: command failed with exit code {code}: {detail or 'no message'}"


# running ------------------------------------------------------------------------------------

def run(target: Target, argv: Sequence[str], stdin: IO[bytes] | None = None,
        timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S) -> bytes:
    """Run ``argv`` on the target and return its stdout; RemoteError with the reason when it
    fails. ``stdin`` (an open binary file) is streamed to the command, never read whole."""
    try:
        done = subprocess.run(ssh_argv(target, argv), stdin=stdin or subprocess.DEVNULL,
                              capture_output=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise RemoteError(target.name, "the OpenSSH client (ssh) is not installed on this "
                          "machine: install it (package openssh-client)") from None
    except subprocess.TimeoutExpired:
        raise RemoteError(target.name, f"{target.name} did not answer within {timeout_s:g} s; "
                          "stopped") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        raise RemoteError(target.name, explain_failure(target, done.returncode, stderr))
    return done.stdout
