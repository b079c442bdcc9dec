"""Jobs for the prestarted sandbox child in test_prestart (module level: a child unpickles
them by name) and the script that runs them in a fresh, single-threaded process."""

from __future__ import annotations

import json
import os
import sys

from profiler import files, sandbox


def pid() -> int:
    return os.getpid()


def read_ahead_kept(path: str, max_bytes: int) -> bool:
    """Whether this child holds ``path`` read ahead (before the loader takes it)."""
    return (path, max_bytes) in files._prefetched


def crash() -> None:
    sandbox.stage("test stage")
    os.abort()


def isolated() -> bool:
    return sandbox.network_isolated()


def main(scenario: str, path: str) -> dict[str, object]:
    """One scenario in this process; what happened, as JSON-ready data."""
    from profiler import prestart

    prestart.prestart(("profiler.files",))
    waiting = prestart._waiting
    assert waiting is not None
    forked = waiting.pid
    if scenario == "pid":
        return {"forked": forked, "ran_in": sandbox.run_isolated(pid, (), path)}
    if scenario == "read_ahead":
        prestart.read_ahead(path, 1000)
        return {"kept": sandbox.run_isolated(read_ahead_kept, (path, 1000), path)}
    if scenario == "gone":
        os.kill(forked, 9)
        os.waitpid(forked, 0)
        return {"forked": forked, "ran_in": sandbox.run_isolated(pid, (), path)}
    if scenario == "crash":
        try:
            sandbox.run_isolated(crash, (), path)
        except Exception as error:  # the one line the user would see
            return {"error": str(error)}
        return {"error": ""}
    if scenario == "isolated":
        return {"prestarted": sandbox.run_isolated(isolated, (), path),
                "forked": sandbox.run_isolated(isolated, (), path)}
    if scenario == "unused":
        return {"forked": forked}
    raise SystemExit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
