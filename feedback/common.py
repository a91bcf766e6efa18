"""Small helpers shared by the feedback modules: ids, clocks, JSON text, input checks and
batched inserts inside a transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from loopwise.collector.store import Store

from .errors import FeedbackError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
MAX_ACTOR_CHARS = 200
MAX_TEXT_CHARS = 1_000_000


def utcnow() -> dt.datetime:
    """The current UTC time, naive (the store's TIMESTAMP columns hold UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_id(prefix: str) -> str:
    """A fresh random id such as ``rev_3f2a...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def stable_id(prefix: str, *parts: str) -> str:
    """An id derived from ``parts``: the same parts always give the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}_{digest}"


def check_name(value: Any, what: str) -> str:
    """A dataset or prompt name: letters, digits, ``_ . -``, at most 100 characters."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise FeedbackError(
            f"invalid {what} name {value!r}: use letters, digits, '_', '.' or '-' "
            "(starting with a letter or digit, at most 100 characters)"
        )
    return value


def check_actor(value: Any) -> str:
    """Who acts: a non-empty name of at most 200 characters (stripped)."""
    if not isinstance(value, str) or not value.strip():
        raise FeedbackError("actor is required: who is doing this?")
    if len(value) > MAX_ACTOR_CHARS:
        raise FeedbackError(f"actor is longer than {MAX_ACTOR_CHARS} characters")
    return value.strip()


def optional_text(value: Any, what: str, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """``value`` if it is None or a string of at most ``max_chars``; else a clear error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FeedbackError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_chars:
        raise FeedbackError(f"{what} is longer than {max_chars} characters")
    return value


def required_text(value: Any, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """A non-empty string of at most ``max_chars``; else a clear error."""
    text = optional_text(value, what, max_chars)
    if text is None or not text.strip():
        raise FeedbackError(f"{what} is required")
    return text


def optional_version(value: Any, what: str = "expected_version") -> int | None:
    """None or a non-negative integer (``0`` means "nothing exists yet")."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FeedbackError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces; raises FeedbackError for values JSON cannot
    hold (NaN, infinity, objects), text that is not valid Unicode (a lone surrogate, which no
    UTF-8 file or database column can store) and values nested too deeply."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise FeedbackError(f"not representable as JSON: {exc}") from None
    except RecursionError:
        raise FeedbackError("not representable as JSON: nested too deeply") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FeedbackError(
            "not representable as JSON: a string holds a lone UTF-16 surrogate"
        ) from None
    return text


def to_json(value: Any) -> str | None:
    """JSON text for a stored JSON column (None stays None)."""
    return None if value is None else canonical_json(value)


def from_json(text: str | None, default: Any = None) -> Any:
    """The value held in a JSON text column (``default`` for NULL or unreadable text)."""
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def is_finite_number(value: Any) -> bool:
    """True for ints and finite floats (not bools)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def table_exists(store: Store | duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when the database has a table (or view) called ``name``."""
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
    if isinstance(store, Store):
        return bool(store.query(sql, [name]).rows[0][0])
    rows = store.execute(sql, [name]).fetchall()
    return bool(rows and rows[0][0])


def table_columns(store: Store, name: str) -> set[str]:
    """The column names of table ``name`` (empty when there is no such table)."""
    sql = "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
    return {row[0] for row in store.query(sql, [name]).rows}


def insert_records(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    records: Sequence[Mapping[str, Any]],
    *,
    schema: pa.Schema,
    or_ignore: bool = False,
) -> None:
    """Insert ``records`` into ``table`` with one statement (an Arrow scan), inside the
    caller's transaction. ``schema`` names and types the columns."""
    if not records:
        return
    rows = pa.Table.from_pylist([dict(r) for r in records], schema=schema)
    columns = ", ".join(f'"{name}"' for name in schema.names)
    view = f"_feedback_{uuid.uuid4().hex[:12]}"
    cur.register(view, rows)
    try:
        verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
        cur.execute(f"{verb} INTO {table} ({columns}) SELECT {columns} FROM {view}")
    finally:
        cur.unregister(view)
