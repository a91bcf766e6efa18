"""Fault injection against a real ``loopwise collect`` process.

``CollectorProcess`` runs the collector as its own process on a temp DuckDB file and a free
port, so a test can SIGKILL it (nothing gets to flush or close), start it again on the same
file and port, and finally read the file directly to count what survived.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CollectorProcess:
    """``python -m loopwise collect`` on ``db`` and ``port``, started, killed and restarted."""

    def __init__(
        self,
        db: Path,
        port: int,
        log: Path,
        *,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], Any] | None = None,
    ) -> None:
        self.db, self.port, self.log = db, port, log
        self.env = {**os.environ, **(env or {})}
        self.preexec_fn = preexec_fn
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        """Base URL of the collector."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> None:
        """Start the process and wait until /health answers (the database is open)."""
        command = [
            sys.executable,
            "-m",
            "loopwise",
            "collect",
            "--db",
            str(self.db),
            "--port",
            str(self.port),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                preexec_fn=self.preexec_fn,
            )
        self.starts += 1
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

    def kill9(self) -> None:
        """SIGKILL the process: no flush, no close, no shutdown hooks."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        """Stop the process the ordinary way (SIGINT, as Ctrl-C) if it runs."""
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

    def read(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` read straight from the file (the collector must be stopped)."""
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[Callable[..., CollectorProcess]]:
    """Makes CollectorProcess objects on files in tmp_path; stops them all at the end."""
    made: list[CollectorProcess] = []

    def make(**options: Any) -> CollectorProcess:
        index = len(made)
        made.append(
            CollectorProcess(
                tmp_path / f"c{index}.duckdb", free_port(), tmp_path / f"c{index}.log", **options
            )
        )
        return made[-1]

    yield make
    for process in made:
        process.stop()


def wait_until(
    condition: Callable[[], bool], timeout_s: float = 120.0, step_s: float = 0.1
) -> bool:
    """Poll ``condition`` until it holds or ``timeout_s`` passes; return whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return condition()


@pytest.fixture
def until() -> Callable[..., bool]:
    """``wait_until`` as a fixture (test modules cannot import conftest)."""
    return wait_until
