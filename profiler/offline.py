"""The tool works offline and sends nothing: runtimes are imported with telemetry disabled."""

from __future__ import annotations

import sys
from types import ModuleType


def import_openvino() -> ModuleType:
    """Import OpenVINO without its telemetry package.

    ``import openvino`` pulls in the model-conversion API, which imports openvino_telemetry when
    it is installed; a ``None`` entry in ``sys.modules`` makes that import fail, and OpenVINO
    then uses its built-in no-op stub.
    """
    if "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]
    import openvino

    return openvino
