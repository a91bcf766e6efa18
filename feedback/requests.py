"""The requests of the feedback operations as pydantic models: a query model for each
operation that reads query parameters, a body model for each one that takes a JSON body.

Query models read text (``?limit=20``) with pydantic's ordinary parsing, so ``"20"`` is 20;
an empty parameter means the default and unknown ones are ignored (``Operation.check``).
Body models are strict: a field holds the JSON type it declares (``"2"`` is not an integer,
``1`` is not a string); unknown fields are ignored. Bounds are ``Field(ge=..., le=...)``.
The checks that need more than a type (names, labels, actors, hex ids, SQL) stay with the
functions the operations call, which every caller of the library goes through too.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from .calibration import MIN_LABELS
from .dataset_sources import MAX_SPAN_EXAMPLES
from .datasets import OnDuplicate
from .review_model import ACTIONS, Source, State
from .second_review import MAX_SECOND_REVIEWS
from .verdicts import MAX_EVALUATORS

MAX_OFFSET = 10_000_000
MAX_VERSION = 10_000_000
MAX_WAIT_S = 30.0
HEX32 = "^[0-9a-fA-F]{32}$"


class QueryParams(BaseModel):
    """A query model: parameters arrive as text; unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore")


class JsonBody(BaseModel):
    """A body model: a JSON object with JSON's own types; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)


def _seconds(value: float) -> float:
    """A wait in seconds, clamped to 0..30 (as always: a longer wait is not an error)."""
    if math.isnan(value):
        raise PydanticCustomError("float_parsing", "wait must be a number of seconds")
    return min(max(value, 0.0), MAX_WAIT_S)


Seconds = Annotated[float, AfterValidator(_seconds)]


def _version(default: int | None = None) -> Any:
    """A version number parameter: 1 or more."""
    return Field(default, ge=1, le=MAX_VERSION)


def _expected(what: str) -> Any:
    """An optimistic-concurrency field: the version the actor saw (0: none yet)."""
    return Field(None, ge=0, description=f"the {what} the actor saw; a stale one is a 409")


def _actor() -> Any:
    return Field(description="who is acting (a person's name or a workflow's)")


# ---- /api/reviews, /api/calibration


class ReviewListQuery(QueryParams):
    """Which review items to list: held ones first, then newest first."""

    state: State | None = Field(None, description="current state; open includes held items")
    project: str | None = None
    assignee: str | None = None
    source: Source | None = None
    trace_id: str | None = None
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CorrectionsQuery(QueryParams):
    """Which corrections to list, oldest first."""

    project: str | None = None
    item_id: str | None = None
    prompt: str | None = Field(None, description="the prompt the corrected span rendered")
    limit: int = Field(100, ge=1, le=10_000)


class DecisionQuery(QueryParams):
    """How long to wait for a held item's decision (the HTTP route long-polls)."""

    wait: Seconds = Field(0.0, description="seconds to wait while the item is held (0 to 30)")


class CalibrationQuery(QueryParams):
    """Which evaluators to calibrate against human verdicts."""

    project: str | None = None
    evaluator: str | None = None
    min_labels: int = Field(MIN_LABELS, ge=1, le=1_000_000)


class PickBody(JsonBody):
    """A person picks a stored span (or a trace's root span) for review."""

    trace_id: str = Field(pattern=HEX32)
    span_id: str | None = Field(None, description="16 hex characters; none: the root span")
    actor: str = _actor()
    reason: str | None = None


class HoldBody(JsonBody):
    """A workflow holds an output for a person (idempotent on ``hold_id``)."""

    hold_id: str
    project: str
    trace_id: str = Field(pattern=HEX32)
    span_id: str | None = None
    output: str
    input: str | None = None
    reason: str | None = None
    check: dict[str, Any] | None = Field(None, description="the CheckResult's to_dict()")
    actor: str | None = Field(None, description="who holds it (default: workflow)")


class ActionBody(JsonBody):
    """An action on a review item; ``correct`` needs ``corrected_output``."""

    action: str = Field(json_schema_extra={"enum": list(ACTIONS)})
    actor: str = _actor()
    expected_version: int | None = _expected("item version")
    assignee: str | None = Field(None, description="with assign")
    comment: str | None = None
    corrected_output: str | None = Field(None, description="with correct")
    verdicts: dict[str, Any] | None = Field(
        None, description='{"evaluator": "pass" | "fail" | a label | true | false}'
    )


class SecondReviewBody(JsonBody):
    """Send a sample of items one reviewer closed to a second reviewer."""

    reviewer: str = Field(description="who reviews them a second time")
    actor: str = _actor()
    count: int = Field(20, ge=1, le=MAX_SECOND_REVIEWS)
    project: str | None = None
    evaluator: str | None = Field(None, description="only items opened by this evaluator")
    seed: str = Field("", description="another seed picks another sample")


class RubricsQuery(QueryParams):
    """Which review queues' rubrics to list: every project with one set, or one project."""

    project: str | None = None


class RubricQuery(QueryParams):
    """Whose rubric to read: a review queue is the items of one project."""

    project: str = Field(description="the project whose review queue it is")


class RubricBody(JsonBody):
    """Set a review queue's rubric: the evaluators its reviewers give a verdict on."""

    project: str = Field(description="the project whose review queue it is")
    actor: str = _actor()
    evaluators: list[str] | None = Field(
        None,
        description=f"1 to {MAX_EVALUATORS} evaluator names, in the order reviewers see them",
    )
    clear: bool = Field(
        False, description="back to the default: the evaluators whose flags are on each item"
    )
    reason: str | None = None
    expected_version: int | None = _expected("rubric version")


# ---- /api/datasets


class FromSpans(JsonBody):
    """Examples from the spans matching a SQL condition, their outputs as expected."""

    where: str = Field(description="a condition on the spans table, e.g. name = 'answer'")
    limit: int = Field(1000, description=f"1 to {MAX_SPAN_EXAMPLES}")


class FromCorrections(JsonBody):
    """Examples from corrections: these ids, or those of a project or prompt."""

    ids: list[str] | None = None
    project: str | None = None
    prompt: str | None = None


class ExampleSources(JsonBody):
    """The examples a dataset change adds, and who makes it."""

    actor: str = _actor()
    examples: list[dict[str, Any]] | None = Field(
        None, description='objects with "input" and optionally "expected", "metadata"'
    )
    from_spans: FromSpans | None = None
    from_sql: str | None = Field(None, description="a SELECT with an input column")
    from_corrections: FromCorrections | None = None
    on_duplicate: OnDuplicate = "error"
    description: str | None = None
    message: str | None = None


class DatasetCreateBody(ExampleSources):
    """A new dataset, at version 1."""

    name: str


class DatasetChangeBody(ExampleSources):
    """A new version of a dataset: the latest minus ``remove`` plus the added examples."""

    remove: list[str] | None = Field(None, description="example ids")
    expected_version: int | None = _expected("dataset version")


class SnapshotBody(JsonBody):
    """A dataset snapshot (``GET /api/datasets/{name}/snapshot``) to restore."""

    manifest: dict[str, Any]
    examples: list[Any] | None = None


class DatasetVersionQuery(QueryParams):
    """Which version of a dataset to read (default: the latest)."""

    version: int | None = _version()


class DiffQuery(QueryParams):
    """Which two versions to compare (default: the latest and the one before)."""

    to: int | None = _version()
    from_: int | None = Field(None, alias="from", ge=1, le=MAX_VERSION)


# ---- /api/prompts


class PromptQuery(QueryParams):
    """Which version of a prompt: ``version``, else the one ``label`` points at."""

    version: int | None = _version()
    label: str | None = Field(None, description="default production")


class PromptScoresQuery(QueryParams):
    """Whose scores to count per prompt version."""

    project: str | None = None


class PromptVersionBody(JsonBody):
    """A new version of a prompt (version 1 creates it)."""

    template: str
    actor: str = _actor()
    model_params: dict[str, Any] | None = None
    variables: list[Any] | None = Field(None, description="the template's placeholders")
    message: str | None = None
    labels: list[str] | None = Field(None, description="labels to point at the new version")
    expected_version: int | None = _expected("newest version")


class LabelBody(JsonBody):
    """Point a label at a version (none: remove the label)."""

    label: str
    version: int | None = Field(None, ge=0)
    actor: str = _actor()
    reason: str | None = None
    expected_version: int | None = _expected("version the label pointed at")


class ProposeBody(JsonBody):
    """Propose a new prompt version from corrections."""

    actor: str = _actor()
    base_version: int | None = Field(None, ge=0)
    base_label: str | None = None
    correction_ids: list[str] | None = None
    max_examples: int = Field(3, ge=1, le=20)


class AdoptBody(JsonBody):
    """Adopt a proposal as the prompt's next version."""

    actor: str = _actor()
    label: str | None = None
    message: str | None = None
    force: bool = Field(False, description="adopt even if the prompt moved on since")


class RejectBody(JsonBody):
    """Reject a proposal."""

    actor: str = _actor()
    reason: str | None = None
