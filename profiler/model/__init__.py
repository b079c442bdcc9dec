"""Model loading: every supported format becomes one format-neutral :class:`ModelGraph`."""

from profiler.model.graph import Graph, ModelGraph, Node, TensorInfo
from profiler.model.loader import load_model

__all__ = ["Graph", "ModelGraph", "Node", "TensorInfo", "load_model"]
