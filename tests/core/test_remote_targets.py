"""Targets file, device ids with a target prefix, the remote command line, ssh failures as
plain reasons, and the board's model cache: everything of remote targets that needs no SSH
server (the loopback-sshd tests are in test_remote_ssh.py)."""

from __future__ import annotations

import hashlib
import io
import shlex
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.errors import UsageError
from profiler.remote import board
from profiler.remote.ssh import explain_failure, remote_command, ssh_options
from profiler.remote.targets import (
    Target,
    TargetConfigError,
    dump_targets,
    get_target,
    load_targets,
    save_targets,
)
from profiler.runtime.devices import device_backend, split_target, target_device_id


@pytest.fixture(autouse=True)
def _config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_targets_round_trip_through_the_file(tmp_path: Path) -> None:
    targets = {
        "pi5": Target("pi5", "pi@pi5.local", port=2222, identity_file="~/.ssh/pi 5",
                      python='/opt/"venv"/bin/python', accept_new_host_key=True),
        "jetson": Target("jetson", "lab-jetson"),
    }
    path = save_targets(targets)
    assert path == str(tmp_path / "config" / "edgeprof" / "targets.toml")
    assert load_targets() == targets
    assert "password" not in dump_targets(targets)


@pytest.mark.parametrize(("text", "field"), [
    ("[targets.pi5]\nport = 22\n", "targets.pi5.destination"),
    ("[targets.pi5]\ndestination = 'pi'\nport = 70000\n", "targets.pi5.port"),
    ("[targets.pi5]\ndestination = 'pi'\nport = true\n", "targets.pi5.port"),
    ("[targets.pi5]\ndestination = '-oProxyCommand=x'\n", "targets.pi5.destination"),
    ("[targets.pi5]\ndestination = 'pi'\npassword = 'x'\n", "targets.pi5.password"),
    ("[targets.pi5]\ndestination = 'pi'\naccept_new_host_key = 'yes'\n",
     "targets.pi5.accept_new_host_key"),
    ("[targets.pi5]\ndestination = 'pi'\ncache_bytes = 10\n", "targets.pi5.cache_bytes"),
    ("[targets.pi5\n", "not valid TOML"),
])
def test_a_bad_targets_file_names_the_file_and_the_field(text: str, field: str) -> None:
    path = Path(save_targets({}))
    path.write_text(text)
    with pytest.raises(TargetConfigError) as caught:
        load_targets()
    message = str(caught.value)
    assert message.startswith(str(path)) and field in message and "\n" not in message


def test_an_unknown_target_lists_the_known_ones() -> None:
    save_targets({"pi5": Target("pi5", "pi@pi5")})
    with pytest.raises(TargetConfigError, match=r"no target named 'jetson' \(known: pi5\)"):
        get_target("jetson")


def test_cli_adds_lists_and_removes_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "add", "pi5", "pi@pi5.local", "--port", "2222",
                 "--cache-size", "512M"]) == 0
    assert load_targets()["pi5"].cache_bytes == 512 * 1024**2
    assert main(["targets", "list"]) == 0
    assert "pi@pi5.local" in capsys.readouterr().out
    assert main(["targets", "add", "bad/name", "x"]) == 2
    assert "not a usable target name" in capsys.readouterr().err
    assert main(["targets", "remove", "pi5"]) == 0
    assert load_targets() == {}
    assert main(["targets", "remove", "pi5"]) == 2


def test_device_ids_carry_the_target_as_a_prefix() -> None:
    assert split_target("pi5/ov:CPU") == ("pi5", "ov:CPU")
    assert split_target("ov:CPU") == ("", "ov:CPU")
    assert split_target("ort:openvino:NPU") == ("", "ort:openvino:NPU")
    assert target_device_id("pi5", "ort:cpu") == "pi5/ort:cpu"
    assert device_backend("pi5/ov:CPU") == "openvino"
    assert device_backend("jetson/ort:cuda") == "onnxruntime"


def test_the_remote_command_is_quoted_but_keeps_the_home_folder() -> None:
    argv = ["~/venv/bin/python", "-m", "profiler", "a b", "it's", "$(reboot)"]
    command = remote_command(argv)
    assert command.startswith("~/")
    assert shlex.split(command) == argv  # one word each, nothing for the shell to run


def test_host_keys_are_checked_unless_the_user_says_otherwise() -> None:
    strict = ssh_options(Target("pi5", "pi5"))
    assert "StrictHostKeyChecking=yes" in strict and "BatchMode=yes" in strict
    relaxed = ssh_options(Target("pi5", "pi5", accept_new_host_key=True))
    assert "StrictHostKeyChecking=accept-new" in relaxed


@pytest.mark.parametrize(("code", "stderr", "expected"), [
    (255, "No ED25519 host key is known for [x]:22 and you have requested strict checking.\n"
          "Host key verification failed.", "is not in known_hosts: connect once with ssh"),
    (255, "ssh: connect to host x port 22: Connection refused", "connection refused by pi5"),
    (255, "Timeout, server x not responding.", "connection to pi5 (127.0.0.1:1) dropped"),
    (255, "pi@x: Permission denied (publickey).", "refused the login"),
    (127, "bash: line 1: /opt/py: No such file or directory", "/opt/py not found on pi5"),
    (1, "/opt/py: No module named profiler", "edge-model-profiler is not installed in pi5's"),
    (2, "edgeprof-cli: error: argument COMMAND: invalid choice: 'remote-info'", "too old"),
])
def test_ssh_failures_become_plain_reasons(code: int, stderr: str, expected: str) -> None:
    target = Target("pi5", "pi@127.0.0.1", port=1, python="/opt/py")
    reason = explain_failure(target, code, stderr)
    assert expected in reason and "\n" not in reason


def _put(key: str, name: str, data: bytes, limit_bytes: int = 10**9) -> dict[str, object]:
    return board.put(key, name, hashlib.sha256(data).hexdigest(), limit_bytes, io.BytesIO(data))


def test_the_board_cache_stores_checked_files_and_evicts_the_least_recently_used() -> None:
    keys = [hashlib.sha256(bytes([i])).hexdigest() for i in range(3)]
    for key in keys[:2]:
        _put(key, "model.onnx", b"x" * 1000)
    assert board.lookup(keys[0], ["model.onnx", "sub/data.bin"])["missing"] == ["sub/data.bin"]
    answer = _put(keys[2], "model.onnx", b"y" * 1000, limit_bytes=2500)
    assert answer["evicted"] == [keys[1]]  # keys[0] was used more recently (lookup)
    assert board.lookup(keys[1], ["model.onnx"])["missing"] == ["model.onnx"]


def test_the_board_cache_refuses_damaged_copies_and_odd_names() -> None:
    key = hashlib.sha256(b"k").hexdigest()
    with pytest.raises(UsageError, match="arrived damaged"):
        board.put(key, "model.onnx", hashlib.sha256(b"other").hexdigest(), 10**9,
                  io.BytesIO(b"data"))
    assert board.lookup(key, ["model.onnx"])["missing"] == ["model.onnx"]
    for name in ("../evil", "/etc/passwd", "a/../../b", ".partial-1"):
        with pytest.raises(UsageError):
            board.lookup(key, [name])
    with pytest.raises(UsageError):
        board.lookup("../../etc", ["x"])
