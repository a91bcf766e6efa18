"""Langfuse's ingestion events, checked one by one.

The shapes follow Langfuse's API definition (fern ``ingestion.yml``, the models the SDK v2
generates from it in ``langfuse/api/resources/ingestion/types/``) and its server's checks
(ids of 1 to 800 characters without a carriage return, ISO 8601 times, token counts that are
non-negative integers). Every event is an envelope ``{"id", "timestamp", "type", "body",
"metadata"?}``; the ``type`` picks the body's model (``EVENT_KINDS``). Unknown fields are
ignored, as Langfuse does; a field of the wrong type makes the event invalid
(``InvalidEvent``, answered as that event's 400) and leaves the others alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationError,
)

MAX_ID_CHARS = 800  # Langfuse's own limit
MAX_NAME_CHARS = 1000
MAX_TEXT_CHARS = 10_000
MAX_TAGS = 1000
MAX_ISSUES = 10
INT64_MAX = 2**63 - 1
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _no_carriage_return(value: str) -> str:
    if "\r" in value:
        raise ValueError("an id cannot contain a carriage return")
    return value


def _time_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("a time must be ISO 8601 text, like 2026-01-01T00:00:00.000Z")
    return value


def _utc_after_epoch(value: dt.datetime) -> dt.datetime:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if moment < EPOCH:
        raise ValueError("a time must be after 1970-01-01")
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise ValueError("a time must be before the year 10000") from None


LangfuseId = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=MAX_ID_CHARS),
    AfterValidator(_no_carriage_return),
]
Name = Annotated[StrictStr, StringConstraints(max_length=MAX_NAME_CHARS)]
Text = Annotated[StrictStr, StringConstraints(max_length=MAX_TEXT_CHARS)]
Moment = Annotated[dt.datetime, BeforeValidator(_time_text), AfterValidator(_utc_after_epoch)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
Cost = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Level = Literal["DEBUG", "DEFAULT", "WARNING", "ERROR"]
Unit = Literal["CHARACTERS", "TOKENS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS"]


class Body(BaseModel):
    """An event body: unknown fields are ignored, known ones must have their type."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class TraceBody(Body):
    """``trace-create``: a trace's own fields (sent again to update them)."""

    id: LangfuseId | None = None
    timestamp: Moment | None = None
    name: Name | None = None
    userId: Name | None = None
    sessionId: Name | None = None
    input: Any = None
    output: Any = None
    metadata: Any = None
    release: Name | None = None
    version: Name | None = None
    environment: Name | None = None
    tags: Annotated[list[Name], Field(max_length=MAX_TAGS)] | None = None
    public: StrictBool | None = None


class Usage(Body):
    """``usage``: Langfuse's ``{input, output, total, unit, *Cost}`` or OpenAI's
    ``{promptTokens, completionTokens, totalTokens}`` (the server reads both)."""

    input: Count | None = None
    output: Count | None = None
    total: Count | None = None
    unit: Unit | None = None
    inputCost: Cost | None = None
    outputCost: Cost | None = None
    totalCost: Cost | None = None
    promptTokens: Count | None = None
    completionTokens: Count | None = None
    totalTokens: Count | None = None


class EventBody(Body):
    """``event-create`` (and the fields every observation has)."""

    id: LangfuseId | None = None
    traceId: LangfuseId | None = None
    parentObservationId: LangfuseId | None = None
    name: Name | None = None
    startTime: Moment | None = None
    metadata: Any = None
    input: Any = None
    output: Any = None
    level: Level | None = None
    statusMessage: Text | None = None
    version: Name | None = None
    environment: Name | None = None


class SpanBody(EventBody):
    """``span-create`` and ``span-update``."""

    endTime: Moment | None = None


UsageDetails = dict[str, Count | dict[str, Count | None] | None]


class GenerationBody(SpanBody):
    """``generation-create`` and ``generation-update``: a model call."""

    completionStartTime: Moment | None = None
    model: Name | None = None
    modelParameters: dict[str, Any] | None = None
    usage: Usage | None = None
    usageDetails: UsageDetails | None = None
    costDetails: dict[str, Cost | None] | None = None
    promptName: Name | None = None
    promptVersion: Count | None = None


class ObservationBody(GenerationBody):
    """``observation-create`` and ``observation-update`` (legacy): the ``type`` says which."""

    type: Literal["SPAN", "GENERATION", "EVENT"]


EntityKind = Literal["trace", "observation", "score", "log"]


@dataclass(frozen=True)
class EventKind:
    """What one event ``type`` carries: its body model, the entity it writes, the
    observation type it stands for (None: read from a legacy body's ``type``), and whether
    it updates (its body must then name the ``id`` it updates)."""

    body: type[BaseModel] | None
    entity: EntityKind
    observation_type: str | None = None
    update: bool = False


EVENT_KINDS: dict[str, EventKind] = {
    "trace-create": EventKind(TraceBody, "trace"),
    "span-create": EventKind(SpanBody, "observation", "span"),
    "span-update": EventKind(SpanBody, "observation", "span", update=True),
    "generation-create": EventKind(GenerationBody, "observation", "generation"),
    "generation-update": EventKind(GenerationBody, "observation", "generation", update=True),
    "event-create": EventKind(EventBody, "observation", "event"),
    "observation-create": EventKind(ObservationBody, "observation"),
    "observation-update": EventKind(ObservationBody, "observation", update=True),
    "score-create": EventKind(None, "score"),
    "sdk-log": EventKind(None, "log"),
    # Observation types Langfuse's server added later (agent, tool, ...): a span's fields, a
    # generation's for the model-calling ones.
    **{
        f"{name}-create": EventKind(GenerationBody, "observation", name)
        for name in ("agent", "tool", "chain", "retriever", "evaluator", "embedding", "guardrail")
    },
}


class Envelope(BaseModel):
    """The envelope every event shares."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: LangfuseId
    timestamp: Moment
    type: StrictStr
    body: Any
    metadata: Any = None


@dataclass(frozen=True)
class ParsedEvent:
    """A valid event: its place in the batch, envelope, kind and checked body (a model, or
    the raw object for scores and SDK logs)."""

    index: int
    id: str
    timestamp: dt.datetime
    type: str
    kind: EventKind
    body: Any


class InvalidEvent(ValueError):
    """An event that cannot be ingested; ``issues`` lists ``{"path", "message"}``."""

    def __init__(self, message: str, issues: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.issues = issues or [{"path": "", "message": message}]


def event_id_of(raw: Any) -> str:
    """The id to report for a raw event, valid or not ("" when it has no text id)."""
    event_id = raw.get("id") if isinstance(raw, dict) else None
    return event_id[:MAX_ID_CHARS] if isinstance(event_id, str) else ""


def parse_event(index: int, raw: Any) -> ParsedEvent:
    """Check one raw event; InvalidEvent says what is wrong with it."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"an event must be an object, not {_json_type(raw)}")
    event_type = raw.get("type")
    kind = EVENT_KINDS.get(event_type) if isinstance(event_type, str) else None
    if kind is None:
        shown = repr(event_type[:60]) if isinstance(event_type, str) else _json_type(event_type)
        raise InvalidEvent(
            f"unknown event type {shown}: one of {', '.join(sorted(EVENT_KINDS))}",
            [{"path": "type", "message": "unknown event type"}],
        )
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(exc, "") from None
    body: Any = envelope.body
    if kind.body is not None:
        try:
            body = kind.body.model_validate(body)
        except ValidationError as exc:
            raise _invalid(exc, "body") from None
        if kind.update and getattr(body, "id", None) is None:
            raise InvalidEvent(
                f"body.id is required for {event_type}: it names the observation to update",
                [{"path": "body.id", "message": "Field required"}],
            )
    elif kind.entity == "score" and not isinstance(body, dict):
        raise InvalidEvent(f"body must be a score object, not {_json_type(body)}")
    return ParsedEvent(index, envelope.id, envelope.timestamp, envelope.type, kind, body)


def _invalid(exc: ValidationError, prefix: str) -> InvalidEvent:
    issues = []
    for error in exc.errors(include_url=False, include_input=False)[:MAX_ISSUES]:
        path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        issues.append({"path": path, "message": str(error["msg"])})
    shown = "; ".join(f"{issue['path'] or 'event'}: {issue['message']}" for issue in issues[:3])
    more = exc.error_count() - min(3, len(issues))
    suffix = f" (and {more} more)" if more > 0 else ""
    return InvalidEvent(f"invalid event: {shown}{suffix}", issues)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
