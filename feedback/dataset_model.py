"""Dataset examples and versions: their shape, validation and content-derived ids.

An example is ``input`` (any JSON value: text or an object of prompt variables),
``expected`` (the right output, optional), ``metadata`` (an object) and the span it came
from. Its id is a hash of all of that, so the same example always has the same id, in the
database, on disk and after an export and import. Two examples with the same input are
duplicates within one version.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from loopwise.collector.example_ids import example_id

from .common import canonical_json, from_json
from .errors import FeedbackError

MAX_EXAMPLES_PER_CHANGE = 100_000

EXAMPLE_SCHEMA = pa.schema(
    [
        ("example_id", pa.string()),
        ("input", pa.string()),
        ("expected", pa.string()),
        ("metadata", pa.string()),
        ("source_trace_id", pa.string()),
        ("source_span_id", pa.string()),
        ("created_at", pa.timestamp("us")),
    ]
)
VERSION_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("version", pa.int32()),
        ("description", pa.string()),
        ("message", pa.string()),
        ("author", pa.string()),
        ("created_at", pa.timestamp("us")),
        ("example_count", pa.int32()),
    ]
)
MEMBER_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("version", pa.int32()),
        ("position", pa.int32()),
        ("example_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class Example:
    """One dataset example. ``example_id`` is derived from the content."""

    input: Any
    expected: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source_trace_id: str | None = None
    source_span_id: str | None = None

    @functools.cached_property
    def example_id(self) -> str:
        """``ex_`` and 24 hex characters of a hash of the whole example (the scheme every
        loader uses: loopwise.collector.example_ids)."""
        try:
            return example_id(
                self.input,
                self.expected,
                self.metadata,
                self.source_trace_id,
                self.source_span_id,
            )
        except (TypeError, ValueError, RecursionError):
            # Serialized again only to raise the FeedbackError that names the problem.
            canonical_json([self.input, self.expected, dict(self.metadata)])
            raise

    @functools.cached_property
    def input_key(self) -> str:
        """The input as canonical JSON: examples with equal keys are duplicates."""
        return canonical_json(self.input)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used by the API and the JSONL files."""
        return {
            "example_id": self.example_id,
            "input": self.input,
            "expected": self.expected,
            "metadata": dict(self.metadata),
            "source_trace_id": self.source_trace_id,
            "source_span_id": self.source_span_id,
        }

    def record(self, created_at: dt.datetime) -> dict[str, Any]:
        """A row of the ``dataset_examples`` table."""
        return {
            "example_id": self.example_id,
            "input": canonical_json(self.input),
            "expected": None if self.expected is None else canonical_json(self.expected),
            "metadata": canonical_json(dict(self.metadata)),
            "source_trace_id": self.source_trace_id,
            "source_span_id": self.source_span_id,
            "created_at": created_at,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Example:
        """An example from a ``dataset_examples`` row."""
        metadata = from_json(row["metadata"], {})
        example = cls(
            input=from_json(row["input"]),
            expected=from_json(row["expected"]),
            metadata=metadata if isinstance(metadata, dict) else {},
            source_trace_id=row["source_trace_id"],
            source_span_id=row["source_span_id"],
        )
        # Stored rows hold the id and the canonical input already: no need to hash again.
        example.__dict__["example_id"] = row["example_id"]
        example.__dict__["input_key"] = row["input"]
        return example


def parse_example(value: Any, where: str = "example") -> Example:
    """An Example from a JSON object with ``input`` and optionally ``expected``,
    ``metadata``, ``source_trace_id``, ``source_span_id``; a given ``example_id`` must
    match the content. Raises FeedbackError saying what is wrong and where."""
    if not isinstance(value, Mapping):
        raise FeedbackError(f"{where}: an example must be a JSON object")
    if "input" not in value or value["input"] is None:
        raise FeedbackError(f"{where}: an example needs an input")
    metadata = value.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise FeedbackError(f"{where}: metadata must be an object")
    source = {}
    for key in ("source_trace_id", "source_span_id"):
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or len(item) > 64):
            raise FeedbackError(f"{where}: {key} must be a string id")
        source[key] = item or None
    example = Example(
        input=value["input"],
        expected=value.get("expected"),
        metadata=dict(metadata),
        source_trace_id=source["source_trace_id"],
        source_span_id=source["source_span_id"],
    )
    try:
        given = value.get("example_id")
        actual = example.example_id
    except FeedbackError as exc:
        raise FeedbackError(f"{where}: {exc}") from None
    if given is not None and given != actual:
        raise FeedbackError(
            f"{where}: example_id {given!r} does not match its content ({actual}); "
            "the example was edited: drop example_id to store it as a new example"
        )
    return example


def parse_examples(values: Any, what: str = "examples") -> list[Example]:
    """A list of examples from a JSON array (see ``parse_example``)."""
    if values is None:
        return []
    if not isinstance(values, list):
        raise FeedbackError(f"{what} must be a list of example objects")
    if len(values) > MAX_EXAMPLES_PER_CHANGE:
        raise FeedbackError(f"at most {MAX_EXAMPLES_PER_CHANGE} examples per change")
    return [parse_example(value, f"{what}[{i}]") for i, value in enumerate(values)]


@dataclass(frozen=True)
class DatasetVersion:
    """One version of a dataset (its header; the examples are read separately)."""

    dataset: str
    version: int
    description: str | None
    message: str | None
    author: str
    created_at: dt.datetime
    example_count: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "description": self.description,
            "message": self.message,
            "author": self.author,
            "created_at": self.created_at,
            "example_count": self.example_count,
        }
