"""Invented identifiers: order numbers, ticket ids and the like in the output that appear
nowhere in what the model was given.

"Given" is the span's own input, the trace's root input and the retrieved context (the
outputs of retriever spans in the same trace). An identifier is a token shaped like one:
letters and digits joined (``ORD-10234``, ``INV2024-0042``, ``#88412``) or a long digit run
(6+). Comparison ignores case and separators (``ord10234`` matches ``ORD-10234``), and an
identifier counts as given when it occurs anywhere in the given text so normalised.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa

from ..declare import evaluator
from ..score import BatchFn, BatchScores
from .columns import check_re2, column, present

DEFAULT_PATTERN = (
    r"\b[A-Z]{2,6}[-_]?\d{3,}(?:[-_]\d+)*\b|#\d{4,}\b|\b\d{6,}\b|"
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
)
# DuckDB evaluates the whole batch: extract every identifier (RE2), canonicalise it and
# the given text (upper case, separators removed) and keep those not found in it.
INVENTED_SQL = r"""
WITH found AS (
    SELECT row_index, output,
           unnest(list_distinct(regexp_extract_all(output, $pattern))) AS ident,
           upper(regexp_replace(
               concat_ws(chr(10), input, root_input, array_to_string(retrieved_context, chr(10))),
               '[\s_#-]', '', 'g'
           )) AS given
    FROM _batch
    WHERE regexp_matches(output, $pattern)
)
SELECT row_index, list(ident ORDER BY strpos(output, ident)) AS invented
FROM found
WHERE NOT contains(given, upper(regexp_replace(ident, '[\s_#-]', '', 'g')))
GROUP BY row_index
"""


@evaluator(name="invented_identifiers", version="1", needs_context=True, direction="lower")
def invented_identifiers(pattern: str = DEFAULT_PATTERN) -> BatchFn:
    """Fails outputs naming identifiers (``pattern``, RE2 syntax) that occur in neither the
    input nor the retrieved context; the value is how many (lower is better)."""
    check_re2(pattern)

    compiled = _python_pattern(pattern)

    def score(spans: pa.Table) -> BatchScores:
        outputs = column(spans, "output")
        if compiled is not None and spans.num_rows <= SMALL_BATCH:
            return _scores(spans.num_rows, _invented_small(spans, compiled), outputs)
        batch = pa.table(
            {
                "row_index": pa.array(np.arange(spans.num_rows, dtype=np.int64)),
                "output": outputs,
                "input": column(spans, "input"),
                "root_input": column(spans, "root_input"),
                "retrieved_context": column(spans, "retrieved_context", pa.list_(pa.string())),
            }
        )
        with duckdb.connect() as con:
            con.register("_batch", batch)
            rows = con.execute(INVENTED_SQL, {"pattern": pattern}).fetchall()
        return _scores(spans.num_rows, rows, outputs)

    return score


def _scores(num_rows: int, rows: list[tuple[int, list[str]]], outputs: pa.Array) -> BatchScores:
    """Scores from (row, identifiers not given) pairs."""
    passed = np.ones(num_rows, dtype=bool)
    counts = np.zeros(num_rows)
    explanation: list[str | None] = [None] * num_rows
    for row, invented in rows:
        if not invented:
            continue
        passed[row] = False
        counts[row] = len(invented)
        ordered = list(invented)[:5]
        explanation[row] = (
            f"{', '.join(ordered)} appear{'s' if len(invented) == 1 else ''} nowhere in the "
            "input or retrieved context"
        )
    return BatchScores(
        passed=passed,
        value=counts,
        applies=present(outputs),
        explanation=explanation,
        label=np.where(passed, "grounded", "invented_identifier"),
    )


def _python_pattern(pattern: str) -> re.Pattern[str] | None:
    """The pattern for Python's ``re`` (ASCII classes, as RE2's), or None if it differs."""
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


def _invented_small(spans: pa.Table, pattern: re.Pattern[str]) -> list[tuple[int, list[str]]]:
    """INVENTED_SQL's answer for a handful of rows, in Python: starting a DuckDB connection
    costs more than the whole check of one output (``loopwise.check`` scores one at a time)."""
    outputs = column(spans, "output").to_pylist()
    inputs = column(spans, "input").to_pylist()
    roots = column(spans, "root_input").to_pylist()
    contexts = column(spans, "retrieved_context", pa.list_(pa.string())).to_pylist()
    found = []
    for row, output in enumerate(outputs):
        if not output:
            continue
        idents = list(dict.fromkeys(m.group(0) for m in pattern.finditer(output)))
        if not idents:
            continue
        given_parts = [inputs[row], roots[row], "\n".join(c for c in contexts[row] or [] if c)]
        given = _canonical("\n".join(p for p in given_parts if p))
        invented = [i for i in idents if _canonical(i) not in given]
        found.append((row, sorted(invented, key=output.find)))
    return found


def _canonical(text: str) -> str:
    return _SEPARATORS.sub("", text).upper()


_SEPARATORS = re.compile(r"[\s_#-]", re.ASCII)
SMALL_BATCH = 16
