"""Report formats: the contract here (rows arrive streamed, as :class:`SampleRows`); the
built-in ``json``, ``html`` and ``markdown`` register through entry points."""

from .base import ReportData, Reporter, RowList, SampleRow, SampleRows

__all__ = ["ReportData", "Reporter", "RowList", "SampleRow", "SampleRows"]
