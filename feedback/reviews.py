"""Opening review items and acting on them; every action is one append-only event.

See ``review_model`` for the states. Corrections, the reviewer's verdicts (as human scores)
and the event that records them are written in one transaction: all of it or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from loopwise.collector.store import SCORE_ARROW_SCHEMA, Store, scores_table

from .common import (
    check_actor,
    insert_records,
    new_id,
    optional_text,
    optional_version,
    required_text,
    stable_id,
    utcnow,
)
from .corrections import CORRECTION_SCHEMA, correction_record
from .errors import Conflict, FeedbackError, NotFound
from .review_model import ACTIONS, EVENT_SCHEMA, ITEM_SCHEMA, ReviewItem, next_state
from .review_queries import get_item
from .spans import require_span
from .verdicts import Verdict, parse_verdicts, verdict_scores

MAX_REASON_CHARS = 10_000

LATEST_EVENT_SQL = """
SELECT e.version, e.state, e.assignee, i.project, i.trace_id, i.span_id, i.source, i.evaluator
FROM review_items i JOIN review_events e USING (item_id)
WHERE i.item_id = ? ORDER BY e.version DESC LIMIT 1
"""
OPEN_ON_SPAN_SQL = """
SELECT i.item_id FROM review_items i
JOIN (SELECT item_id, max(version) AS version FROM review_events GROUP BY item_id) l USING (item_id)
JOIN review_events e ON e.item_id = l.item_id AND e.version = l.version
WHERE e.state = 'open' AND i.trace_id = ? AND i.span_id IS NOT DISTINCT FROM ?
LIMIT 1
"""


def item_seed(
    *,
    project: str,
    trace_id: str,
    span_id: str | None,
    source: str,
    source_id: str | None,
    reason: str | None,
    severity: str | None = None,
    evaluator: str | None = None,
    created_by: str,
) -> dict[str, Any]:
    """A review_items row. Items from a flag or score get an id derived from it, so opening
    them twice opens them once."""
    item_id = stable_id("rev", source, source_id) if source_id else new_id("rev")
    return {
        "item_id": item_id,
        "project": project,
        "trace_id": trace_id,
        "span_id": span_id,
        "source": source,
        "source_id": source_id,
        "reason": reason,
        "severity": severity,
        "evaluator": evaluator,
        "created_by": created_by,
        "created_at": utcnow(),
    }


def open_items(store: Store, seeds: Sequence[Mapping[str, Any]]) -> int:
    """Open the review items ``seeds`` (rows from ``item_seed``) in one transaction; items
    already open with the same id are left alone. Returns how many were new."""
    if not seeds:
        return 0
    events = [
        {
            "item_id": seed["item_id"],
            "version": 1,
            "event_id": stable_id("evt", seed["item_id"], "1"),
            "action": "open",
            "state": "open",
            "assignee": None,
            "actor": seed["created_by"],
            "comment": seed["reason"],
            "correction_id": None,
            "created_at": seed["created_at"],
        }
        for seed in seeds
    ]
    with store.transaction() as cur:
        before = _count(cur)
        insert_records(cur, "review_items", seeds, schema=ITEM_SCHEMA, or_ignore=True)
        insert_records(cur, "review_events", events, schema=EVENT_SCHEMA, or_ignore=True)
        return _count(cur) - before


def pick_item(
    store: Store, *, trace_id: Any, span_id: Any, actor: Any, reason: Any = None
) -> ReviewItem:
    """Open a review item for a stored span (or a trace's root span) picked by a person.

    NotFound when the span is not stored; Conflict when the span already has an open item.
    """
    who = check_actor(actor)
    why = optional_text(reason, "reason", MAX_REASON_CHARS)
    span = require_span(store, trace_id, span_id)
    with store.transaction() as cur:
        existing = cur.execute(OPEN_ON_SPAN_SQL, [span.trace_id, span.span_id]).fetchall()
        if existing:
            raise Conflict(
                f"span {span.span_id} already has an open review item {existing[0][0]}",
                item_id=existing[0][0],
            )
        seed = item_seed(
            project=span.project,
            trace_id=span.trace_id,
            span_id=span.span_id,
            source="manual",
            source_id=None,
            reason=why,
            created_by=who,
        )
        insert_records(cur, "review_items", [seed], schema=ITEM_SCHEMA)
        insert_records(
            cur,
            "review_events",
            [_event(seed["item_id"], 1, "open", "open", None, who, why, None)],
            schema=EVENT_SCHEMA,
        )
    return get_item(store, seed["item_id"])


def act(
    store: Store,
    item_id: Any,
    action: Any,
    *,
    actor: Any,
    expected_version: Any = None,
    assignee: Any = None,
    comment: Any = None,
    corrected_output: Any = None,
    verdicts: Any = None,
) -> ReviewItem:
    """Apply ``action`` (assign, comment, approve, correct, reject, reopen) to an item.

    ``expected_version`` is the item version the actor saw; if the item moved on since, the
    action is refused with Conflict. ``correct`` needs ``corrected_output`` and stores a
    correction against the item's span. ``verdicts`` (``{evaluator: "pass" | "fail" | label}``)
    become human scores; approving or correcting an item opened by a flag also records the
    verdict on the flagging evaluator (pass when approved, fail when corrected) unless given.
    """
    if not isinstance(item_id, str) or not item_id:
        raise FeedbackError("item_id is required")
    if action not in ACTIONS:
        raise FeedbackError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    who = check_actor(actor)
    expected = optional_version(expected_version)
    note = optional_text(comment, "comment", MAX_REASON_CHARS)
    given_verdicts = parse_verdicts(verdicts)
    if action == "comment" and not (note and note.strip()):
        raise FeedbackError("a comment needs text")
    if given_verdicts and action not in ("approve", "correct"):
        raise FeedbackError("verdicts go with approve or correct")
    new_assignee = optional_text(assignee, "assignee", 200) if action == "assign" else None
    output = required_text(corrected_output, "corrected_output") if action == "correct" else None
    if action != "correct" and corrected_output is not None:
        raise FeedbackError("corrected_output goes with the correct action")
    current = get_item(store, item_id)  # NotFound for an unknown item
    held = current.source == "held"
    # A held output's span usually ends after the decision: the item carries the output.
    needs_span = output is not None and not held
    span = require_span(store, current.trace_id, current.span_id) if needs_span else None
    with store.transaction() as cur:
        found = cur.execute(LATEST_EVENT_SQL, [item_id]).fetchall()
        if not found:
            raise NotFound(f"no review item {item_id}")
        row = found[0]
        version, state, current_assignee = int(row[0]), str(row[1]), row[2]
        project, trace_id, span_id, source, evaluator = row[3], row[4], row[5], row[6], row[7]
        if expected is not None and expected != version:
            raise Conflict(
                f"review item {item_id} is at version {version}, not {expected}: "
                "someone acted on it meanwhile; reload and try again",
                current_version=version,
                state=state,
            )
        after = next_state(state, action)
        if after is None:
            raise Conflict(
                f"cannot {action} a review item that is {state}",
                current_version=version,
                state=state,
            )
        all_verdicts = dict(given_verdicts)
        if source in ("flag", "held") and evaluator and action in ("approve", "correct"):
            all_verdicts.setdefault(evaluator, Verdict(*_implied(action)))
        correction_id = None
        if held and output is not None:
            record = correction_record(
                item_id=item_id,
                project=project,
                trace_id=trace_id,
                span_id=span_id,
                original_output=_held_output(cur, item_id),
                corrected_output=output,
                reason=note,
                verdicts=all_verdicts,
                author=who,
            )
            correction_id = record["correction_id"]
            insert_records(cur, "corrections", [record], schema=CORRECTION_SCHEMA)
        elif span is not None and output is not None:
            record = correction_record(
                item_id=item_id,
                project=project,
                trace_id=span.trace_id,
                span_id=span.span_id,
                original_output=span.output,
                corrected_output=output,
                reason=note,
                verdicts=all_verdicts,
                author=who,
            )
            correction_id = record["correction_id"]
            insert_records(cur, "corrections", [record], schema=CORRECTION_SCHEMA)
            span_id = span.span_id
        if all_verdicts:
            rows = verdict_scores(
                all_verdicts,
                project=project,
                trace_id=trace_id,
                span_id=span_id,
                author=who,
                comment=note,
                metadata={"item_id": item_id, "correction_id": correction_id, "action": action},
            )
            insert_records(cur, "scores", scores_table(rows).to_pylist(), schema=SCORE_ARROW_SCHEMA)
        keep = new_assignee if action == "assign" else current_assignee
        event = _event(item_id, version + 1, action, after, keep, who, note, correction_id)
        insert_records(cur, "review_events", [event], schema=EVENT_SCHEMA)
    return get_item(store, item_id)


def _held_output(cur: duckdb.DuckDBPyConnection, item_id: str) -> str | None:
    rows = cur.execute("SELECT output FROM held_outputs WHERE item_id = ?", [item_id]).fetchall()
    return str(rows[0][0]) if rows else None


def _implied(action: str) -> tuple[str, bool]:
    return ("pass", True) if action == "approve" else ("fail", False)


def _event(
    item_id: str,
    version: int,
    action: str,
    state: str,
    assignee: str | None,
    actor: str,
    comment: str | None,
    correction_id: str | None,
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "version": version,
        "event_id": new_id("evt"),
        "action": action,
        "state": state,
        "assignee": assignee or None,
        "actor": actor,
        "comment": comment,
        "correction_id": correction_id,
        "created_at": utcnow(),
    }


def _count(cur: duckdb.DuckDBPyConnection) -> int:
    rows = cur.execute("SELECT count(*) FROM review_items").fetchall()
    return int(rows[0][0])
