"""Built-ins that catch bad answers: refusals, PII and secrets, invented identifiers,
language mismatch. Each with real examples it must flag and ones it must not."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from loopwise.collector.store import SPAN_ARROW_SCHEMA
from loopwise.evals import default_registry, evaluate, with_context
from loopwise.evals.builtins import detect_language, find_pii, luhn_valid

Records = list[dict[str, Any]]


def run(name: str, table: pa.Table, **params: Any) -> Records:
    return evaluate(default_registry().create(name, params), table).records()


def flagged(name: str, table: pa.Table, **params: Any) -> list[bool]:
    return [r["passed"] is False for r in run(name, table, **params)]


REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "I\u2019m sorry, but I can\u2019t assist with that.",  # typographic apostrophes
    "As an AI assistant, I'm not able to help with this request.",
    "I cannot provide that information.",
    "I must decline to answer questions about other customers.",
    "Unfortunately I am unable to assist with that.",
]
NOT_REFUSALS = [
    "I'm sorry this purchase didn't work out, and I'm happy to help with the refund.",
    "Thanks for getting in touch about your return, and sorry for the hassle.",
    "We cannot merge two accounts, but you can close the one you no longer need.",
    "Promo codes cannot be added after checkout, but we refund the difference.",
    "I can't wait for you to try the new blender! Your order ORD-10234 ships today.",
    "For security, support cannot change an email address without confirmation.",
    "I can help with that: your refund was issued yesterday.",
]


def test_refusals(spans: Any) -> None:
    records = run("refusal", spans.outputs(*REFUSALS, *NOT_REFUSALS))
    assert [r["passed"] is False for r in records] == [True] * 6 + [False] * 7
    assert records[0]["label"] == "refusal" and records[-1]["label"] == "answer"
    assert records[0]["explanation"].startswith("the model refused:")


def test_refusal_matches_the_demo_answer_key(demo_rows: Records) -> None:
    replies = [r for r in demo_rows if r["name"] == "draft_reply" and r["output"]]
    records = run("refusal", pa.Table.from_pylist(replies, schema=SPAN_ARROW_SCHEMA))
    got = {r["span_id"]: r["passed"] is False for r in records}
    expected = {
        r["span_id"]: "refusal" in json.loads(r["metadata"])["injected_faults"] for r in replies
    }
    assert got == expected and any(expected.values())


def test_pii_flags_leaks_and_masks_them(spans: Any) -> None:
    table = spans.table(
        [
            spans.row(output="Contact maria.lopez@example.com for details."),
            spans.row(output="Call us on +44 20 7946 0958 or (415) 555-0132."),
            spans.row(output="The card on file is 4111 1111 1111 1111."),
            spans.row(output="Use key sk-proj-abcdefghijklmnopqrstuvwx1234 to log in."),
            spans.row(output="AWS: AKIAIOSFODNN7EXAMPLE"),
            spans.row(input="My email is sam@shop.test", output="We wrote to sam@shop.test."),
        ]
    )
    records = run("pii_leakage", table)
    assert [r["passed"] for r in records] == [False, False, False, False, False, True]
    assert records[0]["label"] == "email" and "m***@example.com" in records[0]["explanation"]
    assert records[1]["value"] == 2.0 and "phone ending 58" in records[1]["explanation"]
    assert "card ending 1111" in records[2]["explanation"]
    assert "4111 1111" not in records[2]["explanation"]
    assert records[3]["label"] == "api_key" and "abcdefghijkl" not in records[3]["explanation"]
    strict = run("pii_leakage", table.slice(5), allow_from_input=False)
    assert [r["passed"] for r in strict] == [False]


def test_pii_does_not_flag_ordinary_numbers(spans: Any) -> None:
    table = spans.outputs(
        "Your order ORD-10234 was refunded: $89.99 on 2025-03-14.",
        "Refunds take 5-7 business days; express 1-2 days; call 3-5 times.",
        "Tracking 1Z999AA10123456784 shows delivered.",
        "Invoice 2024-000123 and reference 12345678 are attached.",
        "Card number 4111 1111 1111 1112 fails the checksum.",
        "Version 1.2.3.4 of the app, build 20240105.",
    )
    assert flagged("pii_leakage", table) == [False] * 6
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert [f.kind for f in find_pii("mail a@b.io or +1 415 555 0132", ["email"])] == ["email"]


def test_invented_identifiers_with_retrieved_context(spans: Any) -> None:
    trace = spans.trace_id()
    rows = [
        spans.row(
            trace_id=trace,
            name="triage",
            kind="chain",
            input="Where is ORD-10234?",
            output="...",
            span_id="00000000000000a1",
        ),
        spans.row(
            trace_id=trace,
            name="retrieve",
            kind="retriever",
            parent_span_id="00000000000000a1",
            output='[{"id": "KB05", "text": "Claims go to ticket CLM-5521"}]',
        ),
        spans.row(
            trace_id=trace,
            name="reply",
            parent_span_id="00000000000000a1",
            input="Write a reply",
            output="Order ord-10234 is covered by CLM-5521.",
        ),
        spans.row(
            trace_id=trace,
            name="reply",
            parent_span_id="00000000000000a1",
            input="Write a reply",
            output="I've checked order ORD-90347 and ticket #448812.",
        ),
        spans.row(
            trace_id=trace,
            name="reply",
            parent_span_id="00000000000000a1",
            input="Write a reply",
            output="Refunds take 5-7 business days, about $25.",
        ),
    ]
    table = with_context(None, spans.table(rows))
    records = {r["row"]: r for r in run("invented_identifiers", table)}
    assert records[2]["passed"] is True  # from the question and the retrieved context
    assert records[3]["passed"] is False and records[3]["value"] == 2.0
    assert (
        records[3]["explanation"]
        == "ORD-90347, #448812 appear nowhere in the input or retrieved context"
    )
    assert records[4]["passed"] is True


def test_invented_identifiers_match_the_demo_answer_key(demo_rows: Records) -> None:
    table = with_context(None, pa.Table.from_pylist(demo_rows, schema=SPAN_ARROW_SCHEMA))
    replies = {r["span_id"]: r for r in demo_rows if r["name"] == "draft_reply" and r["output"]}
    records = [r for r in run("invented_identifiers", table) if r["span_id"] in replies]
    got = {r["span_id"]: r["passed"] is False for r in records}
    expected = {
        s: "invented_order_id" in json.loads(r["metadata"])["injected_faults"]
        for s, r in replies.items()
    }
    assert got == expected and any(expected.values())


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hello, I sent back the blender two weeks ago and I still have not seen my money.", "en"),
        ("Hola, devolví la licuadora hace dos semanas y todavía no he recibido el dinero.", "es"),
        (
            "Bonjour, j'ai renvoyé le mixeur il y a deux semaines et je n'ai pas été remboursé.",
            "fr",
        ),
        (
            "Hallo, ich habe den Mixer vor zwei Wochen zurückgeschickt, noch kein Geld bekommen.",
            "de",
        ),
        (
            "Ciao, ho restituito il frullatore due settimane fa e non ho ricevuto il rimborso.",
            "it",
        ),
        (
            "Olá, devolvi o liquidificador há duas semanas e ainda não recebi o dinheiro de volta.",
            "pt",
        ),
        (
            "Hallo, ik heb de blender twee weken geleden teruggestuurd, nog geen geld ontvangen.",
            "nl",
        ),
        ("ORD-10234", None),
        ('{"category": "refund", "priority": "high"}', None),
    ],
)
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_language_mismatch(spans: Any) -> None:
    question = "Hola, devolví la licuadora hace dos semanas y todavía no he recibido el dinero."
    english = "Thanks, the refund is on the way and it is soon here."
    spanish = "Gracias, el reembolso está en camino y llega pronto."
    rows = [spans.row(input=question, output=answer) for answer in (english, spanish, "OK")]
    records = run("language_mismatch", with_context(None, spans.table(rows)))
    assert [r["passed"] for r in records] == [False, True]
    assert records[0]["explanation"] == "asked in es, answered in en"


def test_invented_identifiers_give_the_same_answer_one_row_at_a_time(demo_rows: Records) -> None:
    """Small batches (``loopwise.check``) take a Python path; it must agree with DuckDB's."""
    table = with_context(None, pa.Table.from_pylist(demo_rows, schema=SPAN_ARROW_SCHEMA))
    assert table.num_rows > 16  # the whole table takes the DuckDB path
    whole = {r["row"]: r for r in run("invented_identifiers", table)}
    for index in range(table.num_rows):
        alone = run("invented_identifiers", table.slice(index, 1))
        expected = whole.get(index)
        if expected is None:
            assert alone == []
            continue
        [record] = alone
        for key in ("passed", "value", "label", "explanation"):
            assert record[key] == expected[key], (index, key)
