"""The review queue over a queue the real ``invented_identifiers`` evaluator flagged (scored
through /api/evals/score, items opened by the sync), run by Streamlit's AppTest: progress over
the whole snapshotted queue, checked against the store's own review events, and the invented
id highlighted in the span's output (text and structured)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.dashboard.queue_snapshots import KeptSnapshot, SnapshotStore
from loopwise.dashboard.review_context import failing_parts
from loopwise.dashboard.review_queue import QueueGroup, queue_progress, take_snapshot
from loopwise.evals import EvalsExtension
from loopwise.evals.suites.api import SuiteRunsExtension
from loopwise.feedback import FeedbackExtension

OpenPage = Callable[..., AppTest]
PROJECT = "progress"
INVENTED = ["ORD-99990", "ORD-99991", "ORD-99992"]
STRUCTURED = {"order_id": "ORD-99993", "status": "shipped"}
PROGRESS = re.compile(
    r"^Item (?P<at>\d+) of (?P<group>\d+) in this group · "
    r"(?P<decided>\d+) of (?P<total>\d+) decided in this queue\. Keys: "
)
STATE_SQL = """
SELECT count(*) FILTER (WHERE state <> 'open') AS decided, count(*) AS placed
FROM (
    SELECT item_id, arg_max(state, version) AS state
    FROM review_events WHERE item_id IN ({ids}) GROUP BY item_id
)
"""


@dataclass
class Queue:
    """A running collector whose open items are the evaluator's flags and one manual pick."""

    url: str
    good_traces: list[str] = field(default_factory=list)

    def open_items(self) -> list[dict[str, Any]]:
        """The open items, through the API."""
        answer = httpx.get(f"{self.url}/api/reviews", params={"state": "open", "limit": 100})
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def decided_of(self, item_ids: list[str]) -> tuple[int, int]:
        """(decided, placed) among ``item_ids`` by the store's latest review events (SQL)."""
        quoted = ", ".join(f"'{i}'" for i in item_ids)
        answer = httpx.post(f"{self.url}/api/sql", json={"sql": STATE_SQL.format(ids=quoted)})
        answer.raise_for_status()
        [[decided, placed]] = answer.json()["rows"]
        return int(decided), int(placed)

    def act(self, item: dict[str, Any], action: str, actor: str = "someone else") -> None:
        """Another reviewer's decision, through the API."""
        body = {"action": action, "actor": actor, "expected_version": item["version"]}
        if action == "reject":
            body["comment"] = "duplicate"
        answer = httpx.post(f"{self.url}/api/reviews/{item['item_id']}/actions", json=body)
        answer.raise_for_status()


def extensions() -> list[Any]:
    """The shipped extensions, with nothing running in the background."""
    return [
        EvalsExtension(online=False),
        FeedbackExtension(sync_interval_s=None),
        SuiteRunsExtension(),
    ]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A store file: three answers inventing an order id (text), one inventing it in a
    structured output, two good answers; scored by ``invented_identifiers``, flags opened
    as items, one good trace picked by a person. Each test runs on a copy."""
    tmp = tmp_path_factory.mktemp("progress")
    db = tmp / "p.duckdb"
    good: list[str] = []
    with CollectorServer(CollectorConfig(db_path=db, port=0), extensions=extensions()) as server:
        client = loopwise.Client()
        client.init(
            PROJECT, endpoint=server.url, batch=False, set_global=False, spool_dir=tmp / "spool"
        )
        outputs: list[object] = [f"Your order {i} ships on Monday." for i in INVENTED]
        outputs += [STRUCTURED, "Your order ORD-10004 ships.", "Your order ORD-10005 ships."]
        for number, output in enumerate(outputs):
            with client.span(f"ticket {number}", kind="agent") as root:
                root.set_input(f"Where is my order ORD-1000{number}?")
                with client.span("answer", kind="llm") as answer:
                    answer.set_input(f"Where is my order ORD-1000{number}?")
                    answer.set_output(output)
                root.set_output("done")
            if number >= 4:
                good.append(root.trace_id)
        client.flush()
        client.shutdown()
        scored = httpx.post(
            f"{server.url}/api/evals/score",
            json={"run_id": "progress", "evaluators": ["invented_identifiers"]},
            timeout=60,
        )
        scored.raise_for_status()
        [tally] = scored.json()["tallies"]
        assert (tally["failed"], tally["flagged"]) == (4, 4)
        httpx.post(f"{server.url}/api/reviews/sync").raise_for_status()
        picked = httpx.post(
            f"{server.url}/api/reviews",
            json={"trace_id": good[0], "actor": "bo", "reason": "looks odd"},
        )
        assert picked.status_code == 201, picked.text
    return db, good


@pytest.fixture
def queue(template: tuple[Path, list[str]], tmp_path: Path) -> Iterator[Queue]:
    """A collector on a fresh copy of the template store."""
    source, good = template
    db = tmp_path / "p.duckdb"
    shutil.copy(source, db)
    with CollectorServer(CollectorConfig(db_path=db, port=0), extensions=extensions()) as server:
        yield Queue(server.url, good)


def progress(at: AppTest) -> dict[str, int]:
    """The numbers of the progress caption."""
    for caption in at.caption:
        found = PROGRESS.match(str(caption.value))
        if found:
            return {name: int(value) for name, value in found.groupdict().items()}
    raise AssertionError(f"no progress caption in {[c.value for c in at.caption]}")


def shown_item(at: AppTest) -> str:
    """The id of the item on screen (its correction box is keyed by it)."""
    [box] = at.text_area
    return str(box.key).rsplit(".", 1)[1]


def test_progress_counts_the_whole_queue_against_the_store(
    open_page: OpenPage, queue: Queue
) -> None:
    loaded = queue.open_items()
    ids = [str(i["item_id"]) for i in loaded]
    at = open_page("reviews", queue.url)
    group = len(at.selectbox(key="reviews.position").options)
    assert progress(at) == {"at": 1, "group": group, "decided": 0, "total": len(loaded)}
    assert len(loaded) == 5 and group == 4  # the evaluator's four flags group together

    at.button(key="reviews.approve").click().run()
    at.button(key="reviews.next").click().run()
    reject = shown_item(at)
    at.text_input(key=f"reviews.reject_reason.{reject}").input("not an order of ours")
    at.button(key="reviews.reject").click().run()
    # Another reviewer decides one of the rest, and a new item arrives meanwhile.
    queue.act(next(i for i in queue.open_items() if i["item_id"] != shown_item(at)), "approve")
    arrived = httpx.post(
        f"{queue.url}/api/reviews",
        json={"trace_id": queue.good_traces[1], "actor": "bo", "reason": "odd too"},
    )
    assert arrived.status_code == 201, arrived.text
    at.button(key="reviews.skip").click().run()

    shown = progress(at)
    assert (shown["decided"], shown["total"]) == queue.decided_of(ids) == (3, 5)
    assert shown["group"] == len(at.selectbox(key="reviews.position").options)
    assert any("1 item(s) arrived since the queue was loaded" in i.value for i in at.info)
    at.button(key="reviews.regroup").click().run()  # a new queue: what is open now
    assert progress(at)["decided"] == 0
    assert progress(at)["total"] == len(queue.open_items()) == 3


def test_queue_progress_without_streamlit() -> None:
    items = [{"item_id": x} for x in "abc"]
    snapshot = take_snapshot([QueueGroup("g", "g", items, True)])
    still_open = [items[1], {"item_id": "new"}]  # a and c decided; "new" arrived since
    done = queue_progress(snapshot, still_open)
    assert (done.decided, done.total) == (2, 3)
    assert done.text == "2 of 3 decided in this queue"


def highlights(at: AppTest) -> list[str]:
    """The highlight lines drawn under "Where the output fails"."""
    return [str(m.value) for m in at.markdown if ":red-background[" in str(m.value)]


def visit_every_item(at: AppTest) -> dict[str, list[str]]:
    """Each flagged item's correction box text, with the highlights shown next to it."""
    seen: dict[str, list[str]] = {}
    for position in range(len(at.selectbox(key="reviews.position").options)):
        at.selectbox(key="reviews.position").set_value(position).run()
        assert not at.exception
        [box] = at.text_area
        seen[str(box.value)] = highlights(at)
    return seen


def test_the_invented_id_is_highlighted_in_the_span_output(
    open_page: OpenPage, queue: Queue
) -> None:
    at = open_page("reviews", queue.url)
    seen = visit_every_item(at)
    for order in INVENTED:
        text = f"Your order {order} ships on Monday."
        escaped = order.replace("-", "\\-")
        # The span's own output (no held output here), the id in place, the rest escaped.
        assert seen[text] == [f"Your order :red-background[**{escaped}**] ships on Monday\\."]
    # A structured output is searched as the correction box shows it: compact JSON.
    structured = json.dumps(STRUCTURED)
    [line] = seen[structured]
    assert ":red-background[**ORD\\-99993**]" in line
    assert "Where the output fails" in [c.value for c in at.caption]


def test_a_flag_reason_names_the_ids_after_its_rule() -> None:
    text = "Your order ORD-99990 ships."
    reason = "invented_identifiers failed: ORD-99990 appears nowhere in the input"
    [part] = failing_parts(text, [reason])
    assert text[part.start : part.end] == "ORD-99990"


def test_a_reload_keeps_the_snapshotted_queue(open_page: OpenPage, queue: Queue) -> None:
    """The snapshot id is in the URL; a new session opened on that URL (a reload) works on
    the same queue: same total, same decided count, arrivals kept apart."""
    at = open_page("reviews", queue.url)
    snapshot_id = at.query_params["queue"]
    assert snapshot_id
    at.button(key="reviews.approve").click().run()
    assert progress(at)["decided"] == 1
    arrived = httpx.post(
        f"{queue.url}/api/reviews",
        json={"trace_id": queue.good_traces[1], "actor": "bo", "reason": "odd too"},
    )
    assert arrived.status_code == 201, arrived.text

    again = open_page("reviews", queue.url, query={"queue": snapshot_id})
    assert again.query_params["queue"] == snapshot_id
    assert (progress(again)["decided"], progress(again)["total"]) == (1, 5)
    assert any("1 item(s) arrived since the queue was loaded" in i.value for i in again.info)

    fresh = open_page("reviews", queue.url)  # no id: a new queue of what is open now
    assert fresh.query_params["queue"] != snapshot_id
    assert (progress(fresh)["decided"], progress(fresh)["total"]) == (0, 5)


def test_an_unknown_or_foreign_snapshot_id_starts_a_new_queue() -> None:
    store = SnapshotStore(capacity=2)
    snapshot = take_snapshot([QueueGroup("g", "g", [{"item_id": "a"}], True)])
    first = store.save(KeptSnapshot("cluster", "", snapshot))
    assert store.load(first) == KeptSnapshot("cluster", "", snapshot)
    assert store.load("nope") is None and store.load(None) is None
    store.save(KeptSnapshot("cluster", "p", snapshot))
    store.save(KeptSnapshot("root_cause", "", snapshot))
    assert store.load(first) is None  # the oldest is dropped past capacity
