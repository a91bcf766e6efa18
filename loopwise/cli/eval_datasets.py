"""Stored datasets (``name[@version]``) for eval suites, read through the feedback API:
from the collector when ``--endpoint`` is given, else from the DuckDB file."""

from __future__ import annotations

import os
from pathlib import Path

from loopwise.collector.api_errors import ApiError
from loopwise.collector.store import DEFAULT_DB_PATH
from loopwise.evals.suites import DatasetNotFound, LoadedDataset, SuiteExample
from loopwise.evals.suites.examples import split_spec
from loopwise.feedback import HttpBackend, LocalBackend


def load_stored_dataset(spec: str, *, endpoint: str | None, db: Path | None) -> LoadedDataset:
    """The examples of a stored dataset version (the newest when no ``@version``)."""
    name, version = split_spec(spec)
    if version is not None and not version.isdigit():
        raise DatasetNotFound(f"{spec}: a version is a number (name@3)")
    path = db or DEFAULT_DB_PATH
    if endpoint is None and not path.exists():
        raise DatasetNotFound(
            f"no dataset folder or file {spec!r}, and no database at {path} to look it up in"
        )
    try:
        backend = (
            HttpBackend(endpoint, os.environ.get("LOOPWISE_API_KEY"))
            if endpoint
            else LocalBackend(path)
        )
        with backend:
            answer = backend.call("GET", f"/api/datasets/{name}", query={"version": version})
    except ApiError as exc:
        raise DatasetNotFound(f"dataset {spec}: {exc}") from None
    examples = [
        SuiteExample(
            example_id=str(e["example_id"]),
            input=e.get("input"),
            expected=e.get("expected"),
            metadata=e.get("metadata") or {},
            source_trace_id=e.get("source_trace_id"),
        )
        for e in answer["examples"]
    ]
    return LoadedDataset(name, str(answer["version"]["version"]), examples)
