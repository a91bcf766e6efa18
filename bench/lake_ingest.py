"""Lake ingest throughput: 1, 2 and 3 ``loopwise collect --store ducklake:...`` processes.

The requests of bench/ingest.py (512 LLM-sized spans each, pre-encoded OTLP/protobuf) are
spread over N collectors writing one DuckLake (catalog in the PostgreSQL ``--pg`` names, a
fresh database per case; Parquet in a temp directory), two client processes per collector.
Spans/s counts spans a reader of the ``spans`` view sees afterwards over the wall time of
the posting, so it is the persisted rate; a 200 is sent only after the lake commit.

    python bench/lake_ingest.py --pg "host=127.0.0.1 port=5432 user=postgres" [--requests 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import ingest
from ingest import SPANS_PER_REQUEST, build_request, machine, write_section
from rich.console import Console

from loopwise.collector.store.backend import LakeBackend
from loopwise.collector.store.lake_store import LakeStore

CLIENTS_PER_COLLECTOR = 2


def fresh_database(server: str) -> str:
    """Create an empty PostgreSQL database on ``server`` for one case; its conninfo."""
    name = "lw_bench_" + uuid.uuid4().hex[:10]
    subprocess.run(
        ["psql", f"{server} dbname=postgres", "-q", "-c", f"CREATE DATABASE {name}"], check=True
    )
    return f"{server} dbname={name}"


def run_case(server: str, bodies: list[bytes], collectors: int) -> dict[str, float]:
    """Start ``collectors`` lake collectors on a fresh lake, post every body across them."""
    ingest._BODIES[:] = bodies
    with tempfile.TemporaryDirectory() as tmp:
        lake = LakeBackend(conninfo=fresh_database(server), data_path=Path(tmp) / "data")
        ports = [ingest._free_port() for _ in range(collectors)]
        command = [sys.executable, "-m", "loopwise", "collect", "--store", lake.spec]
        command += ["--data-path", str(lake.data_path)]
        processes = [
            subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL)
            for port in ports
        ]
        try:
            for port, process in zip(ports, processes, strict=True):
                ingest._wait_healthy(f"http://127.0.0.1:{port}", process)
            clients = collectors * CLIENTS_PER_COLLECTOR
            shares = [(ports[i % collectors], i, clients) for i in range(clients)]
            with multiprocessing.get_context("fork").Pool(clients) as pool:
                started = time.perf_counter()
                failures = [s for share in pool.map(ingest._post_share, shares) for s in share]
                elapsed = time.perf_counter() - started
        finally:
            for process in processes:
                process.terminate()
                process.wait(30)
        with LakeStore(lake) as store:
            row = store.cursor().execute("SELECT count(*) FROM spans").fetchone()
        stored = int(row[0]) if row else 0
    return {
        "collectors": collectors,
        "spans": len(bodies) * SPANS_PER_REQUEST,
        "stored": stored,
        "failed_requests": len(failures),
        "seconds": elapsed,
        "spans_per_s": stored / elapsed,
    }


def main() -> None:
    """Run 1, 2 and 3 collectors, print the table, write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="conninfo of a PostgreSQL (no dbname)")
    parser.add_argument("--requests", type=int, default=60, help="requests per case")
    parser.add_argument("--collectors", default="1,2,3", help="comma-separated counts")
    args = parser.parse_args()
    rng = random.Random(42)
    bodies = [build_request(rng, time.time_ns()) for _ in range(args.requests)]
    results = [run_case(args.pg, bodies, int(n)) for n in args.collectors.split(",")]
    lines = [
        "| collectors | spans sent | seen once | failed requests | seconds | spans/s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cells = [
            f"{r['collectors']:.0f}",
            f"{r['spans']:.0f}",
            f"{r['stored']:.0f}",
            f"{r['failed_requests']:.0f}",
            f"{r['seconds']:.2f}",
            f"{r['spans_per_s']:,.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    Console().print("\n".join(lines))
    section = "\n".join(
        [
            "## lake ingest (bench/lake_ingest.py)",
            "",
            f"{dt.date.today().isoformat()} · {machine()}",
            "",
            f"{args.requests} requests of {SPANS_PER_REQUEST} LLM spans spread over N "
            "`loopwise collect --store ducklake:postgres:...` processes writing one lake "
            f"(PostgreSQL catalog on the same machine), {CLIENTS_PER_COLLECTOR} client "
            "processes per collector; spans/s is what a reader sees afterwards over the "
            "posting time.",
            "",
            *lines,
            "",
        ]
    )
    write_section(Path(__file__).with_name("RESULTS.md"), "## lake ingest", section)


if __name__ == "__main__":
    main()
