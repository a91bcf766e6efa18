"""Real collectors for the dashboard tests, seeded through the SDK over OTLP/HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

import loopwise
from loopwise.collector.sdk import SequentialIdGenerator, TickingClock
from loopwise.collector.sdk.testing import FIXED_EPOCH_NS
from loopwise.collector.server import CollectorConfig, CollectorServer

PROJECT = "dash-test"
OTHER_PROJECT = "other-project"
FILLER_TRACES = 11
API_KEY = "test-key-123"
ONE_DAY_NS = 86_400 * 10**9

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(1))"
BOLD = "**bold**"
MARKDOWN_SPAN_NAME = "retrieve **docs** [x](javascript:alert(1))"
UNTRUSTED_STRINGS = (SCRIPT, IMG, LINK, BOLD, MARKDOWN_SPAN_NAME)


@dataclass
class SeededCollector:
    """A running collector and what was sent to it (tests read the constants from here)."""

    PROJECT: ClassVar[str] = PROJECT
    OTHER_PROJECT: ClassVar[str] = OTHER_PROJECT
    SCRIPT: ClassVar[str] = SCRIPT
    IMG: ClassVar[str] = IMG
    LINK: ClassVar[str] = LINK
    BOLD: ClassVar[str] = BOLD
    MARKDOWN_SPAN_NAME: ClassVar[str] = MARKDOWN_SPAN_NAME
    UNTRUSTED_STRINGS: ClassVar[tuple[str, ...]] = UNTRUSTED_STRINGS

    url: str
    untrusted_trace_id: str = ""
    error_trace_id: str = ""
    root_names: list[str] = field(default_factory=list)

    @property
    def trace_count(self) -> int:
        """Traces across every project."""
        return len(self.root_names)


def _seed(url: str, spool: Path, seeded: SeededCollector) -> None:
    client = loopwise.Client()
    client.init(
        PROJECT,
        endpoint=url,
        batch=False,
        set_global=False,
        spool_dir=spool / PROJECT,
        id_generator=SequentialIdGenerator(),
        clock=TickingClock(),
    )
    for number in range(FILLER_TRACES):
        with client.span(f"filler-{number:02d}", kind="chain") as span:
            span.set_input(f"question {number}")
            span.set_output(f"answer {number}")
        seeded.root_names.append(f"filler-{number:02d}")
    with client.span("error-trace", kind="agent") as root:
        seeded.error_trace_id = root.trace_id
        with client.span("failing tool", kind="tool") as tool:
            tool.record_error(ValueError("boom <b>bad</b>"))
    seeded.root_names.append("error-trace")
    with client.span("root", kind="chain") as root:
        seeded.untrusted_trace_id = root.trace_id
        root.set_input(SCRIPT)
        root.set_session("session-1")
        root.set_user("user-1")
        with client.span(MARKDOWN_SPAN_NAME, kind="retriever") as retrieve:
            retrieve.set_input("which docs?")
            retrieve.set_output(IMG)
        with client.span("answer", kind="llm") as answer:
            answer.set_input({"messages": [{"role": "user", "content": BOLD}]})
            answer.set_usage(
                input_tokens=12, output_tokens=30, total_tokens=42, model="gpt-test", cost_usd=0.002
            )
            with client.span("lookup", kind="tool") as lookup:
                lookup.set_input("id=7")
                lookup.set_output(BOLD)
            answer.set_output(LINK)
        root.set_output(LINK)
    seeded.root_names.append("root")
    client.flush()
    client.shutdown()

    other = loopwise.Client()
    other.init(
        OTHER_PROJECT,
        endpoint=url,
        batch=False,
        set_global=False,
        spool_dir=spool / OTHER_PROJECT,
        clock=TickingClock(start_ns=FIXED_EPOCH_NS + ONE_DAY_NS),
    )
    with other.span("other-root", kind="chain") as span:
        span.set_output("from the other project")
    seeded.root_names.append("other-root")
    other.flush()
    other.shutdown()


@pytest.fixture(scope="session")
def seeded_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededCollector]:
    """One collector for the whole session with 14 traces: 13 in ``dash-test`` (11 fillers,
    one with a failing tool, and ``root`` whose spans carry untrusted HTML and Markdown) and
    one in ``other-project``."""
    tmp = tmp_path_factory.mktemp("dashboard")
    with CollectorServer(CollectorConfig(db_path=tmp / "t.duckdb", port=0)) as server:
        seeded = SeededCollector(url=server.url)
        _seed(server.url, tmp / "spool", seeded)
        yield seeded


@dataclass(frozen=True)
class KeyedCollector:
    """A running collector that requires ``api_key``."""

    url: str
    api_key: str


@pytest.fixture(scope="session")
def keyed_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedCollector]:
    """An empty collector that requires an API key."""
    tmp = tmp_path_factory.mktemp("keyed")
    config = CollectorConfig(db_path=tmp / "k.duckdb", port=0, api_key=API_KEY)
    with CollectorServer(config) as server:
        yield KeyedCollector(server.url, API_KEY)


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
