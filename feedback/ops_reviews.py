"""API operations under /api/reviews: the review queue, actions, corrections, and
/api/calibration."""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store

from .calibration import MIN_LABELS, calibrate
from .corrections import list_corrections
from .held import decision, held_output, held_view, held_views
from .operations import Call, Operation
from .review_queries import get_item, item_history, list_items
from .review_sources import sync_review_items
from .reviews import act, pick_item
from .spans import find_span


def _list(store: Store, call: Call) -> Any:
    items = list_items(
        store,
        state=call.text("state"),
        project=call.text("project"),
        assignee=call.text("assignee"),
        source=call.text("source"),
        trace_id=call.text("trace_id"),
        limit=call.integer("limit", 50, 1, 1000) or 50,
        offset=call.integer("offset", 0, 0, 10_000_000) or 0,
    )
    held = held_views(store, [i.item_id for i in items if i.source == "held"])
    return {"items": [{**item.to_dict(), **held.get(item.item_id, {})} for item in items]}


def _pick(store: Store, call: Call) -> Any:
    body = call.json()
    item = pick_item(
        store,
        trace_id=body.get("trace_id"),
        span_id=body.get("span_id"),
        actor=body.get("actor"),
        reason=body.get("reason"),
    )
    return item.to_dict()


def _sync(store: Store, call: Call) -> Any:
    return {"opened": sync_review_items(store)}


def _corrections(store: Store, call: Call) -> Any:
    found = list_corrections(
        store,
        project=call.text("project"),
        item_id=call.text("item_id"),
        prompt=call.text("prompt"),
        limit=call.integer("limit", 100, 1, 10_000) or 100,
    )
    return {"corrections": [c.to_dict() for c in found]}


def _hold(store: Store, call: Call) -> Any:
    body = call.json()
    return held_output(
        store,
        hold_id=body.get("hold_id"),
        project=body.get("project"),
        trace_id=body.get("trace_id"),
        span_id=body.get("span_id"),
        output=body.get("output"),
        input=body.get("input"),
        reason=body.get("reason"),
        check=body.get("check"),
        actor=body.get("actor"),
    )


def _decision(store: Store, call: Call) -> Any:
    return decision(store, call.path["item_id"]).to_dict()


def _get(store: Store, call: Call) -> Any:
    item_id = call.path["item_id"]
    item = get_item(store, item_id)
    span = find_span(store, item.trace_id, item.span_id)
    return {
        "item": {**item.to_dict(), **held_view(store, item_id)},
        "span": None
        if span is None
        else {
            "span_id": span.span_id,
            "name": span.name,
            "kind": span.kind,
            "input": span.input,
            "output": span.output,
        },
        "events": [event.to_dict() for event in item_history(store, item_id)],
        "corrections": [c.to_dict() for c in list_corrections(store, item_id=item_id)],
    }


def _act(store: Store, call: Call) -> Any:
    body = call.json()
    item = act(
        store,
        call.path["item_id"],
        body.get("action"),
        actor=body.get("actor"),
        expected_version=body.get("expected_version"),
        assignee=body.get("assignee"),
        comment=body.get("comment"),
        corrected_output=body.get("corrected_output"),
        verdicts=body.get("verdicts"),
    )
    return item.to_dict()


def _calibration(store: Store, call: Call) -> Any:
    reports = calibrate(
        store,
        project=call.text("project"),
        evaluator=call.text("evaluator"),
        min_labels=call.integer("min_labels", MIN_LABELS, 1, 1_000_000) or MIN_LABELS,
    )
    return {"evaluators": [report.to_dict() for report in reports]}


REVIEW_OPERATIONS = [
    Operation("GET", "/api/reviews", _list),
    Operation("POST", "/api/reviews", _pick, 201),
    Operation("POST", "/api/reviews/sync", _sync),
    Operation("POST", "/api/reviews/held", _hold, 201),
    Operation("GET", "/api/reviews/{item_id}/decision", _decision),
    Operation("GET", "/api/reviews/corrections", _corrections),
    Operation("GET", "/api/reviews/{item_id}", _get),
    Operation("POST", "/api/reviews/{item_id}/actions", _act),
    Operation("GET", "/api/calibration", _calibration),
]
