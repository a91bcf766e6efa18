"""Review rubrics: which evaluators a reviewer gives a verdict on per review queue (a
project's items). Set and read over HTTP and on a file, versioned with a stale version
refused, audited; bad input is a clear 400 that changes nothing; an item's rubric is its
project's or, with none set, the evaluators whose flags are on it; verdicts given on it reach
judge calibration and reviewer agreement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwise.collector.server import CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores, audit_entries
from loopwise.feedback import (
    FeedbackError,
    LocalBackend,
    NotFound,
    act,
    calibrate,
    get_item,
    item_rubric,
    list_items,
    pick_item,
    reviewer_agreement,
    set_rubric,
    sync_review_items,
)

from .test_reviews import add_flag

PROJECT = "fb-test"  # the seeded spans' project (conftest.py)
RUBRIC = "/api/reviews/rubric"
COUNTS = (
    "SELECT (SELECT count(*) FROM review_rubrics) AS rubrics, "
    "(SELECT count(*) FROM audit_log) AS audit"
)


def post(server: CollectorServer, path: str, body: Any) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=30)


def test_a_rubric_is_set_read_versioned_and_audited_over_http(
    collector: CollectorServer, sql: Any
) -> None:
    unset = httpx.get(collector.url + RUBRIC, params={"project": PROJECT}).json()
    assert (unset["set"], unset["version"], unset["evaluators"], unset["history"]) == (
        False,
        0,
        [],
        [],
    )
    set_ = post(
        collector,
        RUBRIC,
        {
            "project": PROJECT,
            "actor": "lead",
            "evaluators": ["refusal", "tone"],
            "reason": "what support cares about",
            "expected_version": 0,
        },
    )
    assert set_.status_code == 200, set_.text
    rubric = set_.json()
    assert (rubric["set"], rubric["version"], rubric["evaluators"], rubric["set_by"]) == (
        True,
        1,
        ["refusal", "tone"],
        "lead",
    )
    assert len(rubric["warnings"]) == 2 and "'refusal' has no scores" in rubric["warnings"][0]

    stale = post(
        collector,
        RUBRIC,
        {"project": PROJECT, "actor": "bo", "evaluators": ["tone"], "expected_version": 0},
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 1
    assert "someone changed it meanwhile" in stale.json()["error"]
    same = post(
        collector, RUBRIC, {"project": PROJECT, "actor": "bo", "evaluators": ["refusal", "tone"]}
    )
    assert same.json()["version"] == 1  # a change that changes nothing records nothing

    listed = httpx.get(collector.url + "/api/reviews/rubrics").json()["rubrics"]
    assert [(r["project"], r["evaluators"]) for r in listed] == [(PROJECT, ["refusal", "tone"])]
    cleared = post(collector, RUBRIC, {"project": PROJECT, "actor": "bo", "clear": True})
    assert (cleared.json()["set"], cleared.json()["version"]) == (False, 2)
    read = httpx.get(collector.url + RUBRIC, params={"project": PROJECT}).json()
    assert [(v["version"], v["evaluators"], v["set_by"]) for v in read["history"]] == [
        (2, [], "bo"),
        (1, ["refusal", "tone"], "lead"),
    ]
    assert read["history"][1]["reason"] == "what support cares about"
    assert httpx.get(collector.url + "/api/reviews/rubrics").json() == {"rubrics": []}

    audit = httpx.get(collector.url + "/api/audit", params={"action": "review.rubric"}).json()
    assert [
        (e["actor"], e["target"], e["project"], e["details"]["version"], e["details"]["evaluators"])
        for e in audit["entries"]
    ] == [
        ("bo", f"rubric:{PROJECT}", PROJECT, 2, None),
        ("lead", f"rubric:{PROJECT}", PROJECT, 1, ["refusal", "tone"]),
    ]
    assert sql(collector, COUNTS) == [{"rubrics": 2, "audit": 2}]


BAD_RUBRICS = [
    ({"project": PROJECT, "actor": "a", "evaluators": []}, "a rubric needs at least one evaluator"),
    (
        {"project": PROJECT, "actor": "a", "evaluators": ["tone", "has space"]},
        "evaluator name 'has space' is not an evaluator's name",
    ),
    (
        {"project": PROJECT, "actor": "a", "evaluators": ["9lives"]},
        "evaluator name '9lives' is not an evaluator's name",
    ),
    (
        {"project": PROJECT, "actor": "a", "evaluators": ["x" * 101]},
        "is not an evaluator's name",
    ),
    ({"project": PROJECT, "actor": "a", "evaluators": "tone"}, "evaluators must be a list"),
    (
        {"project": PROJECT, "actor": "a", "evaluators": ["tone", 7]},
        "evaluators.1 must be a string",
    ),
    (
        {"project": PROJECT, "actor": "a", "evaluators": {"tone": "pass"}},
        "evaluators must be a list",
    ),
    ({"project": PROJECT, "actor": "a"}, "evaluators is required"),
    ({"project": PROJECT, "actor": "a", "evaluators": ["tone", "tone"]}, "'tone' is listed twice"),
    (
        {"project": PROJECT, "actor": "a", "evaluators": [f"e{i}" for i in range(51)]},
        "at most 50 evaluators",
    ),
    (
        {"project": PROJECT, "actor": "a", "evaluators": ["tone"], "clear": True},
        "give evaluators or clear, not both",
    ),
    ({"project": PROJECT, "actor": "a", "clear": "yes"}, "clear must be a boolean"),
    ({"project": 7, "actor": "a", "evaluators": ["tone"]}, "project must be a string"),
    ({"actor": "a", "evaluators": ["tone"]}, "project is required"),
    ({"project": "", "actor": "a", "evaluators": ["tone"]}, "project is required"),
    ({"project": " fb-test", "actor": "a", "evaluators": ["tone"]}, "without surrounding spaces"),
    ({"project": PROJECT, "evaluators": ["tone"]}, "actor is required"),
    (
        {"project": PROJECT, "actor": "a", "evaluators": ["tone"], "expected_version": "1"},
        "expected_version must be an integer",
    ),
    ([PROJECT, ["tone"]], "the request body must be a JSON object"),
]


@pytest.mark.parametrize(("body", "message"), BAD_RUBRICS)
def test_bad_rubrics_are_a_clear_400_on_both_transports_and_change_nothing(
    shared_collector: CollectorServer, db_path: Path, sql: Any, body: Any, message: str
) -> None:
    before = sql(shared_collector, COUNTS)
    reply = post(shared_collector, RUBRIC, body)
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["error"]
    assert sql(shared_collector, COUNTS) == before
    with LocalBackend(db_path) as local:
        with pytest.raises(FeedbackError) as caught:
            local.call("POST", RUBRIC, body=body)
        assert (caught.value.status, str(caught.value)) == (400, reply.json()["error"])
        assert local.call("GET", RUBRIC, query={"project": PROJECT})["version"] == 0
        assert local.store.query("SELECT count(*) FROM audit_log").rows == [(0,)]


def test_reading_needs_a_project_and_an_unknown_item_has_no_rubric(
    shared_collector: CollectorServer,
) -> None:
    missing = httpx.get(shared_collector.url + RUBRIC)
    assert (missing.status_code, missing.json()["error"]) == (400, "project is required")
    unknown = httpx.get(shared_collector.url + "/api/reviews/rev_nothing/rubric")
    assert unknown.status_code == 404 and "no review item" in unknown.json()["error"]


def test_an_item_offers_its_flags_evaluators_until_its_project_has_a_rubric(
    store: Store, spans: Any
) -> None:
    add_flag(store, spans, "f-own", evaluator="invented_identifiers", severity="medium")
    add_flag(store, spans, "f-tone", evaluator="tone", severity="low", cause_key="c-tone")
    add_flag(store, spans, "f-pii", evaluator="pii", severity="high", cause_key="c-pii")
    add_flag(store, spans, "f-rule", evaluator=None, rule="latency", cause_key="c-latency")
    add_flag(store, spans, "f-other", evaluator="other_span", span_id=spans.root1, cause_key="c-o")
    sync_review_items(store)
    own = next(i for i in list_items(store, state="open") if i.source_id == "f-own")
    rubric = item_rubric(store, own.item_id)
    # its own flag's evaluator first, then the others on its span, most severe first
    assert (rubric.source, rubric.evaluators, rubric.implied) == (
        "flags",
        ("invented_identifiers", "pii", "tone"),
        "invented_identifiers",
    )
    picked = pick_item(store, trace_id=spans.trace2, span_id=spans.answer2, actor="ana")
    assert item_rubric(store, picked.item_id).evaluators == ()  # nothing flagged it

    set_rubric(store, project=PROJECT, actor="lead", evaluators=["tone", "helpfulness"])
    for item_id in (own.item_id, picked.item_id):
        assert item_rubric(store, item_id).to_dict() == {
            "item_id": item_id,
            "project": PROJECT,
            "evaluators": ["tone", "helpfulness"],
            "source": "rubric",
            "rubric_version": 1,
            "implied": "invented_identifiers" if item_id == own.item_id else None,
        }
    with pytest.raises(NotFound):
        item_rubric(store, "rev_missing")


def test_a_held_output_offers_the_checks_that_failed(db_path: Path, spans: Any) -> None:
    with LocalBackend(db_path) as api:
        held = api.call(
            "POST",
            "/api/reviews/held",
            body={
                "hold_id": "h1",
                "project": PROJECT,
                "trace_id": spans.trace1,
                "span_id": spans.answer1,
                "output": "Your order ORD-99999 ships tomorrow.",
                "check": {"passed": False, "failed": ["invented_identifiers", "tone"]},
            },
        )
        rubric = api.call("GET", f"/api/reviews/{held['item_id']}/rubric")
    assert (rubric["source"], rubric["evaluators"], rubric["implied"]) == (
        "flags",
        ["invented_identifiers", "tone"],
        "invented_identifiers",
    )


def test_verdicts_on_the_rubric_reach_calibration_and_reviewer_agreement(
    store: Store, spans: Any
) -> None:
    append_scores(
        store,
        [
            ScoreRow(
                PROJECT,
                spans.trace1,
                "tone",
                "llm",
                "tone",
                value=1.0,
                passed=True,
                span_id=spans.answer1,
                created_at=dt.datetime(2026, 1, 1),
            )
        ],
    )
    rubric = set_rubric(store, project=PROJECT, actor="lead", evaluators=["tone"])
    assert rubric.warnings == ()  # tone scores in the project
    first = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    act(store, first.item_id, "approve", actor="ana", verdicts={"tone": "pass"})
    act(store, first.item_id, "reopen", actor="lead")
    act(store, first.item_id, "approve", actor="bo", verdicts={"tone": "fail"})
    assert get_item(store, first.item_id).state == "approved"
    [report] = calibrate(store, project=PROJECT, min_labels=1)
    assert (report.evaluator, report.labels) == ("tone", 1)  # the newest verdict: bo's fail
    assert (report.accuracy, report.confusion) == (0.0, [[0, 1], [0, 0]])  # human fail, judge pass
    [agreement] = reviewer_agreement(store, project=PROJECT, min_pairs=1)
    assert (agreement.evaluator, agreement.pairs, agreement.agreement) == ("tone", 1, 0.0)


def test_setting_a_rubric_is_one_audit_entry_or_nothing(store: Store) -> None:
    set_rubric(store, project=PROJECT, actor="lead", evaluators=["tone"], reason="start small")
    with pytest.raises(FeedbackError):
        set_rubric(store, project=PROJECT, actor="lead", evaluators=[])
    set_rubric(store, project=PROJECT, actor="lead", clear=True)
    set_rubric(store, project=PROJECT, actor="lead", clear=True)  # already the default
    entries = audit_entries(store, action="review.rubric")
    assert [(e.details["from_version"], e.details["version"]) for e in entries] == [(1, 2), (0, 1)]
    assert entries[1].details["reason"] == "start small"
