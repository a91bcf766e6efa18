"""One reader of ISO 8601 times: naive UTC whatever the offset."""

from __future__ import annotations

import datetime as dt

import pytest

from loopwise.collector.times import maybe_utc, parse_utc

NOON = dt.datetime(2026, 1, 1, 12, 0)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01T12:00:00Z",
        "2026-01-01T12:00:00+00:00",
        "2026-01-01T14:00:00+02:00",
        "2026-01-01T12:00:00",
        " 2026-01-01T12:00:00Z ",
    ],
)
def test_every_spelling_of_one_moment_reads_the_same(text: str) -> None:
    assert maybe_utc(text) == parse_utc(text) == NOON


def test_datetimes_pass_and_junk_is_refused() -> None:
    assert maybe_utc(NOON.replace(tzinfo=dt.UTC)) == NOON
    for junk in ("", "yesterday", None, 42, "2026-13-01"):
        assert maybe_utc(junk) is None
        with pytest.raises(ValueError, match="not an ISO 8601 time"):
            parse_utc(junk)
