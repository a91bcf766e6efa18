"""A small OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted replies.

Serves ``POST /v1/chat/completions`` (plain and ``stream: true``) and ``POST /v1/embeddings``.
By default a chat reply echoes the last user message; pass ``responder`` to compute replies,
or queue ``Behavior`` items to misbehave on the next requests (garbage, truncated JSON, 429
with Retry-After, 500, a delay past the client's timeout). Every request is recorded.

    with OpenAIStub() as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key="test")
        stub.enqueue(Behavior.rate_limited(retry_after_s=1))
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from loopwise.collector.server import BackgroundServer

Responder = Callable[[dict[str, Any]], str]


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


def _echo(request: dict[str, Any]) -> str:
    messages = request.get("messages") or []
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return "ok"


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class OpenAIStub:
    """The stub server; use as a context manager or call ``start``/``stop``."""

    def __init__(self, responder: Responder | None = None, model: str = "stub-model") -> None:
        self.responder = responder or _echo
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._behaviors: deque[Behavior] = deque()
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._app(), name="openai-stub")

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
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    async def _chat(self, request: Request) -> Response:
        payload = await request.json()
        with self._lock:
            self.requests.append(payload)
        behavior = self._next_behavior() or Behavior()
        if behavior.delay_s:
            await asyncio.sleep(behavior.delay_s)
        if behavior.body is not None or behavior.status != 200:
            return Response(
                behavior.body or "",
                behavior.status,
                behavior.headers,
                media_type="application/json",
            )
        content = behavior.content if behavior.content is not None else self.responder(payload)
        prompt_tokens = _tokens(json.dumps(payload.get("messages", [])))
        completion_tokens = _tokens(content)
        model = payload.get("model") or self.model
        if payload.get("stream"):
            return StreamingResponse(
                self._stream(model, content, prompt_tokens, completion_tokens, payload),
                media_type="text/event-stream",
            )
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _stream(
        self,
        model: str,
        content: str,
        prompt_tokens: int,
        completion_tokens: int,
        payload: dict[str, Any],
    ) -> AsyncIterator[str]:
        base = {"id": "chatcmpl-stream", "object": "chat.completion.chunk", "model": model}
        words = content.split(" ")
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            delta = {"content": piece} if index else {"role": "assistant", "content": piece}
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            yield f"data: {json.dumps(chunk)}\n\n"
        final = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        yield f"data: {json.dumps(final)}\n\n"
        if (payload.get("stream_options") or {}).get("include_usage"):
            usage = {
                **base,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
            yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"

    async def _embeddings(self, request: Request) -> Response:
        payload = await request.json()
        with self._lock:
            self.requests.append(payload)
        inputs = payload.get("input")
        texts = inputs if isinstance(inputs, list) else [inputs]
        data = [
            {"object": "embedding", "index": i, "embedding": _embed(str(text))}
            for i, text in enumerate(texts)
        ]
        tokens = sum(_tokens(str(t)) for t in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": payload.get("model") or self.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _embed(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic toy embedding: character-bucket frequencies, L2-normalized."""
    vector = [0.0] * dimensions
    for char in text.lower():
        vector[ord(char) % dimensions] += 1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]
