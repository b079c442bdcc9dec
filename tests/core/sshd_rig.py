"""A real OpenSSH server on the loopback, and a "board" Python, for the remote-target tests.

``SshdRig`` starts ``/usr/sbin/sshd -D -e -f CONFIG`` as the current user, bound to
127.0.0.1 on a free port, with everything in a temporary folder: a throwaway ed25519 host
key, a user key and its authorized_keys, a PidFile, a known_hosts holding the host key, and
an ssh client config (host alias ``board``: port, IdentityFile, UserKnownHostsFile) that the
targets point at with ``ssh_config``. Nothing leaves the loopback; nothing in ~/.ssh is read
or written. ``StrictModes no`` because tmp folders are group/world readable; ``UsePAM no``
so no system login stack is involved; ``SetEnv XDG_CACHE_HOME`` keeps the board's model
cache in the temporary folder too.

The board: ``python -m venv --without-pip`` (a fraction of a second) plus one ``.pth`` file
that puts this checkout and this environment's site-packages on its path. It is a separate
interpreter prefix that runs this checkout's ``python -m profiler`` with the same runtimes,
without a second full install, and a test can break it (or make a broken one) without
touching the environment the tests run in.
"""

from __future__ import annotations

import getpass
import os
import shutil
import site
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from profiler.remote.targets import Target
from tests.conftest import REPO_ROOT

SSHD = "/usr/sbin/sshd"
START_TIMEOUT_S = 10.0
HOST_ALIAS = "board"


def missing_tools() -> str:
    """Why the rig cannot run here, or '' when it can."""
    if not os.path.exists(SSHD):
        return (f"{SSHD} not found: install openssh-server (make test does it when run as "
                "root with apt-get)")
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} not found: install openssh-client"
    return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgeprof-test",
                    "-f", str(path)], check=True, capture_output=True)
    return (path.with_suffix(".pub")).read_text().strip()


def make_board_python(folder: Path, working: bool = True, sitecustomize: str = "") -> Path:
    """A venv whose Python runs this checkout (``working``), or one without it.
    ``sitecustomize``: Python run at its start-up, after the paths are set (a board with an
    older protocol, or without a runtime; see ``PATCH_PROTOCOL`` and ``HIDE_MODULE``)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True,
                   capture_output=True)
    python = folder / "bin" / "python"
    if working or sitecustomize:
        purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                                  "print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
    if working:
        ours = site.getsitepackages()[0]
        Path(purelib, "edgeprof-checkout.pth").write_text(
            f"{REPO_ROOT}\nimport site; site.addsitedir({ours!r})\n")
    if sitecustomize:
        Path(purelib, "sitecustomize.py").write_text(sitecustomize)
    return python


PATCH_PROTOCOL = "import profiler.bench.wire as wire\nwire.PROTOCOL_VERSION = {version}\n"
"""A board speaking another worker protocol: ``PATCH_PROTOCOL.format(version=99)``."""
HIDE_MODULE = "import sys\nsys.modules[{name!r}] = None  # import {name} fails here\n"
"""A board without a runtime: ``HIDE_MODULE.format(name="onnxruntime")``."""


def board_processes(board: Path) -> list[psutil.Process]:
    """Processes running a Python of the board venv ``board`` (pgrep by the venv's path)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if cmdline and cmdline[0].startswith(str(board)):
            found.append(process)
    return found


class SshdRig:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.user = getpass.getuser()
        self.host_key_pub = _keygen(root / "host_ed25519")
        (root / "authorized_keys").write_text(_keygen(root / "user_ed25519") + "\n")
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {self.host_key_pub}\n")
        self.board_cache = root / "board-cache"
        self.config = root / "sshd_config"
        self.config.write_text(self._sshd_config())
        self.ssh_config = self.client_config(self.known_hosts)
        self.board_python = make_board_python(root / "board")
        self.log = root / "sshd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _sshd_config(self) -> str:
        return "\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1",
            f"HostKey {self.root / 'host_ed25519'}", f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}", "StrictModes no",
            "UsePAM no", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            f"AllowUsers {self.user}", f"SetEnv XDG_CACHE_HOME={self.board_cache}", "",
        ])

    def client_config(self, known_hosts: Path, name: str = "ssh_config") -> Path:
        """An ssh client config for alias ``board`` that trusts the keys in ``known_hosts``."""
        path = self.root / name
        path.write_text("\n".join([
            f"Host {HOST_ALIAS}", "  HostName 127.0.0.1", f"  Port {self.port}",
            f"  User {self.user}", f"  IdentityFile {self.root / 'user_ed25519'}",
            "  IdentitiesOnly yes", "  IdentityAgent none",
            f"  UserKnownHostsFile {known_hosts}", "  GlobalKnownHostsFile /dev/null", "",
        ]))
        return path

    def target(self, name: str = "board", **overrides: object) -> Target:
        fields: dict[str, object] = {"destination": HOST_ALIAS, "ssh_config": str(
            self.ssh_config), "python": str(self.board_python)}
        fields.update(overrides)
        return Target(name=name, **fields)  # type: ignore[arg-type]

    def start(self) -> None:
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited at start: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd did not listen within {START_TIMEOUT_S} s")

    def drop_connections(self) -> int:
        """Kill the sshd processes serving the open connections (as a crash or a cut link
        would end them); the listener stays. Returns how many were killed."""
        if self.process is None:
            return 0
        sessions = psutil.Process(self.process.pid).children(recursive=False)
        for session in sessions:
            try:
                session.kill()
            except psutil.NoSuchProcess:
                continue
        return len(sessions)

    def stop(self) -> None:
        """Stop the server we started (by its own process id) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
