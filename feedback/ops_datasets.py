"""API operations under /api/datasets."""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store

from .common import optional_version
from .dataset_model import Example, parse_examples
from .dataset_snapshot import dataset_snapshot, restore_snapshot
from .dataset_sources import examples_from_corrections, examples_from_spans, examples_from_sql
from .datasets import (
    ON_DUPLICATE,
    change_dataset,
    create_dataset,
    dataset_versions,
    diff_versions,
    list_datasets,
    read_version,
)
from .errors import FeedbackError
from .operations import Call, Operation


def examples_in(store: Store, body: dict[str, Any]) -> list[Example]:
    """The examples a create or change request adds: ``examples`` (a list of objects),
    ``from_spans`` (``{"where": "...", "limit": n}``), ``from_sql`` (a SELECT) and
    ``from_corrections`` (``{"ids": [...]}`` or ``{"project": ..., "prompt": ...}``)."""
    examples = parse_examples(body.get("examples"))
    spans = body.get("from_spans")
    if spans is not None:
        if not isinstance(spans, dict):
            raise FeedbackError('from_spans must be {"where": "<condition on spans>"}')
        limit = spans.get("limit", 1000)
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise FeedbackError("from_spans.limit must be an integer")
        examples += examples_from_spans(store, spans.get("where", ""), limit=limit)
    sql = body.get("from_sql")
    if sql is not None:
        if not isinstance(sql, str):
            raise FeedbackError("from_sql must be a SELECT statement")
        examples += examples_from_sql(store, sql)
    corrections = body.get("from_corrections")
    if corrections is not None:
        if not isinstance(corrections, dict):
            raise FeedbackError('from_corrections must be {"ids": [...]} or {"prompt": ...}')
        ids = corrections.get("ids")
        if ids is not None and (
            not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)
        ):
            raise FeedbackError("from_corrections.ids must be a list of correction ids")
        examples += examples_from_corrections(
            store,
            correction_ids=ids,
            project=_opt_str(corrections, "project"),
            prompt=_opt_str(corrections, "prompt"),
        )
    return examples


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise FeedbackError(f"{key} must be a string")
    return value


def _on_duplicate(body: dict[str, Any]) -> Any:
    value = body.get("on_duplicate", "error")
    if value not in ON_DUPLICATE:
        raise FeedbackError(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}")
    return value


def _list(store: Store, call: Call) -> Any:
    return {"datasets": [v.to_dict() for v in list_datasets(store)]}


def _create(store: Store, call: Call) -> Any:
    body = call.json()
    change = create_dataset(
        store,
        body.get("name"),
        examples_in(store, body),
        actor=body.get("actor"),
        description=body.get("description"),
        message=body.get("message"),
        on_duplicate=_on_duplicate(body),
    )
    return change.to_dict()


def _change(store: Store, call: Call) -> Any:
    body = call.json()
    remove = body.get("remove") or []
    if not isinstance(remove, list) or not all(isinstance(x, str) for x in remove):
        raise FeedbackError("remove must be a list of example ids")
    change = change_dataset(
        store,
        call.path["name"],
        actor=body.get("actor"),
        add=examples_in(store, body),
        remove=remove,
        expected_version=optional_version(body.get("expected_version")),
        description=body.get("description"),
        message=body.get("message"),
        on_duplicate=_on_duplicate(body),
    )
    return change.to_dict()


def _get(store: Store, call: Call) -> Any:
    header, examples = read_version(
        store, call.path["name"], call.integer("version", None, 1, 10_000_000)
    )
    return {"version": header.to_dict(), "examples": [e.to_dict() for e in examples]}


def _versions(store: Store, call: Call) -> Any:
    return {"versions": [v.to_dict() for v in dataset_versions(store, call.path["name"])]}


def _diff(store: Store, call: Call) -> Any:
    versions = dataset_versions(store, call.path["name"])
    latest = versions[-1].version
    new = call.integer("to", latest, 1, 10_000_000) or latest
    old = call.integer("from", max(1, new - 1), 1, 10_000_000) or 1
    return diff_versions(store, call.path["name"], old, new)


def _snapshot(store: Store, call: Call) -> Any:
    return dataset_snapshot(store, call.path["name"])


def _restore(store: Store, call: Call) -> Any:
    return restore_snapshot(store, call.json())


DATASET_OPERATIONS = [
    Operation("GET", "/api/datasets", _list),
    Operation("POST", "/api/datasets", _create, 201),
    Operation("POST", "/api/datasets/snapshot", _restore),
    Operation("GET", "/api/datasets/{name}", _get),
    Operation("GET", "/api/datasets/{name}/versions", _versions),
    Operation("POST", "/api/datasets/{name}/versions", _change),
    Operation("GET", "/api/datasets/{name}/diff", _diff),
    Operation("GET", "/api/datasets/{name}/snapshot", _snapshot),
]
