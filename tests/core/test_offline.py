"""Offline and private: ``analyze``, ``profile`` (ov:CPU and ort:cpu) and ``quantize`` run with
Python's network calls replaced by a guard (a sitecustomize.py on PYTHONPATH, so the worker
processes get it too) that records any attempt to reach an internet address and fails it.
No attempt may be recorded; OpenVINO's telemetry package is never imported; and custom-op
libraries are loaded only from an explicit user option (there is none yet: none are loaded).

The guard sees connections made through Python's socket module (where telemetry packages
and HTTP clients make them); AF_UNIX sockets (local IPC) are let through and not recorded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openvino as ov
import openvino.opset13 as ops
import pytest

from tests.conftest import REPO_ROOT
from tests.core import model_builders as mb

GUARD = '''
import os, socket, sys

_LOG = os.environ["EDGEPROF_NETWORK_LOG"]
_INTERNET = (socket.AF_INET, socket.AF_INET6)


def _record(kind, detail):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {kind} {detail!r}\\n")


def _blocked(kind, detail):
    _record(kind, detail)
    return OSError(f"network access blocked in this test ({kind})")


def _guard_method(name):
    original = getattr(socket.socket, name)

    def guarded(self, *args, **kwargs):
        if self.family in _INTERNET:
            raise _blocked(name, args[-1] if args else kwargs)
        return original(self, *args, **kwargs)

    setattr(socket.socket, name, guarded)


for _name in ("connect", "connect_ex", "sendto"):
    _guard_method(_name)


def _create_connection(address, *args, **kwargs):
    raise _blocked("create_connection", address)


def _getaddrinfo(host, *args, **kwargs):
    raise _blocked("getaddrinfo", host)


socket.create_connection = _create_connection
socket.getaddrinfo = _getaddrinfo


class _ImportWatch:
    """Sees a top-level import before it loads (a None entry in sys.modules, as
    profiler.offline leaves for openvino_telemetry, refuses it before any finder runs)."""

    def find_spec(self, name, path=None, target=None):
        if name in ("openvino", "openvino_telemetry"):
            _record("import", name)
        return None


sys.meta_path.insert(0, _ImportWatch())
_record("start", sys.argv[1:3])
'''
ATTEMPT_KINDS = ("connect", "connect_ex", "sendto", "create_connection", "getaddrinfo")


@pytest.fixture
def guarded(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment that loads the guard in every Python process, and its log."""
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "network.log"
    log.touch()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(guard_dir), str(REPO_ROOT)]),
           "EDGEPROF_NETWORK_LOG": str(log)}
    return env, log


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=600, check=False)


def _entries(log: Path) -> list[tuple[int, str, str]]:
    lines = log.read_text(encoding="utf-8").splitlines()
    return [(int(pid), kind, detail) for pid, kind, detail in (ln.split(" ", 2) for ln in lines)]


def _attempts(log: Path) -> list[tuple[int, str, str]]:
    return [entry for entry in _entries(log) if entry[1] in ATTEMPT_KINDS]


def _kinds(log: Path, kind: str) -> list[str]:
    return [detail for _, found, detail in _entries(log) if found == kind]


def test_the_guard_records_and_blocks_a_connection(guarded: tuple[dict[str, str], Path]) -> None:
    """Control: an attempt is seen (so an empty log means none was made)."""
    env, log = guarded
    code = ("import socket, urllib.request\n"
            "for attempt in (lambda: socket.create_connection(('192.0.2.1', 9), timeout=1),\n"
            "                lambda: urllib.request.urlopen('http://host.invalid/', timeout=1),\n"
            "                lambda: socket.getaddrinfo('host.invalid', 80),\n"
            "                lambda: socket.socket().connect(('192.0.2.1', 9))):\n"
            "    try:\n"
            "        attempt()\n"
            "    except OSError:\n"
            "        pass\n")
    result = _run(env, "-c", code)
    assert result.returncode == 0, result.stderr
    kinds = [kind for _, kind, _ in _attempts(log)]
    assert kinds == ["create_connection", "create_connection", "getaddrinfo", "connect"]


def test_plain_openvino_import_would_load_telemetry(guarded: tuple[dict[str, str], Path]) -> None:
    """Control: without profiler.offline, OpenVINO pulls its telemetry package in."""
    env, log = guarded
    result = _run(env, "-c", "import openvino")
    assert result.returncode == 0, result.stderr
    assert _kinds(log, "import") == ["'openvino'", "'openvino_telemetry'"]


def _ir(folder: Path) -> str:
    x = ops.parameter([1, 8], ov.Type.f32, name="x")
    model = ov.Model([ops.result(ops.relu(x), name="y")], [x], "m")
    ov.save_model(model, str(folder / "m.xml"))
    return str(folder / "m.xml")


def test_analyze_and_profile_make_no_connection(tmp_path: Path,
                                                guarded: tuple[dict[str, str], Path]) -> None:
    env, log = guarded
    onnx_model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    commands = [
        ["analyze", _ir(tmp_path), "-o", str(tmp_path / "ir.json")],
        ["analyze", onnx_model, "-o", str(tmp_path / "onnx.json")],
        ["profile", onnx_model, "--device", "ov:CPU", "--device", "ort:cpu", "--iterations",
         "3", "-o", str(tmp_path / "profile.json")],
    ]
    for command in commands:
        result = _run(env, "-m", "profiler", *command)
        assert result.returncode == 0, (command, result.stderr)
    assert _attempts(log) == []
    # 3 command lines + one worker per device: every process loaded the guard
    assert len(_kinds(log, "start")) == 5, log.read_text()
    imports = _kinds(log, "import")
    assert imports.count("'openvino'") >= 3  # IR analysis, profile CLI, ov:CPU worker
    assert "'openvino_telemetry'" not in imports
    runs = json.loads((tmp_path / "profile.json").read_text(encoding="utf-8"))["runs"]
    assert [run["error"] for run in runs] == [None, None]


def _quantize_available(env: dict[str, str]) -> bool:
    result = _run(env, "-m", "profiler", "--help")
    return re.search(r"^\s+quantize\s", result.stdout, flags=re.M) is not None


def test_quantize_makes_no_connection(tmp_path: Path,
                                      guarded: tuple[dict[str, str], Path]) -> None:
    env, log = guarded
    if not _quantize_available(env):
        pytest.skip("edgeprof-cli has no quantize command yet")
    model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    result = _run(env, "-m", "profiler", "quantize", model, "--variants",
                  "fp16,int8-dynamic,ov-int8", "--device", "ort:cpu", "--device", "ov:CPU",
                  "--iterations", "3", "--samples", "4", "-o", str(tmp_path / "q.json"))
    assert result.returncode == 0, result.stderr
    assert _attempts(log) == []
    assert len(_kinds(log, "start")) >= 5  # the command line and a worker per measurement
    assert "'openvino_telemetry'" not in _kinds(log, "import")
    report = json.loads((tmp_path / "q.json").read_text(encoding="utf-8"))
    built = {variant["id"]: variant["error"] for variant in report["variants"]}
    assert built == {"fp32": "", "fp16": "", "int8-dynamic": "", "ov-int8": ""}
    assert [run["error"] for run in report["runs"]] == [None] * 5


# --- custom-op libraries ---------------------------------------------------------------------

CUSTOM_OP_CALLS = re.compile(r"register_custom_ops_library|add_extension|"
                             r"enable_onnxruntime_extensions|load_extension")


def test_no_custom_op_library_is_loaded_implicitly() -> None:
    """Loading a custom-op library runs its native code: only an explicit user option may do
    it. The profiler has no such option yet, so no call may exist anywhere in the core."""
    offenders = []
    for path in sorted((REPO_ROOT / "profiler").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CUSTOM_OP_CALLS.search(line):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == []
