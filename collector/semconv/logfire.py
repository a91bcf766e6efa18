"""Pydantic Logfire attributes. Its LLM spans use OTel GenAI keys (read by genai); this adds
``logfire.tags`` as tags, and the ``request_data`` / ``response_data`` JSON that older Logfire
versions put on OpenAI and Anthropic spans (messages, the reply, usage)."""

from __future__ import annotations

from typing import Any

from .fields import Resolved, read_int, string_list
from .messages import make_message, messages_in, read_message, render_text
from .values import parse_json_text

MARKERS = ("logfire.span_type", "logfire.msg_template", "logfire.tags")


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from Logfire attributes."""
    if attrs.keys().isdisjoint(MARKERS):
        return
    if not out.tags and "logfire.tags" in attrs:
        out.tags = string_list(attrs["logfire.tags"])
    request = parse_json_text(attrs.get("request_data"))
    response = parse_json_text(attrs.get("response_data"))
    if isinstance(request, dict):
        if out.model is None and isinstance(request.get("model"), str):
            out.model = request["model"]
        if out.input is None:
            messages = messages_in(request)
            if messages is None and isinstance(request.get("system"), str):  # Anthropic
                messages = [make_message("system", request["system"])]
            if messages:
                out.set_input(render_text(messages), messages)
    if isinstance(response, dict):
        _response(response, out)


def _response(response: dict[str, Any], out: Resolved) -> None:
    if out.output is None:
        message = response.get("message")
        messages = [read_message(message)] if isinstance(message, dict) else None
        messages = messages or messages_in(response)
        if messages:
            out.set_output(render_text(messages), messages)
    usage = response.get("usage")
    if isinstance(usage, dict):
        for field, names in (
            ("input_tokens", ("prompt_tokens", "input_tokens")),
            ("output_tokens", ("completion_tokens", "output_tokens")),
        ):
            for name in names:
                if getattr(out, field) is None and usage.get(name) is not None:
                    setattr(out, field, read_int(f"response_data.usage.{name}", usage[name], out))
