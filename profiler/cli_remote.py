"""``edgeprof-cli targets list|add|remove|check`` and ``devices --target``: boards over SSH.

Also the board's hidden side (``remote-info``, ``remote-cache``), which the host runs there
through ssh; they print JSON and are not meant to be typed. Exit codes as in
profiler.cli_common: an unreachable target or a refused login is 1, a bad targets file 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from profiler.cli_common import EXIT_OK, int_option, memory_size, note, say

if TYPE_CHECKING:
    from profiler.remote.devices import BoardInfo


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    _add_targets(subparsers)
    _add_board_side(subparsers)


# targets -------------------------------------------------------------------------------------

def _add_targets(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "targets", help="boards to measure on over SSH: list, add, remove, check",
        description="Targets are boards reached with your own OpenSSH client and config "
                    "(keys, agent, ~/.ssh/config aliases, jump hosts). Stored in "
                    "$XDG_CONFIG_HOME/edgeprof/targets.toml; no password or key is stored.")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    actions.add_parser("list", help="list the targets").set_defaults(command=_run_list)
    _add_target_add(actions)
    remove = actions.add_parser("remove", help="forget a target")
    remove.add_argument("name")
    remove.set_defaults(command=_run_remove)
    check = actions.add_parser("check", help="connect and report the board's versions")
    check.add_argument("name")
    check.set_defaults(command=_run_check)


def _add_target_add(actions: argparse._SubParsersAction) -> None:
    add = actions.add_parser("add", help="declare a target (replaces one of the same name)")
    add.add_argument("name", help="short name, used as the device prefix (pi5/ov:CPU)")
    add.add_argument("destination", help="user@host or a host alias from ~/.ssh/config")
    add.add_argument("--port", type=int_option(1, 65535, "a port number"))
    add.add_argument("--identity-file", metavar="FILE", help="private key file (else agent/config)")
    add.add_argument("--python", default="python3",
                     help="Python on the board with edge-model-profiler (default python3)")
    add.add_argument("--accept-new-host-key", action="store_true",
                     help="let ssh record the board's host key on first connect")
    add.add_argument("--cache-size", type=memory_size, default="2G", metavar="SIZE",
                     help="bound of the model cache on the board (default 2G)")
    add.add_argument("--ssh-config", metavar="FILE",
                     help="an OpenSSH client config to use instead of ~/.ssh/config")
    add.set_defaults(command=_run_add)


def _run_list(args: argparse.Namespace) -> int:
    from profiler.remote.targets import load_targets, targets_path
    from profiler.report.compare import text_table
    from profiler.units import size_bytes

    targets = load_targets()
    if not targets:
        note(f"no targets yet ({targets_path()}); add one with "
             "`edgeprof-cli targets add NAME USER@HOST`")
        return EXIT_OK
    rows = [[t.name, t.destination, str(t.port or "-"), t.python, size_bytes(t.cache_bytes),
             "accept new" if t.accept_new_host_key else "known_hosts"]
            for t in targets.values()]
    say("\n".join(text_table(["name", "destination", "port", "python", "cache", "host key"],
                             rows)))
    return EXIT_OK


def _run_add(args: argparse.Namespace) -> int:
    from profiler.bench.supervisor import parse_memory_limit
    from profiler.remote.targets import (
        DEFAULT_CACHE_BYTES,
        Target,
        check_target,
        load_targets,
        save_targets,
    )

    target = check_target(Target(
        name=args.name, destination=args.destination, port=args.port,
        identity_file=args.identity_file, python=args.python,
        accept_new_host_key=args.accept_new_host_key, ssh_config=args.ssh_config,
        cache_bytes=parse_memory_limit(args.cache_size) or DEFAULT_CACHE_BYTES),
        where=f"targets add {args.name}")
    targets = load_targets()
    targets[target.name] = target
    note(f"wrote {save_targets(targets)}; check it with `edgeprof-cli targets check "
         f"{target.name}`")
    return EXIT_OK


def _run_remove(args: argparse.Namespace) -> int:
    from profiler.remote.targets import get_target, load_targets, save_targets

    get_target(args.name)  # an unknown name: the error lists the known ones
    targets = load_targets()
    del targets[args.name]
    note(f"removed {args.name} from {save_targets(targets)}")
    return EXIT_OK


def _run_check(args: argparse.Namespace) -> int:
    from profiler.remote.devices import board_info
    from profiler.remote.ssh import endpoint
    from profiler.remote.targets import get_target

    target = get_target(args.name)
    info = board_info(target)
    worker = info.worker_protocol if info.worker_protocol is not None else "-"
    say(f"{target.name}: reachable at {endpoint(target)}; edge-model-profiler {info.version}, "
        f"board protocol {info.board_protocol}, worker protocol {worker}")
    say(f"python: {info.environment.get('python', '?')} ({info.python_executable})")
    say("\n".join(board_lines(info)))
    return EXIT_OK


def board_lines(info: BoardInfo) -> list[str]:
    """OS, CPU, ISA and runtime versions of a board, one per line."""
    environment = info.environment
    cpu = environment.get("cpu") or {}
    runtimes = environment.get("runtimes") or {}
    return [
        f"OS: {environment.get('os', '?')} ({environment.get('platform', '?')})",
        f"CPU: {cpu.get('name', '?')} ({cpu.get('architecture', '?')}), "
        f"{cpu.get('physical_cores', '?')} cores / {cpu.get('logical_cores', '?')} threads",
        f"ISA: {' '.join(cpu.get('isa_flags') or []) or '-'}",
        "runtimes: " + (", ".join(f"{k} {v}" for k, v in sorted(runtimes.items())) or "none"),
    ]


# devices --target ----------------------------------------------------------------------------

def run_remote_devices(args: argparse.Namespace) -> int:
    """``devices --target NAME``: the board's devices with prefixed ids, and what it is."""
    from profiler.cli_common import terminal_safe
    from profiler.records.serialize import to_dict
    from profiler.remote.devices import board_info
    from profiler.remote.targets import get_target
    from profiler.report.compare import text_table

    info = terminal_safe(board_info(get_target(args.target)))
    if args.json:
        print(json.dumps({"target": info.target, "devices": to_dict(info.devices),
                          "environment": info.environment, "notes": info.notes}, indent=1))
        return EXIT_OK
    for text in info.notes:
        note(f"note: {info.target}: {text}")
    rows = [[d.id, d.name, d.type, ", ".join(d.capabilities), d.runtime_version]
            for d in info.devices]
    say("\n".join(text_table(["id", "name", "type", "capabilities", "runtime"], rows)))
    say(f"\ntarget {info.target}:\n" + "\n".join(board_lines(info)))
    return EXIT_OK


# the board's side (hidden) ------------------------------------------------------------------

def _add_board_side(subparsers: argparse._SubParsersAction) -> None:
    # no help= : these stay out of the command list; the host runs them over ssh
    subparsers.add_parser("remote-info").set_defaults(command=_run_remote_info)
    cache = subparsers.add_parser("remote-cache")
    actions = cache.add_subparsers(metavar="ACTION", required=True)
    lookup = actions.add_parser("lookup")
    lookup.add_argument("key")
    lookup.add_argument("names", nargs="+")
    lookup.set_defaults(command=_run_cache_lookup)
    put = actions.add_parser("put")
    put.add_argument("key")
    put.add_argument("name")
    put.add_argument("--sha256", required=True)
    put.add_argument("--limit-bytes", type=int_option(0, 2**62), required=True)
    put.set_defaults(command=_run_cache_put)


def _print_json(answer: object) -> int:
    print(json.dumps(answer))
    return EXIT_OK


def _run_remote_info(args: argparse.Namespace) -> int:
    from profiler.remote.board import board_info

    return _print_json(board_info())


def _run_cache_lookup(args: argparse.Namespace) -> int:
    from profiler.remote.board import lookup

    return _print_json(lookup(args.key, args.names))


def _run_cache_put(args: argparse.Namespace) -> int:
    from profiler.remote.board import put

    return _print_json(put(args.key, args.name, args.sha256, args.limit_bytes,
                           sys.stdin.buffer))
