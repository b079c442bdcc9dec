"""The host's side of the model cache on a target: copy a model once per content hash.

What is sent is the model file and the files it needs (an IR's .bin, ONNX external data),
nothing else. The cache key is the model file's sha256 when it stands alone (the same hash
the report records), else a sha256 over every file's name and hash, so a changed .bin is a
new entry. One ``lookup`` round trip finds what the board already has; only missing files
travel, each checked on arrival (see profiler.remote.board).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from profiler.records.record import record
from profiler.remote import ssh
from profiler.remote.targets import Target

COPY_TIMEOUT_S = 3600.0
"""A large model over a slow link: the link's liveness is watched by ssh itself."""


@record
class BundleFile:
    local_path: str
    name: str
    """Path relative to the model's folder, as the runtime looks for it beside the model."""
    sha256: str
    size_bytes: int


@record
class RemoteModel:
    target: str
    key: str
    path: str
    """The model file on the target."""
    copied_bytes: int = 0
    evicted: list[str] = field(default_factory=list)


def file_sha256(path: str) -> str:
    from profiler.model.describe import file_sha256 as sha256_of

    return sha256_of(path)


def model_bundle(model_path: str, companions: Sequence[str] | None = None) -> list[BundleFile]:
    """The model file first, then its companions (found by the model loader when not given)."""
    if companions is None:  # found by loading the model in a sandboxed child
        from profiler.model.companions import model_files

        companions = [f for f in model_files(model_path)
                      if os.path.realpath(f) != os.path.realpath(model_path)]
    folder = os.path.dirname(os.path.abspath(model_path))
    return [BundleFile(path, os.path.relpath(os.path.abspath(path), folder).replace(os.sep, "/"),
                       file_sha256(path), os.path.getsize(path))
            for path in [model_path, *companions]]


def bundle_key(files: Sequence[BundleFile]) -> str:
    if len(files) == 1:
        return files[0].sha256
    listing = "".join(f"{f.name}\0{f.sha256}\n" for f in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def _json(target: Target, output: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(output)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ssh.RemoteError(target.name, f"{target.name} answered something that is not "
                              "edge-model-profiler's JSON; is its python the right one?")
    return answer


def ensure_model(target: Target, model_path: str,
                 companions: Sequence[str] | None = None) -> RemoteModel:
    """The model on the target, copied there only when its content is not cached yet."""
    files = model_bundle(model_path, companions)
    key = bundle_key(files)
    names = [f.name for f in files]
    found = _json(target, ssh.run(target, ssh.python_argv(
        target, "remote-cache", "lookup", key, *names)))
    missing = set(found.get("missing", names))
    remote = RemoteModel(target.name, key, f"{found.get('dir', '')}/{files[0].name}")
    for bundle_file in (f for f in files if f.name in missing):
        remote.evicted += _put(target, key, bundle_file).get("evicted", [])
        remote.copied_bytes += bundle_file.size_bytes
    return remote


def _put(target: Target, key: str, bundle_file: BundleFile) -> dict[str, Any]:
    argv = ssh.python_argv(target, "remote-cache", "put", key, bundle_file.name,
                           "--sha256", bundle_file.sha256, "--limit-bytes",
                           str(target.cache_bytes))
    with open(bundle_file.local_path, "rb") as handle:
        return _json(target, ssh.run(target, argv, handle, COPY_TIMEOUT_S))
