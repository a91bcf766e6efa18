"""Fixtures for the feedback tests: a DuckDB store holding known spans (written by the SDK's
local mode), and a real collector hosting the feedback extension over the same kind of data.

Spans come from ``loopwise.Client`` with sequential ids and a ticking clock, so their ids are
known: trace ``…01`` holds ``triage`` (span ``…01``) with the LLM span ``answer`` (``…02``);
trace ``…02`` holds ``triage`` (``…03``) with ``answer`` (``…04``); both answers were rendered
from prompt ``reply`` version 1.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import loopwise
from loopwise.collector.sdk import Prompt, SequentialIdGenerator, TickingClock
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store
from loopwise.feedback import FeedbackExtension, HttpBackend

PROJECT = "fb-test"


def trace_id(n: int) -> str:
    """The n-th sequential trace id as hex."""
    return format(n, "032x")


def span_id(n: int) -> str:
    """The n-th sequential span id as hex."""
    return format(n, "016x")


@dataclass(frozen=True)
class Spans:
    """The ids and texts of the seeded spans."""

    project: str = PROJECT
    trace1: str = trace_id(1)
    root1: str = span_id(1)
    answer1: str = span_id(2)
    trace2: str = trace_id(2)
    root2: str = span_id(3)
    answer2: str = span_id(4)
    question1: str = "Where is order ORD-10001?"
    question2: str = "Can I return a blender?"
    output1: str = "Your order ORD-99999 ships tomorrow."
    output2: str = "Returns are accepted within 30 days."
    unknown_trace: str = trace_id(999)
    unknown_span: str = span_id(999)


SPANS = Spans()
REPLY_TEMPLATE = "Answer the customer politely.\n\nQuestion: {{question}}"


def seed(client: loopwise.Client) -> None:
    """Two traces, each a chain with one LLM answer rendered from prompt ``reply`` v1."""
    prompt = Prompt("reply", REPLY_TEMPLATE, version=1, label="production", source="collector")
    for question, output in ((SPANS.question1, SPANS.output1), (SPANS.question2, SPANS.output2)):
        with client.span("triage", kind="chain") as root:
            root.set_input(question)
            with client.span("answer", kind="llm") as llm:
                llm.set_input(prompt.format(question=question))
                llm.set_metadata(ticket="t-" + question[:5])
                llm.set_output(output)
            root.set_output(output)


def make_client(**init: Any) -> loopwise.Client:
    """A client with sequential ids and a ticking clock, configured by ``init``."""
    client = loopwise.Client()
    client.init(
        PROJECT,
        batch=False,
        set_global=False,
        id_generator=SequentialIdGenerator(),
        clock=TickingClock(),
        **init,
    )
    return client


@pytest.fixture
def spans() -> Spans:
    """The seeded spans' ids and texts."""
    return SPANS


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with the seeded spans, written once per run by the SDK's local mode."""
    folder = tmp_path_factory.mktemp("feedback-template")
    path = folder / "template.duckdb"
    client = make_client(db=path, prompt_cache_dir=folder / "prompts")
    seed(client)
    client.shutdown()
    with Store(path):
        pass  # closing checkpoints, so the file alone holds everything
    return path


@pytest.fixture
def db_path(tmp_path: Path, seeded_template: Path) -> Path:
    """A fresh copy of the seeded DuckDB file for one test."""
    path = tmp_path / "feedback.duckdb"
    shutil.copyfile(seeded_template, path)
    return path


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """The seeded store, open read-write."""
    with Store(db_path) as opened:
        yield opened


@contextlib.contextmanager
def seeded_collector(folder: Path) -> Iterator[CollectorServer]:
    """A real collector with the feedback extension (no background sync) and the spans."""
    config = CollectorConfig(db_path=folder / "served.duckdb", port=0)
    with CollectorServer(config, [FeedbackExtension(sync_interval_s=None)]) as server:
        client = make_client(
            endpoint=server.url, spool_dir=folder / "spool", prompt_cache_dir=folder / "prompts"
        )
        seed(client)
        client.shutdown()
        yield server


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    """A seeded collector of one test's own."""
    with seeded_collector(tmp_path) as server:
        yield server


@pytest.fixture(scope="module")
def shared_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorServer]:
    """A seeded collector shared by a module's tests (for tests that change nothing)."""
    with seeded_collector(tmp_path_factory.mktemp("shared-collector")) as server:
        yield server


@pytest.fixture
def api(collector: CollectorServer) -> Iterator[HttpBackend]:
    """The feedback API of the collector, through the client the CLI uses."""
    backend = HttpBackend(collector.url)
    yield backend
    backend.close()


@pytest.fixture
def sql() -> Callable[[CollectorServer, str], list[dict[str, Any]]]:
    """Rows of a SELECT through a collector's /api/sql: ``sql(server, "SELECT ...")``."""
    import httpx

    def run(server: CollectorServer, query: str) -> list[dict[str, Any]]:
        response = httpx.post(server.url + "/api/sql", json={"sql": query}, timeout=30)
        assert response.status_code == 200, response.text
        payload = response.json()
        return [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]

    return run
