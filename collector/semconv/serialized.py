"""Framework serializations of messages, turned into the plain chat shape ``read_message`` reads.

Frameworks dump their own message objects into span attributes (``input.value``,
``output.value``, ``traceloop.entity.*``, ``gen_ai.input.messages``):

- LangChain, each way a message is serialized: ``message_to_dict`` (``{"type": "tool",
  "data": {"content": ..., "tool_call_id": ...}}``), ``dumpd`` (``{"lc": 1, "type":
  "constructor", "id": [..., "ToolMessage"], "kwargs": {...}}``) and pydantic's
  ``model_dump`` (``{"content", "type", "additional_kwargs", ...}``); lists of them, a
  ``{"messages": [...]}`` holder (also nested one list deeper, as chat model inputs are), a
  ``ChatPromptValue`` or ``StringPromptValue``, and a single-key wrapper (``{"output": ...}``).
- OpenAI Responses API items: ``message`` (``input_text``/``output_text`` parts),
  ``function_call``, ``function_call_output``, ``custom_tool_call(_output)``; ``reasoning``
  and hosted-tool items are left out. A request (``{"model", "instructions", "input"}``) and
  a response object (``{"object": "response", "output": [...]}``) hold them.
- LlamaIndex return values, as openinference-instrumentation-llama-index dumps them: a
  ``ToolOutput`` (``tool_name``, ``raw_input``, ``raw_output``; its text in ``blocks`` or
  ``content``) is a tool message, a ``Response`` or ``AgentChatResponse`` (``response``,
  ``source_nodes``) an assistant message.

``framework_messages`` returns the messages as ``{"role", "content", "tool_calls"?,
"tool_call_id"?}`` dicts, or None when the value is none of these shapes.
"""

from __future__ import annotations

from typing import Any

LANGCHAIN_ROLES = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "developer": "developer",
    "remove": "",
}
# Item types of the Responses API read as messages (the rest are skipped when a list holds
# some of these: reasoning, web_search_call, file_search_call, computer_call, ...).
RESPONSES_CALL_TYPES = frozenset({"function_call", "custom_tool_call"})
RESPONSES_OUTPUT_TYPES = frozenset({"function_call_output", "custom_tool_call_output"})
RESPONSES_TYPES = RESPONSES_CALL_TYPES | RESPONSES_OUTPUT_TYPES | {"message"}
RESPONSES_SKIPPED = frozenset(
    {"reasoning", "web_search_call", "file_search_call", "computer_call", "image_generation_call"}
    | {"code_interpreter_call", "mcp_call", "mcp_list_tools", "local_shell_call", "item_reference"}
    | {"computer_call_output", "local_shell_call_output", "mcp_approval_request"}
)
WRAPPER_KEYS = ("output", "input", "outputs", "inputs", "result")

Plain = dict[str, Any]


def framework_messages(value: Any) -> list[Plain] | None:
    """Plain chat messages from a LangChain, Responses API or LlamaIndex serialization, or
    None."""
    if isinstance(value, dict):
        return _from_dict(value, depth=0)
    if isinstance(value, list):
        return _from_list(value)
    return None


def _from_dict(value: dict[str, Any], depth: int) -> list[Plain] | None:
    message = langchain_message(value)
    if message is not None:
        return [message] if message["role"] else []
    message = llama_index_message(value)
    if message is not None:
        return [message]
    if value.get("lc") == 1 and isinstance(value.get("kwargs"), dict):  # a prompt value
        kwargs = value["kwargs"]
        if isinstance(kwargs.get("messages"), list):
            return _from_list(kwargs["messages"])
        if _class_name(value).endswith("PromptValue") and isinstance(kwargs.get("text"), str):
            return [{"role": "user", "content": kwargs["text"]}]
        return None
    if isinstance(value.get("messages"), list):  # {"messages": [...]} (or [[...]])
        return _from_list(value["messages"])
    if value.get("object") == "response" and isinstance(value.get("output"), list):
        return responses_messages(value["output"])
    given = value.get("input")
    if (isinstance(given, list) and "model" in value) or (
        isinstance(given, list | str) and "instructions" in value
    ):
        return _responses_request(value)
    if depth == 0:
        keys = [key for key in value if key in WRAPPER_KEYS]
        if len(keys) == 1 and len(value) <= 3:  # {"output": <serialized>} and kin
            inner = value[keys[0]]
            if isinstance(inner, dict):
                return _from_dict(inner, depth=1)
            if isinstance(inner, list):
                return _from_list(inner)
    return None


def _from_list(items: list[Any]) -> list[Plain] | None:
    if not items:
        return None
    # The usual case, chat messages (a role, no item type): one pass, nothing converted.
    if all(type(item) is dict and "role" in item and "type" not in item for item in items):
        return None
    if all(isinstance(item, list) for item in items):  # chat model inputs: [[messages]]
        found = [_from_list(inner) for inner in items]
        if any(f is None for f in found):
            return None
        return [message for group in found for message in group or []]
    converted = [langchain_message(item) for item in items]
    if all(message is not None for message in converted):
        return [m for m in converted if m is not None and m["role"]]
    if _is_responses_list(items):
        return responses_messages(items)
    return None


def _class_name(value: dict[str, Any]) -> str:
    ids = value.get("id")
    return str(ids[-1]) if isinstance(ids, list) and ids else ""


def langchain_message(value: Any) -> Plain | None:
    """One LangChain message (``message_to_dict`` or ``dumpd`` form) as a plain message."""
    if not isinstance(value, dict):
        return None
    if value.get("lc") == 1 and value.get("type") == "constructor":
        name = _class_name(value)
        body = value.get("kwargs")
        if not name.endswith(("Message", "MessageChunk")) or not isinstance(body, dict):
            return None
        kind = str(body.get("type") or name.removesuffix("Chunk").removesuffix("Message"))
    elif isinstance(value.get("data"), dict) and isinstance(value.get("type"), str):
        body = value["data"]
        if "content" not in body:
            return None
        kind = value["type"]
    elif (
        "content" in value
        and isinstance(value.get("type"), str)
        and ("additional_kwargs" in value or "response_metadata" in value)
    ):  # a message's model_dump()
        body, kind = value, value["type"]
    else:
        return None
    kind = kind.lower().removesuffix("messagechunk").removesuffix("message")
    if kind == "chat":
        role = str(body.get("role") or "unknown")
    elif kind in LANGCHAIN_ROLES:
        role = LANGCHAIN_ROLES[kind]
    else:
        return None
    message: Plain = {"role": role, "content": body.get("content", "")}
    calls = _langchain_calls(body)
    if calls:
        message["tool_calls"] = calls
    if role == "tool":
        call_id = body.get("tool_call_id") or body.get("name")
        if call_id:
            message["tool_call_id"] = call_id
    return message


def llama_index_message(value: dict[str, Any]) -> Plain | None:
    """A LlamaIndex ``ToolOutput`` (as a tool message) or ``Response``/``AgentChatResponse``
    (as an assistant message) dumped as a dict; None for any other dict."""
    if "tool_name" in value and "raw_output" in value and "raw_input" in value:
        content: Any = value.get("blocks")
        if not isinstance(content, list) or not content:
            content = value.get("content")
        if content is None or content == "":
            content = value["raw_output"]
        return {"role": "tool", "content": content}
    if isinstance(value.get("response"), str) and isinstance(value.get("source_nodes"), list):
        return {"role": "assistant", "content": value["response"]}
    return None


def _langchain_calls(body: dict[str, Any]) -> list[Plain]:
    calls = body.get("tool_calls")
    if isinstance(calls, list) and calls:  # LangChain's own {"name", "args", "id"}
        return [
            {"id": c.get("id"), "function": {"name": c.get("name"), "arguments": c.get("args")}}
            for c in calls
            if isinstance(c, dict)
        ]
    extra = body.get("additional_kwargs")
    if isinstance(extra, dict) and isinstance(extra.get("tool_calls"), list):
        return [c for c in extra["tool_calls"] if isinstance(c, dict)]  # OpenAI's shape
    return []


def _is_responses_list(items: list[Any]) -> bool:
    typed = False
    for item in items:
        if not isinstance(item, dict):
            return False
        kind = item.get("type")
        if kind in RESPONSES_TYPES or kind in RESPONSES_SKIPPED:
            typed = True
        elif "role" not in item:
            return False
    return typed


def responses_messages(items: list[Any]) -> list[Plain]:
    """Plain messages from Responses API input or output items (consecutive function
    calls become one assistant message with several tool calls)."""
    found: list[Plain] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in RESPONSES_CALL_TYPES:
            arguments = item.get("arguments", item.get("input"))
            function = {"name": item.get("name"), "arguments": arguments}
            call = {"id": item.get("call_id"), "function": function}
            last = found[-1] if found else None
            if last is not None and last.get("_calls_only"):
                last["tool_calls"].append(call)
            else:
                found.append(
                    {"role": "assistant", "content": "", "tool_calls": [call], "_calls_only": True}
                )
        elif kind in RESPONSES_OUTPUT_TYPES:
            found.append(
                {"role": "tool", "content": item.get("output"), "tool_call_id": item.get("call_id")}
            )
        elif kind in RESPONSES_SKIPPED:
            continue
        elif "role" in item:
            found.append({key: item[key] for key in ("role", "content") if key in item})
    for message in found:
        message.pop("_calls_only", None)
    return found


def _responses_request(value: dict[str, Any]) -> list[Plain] | None:
    found: list[Plain] = []
    if isinstance(value.get("instructions"), str) and value["instructions"]:
        found.append({"role": "system", "content": value["instructions"]})
    given = value["input"]
    if isinstance(given, str):
        found.append({"role": "user", "content": given})
    elif _is_responses_list(given) or all(isinstance(i, dict) and "role" in i for i in given):
        found += responses_messages(given)
    else:
        return None
    return found or None
