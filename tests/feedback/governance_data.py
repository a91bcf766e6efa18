"""A store holding every kind of row, for the deletion and export tests.

Four traces, each a ``triage`` chain (the end user on the root span) around an ``answer``
LLM span rendered from prompt ``reply`` v1:

- A: project ``shop``, user alice, 2026-01-01 (old);
- B: project ``shop``, user bob, 2026-01-01 (old);
- C: project ``shop``, user alice, written now (recent);
- D: project ``other``, user carol, 2026-01-01 (old).

Derived rows, made through the feedback operations where they exist (reviews, corrections,
datasets, prompts, proposals) and appended as the evaluation layer stores them otherwise
(scores, flags, clusterings, judge cache, watermarks, a suite run). Every text written about
alice carries ``ALICE_MARK`` so a test can prove none of it is left anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

import loopwise
from loopwise.collector.sdk import Prompt, SequentialIdGenerator, TickingClock
from loopwise.collector.store import (
    ScoreRow,
    Store,
    append_scores,
    parse_feedback,
    record_feedback,
)
from loopwise.feedback import LocalBackend, sync_review_items

ALICE_MARK = "alice-7f3e"
OLD = dt.datetime(2026, 1, 1)
INPUT_MESSAGES = [{"role": "user", "parts": [{"type": "text", "content": "Return it?"}]}]
OUTPUT_MESSAGES = [{"role": "assistant", "parts": [{"type": "text", "content": "We do."}]}]
TEMPLATE = "Answer the customer politely.\n\nQuestion: {{question}}"


@dataclass
class Seeded:
    """Ids of what was seeded, by trace letter."""

    traces: dict[str, str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    correction_id: str = ""
    proposal_id: str = ""
    orphan_score_id: str = ""


def _trace(client: loopwise.Client, letter: str, user: str, question: str) -> tuple[str, str, str]:
    prompt = Prompt("reply", TEMPLATE, version=1, label="production", source="collector")
    with client.span("triage", kind="chain") as root:
        root.set_user(user)
        root.set_session(f"session-{letter}")
        root.set_tags(["triage", letter])
        root.set_input(question)
        with client.span("answer", kind="llm") as llm:
            llm.set_input(prompt.format(question=question))
            llm.set_metadata(ticket=f"t-{letter}", nested={"k": [1, 2.5, None]})
            llm.set_usage(input_tokens=40, output_tokens=12, model="gpt-4o")
            llm.set_output(f"Answer {letter} to: {question}")
            if letter == "D":  # messages, a bad token count (a warning), an error event
                llm.set_attribute("gen_ai.output.messages", json.dumps(OUTPUT_MESSAGES))
                llm.set_attribute("gen_ai.usage.reasoning.output_tokens", "lots")
                llm.set_attribute("gen_ai.usage.cache_read.input_tokens", 8)
                llm.record_error(TimeoutError("upstream slow"))
            if letter == "B":  # input messages and the remaining token details
                llm.set_attribute("gen_ai.input.messages", json.dumps(INPUT_MESSAGES))
                llm.set_attribute("gen_ai.usage.cache_creation.input_tokens", 4)
                llm.set_attribute("gen_ai.usage.reasoning.output_tokens", 3)
        root.set_output(f"Answer {letter} to: {question}")
    return root.trace_id, root.span_id, llm.span_id


def _spans(path: Path) -> Seeded:
    seeded = Seeded()
    ids, clock = SequentialIdGenerator(), TickingClock()
    old = loopwise.Client()
    old.init("shop", db=path, batch=False, set_global=False, id_generator=ids, clock=clock)
    for letter, user, question in (
        ("A", "alice", f"Where is my order? I am {ALICE_MARK}."),
        ("B", "bob", "Can I return a blender?"),
    ):
        trace, root, answer = _trace(old, letter, user, question)
        seeded.traces[letter], seeded.roots[letter], seeded.answers[letter] = trace, root, answer
    old.shutdown()
    other = loopwise.Client()
    other.init("other", db=path, batch=False, set_global=False, id_generator=ids, clock=clock)
    trace, root, answer = _trace(other, "D", "carol", "Do you ship to Norway?")
    seeded.traces["D"], seeded.roots["D"], seeded.answers["D"] = trace, root, answer
    other.shutdown()
    recent = loopwise.Client()
    recent.init("shop", db=path, batch=False, set_global=False)
    trace, root, answer = _trace(recent, "C", "alice", f"Any news, {ALICE_MARK} again?")
    seeded.traces["C"], seeded.roots["C"], seeded.answers["C"] = trace, root, answer
    recent.shutdown()
    return seeded


def _scores_and_flags(store: Store, seeded: Seeded) -> None:
    rows = [
        ScoreRow(
            project="other" if letter == "D" else "shop",
            trace_id=seeded.traces[letter],
            span_id=seeded.answers[letter],
            name="invented_identifiers",
            kind="code",
            source="invented_identifiers",
            value=0.0,
            passed=False,
            explanation=f"invented id in answer {letter}",
            evaluator_version="1",
            metadata={"letter": letter},
            score_id=f"score-{letter}",
            created_at=OLD,
        )
        for letter in ("A", "B", "C", "D")
    ]
    # Feedback with no trace stored (sent before its spans), long ago.
    rows.append(
        ScoreRow(
            project="shop",
            trace_id="f" * 32,
            name="thumbs",
            kind="human",
            source="end_user",
            author="dave",
            value=1.0,
            passed=True,
            score_id="score-orphan",
            created_at=OLD,
        )
    )
    append_scores(store, rows)
    seeded.orphan_score_id = "score-orphan"
    # alice rates bob's answer; bob gives his own a thumbs-down.
    for author, value in (("alice", True), ("bob", False)):
        comment = f"from {author}" + (f" {ALICE_MARK}" if author == "alice" else "")
        payload = {"trace_id": seeded.traces["B"], "name": "thumbs", "value": value}
        payload.update(comment=comment, user_id=author)
        record_feedback(store, parse_feedback(payload), default_project="shop")
    flags = []
    for letter in ("A", "B", "D"):
        flag_id = f"flag-{letter}"
        seeded.flags[letter] = flag_id
        flags.append(
            {
                "flag_id": flag_id,
                "project": "other" if letter == "D" else "shop",
                "trace_id": seeded.traces[letter],
                "span_id": seeded.answers[letter],
                "span_name": "answer",
                "rule": "invented_identifiers_failed",
                "cause_key": f"invented_identifiers_failed|{seeded.traces[letter]}|{letter}",
                "reason": f"answer {letter} cites an order id that is not in the ticket"
                + (f" of {ALICE_MARK}" if letter == "A" else ""),
                "severity": "high",
                "evaluator": "invented_identifiers",
                "evaluator_version": "1",
                "score_id": f"score-{letter}",
                "metric": "value",
                "value": 0.0,
                "status": "open",
                "details": json.dumps({"letter": letter}),
                "created_at": OLD,
            }
        )
    store.append_rows("flags", pa.Table.from_pylist(flags))
    clusterings = [
        ("run-1", "shop", ["A", "B"]),
        ("run-2", None, ["B", "D"]),
        ("run-3", "other", ["D"]),
    ]
    for clustering_id, project, letters in clusterings:
        store.append_rows(
            "flag_clusterings",
            pa.Table.from_pylist(
                [
                    {
                        "clustering_id": clustering_id,
                        "project": project,
                        "method": "tfidf",
                        "params": json.dumps({"k": 2}),
                        "flag_count": len(letters),
                        "cluster_count": 1,
                        "created_at": OLD,
                    }
                ]
            ),
        )
        store.append_rows(
            "flag_clusters",
            pa.Table.from_pylist(
                [
                    {
                        "clustering_id": clustering_id,
                        "flag_id": seeded.flags[letter],
                        "cluster_id": "c0",
                        "cluster_label": f"invented order ids ({ALICE_MARK})"
                        if clustering_id == "run-1"
                        else "invented order ids",
                        "cluster_size": len(letters),
                        "created_at": OLD,
                    }
                    for letter in letters
                ]
            ),
        )


def _feedback_loop(store: Store, seeded: Seeded) -> None:
    api = LocalBackend(store)
    api.call(
        "POST",
        "/api/prompts/reply/versions",
        body={"template": TEMPLATE, "actor": "sam", "labels": ["production"]},
    )
    assert sync_review_items(store)["flag"] == 3
    items = api.call("GET", "/api/reviews", query={"limit": 100})["items"]
    item = next(i for i in items if i["source_id"] == seeded.flags["A"])
    done = api.call(
        "POST",
        f"/api/reviews/{item['item_id']}/actions",
        body={
            "action": "correct",
            "actor": "sam",
            "expected_version": item["version"],
            "corrected_output": f"Your order ships Monday ({ALICE_MARK}).",
            "comment": "Only cite order ids from the ticket.",
        },
    )
    assert done["state"] == "corrected"
    seeded.correction_id = api.call("GET", "/api/reviews/corrections")["corrections"][0][
        "correction_id"
    ]
    api.call(
        "POST",
        "/api/reviews",
        body={"trace_id": seeded.traces["C"], "span_id": seeded.roots["C"], "actor": "sam"},
    )
    api.call(
        "POST",
        "/api/datasets",
        body={"name": "answers", "actor": "sam", "from_spans": {"where": "name = 'answer'"}},
    )
    api.call(
        "POST",
        "/api/datasets/answers/versions",
        body={
            "actor": "sam",
            "expected_version": 1,
            "message": "reviewed corrections",
            "on_duplicate": "replace",
            "from_corrections": {"prompt": "reply"},
        },
    )
    proposal = api.call("POST", "/api/prompts/reply/proposals", body={"actor": "loopwise"})
    seeded.proposal_id = proposal["proposal_id"]
    api.call(
        "POST",
        "/api/reviews/rubric",
        body={"project": "shop", "actor": "sam", "evaluators": ["tone", "invented_ids"]},
    )


def _evals_rows(store: Store) -> None:
    for key, created in (("judge-old", OLD), ("judge-new", dt.datetime.now(dt.UTC))):
        store.append_rows(
            "judge_cache",
            pa.Table.from_pylist(
                [
                    {
                        "cache_key": key,
                        "evaluator": "helpfulness",
                        "evaluator_version": "1",
                        "model": "gpt-4o",
                        "result": json.dumps(
                            {"passed": True, "explanation": f"{key} {ALICE_MARK}"}
                        ),
                        "input_tokens": 10,
                        "output_tokens": 2,
                        "created_at": created.replace(tzinfo=None),
                    }
                ]
            ),
        )
    last = store.query("SELECT max(rowid) FROM spans").rows[0][0]
    store.append_rows(
        "eval_watermarks",
        pa.Table.from_pylist(
            [
                {
                    "watermark_key": "wm-1",
                    "kind": "evaluator",
                    "name": "invented_identifiers",
                    "version": "1",
                    "definition": json.dumps({"selector": {}}),
                    "last_rowid": int(last),
                    "last_ingested_at": OLD,
                    "processed": 8,
                    "scored": 4,
                    "flagged": 3,
                    "last_error": None,
                    "last_error_at": None,
                    "updated_at": OLD,
                }
            ]
        ),
    )
    examples = store.query(
        "SELECT example_id, input, expected FROM dataset_examples ORDER BY example_id"
    ).records()
    report = {
        "run_id": "run-1",
        "examples": [
            {
                "example_id": e["example_id"],
                "repetition": 0,
                "input": json.loads(e["input"]),
                "expected": e["expected"],
                "output": "model output",
                "scores": {},
            }
            for e in examples
        ],
        "summaries": [],
    }
    store.append_rows(
        "eval_runs",
        pa.Table.from_pylist(
            [
                {
                    "run_id": "run-1",
                    "suite": "answers",
                    "dataset": "answers@2",
                    "passed": True,
                    "started_at": OLD,
                    "finished_at": OLD,
                    "git_commit": "abc123",
                    "report": json.dumps(report),
                }
            ]
        ),
    )


def seed_governance(path: Path) -> Seeded:
    """Write the seeded store at ``path`` (closed afterwards); return its ids."""
    seeded = _spans(path)
    with Store(path) as store:
        _scores_and_flags(store, seeded)
        _feedback_loop(store, seeded)
        _evals_rows(store)
    return seeded


def all_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but the migration record), sorted, for comparisons."""
    tables = [
        row[0]
        for row in store.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' AND table_name <> '_migrations' ORDER BY 1"
        ).rows
    ]
    return {
        table: sorted(store.query(f'SELECT * FROM "{table}"', max_rows=1_000_000).rows, key=repr)
        for table in tables
    }
