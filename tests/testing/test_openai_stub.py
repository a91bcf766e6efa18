"""The OpenAI-compatible stub answers the real ``openai`` client, and misbehaves on cue."""

from __future__ import annotations

import httpx
import openai
import pytest

from loopwise.testing import Behavior, OpenAIStub


@pytest.fixture
def stub() -> OpenAIStub:
    with OpenAIStub(responder=lambda request: f"echo: {request['messages'][-1]['content']}") as s:
        yield s


def client(stub: OpenAIStub, timeout: float = 10.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=stub.base_url, api_key="test", max_retries=0, timeout=timeout)


def test_chat_completion_with_usage(stub: OpenAIStub) -> None:
    reply = client(stub).chat.completions.create(
        model="judge-1", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content == "echo: hello"
    assert reply.model == "judge-1"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    assert stub.requests[-1]["messages"] == [{"role": "user", "content": "hello"}]


def test_streaming_reassembles_to_the_same_text(stub: OpenAIStub) -> None:
    chunks = client(stub).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(parts) == "echo: one two three"


def test_scripted_misbehaviour_then_normal_again(stub: OpenAIStub) -> None:
    stub.enqueue(
        Behavior.rate_limited(retry_after_s=2),
        Behavior.server_error(),
        Behavior.garbage(),
        Behavior.reply('{"verdict": "pass", "reas'),
    )
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.RateLimitError) as limited:
        client(stub).chat.completions.create(model="m", messages=messages)
    assert limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.InternalServerError):
        client(stub).chat.completions.create(model="m", messages=messages)
    raw = httpx.post(stub.base_url + "/chat/completions", json={"messages": messages})
    assert raw.status_code == 200 and raw.text.startswith("<html>")
    truncated = client(stub).chat.completions.create(model="m", messages=messages)
    assert truncated.choices[0].message.content == '{"verdict": "pass", "reas'
    normal = client(stub).chat.completions.create(model="m", messages=messages)
    assert normal.choices[0].message.content == "echo: x"


def test_slow_reply_times_the_client_out(stub: OpenAIStub) -> None:
    stub.enqueue(Behavior.slow(2.0))
    with pytest.raises(openai.APITimeoutError):
        client(stub, timeout=0.2).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )


def test_embeddings_are_deterministic(stub: OpenAIStub) -> None:
    first = client(stub).embeddings.create(model="e", input=["refund", "parcel"])
    second = client(stub).embeddings.create(model="e", input=["refund", "parcel"])
    assert [d.embedding for d in first.data] == [d.embedding for d in second.data]
    assert first.data[0].embedding != first.data[1].embedding
