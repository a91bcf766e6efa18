"""Calling an OpenAI-compatible chat endpoint for the judge: retries, backoff, limits.

Transient failures (429, 408, 409, 5xx, timeouts, refused or broken connections, a 200
whose body is not a completion) are retried up to ``max_retries`` times with exponential
backoff and full jitter; a ``Retry-After`` header (seconds or an HTTP date) sets the wait
instead, capped at ``max_retry_after_s``. Other 4xx answers fail at once, except a 400
that rejects ``response_format``: the call is repeated once without it (the tolerant
parser reads what comes back). ``sleep`` is injectable so tests can see the waits.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .settings import JudgeSettings

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
Sleep = Callable[[float], Awaitable[None]]


class JudgeCallError(RuntimeError):
    """The judge endpoint could not give a completion; the message says what happened."""


@dataclass(frozen=True)
class Completion:
    """The judge model's reply text and usage."""

    text: str
    model: str
    input_tokens: int | None
    output_tokens: int | None
    attempts: int


class JudgeClient:
    """Async chat-completions client for one event loop at a time (``aclose`` after)."""

    def __init__(
        self, settings: JudgeSettings, *, sleep: Sleep | None = None, seed: int | None = None
    ) -> None:
        self.settings = settings
        self._sleep: Sleep = sleep or asyncio.sleep
        self._random = random.Random(seed)
        self._http: httpx.AsyncClient | None = None
        self._limit: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.schema_supported = True
        self.waits: list[float] = []

    def _session(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop or self._limit is None:
            headers = {"Content-Type": "application/json"}
            if self.settings.api_key:
                headers["Authorization"] = f"Bearer {self.settings.api_key}"
            limits = httpx.Limits(max_connections=self.settings.concurrency * 2)
            self._http = httpx.AsyncClient(
                headers=headers, timeout=self.settings.timeout_s, limits=limits
            )
            self._limit = asyncio.Semaphore(self.settings.concurrency)
            self._loop = loop
        return self._http, self._limit

    async def aclose(self) -> None:
        """Close the HTTP connections of the current loop."""
        http, self._http, self._limit, self._loop = self._http, None, None, None
        if http is not None:
            await http.aclose()

    async def complete(
        self, messages: list[dict[str, str]], response_format: dict[str, Any] | None = None
    ) -> Completion:
        """One completion, retried as described in the module docstring."""
        http, limit = self._session()
        settings = self.settings
        body: dict[str, Any] = {
            "model": settings.model,
            "messages": messages,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
        }
        if response_format is not None and self.schema_supported:
            body["response_format"] = response_format
        attempt = 0
        last_problem = ""
        while True:
            attempt += 1
            wait: float | None = None
            try:
                async with limit:
                    response = await http.post(settings.chat_url, json=body)
            except httpx.TimeoutException:
                last_problem = f"timed out after {settings.timeout_s:g}s"
            except httpx.TransportError as exc:
                last_problem = f"connection failed: {type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    completion = _completion(response, settings.model, attempt)
                    if completion is not None:
                        return completion
                    last_problem = f"200 without a completion: {response.text[:120]!r}"
                elif (
                    response.status_code == 400
                    and "response_format" in body
                    and ("response_format" in response.text or "json_schema" in response.text)
                ):
                    self.schema_supported = False
                    body.pop("response_format")
                    continue
                elif response.status_code in RETRY_STATUS:
                    last_problem = f"HTTP {response.status_code}: {_error_text(response)}"
                    wait = retry_after(response.headers.get("retry-after"))
                else:
                    raise JudgeCallError(
                        f"judge endpoint answered HTTP {response.status_code}: "
                        f"{_error_text(response)}"
                    )
            if attempt > settings.max_retries:
                raise JudgeCallError(
                    f"judge call failed after {attempt} attempt(s): {last_problem}"
                )
            await self._pause(attempt, wait)

    async def _pause(self, attempt: int, retry_after_s: float | None) -> None:
        settings = self.settings
        if retry_after_s is not None:
            delay = min(max(retry_after_s, 0.0), settings.max_retry_after_s)
        else:
            ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2 ** (attempt - 1))
            delay = self._random.uniform(0, ceiling)
        self.waits.append(delay)
        await self._sleep(delay)


def retry_after(header: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not header:
        return None
    text = header.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _completion(response: httpx.Response, model: str, attempts: int) -> Completion | None:
    try:
        payload = response.json()
        message = payload["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        refusal = message.get("refusal") if isinstance(message, dict) else None
        content = f"(judge refused: {refusal})" if isinstance(refusal, str) else ""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    return Completion(
        text=content,
        model=str(payload.get("model") or model),
        input_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        attempts=attempts,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error_text(response: httpx.Response) -> str:
    try:
        payload = response.json()
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    except (ValueError, json.JSONDecodeError):
        pass
    return response.text[:200] or response.reason_phrase
