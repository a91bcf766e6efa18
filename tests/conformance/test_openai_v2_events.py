"""The openai client under opentelemetry-instrumentation-openai-v2 with content captured as
log events only: the events reach /v1/logs and fill their spans, in either arrival order."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.instrumentation.openai_v2")


def test_content_events_fill_their_spans(conformance, expect) -> None:
    spans = conformance.run("openai_v2_events")
    question, streamed = conformance.scenario["QUESTION"], conformance.scenario["STREAMED"]

    chat = expect.one(spans, kind="llm", output=question)  # events exported first
    stream = expect.one(spans, kind="llm", output=streamed)  # span exported first
    for span, text in ((chat, question), (stream, streamed)):
        # The spans themselves carry no content: it came from the log events.
        assert "gen_ai.input.messages" not in span["attributes"]
        expect.chat(span, text)
        expect.reply_message(span, text)

    response = conformance.http.post(
        "/api/sql",
        json={"sql": "SELECT event_name, trace_id, span_id, service_name FROM logs"},
    )
    assert response.status_code == 200, response.text
    events = [
        dict(zip(response.json()["columns"], row, strict=True)) for row in response.json()["rows"]
    ]
    assert {e["event_name"] for e in events} == {"gen_ai.client.inference.operation.details"}
    assert {(e["trace_id"], e["span_id"]) for e in events} == {
        (chat["trace_id"], chat["span_id"]),
        (stream["trace_id"], stream["span_id"]),
    }
    assert {e["service_name"] for e in events} == {"conformance-openai-v2-events"}
