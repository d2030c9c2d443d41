"""Report formats: the contract here; ``json`` and ``html`` register through entry points."""

from .base import ReportData, Reporter, SampleRow

__all__ = ["ReportData", "Reporter", "SampleRow"]
