"""The demo workflow, traced through real SDK clients into a testing exporter or a DuckDB file."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

import loopwise
from loopwise.collector.store import Store
from loopwise.demo import (
    CATEGORIES,
    DemoSummary,
    FakeModel,
    Fault,
    FaultRates,
    ModelError,
    TraceOutcome,
    load_kb,
    load_tickets,
    parse_classification,
    run_ticket,
    run_traffic,
)

PROJECT = "support-bot"
NO_FAULTS = FaultRates(invalid_json=0, invented_order_id=0, refusal=0, slow_call=0, model_error=0)
ORDER_ID = re.compile(r"ORD-\d{5}")
Row = dict[str, Any]


def only(**rates: float) -> FaultRates:
    """Fault rates that are all zero except ``rates``."""
    return dataclasses.replace(NO_FAULTS, **rates)


def traced_client() -> tuple[loopwise.Client, loopwise.TestingExporter]:
    exporter = loopwise.TestingExporter()
    client = loopwise.Client()
    client.init(
        project=PROJECT,
        exporter=exporter,
        batch=False,
        set_global=False,
        id_generator=loopwise.SequentialIdGenerator(),
        clock=loopwise.TickingClock(),
    )
    return client, exporter


def run(
    count: int, *, seed: int = 7, rates: FaultRates | None = None
) -> tuple[list[TraceOutcome], dict[str, dict[str, Row]], DemoSummary]:
    """Run ``count`` traces; return outcomes, rows by trace id then span name, and summary."""
    client, exporter = traced_client()
    outcomes: list[TraceOutcome] = []
    summary = run_traffic(
        client,
        count=count,
        interval_s=0,
        seed=seed,
        time_scale=0,
        rates=rates,
        on_trace=outcomes.append,
    )
    traces: dict[str, dict[str, Row]] = defaultdict(dict)
    for row in exporter.rows(PROJECT):
        traces[row["trace_id"]][row["name"]] = row
    client.shutdown()
    return outcomes, traces, summary


def tickets_by_id() -> dict[str, Any]:
    return {ticket["id"]: ticket for ticket in load_tickets()}


def retrieved_text(trace: dict[str, Row]) -> str:
    kb = {article["id"]: article for article in load_kb()}
    ids = [item["id"] for item in json.loads(trace["retrieve"]["output"])]
    return " ".join(f"{kb[i]['title']} {kb[i]['text']}" for i in ids)


def test_shipped_dataset_is_consistent() -> None:
    tickets, kb = load_tickets(), load_kb()
    assert len(tickets) == 40 and len({t["id"] for t in tickets}) == 40
    assert len(kb) == 15 and {a["category"] for a in kb} == set(CATEGORIES)
    for ticket in tickets:
        assert ticket["expected_category"] in CATEGORIES
        assert ticket["expected_reply_points"]
        assert ORDER_ID.findall(f"{ticket['subject']} {ticket['body']}") == (
            [ticket["order_id"]] if ticket["order_id"] else []
        )
    assert not any(ORDER_ID.search(article["text"]) for article in kb)


def test_each_trace_is_four_nested_spans_with_kinds_usage_and_context() -> None:
    outcomes, traces, _ = run(12, rates=NO_FAULTS)
    tickets = tickets_by_id()
    assert len(traces) == 12
    for outcome in outcomes:
        assert outcome.trace_id is not None
        spans = traces[outcome.trace_id]
        assert set(spans) == {"triage_ticket", "classify", "retrieve", "draft_reply"}
        root = spans["triage_ticket"]
        assert (root["kind"], root["parent_span_id"], root["status"]) == ("chain", None, "ok")
        for name, kind in (("classify", "llm"), ("retrieve", "retriever"), ("draft_reply", "llm")):
            assert spans[name]["kind"] == kind
            assert spans[name]["parent_span_id"] == root["span_id"]
        for name in ("classify", "draft_reply"):
            llm = spans[name]
            assert (llm["model"], llm["provider"]) == ("shopgpt-mini", "loopwise-fake")
            assert llm["input_tokens"] > 0 and llm["output_tokens"] > 0
            assert llm["total_tokens"] == llm["input_tokens"] + llm["output_tokens"]
            assert llm["cost_usd"] > 0
        ticket = tickets[outcome.ticket_id]
        assert root["input"] == f"{ticket['subject']}\n\n{ticket['body']}"
        assert root["output"] == spans["draft_reply"]["output"] == outcome.reply
        assert root["user_id"] == ticket["customer"]
        assert root["session_id"].startswith("session-")
        assert json.loads(root["metadata"])["ticket_id"] == ticket["id"]
        articles = json.loads(spans["retrieve"]["output"])
        assert articles and all(set(item) == {"id", "title"} for item in articles)


def test_good_calls_classify_right_and_reply_with_the_real_order_id() -> None:
    outcomes, traces, _ = run(40, rates=NO_FAULTS)
    tickets = tickets_by_id()
    assert {o.ticket_id for o in outcomes} == set(tickets)
    for outcome in outcomes:
        assert outcome.trace_id is not None and outcome.reply is not None
        ticket = tickets[outcome.ticket_id]
        answer = json.loads(traces[outcome.trace_id]["classify"]["output"])
        assert answer["category"] == outcome.category == ticket["expected_category"]
        assert answer["priority"] in ("low", "normal", "high")
        assert answer["category"] in traces[outcome.trace_id]["triage_ticket"]["tags"]
        assert outcome.reply.startswith(f"Hi {ticket['customer'].split()[0]},")
        order_id = ticket["order_id"]
        assert ORDER_ID.findall(outcome.reply) == ([order_id] if order_id else [])


def test_same_seed_same_run_and_another_seed_moves_the_faults() -> None:
    first, first_traces, _ = run(60, seed=11)
    second, second_traces, _ = run(60, seed=11)
    other, _, _ = run(60, seed=12)
    assert first == second

    def outputs(traces: dict[str, dict[str, Row]]) -> list[tuple[str, str, str | None]]:
        return sorted(
            (trace_id, name, row["output"])
            for trace_id, spans in traces.items()
            for name, row in spans.items()
        )

    assert outputs(first_traces) == outputs(second_traces)
    assert [(o.ticket_id, o.faults) for o in first] != [(o.ticket_id, o.faults) for o in other]


def test_every_fault_appears_near_its_configured_rate() -> None:
    rates = FaultRates()
    outcomes, traces, summary = run(240, rates=rates)
    assert summary.traces == 240
    assert set(summary.faults) == set(Fault)
    content_faults = (Fault.INVALID_JSON, Fault.INVENTED_ORDER_ID, Fault.REFUSAL)
    for fault in Fault:
        expected = rates.rate(fault)
        if fault in content_faults:
            expected *= 1 - rates.model_error  # a failed call has no text to spoil
        assert summary.fault_rate(fault) == pytest.approx(expected, abs=0.05), fault
    # The answer key on the llm spans agrees with what the run reports.
    recorded: Counter[str] = Counter()
    for spans in traces.values():
        for name in ("classify", "draft_reply"):
            if name in spans and spans[name]["metadata"]:
                recorded.update(json.loads(spans[name]["metadata"]).get("injected_faults", []))
    for fault in content_faults:
        assert recorded[fault.value] == summary.faults[fault]
    assert summary.errors == sum(not o.ok for o in outcomes) == summary.faults[Fault.MODEL_ERROR]


def test_invalid_classification_falls_back_to_unknown_and_the_trace_completes() -> None:
    outcomes, traces, _ = run(10, rates=only(invalid_json=1))
    for outcome in outcomes:
        assert outcome.trace_id is not None and outcome.ok
        assert outcome.faults == (Fault.INVALID_JSON,) and outcome.category == "unknown"
        spans = traces[outcome.trace_id]
        assert not parse_classification(spans["classify"]["output"]).valid
        assert spans["triage_ticket"]["status"] == "ok"
        assert "unknown" in spans["triage_ticket"]["tags"]
        assert spans["draft_reply"]["output"] == outcome.reply


def test_invented_order_ids_appear_nowhere_in_ticket_or_context() -> None:
    outcomes, traces, _ = run(40, rates=only(invented_order_id=1))
    tickets = tickets_by_id()
    for outcome in outcomes:
        assert outcome.trace_id is not None and outcome.reply is not None
        ticket = tickets[outcome.ticket_id]
        known = f"{ticket['subject']} {ticket['body']} {retrieved_text(traces[outcome.trace_id])}"
        invented = ORDER_ID.findall(outcome.reply)
        assert invented and all(order_id not in known for order_id in invented)


def test_refusals_are_short_and_answer_nothing() -> None:
    outcomes, _, _ = run(10, rates=only(refusal=1))
    for outcome in outcomes:
        assert outcome.faults == (Fault.REFUSAL,) and outcome.reply is not None
        assert "can't" in outcome.reply or "not able" in outcome.reply
        assert not ORDER_ID.search(outcome.reply) and len(outcome.reply) < 80


def test_slow_calls_are_marked_without_sleeping_at_time_scale_zero() -> None:
    _, traces, summary = run(5, rates=only(slow_call=1))
    assert summary.faults[Fault.SLOW_CALL] == 10
    for spans in traces.values():
        metadata = json.loads(spans["classify"]["metadata"])
        assert metadata["injected_faults"] == ["slow_call"]
        assert metadata["simulated_latency_s"] >= 0.4


def test_model_errors_fail_the_trace_and_the_traffic_goes_on() -> None:
    outcomes, traces, summary = run(30, rates=only(model_error=0.4))
    failed = [o for o in outcomes if not o.ok]
    assert summary.traces == 30 and summary.errors == len(failed) > 0
    first_failure = outcomes.index(failed[0])
    assert any(o.ok for o in outcomes[first_failure + 1 :])
    for outcome in failed:
        assert outcome.trace_id is not None and outcome.error is not None
        assert Fault.MODEL_ERROR in outcome.faults and outcome.reply is None
        spans = traces[outcome.trace_id]
        root = spans["triage_ticket"]
        assert root["status"] == "error"
        assert root["status_message"].startswith("ModelError: upstream")
        failing_call = spans.get("draft_reply") or spans["classify"]
        assert failing_call["status"] == "error"


def test_run_ticket_lets_the_model_error_propagate_with_its_trace_id() -> None:
    client, exporter = traced_client()
    model = FakeModel(3, rates=only(model_error=1), time_scale=0)
    with pytest.raises(ModelError) as raised:
        run_ticket(client, model, load_tickets()[0], load_kb())
    rows = exporter.rows(PROJECT)
    assert {row["name"]: row["status"] for row in rows} == {
        "triage_ticket": "error",
        "classify": "error",
    }
    assert raised.value.trace_id == rows[0]["trace_id"]


def test_stop_ends_an_endless_run() -> None:
    client, _ = traced_client()
    stop = threading.Event()
    seen: list[TraceOutcome] = []

    def stop_after_three(outcome: TraceOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 3:
            stop.set()

    summary = run_traffic(
        client, count=None, interval_s=0, time_scale=0, stop=stop, on_trace=stop_after_three
    )
    assert summary.traces == len(seen) == 3


def test_a_summary_passed_in_keeps_the_counts_of_an_interrupted_run() -> None:
    client, _ = traced_client()
    summary = DemoSummary()

    def interrupt_at_the_fourth(outcome: TraceOutcome) -> None:
        if summary.traces == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_traffic(
            client, interval_s=0, time_scale=0, on_trace=interrupt_at_the_fourth, summary=summary
        )
    assert summary.traces == 4 and summary.model_calls["classify"] == 4


@pytest.mark.timeout(30)  # an uninterruptible pause would hang for an hour
def test_stop_interrupts_the_pause_between_traces() -> None:
    client, _ = traced_client()
    stop = threading.Event()
    summary = run_traffic(
        client,
        count=None,
        interval_s=3600,
        time_scale=0,
        stop=stop,
        on_trace=lambda _: threading.Timer(0.01, stop.set).start(),  # fires during the pause
    )
    assert summary.traces == 1


def test_traces_land_in_a_local_duckdb_file(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    client = loopwise.Client()
    client.init(project=PROJECT, db=db, batch=False, set_global=False)
    summary = run_traffic(client, count=3, interval_s=0, time_scale=0, rates=NO_FAULTS)
    client.shutdown()
    with Store(db, read_only=True) as store:
        result = store.query(
            "select name, kind, count(*) as spans, count(distinct trace_id) as traces "
            "from spans where project = ? group by name, kind order by name",
            [PROJECT],
        )
    assert summary.traces == 3
    assert result.rows == [
        ("classify", "llm", 3, 3),
        ("draft_reply", "llm", 3, 3),
        ("retrieve", "retriever", 3, 3),
        ("triage_ticket", "chain", 3, 3),
    ]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ('{"category": "billing", "priority": "high"}', "billing"),
        ('{"category": "bill', "unknown"),
        ('Sure! Here it is:\n{"category": "billing", "priority": "high"}', "unknown"),
        ('```json\n{"category": "billing"}\n```', "unknown"),
        ('{"category": "weather", "priority": "low"}', "unknown"),
        ("[1, 2]", "unknown"),
    ],
)
def test_parse_classification_is_strict(text: str, category: str) -> None:
    assert parse_classification(text).category == category
