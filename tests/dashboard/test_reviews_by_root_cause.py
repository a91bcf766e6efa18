"""Review items of one trace grouped under the step that went wrong first: the items carry
their trace's root cause from /api/reviews, and the queue keeps a trace's items together with
the root-cause item leading, or groups the whole queue by that step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.dashboard.review_queue import (
    BY_ROOT_CAUSE,
    by_trace,
    group_items,
    is_root_cause,
    item_label,
    root_cause_note,
)
from loopwise.evals import EvalsExtension
from loopwise.feedback import FeedbackExtension

OpenPage = Callable[..., AppTest]


def traced(client: loopwise.Client, name: str) -> str:
    """triage → retrieve → draft; returns the trace id."""
    with client.span("triage", kind="chain") as root:
        root.set_input(f"Where is my order? ({name})")
        with client.span("retrieve", kind="retriever") as retrieve:
            retrieve.set_output([])
        with client.span("draft", kind="llm") as draft:
            draft.set_output(f"Order ORD-99 ships tomorrow ({name})")
        return root.trace_id


def span_id(store: Store, trace_id: str, name: str) -> str:
    [(found,)] = store.query(
        "SELECT span_id FROM spans WHERE trace_id = ? AND name = ?", [trace_id, name]
    ).rows
    return str(found)


def fail(store: Store, trace_id: str, name: str, evaluator: str) -> None:
    row = ScoreRow(
        project="rc-queue",
        trace_id=trace_id,
        span_id=span_id(store, trace_id, name),
        name=evaluator,
        kind="code",
        source="online",
        passed=False,
    )
    append_scores(store, [row])


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """A collector whose queue holds, for two traces where retrieval came back empty and the
    draft then invented an order id, an item on the draft (picked first) and one on retrieve;
    plus one trace where only the draft failed."""
    db = tmp_path / "rcq.duckdb"
    client = loopwise.Client()
    client.init("rc-queue", db=db, set_global=False, batch=False)
    traces = {name: traced(client, name) for name in ("first", "second", "draft-only")}
    client.shutdown()
    spans: dict[str, dict[str, str]] = {}
    with Store(db) as store:
        for name, trace_id in traces.items():
            spans[name] = {
                "trace": trace_id,
                "retrieve": span_id(store, trace_id, "retrieve"),
                "draft": span_id(store, trace_id, "draft"),
            }
            fail(store, trace_id, "draft", "invented_identifiers")
            if name != "draft-only":
                fail(store, trace_id, "retrieve", "empty_retrieval")
    extensions = [EvalsExtension(online=False), FeedbackExtension(sync_interval_s=None)]
    with CollectorServer(CollectorConfig(db_path=db, port=0), extensions=extensions) as server:
        for name in ("first", "second", "draft-only"):
            steps = ("draft", "retrieve") if name != "draft-only" else ("draft",)
            for step in steps:
                reply = httpx.post(
                    f"{server.url}/api/reviews",
                    json={
                        "trace_id": spans[name]["trace"],
                        "span_id": spans[name][step],
                        "actor": "ana",
                        "reason": f"{step} looks wrong",
                    },
                )
                assert reply.status_code == 201, reply.text
        yield server.url, spans


def test_items_carry_the_root_cause_of_their_trace(
    queue: tuple[str, dict[str, dict[str, str]]],
) -> None:
    url, spans = queue
    items = httpx.get(f"{url}/api/reviews", params={"state": "open"}).json()["items"]
    assert len(items) == 5
    for item in items:
        trace = next(v for v in spans.values() if v["trace"] == item["trace_id"])
        expected = trace["retrieve"] if trace is not spans["draft-only"] else trace["draft"]
        assert item["root_cause_span_id"] == expected
        assert item["root_cause_name"] == ("retrieve" if expected == trace["retrieve"] else "draft")
    reasons = {tuple(i["root_cause_reasons"]) for i in items}
    assert reasons == {("empty_retrieval",), ("invented_identifiers",)}


def test_a_traces_items_stay_together_root_cause_first(
    queue: tuple[str, dict[str, dict[str, str]]],
) -> None:
    url, _spans = queue
    items = httpx.get(f"{url}/api/reviews", params={"state": "open"}).json()["items"]
    ordered = by_trace(items)
    traces = [i["trace_id"] for i in ordered]
    # each trace's items are contiguous, and the first of each block is its root cause
    blocks = [t for n, t in enumerate(traces) if n == 0 or traces[n - 1] != t]
    assert len(blocks) == len(set(traces)) == 3
    for n, item in enumerate(ordered):
        if n == 0 or traces[n - 1] != item["trace_id"]:
            assert is_root_cause(item), item
    [by_step_retrieve, by_step_draft] = group_items(items, [], by=BY_ROOT_CAUSE)
    assert by_step_retrieve.title == "Went wrong first at step retrieve (4)"
    assert by_step_draft.title == "Went wrong first at step draft (1)"
    consequence = next(i for i in items if not is_root_cause(i))
    assert item_label(consequence).startswith("after retrieve · draft")
    note = root_cause_note(consequence, items)
    assert note == (
        "Its trace went wrong first at step retrieve (empty_retrieval); 2 open items in this trace."
    )


def test_the_page_groups_the_queue_by_the_step_that_went_wrong_first(
    open_page: OpenPage, queue: tuple[str, dict[str, dict[str, str]]]
) -> None:
    url, _spans = queue
    at = open_page("reviews", url)
    at.radio(key="reviews.grouping").set_value(BY_ROOT_CAUSE).run()
    assert not at.exception
    options = at.selectbox(key="reviews.group").options
    assert options == [
        "Went wrong first at step retrieve (4)",
        "Went wrong first at step draft (1)",
    ]
    assert "5 open items in 2 groups; steps with most items first." in [c.value for c in at.caption]
    labels = at.selectbox(key="reviews.position").options
    assert labels[0].startswith("1. root cause · retrieve")
    assert labels[1].startswith("2. after retrieve · draft")
    assert any(
        i.value.startswith("This item is the root cause of its trace (empty_retrieval)")
        for i in at.info
    )
