"""What every conformance client does, and where it sends its spans (from the environment
the test sets: COLLECTOR_URL, COLLECTOR_KEY, STUB_URL, SCENARIO_*)."""

from __future__ import annotations

import os
from typing import Any

COLLECTOR_URL = os.environ["COLLECTOR_URL"]
COLLECTOR_KEY = os.environ["COLLECTOR_KEY"]
TRACES_URL = COLLECTOR_URL + "/v1/traces"
AUTH = {"Authorization": f"Bearer {COLLECTOR_KEY}"}
STUB_URL = os.environ["STUB_URL"]

MODEL = os.environ["SCENARIO_MODEL"]
EMBEDDING_MODEL = os.environ["SCENARIO_EMBEDDING_MODEL"]
SYSTEM = os.environ["SCENARIO_SYSTEM"]
QUESTION = os.environ["SCENARIO_QUESTION"]
STREAMED = os.environ["SCENARIO_STREAMED"]
SESSION = os.environ["SCENARIO_SESSION"]
USER = os.environ["SCENARIO_USER"]


def openai_client(openai_module: Any = None) -> Any:
    """An OpenAI client talking to the stub (``openai_module``: a wrapped module to use)."""
    if openai_module is None:
        import openai as openai_module
    return openai_module.OpenAI(base_url=STUB_URL, api_key="test-key", max_retries=0)


def messages(text: str) -> list[dict[str, str]]:
    """The system prompt and one user message."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


def chat(client: Any, **extra: Any) -> str:
    """One chat completion of QUESTION; the stub echoes it."""
    reply = client.chat.completions.create(model=MODEL, messages=messages(QUESTION), **extra)
    return str(reply.choices[0].message.content)


def stream(client: Any, **extra: Any) -> str:
    """One streamed chat completion of STREAMED, with usage in the last chunk."""
    chunks = client.chat.completions.create(
        model=MODEL,
        messages=messages(STREAMED),
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def embed(client: Any) -> None:
    """One embeddings call."""
    client.embeddings.create(model=EMBEDDING_MODEL, input=[QUESTION])
