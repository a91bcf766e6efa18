"""Times as the store keeps them: naive UTC. One reader of ISO 8601 for every layer."""

from __future__ import annotations

import datetime as dt
import re

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def maybe_utc(value: object) -> dt.datetime | None:
    """``value`` (a datetime, or ISO 8601 text with ``Z``, an offset or none) as naive UTC;
    None when it is neither."""
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def parse_utc(value: object) -> dt.datetime:
    """Like ``maybe_utc`` but required: ValueError naming the text when it is not a time."""
    moment = maybe_utc(value)
    if moment is None:
        shown = value[:40] if isinstance(value, str) else type(value).__name__
        raise ValueError(f"not an ISO 8601 time like 2026-01-01T00:00:00Z: {shown!r}")
    return moment


def time_or_ago(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An ISO 8601 time, or a duration before ``now`` (``90s``, ``15m``, ``2h``, ``7d``,
    ``1w``), as naive UTC; ValueError naming the text when it is neither."""
    ago = _AGO.match(text.strip())
    if ago is None:
        try:
            return parse_utc(text)
        except ValueError as exc:
            raise ValueError(f"{exc} (or a duration such as 2h or 7d)") from None
    current = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return current - dt.timedelta(**{_UNITS[ago.group(2)]: float(ago.group(1))})
