"""The shapes the collector API client returns (re-exported by ``loopwise.dashboard.api``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
"""One JSON object from the API (a trace summary, a span, a health report)."""


@dataclass(frozen=True)
class TraceDetail:
    """Every span of one trace: flat in start order, and nested under their parents; its
    scores when the collector sends them with the trace (``None`` when it does not)."""

    trace_id: str
    spans: list[Record]
    tree: list[Record]
    scores: list[Record] | None = None
    root_cause: Record | None = None


@dataclass(frozen=True)
class TracePage:
    """One page of trace summaries, newest first.

    ``has_more`` says whether an older page exists; ``total`` counts every match when the
    collector reports it. ``filtered`` is False when the collector ignored filters it does
    not know (an older collector answers without ``has_more``).
    """

    traces: list[Record]
    has_more: bool
    total: int | None
    filtered: bool


@dataclass(frozen=True)
class GroupPage:
    """One page of sessions or users, the most recently active first."""

    rows: list[Record]
    has_more: bool
    total: int | None


@dataclass(frozen=True)
class SqlResult:
    """The answer to a read-only SQL query; ``truncated`` when the collector capped the rows."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool

    def records(self) -> list[Record]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]
