"""The demo closes the loop end to end, through a real collector's API only: a fault is
flagged, a person corrects it, the correction lands in a new dataset version, a proposed
prompt version (adopted by a person) fixes it, and the eval on the new dataset version and
the next production traffic show the improvement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.demo import (
    REPLY_PROMPT,
    Fault,
    evaluate_reply_prompt,
    invented_order_ids,
    load_tickets,
    register_demo_prompts,
    run_traffic,
    ticket_id_of,
)
from loopwise.evals import EvalsExtension
from loopwise.feedback import FeedbackExtension, HttpBackend

SEED = 7
TRACES = 40  # one round over the shipped tickets: every ticket once
REASON = "Only cite order ids that appear in the ticket; never invent an order number."


def send_traffic(url: str, folder: Path) -> Any:
    """One demo run of TRACES tickets through a fresh SDK client (fresh prompt cache)."""
    client = loopwise.Client()
    client.init(
        "support-bot",
        endpoint=url,
        batch=False,
        set_global=False,
        spool_dir=folder / "spool",
        prompt_cache_dir=folder / "prompts",
    )
    try:
        return run_traffic(client, count=TRACES, interval_s=0, seed=SEED, time_scale=0)
    finally:
        client.shutdown()


def score_replies(url: str, run_id: str) -> None:
    """Score every draft_reply span with invented_identifiers (its failures open flags)."""
    response = httpx.post(
        url + "/api/evals/score",
        timeout=60,
        json={
            "evaluators": ["invented_identifiers"],
            "filters": {"names": ["draft_reply"]},
            "run_id": run_id,
            "limit": 1000,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["done"]


def span_of(url: str, trace_id: str, span_id: str) -> dict[str, Any]:
    spans = httpx.get(f"{url}/api/traces/{trace_id}", timeout=30).json()["spans"]
    return next(span for span in spans if span["span_id"] == span_id)


def test_a_correction_becomes_a_dataset_version_and_a_better_prompt(tmp_path: Path) -> None:
    tickets = {ticket["id"]: ticket for ticket in load_tickets()}
    config = CollectorConfig(db_path=tmp_path / "loop.duckdb", port=0)
    extensions = [EvalsExtension(online=False), FeedbackExtension(sync_interval_s=None)]
    with CollectorServer(config, extensions) as server, HttpBackend(server.url) as api:
        url = server.url
        assert register_demo_prompts(api) == ["triage-classify", "triage-reply"]
        before = send_traffic(url, tmp_path / "run1")
        assert before.faults[Fault.INVENTED_ORDER_ID] >= 2

        # 1. A fault is flagged, and the flag opens a review item.
        score_replies(url, "before")
        assert api.call("POST", "/api/reviews/sync")["opened"]["flag"] >= 2
        items = api.call("GET", "/api/reviews", query={"source": "flag", "limit": 1000})["items"]
        flagged = [i for i in items if i["evaluator"] == "invented_identifiers"]
        assert len(flagged) == before.faults[Fault.INVENTED_ORDER_ID]
        item, span, ticket = None, None, None
        for candidate in flagged:
            span = span_of(url, candidate["trace_id"], candidate["span_id"])
            ticket = tickets[json.loads(span["metadata"])["ticket_id"]]
            if ticket["order_id"]:
                item = candidate
                break
        assert item is not None and span is not None and ticket is not None
        invented = invented_order_ids(span["output"], ticket)
        assert invented

        # 2. A person corrects it.
        fixed = span["output"]
        for order in invented:
            fixed = fixed.replace(order, ticket["order_id"])
        done = api.call(
            "POST",
            f"/api/reviews/{item['item_id']}/actions",
            body={
                "action": "correct",
                "actor": "sam",
                "expected_version": item["version"],
                "corrected_output": fixed,
                "comment": REASON,
            },
        )
        assert done["state"] == "corrected"
        labels = httpx.post(
            url + "/api/sql",
            json={"sql": ("SELECT name, label, author FROM scores WHERE kind = 'human'")},
        ).json()["rows"]
        assert labels == [["invented_identifiers", "fail", "sam"]]  # the flag was right

        # 3. The correction lands in a new dataset version.
        good = (
            "name = 'draft_reply' AND status = 'ok' AND span_id NOT IN "
            "(SELECT span_id FROM flags WHERE span_id IS NOT NULL)"
        )
        v1 = api.call(
            "POST",
            "/api/datasets",
            body={"name": "triage-replies", "actor": "sam", "from_spans": {"where": good}},
        )
        v2 = api.call(
            "POST",
            "/api/datasets/triage-replies/versions",
            body={
                "actor": "sam",
                "expected_version": 1,
                "message": "reviewed corrections",
                "from_corrections": {"prompt": REPLY_PROMPT},
            },
        )
        assert (v1["version"], v2["version"], v2["added"]) == (1, 2, 1)
        diff = api.call("GET", "/api/datasets/triage-replies/diff")
        [added] = diff["added"]
        assert (added["expected"], added["source_span_id"]) == (fixed, item["span_id"])
        assert ticket_id_of(added) == ticket["id"]

        # 4. A proposed prompt version carries the correction; a person adopts it.
        proposal = api.call(
            "POST", f"/api/prompts/{REPLY_PROMPT}/proposals", body={"actor": "loopwise"}
        )
        assert f"+- {REASON}" in proposal["diff"]
        assert api.call("GET", f"/api/prompts/{REPLY_PROMPT}")["version"] == 1  # not yet
        adopted = api.call(
            "POST",
            f"/api/prompts/{REPLY_PROMPT}/proposals/{proposal['proposal_id']}/adopt",
            body={"actor": "sam", "label": "production"},
        )
        assert (adopted["version"], adopted["labels"]) == (2, ["production"])

        # 5. The eval on the new dataset version shows the improvement.
        examples = api.call("GET", "/api/datasets/triage-replies", query={"version": 2})
        old = api.call("GET", f"/api/prompts/{REPLY_PROMPT}", query={"version": 1})["template"]
        with_v1 = evaluate_reply_prompt(examples["examples"], old, seed=SEED)
        with_v2 = evaluate_reply_prompt(examples["examples"], adopted["template"], seed=SEED)
        assert with_v1.examples == with_v2.examples == v2["example_count"]
        assert list(with_v1.failures) == [added["example_id"]]
        assert with_v2.failures == {}
        assert with_v2.pass_rate == 1.0 > with_v1.pass_rate

        # 6. Production picks the new version up: the same traffic invents no order ids.
        after = send_traffic(url, tmp_path / "run2")
        assert after.faults[Fault.INVENTED_ORDER_ID] == 0
        assert after.faults[Fault.REFUSAL] == before.faults[Fault.REFUSAL]  # nothing else moved
        score_replies(url, "after")
        per_version = api.call("GET", f"/api/prompts/{REPLY_PROMPT}/scores")["scores"]
        rates = {
            r["prompt_version"]: r["pass_rate"]
            for r in per_version
            if r["name"] == "invented_identifiers"
        }
        assert rates[2] == pytest.approx(1.0)
        assert rates[1] < 1.0
