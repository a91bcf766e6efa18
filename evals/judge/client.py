"""Calling an OpenAI-compatible chat endpoint for the judge: retries, backoff, limits.

Transient failures (429, 408, 409, 5xx, timeouts, refused or broken connections, a 200
whose body is not a completion) are retried up to ``max_retries`` times with exponential
backoff and full jitter; a ``Retry-After`` header (seconds or an HTTP date) sets the wait
instead, capped at ``max_retry_after_s``. Other 4xx answers fail at once, except a 400
that rejects ``response_format``: the call is repeated once without it (the tolerant
parser reads what comes back). The retry loop is tenacity's; ``sleep`` is injectable so
tests can see the waits.
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
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

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
        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._pause,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    return await self._attempt(http, limit, body, number)
        except _Transient as failed:
            tries = retrying.statistics.get("attempt_number", settings.max_retries + 1)
            raise JudgeCallError(
                f"judge call failed after {tries} attempt(s): {failed.problem}"
            ) from None
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        limit: asyncio.Semaphore,
        body: dict[str, Any],
        number: int,
    ) -> Completion:
        """One request; ``_Transient`` when it is worth repeating, ``JudgeCallError`` when not."""
        settings = self.settings
        try:
            async with limit:
                response = await http.post(settings.chat_url, json=body)
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {settings.timeout_s:g}s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed: {type(exc).__name__}: {exc}") from None
        if response.status_code == 200:
            completion = _completion(response, settings.model, number)
            if completion is None:
                raise _Transient(f"200 without a completion: {response.text[:120]!r}")
            return completion
        if (
            response.status_code == 400
            and "response_format" in body
            and ("response_format" in response.text or "json_schema" in response.text)
        ):
            # The endpoint cannot constrain the reply: ask again at once without the schema
            # (the tolerant parser reads what comes back); later calls skip it.
            self.schema_supported = False
            body.pop("response_format")
            return await self._attempt(http, limit, body, number)
        if response.status_code in RETRY_STATUS:
            raise _Transient(
                f"HTTP {response.status_code}: {_error_text(response)}",
                retry_after(response.headers.get("retry-after")),
            )
        raise JudgeCallError(
            f"judge endpoint answered HTTP {response.status_code}: {_error_text(response)}"
        )

    def _wait(self, state: RetryCallState) -> float:
        """The server's ``Retry-After`` (capped), else exponential backoff with full jitter."""
        settings = self.settings
        failure = state.outcome.exception() if state.outcome is not None else None
        asked = failure.retry_after_s if isinstance(failure, _Transient) else None
        if asked is not None:
            return min(max(asked, 0.0), settings.max_retry_after_s)
        attempt = state.attempt_number
        ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2 ** (attempt - 1))
        return self._random.uniform(0, ceiling)

    async def _pause(self, delay: float) -> None:
        self.waits.append(delay)
        await self._sleep(delay)


class _Transient(Exception):
    """A failure worth another attempt; ``retry_after_s`` is the wait the server asked for."""

    def __init__(self, problem: str, retry_after_s: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after_s = retry_after_s


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
