"""A small OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted replies.

Serves ``POST /v1/chat/completions``, the Responses API's ``POST /v1/responses`` and
Anthropic's Messages API ``POST /v1/messages`` (each plain and ``stream: true``), and
``POST /v1/embeddings``. By default a reply echoes the last user message. When a request
offers tools and its conversation holds no tool result yet, the reply calls the first tool
(or the one ``tool_choice`` names) with arguments made from its JSON schema (pass
``tool_arguments`` to choose them); once a tool result is present the reply is text, by
default the tool result's own text when the conversation ends with it. Pass ``responder``
to compute reply texts, or queue ``Behavior`` items to misbehave on the next requests
(garbage, truncated JSON, 429 with Retry-After, 500, a delay past the client's timeout).
Every request is recorded, in ``requests`` (bodies) and ``paths``.

    with OpenAIStub() as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key="test")
        claude = anthropic.Anthropic(base_url=stub.url, api_key="test")
        stub.enqueue(Behavior.rate_limited(retry_after_s=1))
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from loopwise.collector.server import BackgroundServer

from . import stub_anthropic, stub_responses
from .stub_turns import (
    Responder,
    ToolArguments,
    ToolCall,
    Turn,
    chat_turn,
    decide,
    echo,
    reply_tokens,
    schema_arguments,
    tokens,
)

__all__ = ["Behavior", "OpenAIStub", "Responder", "ToolArguments"]


@dataclass(frozen=True)
class Behavior:
    """What the stub does for one request instead of answering normally."""

    status: int = 200
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content: str | None = None

    @classmethod
    def garbage(cls) -> Behavior:
        """200 with a body that is not JSON at all."""
        return cls(body="<html>upstream proxy error</html>")

    @classmethod
    def reply(cls, content: str) -> Behavior:
        """A normal completion whose message content is ``content`` (e.g. truncated JSON)."""
        return cls(content=content)

    @classmethod
    def rate_limited(cls, retry_after_s: float = 1.0) -> Behavior:
        """429 with a Retry-After header."""
        return cls(
            status=429,
            body=json.dumps({"error": {"message": "rate limited", "type": "rate_limit"}}),
            headers={"Retry-After": f"{retry_after_s:g}"},
        )

    @classmethod
    def server_error(cls) -> Behavior:
        """500 with an OpenAI-style error body."""
        return cls(status=500, body=json.dumps({"error": {"message": "boom", "type": "server"}}))

    @classmethod
    def slow(cls, delay_s: float, content: str | None = None) -> Behavior:
        """Answer normally, but only after ``delay_s`` seconds."""
        return cls(delay_s=delay_s, content=content)


class OpenAIStub:
    """The stub server; use as a context manager or call ``start``/``stop``."""

    def __init__(
        self,
        responder: Responder | None = None,
        model: str = "stub-model",
        tool_arguments: ToolArguments | None = None,
    ) -> None:
        self.responder = responder
        self.model = model
        self.tool_arguments = tool_arguments or schema_arguments
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._behaviors: deque[Behavior] = deque()
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._app(), name="openai-stub")

    @property
    def url(self) -> str:
        """The server's root URL: the ``base_url`` to give an ``anthropic`` client."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give an OpenAI client, ending in ``/v1``."""
        return self._server.url + "/v1"

    def enqueue(self, *behaviors: Behavior) -> None:
        """Make the next requests behave like this, one behavior per request."""
        with self._lock:
            self._behaviors.extend(behaviors)

    def start(self) -> OpenAIStub:
        """Start serving on a free 127.0.0.1 port."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _next_behavior(self) -> Behavior | None:
        with self._lock:
            return self._behaviors.popleft() if self._behaviors else None

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    async def _receive(self, request: Request) -> tuple[dict[str, Any], int]:
        """The request's body, recorded; and its number (1 for the first request)."""
        payload = await request.json()
        with self._lock:
            self.requests.append(payload)
            self.paths.append(request.url.path)
            return payload, len(self.requests)

    async def _misbehave(self) -> tuple[Response | None, str | None]:
        """The queued behavior's response, if it replaces the answer, and its reply text."""
        behavior = self._next_behavior() or Behavior()
        if behavior.delay_s:
            await asyncio.sleep(behavior.delay_s)
        if behavior.body is not None or behavior.status != 200:
            response = Response(
                behavior.body or "",
                behavior.status,
                behavior.headers,
                media_type="application/json",
            )
            return response, None
        return None, behavior.content

    def _reply(
        self, payload: dict[str, Any], turn: Turn, number: int, content: str | None
    ) -> tuple[str | None, ToolCall | None]:
        """The reply's text or tool call: a scripted ``content`` wins, then a tool call."""
        if content is not None:
            return content, None
        call = decide(turn, f"call_stub{number:04d}", self.tool_arguments)
        if call is not None:
            return None, call
        return (self.responder(payload) if self.responder else echo(turn)), None

    async def _chat(self, request: Request) -> Response:
        payload, number = await self._receive(request)
        replaced, content = await self._misbehave()
        if replaced is not None:
            return replaced
        text, call = self._reply(payload, chat_turn(payload), number, content)
        prompt_tokens = tokens(json.dumps(payload.get("messages", [])))
        completion_tokens = reply_tokens(text, call)
        model = payload.get("model") or self.model
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if payload.get("stream"):
            chunks = _chat_chunks(f"chatcmpl-{number}", model, text, call)
            return StreamingResponse(
                _chat_stream(chunks, payload, usage), media_type="text/event-stream"
            )
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if call is not None:
            message["tool_calls"] = [_chat_tool_call(call)]
        return JSONResponse(
            {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "stop" if call is None else "tool_calls",
                    }
                ],
                "usage": usage,
            }
        )

    async def _responses(self, request: Request) -> Response:
        payload, number = await self._receive(request)
        replaced, content = await self._misbehave()
        if replaced is not None:
            return replaced
        text, call = self._reply(payload, stub_responses.responses_turn(payload), number, content)
        usage = (
            stub_responses.input_tokens(payload),
            reply_tokens(text, call),
        )
        model = payload.get("model") or self.model
        created = int(time.time())
        if payload.get("stream"):
            events = stub_responses.stream_events(
                payload,
                number=number,
                created=created,
                model=model,
                text=text,
                call=call,
                usage=usage,
            )
            return StreamingResponse(_sse(events), media_type="text/event-stream")
        output = [stub_responses.output_item(number, text, call)]
        body = stub_responses.response_body(
            payload, number=number, created=created, model=model, output=output, usage=usage
        )
        return JSONResponse(body)

    async def _messages(self, request: Request) -> Response:
        payload, number = await self._receive(request)
        replaced, content = await self._misbehave()
        if replaced is not None:
            return replaced
        text, call = self._reply(payload, stub_anthropic.messages_turn(payload), number, content)
        usage = (
            stub_anthropic.input_tokens(payload),
            reply_tokens(text, call),
        )
        model = payload.get("model") or self.model
        if payload.get("stream"):
            events = stub_anthropic.stream_events(
                number=number, model=model, text=text, call=call, usage=usage
            )
            return StreamingResponse(_sse(events), media_type="text/event-stream")
        body = stub_anthropic.message_body(
            number=number,
            model=model,
            content=[stub_anthropic.content_block(text, call)],
            stop_reason=stub_anthropic.stop_reason(call),
            usage=usage,
        )
        return JSONResponse(body)

    async def _embeddings(self, request: Request) -> Response:
        payload, _ = await self._receive(request)
        inputs = payload.get("input")
        texts = inputs if isinstance(inputs, list) else [inputs]
        data = [
            {"object": "embedding", "index": i, "embedding": _embed(str(text))}
            for i, text in enumerate(texts)
        ]
        count = sum(tokens(str(t)) for t in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": payload.get("model") or self.model,
                "usage": {"prompt_tokens": count, "total_tokens": count},
            }
        )


def _chat_tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json},
    }


def _chat_chunks(
    chunk_id: str, model: str, text: str | None, call: ToolCall | None
) -> Iterator[dict[str, Any]]:
    """A chat completion's chunks without the usage chunk: the text word by word, or the
    tool call's id and name and then its arguments in two pieces; then the finish reason."""
    base = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    if call is not None:
        first = {**_chat_tool_call(call), "index": 0}
        first["function"] = {"name": call.name, "arguments": ""}
        yield chunk({"role": "assistant", "content": None, "tool_calls": [first]})
        arguments = call.arguments_json
        middle = len(arguments) // 2
        for piece in (arguments[:middle], arguments[middle:]):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk({}, "tool_calls")
        return
    words = (text or "").split(" ")
    for index, word in enumerate(words):
        piece = word if index == len(words) - 1 else word + " "
        yield chunk({"content": piece} if index else {"role": "assistant", "content": piece})
    yield chunk({}, "stop")


async def _chat_stream(
    chunks: Iterator[dict[str, Any]], payload: dict[str, Any], usage: dict[str, int]
) -> AsyncIterator[str]:
    last: dict[str, Any] = {}
    for last in chunks:
        yield f"data: {json.dumps(last)}\n\n"
    if (payload.get("stream_options") or {}).get("include_usage"):
        final = {key: last[key] for key in ("id", "object", "created", "model")}
        yield f"data: {json.dumps({**final, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


async def _sse(events: Iterator[tuple[str, dict[str, Any]]]) -> AsyncIterator[str]:
    """Server-sent events with their ``event:`` names, as the Responses and Messages APIs
    send them."""
    for name, event in events:
        yield f"event: {name}\ndata: {json.dumps(event)}\n\n"


def _embed(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic toy embedding: character-bucket frequencies, L2-normalized."""
    vector = [0.0] * dimensions
    for char in text.lower():
        vector[ord(char) % dimensions] += 1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]
