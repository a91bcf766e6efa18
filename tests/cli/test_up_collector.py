"""``loopwise up --collector URL``: the dashboard against a collector that already runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from loopwise.collector.server import CollectorConfig, CollectorServer


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_collector_that_does_not_answer_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "loopwise", "up", "--collector", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"no collector answers at {url}" in result.stdout + result.stderr


def test_the_dashboard_starts_against_the_running_collector(tmp_path: Path) -> None:
    config = CollectorConfig(db_path=tmp_path / "running.duckdb", port=0)
    port = free_port()
    with CollectorServer(config) as collector:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loopwise",
                "up",
                "--collector",
                collector.url,
                "--dashboard-port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "200"},
        )
        try:
            deadline = time.monotonic() + 120
            healthy = False
            while time.monotonic() < deadline and process.poll() is None and not healthy:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                    healthy = health.status_code == 200
                except httpx.HTTPError:
                    time.sleep(0.3)
            assert healthy, process.stdout.read() if process.stdout else ""
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    assert process.returncode == 0, output
    assert f"→ {collector.url}" in output
    assert not (tmp_path / ".loopwise").exists()  # no collector or store of its own
