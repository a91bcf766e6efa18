"""Real collectors for the dashboard tests, seeded through the SDK over OTLP/HTTP, and the
Streamlit test harness opening one page of the real app against them."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import loopwise
from loopwise.collector.sdk import SequentialIdGenerator, TickingClock
from loopwise.collector.sdk.testing import FIXED_EPOCH_NS
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.dashboard import app_path
from loopwise.dashboard.navigation import page
from loopwise.evals import EvalsExtension
from loopwise.evals.suites.api import SuiteRunsExtension
from loopwise.extensions import default_extensions
from loopwise.feedback import FeedbackExtension

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
EVIL_EVALUATOR = "judge <b>bold</b> [x](javascript:alert(1))"
EPOCH = dt.datetime(2026, 1, 1)


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
    EVIL_EVALUATOR: ClassVar[str] = EVIL_EVALUATOR

    url: str
    untrusted_trace_id: str = ""
    answer_span_id: str = ""
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
        root.set_tags(["vip"])
        with client.span(MARKDOWN_SPAN_NAME, kind="retriever") as retrieve:
            retrieve.set_input("which docs?")
            retrieve.set_output(IMG)
        with client.span("answer", kind="llm") as answer:
            seeded.answer_span_id = answer.span_id
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


def _scores(seeded: SeededCollector) -> list[ScoreRow]:
    """Scores of the ``root`` trace: two evaluators over two minutes, one with an untrusted
    name, and one errored run."""
    trace_id = seeded.untrusted_trace_id
    rows: list[ScoreRow] = []
    for minute, value in enumerate((0.5, 0.9)):
        created = EPOCH + dt.timedelta(minutes=minute)
        rows += [
            ScoreRow(
                PROJECT,
                trace_id,
                "helpfulness",
                "llm",
                "helpfulness",
                value=value,
                passed=value > 0.6,
                created_at=created,
                explanation=SCRIPT,
            ),
            ScoreRow(
                PROJECT,
                trace_id,
                EVIL_EVALUATOR,
                "code",
                "evil",
                value=1.0,
                passed=True,
                span_id=seeded.answer_span_id,
                created_at=created,
            ),
        ]
    rows.append(
        ScoreRow(
            PROJECT,
            trace_id,
            "helpfulness",
            "llm",
            "helpfulness",
            status="errored",
            error="judge timed out",
            created_at=EPOCH,
        )
    )
    return rows


@pytest.fixture(scope="session")
def seeded_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededCollector]:
    """One collector for the whole session with 14 traces: 13 in ``dash-test`` (11 fillers,
    one with a failing tool, and ``root`` whose spans carry untrusted HTML and Markdown) and
    one in ``other-project``; five scores of ``root`` (``_scores``).

    Spans go in over OTLP; the scores are appended to the file between two runs of the
    collector (the collector is its only writer while it runs)."""
    tmp = tmp_path_factory.mktemp("dashboard")
    db = tmp / "t.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        seeded = SeededCollector(url=server.url)
        _seed(server.url, tmp / "spool", seeded)
    with Store(db) as store:
        append_scores(store, _scores(seeded))
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        seeded.url = server.url
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


OpenPage = Callable[..., AppTest]


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> OpenPage:
    """Run the real app (``app_path()``) against ``endpoint`` and switch to the page at
    ``url_path`` with ``query`` in its URL; returns the AppTest after that page ran."""

    def open_(
        url_path: str,
        endpoint: str,
        api_key: str | None = None,
        query: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> AppTest:
        monkeypatch.setenv("LOOPWISE_ENDPOINT", endpoint)
        for name, value in (("LOOPWISE_API_KEY", api_key), ("LOOPWISE_TIMEOUT_S", timeout_s)):
            if value:
                monkeypatch.setenv(name, str(value))
            else:
                monkeypatch.delenv(name, raising=False)
        at = AppTest.from_file(str(app_path()), default_timeout=30).run()
        at.query_params.update(query or {})
        at.switch_page(page(url_path).script).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_


def markdown_rendered(at: AppTest) -> list[str]:
    """Every string the page handed to a Markdown-rendering element or label."""
    texts: list[str] = []
    for elements in (at.markdown, at.caption, at.title, at.header, at.subheader):
        texts += [str(e.value) for e in elements]
    for alerts in (at.error, at.warning, at.info, at.success):
        texts += [str(e.value) for e in alerts]
    texts += [e.label for e in at.expander]
    texts += [m.label for m in at.metric] + [str(m.help or "") for m in at.metric]
    texts += [link.proto.label for link in at.get("page_link")]
    for widgets in (at.selectbox, at.text_input, at.button, at.toggle):
        texts += [w.label for w in widgets]
    return texts


@pytest.fixture
def markdown_texts() -> Callable[[AppTest], list[str]]:
    """``markdown_rendered``: the strings a page passed to Markdown-rendering calls."""
    return markdown_rendered


def plotly_specs(at: AppTest) -> list[dict[str, Any]]:
    """The Plotly figures on the page, as the JSON specs sent to the browser."""
    import json

    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.fixture
def figures() -> Callable[[AppTest], list[dict[str, Any]]]:
    """``plotly_specs``: the Plotly figures on a page."""
    return plotly_specs


REVIEW_PROJECT = "review-test"
REFUSAL = "I cannot help with refunds <b>sorry</b> [x](javascript:alert(1))"
SLOW_ANSWER = "Your parcel arrives tomorrow"


@dataclass
class ReviewCollector:
    """A running collector with open review items: three refusals and one slow answer."""

    url: str
    refusal_traces: list[str] = field(default_factory=list)
    slow_trace: str = ""
    span_ids: dict[str, str] = field(default_factory=dict)

    def items(self, state: str = "open") -> list[dict[str, object]]:
        """Review items in ``state``, through the API."""
        answer = httpx.get(f"{self.url}/api/reviews", params={"state": state, "limit": 100})
        answer.raise_for_status()
        items: list[dict[str, object]] = answer.json()["items"]
        return items

    def item(self, item_id: str) -> dict[str, object]:
        """One item with its events and corrections, through the API."""
        answer = httpx.get(f"{self.url}/api/reviews/{item_id}")
        answer.raise_for_status()
        detail: dict[str, object] = answer.json()
        return detail


def _seed_spans(url: str, spool: Path, seeded: ReviewCollector) -> None:
    client = loopwise.Client()
    client.init(REVIEW_PROJECT, endpoint=url, batch=False, set_global=False, spool_dir=spool)
    for number in range(4):
        refusal = number < 3
        with client.span(f"support {number}", kind="agent") as root:
            root.set_input(f"question {number}: where is my refund?")
            with client.span("answer", kind="llm") as answer:
                answer.set_input(f"where is my refund {number}?")
                answer.set_output(REFUSAL if refusal else SLOW_ANSWER)
            root.set_output("done")
        seeded.span_ids[root.trace_id] = answer.span_id
        if refusal:
            seeded.refusal_traces.append(root.trace_id)
        else:
            seeded.slow_trace = root.trace_id
    client.flush()
    client.shutdown()


def _flags(seeded: ReviewCollector) -> pa.Table:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        {
            "flag_id": f"flag-refusal-{n}",
            "project": REVIEW_PROJECT,
            "trace_id": trace_id,
            "span_id": seeded.span_ids[trace_id],
            "rule": "refusal",
            "cause_key": f"refusal-{n}",
            "reason": "the answer refuses: cannot help with refunds",
            "severity": "high",
            "evaluator": "refusal",
            "value": 0.0,
            "status": "open",
            "created_at": now - dt.timedelta(minutes=n),
        }
        for n, trace_id in enumerate(seeded.refusal_traces)
    ]
    rows.append(
        {
            "flag_id": "flag-slow",
            "project": REVIEW_PROJECT,
            "trace_id": seeded.slow_trace,
            "span_id": seeded.span_ids[seeded.slow_trace],
            "rule": "latency",
            "cause_key": "slow",
            "reason": "slow: 12 s latency",
            "severity": "low",
            "evaluator": None,
            "value": 12.0,
            "status": "open",
            "created_at": now - dt.timedelta(minutes=9),
        }
    )
    return pa.Table.from_pylist(rows)


@pytest.fixture(scope="session")
def review_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReviewCollector]:
    """A store file holding the spans and flags (made once; each test runs on a copy)."""
    tmp = tmp_path_factory.mktemp("reviews")
    db = tmp / "r.duckdb"
    seeded = ReviewCollector(url="")
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        _seed_spans(server.url, tmp / "spool", seeded)
    with Store(db) as store:
        store.append_rows("flags", _flags(seeded))
        append_scores(store, _judge_scores(seeded))
    return db, seeded


def _judge_scores(seeded: ReviewCollector) -> list[ScoreRow]:
    """The refusal judge's verdicts on the four answers: fail on the three refusals."""
    return [
        ScoreRow(
            REVIEW_PROJECT,
            trace_id,
            "refusal",
            "llm",
            "refusal",
            value=value,
            passed=value > 0.5,
            span_id=seeded.span_ids[trace_id],
        )
        for trace_id, value in [(t, 0.0) for t in seeded.refusal_traces]
        + [(seeded.slow_trace, 1.0)]
    ]


@pytest.fixture
def review_collector(
    review_template: tuple[Path, ReviewCollector], tmp_path: Path
) -> Iterator[ReviewCollector]:
    """A collector hosting every shipped extension (as ``default_extensions`` lists them) on
    a fresh copy of the seeded store, its flags clustered and opened as review items through
    the API. The online evaluators and the background sync are off, so no flag or item
    appears on its own while a test runs."""
    template, seeded = review_template
    db = tmp_path / "r.duckdb"
    shutil.copy(template, db)
    config = CollectorConfig(db_path=db, port=0)
    extensions = [
        EvalsExtension(online=False),
        FeedbackExtension(sync_interval_s=None),
        SuiteRunsExtension(),
    ]
    assert [type(e) for e in extensions] == [type(e) for e in default_extensions()]
    with CollectorServer(config, extensions=extensions) as server:
        httpx.post(f"{server.url}/api/reviews/sync").raise_for_status()
        clusters = httpx.post(f"{server.url}/api/flags/clusters", json={}, timeout=60)
        clusters.raise_for_status()
        yield ReviewCollector(server.url, seeded.refusal_traces, seeded.slow_trace, seeded.span_ids)
