"""The root-cause span: the earliest failing step that no other failure explains."""

from __future__ import annotations

from pathlib import Path

import httpx

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores


def traced(client: loopwise.Client, *, retrieval_fails: bool, draft_fails: bool) -> str:
    """triage → retrieve → draft, failing as told; returns the trace id."""
    with client.span("triage", kind="chain") as root:
        with client.span("retrieve", kind="retriever") as retrieve:
            retrieve.set_output([] if retrieval_fails else ["ORD-1: shipped"])
        with client.span("draft", kind="llm") as draft:
            draft.set_output("ORD-99 ships" if draft_fails else "ORD-1 ships")
        return root.trace_id


def fail(store: Store, trace_id: str, span_name: str, evaluator: str) -> None:
    """A failed score on the named span of the trace."""
    [(span_id, project)] = store.query(
        "SELECT span_id, project FROM spans WHERE trace_id = ? AND name = ?", [trace_id, span_name]
    ).rows
    row = ScoreRow(
        project=project,
        trace_id=trace_id,
        span_id=span_id,
        name=evaluator,
        kind="code",
        source="online",
        passed=False,
    )
    append_scores(store, [row])


def test_root_cause_is_the_first_failure_nothing_explains(tmp_path: Path) -> None:
    db = tmp_path / "rc.duckdb"
    client = loopwise.Client()
    client.init("rc", db=db, set_global=False, batch=False)
    both = traced(client, retrieval_fails=True, draft_fails=True)
    only_draft = traced(client, retrieval_fails=False, draft_fails=True)
    clean = traced(client, retrieval_fails=False, draft_fails=False)
    client.shutdown()
    with Store(db) as store:
        fail(store, both, "retrieve", "empty_retrieval")
        fail(store, both, "draft", "invented_identifiers")
        fail(store, both, "triage", "answered")  # the parent fails because its children did
        fail(store, only_draft, "draft", "invented_identifiers")
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        answer = {
            t: httpx.get(f"{server.url}/api/traces/{t}").json() for t in (both, only_draft, clean)
        }
        steps = httpx.get(f"{server.url}/api/overview/root_causes").json()["steps"]

    assert answer[both]["root_cause"]["name"] == "retrieve"
    assert answer[both]["root_cause"]["reasons"] == ["empty_retrieval"]
    assert answer[only_draft]["root_cause"]["name"] == "draft"
    assert answer[clean]["root_cause"] is None
    assert [(s["name"], s["traces"]) for s in steps] == [("draft", 1), ("retrieve", 1)]
    assert steps[1]["example_traces"] == [both]


def test_an_error_status_counts_as_a_failure(tmp_path: Path) -> None:
    db = tmp_path / "err.duckdb"
    client = loopwise.Client()
    client.init("rc", db=db, set_global=False, batch=False)
    try:
        with client.span("triage", kind="chain") as root:
            trace_id = root.trace_id
            with client.span("classify", kind="llm"):
                raise RuntimeError("model down")
    except RuntimeError:
        pass
    client.shutdown()
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        cause = httpx.get(f"{server.url}/api/traces/{trace_id}").json()["root_cause"]
    assert (cause["name"], cause["reasons"]) == ("classify", ["error status"])
