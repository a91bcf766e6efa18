"""``loopwise up``: the collector, the dashboard and (with --demo) live demo traffic, together."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import Annotated

import httpx
import typer
from rich.console import Console

from loopwise.collector.redact import load_redaction
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.extensions import default_extensions

from .common import (
    DEFAULTS,
    ApiKeyOption,
    DbOption,
    HostOption,
    PortOption,
    RedactOption,
    RetentionOption,
    clean_errors,
    fail,
)

console = Console()


def up(
    demo: Annotated[
        bool, typer.Option("--demo", help="Also run the demo workflow, sending traffic.")
    ] = False,
    db: DbOption = DEFAULTS["db"],  # type: ignore[assignment]
    host: HostOption = DEFAULTS["host"],  # type: ignore[assignment]
    port: PortOption = DEFAULTS["port"],  # type: ignore[assignment]
    dashboard_port: Annotated[
        int, typer.Option("--dashboard-port", min=0, max=65535, help="Streamlit dashboard port.")
    ] = 8501,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Run without the dashboard.")
    ] = False,
    api_key: ApiKeyOption = None,
    redact: RedactOption = None,
    retention_days: RetentionOption = None,
    demo_interval: Annotated[
        float, typer.Option("--demo-interval", min=0.0, help="Seconds between demo traces.")
    ] = 1.0,
    collector: Annotated[
        str | None,
        typer.Option(
            "--collector",
            help="Use the collector already running at this URL (a lake collector, say) "
            "instead of starting one.",
        ),
    ] = None,
) -> None:
    """Start the collector and the dashboard (and demo traffic with --demo) until Ctrl-C.

    The collector listens on 127.0.0.1:4318 (OTLP/HTTP and the JSON API) and owns the DuckDB
    file; the dashboard is on 127.0.0.1:8501. With --collector URL only the dashboard (and
    the demo) start, against that collector.
    """
    if collector is not None:
        _against(collector.rstrip("/"), host, dashboard_port, api_key, demo, demo_interval)
        return
    with clean_errors():
        redaction = load_redaction(redact) if redact else None
        config = CollectorConfig.from_env(
            db_path=db,
            host=host,
            port=port,
            api_key=api_key,
            redaction=redaction,
            retention_days=retention_days,
        )
        server = CollectorServer(config, default_extensions()).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    dashboard: subprocess.Popen[bytes] | None = None
    demo_thread: threading.Thread | None = None
    try:
        console.print(
            f"collector  {server.url}  (OTLP: POST {server.url}/v1/traces) → {db}", highlight=False
        )
        if not no_dashboard:
            dashboard = _start_dashboard(host, dashboard_port, server.url, config.api_key)
            console.print(f"dashboard  http://{host}:{dashboard_port}", highlight=False)
        if demo:
            demo_thread = _start_demo(server.url, config.api_key, demo_interval, stop)
            console.print("demo       support-ticket triage traffic is flowing", highlight=False)
        console.print("Ctrl-C to stop", style="dim")
        while not stop.is_set():
            if dashboard is not None and dashboard.poll() is not None:
                fail(f"the dashboard exited with code {dashboard.returncode}")
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(stop, dashboard, demo_thread)
        server.stop()


def _against(
    url: str, host: str, dashboard_port: int, api_key: str | None, demo: bool, interval: float
) -> None:
    """The dashboard (and demo traffic) against the running collector at ``url``."""
    try:
        httpx.get(f"{url}/health", timeout=5.0).raise_for_status()
    except httpx.HTTPError as exc:
        fail(f"no collector answers at {url}: {exc}", code=2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    dashboard = _start_dashboard(host, dashboard_port, url, api_key)
    demo_thread = _start_demo(url, api_key, interval, stop) if demo else None
    console.print(f"dashboard  http://{host}:{dashboard_port}  → {url}", highlight=False)
    console.print("Ctrl-C to stop", style="dim")
    try:
        while not stop.is_set() and dashboard.poll() is None:
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(stop, dashboard, demo_thread)


def _stop(
    stop: threading.Event,
    dashboard: subprocess.Popen[bytes] | None,
    demo_thread: threading.Thread | None,
) -> None:
    """End the demo traffic, then the dashboard."""
    stop.set()
    if demo_thread is not None:
        demo_thread.join(15)
    if dashboard is not None and dashboard.poll() is None:
        dashboard.terminate()
        try:
            dashboard.wait(10)
        except subprocess.TimeoutExpired:
            dashboard.kill()


def _start_dashboard(
    host: str, port: int, endpoint: str, api_key: str | None
) -> subprocess.Popen[bytes]:
    from loopwise.dashboard import app_path, streamlit_command

    env = {**os.environ, "LOOPWISE_ENDPOINT": endpoint}
    if api_key:
        env["LOOPWISE_API_KEY"] = api_key
    command = streamlit_command(app_path(), host, port)
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    url = f"http://{host}:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = process.returncode
            fail(f"the dashboard failed to start (exit code {code}); is port {port} free?")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    fail(f"the dashboard did not answer on {url} within 60 s")


def _start_demo(
    endpoint: str, api_key: str | None, interval: float, stop: threading.Event
) -> threading.Thread:
    from loopwise.demo import Guard, demo_client, run_traffic

    if api_key:
        os.environ.setdefault("LOOPWISE_API_KEY", api_key)
    client = demo_client(project="support-bot", endpoint=endpoint)

    def run() -> None:
        try:
            run_traffic(client, count=None, interval_s=interval, stop=stop, guard=Guard())
        finally:
            client.shutdown()

    thread = threading.Thread(target=run, name="loopwise-demo", daemon=True)
    thread.start()
    return thread
