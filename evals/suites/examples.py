"""The examples a suite runs on, read from dataset folders and files without the database.

``datasets/<name>/`` holds ``manifest.json`` (versions listing example ids) and
``examples.jsonl``; a version is picked with ``name@N`` (default: the newest). A plain
``.jsonl`` file of objects works too: ``input`` / ``expected`` (or ``expected_output``) /
``metadata`` / ``example_id`` fields, or a field mapping for other shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopwise.collector.example_ids import example_id

EXPECTED_KEYS = ("expected", "expected_output", "reference")


class DatasetNotFound(LookupError):
    """The dataset, its version, or its files are missing or unreadable."""


@dataclass(frozen=True)
class SuiteExample:
    """One example: what the target gets (``input``) and what a right answer is."""

    example_id: str
    input: Any
    expected: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source_trace_id: str | None = None


@dataclass(frozen=True)
class LoadedDataset:
    """Examples with the name and version they were read as (``name@version``)."""

    name: str
    version: str | None
    examples: list[SuiteExample]

    @property
    def label(self) -> str:
        """``name@version`` or just ``name``."""
        return f"{self.name}@{self.version}" if self.version else self.name


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"tickets@3"`` → ``("tickets", "3")``; no ``@`` → ``(spec, None)``."""
    name, sep, version = spec.rpartition("@")
    if not sep or not name:
        return spec, None
    return name, version


def load_dataset_path(
    spec: str, *, base: Path | None = None, fields: Mapping[str, str] | None = None
) -> LoadedDataset:
    """Examples from a dataset folder (``path[@version]``) or a JSONL file."""
    raw_path, version = split_spec(spec)
    path = Path(raw_path)
    if base is not None and not path.is_absolute():
        path = base / path
    if path.is_dir():
        return _from_folder(path, version)
    if path.is_file():
        if version is not None:
            raise DatasetNotFound(f"{path} is a file: it has no versions (drop @{version})")
        return LoadedDataset(path.stem, None, read_jsonl(path, fields))
    raise DatasetNotFound(f"no dataset folder or file at {path}")


def _from_folder(folder: Path, version: str | None) -> LoadedDataset:
    manifest_path = folder / "manifest.json"
    examples_path = folder / "examples.jsonl"
    if not manifest_path.is_file() or not examples_path.is_file():
        raise DatasetNotFound(f"{folder} has no manifest.json and examples.jsonl")
    try:
        manifest = json.loads(manifest_path.read_text())
        versions = {str(v["version"]): v for v in manifest["versions"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetNotFound(f"{manifest_path} is not a dataset manifest: {exc}") from None
    if not versions:
        raise DatasetNotFound(f"{folder} has no versions yet")
    chosen = version or max(versions, key=lambda v: int(v) if v.isdigit() else -1)
    if chosen not in versions:
        known = ", ".join(sorted(versions, key=lambda v: int(v) if v.isdigit() else -1))
        raise DatasetNotFound(f"{folder.name} has no version {chosen} (versions: {known})")
    by_id = {e.example_id: e for e in read_jsonl(examples_path)}
    missing = [i for i in versions[chosen]["example_ids"] if i not in by_id]
    if missing:
        raise DatasetNotFound(f"{examples_path} lacks examples of version {chosen}: {missing[:3]}")
    examples = [by_id[i] for i in versions[chosen]["example_ids"]]
    return LoadedDataset(str(manifest.get("name") or folder.name), chosen, examples)


def read_jsonl(path: Path, fields: Mapping[str, str] | None = None) -> list[SuiteExample]:
    """Examples from a JSONL file; ``fields`` maps our names (input, expected, metadata,
    example_id) to the file's keys (``"input": "*"`` takes the whole record as the input).
    A line that is not a JSON object is an error."""
    mapping = dict(fields or {})
    examples: list[SuiteExample] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise DatasetNotFound(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(record, dict):
                raise DatasetNotFound(f"{path}:{number}: expected a JSON object")
            examples.append(example_from_record(record, mapping))
    return examples


def example_from_record(record: Mapping[str, Any], fields: Mapping[str, str]) -> SuiteExample:
    """One example from a record, honouring the field mapping."""
    input_key = fields.get("input", "input")
    expected_key = fields.get("expected") or next((k for k in EXPECTED_KEYS if k in record), None)
    metadata_key = fields.get("metadata", "metadata")
    id_key = fields.get("example_id", "example_id")
    if input_key == "*":
        value: Any = dict(record)
    elif input_key in record:
        value = record[input_key]
    else:
        raise DatasetNotFound(f"a record has no {input_key!r} field: keys {sorted(record)[:8]}")
    raw_metadata = record.get(metadata_key) or {}
    metadata = raw_metadata if isinstance(raw_metadata, dict) else {"metadata": raw_metadata}
    expected = record.get(expected_key) if expected_key else None
    given = record.get(id_key)
    trace, span = record.get("source_trace_id"), record.get("source_span_id")
    try:
        found = str(given) if given else example_id(value, expected, metadata, trace, span)
    except (TypeError, ValueError) as exc:
        raise DatasetNotFound(f"a record is not plain JSON: {exc}") from None
    return SuiteExample(
        example_id=found,
        input=value,
        expected=expected,
        metadata=metadata,
        source_trace_id=trace,
    )
