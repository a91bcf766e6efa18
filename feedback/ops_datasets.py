"""API operations under /api/datasets."""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store

from .dataset_model import Example, parse_examples
from .dataset_snapshot import dataset_snapshot, restore_snapshot
from .dataset_sources import examples_from_corrections, examples_from_spans, examples_from_sql
from .datasets import (
    change_dataset,
    create_dataset,
    dataset_versions,
    diff_versions,
    list_datasets,
    read_version,
)
from .operations import Operation, PathParams
from .requests import (
    DatasetChangeBody,
    DatasetCreateBody,
    DatasetVersionQuery,
    DiffQuery,
    ExampleSources,
    SnapshotBody,
)


def examples_in(store: Store, body: ExampleSources) -> list[Example]:
    """The examples a create or change request adds: ``examples`` (a list of objects),
    ``from_spans`` (``{"where": "...", "limit": n}``), ``from_sql`` (a SELECT) and
    ``from_corrections`` (``{"ids": [...]}`` or ``{"project": ..., "prompt": ...}``)."""
    examples = parse_examples(body.examples)
    if body.from_spans is not None:
        spans = body.from_spans
        examples += examples_from_spans(store, spans.where, limit=spans.limit)
    if body.from_sql is not None:
        examples += examples_from_sql(store, body.from_sql)
    corrections = body.from_corrections
    if corrections is not None:
        examples += examples_from_corrections(
            store,
            correction_ids=corrections.ids,
            project=corrections.project,
            prompt=corrections.prompt,
        )
    return examples


def _list(store: Store, path: PathParams) -> Any:
    return {"datasets": [v.to_dict() for v in list_datasets(store)]}


def _create(store: Store, path: PathParams, body: DatasetCreateBody) -> Any:
    change = create_dataset(
        store,
        body.name,
        examples_in(store, body),
        actor=body.actor,
        description=body.description,
        message=body.message,
        on_duplicate=body.on_duplicate,
    )
    return change.to_dict()


def _change(store: Store, path: PathParams, body: DatasetChangeBody) -> Any:
    change = change_dataset(
        store,
        path["name"],
        actor=body.actor,
        add=examples_in(store, body),
        remove=body.remove or [],
        expected_version=body.expected_version,
        description=body.description,
        message=body.message,
        on_duplicate=body.on_duplicate,
    )
    return change.to_dict()


def _get(store: Store, path: PathParams, query: DatasetVersionQuery) -> Any:
    header, examples = read_version(store, path["name"], query.version)
    return {"version": header.to_dict(), "examples": [e.to_dict() for e in examples]}


def _versions(store: Store, path: PathParams) -> Any:
    return {"versions": [v.to_dict() for v in dataset_versions(store, path["name"])]}


def _diff(store: Store, path: PathParams, query: DiffQuery) -> Any:
    versions = dataset_versions(store, path["name"])
    new = query.to or versions[-1].version
    old = query.from_ or max(1, new - 1)
    return diff_versions(store, path["name"], old, new)


def _snapshot(store: Store, path: PathParams) -> Any:
    return dataset_snapshot(store, path["name"])


def _restore(store: Store, path: PathParams, body: SnapshotBody) -> Any:
    return restore_snapshot(store, {"manifest": body.manifest, "examples": body.examples})


DATASET_OPERATIONS = [
    Operation("GET", "/api/datasets", _list),
    Operation("POST", "/api/datasets", _create, 201, body=DatasetCreateBody),
    Operation("POST", "/api/datasets/snapshot", _restore, body=SnapshotBody),
    Operation("GET", "/api/datasets/{name}", _get, query=DatasetVersionQuery),
    Operation("GET", "/api/datasets/{name}/versions", _versions),
    Operation("POST", "/api/datasets/{name}/versions", _change, body=DatasetChangeBody),
    Operation("GET", "/api/datasets/{name}/diff", _diff, query=DiffQuery),
    Operation("GET", "/api/datasets/{name}/snapshot", _snapshot),
]
