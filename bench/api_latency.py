"""Dashboard API latency with one million spans stored: p50/p95 of every call the pages make.

Loads 1M spans (200k five-span traces over the last 7 days: an agent root, a retriever, two
LLM calls with ~1.5 KB prompts, a tool; ~3% of traces fail) and one LLM-judge and one code
score per trace, as Arrow tables in the span schema appended through ``Store.append_spans``
in big batches. Then runs ``loopwise collect`` on that file in its own process and times each
endpoint the dashboard calls over keep-alive HTTP, after two warm-up calls. Target: every
page's API calls answer within 300 ms at p95.

    python bench/api_latency.py [--spans 1000000] [--repeats 30] [--db PATH] [--keep]

With ``--db PATH --keep`` the loaded file is kept and reused by the next run. With
``--store ducklake:postgres:CONNINFO --data-path DIR`` (an empty lake) the same rows are loaded
into a DuckLake and a lake collector is timed instead (its trace list is a view over the
spans, computed per call).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from loopwise.collector.store import Store
from loopwise.collector.store.backend import LakeBackend, parse_store

sys.path.insert(0, str(Path(__file__).parent))
from ingest import _free_port, _wait_healthy, machine, write_section
from latency_data import load, load_lake

TARGET_P95_MS = 300.0


@dataclass(frozen=True)
class Case:
    """One API call a page makes."""

    page: str
    name: str
    path: str
    params: dict[str, str | int]


def cases(client: httpx.Client, now: dt.datetime) -> list[Case]:
    """The calls each page makes, with the values a user would pick."""
    until = now.isoformat()  # the pages send both ends of the window
    day = {"since": (now - dt.timedelta(days=1)).isoformat(), "until": until}
    week = {"since": (now - dt.timedelta(days=7)).isoformat(), "until": until}
    traces = client.get("/api/traces", params={"limit": 1}).json()["traces"]
    trace_id = traces[0]["trace_id"] if traces else "0" * 32
    listed: list[Case] = [
        Case("all", "health", "/health", {}),
        Case("overview", "traffic, 24 h", "/api/overview", day),
        Case("overview", "traffic, 7 days", "/api/overview", week),
        Case(
            "overview", "traffic, 7 days, one model", "/api/overview", {**week, "model": "gpt-4o"}
        ),
        Case(
            "overview", "traffic, 7 days, one user", "/api/overview", {**week, "user_id": "user-42"}
        ),
        Case("overview", "traffic, all time", "/api/overview", {}),
        Case(
            "overview",
            "score trends, 7 days",
            "/api/overview/scores",
            {**week, "bucket_seconds": 10800},
        ),
        Case("overview", "filter values, 7 days", "/api/overview/facets", week),
        Case("overview", "open flags", "/api/flags", {"status": "open", "limit": 20}),
        Case("traces", "newest 26", "/api/traces", {"limit": 26}),
        Case("traces", "page 200 (offset 5,000)", "/api/traces", {"limit": 26, "offset": 5000}),
        Case("traces", "one project", "/api/traces", {"limit": 26, "project": "billing"}),
        Case("traces", "one session", "/api/traces", {"limit": 26, "session_id": "session-7"}),
        Case("traces", "one user", "/api/traces", {"limit": 26, "user_id": "user-42"}),
        Case("traces", "errors only", "/api/traces", {"limit": 26, "status": "error"}),
        Case(
            "traces", "root name, last 24 h", "/api/traces", {"limit": 26, "name": "triage", **day}
        ),
        Case("traces", "one trace (5 spans)", f"/api/traces/{trace_id}", {}),
        Case("traces", "scores of a trace", "/api/scores", {"trace_id": trace_id}),
        Case("traces", "flags of a trace", "/api/flags", {"trace_id": trace_id}),
        Case("sessions", "newest 50", "/api/sessions", {"limit": 50}),
        Case("sessions", "page 100", "/api/sessions", {"limit": 50, "offset": 4950}),
        Case("users", "newest 50", "/api/users", {"limit": 50}),
    ]
    return listed


def time_case(client: httpx.Client, case: Case, repeats: int) -> dict[str, float | str] | None:
    """p50/p95/max of ``repeats`` calls after two warm-ups; None when the endpoint is absent."""
    samples: list[float] = []
    status = 0
    for i in range(repeats + 2):
        started = time.perf_counter()
        response = client.get(case.path, params=case.params)
        elapsed_ms = (time.perf_counter() - started) * 1000
        status = response.status_code
        if status == 404 and i == 0 and case.path.startswith("/api/") and _is_missing(response):
            return None
        if i >= 2:
            samples.append(elapsed_ms)
    samples.sort()
    return {
        "status": str(status),
        "p50": statistics.median(samples),
        "p95": samples[max(math.ceil(0.95 * len(samples)) - 1, 0)],
        "max": samples[-1],
    }


def _is_missing(response: httpx.Response) -> bool:
    """True when the route does not exist (Starlette's plain 404), not an unknown id."""
    return "json" not in response.headers.get("content-type", "")


def main() -> None:
    """Load, serve, time every case, print the table and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--db", type=Path, default=None, help="database file (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep and reuse the --db file")
    parser.add_argument("--store", default=None, help="an empty ducklake:postgres:... instead")
    parser.add_argument("--data-path", type=Path, default=None, help="the lake's data directory")
    args = parser.parse_args()
    console = Console()
    if args.store:
        backend = parse_store(args.store, args.data_path)
        assert isinstance(backend, LakeBackend), "--store must name a ducklake:postgres: lake"
        loaded, seconds = load_lake(backend, args.spans, console)
        console.print(f"{loaded:,} spans in the lake: loaded in {seconds:.0f} s")
        load_before = os.getloadavg()[0]
        command = ["--store", backend.spec, "--data-path", str(backend.data_path)]
        results = _serve_and_time(command, args.repeats, console)
        _report(results, loaded, args.repeats, console, (load_before, os.getloadavg()[0]), "lake")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "latency.duckdb"
        if args.keep and db.exists():
            load_note = f"reused {db}"
            loaded = _count_spans(db)
        else:
            db.unlink(missing_ok=True)
            loaded, seconds = load(db, args.spans, console)
            load_note = f"loaded in {seconds:.0f} s ({loaded / seconds:,.0f} spans/s)"
        console.print(f"{loaded:,} spans: {load_note}")
        load_before = os.getloadavg()[0]
        results = _serve_and_time(["--db", str(db)], args.repeats, console)
        cpu_load = (load_before, os.getloadavg()[0])
        if not args.keep and args.db is not None:
            db.unlink(missing_ok=True)
    _report(results, loaded, args.repeats, console, cpu_load)


def _count_spans(db: Path) -> int:
    with Store(db, read_only=True) as store:
        return int(store.query("SELECT count(*) FROM spans").rows[0][0])


Result = tuple[Case, dict[str, float | str] | None]


QUIET_EVALS = "[settings]\ninclude_defaults = false\n"
"""Evaluation config for the timed collector: no online evaluators, so no backlog of a
million fresh spans competes with the API for the two cores (the tables are still served)."""


def _serve_and_time(store: list[str], repeats: int, console: Console) -> list[Result]:
    port = _free_port()
    command = [sys.executable, "-m", "loopwise", "collect", *store, "--port", str(port)]
    evals = Path(tempfile.mkdtemp()) / "quiet.evals.toml"
    evals.write_text(QUIET_EVALS)
    env = {**os.environ, "LOOPWISE_EVALS": str(evals)}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        with httpx.Client(base_url=url, timeout=60) as client:
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            results: list[Result] = []
            with console.status("timing") as status:
                for case in cases(client, now):
                    status.update(f"timing {case.page}: {case.name}")
                    results.append((case, time_case(client, case, repeats)))
            return results
    finally:
        process.terminate()
        process.wait(60)
        evals.unlink(missing_ok=True)


def _report(
    results: list[Result],
    spans: int,
    repeats: int,
    console: Console,
    load: tuple[float, float],
    store: str = "file",
) -> None:
    where = "in a DuckLake (PostgreSQL catalog)" if store == "lake" else "in the DuckDB file"
    table = Table(title=f"dashboard API latency, {spans:,} spans {where}, {repeats} calls each")
    for column in ("page", "call", "status", "p50 ms", "p95 ms", "max ms", "≤ 300 ms p95"):
        table.add_column(column, justify="right")
    lines = [
        "| page | call | status | p50 ms | p95 ms | max ms | p95 ≤ 300 ms |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    absent: list[str] = []
    for case, timing in results:
        if timing is None:
            absent.append(f"{case.path} ({case.name})")
            continue
        ok = "yes" if float(timing["p95"]) <= TARGET_P95_MS else "NO"
        cells = [
            case.page,
            case.name,
            str(timing["status"]),
            f"{float(timing['p50']):.1f}",
            f"{float(timing['p95']):.1f}",
            f"{float(timing['max']):.1f}",
            ok,
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    if absent:
        console.print("not served by this collector yet: " + ", ".join(absent))
    heading = "## dashboard api latency" + (" on a lake" if store == "lake" else "")
    section = "\n".join(
        [
            f"{heading} (bench/api_latency.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()} · load average {load[0]:.1f} before "
            f"and {load[1]:.1f} after timing (other work shares the cores when above ~0.5)",
            "",
            f"{spans:,} spans (five-span traces over 7 days, ~1.5 KB prompts) and two scores "
            f"per trace {where}; `loopwise collect` in its own process; each call "
            f"{repeats} times over keep-alive after two warm-ups, with no online evaluators "
            "configured (an idle collector). Target: p95 ≤ 300 ms.",
            "",
            *lines,
            "",
            *(
                ["Not served by this collector yet: " + ", ".join(absent) + ".", ""]
                if absent
                else []
            ),
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), heading, section)


if __name__ == "__main__":
    main()
