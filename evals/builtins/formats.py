"""Structured-output evaluators: valid JSON and JSON Schema conformance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import jsonschema
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..declare import evaluator
from ..score import BatchFn, BatchScores
from .columns import column, present, regex_mask

JsonShape = Literal["any", "object", "array"]
ASKS_FOR_JSON = r"\bJSON\b|\bjson\b"


@evaluator(name="valid_json", version="1")
def valid_json(require: JsonShape = "any", only_when_requested: bool = False) -> BatchFn:
    """Output parses as strict JSON (RFC 8259: no fences, no prose, no trailing commas).

    ``require`` can ask for an object or an array at the top. With ``only_when_requested``
    only spans whose input mentions JSON (the prompt asked for it) are scored.
    """
    if require not in ("any", "object", "array"):
        raise ValueError(f"require must be 'any', 'object' or 'array', got {require!r}")

    def score(spans: pa.Table) -> BatchScores:
        outputs = column(spans, "output")
        applies = present(outputs)
        if only_when_requested:
            applies &= regex_mask(column(spans, "input"), ASKS_FOR_JSON)
        passed = np.zeros(spans.num_rows, dtype=bool)
        explanation: list[str | None] = [None] * spans.num_rows
        # Only texts that start like JSON are parsed; the rest fail with a vectorised hint.
        stripped = pc.utf8_trim_whitespace(outputs)
        parse = applies & regex_mask(stripped, r"^[\[{\"\-0-9tfn]")
        for i in np.flatnonzero(parse):
            ok, why = _check_json(outputs[int(i)].as_py(), require)
            passed[i] = ok
            explanation[i] = why
        rest = applies & ~parse
        fenced = regex_mask(stripped, r"^```")
        prose = regex_mask(stripped, r"[\[{]")
        for i in np.flatnonzero(rest):
            hint = (
                " (wrapped in a code fence)"
                if fenced[i]
                else " (prose around the JSON)"
                if prose[i]
                else ""
            )
            explanation[i] = f"not valid JSON: does not start with a JSON value{hint}"
        return BatchScores(
            passed=passed,
            value=passed.astype(float),
            applies=applies,
            explanation=explanation,
            label=np.where(passed, "valid_json", "invalid_json"),
        )

    return score


def _check_json(text: str, require: JsonShape) -> tuple[bool, str | None]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        hint = _hint(text)
        where = f" at char {exc.pos}" if isinstance(exc.pos, int) else ""
        return False, f"not valid JSON: {str(exc).split(':', 1)[0]}{where}{hint}"
    if require == "object" and not isinstance(value, dict):
        return False, f"JSON is a {type(value).__name__}, expected an object"
    if require == "array" and not isinstance(value, list):
        return False, f"JSON is a {type(value).__name__}, expected an array"
    return True, None


def _hint(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        return " (wrapped in a code fence)"
    if stripped[:1] not in '{["' and ("{" in stripped or "[" in stripped):
        return " (prose around the JSON)"
    if stripped.startswith("{'") or ": '" in stripped:
        return " (single quotes)"
    if ",}" in stripped.replace(" ", "") or ",]" in stripped.replace(" ", ""):
        return " (trailing comma)"
    if stripped[:1] in "{[" and stripped[-1:] not in "}]":
        return " (truncated)"
    return ""


@evaluator(name="json_schema", version="1")
def json_schema(schema: Mapping[str, Any], only_when_requested: bool = False) -> BatchFn:
    """Output is JSON that validates against ``schema`` (JSON Schema, draft from ``$schema``,
    else 2020-12). The explanation names the first violation and where it is."""
    if not isinstance(schema, Mapping):
        raise ValueError("schema must be a JSON Schema object")
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"invalid JSON Schema: {exc.message}") from None
    validator = validator_class(schema)

    def score(spans: pa.Table) -> BatchScores:
        outputs = column(spans, "output")
        applies = present(outputs)
        if only_when_requested:
            applies &= regex_mask(column(spans, "input"), ASKS_FOR_JSON)
        passed = np.zeros(spans.num_rows, dtype=bool)
        explanation: list[str | None] = [None] * spans.num_rows
        for i, text in enumerate(outputs.to_pylist()):
            if not applies[i]:
                continue
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                explanation[i] = f"not valid JSON{_hint(text)}"
                continue
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
            if error is None:
                passed[i] = True
            else:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                explanation[i] = f"schema violation at {where}: {error.message[:300]}"
        return BatchScores(
            passed=passed, value=passed.astype(float), applies=applies, explanation=explanation
        )

    return score
