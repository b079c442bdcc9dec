"""What is derived from a report: views, comparison and exporters (the report itself is
``profiler.records.report``)."""

from profiler.model.describe import model_info
from profiler.records.report import SCHEMA, SCHEMA_VERSION, Report, load_report

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Report", "load_report", "model_info"]
