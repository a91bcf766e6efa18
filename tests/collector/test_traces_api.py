"""The trace, session and user JSON API (read from the ``traces`` table), and JSON errors
for unknown paths. Each test seeds its own project in the module's collector."""

from __future__ import annotations

import re
from typing import Any

import pytest

from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS

SECOND = 1_000_000_000
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def seed(api, otlp, project: str) -> list[str]:
    """Four traces a second apart: two in session s1 (user ann), one failing in s2 (user
    bob) tagged vip, one with neither. Returns their ids, oldest first."""
    ids = []
    cases = [
        ("ask", {"session.id": f"{project}-s1", "user.id": f"{project}-ann"}, 1),
        ("ask", {"session.id": f"{project}-s1", "user.id": f"{project}-ann"}, 1),
        (
            "ask",
            {"session.id": f"{project}-s2", "user.id": f"{project}-bob", "tag.tags": ["vip"]},
            2,
        ),
        ("ping", {}, 1),
    ]
    for i, (name, attributes, status) in enumerate(cases):
        trace_id = otlp.trace_id()
        span = otlp.span(
            name,
            trace_id=trace_id,
            start_ns=EPOCH_NS + i * SECOND,
            end_ns=EPOCH_NS + i * SECOND + 1500,
            attributes={**attributes, "input.value": f"q{i}", "output.value": f"a{i}"},
            status_code=status,
        )
        api.export_ok(otlp.request([span], project=project))
        ids.append(trace_id.hex())
    return ids


def listed(api, **params: object) -> dict[str, Any]:
    """GET /api/traces with ``params``; requires 200."""
    response = api.http.get("/api/traces", params=params)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def test_traces_filters(api, otlp, unique_project: str) -> None:
    p = unique_project
    ids = seed(api, otlp, p)

    def traced(**params: object) -> list[str]:
        return [t["trace_id"] for t in listed(api, project=p, **params)["traces"]]

    assert traced() == ids[::-1]
    assert traced(session_id=f"{p}-s1") == [ids[1], ids[0]]
    assert traced(user_id=f"{p}-bob") == [ids[2]]
    assert traced(status="error") == [ids[2]]
    assert traced(status="ok") == [ids[3], ids[1], ids[0]]
    assert traced(name="ping") == [ids[3]]
    assert traced(tag="vip") == [ids[2]]
    assert traced(since="2026-01-01T00:00:01Z", until="2026-01-01T00:00:03Z") == [ids[2], ids[1]]
    assert traced(since="2026-01-01T01:00:01+01:00") == [ids[3], ids[2], ids[1]]
    assert traced(session_id="no-such-session") == []


def test_traces_page_reports_total_and_times_in_utc(api, otlp, unique_project: str) -> None:
    ids = seed(api, otlp, unique_project)

    first = listed(api, project=unique_project, limit=3)
    last = listed(api, project=unique_project, limit=3, offset=3)

    assert (first["total"], first["has_more"], len(first["traces"])) == (4, True, 3)
    assert (last["total"], last["has_more"], [t["trace_id"] for t in last["traces"]]) == (
        4,
        False,
        [ids[0]],
    )
    newest = first["traces"][0]
    assert newest["start_time"] == "2026-01-01T00:00:03.000000Z"
    assert newest["end_time"] == "2026-01-01T00:00:03.000001Z"
    assert ISO_Z.match(newest["start_time"]) and newest["duration_ms"] == 0.001
    assert (newest["input_preview"], newest["output_preview"]) == ("q3", "a3")
    for key in ("trace_id", "project", "root_name", "span_count", "error_count"):
        assert key in newest
    for key in ("total_tokens", "cost_usd", "session_id", "user_id", "tags", "service_name"):
        assert key in newest


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "broken"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-01-02", "until": "2026-01-01"}, "until"),
        ({"user_id": "u" * 1001}, "user_id"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-3"}, "offset"),
    ],
)
def test_bad_trace_filters_are_400(api, params: dict[str, str], named: str) -> None:
    response = api.http.get("/api/traces", params=params)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_sessions_and_a_sessions_traces(api, otlp, unique_project: str) -> None:
    p = unique_project
    ids = seed(api, otlp, p)

    sessions = api.http.get("/api/sessions", params={"project": p}).json()
    one = api.http.get(f"/api/sessions/{p}-s1", params={"project": p}).json()

    assert sessions["total"] == 2 and not sessions["has_more"]
    s2, s1 = sessions["sessions"]
    assert (s2["session_id"], s2["trace_count"], s2["users"]) == (f"{p}-s2", 1, [f"{p}-bob"])
    assert (s2["error_count"], s2["traces_with_errors"]) == (1, 1)
    assert (s1["session_id"], s1["trace_count"], s1["error_count"]) == (f"{p}-s1", 2, 0)
    assert s1["first_seen"] == "2026-01-01T00:00:00.000000Z"
    assert s1["last_seen"] == "2026-01-01T00:00:01.000001Z"
    assert s1["projects"] == [p]
    assert one["session_id"] == f"{p}-s1"
    assert [t["trace_id"] for t in one["traces"]] == ids[:2]  # in the order they happened
    assert [t["input_preview"] for t in one["traces"]] == ["q0", "q1"]
    assert one["total"] == 2


def test_sessions_paginate(api, otlp, unique_project: str) -> None:
    seed(api, otlp, unique_project)
    page = api.http.get("/api/sessions", params={"project": unique_project, "limit": 1}).json()
    past = api.http.get(
        "/api/sessions", params={"project": unique_project, "limit": 1, "offset": 5}
    ).json()

    assert (len(page["sessions"]), page["total"], page["has_more"]) == (1, 2, True)
    assert (past["sessions"], past["total"], past["has_more"]) == ([], 2, False)


def test_unknown_session_is_404(api) -> None:
    response = api.http.get("/api/sessions/no-such-session")
    assert response.status_code == 404
    assert "no-such-session" in response.json()["error"]


def test_users(api, otlp, unique_project: str) -> None:
    p = unique_project
    seed(api, otlp, p)

    payload = api.http.get("/api/users", params={"project": p}).json()

    assert payload["total"] == 2
    bob, ann = payload["users"]
    assert (bob["user_id"], bob["trace_count"], bob["session_count"]) == (f"{p}-bob", 1, 1)
    assert (ann["user_id"], ann["trace_count"], ann["session_count"]) == (f"{p}-ann", 2, 1)
    assert ann["last_seen"] == "2026-01-01T00:00:01.000001Z"
    assert bob["error_count"] == 1


def test_trace_detail_has_summary_and_scores(api, otlp, unique_project: str) -> None:
    [first, *_] = seed(api, otlp, unique_project)

    payload = api.http.get(f"/api/traces/{first}").json()

    assert payload["summary"]["trace_id"] == first
    assert payload["summary"]["start_time"] == "2026-01-01T00:00:00.000000Z"
    assert payload["scores"] == []
    assert len(payload["spans"]) == 1


@pytest.mark.parametrize("path", ["/api/nope", "/api/traces/abc/extra", "/api/", "/nowhere"])
def test_unknown_paths_answer_json_404(api, path: str) -> None:
    response = api.http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert path in response.json()["error"]


def test_wrong_method_answers_json_405(api) -> None:
    response = api.http.delete("/api/traces")
    assert response.status_code == 405
    assert "DELETE" in response.json()["error"]
