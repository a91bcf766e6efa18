"""The Overview's headline tiles and score table and the Evaluators page's summary, checked
against SQL written here by hand over the same store (``POST /api/sql``), never against
constants: the page, the API and an independent query must say the same numbers.

The store holds nested usage (an agent reporting the sum of its two model calls, which must
not be counted again), failing tool spans, two projects, errored and label-only scores, and
people's verdicts (kind ``human``: in the Overview's trends, left out of the Evaluators page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.dashboard.overview_render import format_count, format_percent, format_usd
from loopwise.evals import EvalsExtension

OpenPage = Callable[..., AppTest]
SHOP, BATCH = "numbers-shop", "numbers-batch"
SHOP_TRACES, BATCH_TRACES = 8, 3

# Tiles from the raw spans (not the collector's ``traces`` summary): a span's usage counts
# unless a direct child in its trace reports the same field (then it is their sum).
TILES_SQL = """
SELECT
    count(DISTINCT trace_id) AS traces,
    count(*) AS spans,
    count(DISTINCT trace_id) FILTER (WHERE status = 'error') AS error_traces,
    count(*) FILTER (WHERE kind = 'llm') AS llm_calls,
    sum(total_tokens) FILTER (WHERE NOT EXISTS (
        SELECT 1 FROM spans c WHERE c.trace_id = s.trace_id
            AND c.parent_span_id = s.span_id AND c.total_tokens IS NOT NULL)) AS total_tokens,
    sum(input_tokens) FILTER (WHERE NOT EXISTS (
        SELECT 1 FROM spans c WHERE c.trace_id = s.trace_id
            AND c.parent_span_id = s.span_id AND c.input_tokens IS NOT NULL)) AS input_tokens,
    sum(output_tokens) FILTER (WHERE NOT EXISTS (
        SELECT 1 FROM spans c WHERE c.trace_id = s.trace_id
            AND c.parent_span_id = s.span_id AND c.output_tokens IS NOT NULL)) AS output_tokens,
    sum(cost_usd) FILTER (WHERE NOT EXISTS (
        SELECT 1 FROM spans c WHERE c.trace_id = s.trace_id
            AND c.parent_span_id = s.span_id AND c.cost_usd IS NOT NULL)) AS cost_usd
FROM spans s
WHERE {where}
"""

# Per evaluator, the Overview's documented rule: every score counts, errored ones against
# the pass rate; the mean is over decided scores; a label-only score counts in neither.
OVERVIEW_SCORES_SQL = """
SELECT name,
       count(*) AS scores,
       count(*) FILTER (WHERE status = 'errored') AS errored,
       avg(value) FILTER (WHERE status = 'ok') AS mean,
       count(*) FILTER (WHERE status = 'ok' AND passed = true)::DOUBLE
           / nullif(count(*) FILTER (WHERE status = 'errored' OR passed IS NOT NULL), 0)
           AS pass_rate
FROM scores WHERE {where}
GROUP BY name ORDER BY name
"""

# The Evaluators page: people's verdicts left out, ``scores`` the decided ones.
EVALUATOR_SCORES_SQL = """
SELECT name,
       count(*) FILTER (WHERE status = 'ok') AS scores,
       count(*) FILTER (WHERE status = 'errored') AS errored,
       avg(value) FILTER (WHERE status = 'ok') AS mean,
       count(*) FILTER (WHERE status = 'ok' AND passed = true)::DOUBLE
           / nullif(count(*) FILTER (WHERE status = 'errored' OR passed IS NOT NULL), 0)
           AS pass_rate
FROM scores WHERE kind <> 'human' AND {where}
GROUP BY name ORDER BY name
"""


@dataclass(frozen=True)
class Numbers:
    """A running collector, and SQL over its store."""

    url: str

    def sql(self, sql: str) -> list[dict[str, Any]]:
        """Rows of one read-only statement through /api/sql, as dicts."""
        answer = httpx.post(f"{self.url}/api/sql", json={"sql": sql}, timeout=30)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


def where(project: str | None) -> str:
    """A WHERE condition for one project, or every project."""
    return f"project = '{project}'" if project else "TRUE"


def _seed(url: str, spool: Path) -> dict[str, list[str]]:
    traces: dict[str, list[str]] = {SHOP: [], BATCH: []}
    for project, count in ((SHOP, SHOP_TRACES), (BATCH, BATCH_TRACES)):
        client = loopwise.Client()
        client.init(project, endpoint=url, batch=False, set_global=False, spool_dir=spool / project)
        for n in range(count):
            root = _shop_trace(client, n) if project == SHOP else _batch_trace(client, n)
            traces[project].append(root.trace_id)
        client.flush()
        client.shutdown()
    return traces


def _batch_trace(client: loopwise.Client, n: int) -> Any:
    """One model call at the root, its usage its own."""
    with client.span(f"summarize {n}", kind="llm") as call:
        call.set_output("summary")
        call.set_usage(
            input_tokens=1000 + n,
            output_tokens=40,
            total_tokens=1040 + n,
            model="gpt-b",
            cost_usd=0.01,
        )
    return call


def _shop_trace(client: loopwise.Client, n: int) -> Any:
    """An agent whose two model calls it also reports summed; every third one has a
    failing tool; one in four uses a chain span with usage over tool spans without."""
    usage = [(100 + n, 10, 0.001 * (n + 1)), (50 + 2 * n, 5, 0.0005)]
    with client.span(f"triage {n}", kind="agent") as root:
        for number, (inputs, outputs, cost) in enumerate(usage):
            with client.span(f"call {number}", kind="llm") as call:
                call.set_usage(
                    input_tokens=inputs,
                    output_tokens=outputs,
                    total_tokens=inputs + outputs,
                    model="gpt-a",
                    cost_usd=cost,
                )
        if n % 4 == 0:
            with client.span("plan", kind="chain") as plan:
                plan.set_usage(input_tokens=7, output_tokens=3, total_tokens=10, cost_usd=0.0001)
                with client.span("lookup", kind="tool"):
                    pass
        if n % 3 == 0:
            with client.span("failing tool", kind="tool") as tool:
                tool.record_error(ValueError(f"lookup {n} failed"))
        root.set_usage(
            input_tokens=sum(u[0] for u in usage),
            output_tokens=sum(u[1] for u in usage),
            total_tokens=sum(u[0] + u[1] for u in usage),
            cost_usd=sum(u[2] for u in usage),
        )
    return root


def _scores(traces: dict[str, list[str]]) -> list[ScoreRow]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows: list[ScoreRow] = []
    for n, trace in enumerate(traces[SHOP]):
        at = now - dt.timedelta(minutes=60 - n)
        if n == 6:
            rows.append(
                ScoreRow(SHOP, trace, "helpfulness", "llm", "judge", status="errored", error="x")
            )
        else:
            rows.append(
                ScoreRow(
                    SHOP, trace, "helpfulness", "llm", "judge", value=n / 7, passed=n / 7 >= 0.5
                )
            )
        rows.append(
            ScoreRow(
                SHOP,
                trace,
                "valid_json",
                "code",
                "valid_json",
                value=float(n % 2 == 0),
                passed=n % 2 == 0,
                created_at=at,
            )
        )
        rows.append(ScoreRow(SHOP, trace, "tone", "code", "tone", label="friendly", created_at=at))
    for trace in traces[SHOP][:2]:  # people's verdicts on the judge's question
        rows.append(
            ScoreRow(SHOP, trace, "helpfulness", "human", "reviewer", value=1.0, passed=True)
        )
    for trace in traces[BATCH]:
        rows.append(ScoreRow(BATCH, trace, "helpfulness", "llm", "judge", value=0.9, passed=True))
    return rows


@pytest.fixture(scope="module")
def numbers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Numbers]:
    """The seeded collector (spans over OTLP, scores appended between two runs), hosting the
    evaluation API for /api/scores."""
    tmp = tmp_path_factory.mktemp("numbers")
    db = tmp / "n.duckdb"
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        traces = _seed(server.url, tmp / "spool")
    with Store(db) as store:
        append_scores(store, _scores(traces))
    config = CollectorConfig(db_path=db, port=0)
    with CollectorServer(config, extensions=[EvalsExtension(online=False)]) as server:
        yield Numbers(server.url)


def overview(at: AppTest, project: str | None) -> AppTest:
    """The Overview over all time, for one project or all of them."""
    at.selectbox(key="overview.range").set_value("All time").run()
    at.selectbox(key="overview.project").set_value(project).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("project", [None, SHOP, BATCH], ids=["all", "shop", "batch"])
def test_overview_tiles_match_sql_over_the_spans(
    open_page: OpenPage, numbers: Numbers, project: str | None
) -> None:
    [hand] = numbers.sql(TILES_SQL.format(where=where(project)))
    assert hand["traces"] == (SHOP_TRACES if project != BATCH else 0) + (
        BATCH_TRACES if project != SHOP else 0
    )
    params = {"project": project} if project else {}
    totals = httpx.get(f"{numbers.url}/api/overview", params=params).json()["totals"]
    for name in ("traces", "spans", "error_traces", "llm_calls", "total_tokens"):
        assert totals[name] == hand[name], name
    for name in ("input_tokens", "output_tokens"):
        assert totals[name] == hand[name], name
    assert totals["cost_usd"] == pytest.approx(hand["cost_usd"])
    assert totals["error_rate"] == pytest.approx(hand["error_traces"] / hand["traces"])

    at = overview(open_page("overview", numbers.url), project)
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Traces"] == format_count(hand["traces"])
    assert tiles["Error rate"] == format_percent(hand["error_traces"] / hand["traces"])
    assert tiles["Tokens"] == format_count(hand["total_tokens"])
    assert tiles["Cost"] == format_usd(hand["cost_usd"])
    tokens_help = next(m.help for m in at.metric if m.label == "Tokens")
    assert tokens_help.startswith(
        f"{format_count(hand['input_tokens'])} in, {format_count(hand['output_tokens'])} out, "
        f"over {format_count(hand['llm_calls'])} LLM calls"
    )


def test_the_nested_usage_is_counted_once(numbers: Numbers) -> None:
    """The hand SQL itself: the agents' sums are left out, the chain over tools is not."""
    [naive] = numbers.sql(f"SELECT sum(total_tokens) AS t FROM spans WHERE {where(SHOP)}")
    [hand] = numbers.sql(TILES_SQL.format(where=where(SHOP)))
    calls = sum(100 + n + 10 + 50 + 2 * n + 5 for n in range(SHOP_TRACES))
    plans = 10 * len(range(0, SHOP_TRACES, 4))
    assert hand["total_tokens"] == calls + plans
    assert naive["t"] == 2 * calls + plans


@pytest.mark.parametrize("project", [None, SHOP], ids=["all", "shop"])
def test_overview_score_table_matches_sql(
    open_page: OpenPage, numbers: Numbers, project: str | None
) -> None:
    hand = {
        row["name"]: row for row in numbers.sql(OVERVIEW_SCORES_SQL.format(where=where(project)))
    }
    params = {"project": project} if project else {}
    answered = httpx.get(f"{numbers.url}/api/overview/scores", params=params).json()
    at = overview(open_page("overview", numbers.url), project)
    [table] = [f.value for f in at.dataframe if "pass rate" in f.value.columns]
    shown = {row["evaluator"]: row for row in table.to_dict("records")}
    assert set(shown) == set(hand) == {e["name"] for e in answered["evaluators"]}
    for name, row in hand.items():
        api = next(e for e in answered["evaluators"] if e["name"] == name)
        for field, column in (("scores", "scores"), ("errored", "errored runs")):
            assert api[field] == row[field] == shown[name][column], (name, field)
        for field, column in (("mean", "mean score"), ("pass_rate", "pass rate")):
            if row[field] is None:
                assert api[field] is None and shown[name][column] != shown[name][column]  # NaN
            else:
                assert api[field] == pytest.approx(row[field]), (name, field)
                assert shown[name][column] == pytest.approx(row[field]), (name, field)
    assert hand["tone"]["mean"] is None and hand["tone"]["pass_rate"] is None  # labels only


@pytest.mark.parametrize("project", [None, SHOP], ids=["all", "shop"])
def test_evaluators_summary_matches_sql(
    open_page: OpenPage, numbers: Numbers, project: str | None
) -> None:
    hand = {
        row["name"]: row for row in numbers.sql(EVALUATOR_SCORES_SQL.format(where=where(project)))
    }
    at = open_page("evaluators", numbers.url)
    if project:
        at.text_input(key="evaluators.project").input(project).run()
    assert not at.exception
    summary = at.dataframe[0].value
    shown = {row["evaluator"]: row for row in summary.to_dict("records")}
    assert set(shown) == set(hand)
    for name, row in hand.items():
        assert (shown[name]["scores"], shown[name]["errored"]) == (row["scores"], row["errored"])
        for field, column in (("mean", "mean"), ("pass_rate", "pass rate")):
            if row[field] is None:
                assert shown[name][column] is None or shown[name][column] != shown[name][column]
            else:
                assert shown[name][column] == pytest.approx(row[field]), (name, field)
    # People's verdicts are the calibration's side: the Overview counts them, this page not.
    [everyone] = numbers.sql(
        f"SELECT count(*) AS n FROM scores WHERE name = 'helpfulness' AND {where(project)}"
    )
    assert hand["helpfulness"]["scores"] + hand["helpfulness"]["errored"] < everyone["n"]
