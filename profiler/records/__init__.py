"""The report's data model: every record the stages produce and the exporters, history and app
read, and its lossless JSON form.

The bottom layer: it imports nothing of the project but ``profiler.errors``, so every stage can
depend on it and none of them depends on another to name a record. See docs/architecture.md.
"""
