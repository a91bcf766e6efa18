"""LlamaIndex (llama-index-llms-openai's OpenAI LLM) under
openinference-instrumentation-llama-index: ``complete``, ``chat`` and a function tool run.
The instrumentation sends a method's bound arguments as ``input.value`` (``{"args": [...]}``
for ``complete``, ``{"messages": [<ChatMessage reprs>]}`` for ``chat``, ``{"kwargs": ...}``
for a tool), the prompt as ``llm.prompts`` (a plain string array), chat messages flattened
and a tool's ToolOutput dumped as ``output.value``; stored text is the prompt, the
messages' content and the tool's text.

llama-index-llms-openai caps ``openai<3`` while the test environment holds openai 3 (the
Agents SDK and pydantic-ai need it), so it is installed on its own into a folder of the test
run (``pip install --no-deps --target``, run against the environment's openai, which it
works with) and put first on the client's path. Where pip cannot fetch it the test is
skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import install_apart

pytest.importorskip("llama_index.core")
pytest.importorskip("openinference.instrumentation.llama_index")

LLAMA_INDEX_OPENAI = "0.8.3"


@pytest.fixture(scope="session")
def llama_index_openai(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the ``llama_index.llms.openai`` package."""
    target = tmp_path_factory.mktemp("llama-index-llms-openai")
    requirement = f"llama-index-llms-openai=={LLAMA_INDEX_OPENAI}"
    return install_apart(target, requirement, "llama_index/llms/openai")


def test_llama_index_spans_land_readable(
    conformance, expect, golden, version, llama_index_openai
) -> None:
    spans = conformance.run("llama_index_openai", python_path=[llama_index_openai])
    scenario = conformance.scenario
    question, streamed = scenario["QUESTION"], scenario["STREAMED"]

    for span in spans:
        expect.session(span)
        assert span["service_name"] == "conformance-llama-index"
    completed = expect.one(spans, name="OpenAI.complete")
    chatted = expect.one(spans, name="OpenAI.chat")
    tool = expect.one(spans, name="FunctionTool.call")
    assert len(spans) == 3

    # complete(): the prompt (llm.prompts), not input.value's {"args": [...]}.
    assert completed["attributes"]["input.value"].startswith('{"args": ')
    assert (completed["kind"], completed["input"], completed["output"]) == (
        "llm",
        question,
        question,
    )
    assert completed["input_messages"] is None
    # chat(): the flattened messages, not input.value's ChatMessage reprs.
    expect.chat(chatted, streamed)
    expect.reply_message(chatted, streamed)
    # The tool: its arguments as given, its ToolOutput's text blocks as a tool message.
    assert (tool["kind"], tool["input"]) == ("tool", '{"kwargs": {"city": "test"}}')
    assert tool["output"] == "Sunny in test"
    assert tool["output_messages"] == [{"role": "tool", "content": "Sunny in test"}]
    assert tool["status"] == "ok" and tool["ingest_warnings"] is None
    for span in (completed, chatted):
        assert (span["model"], span["provider"]) == (scenario["MODEL"], "openai")
        assert span["ingest_warnings"] is None and span["status"] == "ok"
        assert span["input_tokens"] > 0 and span["output_tokens"] > 0
        assert span["total_tokens"] == span["input_tokens"] + span["output_tokens"]
        cost = expect.prices.cost(span["model"], span["input_tokens"], span["output_tokens"])
        assert span["cost_usd"] == pytest.approx(cost)
        assert span["metadata"]["invocation_parameters"]["model_name"] == scenario["MODEL"]

    source = (
        f"llama-index-core {version('llama-index-core')} with llama-index-llms-openai "
        f"{LLAMA_INDEX_OPENAI} under openinference-instrumentation-llama-index "
        f"{version('openinference-instrumentation-llama-index')}"
    )
    fields = golden.fields("cost_usd", "user_id", "metadata")
    golden.save("openinference", "captured_llama_index_complete", completed, fields, source)
    golden.save("openinference", "captured_llama_index_chat", chatted, fields, source)
    tool_fields = golden.fields("user_id")
    golden.save("openinference", "captured_llama_index_tool", tool, tool_fields, source)
