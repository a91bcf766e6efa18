"""One ``POST /api/public/ingestion`` batch: check each event, store what is valid, and say
per event what happened.

Traces and observations are patches of span attributes (``patches.py``). In one write
transaction (``Store.transaction``) the spans they touch are read, the patches merged into
them (``state.py``: commutative and idempotent, so a create and its update land on one row
whether they come in one request or two, in either order, and a resent batch changes
nothing), and the spans that changed are written back: new ones inserted, stored ones
updated in place, their traces' summary rows recomputed (``store/span_updates.py``). A span
that is stored but was not made here (an OTLP span with the same ids), or one of another
project than the caller's key, is not touched and its events are reported (409).

Scores (``score-create``) go to the ``scores`` table as ``POST /api/public/scores`` stores
them (``store/langfuse_scores.py``), their trace and observation ids mapped as the spans'
(``ids.py``); SDK logs (``sdk-log``) are accepted and dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ..pricing import PriceTable
from ..redact import RedactionConfig, redact_table
from ..semconv.normalize import rows_table
from ..semconv.values import holds_lone_surrogate, loads, to_json
from ..store import Store
from ..store.langfuse_scores import LangfuseScoreError, append_langfuse_scores, score_row
from ..store.scores import ScoreRow
from ..store.span_updates import Key, stored_spans, traces_of_spans, write_spans
from .ids import map_score_ids
from .models import InvalidEvent, ParsedEvent, event_id_of, parse_event
from .patches import ROOT, TRACE_ID, Patch, observation_patch, root_touch, trace_patch
from .rows import langfuse_row
from .state import apply, is_ingested

SDK_KEYS = ("sdk_name", "sdk_version", "sdk_integration")
MAX_SDK_TEXT = 200
NO_TRACE = (
    "body.traceId is required: no stored observation has this id and no event in the "
    "batch names its trace"
)
FOREIGN = (
    "a span with this id is stored and was not sent through the ingestion API; it is left as it is"
)
SURROGATE = "the event holds a lone UTF-16 surrogate escape, which is not text"
OTHER_PROJECT = "this trace is stored in another project; it is left as it is"

Failure = tuple[int, str, list[dict[str, str]] | None]


@dataclass(frozen=True)
class IngestSettings:
    """Where and how the batch's spans are stored: ``project`` is the caller key's (None:
    the trace's own, else ``default_project``)."""

    default_project: str
    project: str | None
    prices: PriceTable
    redaction: RedactionConfig
    resource_json: str = "{}"
    screen_surrogates: bool = True  # False when the body holds no \\uD8xx escape


@dataclass
class IngestionResult:
    """Langfuse's answer: ``successes`` ``[{"id", "status": 201}]`` and ``errors``
    ``[{"id", "status", "message", "error"}]``, in the batch's order."""

    successes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The JSON body of the 207 reply."""
        return {"successes": self.successes, "errors": self.errors}


def ingest_batch(store: Store, events: list[Any], settings: IngestSettings) -> IngestionResult:
    """Check and store the events of one batch; each one's outcome is in the result."""
    failures: dict[int, Failure] = {}
    ids: list[str] = []
    patches: list[Patch] = []
    scores: list[ParsedEvent] = []
    for index, raw in enumerate(events):
        ids.append(event_id_of(raw))
        if settings.screen_surrogates and holds_lone_surrogate(raw):
            failures[index] = (400, SURROGATE, None)
            continue
        try:
            event = parse_event(index, raw)
        except InvalidEvent as exc:
            failures[index] = (400, exc.message, exc.issues)
            continue
        entity = event.kind.entity
        if entity == "trace":
            patches.append(trace_patch(event))
        elif entity == "observation":
            patches.append(observation_patch(event))
        elif entity == "score":
            scores.append(event)
    if patches:
        with store.transaction() as cur:
            failures.update(_store_patches(cur, patches, settings))
    if scores:
        failures.update(_store_scores(store, scores, settings))
    result = IngestionResult()
    for index, event_id in enumerate(ids):
        failure = failures.get(index)
        if failure is None:
            result.successes.append({"id": event_id, "status": 201})
        else:
            status, message, issues = failure
            result.errors.append(
                {"id": event_id, "status": status, "message": message, "error": issues or message}
            )
    return result


def sdk_resource(metadata: Any) -> str:
    """The resource JSON of a batch's spans: the SDK that sent it, from the batch's
    ``metadata`` (``sdk_name``, ``sdk_version``, ``sdk_integration``)."""
    resource: dict[str, Any] = {"telemetry.sdk.name": "langfuse"}
    if isinstance(metadata, dict):
        for key in SDK_KEYS:
            value = metadata.get(key)
            if isinstance(value, str) and value:
                resource[f"langfuse.{key.replace('_', '.', 1)}"] = value[:MAX_SDK_TEXT]
    return to_json(resource)


def _store_patches(
    cur: duckdb.DuckDBPyConnection, patches: list[Patch], settings: IngestSettings
) -> dict[int, Failure]:
    failures = _find_traces(cur, patches)
    live = [patch for patch in patches if patch.event not in failures]
    touched = list(live)
    for patch in live:
        if patch.values.get(ROOT) is not True:
            trace_langfuse_id = patch.values.get(TRACE_ID)
            touched.append(root_touch(patch, trace_langfuse_id))
    stored = stored_spans(cur, {patch.key for patch in touched})
    states = {key: _decode(attributes) for key, (_, attributes) in stored.items()}
    refused = {
        key: message
        for key, (project, _) in stored.items()
        if (message := _refusal(states[key], project, settings.project))
    }
    for patch in touched:
        if patch.key in refused and patch.event not in failures:
            failures[patch.event] = (409, refused[patch.key], None)
    merged: dict[Key, dict[str, Any]] = {}
    for patch in touched:
        if patch.event not in failures:
            key = patch.key
            merged[key] = apply(merged[key] if key in merged else states.get(key, {}), patch)
    trace_projects = {trace_id: project for (trace_id, _), (project, _) in stored.items()}
    ingested_at = time.time_ns() // 1000
    rows = []
    for key, state in merged.items():
        if key in states and state == states[key]:
            continue  # nothing new: a resent event
        trace_id, span_id = key
        project = (
            settings.project
            or (stored[key][0] if key in stored else trace_projects.get(trace_id))
            or settings.default_project
        )
        row, _ = langfuse_row(
            state,
            project=project,
            trace_id=trace_id,
            span_id=span_id,
            resource_json=settings.resource_json,
            ingested_at=ingested_at,
            prices=settings.prices,
        )
        rows.append(row)
    if rows:
        write_spans(cur, redact_table(rows_table(rows), settings.redaction), stored.keys())
    return failures


def _find_traces(cur: duckdb.DuckDBPyConnection, patches: list[Patch]) -> dict[int, Failure]:
    """Give each update that names no trace the trace of its observation: from another
    event of the batch, else from the stored span; the events of the others fail."""
    named = {p.span_id: p.trace_id for p in patches if p.trace_id is not None}
    unknown = {p.span_id for p in patches if p.trace_id is None and p.span_id not in named}
    found = traces_of_spans(cur, unknown) if unknown else {}
    failures: dict[int, Failure] = {}
    for patch in patches:
        if patch.trace_id is None:
            patch.trace_id = named.get(patch.span_id) or found.get(patch.span_id)
            if patch.trace_id is None:
                failures[patch.event] = (400, NO_TRACE, None)
    return failures


def _refusal(state: dict[str, Any], project: str, caller_project: str | None) -> str:
    if not is_ingested(state):
        return FOREIGN
    if caller_project is not None and project != caller_project:
        return OTHER_PROJECT
    return ""


def _decode(attributes: str | None) -> dict[str, Any]:
    if attributes is None:
        return {}
    try:
        value = loads(attributes)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _store_scores(
    store: Store, events: list[ParsedEvent], settings: IngestSettings
) -> dict[int, Failure]:
    failures: dict[int, Failure] = {}
    rows: list[ScoreRow] = []
    for event in events:
        try:
            rows.append(score_row(_score_item(event)))
        except LangfuseScoreError as exc:
            failures[event.index] = (400, str(exc), None)
    append_langfuse_scores(
        store, rows, default_project=settings.default_project, project=settings.project
    )
    return failures


def _score_item(event: ParsedEvent) -> dict[str, Any]:
    """A ``score-create`` body as ``POST /api/public/scores`` takes it: its trace and
    observation ids mapped as the spans' (the originals kept in metadata), its id and
    timestamp the event's when it has none."""
    item = map_score_ids(event.body)
    if item.get("id") is None:
        item["id"] = event.id
    if item.get("timestamp") is None:
        item["timestamp"] = event.timestamp.isoformat()
    return item
