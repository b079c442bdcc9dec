"""Remote targets through a real OpenSSH server on 127.0.0.1 (see sshd_rig): devices of a
board, the model cache (copied once per content hash), and the faults a user meets (unknown
host key, connection refused, no such Python, edge-model-profiler not installed, an old board
protocol). Skipped with the reason when sshd is not installed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.remote import ssh
from profiler.remote.board import BOARD_PROTOCOL
from profiler.remote.cache import ensure_model
from profiler.remote.devices import board_info
from profiler.remote.ssh import RemoteError
from profiler.remote.targets import save_targets
from tests.core.model_builders import matmul_chain, save
from tests.core.sshd_rig import SshdRig, free_port, make_board_python, missing_tools

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=missing_tools() or "ok")


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_commands_run_on_the_board_with_arguments_intact(rig: SshdRig) -> None:
    output = ssh.run(rig.target(), ["printf", "%s|", "a b", "it's", "$HOME", ";reboot"])
    assert output == b"a b|it's|$HOME|;reboot|"


def test_devices_of_a_target_carry_its_name(rig: SshdRig,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    save_targets({"pi5": rig.target("pi5")})
    assert main(["devices", "--target", "pi5", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    ids = [device["id"] for device in listed["devices"]]
    assert "pi5/ort:cpu" in ids and all(i.startswith("pi5/") for i in ids)
    assert listed["environment"]["cpu"]["architecture"]
    assert main(["devices", "--target", "pi5"]) == 0
    table = capsys.readouterr().out
    assert "pi5/ort:cpu" in table and "ISA:" in table and "runtimes:" in table


def test_check_reports_versions_and_protocols(rig: SshdRig,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    save_targets({"pi5": rig.target("pi5")})
    assert main(["targets", "check", "pi5"]) == 0
    out = capsys.readouterr().out
    assert f"reachable at 127.0.0.1:{rig.port}" in out
    assert f"board protocol {BOARD_PROTOCOL}" in out and "onnxruntime" in out


def test_a_model_is_copied_once_per_content_hash(rig: SshdRig, tmp_path: Path) -> None:
    model = Path(save(matmul_chain(), tmp_path / "m.onnx"))
    first = ensure_model(rig.target(), str(model), companions=[])
    assert first.copied_bytes == model.stat().st_size and first.key == _sha256(model)
    stored = Path(first.path)  # the board is this machine: its file can be read back
    assert stored.is_relative_to(rig.board_cache) and _sha256(stored) == first.key
    again = ensure_model(rig.target(), str(model), companions=[])
    assert again.copied_bytes == 0 and again.path == first.path


def test_companion_files_travel_with_the_model(rig: SshdRig, tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    model = Path(save(matmul_chain(), tmp_path / "ext.onnx", external=True,
                      location="weights/w.bin"))
    remote = ensure_model(rig.target(), str(model))
    stored = Path(remote.path)
    assert _sha256(stored.parent / "weights" / "w.bin") == \
        _sha256(tmp_path / "weights" / "w.bin")
    assert remote.key != _sha256(model)  # the key covers the weights too


def test_the_worker_protocol_rides_on_ssh(rig: SshdRig, tmp_path: Path) -> None:
    from profiler.bench.protocol import StopRule
    from profiler.bench.requests import MeasureRequest, MeasureSettings
    from profiler.bench.supervisor import Limits, run_job

    target = rig.target()
    remote = ensure_model(target, save(matmul_chain(), tmp_path / "m.onnx"), companions=[])
    request = MeasureRequest(model_path=remote.path, device="ort:cpu", settings=MeasureSettings(
        stop=StopRule(iterations=20), layers=False))
    # the local memory watchdog would see only the ssh client: the worker reports its own RSS
    run = run_job(request, worker_argv=ssh.worker_argv(target),
                  limits=Limits(memory_limit_bytes=None))
    assert run.error is None and run.latency is not None and len(run.latency.samples_ms) == 20


# faults ---------------------------------------------------------------------------------------

def test_an_unknown_host_key_is_refused_unless_the_user_accepts_new_keys(
        rig: SshdRig, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = rig.client_config(empty, name="ssh_config_unknown")
    with pytest.raises(RemoteError, match=rf"host key of board \(127\.0\.0\.1:{rig.port}\) "
                                          "is not in known_hosts"):
        ssh.run(rig.target(ssh_config=str(config)), ["true"])
    assert empty.read_text() == ""
    ssh.run(rig.target(ssh_config=str(config), accept_new_host_key=True), ["true"])
    assert rig.host_key_pub.split()[1] in empty.read_text()


def test_a_stopped_server_is_connection_refused(rig: SshdRig) -> None:
    rig.stop()
    try:
        with pytest.raises(RemoteError, match="connection refused by board"):
            ssh.run(rig.target(), ["true"])
    finally:
        rig.start()
    with pytest.raises(RemoteError, match="connection refused"):
        ssh.run(rig.target(port=free_port()), ["true"])  # -p wins over the config's Port


def test_a_missing_python_is_named(rig: SshdRig) -> None:
    with pytest.raises(RemoteError, match="/nowhere/python3 not found on board"):
        board_info(rig.target(python="/nowhere/python3"))


def test_a_board_python_without_the_profiler_says_not_installed(
        rig: SshdRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = make_board_python(tmp_path / "broken", working=False)
    save_targets({"pi5": rig.target("pi5", python=str(broken))})
    assert main(["targets", "check", "pi5"]) == 1
    error = capsys.readouterr().err.strip()
    assert "edge-model-profiler is not installed in pi5's Python" in error
    assert error.count("\n") == 0 and "Traceback" not in error


def test_an_old_board_protocol_is_refused_with_both_versions(rig: SshdRig,
                                                             tmp_path: Path) -> None:
    old_board = tmp_path / "old-python"
    old_board.write_text("#!/bin/sh\necho '{\"version\": \"0.0.1\", \"board_protocol\": 0}'\n")
    os.chmod(old_board, 0o755)
    with pytest.raises(RemoteError, match=r"board protocol 0.*install the same version there"):
        board_info(rig.target(python=str(old_board)))
