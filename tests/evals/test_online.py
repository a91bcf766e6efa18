"""Online scoring inside a real collector: scores, flags, status, restarts, selectors, config."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopwise
from loopwise.collector.server import CollectorServer
from loopwise.collector.store import Store
from loopwise.evals import (
    ConfigError,
    EvalsExtension,
    Registry,
    Score,
    SpanView,
    config_from_mapping,
    default_registry,
    evaluator,
    in_sample,
    load_config,
)
from loopwise.testing import OpenAIStub

Start = Callable[..., CollectorServer]
Wait = Callable[..., dict[str, Any]]
MakeClient = Callable[[str, str], loopwise.Client]


def send_reply(client: loopwise.Client, question: str, reply: str, *, error: bool = False) -> str:
    """One trace: a chain with an llm span answering ``question``; returns the trace id."""
    with client.span("triage", kind="chain") as root:
        root.set_input(question)
        try:
            with client.span("draft_reply", kind="llm") as llm:
                llm.set_input(f"Answer the customer.\n\n{question}")
                llm.set_usage(input_tokens=40, output_tokens=12, model="m")
                if error:
                    raise RuntimeError("upstream 503: service unavailable")
                llm.set_output(reply)
        except RuntimeError:
            pass
        root.set_output(reply)
        return root.trace_id


def get(url: str, path: str, **params: Any) -> Any:
    response = httpx.get(url + path, params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_scores_flags_and_status(
    evals_collector: Start, sdk_client: MakeClient, wait_scored: Wait
) -> None:
    server = evals_collector()
    client = sdk_client(server.url, "shop")
    good = send_reply(client, "Where is ORD-10234?", "Order ORD-10234 ships tomorrow.")
    refused = send_reply(client, "Refund please", "I'm sorry, but I can't help with that request.")
    invented = send_reply(client, "Where is my parcel?", "Your order ORD-99999 was delivered.")
    failed = send_reply(client, "Hello?", "", error=True)
    client.flush()
    status = wait_scored(server.url, spans=8)
    by_name = {e["evaluator"]: e for e in status["evaluators"]}
    assert by_name["refusal"]["scored"] == 3 and by_name["refusal"]["backlog"] == 0
    assert by_name["error_status"]["scored"] == 4 and by_name["error_status"]["flagged"] == 1
    assert status["running"] and status["config"] == "default"

    flags = get(server.url, "/api/flags", project="shop")
    rules = {(f["trace_id"], f["rule"]) for f in flags["flags"]}
    assert rules == {
        (refused, "refusal_failed"),
        (invented, "invented_identifiers_failed"),
        (failed, "error_status_failed"),
    }
    assert flags["total"] == 3
    flag = next(f for f in flags["flags"] if f["rule"] == "refusal_failed")
    assert flag["severity"] == "medium" and flag["span_name"] == "draft_reply"
    assert flag["reason"].startswith("refusal failed: the model refused:")
    assert flag["output_preview"].startswith("I'm sorry")
    high = get(server.url, "/api/flags", severity="high", limit=1)
    assert high["total"] == 2 and len(high["flags"]) == 1
    assert get(server.url, "/api/flags", rule="refusal_failed")["total"] == 1
    assert get(server.url, "/api/flags", status="open")["total"] == 3
    assert get(server.url, "/api/flags", status="resolved")["flags"] == []

    scores = get(server.url, "/api/scores", trace_id=good)["scores"]
    assert {s["name"] for s in scores} >= {"refusal", "error_status", "invented_identifiers"}
    assert all(s["passed"] is not False for s in scores)
    refusal = get(server.url, "/api/scores", trace_id=refused, name="refusal")["scores"]
    assert [(s["passed"], s["kind"], s["evaluator_version"]) for s in refusal] == [
        (False, "code", "1")
    ]
    span_scores = get(server.url, "/api/scores", span_id=refusal[0]["span_id"])
    assert span_scores["total"] >= 3


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/flags", {"severity": "urgent"}, "severity must be 'low', 'medium' or 'high'"),
        ("/api/flags", {"limit": "0"}, "limit must be between 1 and 1000"),
        ("/api/flags", {"offset": "x"}, "offset must be an integer"),
        ("/api/scores", {"trace_id": "not-hex"}, "trace_id must be 32 hex characters"),
        ("/api/scores", {"span_id": "abc"}, "span_id must be 16 hex characters"),
    ],
)
def test_bad_query_parameters_get_400(
    evals_collector: Start, path: str, params: dict[str, str], message: str
) -> None:
    server = evals_collector(online=False)
    response = httpx.get(server.url + path, params=params)
    assert response.status_code == 400 and message in response.json()["error"]


def test_restart_never_double_scores(
    evals_collector: Start, sdk_client: MakeClient, wait_scored: Wait, tmp_path: Path
) -> None:
    server = evals_collector(db_name="restart.duckdb")
    client = sdk_client(server.url, "restart")
    for i in range(5):
        send_reply(client, f"Question {i}", "I'm sorry, but I can't assist with that.")
    client.flush()
    first = wait_scored(server.url, spans=10)
    server.stop()

    with Store(tmp_path / "restart.duckdb") as store:
        counted = store.query("SELECT name, count(*) FROM scores GROUP BY 1 ORDER BY 1").rows
        flags = store.query("SELECT count(*) FROM flags").rows[0][0]
    assert dict(counted)["refusal"] == 5 and flags == 5

    again = evals_collector(db_name="restart.duckdb")
    status = wait_scored(again.url, spans=10)
    assert status["backlog"] == 0
    same = {e["key"]: e["watermark"] for e in status["evaluators"]}
    assert same == {e["key"]: e["watermark"] for e in first["evaluators"]}
    client = sdk_client(again.url, "restart")
    send_reply(client, "One more", "I'm sorry, but I can't assist with that.")
    client.flush()
    wait_scored(again.url, spans=12)
    scores = get(again.url, "/api/scores", name="refusal", project="restart")
    assert scores["total"] == 6
    assert get(again.url, "/api/flags", project="restart")["total"] == 6


def test_selectors_sample_deterministically(
    evals_collector: Start, sdk_client: MakeClient, wait_scored: Wait
) -> None:
    config = config_from_mapping(
        {
            "evaluators": [
                {"use": "refusal", "select": {"name": "draft_*", "sample_rate": 0.5}},
                {"use": "error_status", "select": {"kind": ["chain"], "project": "elsewhere"}},
            ]
        }
    )
    server = evals_collector(config)
    client = sdk_client(server.url, "sampled")
    traces = [send_reply(client, f"Q{i}", "fine") for i in range(40)]
    client.flush()
    wait_scored(server.url, spans=80)
    scored = {s["trace_id"] for s in get(server.url, "/api/scores", limit=1000)["scores"]}
    assert scored == {t for t in traces if in_sample(t, 0.5)}
    assert 5 < len(scored) < 35
    status = get(server.url, "/api/evals/status")
    assert status["evaluators"][1]["processed"] == 0  # no spans of project "elsewhere"


@evaluator(name="flaky")
def flaky(span: SpanView) -> Score:
    if "explode" in (span.output or ""):
        raise ValueError("cannot read this output")
    return Score(passed=True)


def test_failing_evaluator_shows_in_status_and_work_goes_on(
    evals_collector: Start, sdk_client: MakeClient, wait_scored: Wait
) -> None:
    registry = Registry(load_entry_points=False)
    registry.register(flaky)
    config = config_from_mapping(
        {"evaluators": [{"use": "flaky", "select": {"kind": "llm"}, "flag": "low"}]}, registry
    )
    server = evals_collector(config, registry=registry)
    client = sdk_client(server.url, "flaky")
    send_reply(client, "a", "explode please")
    send_reply(client, "b", "calm answer")
    client.flush()
    status = wait_scored(server.url, spans=4)
    [entry] = status["evaluators"]
    assert entry["scored"] == 2 and "cannot read this output" in entry["last_error"]
    scores = get(server.url, "/api/scores", name="flaky")["scores"]
    assert sorted(s["status"] for s in scores) == ["errored", "ok"]
    assert get(server.url, "/api/flags")["total"] == 0  # an errored score is not a failure


def test_judge_online_records_its_own_spans(
    evals_collector: Start, sdk_client: MakeClient, wait_scored: Wait
) -> None:
    verdict = '{"explanation": "rude", "label": "toxic", "score": 0.9}'
    with OpenAIStub(responder=lambda request: verdict) as stub:
        config = config_from_mapping(
            {
                "evaluators": [
                    {
                        "use": "toxicity_judge",
                        "params": {"base_url": stub.base_url, "model": "judge-1", "api_key": "k"},
                        "select": {"kind": "llm"},
                        "flag": "high",
                    },
                    {"use": "error_status"},
                ]
            }
        )
        server = evals_collector(config)
        client = sdk_client(server.url, "judged")
        trace = send_reply(client, "Hi", "Go away.")
        client.flush()
        wait_scored(server.url, spans=2)
        judge_spans: list[Any] = []
        for _ in range(200):  # the judge's own span arrives through the collector's writer
            judge_spans = httpx.post(
                server.url + "/api/sql",
                json={
                    "sql": "select name, project, input_tokens, cost_usd from spans "
                    "where kind = 'evaluator'"
                },
            ).json()["rows"]
            if judge_spans:
                break
            wait_scored(server.url)
        assert judge_spans == [["judge toxicity", "judged", judge_spans[0][2], None]]
        assert judge_spans[0][2] > 0
        wait_scored(server.url, spans=3)
        # The judge's span is stored but not scored by the other evaluators.
        assert get(server.url, "/api/scores", name="error_status")["total"] == 2
        [score] = get(server.url, "/api/scores", name="toxicity_judge")["scores"]
        assert (score["kind"], score["label"], score["passed"]) == ("llm", "toxic", False)
        [flag] = get(server.url, "/api/flags", rule="toxicity_judge_failed")["flags"]
        assert flag["trace_id"] == trace


def test_config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "evals.toml"
    good.write_text(
        """
        [settings]
        include_defaults = true
        batch_size = 500

        [[evaluators]]
        use = "regex"
        name = "mentions_order"
        params = { pattern = "ORD-\\\\d+" }
        select = { kind = "llm", tags = ["prod"] }
        flag = "low"

        [[rules]]
        type = "threshold"
        evaluator = "mentions_order"
        when = "below"
        value = 1
        severity = "medium"
        """
    )
    config = load_config(good)
    assert config.batch_size == 500 and config.bindings[-1].evaluator.name == "mentions_order"
    assert len(config.bindings) == 7 and {r.name for r in config.threshold_rules} >= {
        "mentions_order_failed",
        "mentions_order_below",
        "refusal_failed",
    }
    monkeypatch.setenv("LOOPWISE_EVALS", str(good))
    assert EvalsExtension().config().source == str(good)

    for text, message in (
        ("[[evaluators]]\nuse = 'nope'", "evaluators[0] (nope): no evaluator named 'nope'"),
        ("[[evaluators]]\nuse = 'refusal'\nselect = { kind = 'llmm' }", "unknown span kind"),
        ("[[evaluators]]\nuse = 'regex'", "bad options for evaluator regex"),
        ("[[evaluators]]\nuse = 'refusal'\nflag = 'critical'", "severity must be low"),
        ("[[rules]]\ntype = 'anomaly'\nmetric = 'mood'", "metric must be one of"),
        ("[[rules]]\nevaluator = 'refusal'\nwhen = 'below'", "needs a numeric value"),
        ("[settings]\nbatch_size = 0", "settings.batch_size: must be a positive number"),
        ("[[evaluators]]\nuse = 'refusal'\ncolour = 'red'", "unknown key 'colour'"),
        ("not toml = = =", "is not valid TOML"),
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(bad, default_registry())
    monkeypatch.setenv("LOOPWISE_EVALS", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="cannot read evaluation config"):
        EvalsExtension()


def test_evaluator_listing_and_status_without_the_worker(evals_collector: Start) -> None:
    server = evals_collector(online=False)
    listed = {e["name"]: e for e in get(server.url, "/api/evals/evaluators")["evaluators"]}
    assert listed["regex"]["options"][0] == {
        "name": "pattern",
        "type": "str",
        "required": True,
        "default": None,
    }
    assert listed["faithfulness_judge"]["kind"] == "llm"
    status = get(server.url, "/api/evals/status")
    assert status["running"] is False and len(status["evaluators"]) == 6
    assert {r["rule"] for r in status["rules"]} == {
        "latency_anomaly",
        "token_anomaly",
        "cost_anomaly",
    }
