"""The versioned report model and its exporters."""

from profiler.report.model import SCHEMA, SCHEMA_VERSION, Report, load_report, model_info

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Report", "load_report", "model_info"]
