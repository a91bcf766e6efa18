"""The demo workflow's prompts, as registry templates.

The workflow asks the registry for ``triage-classify`` and ``triage-reply`` (label
production) through ``client.prompt`` and falls back to these templates when the registry
does not have them (or no collector is there), so the demo runs the same either way and its
spans say which prompt version they used. ``register_demo_prompts`` stores them as
version 1, labelled production, where they are missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopwise.feedback import Backend

CLASSIFY_PROMPT = "triage-classify"
REPLY_PROMPT = "triage-reply"
CATEGORIES = ("refund", "shipping", "account", "product", "billing")
PRIORITIES = ("low", "normal", "high")

CLASSIFY_INSTRUCTIONS = (
    "You are the triage assistant of Brightcart, an online shop. Classify the customer "
    f"ticket into exactly one category ({', '.join(CATEGORIES)}) and rate its priority "
    f"({', '.join(PRIORITIES)}). Answer with JSON only, for example "
    '{"category": "shipping", "priority": "normal"}.'
)
REPLY_INSTRUCTIONS = (
    "You are a friendly Brightcart support agent. Write a short, polite email reply to the "
    "ticket below. Base every statement on the knowledge-base articles. Mention the "
    "customer's order number if they gave one, and never invent order numbers."
)
CLASSIFY_TEMPLATE = f"{CLASSIFY_INSTRUCTIONS}\n\nSubject: {{{{subject}}}}\n\n{{{{body}}}}"
REPLY_TEMPLATE = (
    f"{REPLY_INSTRUCTIONS}\n\nCategory: {{{{category}}}}\nPriority: {{{{priority}}}}\n\n"
    "Knowledge base:\n{{knowledge}}\n\n"
    "Ticket from {{customer}}:\nSubject: {{subject}}\n\n{{body}}"
)
DEMO_PROMPTS = {CLASSIFY_PROMPT: CLASSIFY_TEMPLATE, REPLY_PROMPT: REPLY_TEMPLATE}
DEMO_MODEL_PARAMS: dict[str, Any] = {"model": "shopgpt-mini", "temperature": 0.2}


def register_demo_prompts(backend: Backend, actor: str = "loopwise-demo") -> list[str]:
    """Store each demo prompt as version 1 labelled production unless the registry has it;
    return the names stored. ``backend`` is an HttpBackend or LocalBackend."""
    from loopwise.feedback import NotFound

    stored = []
    for name, template in DEMO_PROMPTS.items():
        try:
            backend.call("GET", f"/api/prompts/{name}/versions")
            continue
        except NotFound:
            pass
        backend.call(
            "POST",
            f"/api/prompts/{name}/versions",
            body={
                "template": template,
                "model_params": DEMO_MODEL_PARAMS,
                "labels": ["production"],
                "message": "the demo's original prompt",
                "expected_version": 0,
                "actor": actor,
            },
        )
        stored.append(name)
    return stored
