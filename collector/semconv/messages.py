"""Chat messages in one canonical shape, rebuilt from whatever a convention sent.

A canonical message is ``{"role": str, "content": str, "tool_calls": [...]}`` (``tool_calls``
only when present, each ``{"name", "arguments", "id"}``).
"""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]


def unflatten(attrs: dict[str, Any], prefix: str) -> Any:
    """Rebuild the nested value whose leaves were flattened under ``prefix.``.

    ``{"p.0.message.role": "user"}`` with prefix ``"p"`` becomes
    ``[{"message": {"role": "user"}}]``.
    Returns None when no key carries the prefix.
    """
    head = prefix + "."
    root: dict[str, Any] = {}
    found = False
    for key, value in attrs.items():
        if not key.startswith(head):
            continue
        found = True
        node = root
        parts = key[len(head) :].split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return _lists_from_digit_keys(root) if found else None


def _lists_from_digit_keys(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_digit_keys(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def render_text(messages: list[Message]) -> str:
    """Plain text of messages for search and evaluation: the content alone for one message,
    ``role: content`` lines for several."""
    if len(messages) == 1:
        return _message_text(messages[0])
    return "\n".join(f"{m.get('role') or 'unknown'}: {_message_text(m)}" for m in messages)


def _message_text(message: Message) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else ("" if content is None else str(content))
    calls = message.get("tool_calls") or []
    if calls and not text:
        text = "; ".join(f"{c.get('name')}({c.get('arguments') or ''})" for c in calls)
    return text
