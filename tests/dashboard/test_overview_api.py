"""The collector's Overview API (/api/overview, /api/overview/scores, /api/overview/facets)
over spans and scores with known times, durations and values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa
import pytest

from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import SPAN_ARROW_SCHEMA, ScoreRow, Store, append_scores
from loopwise.dashboard.overview_render import evaluators_frame

T0 = dt.datetime(2026, 3, 1, 12, 0)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def span(
    trace: int,
    number: int,
    start: dt.datetime,
    duration_ms: float,
    *,
    parent: int | None = None,
    **values: Any,
) -> dict[str, Any]:
    """One row in the span schema; ``values`` override the defaults."""
    row: dict[str, Any] = {
        "project": "shop",
        "trace_id": f"{trace:032x}",
        "span_id": f"{trace:08x}{number:08x}",
        "parent_span_id": None if parent is None else f"{trace:08x}{parent:08x}",
        "name": "root" if parent is None else "child",
        "kind": "chain",
        "status": "ok",
        "start_time": start,
        "end_time": start + dt.timedelta(milliseconds=duration_ms),
        "duration_ms": duration_ms,
        "service_name": "api",
        "tags": [],
        "ingested_at": start,
    }
    row.update(values)
    return row


def llm(trace: int, start: dt.datetime, model: str, tokens: int, cost: float) -> dict[str, Any]:
    """An LLM call under the trace's root."""
    return span(
        trace,
        2,
        start,
        100.0,
        parent=1,
        kind="llm",
        model=model,
        input_tokens=tokens - 10,
        output_tokens=10,
        total_tokens=tokens,
        cost_usd=cost,
    )


def rows() -> list[dict[str, Any]]:
    """Four traces in hour one, one in hour three (hour two is empty), one in another project.

    Root durations 100, 200, 300, 400 ms in hour one; trace 2 has a failing child; trace 3
    is user u-1's, in session s-1, tagged vip; models gpt-a (traces 1, 2) and gpt-b (3).
    """
    return [
        span(1, 1, T0, 100.0),
        llm(1, T0, "gpt-a", 110, 0.01),
        span(2, 1, T0 + 5 * MINUTE, 200.0),
        span(2, 3, T0 + 5 * MINUTE, 50.0, parent=1, status="error", kind="tool"),
        llm(2, T0 + 5 * MINUTE, "gpt-a", 210, 0.02),
        span(3, 1, T0 + 10 * MINUTE, 300.0, user_id="u-1", session_id="s-1", tags=["vip"]),
        llm(3, T0 + 10 * MINUTE, "gpt-b", 1010, 0.5),
        span(4, 1, T0 + 50 * MINUTE, 400.0, service_name="worker"),
        span(5, 1, T0 + 2 * HOUR + MINUTE, 1000.0),
        span(6, 1, T0 + 30 * MINUTE, 5.0, project="other", service_name="batch"),
    ]


def scores() -> list[ScoreRow]:
    """helpfulness of traces 1-3 (0.2, 0.4 in hour one; 0.9 in hour three), one errored run;
    valid_json of trace 3; a score in project other."""

    def at(minutes: int) -> dt.datetime:
        return T0 + minutes * MINUTE

    return [
        ScoreRow(
            "shop",
            f"{1:032x}",
            "helpfulness",
            "llm",
            "judge",
            value=0.2,
            passed=False,
            created_at=at(1),
        ),
        ScoreRow(
            "shop",
            f"{2:032x}",
            "helpfulness",
            "llm",
            "judge",
            value=0.4,
            passed=False,
            created_at=at(6),
        ),
        ScoreRow(
            "shop",
            f"{3:032x}",
            "helpfulness",
            "llm",
            "judge",
            value=0.9,
            passed=True,
            created_at=at(125),
        ),
        ScoreRow(
            "shop",
            f"{3:032x}",
            "helpfulness",
            "llm",
            "judge",
            status="errored",
            error="timeout",
            created_at=at(11),
        ),
        ScoreRow(
            "shop",
            f"{3:032x}",
            "valid_json",
            "code",
            "json",
            value=1.0,
            passed=True,
            created_at=at(11),
        ),
        ScoreRow(
            "other",
            f"{6:032x}",
            "helpfulness",
            "llm",
            "judge",
            value=0.0,
            passed=False,
            created_at=at(31),
        ),
        ScoreRow(
            "timing",
            f"{7:032x}",
            "latency_threshold",
            "code",
            "latency",
            value=80.0,
            passed=True,
            direction="lower",
            created_at=at(2),
        ),
        ScoreRow(
            "timing",
            f"{8:032x}",
            "latency_threshold",
            "code",
            "latency",
            value=900.0,
            passed=False,
            direction="lower",
            created_at=at(3),
        ),
        ScoreRow(
            "timing",
            f"{8:032x}",
            "latency_threshold",
            "code",
            "latency",
            status="errored",
            error="no duration",
            direction="lower",
            created_at=at(4),
        ),
        ScoreRow("timing", f"{7:032x}", "tone", "llm", "judge", label="formal", created_at=at(5)),
        ScoreRow(
            "timing", f"{8:032x}", "tone", "llm", "judge", value=1.0, passed=True, created_at=at(6)
        ),
    ]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A collector on a file holding ``rows()`` and ``scores()``."""
    db = tmp_path_factory.mktemp("overview") / "o.duckdb"
    with Store(db) as store:
        store.append_spans(pa.Table.from_pylist(rows(), schema=SPAN_ARROW_SCHEMA))
        append_scores(store, scores())
    with (
        CollectorServer(CollectorConfig(db_path=db, port=0)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield http


def window(**params: Any) -> dict[str, Any]:
    """Three hours from T0 in hourly buckets, plus ``params``."""
    return {
        "since": T0.isoformat(),
        "until": (T0 + 3 * HOUR).isoformat(),
        "bucket_seconds": 3600,
        **params,
    }


def get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def test_series_has_every_bucket_with_counts_errors_and_latency(client: httpx.Client) -> None:
    payload = get(client, "/api/overview", **window(project="shop"))
    assert payload["window"] == {
        "since": "2026-03-01T12:00:00.000000Z",
        "until": "2026-03-01T15:00:00.000000Z",
        "bucket_seconds": 3600,
    }
    series = payload["series"]
    assert [b["bucket"] for b in series] == [
        "2026-03-01T12:00:00.000000Z",
        "2026-03-01T13:00:00.000000Z",
        "2026-03-01T14:00:00.000000Z",
    ]
    assert [b["traces"] for b in series] == [4, 0, 1]
    assert [b["spans"] for b in series] == [8, 0, 1]
    first, empty, _ = series
    assert (first["error_traces"], first["error_spans"], first["error_rate"]) == (1, 1, 0.25)
    assert first["trace_p50_ms"] == pytest.approx(250.0)
    assert first["trace_p95_ms"] == pytest.approx(385.0)
    assert (first["llm_calls"], first["llm_p50_ms"]) == (3, 100.0)
    assert (empty["error_rate"], empty["trace_p50_ms"], empty["total_tokens"]) == (None, None, 0)


def test_totals_cover_the_window(client: httpx.Client) -> None:
    totals = get(client, "/api/overview", **window(project="shop"))["totals"]
    assert (totals["traces"], totals["spans"], totals["error_traces"]) == (5, 9, 1)
    assert totals["error_rate"] == pytest.approx(0.2)
    assert totals["trace_p50_ms"] == pytest.approx(300.0)  # of 100, 200, 300, 400, 1000
    assert (totals["input_tokens"], totals["output_tokens"], totals["total_tokens"]) == (
        1300,
        30,
        1330,
    )
    assert totals["cost_usd"] == pytest.approx(0.53)


@pytest.mark.parametrize(
    ("params", "traces", "tokens"),
    [
        ({}, 6, 1330),
        ({"project": "other"}, 1, 0),
        ({"service": "worker"}, 1, 0),
        ({"model": "gpt-a"}, 2, 320),  # whole traces holding a gpt-a call
        ({"user_id": "u-1"}, 1, 1010),  # set on the root; the LLM child counts too
        ({"session_id": "s-1"}, 1, 1010),
        ({"tag": "vip"}, 1, 1010),
        ({"model": "gpt-a", "user_id": "u-1"}, 0, 0),
        ({"project": "x' OR 1=1 --"}, 0, 0),
    ],
)
def test_filters_pick_traces(
    client: httpx.Client, params: dict[str, str], traces: int, tokens: int
) -> None:
    totals = get(client, "/api/overview", **window(**params))["totals"]
    assert (totals["traces"], totals["total_tokens"]) == (traces, tokens)


def test_open_window_follows_the_data_and_picks_a_bucket_width(client: httpx.Client) -> None:
    payload = get(client, "/api/overview")
    assert payload["window"]["since"] == "2026-03-01T12:00:00.000000Z"
    assert payload["window"]["until"] == "2026-03-01T14:01:00.000001Z"
    assert payload["window"]["bucket_seconds"] == 300  # ~2 h in at most 60 buckets
    assert sum(b["traces"] for b in payload["series"]) == 6
    assert get(client, "/api/overview", project="nothing-here") == {
        "filters": {"project": "nothing-here"},
        "window": None,
        "totals": get(client, "/api/overview", project="nothing-here")["totals"],
        "series": [],
    }


def test_time_zones_are_converted_to_utc(client: httpx.Client) -> None:
    payload = get(
        client, "/api/overview", since="2026-03-01T14:00:00+01:00", until="2026-03-01T13:30:00Z"
    )
    assert payload["window"]["since"] == "2026-03-01T13:00:00.000000Z"
    assert payload["totals"]["traces"] == 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since must be an ISO 8601 time"),
        ({"until": "2026-13-01"}, "until must be an ISO 8601 time"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "since must be earlier than until"),
        ({"bucket_seconds": "0"}, "bucket_seconds must be between 1 and"),
        ({"bucket_seconds": "soon"}, "bucket_seconds must be an integer"),
        ({"since": "2000-01-01", "until": "2026-01-01", "bucket_seconds": "60"}, "buckets of 60 s"),
        ({"model": "m" * 1001}, "model is longer than 1000 characters"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(
    client: httpx.Client, params: dict[str, str], message: str
) -> None:
    for path in ("/api/overview", "/api/overview/scores"):
        response = client.get(path, params=params)
        assert response.status_code == 400
        assert message in response.json()["error"]


def test_bad_parameters_change_nothing(client: httpx.Client) -> None:
    before = get(client, "/api/overview")
    assert (
        client.get("/api/overview", params={"since": "'; DROP TABLE spans; --"}).status_code == 400
    )
    assert get(client, "/api/overview") == before


def test_score_trends_per_evaluator_and_bucket(client: httpx.Client) -> None:
    payload = get(client, "/api/overview/scores", **window(project="shop"))
    evaluators = {e["name"]: e for e in payload["evaluators"]}
    assert set(evaluators) == {"helpfulness", "valid_json"}
    helpfulness = evaluators["helpfulness"]
    assert (helpfulness["scores"], helpfulness["errored"]) == (4, 1)
    assert helpfulness["mean"] == pytest.approx(0.5)
    # One pass among three verdicts and one errored run: errors count against the rate.
    assert helpfulness["pass_rate"] == pytest.approx(1 / 4)
    assert helpfulness["direction"] == "higher"
    trend = [(s["bucket"], s["mean"]) for s in payload["series"] if s["name"] == "helpfulness"]
    assert trend == [
        ("2026-03-01T12:00:00.000000Z", pytest.approx(0.3)),
        ("2026-03-01T14:00:00.000000Z", 0.9),
    ]
    assert payload["evaluator_count"] == 2


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"project": "other"}, {"helpfulness": 1}),
        ({"model": "gpt-b"}, {"helpfulness": 2, "valid_json": 1}),
        ({"user_id": "nobody"}, {}),
    ],
)
def test_score_trends_follow_the_filters(
    client: httpx.Client, params: dict[str, str], names: dict[str, int]
) -> None:
    payload = get(client, "/api/overview/scores", **window(**params))
    assert {e["name"]: e["scores"] for e in payload["evaluators"]} == names


def test_facets_list_values_by_frequency(client: httpx.Client) -> None:
    payload = get(client, "/api/overview/facets")
    assert payload["project"] == [{"value": "shop", "count": 5}, {"value": "other", "count": 1}]
    assert payload["model"] == [{"value": "gpt-a", "count": 2}, {"value": "gpt-b", "count": 1}]
    assert payload["tag"] == [{"value": "vip", "count": 1}]
    assert [s["value"] for s in payload["service"]] == ["api", "batch", "worker"]
    limited = get(client, "/api/overview/facets", limit=1, since=(T0 + HOUR).isoformat())
    assert limited == {
        "project": [{"value": "shop", "count": 1}],
        "service": [{"value": "api", "count": 1}],
        "model": [],
        "tag": [],
    }
    assert client.get("/api/overview/facets", params={"limit": 0}).status_code == 400


HAND_SQL = """
SELECT name,
       count(*) AS scores,
       count(*) FILTER (WHERE status = 'errored') AS errored,
       avg(value) FILTER (WHERE status = 'ok') AS mean,
       sum(CASE WHEN status = 'ok' AND passed THEN 1 ELSE 0 END)::DOUBLE
           / sum(CASE WHEN status = 'errored' OR passed IS NOT NULL THEN 1 ELSE 0 END)
           AS pass_rate,
       max(direction) AS direction
FROM scores
WHERE project = 'timing'
GROUP BY name ORDER BY name
"""


def test_score_numbers_follow_the_documented_rule(client: httpx.Client) -> None:
    payload = get(client, "/api/overview/scores", **window(project="timing"))
    answered = sorted(payload["evaluators"], key=lambda e: e["name"])
    response = client.post("/api/sql", json={"sql": HAND_SQL})
    assert response.status_code == 200, response.text
    body = response.json()
    by_hand = [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]
    assert answered == by_hand
    latency, tone = answered
    assert (latency["mean"], latency["direction"]) == (490.0, "lower")
    assert latency["pass_rate"] == pytest.approx(1 / 3)  # 80 ms passes, 900 ms fails, 1 error
    # A label-only score counts in neither the mean nor the pass rate.
    assert (tone["scores"], tone["mean"], tone["pass_rate"]) == (2, 1.0, 1.0)
    rows = evaluators_frame(answered).to_dict("records")
    assert [r["better"] for r in rows] == ["lower", "higher"]


def test_extent_says_when_the_traces_start(client: httpx.Client) -> None:
    extent = get(client, "/api/overview/extent")
    by_sql = client.post(
        "/api/sql", json={"sql": "SELECT min(start_time), max(start_time), count(*) FROM traces"}
    ).json()["rows"][0]
    assert extent["traces"] == by_sql[2] == 6
    assert extent["first"].startswith(by_sql[0].replace(" ", "T")[:19])
    assert extent["first"].endswith("Z") and extent["last"].endswith("Z")
    assert extent["first"] <= extent["last"]
