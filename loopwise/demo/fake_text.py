"""What the fake model writes: classifications (valid or broken JSON), replies and refusals.

Every function takes the call's seeded ``random.Random`` so the wording is reproducible.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .workflow import KbArticle, Ticket

UPSTREAM_ERRORS = (
    "upstream 503: service unavailable",
    "upstream 502: bad gateway",
    "upstream 429: rate limit exceeded",
    "upstream timeout after 30s",
)
REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I'm sorry, but I can't assist with that.",
    "As an AI assistant, I'm not able to help with this request.",
)
HIGH_PRIORITY_CUES = (
    "asap",
    "urgent",
    "immediately",
    "disput",
    "didn't place",
    "burning",
    "third time",
    "charged twice",
    "nothing at my door",
    "stop it",
)
LOW_PRIORITY_CUES = ("wondering", "can i ", "do you ", "how do i ", "will the ", "is your ")
OPENINGS = {
    "refund": (
        "Thanks for getting in touch about your return, and sorry for the hassle.",
        "I'm sorry this purchase didn't work out, and I'm happy to help with the refund.",
    ),
    "shipping": (
        "Thanks for your message, and sorry for the uncertainty around your delivery.",
        "I understand that waiting for a parcel is frustrating, so here is where things stand.",
    ),
    "account": (
        "Thanks for reaching out; I can help you sort out your account.",
        "Happy to help with your account.",
    ),
    "product": (
        "Thanks for the details about your product question.",
        "Thanks for letting us know, and I'm glad to help with this product.",
    ),
    "billing": (
        "Thanks for contacting us about this payment question.",
        "I'm sorry for the confusion about the charge, and I'm happy to clear it up.",
    ),
    "unknown": ("Thanks for your message.", "Thanks for getting in touch with us."),
}
ORDER_LINES = {
    "refund": "I've found your order {order_id} and the details of your return.",
    "shipping": "I've checked the shipment for order {order_id}.",
    "account": "I've flagged order {order_id} on your account.",
    "product": "I've pulled up order {order_id} so we can sort this out quickly.",
    "billing": "I've checked the payments on order {order_id}.",
    "unknown": "I've found your order {order_id}.",
}
ASK_FOR_ORDER = (
    "Could you reply with your order number (it is in your confirmation email) "
    "so I can look into it?"
)
POLICY_LEADS = ("Here is how this works:", "To explain our policy:", "Here's what applies:")
CLOSINGS = (
    "If anything is still unclear, just reply to this email and we'll sort it out.",
    "Let me know if there's anything else I can do for you.",
    "If you have any other questions, just reply here.",
)
AGENTS = ("Sam", "Jordan", "Robin")
COMMON_WORDS = frozenset(
    {
        "your",
        "have",
        "that",
        "this",
        "with",
        "from",
        "will",
        "what",
        "when",
        "they",
        "them",
        "there",
        "their",
        "then",
        "than",
        "about",
        "just",
        "been",
        "were",
        "would",
        "could",
        "should",
        "into",
        "only",
        "also",
        "after",
        "before",
        "does",
        "dont",
        "didnt",
    }
)


def classification_text(ticket: Ticket, rng: random.Random, *, invalid: bool) -> str:
    """The JSON classification of ``ticket``; when ``invalid``, a realistically broken one
    (truncated, wrapped in prose or a code fence, Python quoting, a trailing comma)."""
    answer = {"category": ticket["expected_category"], "priority": _priority(ticket)}
    text = json.dumps(answer)
    if not invalid:
        return text
    broken = (
        text[: rng.randint(12, len(text) - 4)],
        f"Sure! Here is the classification:\n{text}\nLet me know if you need anything else.",
        f"```json\n{text}\n```",
        str(answer),
        text[:-1] + ",}",
    )
    return rng.choice(broken)


def _priority(ticket: Ticket) -> str:
    text = f"{ticket['subject']} {ticket['body']}".lower()
    if "!!" in text or any(cue in text for cue in HIGH_PRIORITY_CUES):
        return "high"
    if any(cue in text for cue in LOW_PRIORITY_CUES):
        return "low"
    return "normal"


def reply_text(
    ticket: Ticket, context: Sequence[KbArticle], rng: random.Random, *, order_id: str | None
) -> str:
    """A polite reply quoting the ``context`` articles, mentioning ``order_id`` if given
    (or asking for one on refund and shipping tickets)."""
    category = context[0]["category"] if context else "unknown"
    sentences = [rng.choice(OPENINGS.get(category, OPENINGS["unknown"]))]
    if order_id:
        sentences.append(
            ORDER_LINES.get(category, ORDER_LINES["unknown"]).format(order_id=order_id)
        )
    elif category in ("refund", "shipping"):
        sentences.append(ASK_FOR_ORDER)
    if context:
        sentences.append(f"{rng.choice(POLICY_LEADS)} {_relevant_sentences(ticket, context)}")
    first_name = ticket["customer"].split()[0]
    return (
        f"Hi {first_name},\n\n{' '.join(sentences)}\n\n{rng.choice(CLOSINGS)}\n\n"
        f"Best regards,\n{rng.choice(AGENTS)}\nBrightcart Customer Support"
    )


def _relevant_sentences(ticket: Ticket, context: Sequence[KbArticle], count: int = 2) -> str:
    """The ``count`` context sentences sharing most words with the ticket, in reading order."""
    sentences = [
        sentence
        for article in context
        for sentence in re.split(r"(?<=[.!?])\s+", article["text"].strip())
    ]
    asked = _content_words(f"{ticket['subject']} {ticket['body']}")
    ranked = sorted(
        range(len(sentences)), key=lambda i: (-len(asked & _content_words(sentences[i])), i)
    )
    return " ".join(sentences[i] for i in sorted(ranked[:count]))


def _content_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]{4,}", text.lower())) - COMMON_WORDS


def invent_order_id(ticket: Ticket, context: Sequence[KbArticle], rng: random.Random) -> str:
    """A plausible order id that appears nowhere in the ticket or the context."""
    seen = f"{ticket['subject']} {ticket['body']} {ticket['order_id'] or ''}"
    seen += " ".join(article["text"] for article in context)
    while True:
        candidate = f"ORD-{rng.randint(90000, 99999)}"
        if candidate not in seen:
            return candidate
