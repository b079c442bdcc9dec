"""The files a model consists of (the model file, an IR's .bin, an ONNX model's external
data), as the model loader finds and checks them. Loading runs native parsers on the file,
so it happens in a sandboxed child (profiler.sandbox); only the list of paths comes back."""

from __future__ import annotations

from profiler.sandbox import run_isolated


def model_files(model_path: str) -> list[str]:
    """The model file first, then the files it needs; ModelLoadError when it does not load."""
    return [str(path) for path in run_isolated(loaded_model_files, (model_path,), model_path)]


def loaded_model_files(model_path: str) -> list[str]:
    """The sandboxed child's side of ``model_files``: plain data."""
    from profiler.model.loader import load_model

    return list(load_model(model_path).files)
