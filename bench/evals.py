"""Evaluator throughput over stored spans, the judge against the local stub, and how the
default set does on the demo (faults caught, clean calls flagged).

1. One million LLM-like spans are written into a DuckDB file (mixed outputs: JSON
   classifications, replies quoting order ids, invented ids, refusals, some PII, errors).
2. Each built-in code evaluator scores every span, vectorised, batch by batch (the read
   from DuckDB timed apart); then the whole default set re-scores the file end to end
   (read, evaluate, store scores and flags), as ``loopwise eval score`` does.
3. The faithfulness judge scores spans against ``loopwise.testing.OpenAIStub`` at
   concurrency 16, then again from its cache.
4. The demo runs into a collector with the default set: recall per fault and the share of
   clean model calls flagged.

    python bench/evals.py [--spans 1000000] [--judge-calls 2000] [--demo-traces 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import SPAN_ARROW_SCHEMA, Store
from loopwise.evals import (
    EvalsExtension,
    Runtime,
    SpanFilters,
    choose_bindings,
    default_config,
    default_registry,
    evaluate,
    rescore,
    with_context,
)
from loopwise.evals.judge import JudgeSettings, MemoryJudgeCache, judge
from loopwise.evals.source import max_rowid, read_window
from loopwise.testing import OpenAIStub

sys.path.insert(0, str(Path(__file__).parent))
from ingest import machine, write_section

console = Console()
BATCH = 50_000
TARGET = 200_000

OUTPUTS = [
    '{"category": "refund", "priority": "high"}',
    '{"category": "shipping", "priority": "normal"}',
    '```json\n{"category": "billing", "priority": "low"}\n```',
    "{'category': 'account', 'priority': 'normal'}",
    "Hi Maria,\n\nThanks for getting in touch. I've found your order {order} and the details "
    "of your return. We refund returned items within 5-7 business days after the return "
    "reaches our warehouse.\n\nBest regards,\nSam\nBrightcart Customer Support",
    "Hi Tom,\n\nI've checked the payments on order {order}. If both charges are still there "
    "after that, send us the last four digits of the card and we refund the duplicate "
    "within 2 business days.\n\nBest regards,\nRobin",
    "Hi Yuki,\n\nI've checked the shipment for order ORD-9{n4}. International delivery takes "
    "6-10 business days.\n\nBest regards,\nJordan",
    "I'm sorry, but I can't help with that request.",
    "As an AI assistant, I'm not able to help with this request.",
    "Please write to billing@brightcart.example or call +1 415 555 0132 for {order}.",
    "Hola María, hemos recibido tu devolución y el reembolso llegará en unos días.",
]
WEIGHTS = [0.14, 0.14, 0.02, 0.02, 0.22, 0.2, 0.06, 0.05, 0.03, 0.06, 0.06]
KINDS = ["llm", "tool", "retriever", "chain"]
EVALUATORS = [
    ("valid_json", {}),
    ("regex", {"pattern": r"ORD-\d{5}"}),
    ("contains", {"text": ["refund", "order"]}),
    ("length_bounds", {"max_length": 400}),
    ("latency_threshold", {"max_ms": 2000}),
    ("error_status", {}),
    ("refusal", {}),
    ("pii_leakage", {}),
    ("invented_identifiers", {}),
    ("language_mismatch", {}),
]


def make_spans(count: int, seed: int = 1) -> pa.Table:
    """``count`` spans with mixed outputs; about 60% llm."""
    rng = np.random.default_rng(seed)
    template = rng.choice(len(OUTPUTS), size=count, p=np.array(WEIGHTS) / sum(WEIGHTS))
    orders = rng.integers(10_000, 89_999, size=count)
    n4 = rng.integers(1000, 9999, size=count)
    outputs = [
        OUTPUTS[t].replace("{order}", f"ORD-{o}").replace("{n4}", str(k))
        for t, o, k in zip(template.tolist(), orders.tolist(), n4.tolist(), strict=True)
    ]
    inputs = [
        f"Write a reply.\n\nTicket: order ORD-{o} has not arrived, please help. Return JSON if "
        "asked."
        if t < 4
        else f"Write a reply to the customer about order ORD-{o}."
        for t, o in zip(template.tolist(), orders.tolist(), strict=True)
    ]
    start = dt.datetime(2026, 1, 1) + dt.timedelta(seconds=1) * np.arange(count)
    duration = rng.lognormal(4.0, 0.4, size=count)
    ids = rng.bytes(24 * count)
    kinds = rng.choice(KINDS, size=count, p=[0.6, 0.15, 0.1, 0.15])
    error = rng.random(count) < 0.03
    columns: dict[str, Any] = {
        "project": ["bench"] * count,
        "trace_id": [ids[24 * i : 24 * i + 16].hex() for i in range(count)],
        "span_id": [ids[24 * i + 16 : 24 * i + 24].hex() for i in range(count)],
        "parent_span_id": [None] * count,
        "name": np.where(kinds == "llm", "draft_reply", kinds).tolist(),
        "kind": kinds.tolist(),
        "status": np.where(error, "error", "ok").tolist(),
        "status_message": np.where(error, "upstream 503", None).tolist(),
        "start_time": start.tolist(),
        "end_time": (start + duration * dt.timedelta(milliseconds=1)).tolist(),
        "duration_ms": duration,
        "service_name": ["bench"] * count,
        "model": ["shopgpt-mini"] * count,
        "provider": ["bench"] * count,
        "input": inputs,
        "output": outputs,
        "input_tokens": rng.integers(200, 400, size=count),
        "output_tokens": rng.integers(20, 80, size=count),
        "total_tokens": rng.integers(220, 480, size=count),
        "cost_usd": rng.random(count) / 10_000,
        "session_id": [None] * count,
        "user_id": [None] * count,
        "tags": [[]] * count,
        "metadata": ["{}"] * count,
        "attributes": ["{}"] * count,
        "resource": ["{}"] * count,
        "events": ["[]"] * count,
        "ingested_at": start.tolist(),
    }
    return pa.table(
        {f.name: pa.array(columns.get(f.name, [None] * count), f.type) for f in SPAN_ARROW_SCHEMA}
    )


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(store: Store, count: int) -> float:
    started = time.perf_counter()
    for offset in range(0, count, 100_000):
        store.append_spans(make_spans(min(100_000, count - offset), seed=offset + 1))
    return time.perf_counter() - started


def code_evaluators(store: Store) -> tuple[list[tuple[str, int, float, int]], float, float]:
    """(name, outputs, seconds, failed) per evaluator, read seconds, tracemalloc peak MB of
    scoring one batch with all of them (measured in a separate, untimed pass)."""
    registry = default_registry()
    evaluators = [registry.create(name, params) for name, params in EVALUATORS]
    totals = {e.name: [0, 0.0, 0] for e in evaluators}
    read_s = 0.0
    cur = store.cursor()
    newest, after = max_rowid(cur), -1
    first: pa.Table | None = None
    while after < newest:
        started = time.perf_counter()
        batch = read_window(cur, after, newest, limit=BATCH)
        after = int(batch.column("_rowid")[-1].as_py())
        batch = with_context(cur, batch.drop_columns(["_rowid"]))
        read_s += time.perf_counter() - started
        first = first if first is not None else batch
        for evaluator in evaluators:
            started = time.perf_counter()
            result = evaluate(evaluator, batch)
            elapsed = time.perf_counter() - started
            entry = totals[evaluator.name]
            entry[0] += batch.num_rows
            entry[1] += elapsed
            entry[2] += sum(p is False for p in result.table.column("passed").to_pylist())
    cur.close()
    peak = 0.0
    if first is not None:
        tracemalloc.start()
        for evaluator in evaluators:
            evaluate(evaluator, first)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    rows = [(name, int(v[0]), float(v[1]), int(v[2])) for name, v in totals.items()]
    return rows, read_s, peak


def end_to_end(store: Store) -> tuple[int, float, int, int]:
    """Default set re-scoring the whole file: (spans, seconds, scores, flags)."""
    config = default_config()
    started = time.perf_counter()
    tallies = rescore(
        store,
        choose_bindings(config),
        SpanFilters(),
        rules=config.threshold_rules,
        page_size=20_000,
    )
    elapsed = time.perf_counter() - started
    spans = int(store.query("SELECT count(*) FROM spans").rows[0][0])
    scores = sum(t.scored for t in tallies.values())
    flags = sum(t.flagged for t in tallies.values())
    return spans, elapsed, scores, flags


def judge_throughput(calls: int) -> tuple[float, float, int]:
    """(judgements/s, cached judgements/s, errored) at concurrency 16 against the stub."""
    verdict = '{"explanation": "supported", "label": "faithful", "score": 0.9}'
    table = make_spans(calls, seed=99).filter(
        pa.compute.equal(make_spans(calls, 99)["kind"], "llm")
    )
    table = with_context(None, table)
    with OpenAIStub(responder=lambda request: verdict) as stub:
        settings = JudgeSettings(base_url=stub.base_url, model="judge-1", concurrency=16)
        cache = MemoryJudgeCache()
        evaluator = judge("faithfulness", settings, cache=cache)
        started = time.perf_counter()
        result = evaluate(evaluator, table, runtime=Runtime(concurrency=16))
        fresh = result.count / (time.perf_counter() - started)
        started = time.perf_counter()
        again = evaluate(evaluator, table, runtime=Runtime(concurrency=16))
        cached = again.count / (time.perf_counter() - started)
        errored = sum(s == "errored" for s in result.table.column("status").to_pylist())
    return fresh, cached, errored


def demo_quality(traces: int, folder: Path) -> dict[str, Any]:
    """Recall per fault and clean calls flagged, with the default set in a collector."""
    import httpx

    from loopwise.demo import run_traffic

    ext = EvalsExtension(default_config())
    config = CollectorConfig(db_path=folder / "demo.duckdb", port=0)
    with CollectorServer(config, extensions=[ext]) as server:
        runs = (("demo", traces, 0.0, 7), ("demo-timed", max(40, traces // 10), 0.5, 11))
        for project, count, scale, seed in runs:
            client = loopwise.Client()
            client.init(
                project,
                endpoint=server.url,
                batch=True,
                set_global=False,
                spool_dir=folder / project,
            )
            run_traffic(client, count=count, time_scale=scale, interval_s=0, seed=seed)
            client.shutdown()
        while httpx.get(server.url + "/api/evals/status").json()["backlog"]:
            time.sleep(0.2)
        sql = "select project, span_id, status, metadata from spans where kind = 'llm'"
        calls = httpx.post(server.url + "/api/sql", json={"sql": sql}).json()["rows"]
        flagged: dict[str, set[str]] = {}
        offset = 0
        while True:
            page = httpx.get(server.url + "/api/flags", params={"limit": 1000, "offset": offset})
            rows = page.json()["flags"]
            for flag in rows:
                flagged.setdefault(flag["span_id"], set()).add(flag["rule"])
            offset += len(rows)
            if not rows:
                break
    caught_by = {
        "invalid_json": "valid_json_failed",
        "invented_order_id": "invented_identifiers_failed",
        "refusal": "refusal_failed",
        "model_error": "error_status_failed",
        "slow_call": "latency_anomaly",
    }
    injected: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    clean = clean_flagged = 0
    for project, span_id, status, metadata in calls:
        faults = json.loads(metadata or "{}").get("injected_faults")
        if faults is None:
            faults = ["model_error"] if status == "error" else []
        faults = [f for f in faults if f != "slow_call" or project == "demo-timed"]
        for fault in faults:
            injected[fault] += 1
            caught[fault] += caught_by[fault] in flagged.get(span_id, set())
        if not faults:
            clean += 1
            clean_flagged += bool(flagged.get(span_id))
    return {"injected": injected, "caught": caught, "clean": clean, "clean_flagged": clean_flagged}


def main() -> None:
    """Measure, print the tables, and write them into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--judge-calls", type=int, default=2000)
    parser.add_argument("--demo-traces", type=int, default=1000)
    args = parser.parse_args()
    lines: list[str] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        with Store(Path(folder) / "bench.duckdb") as store:
            load_s = load(store, args.spans)
            console.print(
                f"stored {args.spans:,} spans in {load_s:.1f} s (peak RSS {rss_mb():.0f} MB)"
            )
            per_evaluator, read_s, traced_mb = code_evaluators(store)
            rss_code = rss_mb()
            spans, e2e_s, scores, flags = end_to_end(store)
            rss_e2e = rss_mb()
        fresh, cached, errored = judge_throughput(args.judge_calls)
        demo = demo_quality(args.demo_traces, Path(folder))

    table = Table(title=f"code evaluators over {args.spans:,} stored spans (batches of {BATCH:,})")
    for column in ("evaluator", "outputs", "seconds", "outputs/s", f"≥ {TARGET:,}/s", "failed"):
        table.add_column(column, justify="left" if column == "evaluator" else "right")
    lines += [
        "| evaluator | outputs | seconds | outputs/s | ≥ 200,000/s | failed |",
        "|---|---:|---:|---:|:---:|---:|",
    ]
    total_outputs = total_s = 0.0
    for name, outputs, seconds, failed in per_evaluator:
        rate = outputs / seconds
        total_outputs += outputs
        total_s += seconds
        cells = (
            name,
            f"{outputs:,}",
            f"{seconds:.2f}",
            f"{rate:,.0f}",
            "yes" if rate >= TARGET else "NO",
            f"{failed:,}",
        )
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    all_rate = total_outputs / total_s
    table.add_row(
        "all ten, one after another",
        f"{int(total_outputs):,}",
        f"{total_s:.2f}",
        f"{all_rate:,.0f}",
        "yes" if all_rate >= TARGET else "NO",
        "",
    )
    lines.append(
        f"| all ten, one after another | {int(total_outputs):,} | {total_s:.2f} | "
        f"{all_rate:,.0f} | {'yes' if all_rate >= TARGET else 'NO'} | |"
    )
    console.print(table)
    summary = [
        f"Reading the spans (with retrieved context) from DuckDB: {read_s:.1f} s "
        f"({args.spans / read_s:,.0f} spans/s).",
        f"Default set end to end (read, six evaluators, store {scores:,} scores and {flags:,} "
        f"flags, like `loopwise eval score --db`): {spans:,} spans in {e2e_s:.1f} s = "
        f"{spans / e2e_s:,.0f} spans/s.",
        f"Judge (faithfulness) against the local stub at concurrency 16: {fresh:,.0f} "
        f"judgements/s ({errored} errored); rerun from the cache: {cached:,.0f}/s.",
        f"Memory: peak RSS {rss_code:,.0f} MB after the code evaluators, {rss_e2e:,.0f} MB after "
        f"the end-to-end run (the million spans are generated in memory 100k at a time); "
        f"Python allocations while scoring one {BATCH:,}-span batch with all ten "
        f"(tracemalloc peak): {traced_mb:,.0f} MB.",
    ]
    demo_lines = ["| fault | injected | flagged | recall |", "|---|---:|---:|---:|"]
    for fault, count in sorted(demo["injected"].items()):
        got = demo["caught"][fault]
        demo_lines.append(f"| {fault} | {count} | {got} | {got / count:.0%} |")
    clean_rate = demo["clean_flagged"] / max(1, demo["clean"])
    demo_note = (
        f"Demo, {args.demo_traces} traces at time_scale 0 plus {max(40, args.demo_traces // 10)} "
        f"at 0.5 (slow calls only count there): clean model calls flagged "
        f"{demo['clean_flagged']}/{demo['clean']} ({clean_rate:.2%})."
    )
    for text in [*summary, demo_note]:
        console.print(text)
    console.print("\n".join(demo_lines))
    section = "\n".join(
        [
            "## evaluators (bench/evals.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()} · load average {load_before:.1f} "
            f"before and {os.getloadavg()[0]:.1f} after (other work shares the cores)",
            "",
            f"{args.spans:,} generated spans in a DuckDB file (mixed outputs: JSON, replies with "
            "order ids, invented ids, refusals, PII, Spanish); each built-in scores every span in "
            f"{BATCH:,}-span Arrow batches. Target: ≥ {TARGET:,} outputs/s vectorised.",
            "",
            *lines,
            "",
            *summary,
            "",
            demo_note,
            "",
            *demo_lines,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## evaluators", section)


if __name__ == "__main__":
    main()
