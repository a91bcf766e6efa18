"""What a page asks the collector for: time ranges and the Overview's filters. No Streamlit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, fields

from loopwise.collector.times import maybe_utc

TIME_RANGES: dict[str, dt.timedelta | None] = {
    "Last hour": dt.timedelta(hours=1),
    "Last 24 hours": dt.timedelta(days=1),
    "Last 7 days": dt.timedelta(days=7),
    "Last 30 days": dt.timedelta(days=30),
    "All time": None,
}
"""The time ranges a page offers, by label; ``None`` means no lower bound."""

DEFAULT_TIME_RANGE = "Last 7 days"
FIT_TIME_RANGE = "All time"
"""The range that spans exactly the stored data (the collector sizes its buckets to it)."""


def fitting_time_range(
    first: dt.datetime | None, last: dt.datetime | None, now: dt.datetime
) -> str:
    """The time range a page opens with: ``DEFAULT_TIME_RANGE`` when the data reaches back
    past it and into it (a week of traffic fills a week's chart), else ``FIT_TIME_RANGE``,
    whose window is the data's own extent: a fresh install's few minutes of traffic fill
    the chart instead of one bar at its right edge, and old data is not an empty chart.
    Times are naive UTC; no data gives the default."""
    length = TIME_RANGES[DEFAULT_TIME_RANGE]
    if first is None or last is None or length is None:
        return DEFAULT_TIME_RANGE
    start = now - length
    return DEFAULT_TIME_RANGE if first < start <= last else FIT_TIME_RANGE


Clock = Callable[[], dt.datetime]


def parse_utc(value: object) -> dt.datetime | None:
    """An API time (ISO 8601, ``Z`` or an offset) as naive UTC; None when it is not one."""
    return maybe_utc(value) if isinstance(value, str) else None


def utc_now() -> dt.datetime:
    """Now, as naive UTC (the store's convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class OverviewQuery:
    """The Overview's filters, as the collector's /api/overview parameters take them.

    ``since``/``until`` are naive UTC; ``None`` (and empty strings) mean "any".
    """

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    project: str | None = None
    service: str | None = None
    model: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    tag: str | None = None
    bucket_seconds: int | None = None

    @classmethod
    def for_range(
        cls,
        label: str,
        clock: Clock = utc_now,
        *,
        project: str | None = None,
        service: str | None = None,
        model: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        tag: str | None = None,
    ) -> OverviewQuery:
        """The query for a ``TIME_RANGES`` label ending now, with the other filters; blank
        strings mean "any". ``KeyError`` for an unknown label."""
        length = TIME_RANGES[label]
        until = clock()
        since = until - length if length is not None else None
        return cls(
            since=since,
            until=until if since is not None else None,
            project=_blank_is_none(project),
            service=_blank_is_none(service),
            model=_blank_is_none(model),
            session_id=_blank_is_none(session_id),
            user_id=_blank_is_none(user_id),
            tag=_blank_is_none(tag),
        )

    def params(self) -> dict[str, str | int]:
        """Query-string parameters: only the filters that are set; times in ISO 8601."""
        out: dict[str, str | int] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            out[field.name] = value.isoformat() if isinstance(value, dt.datetime) else value
        return out


def _blank_is_none(value: str | None) -> str | None:
    stripped = value.strip() if value is not None else ""
    return stripped or None


TRACE_STATUSES = ("ok", "error")


@dataclass(frozen=True)
class TraceQuery:
    """One page of the trace list and its filters, as /api/traces takes them.

    Values set to ``None`` (or blank) are left out of the request.
    """

    limit: int = 50
    offset: int = 0
    project: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    status: str | None = None
    tag: str | None = None
    name: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def params(self) -> dict[str, str | int]:
        """Query-string parameters; times in ISO 8601, blank strings dropped."""
        out: dict[str, str | int] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if isinstance(value, dt.datetime):
                out[field.name] = value.isoformat()
            else:
                out[field.name] = value.strip() if isinstance(value, str) else value
        return out

    def narrowing(self) -> list[str]:
        """Names of the filters beyond project that are set (older collectors ignore them)."""
        names = ("session_id", "user_id", "status", "tag", "name", "since", "until")
        return [name for name in names if name in self.params()]
