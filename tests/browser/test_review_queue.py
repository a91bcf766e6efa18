"""The review queue in real Chromium, driven by the keyboard, against a real collector whose
flags the real ``invented_identifiers`` evaluator opened (scored through /api/evals/score,
items opened by the sync).

Each test has its own collector and dashboard: the queue changes under every test. Every
step waits for the DOM state it expects (Playwright's ``expect``) before the next key; the
store is then read through the collector's SQL endpoint.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopwise
from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.evals import EvalsExtension
from loopwise.evals.suites.api import SuiteRunsExtension
from loopwise.feedback import FeedbackExtension

Dashboard = Any  # tests/browser/conftest.py; conftest modules are not importable
Page = Any

pytestmark = pytest.mark.browser

MAIN = '[data-testid="stMain"]'
EXCEPTION = '[data-testid="stException"]'
PROJECT, LATE = "queue", "queue-late"
FLAGGED = 5
WAIT_MS = 30_000
STATES_SQL = """
SELECT i.trace_id, e.state, e.actor, e.comment
FROM review_items i
JOIN (
    SELECT item_id, state, actor, comment
    FROM review_events
    QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY version DESC) = 1
) e USING (item_id)
WHERE i.project = 'queue'
ORDER BY i.trace_id
"""
"""Each item's latest event as a whole row (``arg_max`` per column would skip a NULL
comment and return an older event's)."""


def invented(number: int) -> str:
    """The order id answer ``number`` invents (the question names ORD-1000<number>)."""
    return f"ORD-9{number:04d}"


@dataclass
class Queue:
    """A running collector holding the flagged answers, and what was sent to it."""

    url: str
    spool: Path
    outputs: dict[str, str]
    """Trace id -> the flagged answer's output."""

    def states(self) -> dict[str, tuple[str, str, str | None]]:
        """Each item of the first project, by trace: (state, actor, comment), from the
        store's latest review events (SQL, not the review API)."""
        answer = httpx.post(f"{self.url}/api/sql", json={"sql": STATES_SQL}, timeout=30)
        assert answer.status_code == 200, answer.text
        return {row[0]: (row[1], row[2], row[3]) for row in answer.json()["rows"]}

    def arrive(self, count: int) -> None:
        """New answers inventing ids land in another project, are scored and flagged by
        the evaluator, and the sync opens their items."""
        send(self.url, self.spool / LATE, LATE, count, start=100)
        score(self.url, LATE)


def send(url: str, spool: Path, project: str, count: int, start: int = 0) -> dict[str, str]:
    """``count`` support traces whose answer invents an order id, over OTLP."""
    client = loopwise.Client()
    client.init(project, endpoint=url, batch=False, set_global=False, spool_dir=spool)
    outputs: dict[str, str] = {}
    for number in range(start, start + count):
        question = f"Where is my order ORD-1{number:04d}?"
        with client.span(f"ticket {number}", kind="agent") as root:
            root.set_input(question)
            with client.span("lookup order", kind="tool") as lookup:
                lookup.set_input(question)
                lookup.set_output("no order found")
            with client.span("answer", kind="llm") as answer:
                answer.set_input(question)
                output = f"Your order {invented(number)} ships on Monday."
                answer.set_output(output)
            root.set_output("done")
        outputs[root.trace_id] = output
    client.flush()
    client.shutdown()
    return outputs


def score(url: str, project: str) -> None:
    """Run ``invented_identifiers`` over the project's stored spans; open items."""
    scored = httpx.post(
        f"{url}/api/evals/score",
        json={
            "run_id": f"browser-{project}",
            "evaluators": ["invented_identifiers"],
            "filters": {"projects": [project]},
        },
        timeout=60,
    )
    scored.raise_for_status()
    assert scored.json()["tallies"][0]["flagged"] > 0, scored.text
    httpx.post(f"{url}/api/reviews/sync").raise_for_status()


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[Queue]:
    """A fresh collector with ``FLAGGED`` flagged answers, each an open review item."""
    extensions = [
        EvalsExtension(online=False),
        FeedbackExtension(sync_interval_s=None),
        SuiteRunsExtension(),
    ]
    config = CollectorConfig(db_path=tmp_path / "q.duckdb", port=0)
    with CollectorServer(config, extensions=extensions) as server:
        outputs = send(server.url, tmp_path / "spool", PROJECT, FLAGGED)
        score(server.url, PROJECT)
        yield Queue(server.url, tmp_path / "spool", outputs)


@pytest.fixture
def reviews(page: Page, queue: Queue, dashboard_for: Callable[[str], Dashboard]) -> Page:
    """The Reviews page of a dashboard reading ``queue``, drawn with its first item."""
    dashboard = dashboard_for(queue.url)
    page.goto(f"{dashboard.url}/reviews")
    expect_progress(page, 1, FLAGGED, 0, FLAGGED)
    expect()(page).to_have_url(re.compile(r"/reviews\?queue=[0-9a-f]{12}$"), timeout=WAIT_MS)
    assert page.locator(EXCEPTION).count() == 0
    return page


def expect() -> Any:
    """Playwright's retrying assertion (imported late, as the conftest does)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def progress_line(page: Page) -> Any:
    """The caption saying where the reviewer is."""
    return page.locator(MAIN).get_by_text(re.compile(r"^Item \d+ of \d+ in this group"))


def expect_progress(page: Page, at: int, group: int, decided: int, total: int) -> None:
    """Wait until the progress caption says exactly this (the run after a key is done)."""
    wanted = f"Item {at} of {group} in this group · {decided} of {total} decided in this queue."
    expect()(progress_line(page)).to_have_text(re.compile("^" + re.escape(wanted)), timeout=WAIT_MS)
    expect()(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=WAIT_MS)
    # The caption is drawn mid-run: a key is taken only once the run drew its buttons (the
    # decision form comes last) and no element of the run before is left over.
    submit = page.locator(MAIN).get_by_role("button", name=re.compile(r"^Submit correction"))
    expect()(submit).to_have_count(1, timeout=WAIT_MS)
    expect()(page.locator(MAIN).locator('[data-stale="true"]')).to_have_count(0, timeout=WAIT_MS)


def shown_trace(page: Page) -> str:
    """The trace of the item on screen, from its one-line summary."""
    line = page.locator(MAIN).get_by_text(re.compile(r"^source: .* · trace [0-9a-f]{32}$"))
    expect()(line).to_have_count(1, timeout=WAIT_MS)
    found = re.search(r"trace ([0-9a-f]{32})$", line.inner_text().strip())
    assert found, line.inner_text()
    return found.group(1)


def quiet(page: Page, quiet_s: float = 0.6, timeout_s: float = 30.0) -> None:
    """Wait until no script run is going and the page has not changed for ``quiet_s``: a
    freshly started dashboard binds its key shortcuts a moment after it draws them."""
    deadline = time.monotonic() + timeout_s
    last, since = "", time.monotonic()
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        # Streamlit loads each element kind's code lazily and shows this placeholder meanwhile.
        busy = running or page.locator('[data-testid="stSkeleton"]').count() > 0
        text = page.locator(MAIN).inner_text()
        if busy or text != last:
            last, since = text, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.1)
    raise AssertionError("the page kept running or changing for 30 s")


def press(page: Page, key: str) -> None:
    """One key to the page itself, once it is quiet: nothing that takes text has the focus."""
    quiet(page)
    page.evaluate("() => document.activeElement?.blur()")
    page.keyboard.press(key)


def test_the_queue_is_worked_by_keyboard_alone(reviews: Page, queue: Queue) -> None:
    """Approve one, skip one, go next and back, reject one: the store holds exactly those
    two decisions, by the dashboard's reviewer, and everything else is still open."""
    page = reviews
    approved = shown_trace(page)
    press(page, "a")
    expect_progress(page, 1, FLAGGED - 1, 1, FLAGGED)
    expect()(page.get_by_text("Approved. Showing the next item.")).to_be_visible()
    skipped = shown_trace(page)
    assert skipped != approved
    press(page, "s")  # to the end of the group
    expect()(page.get_by_text(re.compile(r"· trace " + skipped))).to_have_count(0)
    expect_progress(page, 1, FLAGGED - 1, 1, FLAGGED)
    first = shown_trace(page)
    press(page, "j")
    expect_progress(page, 2, FLAGGED - 1, 1, FLAGGED)
    rejected = shown_trace(page)
    press(page, "k")
    expect_progress(page, 1, FLAGGED - 1, 1, FLAGGED)
    assert shown_trace(page) == first
    press(page, "j")
    expect_progress(page, 2, FLAGGED - 1, 1, FLAGGED)
    assert shown_trace(page) == rejected
    reason = page.get_by_label("Reason to reject")
    expect()(reason).to_have_count(1, timeout=WAIT_MS)  # the last item's box is gone
    reason.focus()
    page.keyboard.type("invented order id")
    page.keyboard.press("Tab")  # leaves the box (its value is sent), focus on a button
    expect()(reason).to_have_value("invented order id")
    page.keyboard.press("x")
    expect_progress(page, 1, FLAGGED - 2, 2, FLAGGED)
    expect()(page.get_by_text("Rejected. Showing the next item.")).to_be_visible()
    assert page.dialogs == []

    states = queue.states()
    assert set(states) == set(queue.outputs)
    assert states.pop(approved) == ("approved", "dashboard", None)
    assert states.pop(rejected) == ("rejected", "dashboard", "invented order id")
    assert {state for state, _, _ in states.values()} == {"open"}  # skipped, walked past


def test_counts_hold_still_while_flagged_spans_arrive(reviews: Page, queue: Queue) -> None:
    """After a submit the reviewer's group and pick counts are those of the queue they
    loaded, though new flagged spans arrived meanwhile; the arrivals wait at the end."""
    page = reviews
    group = page.get_by_role("combobox", name="Failure cluster")
    first_group = group.input_value() if group.count() else None
    chooser = page.locator(MAIN).get_by_text(f"Item ({FLAGGED} in this group)")
    expect()(chooser).to_have_count(1)
    press(page, "a")
    expect_progress(page, 1, FLAGGED - 1, 1, FLAGGED)
    queue.arrive(3)
    press(page, "a")  # the run after this submit reads the queue with the arrivals in it
    expect_progress(page, 1, FLAGGED - 2, 2, FLAGGED)
    expect()(page.locator(MAIN).get_by_text(f"Item ({FLAGGED - 2} in this group)")).to_have_count(1)
    expect()(
        page.get_by_text("3 item(s) arrived since the queue was loaded; they wait at the end.")
    ).to_be_visible()
    open_now = httpx.get(f"{queue.url}/api/reviews", params={"state": "open", "limit": 100}).json()[
        "items"
    ]
    assert len(open_now) == FLAGGED - 2 + 3
    expect()(page.get_by_text(f"{len(open_now)} open items in 2 groups")).to_be_visible()
    shown = group.input_value()
    assert f"({FLAGGED - 2})" in shown and "New since" not in shown  # still the first group
    if first_group is not None:
        assert shown == first_group.replace(f"({FLAGGED})", f"({FLAGGED - 2})")
    assert shown_trace(page) in queue.outputs  # an item of the loaded queue, not an arrival


def test_the_trace_context_sits_beside_the_item(
    reviews: Page, queue: Queue, tmp_path: Path
) -> None:
    """The item's trace: its span tree with the item marked, the steps around it, and a
    link that opens the whole trace on the Traces page."""
    page = reviews
    trace = shown_trace(page)
    main = page.locator(MAIN)
    expect()(main.get_by_text("Step before: lookup order (tool, ok)")).to_be_visible()
    tree = main.locator('[data-testid="stDataFrame"]').filter(
        has=page.locator("[role=columnheader]", has_text="kind")
    )
    expect()(tree).to_have_count(1, timeout=WAIT_MS)
    cells = tree.locator("[role=gridcell]")
    expect()(cells.filter(has_text="◀ this item")).to_have_count(1, timeout=WAIT_MS)
    for name in ("ticket", "lookup order", "answer"):
        assert cells.filter(has_text=name).count(), name
    path = tmp_path / "review-context.png"
    page.screenshot(path=str(path), full_page=True)
    link = main.get_by_role("link", name="Open the whole trace")
    expect()(link).to_have_attribute("href", re.compile(f"/traces\\?trace={trace}$"))
    with page.context.expect_page() as opened:  # a Markdown link opens a new tab
        link.click()
    traces = opened.value
    expect()(traces).to_have_url(re.compile(f"/traces\\?trace={trace}$"), timeout=WAIT_MS)
    expect()(traces.get_by_role("heading", name="Traces", exact=True)).to_be_visible()
    expect()(traces.locator(MAIN).get_by_text(trace).first).to_be_visible(timeout=WAIT_MS)
    assert traces.locator(EXCEPTION).count() == 0
    traces.close()


def test_the_invented_id_is_highlighted_in_the_output(
    reviews: Page, queue: Queue, tmp_path: Path
) -> None:
    """The id the evaluator found in the span's output is marked in place, on a red
    background, the rest of the output plain text next to it."""
    page = reviews
    output = queue.outputs[shown_trace(page)]
    order = re.search(r"ORD-\d+", output).group(0)  # type: ignore[union-attr]
    main = page.locator(MAIN)
    expect()(main.get_by_text("Where the output fails")).to_be_visible()
    marked = main.locator("strong", has_text=order)
    expect()(marked).to_have_count(1, timeout=WAIT_MS)
    line = main.locator(
        '[data-testid="stMarkdownContainer"]', has=page.locator("strong", has_text=order)
    )
    expect()(line).to_have_text(output)
    background = marked.evaluate(
        "el => { for (let n = el; n; n = n.parentElement) {"
        " const c = getComputedStyle(n).backgroundColor;"
        " if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return ''; }"
    )
    red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
    assert red > green and red > blue, background
    path = tmp_path / "review-highlight.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    assert page.dialogs == []


def test_a_reload_keeps_the_same_queue(reviews: Page, queue: Queue, tmp_path: Path) -> None:
    """The queue's snapshot is named in the URL: after a reload (a new Streamlit session) the
    groups and the progress are those the reviewer loaded, not a fresh clustering that would
    sort the arrivals in."""
    page = reviews
    press(page, "a")
    expect_progress(page, 1, FLAGGED - 1, 1, FLAGGED)
    expect()(page).to_have_url(re.compile(r"/reviews\?queue=[0-9a-f]{12}$"))
    url = page.url
    queue.arrive(3)
    page.reload()
    expect_progress(page, 1, FLAGGED - 1, 1, FLAGGED)
    assert page.url == url
    expect()(
        page.get_by_text("3 item(s) arrived since the queue was loaded; they wait at the end.")
    ).to_be_visible()
    expect()(page.locator(MAIN).get_by_text(f"Item ({FLAGGED - 1} in this group)")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "review-reload.png"), full_page=True)
    page.get_by_role("button", name="Regroup the queue").click()  # a new queue: all open now
    expect()(page.get_by_text(re.compile("arrived since the queue was loaded"))).to_have_count(
        0, timeout=WAIT_MS
    )
    expect_progress(page, 1, FLAGGED - 1 + 3, 0, FLAGGED - 1 + 3)
    assert page.url != url
    assert page.locator(EXCEPTION).count() == 0
