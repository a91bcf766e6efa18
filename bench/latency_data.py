"""One million spans for the latency benchmark, built as Arrow tables in the span schema.

200k five-span traces spread over the last 7 days (an agent root, a retriever, two LLM calls
with ~1.5 KB prompts, a tool; ~3% of traces fail; sessions, users and tags on the root) and
one LLM-judge and one code score per trace, appended through ``Store.append_spans`` and
``append_scores`` in batches of 100k spans. Text comes from pools of pre-built strings, so
generating a million rows costs seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from rich.console import Console

from loopwise.collector.store import SCORE_ARROW_SCHEMA, SPAN_ARROW_SCHEMA, Store, append_scores
from loopwise.collector.store.backend import LakeBackend
from loopwise.collector.store.lake_store import LakeStore
from loopwise.collector.store.lake_tables import ensure_lake_tables

WORDS = (
    "refund",
    "order",
    "shipping",
    "delayed",
    "account",
    "password",
    "invoice",
    "charge",
    "parcel",
    "label",
    "warranty",
)

SPANS_PER_TRACE = 5
TRACES_PER_BATCH = 20_000
WINDOW = dt.timedelta(days=7)
PROJECTS = ("support-bot", "search", "billing")
SERVICES = ("api", "worker", "triage", "ingest")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-haiku")
PRICE_PER_TOKEN = {"gpt-4o-mini": 0.6e-6, "gpt-4o": 5e-6, "claude-haiku": 1.25e-6}
TAGS = (["prod"], ["prod", "beta"], ["staging"], [])
NAMES = ("triage", "retrieve", "chat", "lookup_order", "chat")
KINDS = ("agent", "retriever", "llm", "tool", "llm")
OFFSETS_MS = (0.0, 2.0, 40.0, 900.0, 1000.0)


def _texts(rng: np.random.Generator, count: int, words: int) -> pa.Array:
    vocabulary = np.array(WORDS)
    return pa.array([" ".join(rng.choice(vocabulary, words)) for _ in range(count)])


@dataclass
class Pools:
    """Pre-built text the generator picks from, so a million rows cost no string work."""

    prompts: pa.Array
    completions: pa.Array
    short: pa.Array
    attributes: pa.Array

    @classmethod
    def build(cls, rng: np.random.Generator) -> Pools:
        """About 1.5 KB prompts, 0.4 KB completions, short tool text, attribute JSON."""
        attributes = [
            json.dumps(
                {
                    "gen_ai.request.model": model,
                    "input.value": {"$column": "input"},
                    "output.value": {"$column": "output"},
                    "llm.invocation_parameters": json.dumps({"temperature": 0.2}),
                }
            )
            for model in MODELS
        ]
        return cls(
            prompts=_texts(rng, 500, 200),
            completions=_texts(rng, 500, 55),
            short=_texts(rng, 200, 6),
            attributes=pa.array(attributes),
        )


def span_batch(
    rng: np.random.Generator,
    pools: Pools,
    first_trace: int,
    traces: int,
    start: dt.datetime,
    seconds_apart: float,
) -> pa.Table:
    """``traces`` five-span traces, the first at ``start`` and each ``seconds_apart`` after
    the one before, in the span schema (collector/store/schema.py)."""
    n = traces * SPANS_PER_TRACE
    position = np.tile(np.arange(SPANS_PER_TRACE), traces)
    trace_no = np.repeat(np.arange(first_trace, first_trace + traces), SPANS_PER_TRACE)
    noise = rng.bytes(12 * traces).hex()
    trace_ids = [f"{first_trace + t:08x}{noise[24 * t : 24 * t + 24]}" for t in range(traces)]
    span_ids = [f"{trace_no[i]:012x}{position[i]:04x}" for i in range(n)]
    parents = [None if position[i] == 0 else f"{trace_no[i]:012x}0000" for i in range(n)]
    root_start_us = (np.arange(traces) * seconds_apart * 1e6).astype(np.int64)
    offsets_us = (np.array(OFFSETS_MS)[position] * 1000).astype(np.int64)
    durations_ms = np.where(
        position == 0, rng.lognormal(7.6, 0.5, n), rng.lognormal(5.5, 0.8, n)
    ).round(3)
    start_us = np.repeat(root_start_us, SPANS_PER_TRACE) + offsets_us
    base = np.datetime64(start.replace(tzinfo=None), "us")
    starts = base + start_us.astype("timedelta64[us]")
    ends = starts + (durations_ms * 1000).astype("timedelta64[us]")
    failed = np.repeat(rng.random(traces) < 0.03, SPANS_PER_TRACE) & (position == 3)
    is_llm = np.isin(position, (2, 4))
    model_no = np.repeat(rng.integers(0, len(MODELS), traces), SPANS_PER_TRACE)
    models = np.array(MODELS, dtype=object)[model_no]
    input_tokens = rng.integers(200, 900, n)
    output_tokens = rng.integers(20, 300, n)
    prices = np.array([PRICE_PER_TOKEN[m] for m in MODELS])[model_no]
    cost = (input_tokens + output_tokens) * prices
    session_no = np.repeat(rng.integers(0, 20_000, traces), SPANS_PER_TRACE)
    user_no = np.repeat(rng.integers(0, 5_000, traces), SPANS_PER_TRACE)
    tag_no = np.repeat(rng.integers(0, len(TAGS), traces), SPANS_PER_TRACE)
    root = position == 0
    text_in = pools.prompts.take(pa.array(rng.integers(0, len(pools.prompts), n)))
    text_out = pools.completions.take(pa.array(rng.integers(0, len(pools.completions), n)))
    short = pools.short.take(pa.array(rng.integers(0, len(pools.short), n)))

    def where(mask: np.ndarray, values: list[object] | np.ndarray) -> pa.Array:
        return pa.array([v if m else None for v, m in zip(values, mask, strict=True)])

    columns = {
        "project": pa.array(np.array(PROJECTS, dtype=object)[trace_no % len(PROJECTS)]),
        "trace_id": pa.array(np.repeat(np.array(trace_ids, dtype=object), SPANS_PER_TRACE)),
        "span_id": pa.array(span_ids),
        "parent_span_id": pa.array(parents, pa.string()),
        "name": pa.array(np.array(NAMES, dtype=object)[position]),
        "kind": pa.array(np.array(KINDS, dtype=object)[position]),
        "status": pa.array(np.where(failed, "error", "ok")),
        "status_message": where(failed, ["TimeoutError: order service"] * n),
        "start_time": pa.array(starts),
        "end_time": pa.array(ends),
        "duration_ms": pa.array(durations_ms),
        "service_name": pa.array(np.array(SERVICES, dtype=object)[trace_no % len(SERVICES)]),
        "model": where(is_llm, models),
        "provider": where(is_llm, ["openai"] * n),
        "input": pa.array(
            np.where(is_llm, text_in.to_numpy(zero_copy_only=False), short.to_numpy(False))
        ),
        "output": pa.array(
            np.where(is_llm, text_out.to_numpy(zero_copy_only=False), short.to_numpy(False))
        ),
        "input_tokens": where(is_llm, input_tokens.tolist()),
        "output_tokens": where(is_llm, output_tokens.tolist()),
        "total_tokens": where(is_llm, (input_tokens + output_tokens).tolist()),
        "cost_usd": where(is_llm, cost.tolist()),
        "session_id": where(root, [f"session-{s}" for s in session_no]),
        "user_id": where(root, [f"user-{u}" for u in user_no]),
        "tags": pa.array([TAGS[t] if r else [] for t, r in zip(tag_no, root, strict=True)]),
        "metadata": pa.array([None] * n, pa.string()),
        "attributes": pools.attributes.take(pa.array(model_no)),
        "resource": pa.array(['{"service.name": "bench"}'] * n),
        "events": pa.array([None] * n, pa.string()),
        "ingested_at": pa.array(ends),
    }
    arrays = [
        columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type)
        for f in SPAN_ARROW_SCHEMA  # columns this generator does not know stay null
    ]
    return pa.Table.from_arrays(arrays, schema=SPAN_ARROW_SCHEMA)


def score_batch(rng: np.random.Generator, spans: pa.Table, first_id: int) -> pa.Table:
    """One ``helpfulness`` (llm judge) and one ``valid_json`` (code) score per trace, five
    seconds after the trace ended; ids count up from ``first_id``."""
    roots = spans.filter(pa.compute.is_null(spans["parent_span_id"]))
    n = roots.num_rows
    created = pa.compute.add(roots["end_time"], pa.scalar(5_000_000, pa.duration("us")))
    helpful = rng.random(n)
    valid = rng.random(n) < 0.9
    names = ["helpfulness"] * n + ["valid_json"] * n
    values = np.concatenate([helpful.round(3), valid.astype(float)])
    return pa.Table.from_pydict(
        {
            "score_id": [f"{first_id + i:032x}" for i in range(len(names))],
            "project": pa.concat_arrays([roots["project"].combine_chunks()] * 2),
            "trace_id": pa.concat_arrays([roots["trace_id"].combine_chunks()] * 2),
            "span_id": pa.array([None] * len(names), pa.string()),
            "name": names,
            "value": values,
            "label": pa.array([None] * len(names), pa.string()),
            "passed": pa.array(np.concatenate([helpful > 0.5, valid])),
            "explanation": pa.array([None] * len(names), pa.string()),
            "kind": ["llm"] * n + ["code"] * n,
            "source": names,
            "evaluator_version": ["1"] * len(names),
            "status": ["ok"] * len(names),
            "error": pa.array([None] * len(names), pa.string()),
            "author": pa.array([None] * len(names), pa.string()),
            "comment": pa.array([None] * len(names), pa.string()),
            "metadata": pa.array([None] * len(names), pa.string()),
            "created_at": pa.concat_arrays([created.combine_chunks()] * 2),
            "direction": ["higher"] * len(names),  # both: a higher value is better
        },
        schema=SCORE_ARROW_SCHEMA,
    )


def load(db: Path, spans: int, console: Console) -> tuple[int, float]:
    """Fill ``db`` with ``spans`` spans (and their scores); return (spans stored, seconds)."""
    with Store(db) as store:
        return _fill(store.append_spans, lambda table: append_scores(store, table), spans, console)


def load_lake(backend: LakeBackend, spans: int, console: Console) -> tuple[int, float]:
    """Fill the lake ``backend`` as ``load`` fills a file; return (spans stored, seconds)."""
    with LakeStore(backend) as store:
        cur = store.cursor()
        ensure_lake_tables(cur, ("scores",))

        def append(table: pa.Table) -> None:
            cur.register("_loaded_scores", table)
            cur.execute("INSERT INTO scores BY NAME SELECT * FROM _loaded_scores")
            cur.unregister("_loaded_scores")

        return _fill(store.append_spans, append, spans, console)


def _fill(
    append_spans: Callable[[pa.Table], int],
    append: Callable[[pa.Table], object],
    spans: int,
    console: Console,
) -> tuple[int, float]:
    total = max(spans // SPANS_PER_TRACE, 1)
    seconds_apart = WINDOW.total_seconds() / total
    rng = np.random.default_rng(7)
    pools = Pools.build(rng)
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None) - WINDOW
    started = time.perf_counter()
    stored = 0
    for first in range(0, total, TRACES_PER_BATCH):
        count = min(TRACES_PER_BATCH, total - first)
        batch_start = start + dt.timedelta(seconds=first * seconds_apart)
        table = span_batch(rng, pools, first, count, batch_start, seconds_apart)
        stored += append_spans(table)
        append(score_batch(rng, table, first_id=2 * first))
        console.print(f"  loaded {stored:,} spans")
    return stored, time.perf_counter() - started
