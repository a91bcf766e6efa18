"""Token and cost totals count each model call once when a parent span reports the sum of
its children (the Vercel AI SDK's ``ai.generateText`` over ``doGenerate``, pydantic-ai's
agent run): the trace list, sessions, users, the Overview and the trace view, all read
from a real collector over HTTP."""

from __future__ import annotations

from typing import Any

from loopwise.collector.sdk.testing import FIXED_EPOCH_NS as EPOCH_NS
from loopwise.dashboard import CollectorAPI
from loopwise.dashboard.render import flatten_tree
from loopwise.dashboard.trace_summary import summarize

MS = 1_000_000


def usage(input_tokens: int, output_tokens: int, cost: float) -> dict[str, object]:
    """OTel GenAI usage attributes and a reported cost."""
    return {
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "llm.cost.total": cost,
    }


def send_aggregating_trace(api: Any, otlp: Any, project: str) -> str:
    """A root (session and user set) over ``ai.generateText`` reporting 244 tokens and
    $0.04 over two ``doGenerate`` calls of 61 tokens and $0.01 each; the children arrive in
    an earlier request than their parent, as a batch exporter sends them."""
    trace_id, root, parent = otlp.trace_id(), otlp.span_id(), otlp.span_id()
    people = {"session.id": f"{project}-s", "user.id": f"{project}-u"}
    children = [
        otlp.span(
            "ai.generateText.doGenerate",
            trace_id=trace_id,
            parent_span_id=parent,
            start_ns=EPOCH_NS + (2 + i) * MS,
            attributes=usage(50, 11, 0.01),
        )
        for i in range(2)
    ]
    api.export_ok(otlp.request(children, project=project))
    parents = [
        otlp.span(
            "workflow", trace_id=trace_id, span_id=root, end_ns=EPOCH_NS + 9 * MS, attributes=people
        ),
        otlp.span(
            "ai.generateText",
            trace_id=trace_id,
            span_id=parent,
            parent_span_id=root,
            start_ns=EPOCH_NS + MS,
            end_ns=EPOCH_NS + 8 * MS,
            attributes=usage(200, 44, 0.04),
        ),
    ]
    api.export_ok(otlp.request(parents, project=project))
    return trace_id.hex()


def get(api: Any, path: str, **params: object) -> Any:
    """GET a JSON answer; requires 200."""
    response = api.http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_total_counts_each_call_once(api, otlp, unique_project: str) -> None:
    p = unique_project
    trace_id = send_aggregating_trace(api, otlp, p)

    [listed] = get(api, "/api/traces", project=p)["traces"]
    assert (listed["trace_id"], listed["total_tokens"]) == (trace_id, 122)
    assert round(listed["cost_usd"], 9) == 0.02
    [session] = get(api, "/api/sessions", project=p)["sessions"]
    [user] = get(api, "/api/users", project=p)["users"]
    for group in (session, user):
        assert (group["total_tokens"], round(group["cost_usd"], 9)) == (122, 0.02)
    totals = get(api, "/api/overview", project=p)["totals"]
    assert (totals["total_tokens"], totals["input_tokens"], totals["output_tokens"]) == (
        122,
        100,
        22,
    )
    assert round(totals["cost_usd"], 9) == 0.02

    with CollectorAPI(api.http.base_url.__str__().rstrip("/")) as client:
        detail = client.trace(trace_id)
    rows = flatten_tree(detail.tree)
    summary = summarize(trace_id, rows)
    assert (summary.total_tokens, round(summary.cost_usd, 9)) == (122, 0.02)
    parent = next(r.span for r in rows if r.span["name"] == "ai.generateText")
    assert (parent["total_tokens"], parent["cost_usd"]) == (244, 0.04)  # still readable


def test_siblings_add_up_and_a_parent_is_skipped_per_field(api, otlp, unique_project: str) -> None:
    trace_id, root = otlp.trace_id(), otlp.span_id()
    spans = [
        otlp.span("chain", trace_id=trace_id, span_id=root, attributes=usage(10, 5, 0.001)),
        otlp.span(
            "other root",
            trace_id=trace_id,
            start_ns=EPOCH_NS + 3 * MS,
            attributes=usage(1, 1, 0.0001),
        ),
        otlp.span(
            "call a",
            trace_id=trace_id,
            parent_span_id=root,
            start_ns=EPOCH_NS + MS,
            attributes={"gen_ai.usage.input_tokens": 7},
        ),
        otlp.span(
            "call b",
            trace_id=trace_id,
            parent_span_id=root,
            start_ns=EPOCH_NS + 2 * MS,
            attributes=usage(3, 4, 0.002),
        ),
    ]
    api.export_ok(otlp.request(spans, project=unique_project))
    [listed] = get(api, "/api/traces", project=unique_project)["traces"]
    # The chain's tokens give way to its children's (7 and 3 + 4), its cost to call b's;
    # the other root (no relation to them) adds its own.
    assert listed["total_tokens"] == 16
    assert round(listed["cost_usd"], 9) == 0.0021


def send_doubly_instrumented_trace(api: Any, otlp: Any, project: str, *, twin_first: bool) -> str:
    """One Anthropic call recorded by OpenLLMetry and by the SDK's own tracer (160 tokens,
    $0.02 each) under a root with a session and a user: the second record is marked as a
    duplicate (collector/store/duplicates.py) in whichever order the two arrive."""
    trace_id, root = otlp.trace_id(), otlp.span_id()
    people = {"session.id": f"{project}-s", "user.id": f"{project}-u"}
    common = {"gen_ai.request.model": "claude-sonnet-4", "llm.cost.total": 0.02}
    openllmetry = otlp.span(
        "anthropic.chat",
        trace_id=trace_id,
        parent_span_id=root,
        start_ns=EPOCH_NS + 10 * MS,
        end_ns=EPOCH_NS + 500 * MS,
        attributes={
            **common,
            "gen_ai.system": "Anthropic",
            "llm.request.type": "chat",
            "gen_ai.usage.prompt_tokens": 120,
            "gen_ai.usage.completion_tokens": 40,
        },
    )
    native = otlp.span(
        "chat claude-sonnet-4",
        trace_id=trace_id,
        parent_span_id=root,
        start_ns=EPOCH_NS + 12 * MS,
        end_ns=EPOCH_NS + 498 * MS,
        attributes={
            **common,
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 40,
        },
    )
    workflow = otlp.span(
        "workflow", trace_id=trace_id, span_id=root, end_ns=EPOCH_NS + 900 * MS, attributes=people
    )
    batches = (
        [[native], [workflow, openllmetry]] if twin_first else [[workflow, openllmetry, native]]
    )
    for batch in batches:
        api.export_ok(otlp.request(batch, project=project))
    return trace_id.hex()


def test_two_records_of_one_call_count_once_in_every_total(api, otlp, unique_project: str) -> None:
    for twin_first in (True, False):
        p = f"{unique_project}-{twin_first}"
        trace_id = send_doubly_instrumented_trace(api, otlp, p, twin_first=twin_first)
        marked = api.sql(
            "SELECT count(*) AS n FROM spans WHERE trace_id = "
            f"'{trace_id}' AND (metadata->>'duplicate_of') IS NOT NULL"
        )
        assert marked == [{"n": 1}], twin_first
        llm_rows = api.sql(f"SELECT count(*) AS n FROM spans WHERE trace_id = '{trace_id}'")
        assert llm_rows == [{"n": 3}]  # nothing dropped

        [listed] = get(api, "/api/traces", project=p)["traces"]
        assert (listed["total_tokens"], round(listed["cost_usd"], 9)) == (160, 0.02), twin_first
        [session] = get(api, "/api/sessions", project=p)["sessions"]
        [user] = get(api, "/api/users", project=p)["users"]
        for group in (session, user):
            assert (group["total_tokens"], round(group["cost_usd"], 9)) == (160, 0.02)
        totals = get(api, "/api/overview", project=p)["totals"]
        assert (totals["total_tokens"], totals["input_tokens"], totals["output_tokens"]) == (
            160,
            120,
            40,
        )
        assert totals["llm_calls"] == 1
        with CollectorAPI(api.http.base_url.__str__().rstrip("/")) as client:
            detail = client.trace(trace_id)
        summary = summarize(trace_id, flatten_tree(detail.tree))
        assert (summary.total_tokens, round(summary.cost_usd, 9)) == (160, 0.02)
