"""One reader of ISO 8601 times: naive UTC whatever the offset."""

from __future__ import annotations

import datetime as dt

import pytest

from loopwise.collector.times import maybe_utc, parse_utc, time_or_ago

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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", dt.datetime(2026, 3, 1, 10, 0)),
        ("90s", dt.datetime(2026, 3, 1, 11, 58, 30)),
        ("1.5 d", dt.datetime(2026, 2, 28, 0, 0)),
        ("1w", dt.datetime(2026, 2, 22, 12, 0)),
        ("2026-03-01T09:00:00+01:00", dt.datetime(2026, 3, 1, 8, 0)),
        ("2026-03-01", dt.datetime(2026, 3, 1)),
    ],
)
def test_a_time_or_a_duration_ago(text: str, expected: dt.datetime) -> None:
    assert time_or_ago(text, now=dt.datetime(2026, 3, 1, 12, 0)) == expected


@pytest.mark.parametrize("text", ["yesterday", "2x", "-2h", ""])
def test_neither_a_time_nor_a_duration_names_both(text: str) -> None:
    with pytest.raises(ValueError, match="or a duration such as 2h"):
        time_or_ago(text)
