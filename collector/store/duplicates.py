"""Marking llm spans that record a call another instrumentation already recorded.

Two instrumentations of one client (a provider SDK's own tracer beside OpenLLMetry's, say)
give two llm rows for one request. Nothing is dropped: the later row of such a pair gets
``"duplicate_of": <span id of the earlier>`` in its metadata, so totals can count the call
once. A pair is likely one call when both spans are llm spans of the same trace whose time
windows overlap, with the same model and the same input and output token counts, neither the
other's parent, and from different instrumentations: their names or their attribute key sets
differ (a fan-out of identical calls from one instrumentation shares both, and stays apart).
"Later" is the later start, then the larger span id.

Runs inside the writer's transaction; the search is in memory (``DuplicateMarker``) and a
query runs only when it finds a pair.
"""

from __future__ import annotations

from collections import OrderedDict

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .usage import DUPLICATE_KEY

# Run only for the pairs found in memory: those from different instrumentations (names or
# attribute keys differ), each later span marked with its earliest twin.
_MARK = f"""
WITH keyed AS (
    SELECT s.trace_id, s.span_id, s.metadata, list_sort(json_keys(s.attributes)) AS keys
    FROM spans AS s
    SEMI JOIN (
        SELECT trace_id, later_id AS span_id FROM _duplicate_pairs
        UNION SELECT trace_id, earlier_id FROM _duplicate_pairs
    ) AS wanted ON s.trace_id = wanted.trace_id AND s.span_id = wanted.span_id
),
marks AS (
    SELECT p.trace_id, p.later_id,
           arg_min(p.earlier_id, (p.earlier_start, p.earlier_id)) AS original
    FROM _duplicate_pairs AS p
    JOIN keyed AS l ON l.trace_id = p.trace_id AND l.span_id = p.later_id
    JOIN keyed AS e ON e.trace_id = p.trace_id AND e.span_id = p.earlier_id
    WHERE (p.renamed OR l.keys <> e.keys)
      AND (l.metadata IS NULL OR l.metadata->>'{DUPLICATE_KEY}' IS NULL)
    GROUP BY p.trace_id, p.later_id
)
UPDATE spans SET metadata = json_merge_patch(
        coalesce(spans.metadata, '{{}}'), json_object('{DUPLICATE_KEY}', marks.original)
    )::VARCHAR
FROM marks
WHERE spans.trace_id = marks.trace_id AND spans.span_id = marks.later_id
RETURNING spans.trace_id, spans.span_id
"""


Signature = tuple[str, str | None, str, str, int, int, int, int | None]
# Signature fields: span_id, parent_span_id, name, model, start, end, input and output tokens.
COLUMNS = ("span_id", "parent_span_id", "name", "model", "start_time", "end_time")
TOKENS = ("input_tokens", "output_tokens")


class DuplicateMarker:
    """Marks likely duplicate llm spans as batches are written (see the module docstring).

    The search runs in memory: it keeps the llm spans with token counts of the last
    ``capacity`` traces that had one (a few numbers and names each), so a batch costs no
    query unless a pair is found; then one query checks attribute keys and writes the
    marks. After a restart, a twin of a call stored before it is not looked for; the mark
    is a hint for totals, never a deletion.
    """

    def __init__(self, capacity: int = 65_536) -> None:
        self._capacity = capacity
        self._traces: OrderedDict[str, list[Signature]] = OrderedDict()

    def mark(self, cur: duckdb.DuckDBPyConnection, inserted: pa.Table) -> list[tuple[str, str]]:
        """Mark likely duplicate llm spans among ``inserted`` (just written, in the same
        transaction) and the spans written before them; return the (trace id, span id) of
        each span marked now."""
        if inserted.num_rows == 0:
            return []
        mask = pc.and_(
            pc.equal(inserted["kind"], "llm"),
            pc.and_(pc.is_valid(inserted["input_tokens"]), pc.is_valid(inserted["model"])),
        )
        rows = inserted.filter(pc.fill_null(mask, False))
        if rows.num_rows == 0:
            return []
        columns = [rows[name].to_pylist() for name in ("trace_id", *COLUMNS[:4])]
        times = [rows[name].cast(pa.int64()).to_pylist() for name in COLUMNS[4:]]
        tokens = [rows[name].to_pylist() for name in TOKENS]
        pairs: list[tuple[str, str, str, bool, int]] = []
        for trace_id, *fields in zip(*columns, *times, *tokens, strict=True):
            signature: Signature = tuple(fields)
            known = self._traces.get(trace_id)
            if known is None:
                self._traces[trace_id] = [signature]
                if len(self._traces) > self._capacity:
                    self._traces.popitem(last=False)
                continue
            pairs += [
                (trace_id, *_pair(signature, other)) for other in known if _twins(signature, other)
            ]
            known.append(signature)
        return self._write(cur, pairs) if pairs else []

    def _write(
        self, cur: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str, str, bool, int]]
    ) -> list[tuple[str, str]]:
        names = ("trace_id", "later_id", "earlier_id", "renamed", "earlier_start")
        table = pa.table(dict(zip(names, map(list, zip(*pairs, strict=True)), strict=True)))
        table = table.set_column(
            4, "earlier_start", table["earlier_start"].cast(pa.timestamp("us"))
        )
        cur.register("_duplicate_pairs", table)
        try:
            return [(str(trace), str(span)) for trace, span in cur.execute(_MARK).fetchall()]
        finally:
            cur.unregister("_duplicate_pairs")


def _twins(one: Signature, other: Signature) -> bool:
    """Same model and tokens, overlapping windows (a span that starts as the other ends does
    not overlap it), neither the other's parent."""
    return (
        one[3] == other[3]
        and one[6] == other[6]
        and one[7] == other[7]
        and (one[4] == other[4] or (one[4] < other[5] and other[4] < one[5]))
        and one[1] != other[0]
        and other[1] != one[0]
        and one[0] != other[0]
    )


def _pair(one: Signature, other: Signature) -> tuple[str, str, bool, int]:
    """(later span id, earlier span id, names differ, earlier start)."""
    later, earlier = (one, other) if (one[4], one[0]) > (other[4], other[0]) else (other, one)
    return later[0], earlier[0], later[2] != earlier[2], earlier[4]
