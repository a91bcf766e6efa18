"""The OpenAI Agents SDK (Responses API) under openinference-instrumentation-openai-agents:
an agent whose model calls one function tool and then answers with its result, and an agent
without instructions run streamed. Its Responses spans flatten the instructions as message 0
and the input items from index 1 on (so from 1 when there are no instructions), and carry
the items (``function_call``, ``function_call_output``) and the Response as JSON in
``input.value``/``output.value``; stored text is the messages' content."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("agents")
pytest.importorskip("openinference.instrumentation.openai_agents")

CALL = {"id": "call_stub0001", "name": "get_weather", "arguments": '{"city": "test"}'}


def ancestors(span: dict[str, Any], spans: list[dict[str, Any]]) -> list[str]:
    """The names of ``span``'s ancestors, nearest first."""
    by_id = {s["span_id"]: s for s in spans}
    names = []
    while span["parent_span_id"] is not None:
        span = by_id[span["parent_span_id"]]
        names.append(span["name"])
    return names


def test_openai_agents_spans_land_readable(conformance, expect, golden, version) -> None:
    spans = conformance.run("openai_agents")
    scenario = conformance.scenario
    system, question, streamed = scenario["SYSTEM"], scenario["QUESTION"], scenario["STREAMED"]
    called = {"role": "assistant", "content": "", "tool_calls": [CALL]}
    result = {"role": "tool", "content": "Sunny in test", "tool_call_id": "call_stub0001"}

    for span in spans:
        expect.session(span)
        assert span["ingest_warnings"] is None and span["status"] == "ok", span["name"]
        assert span["service_name"] == "conformance-openai-agents"
        for column in ("input", "output"):  # text, never the Response's or the items' JSON
            if span["kind"] != "tool":
                assert not (span[column] or "").startswith(("{", "[")), (span["name"], column)

    workflow = expect.one(spans, name="weather workflow")
    agent = expect.one(spans, name="weather")
    first = expect.one(spans, kind="llm", input=f"system: {system}\nuser: {question}")
    second = expect.one(spans, kind="llm", output="Sunny in test")
    tool = expect.one(spans, kind="tool")
    plain = expect.one(spans, name="plain")
    responses = expect.one(spans, kind="llm", output=streamed)

    assert (workflow["kind"], workflow["parent_span_id"]) == ("agent", None)
    assert agent["kind"] == plain["kind"] == "agent"
    for span in (first, second, tool):
        assert span["trace_id"] == workflow["trace_id"]
        above = ancestors(span, spans)
        assert "weather" in above and above[-1] == "weather workflow", above
    above = ancestors(responses, spans)
    assert "plain" in above and above[-1] == "streamed workflow", above

    # The first call: instructions as the system message, the model's answer a tool call.
    expect.chat(first, question, answer=False)
    assert first["output_messages"] == [called]
    assert first["output"] == 'get_weather({"city": "test"})'
    # The second: the function_call and function_call_output items as canonical messages.
    assert second["input_messages"] == [
        {"role": "system", "content": system},
        {"role": "user", "content": question},
        called,
        result,
    ]
    expect.reply_message(second, "Sunny in test")
    assert (tool["name"], tool["input"], tool["output"]) == (
        "get_weather",
        '{"city": "test"}',
        "Sunny in test",
    )
    # Streamed, no instructions: the flattened input messages start at index 1.
    assert "llm.input_messages.0.message.role" not in responses["attributes"]
    assert responses["input_messages"] == [{"role": "user", "content": streamed}]
    assert responses["input"] == streamed
    expect.reply_message(responses, streamed)

    for span in (first, second, responses):
        assert (span["model"], span["provider"]) == (scenario["MODEL"], "openai")
        assert span["input_tokens"] > 0 and span["output_tokens"] > 0
        assert span["total_tokens"] == span["input_tokens"] + span["output_tokens"]
        cost = expect.prices.cost(span["model"], span["input_tokens"], span["output_tokens"])
        assert span["cost_usd"] == pytest.approx(cost)
    # Agent and workflow spans carry no usage: the trace totals count each model call once.
    assert all(s["input_tokens"] is None for s in spans if s["kind"] != "llm")
    totals = conformance.http.post(
        "/api/sql", json={"sql": "SELECT trace_id, total_tokens FROM traces"}
    ).json()["rows"]
    by_trace = dict(totals)
    assert by_trace[workflow["trace_id"]] == first["total_tokens"] + second["total_tokens"]
    assert by_trace[responses["trace_id"]] == responses["total_tokens"]

    source = (
        f"openai-agents {version('openai-agents')} under "
        f"openinference-instrumentation-openai-agents "
        f"{version('openinference-instrumentation-openai-agents')}"
    )
    fields = golden.fields("cost_usd", "user_id")
    golden.save("openinference", "captured_openai_agents_tool_call", first, fields, source)
    golden.save("openinference", "captured_openai_agents_after_tool", second, fields, source)
    golden.save("openinference", "captured_openai_agents_tool", tool, fields, source)
    golden.save(
        "openinference", "captured_openai_agents_no_instructions", responses, fields, source
    )
