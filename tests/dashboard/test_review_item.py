"""One review item as a reviewer sees it, by Streamlit's AppTest against a real collector:
every flag on its span, the most severe first (and the item named by it), and a correction
box that starts from the output exactly as the model wrote it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import Store
from loopwise.dashboard.render import output_text
from loopwise.dashboard.review_queue import flags_of, item_label
from loopwise.evals import EvalsExtension
from loopwise.evals.suites.api import SuiteRunsExtension
from loopwise.feedback import FeedbackExtension

OpenPage = Callable[..., AppTest]
PROJECT = "review-item"
JSON_OUTPUT = '{"category":"refund","order_id":"ORD-9999","priority":2}'
TEXT_OUTPUT = "Your parcel  arrives\ntomorrow."


@dataclass
class Seeded:
    """A collector whose one slow JSON answer also names an invented order id."""

    url: str
    span_ids: dict[str, str] = field(default_factory=dict)


def flag(trace_id: str, span_id: str, rule: str, severity: str, reason: str) -> dict[str, Any]:
    """A flags row as the evaluators write it."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return {
        "flag_id": f"flag-{rule}-{span_id}",
        "project": PROJECT,
        "trace_id": trace_id,
        "span_id": span_id,
        "rule": rule,
        "cause_key": f"{rule}|{trace_id}|{span_id}",
        "reason": reason,
        "severity": severity,
        "evaluator": rule,
        "value": 1.0,
        "status": "open",
        "created_at": now,
    }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """Two answers: a JSON one flagged for latency (medium) and for an invented order id
    (high), and a text one flagged low; items opened by the sync."""
    tmp = tmp_path_factory.mktemp("review-item")
    db = tmp / "r.duckdb"
    rows: list[dict[str, Any]] = []
    with CollectorServer(CollectorConfig(db_path=db, port=0)) as server:
        client = loopwise.Client()
        client.init(
            PROJECT, endpoint=server.url, batch=False, set_global=False, spool_dir=tmp / "spool"
        )
        for name, output in (("json answer", JSON_OUTPUT), ("text answer", TEXT_OUTPUT)):
            with client.span(name, kind="llm") as span:
                span.set_input("where is my order?")
                span.set_output(output)
            rows.append({"trace_id": span.trace_id, "span_id": span.span_id, "name": name})
        client.flush()
        client.shutdown()
    json_span, text_span = rows
    flags = [
        flag(
            json_span["trace_id"],
            json_span["span_id"],
            "latency_anomaly",
            "medium",
            "duration 900 ms is 12 robust z above the median",
        ),
        flag(
            json_span["trace_id"],
            json_span["span_id"],
            "invented_identifiers",
            "high",
            "ORD-9999 appears nowhere in the input",
        ),
        flag(
            text_span["trace_id"],
            text_span["span_id"],
            "language_mismatch",
            "low",
            "asked in en, answered in de",
        ),
    ]
    with Store(db) as store:
        store.append_rows("flags", pa.Table.from_pylist(flags))
    extensions = [
        EvalsExtension(online=False),
        FeedbackExtension(sync_interval_s=None),
        SuiteRunsExtension(),
    ]
    with CollectorServer(CollectorConfig(db_path=db, port=0), extensions=extensions) as server:
        httpx.post(f"{server.url}/api/reviews/sync").raise_for_status()
        yield Seeded(server.url, {r["name"]: r["span_id"] for r in rows})


def flag_table(at: AppTest) -> list[dict[str, Any]]:
    [frame] = [f.value for f in at.dataframe if "rule" in f.value.columns]
    return list(frame.to_dict("records"))


def test_every_flag_on_the_span_most_severe_first(open_page: OpenPage, seeded: Seeded) -> None:
    at = open_page("reviews", seeded.url)
    items = httpx.get(f"{seeded.url}/api/reviews", params={"project": PROJECT}).json()["items"]
    latency_item = next(i for i in items if "latency" in str(i.get("source_id")))
    at.session_state["reviews.item"] = latency_item["item_id"]
    for group in range(len(at.selectbox(key="reviews.group").options)):
        at.selectbox(key="reviews.group").set_value(group).run()
        if any(latency_item["item_id"] in str(box.key) for box in at.text_area):
            break
    else:
        raise AssertionError("the latency item is not shown")
    # The item opened by the medium latency flag is named by the high invented-id flag.
    label = at.selectbox(key="reviews.position").options[at.selectbox(key="reviews.position").index]
    assert " · high · invented_identifiers: ORD-9999" in label
    assert [row["rule"] for row in flag_table(at)] == ["invented_identifiers", "latency_anomaly"]
    assert [row["severity"] for row in flag_table(at)] == ["high", "medium"]
    assert any("severity: high" in t.value for t in at.text)
    assert "Flags on this span (2), most severe first" in [c.value for c in at.caption]


def test_the_correction_box_keeps_the_models_format(open_page: OpenPage, seeded: Seeded) -> None:
    at = open_page("reviews", seeded.url)
    seen: dict[str, str] = {}
    for group in range(len(at.selectbox(key="reviews.group").options)):
        at.selectbox(key="reviews.group").set_value(group).run()
        for position in range(len(at.selectbox(key="reviews.position").options)):
            at.selectbox(key="reviews.position").set_value(position).run()
            [box] = at.text_area
            seen[str(box.value)] = str(box.key)
    assert JSON_OUTPUT in seen  # one line, no added spaces or indentation
    assert TEXT_OUTPUT in seen  # text verbatim, its spacing and line break kept
    assert not any(value.startswith("{\n") for value in seen)


def test_flags_order_and_label_without_streamlit() -> None:
    item = {
        "item_id": "i",
        "source": "flag",
        "source_id": "f-low",
        "trace_id": "t",
        "span_id": "s",
        "span_name": "answer",
        "severity": "low",
        "reason": "slow",
    }
    flags = [
        {
            "flag_id": "f-low",
            "trace_id": "t",
            "span_id": "s",
            "severity": "low",
            "rule": "lat",
            "reason": "slow",
        },
        {"flag_id": "f-odd", "trace_id": "t", "span_id": "s", "severity": None, "rule": "x"},
        {
            "flag_id": "f-high",
            "trace_id": "t",
            "span_id": "s",
            "severity": "high",
            "rule": "pii",
            "reason": "email leaked",
        },
        {"flag_id": "f-med", "trace_id": "t", "span_id": "s", "severity": "medium", "rule": "b"},
        {"flag_id": "f-other", "trace_id": "t", "span_id": "other", "severity": "high"},
    ]
    assert [f["flag_id"] for f in flags_of(item, flags)] == ["f-high", "f-med", "f-low", "f-odd"]
    assert item_label(item, flags) == "answer · high · pii: email leaked (+3 more)"
    assert item_label(item) == "answer · low · slow"


def test_output_text_is_the_output_as_written() -> None:
    assert output_text(JSON_OUTPUT) == JSON_OUTPUT
    assert output_text({"a": [1, 2]}) == json.dumps({"a": [1, 2]})
    assert output_text(None) == ""
    assert output_text(TEXT_OUTPUT) == TEXT_OUTPUT
