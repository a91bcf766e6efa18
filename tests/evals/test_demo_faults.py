"""The default evaluator set against the demo: every injected fault opens a flag, and clean
model calls stay (almost) unflagged.

The llm spans' metadata ``injected_faults`` is the answer key; evaluators never read it.
Latency needs real time, so slow calls are checked on a second project run at half the
demo's real latency (normal calls 15-45 ms, slow ones 200-450 ms).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

import loopwise
from loopwise.collector.server import CollectorServer
from loopwise.demo import run_traffic

CAUGHT_BY = {
    "invalid_json": "valid_json_failed",
    "invented_order_id": "invented_identifiers_failed",
    "refusal": "refusal_failed",
    "model_error": "error_status_failed",
    "slow_call": "latency_anomaly",
}


def send_demo(
    url: str, project: str, count: int, time_scale: float, seed: int, spool: Path
) -> None:
    client = loopwise.Client()
    client.init(project, endpoint=url, batch=True, set_global=False, spool_dir=spool)
    run_traffic(client, count=count, time_scale=time_scale, interval_s=0, seed=seed)
    client.shutdown()


def answer_key(call: dict[str, Any]) -> list[str]:
    """The faults injected into one model call. A call that failed never got to record its
    answer key: its span ended in error, which is the injected model error."""
    recorded = json.loads(call["metadata"] or "{}").get("injected_faults")
    if recorded is None:
        assert call["status"] == "error", call
        return ["model_error"]
    return list(recorded)


def all_flags(url: str) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    while True:
        page = httpx.get(url + "/api/flags", params={"limit": 1000, "offset": len(flags)}).json()
        flags += page["flags"]
        if len(flags) >= page["total"] or not page["flags"]:
            return flags


def model_calls(url: str) -> list[dict[str, Any]]:
    sql = "select project, span_id, name, status, metadata from spans where kind = 'llm'"
    payload = httpx.post(url + "/api/sql", json={"sql": sql}).json()
    rows = [dict(zip(payload["columns"], row, strict=True)) for row in payload["rows"]]
    assert not payload["truncated"]
    return rows


def test_default_set_flags_every_injected_fault(
    evals_collector: Callable[..., CollectorServer],
    wait_scored: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    server = evals_collector()
    send_demo(server.url, "support-bot", 200, 0.0, 7, tmp_path / "spool-a")
    send_demo(server.url, "support-bot-timed", 40, 0.5, 11, tmp_path / "spool-b")
    wait_scored(server.url, timeout_s=120)

    rules_by_span: dict[str, set[str]] = defaultdict(set)
    flags = all_flags(server.url)
    for flag in flags:
        rules_by_span[flag["span_id"]].add(flag["rule"])
    missed: list[tuple[str, str]] = []
    caught: Counter[str] = Counter()
    clean_calls = clean_flagged = 0
    for call in model_calls(server.url):
        faults = answer_key(call)
        timed = call["project"] == "support-bot-timed"
        expected = {CAUGHT_BY[f] for f in faults if f != "slow_call" or timed}
        got = rules_by_span.get(call["span_id"], set())
        for rule in expected - got:
            missed.append((call["name"], rule))
        caught.update(expected & got)
        if not faults:
            clean_calls += 1
            clean_flagged += bool(got)
    assert not missed, f"faults without a flag: {missed}"
    assert set(caught) == set(CAUGHT_BY.values()), caught  # every kind of fault occurred

    flagged_ids = set(rules_by_span)
    call_ids = {c["span_id"] for c in model_calls(server.url)}
    other_flags = [f for f in flags if f["span_id"] not in call_ids]
    print(
        f"\ndemo faults caught: {dict(caught)}; clean model calls flagged: "
        f"{clean_flagged}/{clean_calls}; flags on other spans: {len(other_flags)}; "
        f"spans flagged: {len(flagged_ids)}"
    )
    assert clean_flagged <= 0.02 * clean_calls, f"{clean_flagged}/{clean_calls} clean calls flagged"
    assert all(f["rule"] in ("error_status_failed", "latency_anomaly") for f in other_flags)
