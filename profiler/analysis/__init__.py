"""Static cost analysis: MACs, FLOPs, parameters and memory per node, from shapes alone.

The entry point is ``profiler.analysis.analyze.analyze``. This package's own import stays
light (the records only): the CLI process imports ``file_analysis`` to name the sandboxed
child's job and join its answer, and must not pay for every op's cost function.
"""

from profiler.records.analysis import AnalysisTotals, LayerCost, OpTypeCost, StaticAnalysis

__all__ = ["AnalysisTotals", "LayerCost", "OpTypeCost", "StaticAnalysis"]
