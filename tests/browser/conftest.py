"""A real collector, the real dashboard (``streamlit run``) and a real headless Chromium.

The collector is seeded over OTLP with traces whose names and contents carry HTML and
Markdown payloads, then scores (one evaluator with a payload for a name) are appended to its
file between two runs of the collector. The dashboard runs as its own process; Chromium is
Debian's, driven by Playwright with a fresh profile and no network beyond localhost.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pyarrow as pa
import pytest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.dashboard import app_path, streamlit_command
from loopwise.evals import EvalsExtension
from loopwise.evals.suites.api import SuiteRunsExtension
from loopwise.feedback import FeedbackExtension

CHROMIUM = Path(os.environ.get("LOOPWISE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PROJECT = "browser-test"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click me](javascript:alert(1))"
SPAN_NAME = "lookup <img src=x onerror=alert(2)> [docs](javascript:alert(3))"
EVIL_EVALUATOR = "judge <b>bold</b> <img src=x onerror=alert(4)>"
ERROR_MESSAGE = "ValueError: <script>alert(5)</script>"


@dataclass
class Seeded:
    """The running collector and what was stored in it."""

    SCRIPT: ClassVar[str] = SCRIPT
    IMG: ClassVar[str] = IMG
    LINK: ClassVar[str] = LINK
    SPAN_NAME: ClassVar[str] = SPAN_NAME
    EVIL_EVALUATOR: ClassVar[str] = EVIL_EVALUATOR
    ERROR_MESSAGE: ClassVar[str] = ERROR_MESSAGE

    url: str = ""
    xss_trace_id: str = ""
    trace_ids: list[str] = field(default_factory=list)


def _seed(url: str, spool: Path, seeded: Seeded) -> None:
    client = loopwise.Client()
    client.init(PROJECT, endpoint=url, batch=False, set_global=False, spool_dir=spool)
    for number in range(12):
        with client.span(f"triage ticket {number}", kind="agent") as root:
            root.set_input(f"ticket {number}: my parcel is late")
            root.set_session(f"session-{number % 3}")
            root.set_user(f"user-{number % 4}")
            with client.span("chat", kind="llm") as chat:
                chat.set_input({"messages": [{"role": "user", "content": f"ticket {number}"}]})
                chat.set_usage(
                    input_tokens=100 + number,
                    output_tokens=20,
                    total_tokens=120 + number,
                    model="gpt-4o-mini",
                    cost_usd=0.0004,
                )
                chat.set_output("refund approved")
            root.set_output("done")
        seeded.trace_ids.append(root.trace_id)
    with client.span("xss ticket", kind="agent") as root:
        seeded.xss_trace_id = root.trace_id
        root.set_input(SCRIPT)
        root.set_session("session-xss")
        root.set_user("user-xss")
        root.set_tags(["xss"])
        with client.span(SPAN_NAME, kind="retriever") as retrieve:
            retrieve.set_input(LINK)
            retrieve.set_output(IMG)
        with client.span("chat", kind="llm") as chat:
            chat.set_input({"messages": [{"role": "user", "content": IMG}]})
            chat.set_usage(
                input_tokens=12, output_tokens=30, total_tokens=42, model="gpt-4o", cost_usd=0.002
            )
            chat.set_output(LINK)
        with client.span("failing tool", kind="tool") as tool:
            tool.record_error(ValueError("<script>alert(5)</script>"))
        root.set_output(LINK)
    client.flush()
    client.shutdown()


def _flags(seeded: Seeded) -> pa.Table:
    """Two open flags on the payload trace, their reasons carrying payloads too."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        {
            "flag_id": f"flag-{n}",
            "project": PROJECT,
            "trace_id": seeded.xss_trace_id,
            "rule": "low helpfulness",
            "cause_key": f"cause-{n}",
            "reason": f"{IMG} {LINK}",
            "severity": severity,
            "evaluator": "helpfulness",
            "value": 0.1 * n,
            "status": "open",
            "created_at": now - dt.timedelta(minutes=n),
        }
        for n, severity in ((1, "high"), (2, "medium"))
    ]
    return pa.Table.from_pylist(rows)


def _scores(seeded: Seeded) -> list[ScoreRow]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows: list[ScoreRow] = []
    for number, trace_id in enumerate([*seeded.trace_ids, seeded.xss_trace_id]):
        created = now - dt.timedelta(minutes=30 - number)
        rows.append(
            ScoreRow(
                PROJECT,
                trace_id,
                "helpfulness",
                "llm",
                "judge",
                value=(number % 5) / 4,
                passed=number % 5 >= 2,
                created_at=created,
                explanation=SCRIPT,
            )
        )
        rows.append(
            ScoreRow(
                PROJECT,
                trace_id,
                EVIL_EVALUATOR,
                "code",
                "evil",
                value=1.0,
                passed=True,
                created_at=created,
            )
        )
    return rows


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A running collector holding 13 traces (one full of payloads), their scores and two
    open flags (each opened as a review item), hosting the evaluation and feedback APIs."""
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "b.duckdb"
    data = Seeded()
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        _seed(server.url, tmp / "spool", data)
    with Store(db) as store:
        append_scores(store, _scores(data))
        store.append_rows("flags", _flags(data))
    evals = EvalsExtension(online=False)  # serves /api/flags; scores nothing by itself
    feedback = FeedbackExtension(sync_interval_s=None)  # items open through the API below
    with CollectorServer(
        CollectorConfig(db_path=db, port=0), extensions=[evals, feedback, SuiteRunsExtension()]
    ) as server:
        httpx.post(f"{server.url}/api/reviews/sync").raise_for_status()
        data.url = server.url
        yield data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dashboard:
    """A ``streamlit run`` of the dashboard; ``url`` is its base URL."""

    url: str
    process: subprocess.Popen[bytes]


def start_dashboard(endpoint: str, log: Path) -> Dashboard:
    """Start the dashboard against ``endpoint`` and wait until Streamlit answers."""
    port = _free_port()
    env = {**os.environ, "LOOPWISE_ENDPOINT": endpoint}
    env.pop("LOOPWISE_API_KEY", None)
    command = streamlit_command(app_path(), "127.0.0.1", port, server_fileWatcherType="none")
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return Dashboard(url, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"the dashboard did not answer within 60 s: {log.read_text()[-2000:]}")


def stop_dashboard(dashboard: Dashboard) -> None:
    """Stop the dashboard process."""
    dashboard.process.terminate()
    try:
        dashboard.process.wait(15)
    except subprocess.TimeoutExpired:
        dashboard.process.kill()
        dashboard.process.wait(5)


@pytest.fixture(scope="session")
def dashboard(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """The dashboard, started for real, reading the seeded collector."""
    running = start_dashboard(seeded.url, tmp_path_factory.mktemp("dash") / "streamlit.log")
    yield running
    stop_dashboard(running)


@pytest.fixture
def dashboard_for(tmp_path: Path) -> Iterator[Callable[[str], Dashboard]]:
    """Start another dashboard against a given collector URL; stopped after the test."""
    started: list[Dashboard] = []

    def start(endpoint: str) -> Dashboard:
        started.append(start_dashboard(endpoint, tmp_path / f"streamlit-{len(started)}.log"))
        return started[-1]

    yield start
    for running in started:
        stop_dashboard(running)


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with a fresh profile (a persistent context in a new directory)."""
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A new tab that records every JavaScript dialog (and dismisses it)."""
    tab = browser_context.new_page()
    tab.set_default_timeout(30_000)
    tab.dialogs = []

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where page screenshots go (gitignored), for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
