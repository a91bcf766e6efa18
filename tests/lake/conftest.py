"""A real PostgreSQL for the DuckLake tests, and collectors run as their own processes.

``pg_server`` is the conninfo of a PostgreSQL on 127.0.0.1: the one ``LOOPWISE_TEST_PG``
names (e.g. ``host=127.0.0.1 port=5432 user=postgres``), else a throwaway cluster started
with initdb/pg_ctl in a temp directory on a free port for the session (so the tier needs
only the PostgreSQL binaries). Each test gets its own database.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loopwise.collector.store.backend import LakeBackend


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(f"{name} not found: install PostgreSQL (apt-get install -y postgresql)")
    return found


def _as_server_user() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs a 'postgres' user to own the test cluster")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Conninfo (without dbname) of a PostgreSQL on 127.0.0.1."""
    given = os.environ.get("LOOPWISE_TEST_PG")
    if given:
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="loopwise-pg-"))
    runas = _as_server_user()
    if runas:
        os.chown(root, pwd.getpwnam("postgres").pw_uid, -1)
    data = root / "data"
    subprocess.run(
        [*runas, _pg_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    pg_ctl = _pg_binary("pg_ctl")
    subprocess.run(
        [*runas, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"host=127.0.0.1 port={port} user=postgres"
    finally:
        subprocess.run([*runas, pg_ctl, "-D", str(data), "-m", "fast", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: str) -> str:
    """A new empty database on ``server``; its conninfo."""
    name = "lw_" + uuid.uuid4().hex[:12]
    subprocess.run(
        [_pg_binary("psql"), f"{server} dbname=postgres", "-q", "-c", f"CREATE DATABASE {name}"],
        check=True,
        capture_output=True,
    )
    return f"{server} dbname={name}"


@pytest.fixture
def lake(pg_server: str, tmp_path: Path) -> LakeBackend:
    """A fresh lake: its own PostgreSQL database as catalog, Parquet under tmp_path."""
    return LakeBackend(conninfo=create_database(pg_server), data_path=tmp_path / "lake-data")


class LakeCollector:
    """``python -m loopwise collect --store ducklake:...`` in its own process."""

    def __init__(self, lake: LakeBackend, log: Path, api_key: str | None = None) -> None:
        self.lake, self.log, self.api_key = lake, log, api_key
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the collector."""
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the process without waiting for it."""
        command = [
            sys.executable,
            "-m",
            "loopwise",
            "collect",
            "--store",
            self.lake.spec,
            "--data-path",
            str(self.lake.data_path),
            "--port",
            str(self.port),
            *(["--api-key", self.api_key] if self.api_key else []),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Wait until /health answers (the lake is attached and its schema exists)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"collector exited with {self.process.returncode}: {self.tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"collector did not start: {self.tail()}")

    def health(self) -> dict[str, object]:
        """The collector's /health payload."""
        reply = httpx.get(f"{self.url}/health", timeout=5).json()
        assert isinstance(reply, dict)
        return reply

    def kill9(self) -> None:
        """SIGKILL the process: nothing gets to flush or close."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the process as Ctrl-C would, if it runs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def tail(self) -> str:
        """The end of the process's log."""
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


@pytest.fixture
def start_collectors(lake: LakeBackend, tmp_path: Path) -> Iterator[object]:
    """``start_collectors(n)``: n lake collectors launched at once, each ready."""
    started: list[LakeCollector] = []

    def start(n: int) -> list[LakeCollector]:
        group = [
            LakeCollector(lake, tmp_path / f"collector-{len(started) + i}.log") for i in range(n)
        ]
        for collector in group:
            collector.launch()
        for collector in group:
            collector.wait_ready()
        started.extend(group)
        return group

    yield start
    for collector in started:
        collector.stop()
