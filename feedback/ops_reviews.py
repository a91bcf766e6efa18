"""API operations under /api/reviews: the review queue, actions, corrections, each queue's
rubric, and /api/calibration."""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store

from .agreement import reviewer_agreement
from .calibration import calibrate
from .corrections import list_corrections
from .held import decision, held_output, held_view, held_views
from .operations import Operation, PathParams
from .requests import (
    ActionBody,
    CalibrationQuery,
    CorrectionsQuery,
    DecisionQuery,
    HoldBody,
    PickBody,
    ReviewListQuery,
    RubricBody,
    RubricQuery,
    RubricsQuery,
    SecondReviewBody,
)
from .review_queries import get_item, item_history, list_items
from .review_sources import sync_review_items
from .reviews import act, pick_item
from .rubrics import get_rubric, item_rubric, list_rubrics, rubric_history, set_rubric
from .second_review import request_second_reviews
from .spans import find_span


def _list(store: Store, path: PathParams, query: ReviewListQuery) -> Any:
    items = list_items(
        store,
        state=query.state,
        project=query.project,
        assignee=query.assignee,
        source=query.source,
        trace_id=query.trace_id,
        limit=query.limit,
        offset=query.offset,
    )
    held = held_views(store, [i.item_id for i in items if i.source == "held"])
    return {"items": [{**item.to_dict(), **held.get(item.item_id, {})} for item in items]}


def _pick(store: Store, path: PathParams, body: PickBody) -> Any:
    item = pick_item(
        store, trace_id=body.trace_id, span_id=body.span_id, actor=body.actor, reason=body.reason
    )
    return item.to_dict()


def _sync(store: Store, path: PathParams) -> Any:
    return {"opened": sync_review_items(store)}


def _corrections(store: Store, path: PathParams, query: CorrectionsQuery) -> Any:
    found = list_corrections(
        store,
        project=query.project,
        item_id=query.item_id,
        prompt=query.prompt,
        limit=query.limit,
    )
    return {"corrections": [c.to_dict() for c in found]}


def _hold(store: Store, path: PathParams, body: HoldBody) -> Any:
    return held_output(
        store,
        hold_id=body.hold_id,
        project=body.project,
        trace_id=body.trace_id,
        span_id=body.span_id,
        output=body.output,
        input=body.input,
        reason=body.reason,
        check=body.check,
        actor=body.actor,
    )


def _decision(store: Store, path: PathParams, query: DecisionQuery) -> Any:
    # query.wait is the transport's: the HTTP route asks again until decided or waited enough.
    return decision(store, path["item_id"]).to_dict()


def _get(store: Store, path: PathParams) -> Any:
    item_id = path["item_id"]
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


def _act(store: Store, path: PathParams, body: ActionBody) -> Any:
    item = act(
        store,
        path["item_id"],
        body.action,
        actor=body.actor,
        expected_version=body.expected_version,
        assignee=body.assignee,
        comment=body.comment,
        corrected_output=body.corrected_output,
        verdicts=body.verdicts,
    )
    return item.to_dict()


def _second_reviews(store: Store, path: PathParams, body: SecondReviewBody) -> Any:
    sent = request_second_reviews(
        store,
        reviewer=body.reviewer,
        actor=body.actor,
        count=body.count,
        project=body.project,
        evaluator=body.evaluator,
        seed=body.seed,
    )
    return sent.to_dict()


def _rubrics(store: Store, path: PathParams, query: RubricsQuery) -> Any:
    return {"rubrics": [r.to_dict() for r in list_rubrics(store, project=query.project)]}


def _rubric(store: Store, path: PathParams, query: RubricQuery) -> Any:
    rubric = get_rubric(store, query.project)
    history = rubric_history(store, query.project)
    return {**rubric.to_dict(), "history": [version.to_dict() for version in history]}


def _set_rubric(store: Store, path: PathParams, body: RubricBody) -> Any:
    rubric = set_rubric(
        store,
        project=body.project,
        actor=body.actor,
        evaluators=body.evaluators,
        clear=body.clear,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return rubric.to_dict()


def _item_rubric(store: Store, path: PathParams) -> Any:
    return item_rubric(store, path["item_id"]).to_dict()


def _calibration(store: Store, path: PathParams, query: CalibrationQuery) -> Any:
    reports = calibrate(
        store, project=query.project, evaluator=query.evaluator, min_labels=query.min_labels
    )
    agreement = reviewer_agreement(
        store, project=query.project, evaluator=query.evaluator, min_pairs=query.min_labels
    )
    return {
        "evaluators": [report.to_dict() for report in reports],
        "reviewers": [report.to_dict() for report in agreement],
    }


REVIEW_OPERATIONS = [
    Operation("GET", "/api/reviews", _list, query=ReviewListQuery),
    Operation("POST", "/api/reviews", _pick, 201, body=PickBody),
    Operation("POST", "/api/reviews/sync", _sync),
    Operation("POST", "/api/reviews/held", _hold, 201, body=HoldBody),
    Operation("POST", "/api/reviews/second-reviews", _second_reviews, body=SecondReviewBody),
    Operation("GET", "/api/reviews/{item_id}/decision", _decision, query=DecisionQuery),
    Operation("GET", "/api/reviews/corrections", _corrections, query=CorrectionsQuery),
    Operation("GET", "/api/reviews/rubrics", _rubrics, query=RubricsQuery),
    Operation("GET", "/api/reviews/rubric", _rubric, query=RubricQuery),
    Operation("POST", "/api/reviews/rubric", _set_rubric, body=RubricBody),
    Operation("GET", "/api/reviews/{item_id}/rubric", _item_rubric),
    Operation("GET", "/api/reviews/{item_id}", _get),
    Operation("POST", "/api/reviews/{item_id}/actions", _act, body=ActionBody),
    Operation("GET", "/api/calibration", _calibration, query=CalibrationQuery),
]
