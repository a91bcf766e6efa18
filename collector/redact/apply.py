"""Redaction of a normalized span batch, column by column, before anything is stored.

The fast path is RE2 over whole Arrow columns: one scan per column finds the rows holding
anything to redact, then each pattern counts and replaces its matches in those rows only.
Python runs only where it must: confirming card candidates (issuer prefix + Luhn), and
repairing a JSON value that a textual replacement would have broken (a card stored as a JSON
number, say), which is redone on the decoded value (jsonwalk.py).

Counts per kind are written into each span's metadata as ``"loopwise.redactions":
{"email": 2, ...}`` (see docs/governance.md for why metadata and not a column).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .config import RedactionConfig, RedactionPolicy
from .jsonwalk import redact_json_text, redact_python
from .patterns import Pattern

TEXT_COLUMNS = ("input", "output", "status_message")
JSON_COLUMNS = ("input_messages", "output_messages", "attributes", "metadata", "events", "resource")
COUNTS_KEY = "loopwise.redactions"

Counts = dict[str, np.ndarray]
_OPEN, _CLOSE = "\x1e", "\x1f"  # marks around card candidates between RE2 and Python


def redact_table(table: pa.Table, config: RedactionConfig) -> pa.Table:
    """``table`` (in the spans schema) with each project's patterns applied and the counts
    recorded in ``metadata``; returned unchanged when nothing is configured."""
    if table.num_rows == 0 or not config.active:
        return table
    projects = pc.unique(table["project"]).to_pylist()
    if len(projects) == 1:
        return redact_project(table, config.policy(projects[0]))
    parts: list[pa.Table] = []
    positions: list[pa.Array] = []
    for project in projects:
        where = pc.indices_nonzero(pc.equal(table["project"], project))
        parts.append(redact_project(table.take(where), config.policy(project)))
        positions.append(where)
    combined = pa.concat_tables(parts)
    return combined.take(pc.sort_indices(pa.chunked_array(positions)))


def redact_project(table: pa.Table, policy: RedactionPolicy) -> pa.Table:
    """``table`` with one policy applied to every row (see redact_table)."""
    patterns = policy.patterns
    if not patterns:
        return table
    counts: Counts = {}
    for name in TEXT_COLUMNS + JSON_COLUMNS:
        column = table[name].combine_chunks()
        redacted, found = redact_column(column, patterns, json=name in JSON_COLUMNS)
        if found:
            table = table.set_column(table.schema.get_field_index(name), name, redacted)
            for kind, values in found.items():
                counts[kind] = counts[kind] + values if kind in counts else values
    return record_counts(table, counts)


def redact_column(
    column: pa.Array, patterns: Sequence[Pattern], *, json: bool
) -> tuple[pa.Array, Counts]:
    """One string column redacted, and the matches per kind per row (empty: no change)."""
    if column.null_count == len(column):
        return column, {}
    anything = "|".join(f"(?:{p.detect(json=json)})" for p in patterns)
    hit = pc.fill_null(pc.match_substring_regex(column, anything), False)
    rows = pc.indices_nonzero(hit)
    if len(rows) == 0:
        return column, {}
    original = column.take(rows)
    values = original
    sub_counts: Counts = {}
    for pattern in patterns:
        values, found = _apply(values, pattern, json=json)
        if found is not None:
            kind = pattern.kind
            sub_counts[kind] = sub_counts[kind] + found if kind in sub_counts else found
    if not sub_counts:
        return column, {}
    if json:
        values, sub_counts = _repair_json(original, values, sub_counts, patterns)
    positions = rows.to_numpy()
    counts: Counts = {}
    for kind, found in sub_counts.items():
        full = np.zeros(len(column), dtype=np.int64)
        full[positions] = found
        counts[kind] = full
    return pc.replace_with_mask(column, hit, values), counts


def _apply(values: pa.Array, pattern: Pattern, *, json: bool) -> tuple[pa.Array, np.ndarray | None]:
    """``values`` with one pattern applied, and its matches per row (None: no match)."""
    if pattern.validate is not None:
        return _apply_validated(values, pattern, json=json)
    regex = pattern.regex(json=json)
    if pattern.builtin:
        # One scan: replace everywhere, then count the markers that appeared (a literal
        # search, far cheaper than counting the pattern's matches in a second scan).
        marker = re.escape(pattern.replacement)
        before = _count(values, marker)
        replaced = pc.replace_substring_regex(values, regex, pattern.rewrite)
        found = _count(replaced, marker) - before
        return (replaced, found) if found.any() else (values, None)
    # A custom pattern may match a marker itself: count its matches, replace where found.
    hits = _count(values, regex)
    if not hits.any():
        return values, None
    mask = pa.array(hits > 0)
    chosen = pc.replace_substring_regex(values.filter(mask), regex, pattern.rewrite)
    return pc.replace_with_mask(values, mask, chosen), hits


def _count(values: pa.Array, regex: str) -> np.ndarray:
    return np.array(pc.fill_null(pc.count_substring_regex(values, regex), 0), dtype=np.int64)


def _apply_validated(
    values: pa.Array, pattern: Pattern, *, json: bool
) -> tuple[pa.Array, np.ndarray | None]:
    # RE2 wraps each candidate in two control characters; Python then reads only the
    # candidates. A text already holding one of them is redone wholly in Python.
    after = r"\4" if pattern.glued else ""
    marked = pc.replace_substring_regex(
        values,
        pattern.regex(json=json, capture_body=True),
        r"\1\2" + _OPEN + r"\3" + _CLOSE + after,
    )
    hits = _count(marked, re.escape(_OPEN)) - _count(values, re.escape(_OPEN))
    if not hits.any():
        return values, None
    mask = pa.array(hits > 0)
    chosen = values.filter(mask)
    clash = pc.or_(
        pc.match_substring_regex(chosen, re.escape(_OPEN)),
        pc.match_substring_regex(chosen, re.escape(_CLOSE)),
    )
    compiled = pattern.python(json=json)
    found = np.zeros(len(values), dtype=np.int64)
    replaced: list[str | None] = []
    rows = zip(
        np.flatnonzero(hits),
        chosen.to_pylist(),
        marked.filter(mask).to_pylist(),
        pc.fill_null(clash, False).to_pylist(),
        strict=True,
    )
    for i, text, wrapped, clashes in rows:
        new, n = redact_python(text, compiled, pattern) if clashes else _confirm(wrapped, pattern)
        replaced.append(new)
        found[i] = n
    if not found.any():
        return values, None
    return pc.replace_with_mask(values, mask, pa.array(replaced, pa.string())), found


def _confirm(wrapped: str, pattern: Pattern) -> tuple[str, int]:
    """Text whose candidates RE2 wrapped in _OPEN/_CLOSE, with the confirmed ones replaced."""
    head, *segments = wrapped.split(_OPEN)
    out = [head]
    count = 0
    for segment in segments:
        candidate, _, tail = segment.partition(_CLOSE)
        if pattern.validate is None:
            out.append(pattern.replacement)
            count += 1
        else:
            text, n = pattern.validate(candidate, pattern.replacement)
            out.append(text)
            count += n
        out.append(tail)
    return "".join(out), count


def _repair_json(
    original: pa.Array, values: pa.Array, counts: Counts, patterns: Sequence[Pattern]
) -> tuple[pa.Array, Counts]:
    """Redo, on the decoded value, every row whose redacted text is no longer valid JSON."""
    total = sum(counts.values())
    changed = np.flatnonzero(total)
    texts = values.take(pa.array(changed)).to_pylist()
    broken = [i for i, text in zip(changed, texts, strict=True) if not _valid_json(text)]
    if not broken:
        return values, counts
    fixed: list[str | None] = []
    for i in broken:
        text, found = redact_json_text(original[int(i)].as_py(), patterns)
        fixed.append(text)
        for kind in counts:
            counts[kind][i] = 0
        for kind, n in found.items():
            counts.setdefault(kind, np.zeros(len(values), dtype=np.int64))[i] = n
    mask = np.zeros(len(values), dtype=bool)
    mask[broken] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(fixed, pa.string())), counts


def _valid_json(text: str | None) -> bool:
    if text is None:
        return True
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def record_counts(table: pa.Table, counts: Counts) -> pa.Table:
    """``metadata`` with ``"loopwise.redactions": {kind: n}`` on spans where something was
    redacted; a key of that name sent by a client is dropped (it is not the client's to set)."""
    index = table.schema.get_field_index("metadata")
    metadata = table["metadata"].combine_chunks()
    forged = pc.fill_null(pc.match_substring(metadata, f'"{COUNTS_KEY}"'), False)
    if pc.any(forged).as_py():
        metadata = _drop_forged(metadata, forged)
    counts = {kind: n for kind, n in counts.items() if n.any()}
    if counts:
        # Each part is '"kind":n,' or ''; the last comma is trimmed. (Joining nulls with
        # null_handling="skip" drops rows in pyarrow 26.)
        parts = [
            pc.if_else(
                pa.array(n > 0),
                pc.binary_join_element_wise(
                    f'"{kind}":', pc.cast(pa.array(n), pa.string()), ",", ""
                ),
                "",
            )
            for kind, n in sorted(counts.items())
        ]
        joined = pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), characters=",")
        head = pc.binary_join_element_wise('{"' + COUNTS_KEY + '":{', joined, "}", "")
        extendable = pc.fill_null(
            pc.and_(pc.starts_with(metadata, "{"), pc.not_equal(metadata, "{}")), False
        )
        rest = pc.utf8_slice_codeunits(metadata, 1)
        merged = pc.if_else(
            extendable,
            pc.binary_join_element_wise(head, ",", rest, ""),
            pc.binary_join_element_wise(head, "}", ""),
        )
        redacted = pa.array(sum(counts.values()) > 0)
        metadata = pc.if_else(redacted, merged, metadata)
    return table.set_column(index, "metadata", metadata)


def _drop_forged(metadata: pa.Array, forged: pa.Array) -> pa.Array:
    cleaned: list[str | None] = []
    for text in metadata.filter(forged).to_pylist():
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            cleaned.append(None)
            continue
        if isinstance(value, dict):
            value.pop(COUNTS_KEY, None)
        cleaned.append(orjson.dumps(value).decode() if value else None)
    return pc.replace_with_mask(metadata, forged, pa.array(cleaned, pa.string()))
