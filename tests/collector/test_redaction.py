"""Redaction of normalized span batches: what each built-in kind catches and leaves alone,
cards checked with Luhn and issuer prefixes, JSON columns kept valid whatever the text, custom
patterns, per-project policies, counts in metadata, and config errors."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from loopwise.collector.redact import (
    COUNTS_KEY,
    JSON_COLUMNS,
    RedactionConfig,
    RedactionConfigError,
    is_card_number,
    load_redaction,
    redact_cards,
    redact_table,
    redaction_from_mapping,
)
from loopwise.collector.store import SPAN_ARROW_SCHEMA

VISA = "4111 1111 1111 1111"
NOT_LUHN = "4111 1111 1111 1112"


def spans(*rows: dict[str, Any]) -> pa.Table:
    """A batch in the spans schema; each row gives only the columns it cares about."""
    base = {
        "project": "p",
        "name": "n",
        "kind": "llm",
        "status": "ok",
        "start_time": 0,
        "end_time": 0,
        "duration_ms": 0.0,
        "ingested_at": 0,
    }
    full = [
        {**base, "trace_id": f"{i + 1:032x}", "span_id": f"{i + 1:016x}", **row}
        for i, row in enumerate(rows)
    ]
    return pa.Table.from_pylist(full, schema=SPAN_ARROW_SCHEMA)


def redacted_inputs(*texts: str, config: RedactionConfig | None = None) -> list[str]:
    table = redact_table(spans(*({"input": t} for t in texts)), config or RedactionConfig())
    return table["input"].to_pylist()


def counts(table: pa.Table) -> list[dict[str, int] | None]:
    return [json.loads(m).get(COUNTS_KEY) if m else None for m in table["metadata"].to_pylist()]


def test_each_builtin_kind_is_replaced_by_a_readable_marker() -> None:
    got = redacted_inputs(
        "Contact maria.lopez@example.com or ops+alerts@mail.example.co.uk today.",
        "Call +44 20 7946 0958, (415) 555-0132, 415.555.0132 or +14155550132.",
        f"Card {VISA}, amex 3782-822463-10005, mc 5555555555554444.",
        "OpenAI sk-proj-abcdefghijklmnopqrstuvwx1234 and AWS AKIAIOSFODNN7EXAMPLE.",
        "Authorization: Bearer abcdefghijklmnop1234.xyz and ghp_" + "a" * 36,
        'api_key=s3cr3tvalue123 password: "hunter2hunter" client_secret = Zm9vYmFyYmF6cXV4',
        "the signing key is 3f9a2b4c5d6e7f8091a2b3c4d5e6f708 (hex)",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- done",
    )
    assert got == [
        "Contact [redacted:email] or [redacted:email] today.",
        "Call [redacted:phone], [redacted:phone], [redacted:phone] or [redacted:phone].",
        "Card [redacted:card], amex [redacted:card], mc [redacted:card].",
        "OpenAI [redacted:api_key] and AWS [redacted:api_key].",
        "Authorization: Bearer [redacted:api_key] and [redacted:api_key]",
        'api_key=[redacted:secret] password: "[redacted:secret]" client_secret = [redacted:secret]',
        "the signing key is [redacted:secret] (hex)",
        "[redacted:secret] done",
    ]


def test_ordinary_numbers_and_words_are_left_alone() -> None:
    texts = (
        "Your order ORD-10234 was refunded: $89.99 on 2025-03-14T10:22:31Z.",
        "Refunds take 5-7 business days; express 1-2 days; version 1.2.3.4, build 20240105.",
        f"Card number {NOT_LUHN} fails the checksum; order 4111111111111112 too.",
        "Timestamps 1733212345678 and 1733212345678901234, invoice 2024-000123, ref 12345678.",
        "Trace 4bf92f3577b34da6a3ce929d0e0e4736 and span 00f067aa0ba902b7.",
        "Tracking 1Z999AA10123456784; the bearer of bad news; a token of thanks; sk-short",
        "max_tokens=4096 and input_tokens: 812; the password is in the vault",
        "See task-management-checklist-for-onboarding and ORD4111111111111111.",
    )
    assert redacted_inputs(*texts) == list(texts)


def test_cards_need_an_issuer_prefix_length_and_luhn() -> None:
    assert is_card_number(VISA) and is_card_number("378282246310005")
    assert not is_card_number(NOT_LUHN)
    assert not is_card_number("1234567812345670")  # Luhn-valid, but no issuer starts with 1
    assert not is_card_number("4111111111111111111")  # Visa length 19 but failing Luhn
    # A CVV after the number, a phone number or an id before it: the card is still found.
    assert redact_cards(f"{VISA} 123", "[c]") == ("[c] 123", 1)
    assert redact_cards(f"415 555 0132 {VISA} {VISA}", "[c]") == ("415 555 0132 [c] [c]", 2)
    assert redact_cards("4111111111111112 5555555555554444", "[c]") == ("4111111111111112 [c]", 1)
    assert redact_cards("1733212345678 1234", "[c]") == ("1733212345678 1234", 0)
    assert redacted_inputs(f"pay with {VISA} 123 now") == ["pay with [redacted:card] 123 now"]


def test_json_columns_stay_valid_json_whatever_the_text() -> None:
    tricky = [
        "line one\nbob@example.com",  # an escape right before the match
        'he said "alice@example.com"',  # quotes around it
        "\u001fcarol@example.com",  # a \u escape right before it
        "tab\tdave@example.com\\n",  # a literal backslash-n after it
        f"card:\n{VISA}",
    ]
    payload = {
        "input.value": "x",
        "texts": tricky,
        "card_as_number": 4111111111111111,
        "not_a_card": 4111111111111112,
        "alice@example.com": "a key that is an email",
    }
    table = spans(
        {
            "attributes": json.dumps(payload, ensure_ascii=False),
            "input_messages": json.dumps([{"role": "user", "content": t} for t in tricky]),
            "events": json.dumps([{"name": "exception", "attributes": {"m": tricky[0]}}]),
        }
    )
    out = redact_table(table, RedactionConfig()).to_pylist()[0]
    for column in JSON_COLUMNS:
        if out[column] is not None:
            json.loads(out[column])
    attributes = json.loads(out["attributes"])
    assert attributes["texts"] == [
        "line one\n[redacted:email]",
        'he said "[redacted:email]"',
        "\u001f[redacted:email]",
        "tab\t[redacted:email]\\n",
        "card:\n[redacted:card]",
    ]
    assert attributes["card_as_number"] == "[redacted:card]"
    assert attributes["not_a_card"] == 4111111111111112
    assert "[redacted:email]" in attributes and "alice@example.com" not in out["attributes"]
    messages = json.loads(out["input_messages"])
    assert [m["content"] for m in messages] == attributes["texts"]
    assert json.loads(out["events"])[0]["attributes"]["m"] == "line one\n[redacted:email]"


def test_counts_per_kind_go_into_metadata_and_forged_counts_are_dropped() -> None:
    table = spans(
        {"input": "a@example.com b@example.com", "output": VISA, "metadata": '{"ticket": "T-1"}'},
        {"input": "nothing here", "metadata": json.dumps({COUNTS_KEY: {"email": 99}, "k": 1})},
        {"input": "nothing here either"},
        {"status_message": "failed for c@example.com", "metadata": json.dumps({COUNTS_KEY: 5})},
    )
    out = redact_table(table, RedactionConfig())
    assert counts(out) == [{"card": 1, "email": 2}, None, None, {"email": 1}]
    metadata = [json.loads(m) if m else None for m in out["metadata"].to_pylist()]
    assert metadata[0]["ticket"] == "T-1"
    assert metadata[1] == {"k": 1}  # the client's own count is not trusted
    assert metadata[2] is None
    assert out["status_message"].to_pylist()[3] == "failed for [redacted:email]"


def test_projects_have_their_own_policy_and_custom_patterns() -> None:
    config = redaction_from_mapping(
        {
            "kinds": ["email", "card"],
            "patterns": [{"kind": "employee_id", "regex": "EMP-[0-9]{6}"}],
            "projects": {
                "open": {"enabled": False},
                "strict": {"kinds": ["email", "phone", "card", "api_key", "secret"]},
            },
        }
    )
    text = "EMP-123456 mailed a@example.com from +1 415 555 0132"
    table = spans(*({"project": p, "input": text} for p in ("default", "open", "strict")))
    out = redact_table(table, config)
    assert out["project"].to_pylist() == ["default", "open", "strict"]  # order kept
    assert out["input"].to_pylist() == [
        "[redacted:employee_id] mailed [redacted:email] from +1 415 555 0132",
        text,
        # a project's patterns replace the top-level ones only when it names them
        "[redacted:employee_id] mailed [redacted:email] from [redacted:phone]",
    ]
    assert counts(out) == [
        {"email": 1, "employee_id": 1},
        None,
        {"email": 1, "employee_id": 1, "phone": 1},
    ]


def test_redaction_off_changes_nothing() -> None:
    table = spans({"input": "a@example.com", "metadata": json.dumps({COUNTS_KEY: 1})})
    assert redact_table(table, RedactionConfig.off()) is table
    assert redact_table(table, load_redaction("off")) is table


def test_config_files_and_their_errors(tmp_path: Path) -> None:
    good = tmp_path / "redact.toml"
    good.write_text(
        'kinds = ["card"]\n[[patterns]]\nkind = "ticket_pin"\nregex = "PIN [0-9]{4}"\n'
        "[projects.ops]\nenabled = false\n"
    )
    config = load_redaction(good)
    assert config.source == str(good)
    assert [p.kind for p in config.policy("x").patterns] == ["card", "ticket_pin"]
    assert config.policy("ops").patterns == ()
    as_json = tmp_path / "redact.json"
    as_json.write_text(json.dumps({"kinds": ["email"]}))
    assert [p.kind for p in load_redaction(as_json).policy("x").patterns] == ["email"]
    bad = {
        "kinds = 3": "kinds: must be a list",
        'kinds = ["ssn"]': "unknown kind 'ssn'",
        "enabled = 'yes'": "enabled: must be true or false",
        "colour = 1": "unknown key 'colour'",
        '[[patterns]]\nkind = "x"\nregex = "(unclosed"': "does not compile",
        '[[patterns]]\nkind = "x"\nregex = "a*"': "matches empty text",
        '[[patterns]]\nkind = "Bad Name"\nregex = "x"': "lowercase name",
        '[[patterns]]\nkind = "x"\nregex = "(?<=a)b"': "not valid RE2 syntax",
        "[projects.p]\nkinds = [1]": r"projects.p.kinds\[0\]: must be a string",
        "kinds = [": "not valid TOML",
    }
    for text, message in bad.items():
        good.write_text(text)
        with pytest.raises(RedactionConfigError, match=message):
            load_redaction(good)
    with pytest.raises(RedactionConfigError, match="cannot read redaction config"):
        load_redaction(tmp_path / "missing.toml")


def test_random_text_never_breaks_json_or_leaks() -> None:
    """Texts mixing escapes, quotes, control characters and every kind, as values, keys and
    numbers: every JSON column stays valid and nothing of the kinds survives."""
    rng = random.Random(20261203)
    pieces = [
        "\n",
        '"',
        "\\",
        "\\n",
        "\u001f",
        "\t",
        " ",
        "x",
        "9",
        "é",
        "{",
        "}",
        ":",
        ",",
        "a@b.co",
        VISA,
        "4111111111111111",
        "+1 415 555 0132",
        "sk-" + "a" * 24,
    ]
    # What must not survive; a key or number glued to a letter or digit is another word (and
    # stays one after its neighbour was redacted: "[redacted:card]sk-...").
    leaks = re.compile(
        r"a@b\.co|(?<![A-Za-z0-9\]])4111 1111 1111 1111(?![0-9])"
        r"|(?<![A-Za-z0-9\]])4111111111111111(?![0-9])"
        r"|(?<![A-Za-z0-9\]])\+1 415 555 0132|(?<![A-Za-z0-9\]])sk-aaaa"
    )
    rows = []
    for _ in range(300):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(4)]
        attributes = {
            texts[0]: texts[1],
            "list": [texts[2], {"k": texts[3]}],
            "n": 4111111111111111,
        }
        rows.append(
            {
                "input": texts[0],
                "attributes": json.dumps(attributes, ensure_ascii=False),
                "input_messages": json.dumps([{"role": "user", "content": texts[1]}]),
            }
        )
    out = redact_table(spans(*rows), RedactionConfig()).to_pylist()
    for row in out:
        for column in ("attributes", "input_messages", "metadata"):
            if row[column] is not None:
                decoded = json.loads(row[column])
                flat = json.dumps(decoded, ensure_ascii=False)
                assert not leaks.search(flat), flat
        assert not leaks.search(row["input"]), row["input"]
