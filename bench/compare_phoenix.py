"""Ingest throughput of loopwise beside Arize Phoenix: the same spans, client and clients.

Per shape (bench/ingest_shapes.py's genai-json, openinference and bench requests of 512
spans, encoded once before timing with the official SDK's OTLP encoder):

- a fresh ``loopwise collect`` with the default online evaluators on gets ``--requests``
  requests (bench/ingest_shapes.py's scoring-on case);
- a fresh Arize Phoenix (``python -m phoenix.server.main serve`` from its own virtual
  environment under bench/.venvs/, made or reused, with its SQLite working dir in a temp dir)
  gets the first ``--phoenix-spans`` of the same spans, since it is far slower.

Both serve HTTP on 127.0.0.1 only (Phoenix's OTLP/gRPC listener, which it always binds on
``[::]``, gets a free port and no traffic) and are posted to by the same client code over the
same number of keep-alive connections (``/v1/traces``, OTLP/HTTP protobuf). Phoenix answers
200 before it writes (a background task queues the spans for its bulk inserter), so its clock
stops when ``count(*)`` over ``spans`` in its SQLite file, read read-only, reaches the spans
sent; loopwise answers 200 once committed and is counted through /api/sql the same way.

    python bench/compare_phoenix.py [--requests 160] [--phoenix-spans 4096] [--clients 4]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
import ingest
import ingest_shapes

PHOENIX_VERSION = "20.26.1"
VENV = Path(__file__).with_name(".venvs") / "phoenix"
READY_TIMEOUT_S = 300.0


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = "import importlib.metadata as m; print(m.version('arize-phoenix'))"
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def phoenix_python(version: str, venv: Path = VENV) -> Path:
    """The Python of ``venv`` with arize-phoenix ``version`` in it, made or reused."""
    python = venv / "bin" / "python"
    if _installed_version(python) == version:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"installing arize-phoenix=={version} into {venv}", flush=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"arize-phoenix=={version}"], check=True)
    installed = _installed_version(python)
    if installed != version:
        raise RuntimeError(f"{venv} has arize-phoenix {installed}, not {version}")
    return python


def _distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(ingest._free_port())
    return sorted(ports)


def _log_tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def phoenix_server(python: Path, workdir: Path) -> Iterator[int]:
    """Run Phoenix on 127.0.0.1 with its SQLite working dir in ``workdir``; yield its HTTP
    port once /healthz answers 200, and stop it on exit."""
    port, grpc_port = _distinct_free_ports(2)
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = workdir / "phoenix.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(python), "-m", "phoenix.server.main", "serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"phoenix exited:\n{_log_tail(log)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"phoenix did not start:\n{_log_tail(log)}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def run_phoenix(python: Path, bodies: list[bytes], clients: int) -> dict[str, float]:
    """A fresh Phoenix; post every body from ``clients`` processes; stop the clock when its
    SQLite ``spans`` table holds every span accepted."""
    with tempfile.TemporaryDirectory() as tmp, phoenix_server(python, Path(tmp)) as port:
        uri = f"file:{Path(tmp) / 'phoenix.db'}?mode=ro"

        def count() -> int:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as reader:
                return int(reader.execute("select count(*) from spans").fetchone()[0])

        return ingest_shapes.post_and_count(bodies, port, clients, count)


def _spans(result: dict[str, float]) -> str:
    stored = f"{result['stored']:,.0f}"
    return stored if result["stored"] == result["spans"] else f"{stored} of {result['spans']:,.0f}"


def _cells(shape: str, size: float, ours: dict[str, float], theirs: dict[str, float]) -> list[str]:
    ratio = ours["spans_per_s"] / theirs["spans_per_s"] if theirs["spans_per_s"] else 0.0
    return [
        shape,
        f"{size:.0f}",
        _spans(ours),
        f"{ours['seconds']:.2f}",
        f"{ours['spans_per_s']:,.0f}",
        _spans(theirs),
        f"{theirs['seconds']:.2f}",
        f"{theirs['spans_per_s']:,.0f}",
        f"{ratio:,.1f}x",
    ]


def main() -> None:
    """Run each shape against loopwise and Phoenix; print the table and write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=160, help="loopwise requests per shape")
    parser.add_argument(
        "--phoenix-spans",
        type=int,
        default=4096,
        help="spans sent to Phoenix per shape (rounded up to whole 512-span requests)",
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--shapes", default=",".join(ingest_shapes.SHAPES))
    parser.add_argument("--phoenix-version", default=PHOENIX_VERSION)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    python = phoenix_python(args.phoenix_version)
    phoenix_requests = max(1, -(-args.phoenix_spans // ingest.SPANS_PER_REQUEST))
    load_before = os.getloadavg()[0]
    rows = []
    for shape in args.shapes.split(","):
        rng = random.Random(42)
        start_ns = time.time_ns()
        count = max(args.requests, phoenix_requests)
        bodies = [ingest_shapes.SHAPES[shape](rng, start_ns) for _ in range(count)]
        size = sum(map(len, bodies)) / len(bodies) / ingest.SPANS_PER_REQUEST
        theirs = run_phoenix(python, bodies[:phoenix_requests], args.clients)
        ours = ingest_shapes.run_case(bodies[: args.requests], args.clients, scoring=True)
        rows.append(_cells(shape, size, ours, theirs))
    load_after = os.getloadavg()[0]

    header = [
        "shape",
        "B/span",
        "loopwise spans",
        "loopwise s",
        "loopwise spans/s",
        "phoenix spans",
        "phoenix s",
        "phoenix spans/s",
        "ratio",
    ]
    table = Table(
        title=f"ingest, loopwise vs Phoenix {args.phoenix_version}, {args.clients} clients"
    )
    for column in header:
        table.add_column(column, justify="right")
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for cells in rows:
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console().print(table)
    if args.no_write:
        return
    heading = "## compare with phoenix (bench/compare_phoenix.py)"
    section = "\n".join(
        [
            heading,
            "",
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {ingest.machine()} · "
            f"load average {load_before:.1f} before, {load_after:.1f} after · "
            f"loopwise {importlib.metadata.version('loopwise')}, "
            f"arize-phoenix {args.phoenix_version} (SQLite)",
            "",
            f"The same pre-encoded OTLP/protobuf requests of {ingest.SPANS_PER_REQUEST} spans per "
            f"shape, posted by the same client code from {args.clients} client processes over "
            "keep-alive connections to a fresh server on 127.0.0.1: `loopwise collect` with the "
            "default online evaluators on, and Arize Phoenix (`phoenix.server.main serve`, its "
            "own virtual environment, SQLite working dir in a temp dir), which gets fewer spans "
            "since it is far slower. The clock runs from the first send until every span is "
            "persisted: counted in loopwise's `spans` (/api/sql), and in `spans` of Phoenix's "
            "SQLite file read read-only (Phoenix answers 200 before it writes). A request refused "
            "with 503 is resent after its Retry-After, on both. Target: loopwise ≥ 100x Phoenix.",
            "",
            *lines,
            "",
        ]
    )
    ingest.write_section(Path(__file__).with_name("RESULTS.md"), heading, section)


if __name__ == "__main__":
    main()
