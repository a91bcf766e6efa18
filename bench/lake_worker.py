"""Lake scoring lag: steady ingest into one lake collector, scored by 1 and 2 workers.

A client posts bench/ingest.py's requests (512 LLM-sized spans each, pre-encoded OTLP) to a
``loopwise collect --store ducklake:...`` at a steady rate; N ``loopwise worker`` processes
run the default online evaluators. Every second the lag is read as the workers report it
(the age of the oldest span some watermark has not passed). After the posting stops, the
time until every span is scored is the drain time.

    python bench/lake_worker.py --pg "host=127.0.0.1 port=5432 user=postgres" \\
        [--rate 1000] [--seconds 60] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import ingest
from ingest import SPANS_PER_REQUEST, build_request, machine, write_section
from lake_ingest import fresh_database
from rich.console import Console

from loopwise.collector.store.backend import LakeBackend, connect_lake
from loopwise.evals.lake_worker import worker_lag

PARTITIONS = 16


def _post_steadily(url: str, bodies: list[bytes], rate: float, stop: threading.Event) -> int:
    """Post ``bodies`` in turn at ``rate`` spans/s until ``stop``; return spans acked."""
    interval = SPANS_PER_REQUEST / rate
    acked = 0
    headers = {"Content-Type": "application/x-protobuf"}
    with httpx.Client(timeout=60) as client:
        next_at = time.monotonic()
        index = 0
        while not stop.is_set() and index < len(bodies):
            body = bodies[index]
            index += 1
            if client.post(f"{url}/v1/traces", content=body, headers=headers).is_success:
                acked += SPANS_PER_REQUEST
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    return acked


def run_case(
    server: str, bodies: list[bytes], workers: int, rate: float, seconds: float
) -> dict[str, Any]:
    """One lake, one collector, ``workers`` workers; steady posting for ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        lake = LakeBackend(conninfo=fresh_database(server), data_path=Path(tmp) / "data")
        env = {**os.environ, "LOOPWISE_DATA_PATH": str(lake.data_path)}
        port = ingest._free_port()
        collect = ["collect", "--store", lake.spec, "--port", str(port)]
        collector = subprocess.Popen(
            [sys.executable, "-m", "loopwise", *collect], env=env, stdout=subprocess.DEVNULL
        )
        scorers: list[subprocess.Popen[bytes]] = []
        try:
            url = f"http://127.0.0.1:{port}"
            ingest._wait_healthy(url, collector)
            command = [sys.executable, "-m", "loopwise", "worker", "--store", lake.spec]
            logs = [Path(tmp) / f"worker-{i}.log" for i in range(workers)]
            scorers = [
                subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
                for log in logs
            ]
            stop = threading.Event()
            acked: list[int] = []
            sender = threading.Thread(
                target=lambda: acked.append(_post_steadily(url, bodies, rate, stop))
            )
            con = connect_lake(lake)
            lags: list[float] = []
            started = time.monotonic()
            sender.start()
            while time.monotonic() - started < seconds:
                time.sleep(1.0)
                lags.append(_lag(con))
            stop.set()
            sender.join()
            posted_s = time.monotonic() - started
            drain_started = time.monotonic()
            while _lag(con) > 0 and time.monotonic() - drain_started < 600:
                time.sleep(0.5)
            drain_s = time.monotonic() - drain_started
            if _lag(con) > 0:
                for log in logs:
                    print(f"{log.name} (scoring did not finish):\n{log.read_text()[-3000:]}")
            row = con.execute(
                "SELECT count(*), count(DISTINCT span_id) FROM scores WHERE name = 'error_status'"
            ).fetchone()
            stored = con.execute("SELECT count(*) FROM spans").fetchone()
            con.close()
        finally:
            for process in [*scorers, collector]:
                process.terminate()
            for process in [*scorers, collector]:
                process.wait(timeout=60)
    lags = [lag for lag in lags if lag != float("inf")]  # before the workers made their tables
    steady = lags[len(lags) // 3 :] or lags
    return {
        "workers": workers,
        "rate": rate,
        "acked_per_s": sum(acked) / posted_s,
        "spans": stored[0] if stored else 0,
        "scored": row[0] if row else 0,
        "scored_once": (row[0] == row[1]) if row else False,
        "lag_median": statistics.median(steady) if steady else 0.0,
        "lag_max": max(lags, default=0.0),
        "drain_s": drain_s,
    }


def _lag(con: duckdb.DuckDBPyConnection) -> float:
    try:
        return worker_lag(con, PARTITIONS).total_seconds()
    except Exception:  # the workers have not made their tables yet
        return float("inf")


def main() -> None:
    """Run each worker count, print the table, write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="conninfo of a PostgreSQL (no dbname)")
    parser.add_argument("--rate", type=float, default=1000.0, help="spans/s posted")
    parser.add_argument("--seconds", type=float, default=60.0, help="posting time per case")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = parser.parse_args()
    rng = random.Random(42)
    needed = int(args.rate * args.seconds / SPANS_PER_REQUEST) + 2  # every span new
    bodies = [build_request(rng, time.time_ns()) for _ in range(needed)]
    results = [
        run_case(args.pg, bodies, int(n), args.rate, args.seconds) for n in args.workers.split(",")
    ]
    lines = [
        "| workers | spans/s posted | spans/s acked | spans | scored (error_status) | "
        "each once | lag median s | lag max s | drain s |",
        "|---:|---:|---:|---:|---:|:---:|---:|---:|---:|",
    ]
    for r in results:
        cells = [
            f"{r['workers']}",
            f"{r['rate']:,.0f}",
            f"{r['acked_per_s']:,.0f}",
            f"{r['spans']:,}",
            f"{r['scored']:,}",
            "yes" if r["scored_once"] else "NO",
            f"{r['lag_median']:.1f}",
            f"{r['lag_max']:.1f}",
            f"{r['drain_s']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    Console().print("\n".join(lines))
    section = "\n".join(
        [
            "## lake worker lag (bench/lake_worker.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            f"One `loopwise collect --store ducklake:postgres:...` fed {args.rate:,.0f} spans/s "
            f"({SPANS_PER_REQUEST}-span requests) for {args.seconds:.0f} s; N `loopwise worker` "
            "processes with the default online evaluators; PostgreSQL catalog, collector, "
            "workers and client on the same machine. Lag: age of the oldest span a watermark "
            "has not passed, sampled each second (median over the last two thirds); drain: "
            "time from the end of posting until every span is scored.",
            "",
            *lines,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## lake worker lag", section)


if __name__ == "__main__":
    main()
