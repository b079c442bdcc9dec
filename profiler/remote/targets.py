"""Targets: the boards a user measures on, declared in ``$XDG_CONFIG_HOME/edgeprof/targets.toml``.

One table per target::

    [targets.pi5]
    destination = "pi@pi5.local"   # as OpenSSH understands it: user@host or a ~/.ssh/config alias
    port = 2222                    # optional; otherwise ssh's own config decides
    identity_file = "~/.ssh/pi5"   # optional; otherwise the agent and ssh's config
    python = "python3"             # the interpreter on the board that has edge-model-profiler
    accept_new_host_key = false    # true lets ssh record an unknown host key on first connect
    cache_bytes = 2147483648       # bound of the model cache on the board
    ssh_config = "~/.ssh/lab"      # optional: a client config used instead of ~/.ssh/config

No password or key is ever stored: authentication is OpenSSH's (keys, agent, config).
The file is read with tomllib and written by ``dump_targets`` (flat string/int/bool values).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import fields
from typing import Any

from profiler.errors import UsageError
from profiler.records.record import record

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib

DEFAULT_PYTHON = "python3"
DEFAULT_CACHE_BYTES = 2 * 1024**3
MIN_CACHE_BYTES = 1024**2
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
"""Target names: a bare TOML key and never ambiguous in a device id ('pi5/ov:CPU')."""
_UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f]")


class TargetConfigError(UsageError):
    """The targets file or a target's value is not usable; the message names file and field."""


@record
class Target:
    name: str
    destination: str
    """user@host, host, or a host alias of the user's ssh config."""
    port: int | None = None
    identity_file: str | None = None
    python: str = DEFAULT_PYTHON
    accept_new_host_key: bool = False
    cache_bytes: int = DEFAULT_CACHE_BYTES
    ssh_config: str | None = None


def targets_path() -> str:
    """$XDG_CONFIG_HOME/edgeprof/targets.toml (XDG default: ~/.config)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "edgeprof", "targets.toml")


# validation ----------------------------------------------------------------------------------

def _text(where: str, value: Any, forbid_dash: bool = False) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TargetConfigError(f"{where}: expected a non-empty string, got {value!r}")
    if _UNSAFE_TEXT.search(value):
        raise TargetConfigError(f"{where}: control characters are not allowed")
    if forbid_dash and (value.startswith("-") or re.search(r"\s", value)):
        raise TargetConfigError(f"{where}: {value!r} must not start with '-' or contain spaces")
    return value


def _integer(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TargetConfigError(f"{where}: expected a whole number {low}..{high}, got {value!r}")
    return value


def check_name(name: str, where: str = "target name") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise TargetConfigError(
            f"{where}: {name!r} is not a usable target name; use letters, digits, '-' and "
            "'_' (up to 40, starting with a letter or digit)")
    return name


def target_from_table(name: str, table: Any, where: str) -> Target:
    """A Target from one TOML table; errors say ``where`` (file) and the field."""
    check_name(name, f"{where}: [targets.{name}]")
    if not isinstance(table, dict):
        raise TargetConfigError(f"{where}: targets.{name} must be a table")
    field = f"{where}: targets.{name}."
    known = {f.name for f in fields(Target)} - {"name"}
    for key in table:
        if key not in known:
            raise TargetConfigError(
                f"{field}{key}: unknown field; known: {', '.join(sorted(known))}")
    if "destination" not in table:
        raise TargetConfigError(f"{field}destination: missing (user@host or an ssh host alias)")
    return Target(
        name=name,
        destination=_text(field + "destination", table["destination"], forbid_dash=True),
        port=_integer(field + "port", table["port"], 1, 65535) if "port" in table else None,
        identity_file=_optional_text(field + "identity_file", table.get("identity_file")),
        python=_text(field + "python", table.get("python", DEFAULT_PYTHON)),
        accept_new_host_key=_boolean(field + "accept_new_host_key",
                                     table.get("accept_new_host_key", False)),
        cache_bytes=_integer(field + "cache_bytes", table.get("cache_bytes",
                             DEFAULT_CACHE_BYTES), MIN_CACHE_BYTES, 2**62),
        ssh_config=_optional_text(field + "ssh_config", table.get("ssh_config")),
    )


def _optional_text(where: str, value: Any) -> str | None:
    return None if value is None else _text(where, value)


def _boolean(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TargetConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def check_target(target: Target, where: str = "target") -> Target:
    """Validate a Target built in code (the CLI's ``targets add``) as the file would be."""
    check_name(target.name, where)
    table = {k: v for k, v in vars(target).items() if k != "name" and v is not None}
    return target_from_table(target.name, table, where)


# file ----------------------------------------------------------------------------------------

def load_targets(path: str | None = None) -> dict[str, Target]:
    """Every target of the file, by name; {} when the file does not exist."""
    path = path or targets_path()
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise TargetConfigError(f"{path}: cannot read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise TargetConfigError(f"{path}: not valid TOML ({error}); fix or remove it") from None
    tables = document.get("targets", {})
    if not isinstance(tables, dict):
        raise TargetConfigError(f"{path}: 'targets' must be a table of [targets.NAME] tables")
    return {name: target_from_table(name, table, path) for name, table in tables.items()}


def get_target(name: str, path: str | None = None) -> Target:
    path = path or targets_path()
    targets = load_targets(path)
    if name not in targets:
        known = ", ".join(sorted(targets)) or "none yet"
        raise TargetConfigError(f"{path}: no target named {name!r} (known: {known}); add one "
                                "with `edgeprof-cli targets add NAME USER@HOST`")
    return targets[name]


def _toml_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string: control chars refused


def dump_targets(targets: dict[str, Target]) -> str:
    lines = ["# Edge Model Profiler targets: boards reached over SSH.",
             "# Edit by hand or with `edgeprof-cli targets add|remove`; no secrets belong here."]
    for name in sorted(targets):
        lines += ["", f"[targets.{check_name(name)}]"]
        for key, value in vars(targets[name]).items():
            if key != "name" and value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_targets(targets: dict[str, Target], path: str | None = None) -> str:
    """Write atomically (a crash leaves the old file or the new one, never half)."""
    path = path or targets_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(dump_targets(targets))
        os.replace(temporary, path)
    except OSError as error:
        raise TargetConfigError(f"{path}: cannot write ({error.strerror})") from None
    return path
