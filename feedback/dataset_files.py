"""Datasets as files.

``datasets/<name>/`` (``save_dataset_dir`` / ``read_dataset_dir``) holds a dataset with its
whole history, readable without loopwise::

    manifest.json    {"format": "loopwise-dataset/1", "name", "description",
                      "versions": [{"version", "created_at", "author", "message",
                                    "example_ids": [...]}, ...]}
    examples.jsonl   one example per line: example_id, input, expected, metadata,
                     source_trace_id, source_span_id, created_at

Version N is the examples whose ids version N lists, in that order. Both files are written
to temporary names and renamed, so a reader never sees half a dataset.

One version can also be exported as flat JSONL, CSV or Parquet, and examples imported from
any of the three (``read_examples_file``), with a field mapping for files of other shapes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from .common import canonical_json, check_name
from .dataset_model import Example
from .dataset_snapshot import EXAMPLES_FILE
from .errors import FeedbackError

FileFormat = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[FileFormat, ...] = ("jsonl", "csv", "parquet")
MANIFEST_FILE = "manifest.json"
EXPORT_COLUMNS = (
    "example_id",
    "input",
    "expected",
    "metadata",
    "source_trace_id",
    "source_span_id",
)


def save_dataset_dir(snapshot: dict[str, Any], root: Path) -> Path:
    """Write a snapshot into ``root/<name>/`` (manifest.json and examples.jsonl)."""
    folder = Path(root) / check_name(snapshot["manifest"].get("name"), "dataset")
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in snapshot["examples"])
    manifest = json.dumps(snapshot["manifest"], ensure_ascii=False, indent=2) + "\n"
    _atomic_write(folder / EXAMPLES_FILE, lines)
    _atomic_write(folder / MANIFEST_FILE, manifest)
    return folder


def read_dataset_dir(folder: Path) -> dict[str, Any]:
    """The snapshot held in ``folder`` (validated when restored)."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise FeedbackError(f"{folder} holds no {MANIFEST_FILE}: not a loopwise dataset folder")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FeedbackError(f"{manifest_path}: not readable JSON: {exc}") from None
    examples_path = folder / (manifest.get("examples_file") or EXAMPLES_FILE)
    return {"manifest": manifest, "examples": _read_jsonl(examples_path)}


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


@dataclass(frozen=True)
class FieldMapping:
    """Which fields of an imported record make an example. Several ``input`` (or
    ``expected``) fields make an object of them; one field is used as is. ``metadata``
    None keeps every unmapped field as metadata. Dotted names reach into objects."""

    input: Sequence[str] = ()
    expected: Sequence[str] = ()
    metadata: Sequence[str] | None = None
    trace_id: str | None = None
    span_id: str | None = None

    def apply(self, record: dict[str, Any], where: str) -> Example:
        """The example ``record`` maps to; FeedbackError names the record when it cannot."""
        if not isinstance(record, dict):
            raise FeedbackError(f"{where}: expected a JSON object, got {type(record).__name__}")
        own = not self.input and "input" in record  # a loopwise export or a plain file
        inputs = ["input"] if own else list(self.input)
        if not inputs:
            raise FeedbackError(f"{where}: no 'input' field; map one (--input FIELD)")
        expected: list[str] = list(self.expected)
        if not expected and own:
            names: tuple[str, ...] = ("expected", "expected_output", "output")
            expected = [k for k in names if k in record][:1]
        used = set(inputs) | set(expected) | {"example_id", self.trace_id or "", self.span_id or ""}
        if self.metadata is None and own:
            metadata = record.get("metadata") or {}
            if not isinstance(metadata, dict):
                raise FeedbackError(f"{where}: metadata must be an object")
            used.add("metadata")
        elif self.metadata is None:
            metadata = {k: v for k, v in record.items() if k not in used}
        else:
            metadata = {name: _field(record, name, where) for name in self.metadata}
        trace_key = self.trace_id or ("source_trace_id" if own else None)
        span_key = self.span_id or ("source_span_id" if own else None)
        return Example(
            input=_pick(record, inputs, where),
            expected=_pick(record, expected, where, required=False) if expected else None,
            metadata=metadata,
            source_trace_id=_optional_str(record, trace_key, where),
            source_span_id=_optional_str(record, span_key, where),
        )


def read_examples_file(
    path: Path, fmt: FileFormat | None = None, mapping: FieldMapping | None = None
) -> list[Example]:
    """Every example in a JSONL, CSV or Parquet file (format from the suffix unless given).

    Reads the whole file before returning, so a bad record anywhere raises FeedbackError
    (with its line or row number) before anything is stored.
    """
    path = Path(path)
    chosen = fmt or _format_of(path)
    mapping = mapping or FieldMapping()
    if chosen == "jsonl":
        records = _read_jsonl(path)
    elif chosen == "csv":
        records = _read_csv(path)
    else:
        records = _read_parquet(path)
    if not records:
        raise FeedbackError(f"{path} holds no records")
    unit = "line" if chosen == "jsonl" else "row"
    examples = []
    for number, record in enumerate(records, 1):
        where = f"{path.name} {unit} {number}"
        example = mapping.apply(record, where)
        try:
            example.record(dt.datetime(2000, 1, 1))  # storable: JSON text, valid Unicode
        except FeedbackError as exc:
            raise FeedbackError(f"{where}: {exc}; nothing was imported") from None
        examples.append(example)
    return examples


def write_examples_file(
    examples: Sequence[Example], path: Path, fmt: FileFormat | None = None
) -> None:
    """Write examples as flat JSONL, CSV or Parquet (CSV and Parquet hold input, expected and
    metadata as JSON text); the file reads back with ``read_examples_file``."""
    path = Path(path)
    chosen = fmt or _format_of(path)
    rows = [e.to_dict() for e in examples]
    if chosen == "jsonl":
        _atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return
    flat = [_flatten(r) for r in rows]
    if chosen == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in flat)
        _atomic_write(path, buffer.getvalue())
        return
    schema = pa.schema([(name, pa.string()) for name in EXPORT_COLUMNS])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pylist(flat, schema=schema), tmp)
    tmp.replace(path)


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "example_id": row["example_id"],
        "input": canonical_json(row["input"]),
        "expected": None if row["expected"] is None else canonical_json(row["expected"]),
        "metadata": canonical_json(row["metadata"]),
        "source_trace_id": row["source_trace_id"],
        "source_span_id": row["source_span_id"],
    }


def _format_of(path: Path) -> FileFormat:
    suffix = path.suffix.lower().lstrip(".")
    aliases: dict[str, FileFormat] = {
        "jsonl": "jsonl",
        "ndjson": "jsonl",
        "json": "jsonl",
        "csv": "csv",
        "parquet": "parquet",
        "pq": "parquet",
    }
    if suffix not in aliases:
        raise FeedbackError(f"cannot tell the format of {path.name}; give jsonl, csv or parquet")
    return aliases[suffix]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedbackError(f"cannot read {path}: {exc}") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line, parse_constant=_refuse_constant, parse_float=_finite))
        except ValueError as exc:
            raise FeedbackError(
                f"{path.name} line {number}: not valid JSON ({exc}); nothing was imported"
            ) from None
        except RecursionError:
            raise FeedbackError(
                f"{path.name} line {number}: JSON nested too deeply; nothing was imported"
            ) from None
    return records


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV file with a header; a malformed file (an unclosed quote) or a row whose
    field count differs from the header's is refused with its row number."""
    rows: list[dict[str, Any]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, strict=True)
            for number, row in enumerate(reader, start=1):
                if None in row:
                    raise FeedbackError(
                        f"{path.name} row {number}: {len(row) - 1 + len(row[None])} fields "
                        f"but the header has {len(reader.fieldnames or [])}; nothing was imported"
                    )
                if any(value is None for value in row.values()):
                    present = sum(value is not None for value in row.values())
                    raise FeedbackError(
                        f"{path.name} row {number}: {present} fields but the header has "
                        f"{len(row)}; nothing was imported"
                    )
                rows.append(row)
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedbackError(f"cannot read {path} as CSV: {exc}") from None
    except csv.Error as exc:
        raise FeedbackError(
            f"{path.name} row {len(rows) + 1}: not valid CSV ({exc}; an unclosed quote?); "
            "nothing was imported"
        ) from None
    return [_unflatten(dict(row), path.name, i) for i, row in enumerate(rows, start=1)]


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise FeedbackError(f"cannot read {path} as Parquet: {exc}") from None
    for field in table.schema:
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            raise FeedbackError(
                f"{path.name}: column {field.name!r} holds binary data, not text; "
                "nothing was imported"
            )
    try:
        rows = table.to_pylist()
    except (UnicodeDecodeError, pa.ArrowException) as exc:
        raise FeedbackError(f"cannot read {path} as Parquet: {exc}") from None
    return [_unflatten(row, path.name, i) for i, row in enumerate(rows, start=1)]


def _unflatten(row: dict[str, Any], name: str, number: int) -> dict[str, Any]:
    """A loopwise export (it has an example_id column) holds JSON text; decode it."""
    if "example_id" not in row:
        return row
    out = {k: (v if v != "" else None) for k, v in row.items()}
    for key in ("input", "expected", "metadata"):
        text = out.get(key)
        if isinstance(text, str):
            try:
                out[key] = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
            except ValueError:
                raise FeedbackError(f"{name} row {number}: {key} is not JSON text") from None
    return out


def _field(record: dict[str, Any], name: str, where: str) -> Any:
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            raise FeedbackError(f"{where}: no field {name!r}")
        value = value[part]
    return value


def _pick(record: dict[str, Any], names: Sequence[str], where: str, required: bool = True) -> Any:
    if len(names) == 1:
        value = _field(record, names[0], where)
        if value is None and required:
            raise FeedbackError(f"{where}: field {names[0]!r} is empty")
        return value
    return {name: _field(record, name, where) for name in names}


def _optional_str(record: dict[str, Any], key: str | None, where: str) -> str | None:
    if not key or record.get(key) in (None, ""):
        return None
    value = record[key]
    if not isinstance(value, str):
        raise FeedbackError(f"{where}: {key} must be a string")
    return value
