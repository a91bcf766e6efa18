"""The ``traces`` table: one summary row per trace, maintained by the span writer.

Its rows must equal what ``rebuild_traces`` computes from the stored spans in SQL, however
spans are split over batches, reordered, resent, or written across a restart.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS
from loopwise.collector.semconv import normalize_request
from loopwise.collector.store import MIGRATIONS, Store, migrate, rebuild_traces
from loopwise.collector.store.traces import PREVIEW_CHARS

MS = 1_000_000
SECOND = 1000 * MS


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh read-write store in tmp_path."""
    with Store(tmp_path / "traces.duckdb") as opened:
        yield opened


def table(otlp, spans: list[Any], project: str = "tt") -> pa.Table:
    """Normalized rows of ``spans`` as the collector would store them."""
    return normalize_request(otlp.request(spans, project=project)).table


def trace_rows(store: Store) -> list[dict[str, Any]]:
    """Every traces row, ordered by trace id."""
    return store.query("SELECT * FROM traces ORDER BY trace_id").records()


def rebuilt(store: Store) -> list[dict[str, Any]]:
    """The traces rows recomputed from spans in SQL (the table is restored afterwards)."""
    with store.transaction() as cur:
        before = cur.sql("SELECT * FROM traces").to_arrow_table()
        rebuild_traces(cur)
        rows = cur.sql("SELECT * FROM traces ORDER BY trace_id").to_arrow_table().to_pylist()
        cur.execute("DELETE FROM traces").fetchall()
        cur.register("_before", before)
        cur.execute("INSERT INTO traces SELECT * FROM _before").fetchall()
        cur.unregister("_before")
    return rows


def random_traces(otlp, rng: random.Random, count: int) -> list[Any]:
    """Spans of ``count`` traces with roots, children, sessions, users, tags, usage, errors
    and text (some of it longer than a preview, some not ASCII); no two spans of a trace
    start or end at the same microsecond."""
    spans = []
    for number in range(count):
        trace_id = otlp.trace_id()
        root = otlp.span_id()
        start = EPOCH_NS + number * SECOND
        size = rng.randint(1, 6)
        for i in range(size):
            attributes: dict[str, object] = {}
            if rng.random() < 0.6:
                attributes["session.id"] = f"s-{rng.randint(1, 4)}"
            if rng.random() < 0.5:
                attributes["user.id"] = f"u-{rng.randint(1, 3)}"
            if rng.random() < 0.5:
                attributes["input.value"] = "é😀 " * rng.randint(1, 120) + str(i)
            if rng.random() < 0.5:
                attributes["output.value"] = "out " * rng.randint(1, 80) + str(i)
            if rng.random() < 0.4:
                attributes["gen_ai.usage.input_tokens"] = rng.randint(1, 500)
                attributes["gen_ai.usage.output_tokens"] = rng.randint(1, 500)
            if rng.random() < 0.3:
                attributes["llm.cost.total"] = rng.randint(1, 100) / 1000
            if rng.random() < 0.3:
                attributes["tag.tags"] = rng.sample(["a", "b", "c", "d"], rng.randint(1, 2))
            begin = start + i * 7 * MS
            spans.append(
                otlp.span(
                    "root" if i == 0 else f"step-{i}",
                    trace_id=trace_id,
                    span_id=root if i == 0 else None,
                    parent_span_id=b"" if i == 0 else root,
                    start_ns=begin,
                    end_ns=begin + (size * 10 + 5 if i == 0 else rng.randint(1, 5)) * MS + i,
                    attributes=attributes,
                    status_code=2 if rng.random() < 0.1 else 1,
                )
            )
    return spans


@pytest.mark.parametrize(
    ("resend_rate", "restart_rate"),
    [(0.0, 0.0), (0.3, 0.2)],
    ids=["split-and-shuffled", "with-resends-and-restarts"],
)
def test_incremental_rows_equal_a_rebuild_from_spans(
    tmp_path: Path, otlp, resend_rate: float, restart_rate: float
) -> None:
    rng = random.Random(20260101)
    spans = random_traces(otlp, rng, 60)
    rng.shuffle(spans)
    path = tmp_path / "split.duckdb"
    store = Store(path)
    position = 0
    while position < len(spans):
        size = rng.randint(1, 25)
        batch = spans[position : position + size]
        if position and rng.random() < resend_rate:  # a resend overlapping what was stored
            batch = batch + spans[max(0, position - 5) : position]
        store.append_spans(table(otlp, batch))
        position += size
        if rng.random() < restart_rate:  # a restart forgets which traces were written lately
            store.close()
            store = Store(path)
    try:
        rows = trace_rows(store)
        assert len(rows) == 60
        assert sum(r["span_count"] for r in rows) == len(spans)
        assert rows == rebuilt(store)
    finally:
        store.close()


def test_a_trace_shows_its_earliest_span_until_the_root_arrives(store: Store, otlp) -> None:
    trace_id, root = otlp.trace_id(), otlp.span_id()
    child = otlp.span(
        "llm",
        trace_id=trace_id,
        parent_span_id=root,
        start_ns=EPOCH_NS + 5 * MS,
        attributes={"input.value": "child question", "output.value": "child answer"},
    )
    root_span = otlp.span(
        "agent",
        trace_id=trace_id,
        span_id=root,
        start_ns=EPOCH_NS,
        end_ns=EPOCH_NS + 50 * MS,
        attributes={"input.value": "x" * (PREVIEW_CHARS + 50), "output.value": "final"},
    )

    store.append_spans(table(otlp, [child]))
    [early] = trace_rows(store)
    store.append_spans(table(otlp, [root_span]))
    [complete] = trace_rows(store)

    assert (early["root_name"], early["span_count"]) == ("llm", 1)
    assert early["input_preview"] == "child question"
    assert complete["root_name"] == "agent"
    assert complete["root_span_id"] == root.hex()
    assert complete["span_count"] == 2
    assert complete["input_preview"] == "x" * PREVIEW_CHARS
    assert complete["output_preview"] == "final"
    assert complete["start_time"] == dt.datetime(2026, 1, 1)
    assert complete["end_time"] == dt.datetime(2026, 1, 1, 0, 0, 0, 50_000)


def test_resent_and_repeated_spans_count_once(store: Store, otlp) -> None:
    trace_id = otlp.trace_id()
    spans = [
        otlp.span(
            f"s{i}",
            trace_id=trace_id,
            start_ns=EPOCH_NS + i * MS,
            attributes={"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5},
        )
        for i in range(3)
    ]
    batch = table(otlp, spans)

    assert store.append_spans(batch) == 3
    assert store.append_spans(batch) == 0
    assert store.append_spans(pa.concat_tables([batch, batch])) == 0
    [row] = trace_rows(store)

    assert (row["span_count"], row["total_tokens"]) == (3, 45)


def test_a_batch_repeating_a_new_span_stores_it_once(store: Store, otlp) -> None:
    trace_id = otlp.trace_id()
    span = otlp.span("once", trace_id=trace_id, attributes={"gen_ai.usage.input_tokens": 7})
    batch = table(otlp, [span])

    assert store.append_spans(pa.concat_tables([batch, batch])) == 1
    [row] = trace_rows(store)
    assert (row["span_count"], row["total_tokens"]) == (1, 7)


def test_totals_errors_tags_session_and_user(store: Store, otlp) -> None:
    trace_id, root = otlp.trace_id(), otlp.span_id()
    spans = [
        otlp.span(
            "root",
            trace_id=trace_id,
            span_id=root,
            attributes={"session.id": "conv-1", "user.id": "ada", "tag.tags": ["beta", "eu"]},
        ),
        otlp.span(
            "llm",
            trace_id=trace_id,
            parent_span_id=root,
            start_ns=EPOCH_NS + MS,
            attributes={
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 20,
                "llm.cost.total": 0.25,
                "tag.tags": ["eu", "gpu"],
            },
            status_code=2,
        ),
        otlp.span("tool", trace_id=trace_id, parent_span_id=root, start_ns=EPOCH_NS + 2 * MS),
    ]
    store.append_spans(table(otlp, spans[:1]))
    store.append_spans(table(otlp, spans[1:]))

    [row] = trace_rows(store)
    assert row["project"] == "tt"
    assert (row["span_count"], row["error_count"]) == (3, 1)
    assert (row["total_tokens"], row["cost_usd"]) == (120, 0.25)
    assert (row["session_id"], row["user_id"]) == ("conv-1", "ada")
    assert row["tags"] == ["beta", "eu", "gpu"]
    assert row["service_name"] == "tests"


def test_the_migration_fills_traces_from_stored_spans(tmp_path: Path, otlp) -> None:
    path = tmp_path / "old.duckdb"
    trace_id, root = otlp.trace_id(), otlp.span_id()
    rows = table(
        otlp,
        [
            otlp.span("root", trace_id=trace_id, span_id=root),
            otlp.span("child", trace_id=trace_id, parent_span_id=root, start_ns=EPOCH_NS + MS),
        ],
    )
    with duckdb.connect(str(path)) as con:  # a database written before the traces table
        traces_migrations = {
            "0015_create_traces",
            "0016_traces_usage_spans",
            "0061_uncount_duplicate_usage",
        }
        migrate(con, [m for m in MIGRATIONS if m[0] not in traces_migrations])
        con.register("_old", rows)
        con.execute(f"INSERT INTO spans ({', '.join(rows.column_names)}) SELECT * FROM _old")

    with Store(path) as store:
        [row] = trace_rows(store)

    assert (row["trace_id"], row["root_name"], row["span_count"]) == (trace_id.hex(), "root", 2)


def aggregating_trace(otlp) -> tuple[str, list[Any]]:
    """A root over a parent call reporting 244 tokens and $0.04 over its two model calls
    (61 tokens and $0.01 each), as the Vercel AI SDK's ``ai.generateText`` over its
    ``doGenerate`` calls reports usage (here counted twice over); a tool span has none."""
    trace_id, root, parent = otlp.trace_id(), otlp.span_id(), otlp.span_id()

    def usage(inp: int, out: int, cost: float) -> dict[str, object]:
        return {
            "gen_ai.usage.input_tokens": inp,
            "gen_ai.usage.output_tokens": out,
            "llm.cost.total": cost,
        }

    spans = [
        otlp.span("workflow", trace_id=trace_id, span_id=root),
        otlp.span(
            "ai.generateText",
            trace_id=trace_id,
            span_id=parent,
            parent_span_id=root,
            start_ns=EPOCH_NS + MS,
            attributes=usage(200, 44, 0.04),
        ),
        otlp.span(
            "ai.generateText.doGenerate",
            trace_id=trace_id,
            parent_span_id=parent,
            start_ns=EPOCH_NS + 2 * MS,
            attributes=usage(50, 11, 0.01),
        ),
        otlp.span(
            "ai.generateText.doGenerate",
            trace_id=trace_id,
            parent_span_id=parent,
            start_ns=EPOCH_NS + 3 * MS,
            attributes=usage(50, 11, 0.01),
        ),
        otlp.span("tool", trace_id=trace_id, parent_span_id=root, start_ns=EPOCH_NS + 4 * MS),
    ]
    return trace_id.hex(), spans


@pytest.mark.parametrize(
    "batches",
    [[[0, 1, 2, 3, 4]], [[2], [3], [1], [0, 4]], [[1], [2, 3], [0, 4]], [[2, 1], [4, 3, 0]]],
    ids=["one-batch", "children-first", "parent-first", "mixed"],
)
def test_a_parent_reporting_the_sum_of_its_calls_counts_once(
    store: Store, otlp, batches: list[list[int]]
) -> None:
    trace_id, spans = aggregating_trace(otlp)
    for batch in batches:
        store.append_spans(table(otlp, [spans[i] for i in batch]))

    [row] = trace_rows(store)
    assert (row["trace_id"], row["span_count"]) == (trace_id, 5)
    assert row["total_tokens"] == 122
    assert row["cost_usd"] == pytest.approx(0.02)
    assert [row] == rebuilt(store)
    parent = store.query(
        "SELECT total_tokens, cost_usd FROM spans WHERE name = 'ai.generateText'"
    ).records()
    assert parent == [{"total_tokens": 244, "cost_usd": 0.04}]  # the parent's own row


def test_a_wrapper_reporting_its_only_call_counts_once(store: Store, otlp) -> None:
    trace_id, outer = otlp.trace_id(), otlp.span_id()
    usage = {"gen_ai.usage.input_tokens": 30, "gen_ai.usage.output_tokens": 12}
    store.append_spans(
        table(
            otlp,
            [
                otlp.span("agent run", trace_id=trace_id, span_id=outer, attributes=usage),
                otlp.span(
                    "chat",
                    trace_id=trace_id,
                    parent_span_id=outer,
                    start_ns=EPOCH_NS + MS,
                    attributes=usage,
                ),
                otlp.span(
                    "chat", trace_id=trace_id, parent_span_id=outer, start_ns=EPOCH_NS + 2 * MS
                ),
            ],
        )
    )
    [row] = trace_rows(store)
    assert (row["total_tokens"], row["cost_usd"]) == (42, None)


def test_a_marked_duplicate_counts_in_no_total_and_the_migration_recounts_old_rows(
    store: Store, otlp
) -> None:
    from loopwise.collector.store.migration_sql import FROZEN_MIGRATIONS

    trace_id, root = otlp.trace_id(), otlp.span_id()
    model = {"gen_ai.request.model": "claude-sonnet-4", "llm.cost.total": 0.02}
    first = otlp.span(
        "anthropic.chat",
        trace_id=trace_id,
        parent_span_id=root,
        start_ns=EPOCH_NS + 10 * MS,
        end_ns=EPOCH_NS + 500 * MS,
        attributes={
            **model,
            "gen_ai.system": "Anthropic",
            "llm.request.type": "chat",
            "gen_ai.usage.prompt_tokens": 120,
            "gen_ai.usage.completion_tokens": 40,
        },
    )
    second = otlp.span(
        "chat claude-sonnet-4",
        trace_id=trace_id,
        parent_span_id=root,
        start_ns=EPOCH_NS + 12 * MS,
        end_ns=EPOCH_NS + 498 * MS,
        attributes={
            **model,
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 40,
        },
    )
    workflow = otlp.span("workflow", trace_id=trace_id, span_id=root, end_ns=EPOCH_NS + SECOND)
    store.append_spans(table(otlp, [workflow, first]))
    store.append_spans(table(otlp, [second]))

    [row] = trace_rows(store)
    assert (row["total_tokens"], round(row["cost_usd"], 9)) == (160, 0.02)
    assert [u["span_id"] for u in row["usage_spans"]] == [first.span_id.hex()]
    assert rebuilt(store) == trace_rows(store)

    # A row written before duplicates were left out of totals: both calls counted.
    with store.transaction() as cur:
        cur.execute(
            "UPDATE traces SET total_tokens = 320, cost_usd = 0.04, usage_spans = ("
            "SELECT list(struct_pack(span_id := span_id, parent_span_id := parent_span_id, "
            "total_tokens := total_tokens, cost_usd := cost_usd) ORDER BY span_id) FROM spans "
            "WHERE total_tokens IS NOT NULL)"
        ).fetchall()
        [(name, statements)] = [m for m in FROZEN_MIGRATIONS if m[0].startswith("0061_")]
        for sql, _ in statements:
            cur.execute(sql).fetchall()
    [row] = trace_rows(store)
    assert (row["total_tokens"], round(row["cost_usd"], 9)) == (160, 0.02), name
    assert rebuilt(store) == trace_rows(store)
