"""The Overview page, run by Streamlit's AppTest against a real, seeded collector."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import loopwise
from loopwise.collector.sdk import TickingClock
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.dashboard import app_path
from loopwise.dashboard.filters import fitting_time_range

SeededCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
KeyedCollector = Any
OpenPage = Callable[..., AppTest]
Texts = Callable[[AppTest], list[str]]
Figures = Callable[[AppTest], list[dict[str, Any]]]

RANGE = "overview.range"
PROJECT = "overview.project"
MODEL = "overview.model"
TAG = "overview.tag"
USER = "overview.user"
SCORE_METRIC = "overview.score_metric"
MINUTE_NS = 60 * 10**9


def all_time(open_page: OpenPage, url: str, **kwargs: Any) -> AppTest:
    """The Overview over all time (the seeded spans are from 2026-01-01)."""
    at = open_page("overview", url, **kwargs)
    at.selectbox(key=RANGE).set_value("All time").run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """Headline numbers by label."""
    return {m.label: m.value for m in at.metric}


def test_app_opens_on_the_overview(
    monkeypatch: pytest.MonkeyPatch, seeded_collector: SeededCollector
) -> None:
    monkeypatch.setenv("LOOPWISE_ENDPOINT", seeded_collector.url)
    at = AppTest.from_file(str(app_path())).run(timeout=30)
    assert [t.value for t in at.title] == ["Overview"]


def test_headline_numbers_cover_all_time(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = all_time(open_page, seeded_collector.url)
    numbers = metrics(at)
    assert list(numbers) == ["Traces", "Error rate", "Latency p50", "Latency p95", "Tokens", "Cost"]
    assert numbers["Traces"] == "14"
    assert numbers["Error rate"] == "7.1 %"  # 1 of 14
    assert numbers["Tokens"] == "42"
    assert numbers["Cost"] == "$0.0020"


def test_charts_show_traffic_errors_latency_tokens_and_cost(
    open_page: OpenPage, seeded_collector: SeededCollector, figures: Figures
) -> None:
    at = all_time(open_page, seeded_collector.url)
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert titles[:4] == [
        "Traces",
        "Error rate (traces with an error)",
        "Latency",
        "Tokens and cost",
    ]
    traces = figures(at)[0]
    clean, failed = traces["data"]
    assert sum(clean["y"]) + sum(failed["y"]) == 14
    assert sum(failed["y"]) == 1


def test_old_data_opens_on_its_own_extent(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = open_page("overview", seeded_collector.url)  # spans from 2026-01-01, none recent
    assert at.selectbox(key=RANGE).value == "All time"
    assert metrics(at)["Traces"] == "14"
    at.selectbox(key=RANGE).set_value("Last 7 days").run()
    assert metrics(at)["Traces"] == "0"
    assert any("No spans match" in i.value for i in at.info)


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A collector holding ten minutes of traffic that ended a minute ago."""
    tmp = tmp_path_factory.mktemp("fresh")
    now_ns = time.time_ns()
    with CollectorServer(CollectorConfig(db_path=tmp / "f.duckdb", port=0)) as server:
        client = loopwise.Client()
        client.init(
            "fresh",
            endpoint=server.url,
            batch=False,
            set_global=False,
            spool_dir=tmp / "spool",
            clock=TickingClock(start_ns=now_ns - 11 * MINUTE_NS, step_ns=MINUTE_NS // 2),
        )
        for number in range(10):
            with client.span(f"call-{number}", kind="chain") as span:
                span.set_output("ok")
        client.flush()
        client.shutdown()
        yield server.url


def test_a_fresh_install_opens_on_a_range_that_fits_its_traffic(
    open_page: OpenPage, fresh_install: str, figures: Figures
) -> None:
    at = open_page("overview", fresh_install)
    assert at.selectbox(key=RANGE).value == "All time"
    assert metrics(at)["Traces"] == "10"
    clean, _ = figures(at)[0]["data"]
    filled = [y for y in clean["y"] if y]
    # The ten traces spread over the chart, not one bar at the right edge of a week.
    assert len(filled) >= 5 and sum(filled) == 10
    assert len(clean["y"]) <= 2 * len(filled)


@pytest.mark.parametrize(
    ("first_days_ago", "last_days_ago", "label"),
    [
        (None, None, "Last 7 days"),
        (0.01, 0.0, "All time"),
        (6.9, 0.0, "All time"),
        (30, 0.5, "Last 7 days"),
        (300, 200, "All time"),
    ],
)
def test_the_opening_range_fits_the_data(
    first_days_ago: float | None, last_days_ago: float | None, label: str
) -> None:
    now = dt.datetime(2026, 6, 1)

    def ago(days: float | None) -> dt.datetime | None:
        return None if days is None else now - dt.timedelta(days=days)

    assert fitting_time_range(ago(first_days_ago), ago(last_days_ago), now) == label


def test_filters_offer_the_stored_values_and_narrow_the_numbers(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = all_time(open_page, seeded_collector.url)
    assert at.selectbox(key=PROJECT).options == [
        "All projects",
        seeded_collector.PROJECT,
        seeded_collector.OTHER_PROJECT,
    ]
    assert at.selectbox(key=MODEL).options == ["All models", "gpt-test"]
    assert at.selectbox(key=TAG).options == ["Any tag", "vip"]
    at.selectbox(key=PROJECT).set_value(seeded_collector.OTHER_PROJECT).run()
    assert metrics(at)["Traces"] == "1"
    at.selectbox(key=PROJECT).set_value(None).run()
    at.selectbox(key=MODEL).set_value("gpt-test").run()
    assert metrics(at)["Traces"] == "1"  # the trace holding a gpt-test call
    assert metrics(at)["Tokens"] == "42"
    at.selectbox(key=MODEL).set_value(None).run()
    at.text_input(key=USER).input("nobody").run()
    assert metrics(at)["Traces"] == "0"


def test_score_trends_per_evaluator(
    open_page: OpenPage, seeded_collector: SeededCollector, figures: Figures
) -> None:
    at = all_time(open_page, seeded_collector.url)
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "evaluator",
        "scores",
        "mean score",
        "better",
        "pass rate",
        "errored runs",
    ]
    rows = {r["evaluator"]: r for r in table.to_dict("records")}
    assert set(rows) == {"helpfulness", seeded_collector.EVIL_EVALUATOR}
    assert (rows["helpfulness"]["scores"], rows["helpfulness"]["errored runs"]) == (3, 1)
    assert rows["helpfulness"]["mean score"] == pytest.approx(0.7)
    # One pass, one fail, one errored run (errors count against the pass rate).
    assert rows["helpfulness"]["pass rate"] == pytest.approx(1 / 3)
    assert rows["helpfulness"]["better"] == "higher"
    trend = figures(at)[-1]
    assert trend["layout"]["title"]["text"] == "Mean score per evaluator"
    names = sorted(line["name"] for line in trend["data"])
    assert names[0] == "helpfulness"
    assert names[1].startswith("judge &lt;b&gt;bold&lt;/b&gt; [x](javascript:")  # cut at 40
    at.segmented_control(key=SCORE_METRIC).set_value("pass_rate").run()
    assert figures(at)[-1]["layout"]["title"]["text"] == "Pass rate per evaluator"


def test_no_scores_is_a_plain_caption(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = all_time(open_page, seeded_collector.url)
    at.selectbox(key=PROJECT).set_value(seeded_collector.OTHER_PROJECT).run()
    assert any(c.value.startswith("No scores in this range") for c in at.caption)


def test_missing_flags_endpoint_is_a_plain_note(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = all_time(open_page, seeded_collector.url)
    notes = [i.value for i in at.info if "flags" in i.value.lower()]
    if notes:  # a collector without the evaluation extension
        assert notes == ["Flags are not available: this collector has no flags endpoint yet."]
    assert not at.error


def test_untrusted_names_never_reach_markdown(
    open_page: OpenPage, seeded_collector: SeededCollector, markdown_texts: Texts
) -> None:
    at = all_time(open_page, seeded_collector.url)
    rendered = markdown_texts(at)
    for fragment in ("<b>", "](javascript", seeded_collector.EVIL_EVALUATOR):
        assert not [text for text in rendered if fragment in text]


def test_unreachable_collector_shows_an_error_not_a_traceback(
    open_page: OpenPage, closed_port_url: str
) -> None:
    at = open_page("overview", closed_port_url)
    [error] = at.error
    assert "is not reachable" in error.value
    assert not at.metric


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung collector)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("page", ["overview", "traces"])
def test_a_collector_that_does_not_answer_is_named_slow(
    open_page: OpenPage, silent_url: str, page: str
) -> None:
    at = open_page(page, silent_url, timeout_s=0.3)
    [error] = at.error
    assert "no answer within 0\\.3 s" in error.value
    assert not at.dataframe


def test_missing_api_key_asks_to_sign_in(
    open_page: OpenPage, keyed_collector: KeyedCollector
) -> None:
    at = open_page("overview", keyed_collector.url)
    [info] = at.info
    assert info.value.startswith("This collector needs an API key")
    assert [t.label for t in at.text_input] == ["API key"]
    assert not at.metric


def test_empty_collector_shows_zeros(open_page: OpenPage, keyed_collector: KeyedCollector) -> None:
    at = all_time(open_page, keyed_collector.url, api_key=keyed_collector.api_key)
    assert metrics(at)["Traces"] == "0"
    assert metrics(at)["Error rate"] == "n/a"
    assert not at.error


def test_failures_are_counted_by_root_cause_step(
    open_page: OpenPage, seeded_collector: SeededCollector
) -> None:
    at = all_time(open_page, seeded_collector.url)
    assert "Failures by root-cause step" in [h.value for h in at.subheader]
    frames = [f.value for f in at.dataframe if "failing traces" in f.value.columns]
    assert len(frames) == 1
    assert frames[0].to_dict("records") == [
        {"step": "failing tool", "kind": "tool", "failing traces": 1}
    ]
