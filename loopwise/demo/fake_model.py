"""A deterministic fake chat model for the demo, with seeded, realistic faults.

``FakeModel`` never touches the network. It writes good answers from the ticket and the
knowledge-base articles it is given, except when a fault is injected. Which fault hits a
call is decided by a ``random.Random`` seeded with (seed, ticket id, task, attempt), so the
same seed always gives the same run, and a ticket seen again later gets fresh draws.

The model learns from worked examples: a prompt holding a reviewer-corrected example (a
``Corrected output:`` block) with a reviewers' note (or, in older prompts, a ``Reason:``) about
order ids or numbers stops it from inventing order numbers; the seeded draws stay the same,
only that fault no longer lands.

Latency is honest: every call really sleeps ``latency_s * time_scale`` seconds, so span
durations are wall-clock time (normal calls 0.03-0.09 s, slow calls 0.4-0.9 s at
``time_scale=1``). With ``time_scale=0`` (tests) nothing sleeps, and a slow call shows only
in ``ModelReply.faults`` and ``latency_s``.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from .fake_text import (
    REFUSALS,
    UPSTREAM_ERRORS,
    classification_text,
    invent_order_id,
    reply_text,
)

if TYPE_CHECKING:
    from .workflow import KbArticle, Ticket

Task = Literal["classify", "draft_reply"]
TASKS: tuple[Task, ...] = ("classify", "draft_reply")

DEFAULT_MODEL = "shopgpt-mini"
PROVIDER = "loopwise-fake"
PRICE_PER_MILLION_INPUT_USD = 0.15
PRICE_PER_MILLION_OUTPUT_USD = 0.60
ORDER_ID_LESSON = re.compile(
    r"^(?:Reason:|- ).*\border (?:ids?|numbers?)\b", re.IGNORECASE | re.MULTILINE
)
CORRECTED_EXAMPLE = "Corrected output:"
NORMAL_LATENCY_S = (0.03, 0.09)
SLOW_LATENCY_S = (0.4, 0.9)


class Fault(StrEnum):
    """A kind of failure the fake model injects."""

    INVALID_JSON = "invalid_json"
    INVENTED_ORDER_ID = "invented_order_id"
    REFUSAL = "refusal"
    SLOW_CALL = "slow_call"
    MODEL_ERROR = "model_error"


ELIGIBLE_TASKS: dict[Fault, tuple[Task, ...]] = {
    Fault.INVALID_JSON: ("classify",),
    Fault.INVENTED_ORDER_ID: ("draft_reply",),
    Fault.REFUSAL: ("draft_reply",),
    Fault.SLOW_CALL: TASKS,
    Fault.MODEL_ERROR: TASKS,
}
"""The tasks whose calls each fault can hit; its rate is per such call."""


@dataclass(frozen=True, slots=True)
class FaultRates:
    """The probability of each fault per eligible call (see ``ELIGIBLE_TASKS``).

    ``invented_order_id`` and ``refusal`` exclude each other and give way to
    ``model_error`` (a failed call has no text), so they are observed at about
    ``rate * (1 - model_error)``.
    """

    invalid_json: float = 0.08
    invented_order_id: float = 0.08
    refusal: float = 0.06
    slow_call: float = 0.07
    model_error: float = 0.05

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {field.name} must be within [0, 1], got {value}")
        if self.invented_order_id + self.refusal > 1.0:
            raise ValueError("invented_order_id + refusal must not exceed 1")

    def rate(self, fault: Fault) -> float:
        """The configured probability of ``fault`` per eligible call."""
        value: float = getattr(self, fault.value)
        return value


@dataclass(frozen=True, slots=True)
class ModelReply:
    """One completion: text, usage and the faults injected into it."""

    text: str
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    faults: tuple[Fault, ...]

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def cost_usd(self) -> float:
        """The price of the call at the fake model's list price."""
        cost = (
            self.input_tokens * PRICE_PER_MILLION_INPUT_USD
            + self.output_tokens * PRICE_PER_MILLION_OUTPUT_USD
        ) / 1_000_000
        return round(cost, 8)


class ModelError(RuntimeError):
    """The (fake) upstream model failed, like a 503 from a real provider.

    ``trace_id`` is filled in by the workflow with the trace the failure happened in.
    """

    def __init__(self, message: str, *, task: Task) -> None:
        super().__init__(message)
        self.task = task
        self.trace_id: str | None = None


def learned_lessons(prompt: str) -> frozenset[Fault]:
    """The faults the prompt's corrected few-shot examples teach the model to avoid."""
    if CORRECTED_EXAMPLE not in prompt:
        return frozenset()
    return frozenset({Fault.INVENTED_ORDER_ID}) if ORDER_ID_LESSON.search(prompt) else frozenset()


class FakeModel:
    """A seeded stand-in for a chat model; use one instance from one thread at a time.

    ``calls`` counts calls per task and ``faults`` counts injected faults per type.
    """

    def __init__(
        self,
        seed: int = 7,
        *,
        rates: FaultRates | None = None,
        time_scale: float = 1.0,
        model: str = DEFAULT_MODEL,
    ) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {time_scale}")
        self.seed = seed
        self.rates = rates if rates is not None else FaultRates()
        self.time_scale = time_scale
        self.model = model
        self.calls: Counter[str] = Counter()
        self.faults: Counter[Fault] = Counter()
        self._attempts: Counter[tuple[str, str]] = Counter()

    def complete(
        self, prompt: str, *, task: Task, ticket: Ticket, context: Sequence[KbArticle]
    ) -> ModelReply:
        """Answer ``prompt`` for ``task`` about ``ticket`` with ``context`` articles.

        Raises ModelError when that fault is injected (after the call's latency).
        """
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        attempt = self._attempts[(ticket["id"], task)]
        self._attempts[(ticket["id"], task)] += 1
        rng = random.Random(f"{self.seed}:{ticket['id']}:{task}:{attempt}")
        faults = self._draw_faults(rng, task)
        if Fault.INVENTED_ORDER_ID in faults and Fault.INVENTED_ORDER_ID in learned_lessons(prompt):
            faults = tuple(f for f in faults if f is not Fault.INVENTED_ORDER_ID)
        slow = Fault.SLOW_CALL in faults
        latency_s = rng.uniform(*(SLOW_LATENCY_S if slow else NORMAL_LATENCY_S))
        self.calls[task] += 1
        self.faults.update(faults)
        if self.time_scale > 0:
            time.sleep(latency_s * self.time_scale)
        if Fault.MODEL_ERROR in faults:
            raise ModelError(rng.choice(UPSTREAM_ERRORS), task=task)
        if task == "classify":
            text = classification_text(ticket, rng, invalid=Fault.INVALID_JSON in faults)
        elif Fault.REFUSAL in faults:
            text = rng.choice(REFUSALS)
        elif Fault.INVENTED_ORDER_ID in faults:
            text = reply_text(ticket, context, rng, order_id=invent_order_id(ticket, context, rng))
        else:
            text = reply_text(ticket, context, rng, order_id=ticket["order_id"])
        return ModelReply(
            text=text,
            model=self.model,
            provider=PROVIDER,
            input_tokens=max(1, len(prompt) // 4),
            output_tokens=max(1, len(text) // 4),
            latency_s=latency_s,
            faults=faults,
        )

    def _draw_faults(self, rng: random.Random, task: Task) -> tuple[Fault, ...]:
        # Always three draws in the same order, so changing one rate moves no other fault.
        slow = rng.random() < self.rates.slow_call
        error = rng.random() < self.rates.model_error
        content_draw = rng.random()
        faults = [Fault.SLOW_CALL] if slow else []
        if error:
            faults.append(Fault.MODEL_ERROR)
        elif task == "classify" and content_draw < self.rates.invalid_json:
            faults.append(Fault.INVALID_JSON)
        elif task == "draft_reply" and content_draw < self.rates.invented_order_id:
            faults.append(Fault.INVENTED_ORDER_ID)
        elif task == "draft_reply" and content_draw < (
            self.rates.invented_order_id + self.rates.refusal
        ):
            faults.append(Fault.REFUSAL)
        return tuple(faults)
