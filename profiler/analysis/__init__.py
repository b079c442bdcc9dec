"""Static cost analysis: MACs, FLOPs, parameters and memory per node, from shapes alone."""

from profiler.analysis.analyze import analyze
from profiler.records.analysis import AnalysisTotals, LayerCost, OpTypeCost, StaticAnalysis

__all__ = ["AnalysisTotals", "LayerCost", "OpTypeCost", "StaticAnalysis", "analyze"]
