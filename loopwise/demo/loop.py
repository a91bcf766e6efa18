"""Closing the loop on the demo: re-run the draft_reply step over dataset examples with a
chosen prompt template, and check every reply against the demo's answer key.

Dataset examples made from draft_reply spans hold the prompt variables as input and the
ticket id in their metadata, so the step can be replayed with another prompt version on
the same seeded model draws: the only difference between two runs is the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopwise.collector.sdk import render_template

from .fake_model import FakeModel, FaultRates, ModelError
from .workflow import KbArticle, Ticket, load_kb, load_tickets

ORDER_ID = re.compile(r"\bORD-\d{5}\b")
KB_REFERENCE = re.compile(r"^\[(KB\d+)\]", re.MULTILINE)


def invented_order_ids(reply: str, ticket: Ticket) -> list[str]:
    """Order ids in ``reply`` that the ticket does not mention."""
    given = set(ORDER_ID.findall(f"{ticket['subject']} {ticket['body']}"))
    return [order for order in dict.fromkeys(ORDER_ID.findall(reply)) if order not in given]


@dataclass
class ReplyEval:
    """How one prompt template did over a set of examples."""

    examples: int = 0
    passed: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # example id -> what went wrong

    @property
    def pass_rate(self) -> float:
        """Passed examples over all examples (0.0 for none)."""
        return self.passed / self.examples if self.examples else 0.0


def ticket_id_of(example: Mapping[str, Any]) -> str | None:
    """The ticket an example came from (its span's ``ticket_id`` metadata)."""
    metadata = example.get("metadata") or {}
    span_metadata = metadata.get("span_metadata") or {}
    ticket_id = span_metadata.get("ticket_id") or metadata.get("ticket_id")
    return ticket_id if isinstance(ticket_id, str) else None


def evaluate_reply_prompt(
    examples: Sequence[Mapping[str, Any]],
    template: str,
    *,
    seed: int = 7,
    rates: FaultRates | None = None,
) -> ReplyEval:
    """Replay draft_reply with ``template`` over ``examples`` (dicts as the dataset API
    returns them) on a fresh seeded model; an example passes when the reply invents no
    order id. Examples without a ticket id or prompt variables are failures."""
    model = FakeModel(seed, rates=rates, time_scale=0)
    tickets = {ticket["id"]: ticket for ticket in load_tickets()}
    kb = {article["id"]: article for article in load_kb()}
    result = ReplyEval()
    for example in examples:
        example_id = str(example.get("example_id"))
        result.examples += 1
        ticket = tickets.get(ticket_id_of(example) or "")
        variables = example.get("input")
        if ticket is None or not isinstance(variables, dict):
            result.failures[example_id] = "not a draft_reply example (no ticket or variables)"
            continue
        context: list[KbArticle] = [
            kb[ref]
            for ref in KB_REFERENCE.findall(str(variables.get("knowledge", "")))
            if ref in kb
        ]
        try:
            prompt = render_template(template, variables)
            reply = model.complete(prompt, task="draft_reply", ticket=ticket, context=context)
        except (ValueError, ModelError) as exc:
            result.failures[example_id] = f"{type(exc).__name__}: {exc}"
            continue
        invented = invented_order_ids(reply.text, ticket)
        if invented:
            result.failures[example_id] = f"invented order id(s) {', '.join(invented)}"
        else:
            result.passed += 1
    return result
