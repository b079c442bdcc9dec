"""What the machine is: OS, CPU (name, cores, ISA flags), runtime versions. Recorded in reports."""

from __future__ import annotations

import glob
import os
import platform
import re
import sys
from typing import Any

from profiler.processes import total_memory_bytes

INTERESTING_CPU_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
    "asimd", "asimddp", "asimdhp", "sve", "sve2", "i8mm", "bf16",
)
RUNTIME_PACKAGES = ("onnx", "onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino",
                    "openvino", "nncf", "numpy")


def _cpuinfo() -> dict[str, str]:
    """First processor block of /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            block = handle.read().split("\n\n")[0]
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in block.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_info() -> dict[str, Any]:
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return {
        "name": info.get("model name") or platform.processor() or platform.machine(),
        "architecture": platform.machine(),
        "physical_cores": physical_cores(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "isa_flags": [flag for flag in INTERESTING_CPU_FLAGS if flag in flags],
    }


def physical_cores() -> int | None:
    """Cores, not hardware threads: on Linux the distinct sibling sets in sysfs (as psutil
    counts them, without its import time); elsewhere psutil's answer."""
    pattern = "/sys/devices/system/cpu/cpu[0-9]*/topology/{}"
    paths = glob.glob(pattern.format("core_cpus_list")) or glob.glob(
        pattern.format("thread_siblings_list"))
    siblings = set()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                siblings.add(handle.read().strip())
        except OSError:
            continue
    if siblings:
        return len(siblings)
    import psutil

    cores: int | None = psutil.cpu_count(logical=False)
    return cores


def runtime_versions() -> dict[str, str]:
    """Installed versions of RUNTIME_PACKAGES, from the names of the installed-package folders
    on ``sys.path`` (``onnxruntime_gpu-1.20.1.dist-info``), first found wins, as imports
    resolve. One listing per path entry: importlib.metadata would cost an import and a scan
    per package (some 20 ms at every start-up)."""
    wanted = {_normalized(package): package for package in RUNTIME_PACKAGES}
    versions: dict[str, str] = {}
    for entry in sys.path:
        for name, version in _installed(entry or "."):
            package = wanted.get(_normalized(name))
            if package is not None and package not in versions:
                versions[package] = version
    return {package: versions[package] for package in RUNTIME_PACKAGES if package in versions}


_INSTALLED_FOLDER = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._]*?)-([^-]+?)(?:-py[^-]*)?\.(?:dist|egg)-info$")


def _installed(folder: str) -> list[tuple[str, str]]:
    """(name, version) of each package installed in ``folder``."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [(match[1], match[2]) for match in map(_INSTALLED_FOLDER.match, names) if match]


def _normalized(name: str) -> str:
    """Package names compare case- and separator-blind (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def platform_text() -> str:
    """``platform.platform()``, without its ``uname -p`` on Linux: that subprocess (6 ms)
    asks for a processor name which Linux reports as "unknown" or the machine's, and which
    ``platform.platform()`` then leaves out."""
    if sys.platform != "linux":
        return platform.platform()
    libc, version = platform.libc_ver()
    parts = [platform.system(), platform.release(), platform.machine(), "with", libc + version]
    return "-".join(part.replace(" ", "_") for part in parts if part)


def environment() -> dict[str, Any]:
    return {
        "os": f"{platform.system()} {platform.release()}",
        "platform": platform_text(),
        "python": platform.python_version(),
        "cpu": cpu_info(),
        "memory_bytes": total_memory_bytes(),
        "runtimes": runtime_versions(),
    }
