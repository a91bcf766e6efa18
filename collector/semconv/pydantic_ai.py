"""pydantic-ai's agent run span (``invoke_agent``): its own keys beside the OTel GenAI ones.

- ``pydantic_ai.all_messages``: the whole conversation in OTel GenAI message form. The
  messages before the last assistant message are the input (after the system instructions
  from ``gen_ai.system_instructions``), the last assistant message the output.
- ``final_result``: the run's output as text (structured output as JSON), used as the output
  text when present.
- ``model_name``: the model (``no-model`` is ignored).
- ``gen_ai.aggregated_usage.*``: the usage of every model call in the run. The calls' own spans
  report the same tokens, so these are not the span's own: they go to metadata
  (``aggregated_usage``), readable on the span but never added to token totals.

Runs before the GenAI convention, which would otherwise read the instructions alone as the
span's input.
"""

from __future__ import annotations

from typing import Any

from .fields import INT64_MAX, Resolved, merge_metadata
from .genai_messages import SYSTEM_KEY, message_list, system_messages
from .messages import Message, make_message, render_text

ALL_MESSAGES_KEY = "pydantic_ai.all_messages"
FINAL_RESULT_KEY = "final_result"
AGGREGATED_PREFIX = "gen_ai.aggregated_usage."
MARKERS = (
    ALL_MESSAGES_KEY,
    FINAL_RESULT_KEY,
    AGGREGATED_PREFIX + "input_tokens",
    AGGREGATED_PREFIX + "output_tokens",
)


def resolve(attrs: dict[str, Any], out: Resolved) -> None:
    """Fill the fields still unset in ``out`` from pydantic-ai's agent run attributes."""
    if attrs.keys().isdisjoint(MARKERS):
        return
    model = attrs.get("model_name")
    if out.model is None and isinstance(model, str) and model and model != "no-model":
        out.model = model
    usage = {
        key[len(AGGREGATED_PREFIX) :]: value
        for key, value in attrs.items()
        if key.startswith(AGGREGATED_PREFIX) and type(value) is int and 0 <= value <= INT64_MAX
    }
    if usage:
        merge_metadata(out, {"aggregated_usage": usage})
    if out.input is None and out.output is None:
        _messages(attrs, out)


def _messages(attrs: dict[str, Any], out: Resolved) -> None:
    history = message_list(attrs.get(ALL_MESSAGES_KEY), ALL_MESSAGES_KEY, out)
    last = max((i for i, m in enumerate(history) if m["role"] == "assistant"), default=None)
    inputs = system_messages(attrs.get(SYSTEM_KEY), out)
    outputs: list[Message] = []
    if last is None:
        inputs += history
    else:
        inputs += history[:last]
        outputs = history[last:]
    final = attrs.get(FINAL_RESULT_KEY)
    if inputs:
        out.set_input(render_text(inputs), inputs)
    if final is not None and final != "":
        text = final if isinstance(final, str) else str(final)
        if not outputs or outputs[-1]["content"] != text:
            outputs = [make_message("assistant", text)]
        out.set_output(text, outputs)
    elif outputs:
        out.set_output(render_text(outputs), outputs)
