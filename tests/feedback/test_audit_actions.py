"""Administrative actions leave an audit entry written in their own transaction: label moves
(also those made when a version is created), proposal adoptions and rejections. A refused
action leaves none; an entry that cannot be written undoes the action. The log is served by
GET /api/audit and ``loopwise audit list``, and user SQL cannot change it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from loopwise.cli import app
from loopwise.collector.server import CollectorServer
from loopwise.collector.store import Store, audit_entries
from loopwise.feedback import (
    Conflict,
    HttpBackend,
    act,
    adopt,
    create_version,
    get_version,
    pick_item,
    propose,
    reject,
    set_label,
)

TEMPLATE = "Answer the customer politely.\n\nQuestion: {{question}}"


def correct_first_answer(store: Store, spans: Any) -> None:
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    act(
        store,
        item.item_id,
        "correct",
        actor="ana",
        corrected_output="It ships tomorrow.",
        comment="Only cite order ids from the ticket.",
    )


def test_label_moves_and_proposal_decisions_are_audited(store: Store, spans: Any) -> None:
    create_version(store, "reply", TEMPLATE, actor="ana", labels=["production"])
    create_version(store, "reply", TEMPLATE + "\nBe brief.", actor="ana")
    set_label(
        store, "reply", "production", 2, actor="bo", reason="v2 scores better", expected_version=1
    )
    set_label(store, "reply", "staging", None, actor="bo")  # removing a label is a move too
    correct_first_answer(store, spans)
    first = propose(store, "reply", actor="loopwise")
    adopt(store, first.proposal_id, actor="cy", label="staging", message="looks right")
    create_version(store, "other", TEMPLATE, actor="ana")  # no label: content, not audited
    entries = audit_entries(store)
    assert [(e.actor, e.action, e.target) for e in reversed(entries)] == [
        ("ana", "prompt.label.move", "prompt:reply"),
        ("bo", "prompt.label.move", "prompt:reply"),
        ("bo", "prompt.label.move", "prompt:reply"),
        ("cy", "prompt.label.move", "prompt:reply"),
        ("cy", "prompt.proposal.adopt", "prompt:reply"),
    ]
    moves = [e.details for e in reversed(entries) if e.action == "prompt.label.move"]
    assert moves[0] == {
        "label": "production",
        "from_version": None,
        "to_version": 1,
        "reason": None,
    }
    assert moves[1] == {
        "label": "production",
        "from_version": 1,
        "to_version": 2,
        "reason": "v2 scores better",
    }
    assert moves[2]["to_version"] is None and moves[3]["to_version"] == 3
    adoption = entries[0].details
    assert adoption == {
        "proposal_id": first.proposal_id,
        "base_version": 2,
        "version": 3,
        "label": "staging",
        "forced": False,
        "message": "looks right",
    }


def test_rejections_are_audited_and_refused_actions_leave_no_entry(
    store: Store, spans: Any
) -> None:
    create_version(store, "reply", TEMPLATE, actor="ana", labels=["production"])
    correct_first_answer(store, spans)
    proposal = propose(store, "reply", actor="loopwise")
    reject(store, proposal.proposal_id, actor="cy", reason="too long")
    before = audit_entries(store)
    assert before[0].action == "prompt.proposal.reject"
    assert before[0].details == {"proposal_id": proposal.proposal_id, "reason": "too long"}
    with pytest.raises(Conflict):
        set_label(store, "reply", "production", 1, actor="bo", expected_version=7)
    with pytest.raises(Conflict):
        adopt(store, proposal.proposal_id, actor="cy")  # already decided
    assert audit_entries(store) == before


def test_an_entry_that_cannot_be_written_undoes_the_action(store: Store) -> None:
    create_version(store, "reply", TEMPLATE, actor="ana", labels=["production"])
    create_version(store, "reply", TEMPLATE + "\nv2", actor="ana")
    with store.transaction() as cur:  # a damaged file: the audit table is gone
        cur.execute("ALTER TABLE audit_log RENAME TO audit_log_lost")
    with pytest.raises(Exception, match="audit_log"):
        set_label(store, "reply", "production", 2, actor="bo")
    assert get_version(store, "reply", label="production").version == 1


def test_the_log_over_http_and_the_cli(collector: CollectorServer, tmp_path: Path) -> None:
    api = HttpBackend(collector.url)
    api.call(
        "POST",
        "/api/prompts/reply/versions",
        body={"template": TEMPLATE, "actor": "ana", "labels": ["production"]},
    )
    api.call(
        "POST", "/api/prompts/reply/versions", body={"template": TEMPLATE + "!", "actor": "ana"}
    )
    api.call(
        "POST",
        "/api/prompts/reply/labels",
        body={"label": "production", "version": 2, "actor": "bo", "expected_version": 1},
    )
    api.close()
    http = httpx.Client(base_url=collector.url, timeout=30)
    entries = http.get("/api/audit").json()["entries"]
    assert [(e["actor"], e["details"]["to_version"]) for e in entries] == [("bo", 2), ("ana", 1)]
    assert http.get("/api/audit", params={"actor": "ana"}).json()["entries"][0]["seq"] == 1
    for params, message in (
        ({"limit": "0"}, "limit must be between"),
        ({"limit": "many"}, "limit must be an integer"),
        ({"since": "yesterday"}, "since must be an ISO 8601 time"),
        ({"actor": "x" * 1001}, "actor is longer"),
    ):
        response = http.get("/api/audit", params=params)
        assert response.status_code == 400 and message in response.json()["error"], params
    for statement in (
        "WITH d AS (DELETE FROM audit_log RETURNING 1) SELECT count(*) FROM d",
        "WITH u AS (UPDATE audit_log SET actor = 'mallory' RETURNING 1) SELECT * FROM u",
    ):
        assert http.post("/api/sql", json={"sql": statement}).status_code == 400
    assert http.get("/api/audit").json()["entries"] == entries
    http.close()
    runner = CliRunner()
    listed = runner.invoke(app, ["audit", "list", "--endpoint", collector.url, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == entries
    table = runner.invoke(
        app,
        ["audit", "list", "--endpoint", collector.url, "--action", "prompt", "--since", "1h"],
        env={"COLUMNS": "200"},
    )
    assert (
        table.exit_code == 0 and "prompt.label.move" in table.stdout and "2 row(s)" in table.stdout
    )
    bad = runner.invoke(app, ["audit", "list", "--endpoint", collector.url, "--since", "soon"])
    assert bad.exit_code == 2 and "not an ISO 8601 time" in bad.output


def test_the_cli_reads_a_file(db_path: Path) -> None:
    with Store(db_path) as store:
        create_version(store, "reply", TEMPLATE, actor="ana", labels=["production"])
    result = CliRunner().invoke(app, ["audit", "list", "--db", str(db_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert (entry["actor"], entry["action"], entry["target"]) == (
        "ana",
        "prompt.label.move",
        "prompt:reply",
    )
    missing = CliRunner().invoke(app, ["audit", "list", "--db", str(db_path.parent / "no.duckdb")])
    assert missing.exit_code == 1 and "no database" in missing.output
