"""``loopwise up --demo`` as a user runs it: a real process serving the collector, the
dashboard and live demo traffic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from .conftest import free_port


def wait_for(
    check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], limit_s: float = 90
) -> None:
    """Poll ``check`` until it holds; fail with ``what`` if the process dies or time runs out."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"loopwise up exited with {process.returncode} before {what}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


def child_commands(pid: int) -> list[list[str]]:
    """The command lines of the direct children of process ``pid`` (Linux /proc)."""
    commands = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                raw = (stat.parent / "cmdline").read_bytes()
                commands.append(raw.decode(errors="replace").split("\0"))
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return commands


def test_up_with_demo_serves_collector_dashboard_and_traffic(tmp_path: Path) -> None:
    port, dashboard_port = free_port(), free_port()
    db = tmp_path / "up.duckdb"
    env = {**os.environ, "LOOPWISE_SPOOL_DIR": str(tmp_path / "spool")}
    command = [
        sys.executable,
        "-m",
        "loopwise",
        "up",
        "--demo",
        "--db",
        str(db),
        "--port",
        str(port),
        "--dashboard-port",
        str(dashboard_port),
        "--demo-interval",
        "0.1",
    ]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(base + "/health").json()["status"] == "ok", "/health", process)
        wait_for(
            lambda: (
                httpx.get(f"http://127.0.0.1:{dashboard_port}/_stcore/health").status_code == 200
            ),
            "the dashboard",
            process,
        )
        page = httpx.get(f"http://127.0.0.1:{dashboard_port}/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        [dashboard] = [args for args in child_commands(process.pid) if "streamlit" in args]
        # No Deploy button or developer menu from the first session on.
        assert dashboard[dashboard.index("--client.toolbarMode") + 1] == "minimal"

        def demo_traces_arrived() -> bool:
            traces = httpx.get(base + "/api/traces", params={"project": "support-bot"}).json()[
                "traces"
            ]
            return len(traces) >= 3

        wait_for(demo_traces_arrived, "demo traces", process)
        rows = httpx.post(
            base + "/api/sql",
            json={
                "sql": "select distinct name from spans where project = 'support-bot' order by 1"
            },
        ).json()["rows"]
        assert {"triage_ticket", "classify", "retrieve", "draft_reply"} <= {r[0] for r in rows}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    assert db.exists()
