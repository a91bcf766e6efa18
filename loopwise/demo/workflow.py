"""The demo's support-triage workflow, instrumented with the loopwise SDK.

One ticket is one trace::

    triage_ticket (chain)      input: subject and body, output: the final reply
    ├── classify (llm)         output: the model's raw text, expected to be JSON
    ├── retrieve (retriever)   output: [{id, title}] of the chosen KB articles
    └── draft_reply (llm)      output: the reply

A classification that is not valid JSON falls back to the category ``unknown`` and the
workflow carries on, a silent fault for evaluators to catch. A ``ModelError`` propagates:
the spans it crosses and the trace end in status error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict, cast

from loopwise.collector.sdk import Client, Prompt, render_template, template_variables
from loopwise.datasets import dataset_path

from .fake_model import FakeModel, Fault, ModelError, ModelReply, Task
from .prompts import (
    CATEGORIES,
    CLASSIFY_PROMPT,
    CLASSIFY_TEMPLATE,
    PRIORITIES,
    REPLY_PROMPT,
    REPLY_TEMPLATE,
)

DATASET = "support_tickets"
FALLBACK_CATEGORY = "unknown"
FALLBACK_PRIORITY = "normal"
RETRIEVED_ARTICLES = 2
CATEGORY_MATCH_SCORE = 5

STOPWORDS = frozenset(
    {
        "a",
        "all",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "for",
        "from",
        "get",
        "got",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "just",
        "me",
        "my",
        "no",
        "not",
        "now",
        "of",
        "on",
        "one",
        "or",
        "order",
        "so",
        "still",
        "take",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "will",
        "with",
        "you",
        "your",
    }
)


class Ticket(TypedDict):
    """A support ticket, as in datasets/support_tickets/tickets.jsonl."""

    id: str
    customer: str
    subject: str
    body: str
    order_id: str | None
    expected_category: str
    expected_reply_points: list[str]


class KbArticle(TypedDict):
    """A knowledge-base article, as in datasets/support_tickets/kb.jsonl."""

    id: str
    title: str
    text: str
    category: str


@dataclass(frozen=True, slots=True)
class Classification:
    """The category and priority read from the classify step; ``valid`` is False when the
    model's text was unusable and the fallback was taken."""

    category: str
    priority: str
    valid: bool


@dataclass(frozen=True, slots=True)
class TriageResult:
    """What one successful run of the workflow produced."""

    ticket_id: str
    trace_id: str
    classification: Classification
    article_ids: tuple[str, ...]
    reply: str
    faults: tuple[Fault, ...]
    held: str | None = None  # the review decision when the draft was held ("timeout": pending)


@dataclass(frozen=True)
class Guard:
    """Check each draft reply before it is sent; hold a failing one for a person.

    ``wait_s`` is how long the workflow waits for the decision (0: send the holding reply at
    once and leave the draft in the queue, as the live demo does)."""

    evaluators: tuple[str, ...] = ("invented_identifiers",)
    wait_s: float = 0.0


HOLDING_REPLY = "Thanks for your patience: a colleague is checking this and will reply shortly."


def load_tickets() -> list[Ticket]:
    """The shipped support tickets, in file order."""
    return [cast(Ticket, row) for row in _read_jsonl("tickets.jsonl")]


def load_kb() -> list[KbArticle]:
    """The shipped knowledge-base articles, in file order."""
    return [cast(KbArticle, row) for row in _read_jsonl("kb.jsonl")]


def _read_jsonl(file_name: str) -> list[dict[str, object]]:
    path = dataset_path(DATASET) / file_name
    rows: list[dict[str, object]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON: {error}") from None
    return rows


def parse_classification(text: str) -> Classification:
    """Read the classify step's JSON strictly; anything else gives the fallback category."""
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        return Classification(FALLBACK_CATEGORY, FALLBACK_PRIORITY, valid=False)
    if not isinstance(answer, dict) or answer.get("category") not in CATEGORIES:
        return Classification(FALLBACK_CATEGORY, FALLBACK_PRIORITY, valid=False)
    priority = answer.get("priority")
    return Classification(
        category=str(answer["category"]),
        priority=priority if isinstance(priority, str) and priority in PRIORITIES else "normal",
        valid=True,
    )


def retrieve_articles(
    ticket: Ticket, category: str, kb: Sequence[KbArticle], *, top_k: int = RETRIEVED_ARTICLES
) -> list[KbArticle]:
    """The ``top_k`` articles scored by category match plus words shared with the ticket."""
    asked = _words(f"{ticket['subject']} {ticket['body']}")
    scored: list[tuple[int, str, KbArticle]] = []
    for article in kb:
        score = len(asked & _words(f"{article['title']} {article['text']}"))
        if article["category"] == category:
            score += CATEGORY_MATCH_SCORE
        if score > 0:
            scored.append((score, article["id"], article))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [article for _, _, article in scored[:top_k]]


def _words(text: str) -> set[str]:
    """Lower-cased words of three or more characters, without stopwords or a plural "s"."""
    words = re.findall(r"[a-z0-9]{3,}", text.lower())
    return {word.removesuffix("s") for word in words if word not in STOPWORDS}


def classify_variables(ticket: Ticket) -> dict[str, str]:
    """The variables of the classify prompt."""
    return {"subject": ticket["subject"], "body": ticket["body"]}


def reply_variables(
    ticket: Ticket, classification: Classification, articles: Sequence[KbArticle]
) -> dict[str, str]:
    """The variables of the draft_reply prompt."""
    knowledge = "\n".join(f"[{a['id']}] {a['title']}: {a['text']}" for a in articles) or "(none)"
    return {
        "category": classification.category,
        "priority": classification.priority,
        "knowledge": knowledge,
        "customer": ticket["customer"],
        "subject": ticket["subject"],
        "body": ticket["body"],
    }


def classify_prompt(ticket: Ticket) -> str:
    """The classify step's built-in prompt (the registry's may differ)."""
    return render_template(CLASSIFY_TEMPLATE, classify_variables(ticket))


def reply_prompt(
    ticket: Ticket, classification: Classification, articles: Sequence[KbArticle]
) -> str:
    """The draft_reply step's built-in prompt (the registry's may differ)."""
    return render_template(REPLY_TEMPLATE, reply_variables(ticket, classification, articles))


def session_id_for(customer: str) -> str:
    """The session id that groups one customer's tickets, e.g. ``session-maria-lopez``."""
    return "session-" + re.sub(r"[^a-z0-9]+", "-", customer.lower()).strip("-")


def run_ticket(
    client: Client,
    model: FakeModel,
    ticket: Ticket,
    kb: Sequence[KbArticle],
    guard: Guard | None = None,
) -> TriageResult:
    """Triage one ticket as one trace on ``client``; return the reply and what happened.

    A ModelError propagates (its ``trace_id`` set to this trace); the trace is an error.
    Both prompts come from the registry (label production) through ``client.prompt``, with
    the built-in templates as fallback.
    """
    classify_template = _prompt(client, CLASSIFY_PROMPT, CLASSIFY_TEMPLATE)
    reply_template = _prompt(client, REPLY_PROMPT, REPLY_TEMPLATE)
    with client.span("triage_ticket", kind="chain") as root:
        root.set_input(f"{ticket['subject']}\n\n{ticket['body']}")
        root.set_user(ticket["customer"])
        root.set_session(session_id_for(ticket["customer"]))
        root.set_metadata(ticket_id=ticket["id"], order_id=ticket["order_id"])
        try:
            classify_reply = _call_model(
                client,
                model,
                "classify",
                classify_template,
                classify_variables(ticket),
                ticket,
                [],
            )
            classification = parse_classification(classify_reply.text)
            articles = _retrieve(client, ticket, classification.category, kb)
            variables = reply_variables(ticket, classification, articles)
            draft = _call_model(
                client, model, "draft_reply", reply_template, variables, ticket, articles
            )
        except ModelError as error:
            error.trace_id = root.trace_id
            raise
        reply, held = draft.text, None
        if guard is not None:
            reply, held = _guarded_reply(client, guard, draft.text, ticket, articles)
        root.set_output(reply)
        root.set_tags(["demo", classification.category])
        root.set_metadata(
            ticket_id=ticket["id"],
            order_id=ticket["order_id"],
            category=classification.category,
            priority=classification.priority,
            kb_articles=[article["id"] for article in articles],
            **({"held": held} if held else {}),
        )
        return TriageResult(
            ticket_id=ticket["id"],
            trace_id=root.trace_id,
            classification=classification,
            article_ids=tuple(article["id"] for article in articles),
            reply=reply,
            faults=classify_reply.faults + draft.faults,
            held=held,
        )


def _guarded_reply(
    client: Client, guard: Guard, draft: str, ticket: Ticket, articles: Sequence[KbArticle]
) -> tuple[str, str | None]:
    """The reply to send: the draft when it passes its check, else what a person decided (or
    the holding reply while nobody has)."""
    import loopwise

    question = f"{ticket['subject']}\n\n{ticket['body']}"
    with client.span("check_reply", kind="guardrail") as span:
        span.set_input(draft)
        context = {"retrieved": [f"{a['title']}\n{a['text']}" for a in articles]}
        checked = loopwise.check(
            draft, evaluators=list(guard.evaluators), input=question, context=context
        )
        span.set_output({"passed": checked.passed, "failed": list(checked.failed)})
        if checked.passed:
            return draft, None
        decision = loopwise.hold(output=draft, input=question, check=checked, client=client).wait(
            guard.wait_s
        )
    if decision.released and decision.output is not None:
        return decision.output, decision.action
    return HOLDING_REPLY, decision.action


def _prompt(client: Client, name: str, fallback: str) -> Prompt:
    """The registry's prompt, unless it needs variables the workflow does not have."""
    prompt = client.prompt(name, fallback=fallback)
    if set(prompt.variables) <= set(template_variables(fallback)):
        return prompt
    return Prompt(name, fallback, label=prompt.label, source="fallback")


def _call_model(
    client: Client,
    model: FakeModel,
    task: Task,
    template: Prompt,
    variables: dict[str, str],
    ticket: Ticket,
    context: Sequence[KbArticle],
) -> ModelReply:
    with client.span(task, kind="llm") as span:
        # Rendering inside the span records the prompt's name and version on it.
        prompt = template.format(**variables)
        span.set_input(prompt)
        span.set_metadata(task=task, ticket_id=ticket["id"])
        reply = model.complete(prompt, task=task, ticket=ticket, context=context)
        span.set_usage(
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            total_tokens=reply.total_tokens,
            model=reply.model,
            provider=reply.provider,
            cost_usd=reply.cost_usd,
        )
        span.set_output(reply.text)
        # The demo's answer key: which faults the fake model injected into this call.
        span.set_metadata(
            task=task,
            ticket_id=ticket["id"],
            simulated_latency_s=round(reply.latency_s, 3),
            injected_faults=[fault.value for fault in reply.faults],
        )
        return reply


def _retrieve(
    client: Client, ticket: Ticket, category: str, kb: Sequence[KbArticle]
) -> list[KbArticle]:
    with client.span("retrieve", kind="retriever") as span:
        span.set_input({"query": f"{ticket['subject']} {ticket['body']}", "category": category})
        articles = retrieve_articles(ticket, category, kb)
        span.set_output([{"id": article["id"], "title": article["title"]} for article in articles])
        span.set_metadata(top_k=RETRIEVED_ARTICLES, kb_size=len(kb))
        return articles
