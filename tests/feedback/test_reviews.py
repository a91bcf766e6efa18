"""Review items: opening them (picks, flags, thumbs-down), the state machine, corrections with
verdicts, append-only history and optimistic concurrency."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.feedback import (
    Conflict,
    FeedbackError,
    NotFound,
    act,
    get_item,
    item_history,
    list_corrections,
    list_items,
    pick_item,
    sync_review_items,
)


def counts(store: Store) -> dict[str, int]:
    """Rows in every table a review action writes."""
    tables = ("review_items", "review_events", "corrections", "scores")
    return {t: int(store.query(f"SELECT count(*) FROM {t}").rows[0][0]) for t in tables}


def add_flag(store: Store, spans: Any, flag_id: str, **overrides: Any) -> None:
    """A flag row as the evaluator rules write it (the real ``flags`` table)."""
    row = {
        "flag_id": flag_id,
        "project": spans.project,
        "trace_id": spans.trace1,
        "span_id": spans.answer1,
        "span_name": "answer",
        "rule": "invented_identifiers",
        "cause_key": f"cause-{flag_id}",
        "reason": "names ORD-99999, which is in neither the input nor the context",
        "severity": "high",
        "evaluator": "invented_identifiers",
        "created_at": dt.datetime(2026, 1, 1),
        **overrides,
    }
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    store.query(f"INSERT INTO flags ({columns}) VALUES ({marks})", list(row.values()))


def test_pick_opens_an_item_on_a_stored_span(store: Store, spans: Any) -> None:
    item = pick_item(
        store,
        trace_id=spans.trace1,
        span_id=spans.answer1,
        actor="ana",
        reason="order id looks made up",
    )
    assert (item.state, item.version, item.source, item.span_name) == (
        "open",
        1,
        "manual",
        "answer",
    )
    assert (item.project, item.created_by, item.reason) == (
        spans.project,
        "ana",
        "order id looks made up",
    )
    events = item_history(store, item.item_id)
    assert [(e.version, e.action, e.state, e.actor) for e in events] == [(1, "open", "open", "ana")]


def test_pick_without_span_takes_the_root(store: Store, spans: Any) -> None:
    item = pick_item(store, trace_id=spans.trace2, span_id=None, actor="ana")
    assert (item.span_id, item.span_name) == (spans.root2, "triage")


@pytest.mark.parametrize(
    ("trace", "span", "error"),
    [
        ("unknown_trace", None, NotFound),
        ("trace1", "unknown_span", NotFound),
        ("not-hex", None, FeedbackError),
        ("trace1", "xyz", FeedbackError),
    ],
)
def test_picks_of_unknown_or_malformed_spans_change_nothing(
    store: Store, spans: Any, trace: str, span: str | None, error: type[Exception]
) -> None:
    before = counts(store)
    trace_value = getattr(spans, trace, trace)
    span_value = getattr(spans, span, span) if span else None
    with pytest.raises(error):
        pick_item(store, trace_id=trace_value, span_id=span_value, actor="ana")
    assert counts(store) == before


def test_a_span_with_an_open_item_cannot_be_picked_twice(store: Store, spans: Any) -> None:
    first = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    with pytest.raises(Conflict) as caught:
        pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="bo")
    assert caught.value.details["item_id"] == first.item_id


def test_actor_is_required(store: Store, spans: Any) -> None:
    for actor in (None, "", "   ", 42):
        with pytest.raises(FeedbackError, match="actor"):
            pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor=actor)


def test_correct_stores_correction_verdicts_and_event_together(store: Store, spans: Any) -> None:
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    item = act(store, item.item_id, "assign", actor="ana", assignee="bo", expected_version=1)
    assert (item.version, item.assignee, item.state) == (2, "bo", "open")
    done = act(
        store,
        item.item_id,
        "correct",
        actor="bo",
        expected_version=2,
        corrected_output="Your order ORD-10001 ships tomorrow.",
        comment="Only cite order ids that appear in the ticket.",
        verdicts={"helpfulness_judge": "pass", "invented_identifiers": False},
    )
    assert (done.state, done.version, done.assignee) == ("corrected", 3, "bo")
    [correction] = list_corrections(store, item_id=item.item_id)
    assert correction.original_output == spans.output1
    assert correction.corrected_output == "Your order ORD-10001 ships tomorrow."
    assert (correction.trace_id, correction.span_id, correction.author) == (
        spans.trace1,
        spans.answer1,
        "bo",
    )
    assert correction.verdicts == {"helpfulness_judge": "pass", "invented_identifiers": "fail"}
    assert (correction.prompt_name, correction.prompt_version) == ("reply", 1)
    assert correction.prompt_variables == {"question": spans.question1}
    human = store.query(
        "SELECT name, kind, source, label, passed, value, author, span_id FROM scores "
        "WHERE kind = 'human' ORDER BY name"
    ).rows
    assert human == [
        ("helpfulness_judge", "human", "reviewer", "pass", True, 1.0, "bo", spans.answer1),
        ("invented_identifiers", "human", "reviewer", "fail", False, 0.0, "bo", spans.answer1),
    ]
    history = item_history(store, item.item_id)
    assert [e.action for e in history] == ["open", "assign", "correct"]
    assert history[-1].correction_id == correction.correction_id


def test_stale_expected_version_is_a_conflict_and_writes_nothing(store: Store, spans: Any) -> None:
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    act(store, item.item_id, "comment", actor="ana", comment="looking", expected_version=1)
    before = counts(store)
    with pytest.raises(Conflict) as caught:
        act(
            store,
            item.item_id,
            "correct",
            actor="bo",
            expected_version=1,
            corrected_output="x",
            verdicts={"judge": "fail"},
        )
    assert caught.value.details == {"current_version": 2, "state": "open"}
    assert counts(store) == before


def test_closed_items_refuse_closing_actions(store: Store, spans: Any) -> None:
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    act(store, item.item_id, "approve", actor="ana")
    for action, extra in (
        ("approve", {}),
        ("reject", {}),
        ("assign", {"assignee": "x"}),
        ("correct", {"corrected_output": "y"}),
    ):
        with pytest.raises(Conflict, match="approved"):
            act(store, item.item_id, action, actor="bo", **extra)
    reopened = act(store, item.item_id, "reopen", actor="bo", comment="not fine after all")
    assert (reopened.state, reopened.version) == ("open", 3)
    assert [e.state for e in item_history(store, item.item_id)] == ["open", "approved", "open"]


@pytest.mark.parametrize(
    ("action", "extra", "message"),
    [
        ("delete", {}, "unknown action"),
        ("correct", {}, "corrected_output is required"),
        ("correct", {"corrected_output": "  "}, "corrected_output is required"),
        ("approve", {"corrected_output": "x"}, "goes with the correct action"),
        ("reject", {"verdicts": {"judge": "pass"}}, "verdicts go with"),
        ("approve", {"verdicts": ["pass"]}, "verdicts must be an object"),
        ("approve", {"verdicts": {"judge": ""}}, "verdict for 'judge'"),
        ("comment", {}, "needs text"),
        ("approve", {"expected_version": -1}, "non-negative"),
        ("approve", {"expected_version": "2"}, "non-negative"),
    ],
)
def test_bad_actions_are_refused_before_anything_is_written(
    store: Store, spans: Any, action: str, extra: dict[str, Any], message: str
) -> None:
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    before = counts(store)
    with pytest.raises(FeedbackError, match=message):
        act(store, item.item_id, action, actor="bo", **extra)
    assert counts(store) == before
    assert get_item(store, item.item_id).version == 1


def test_unknown_item_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        act(store, "rev_missing", "approve", actor="ana")


def test_concurrent_reviewers_never_overwrite_each_other(store: Store, spans: Any) -> None:
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def review(n: int) -> None:
        barrier.wait()
        try:
            act(
                store,
                item.item_id,
                "correct",
                actor=f"reviewer-{n}",
                expected_version=1,
                corrected_output=f"fix {n}",
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=review, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
    assert len(list_corrections(store, item_id=item.item_id)) == 1
    assert [e.version for e in item_history(store, item.item_id)] == [1, 2]


def test_flags_open_items_once_and_decisions_label_the_flagging_evaluator(
    store: Store, spans: Any
) -> None:
    add_flag(store, spans, "flag-1")
    add_flag(
        store,
        spans,
        "flag-2",
        trace_id=spans.trace2,
        span_id=spans.answer2,
        evaluator="refusal",
        rule="refusal",
        severity="medium",
    )
    add_flag(store, spans, "flag-3", status="suppressed")
    assert sync_review_items(store) == {"flag": 2, "end_user": 0}
    assert sync_review_items(store) == {"flag": 0, "end_user": 0}
    items = {i.source_id: i for i in list_items(store, source="flag")}
    assert set(items) == {"flag-1", "flag-2"}
    assert (items["flag-1"].evaluator, items["flag-1"].severity) == ("invented_identifiers", "high")
    assert items["flag-1"].reason.startswith("names ORD-99999")
    act(store, items["flag-1"].item_id, "correct", actor="bo", corrected_output="fixed")
    act(store, items["flag-2"].item_id, "approve", actor="bo", comment="not a refusal")
    labels = store.query(
        "SELECT name, label, passed FROM scores WHERE kind = 'human' ORDER BY name"
    ).rows
    # Correcting confirms the flag (the judge was right); approving contradicts it.
    assert labels == [("invented_identifiers", "fail", False), ("refusal", "pass", True)]


def test_thumbs_down_from_end_users_opens_items(store: Store, spans: Any) -> None:
    append_scores(
        store,
        [
            ScoreRow(
                project=spans.project,
                trace_id=spans.trace1,
                name="thumbs",
                kind="human",
                source="end_user",
                value=0.0,
                label="down",
                comment="wrong order number",
            ),
            ScoreRow(
                project=spans.project,
                trace_id=spans.trace2,
                name="thumbs",
                kind="human",
                source="end_user",
                value=1.0,
                label="up",
            ),
            ScoreRow(
                project=spans.project,
                trace_id=spans.trace2,
                span_id=spans.answer2,
                name="thumbs",
                kind="human",
                source="end_user",
                label="down",
            ),
        ],
    )
    assert sync_review_items(store) == {"flag": 0, "end_user": 2}
    items = list_items(store, source="end_user")
    by_trace = {i.trace_id: i for i in items}
    assert by_trace[spans.trace1].reason == "wrong order number"
    assert by_trace[spans.trace1].span_id is None
    # A trace-level thumbs-down is corrected on the trace's root span.
    act(store, by_trace[spans.trace1].item_id, "correct", actor="bo", corrected_output="fixed")
    [correction] = list_corrections(store, item_id=by_trace[spans.trace1].item_id)
    assert correction.span_id == spans.root1


def test_list_filters(store: Store, spans: Any) -> None:
    first = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    second = pick_item(store, trace_id=spans.trace2, span_id=spans.answer2, actor="ana")
    act(store, first.item_id, "assign", actor="ana", assignee="bo")
    act(store, second.item_id, "reject", actor="ana", comment="duplicate")
    assert [i.item_id for i in list_items(store, state="open")] == [first.item_id]
    assert [i.item_id for i in list_items(store, assignee="bo")] == [first.item_id]
    assert [i.item_id for i in list_items(store, state="rejected")] == [second.item_id]
    assert {i.item_id for i in list_items(store)} == {first.item_id, second.item_id}
    with pytest.raises(FeedbackError, match="unknown state"):
        list_items(store, state="closed")
