"""Edge Model Profiler core: load, analyse, measure and report neural-network models.

This package never imports Qt; the desktop app in ``ui/`` builds on it.
"""

__version__ = "0.1.0"
TOOL_NAME = "edge-model-profiler"
