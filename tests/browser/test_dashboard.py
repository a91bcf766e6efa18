"""Every dashboard page in a real headless Chromium, against a real seeded collector.

Model output is untrusted: the payloads stored in the seeded trace must show as text, and
none may run (no dialog fires) or become an element (no injected image, script or link).
Screenshots of every page go to tests/artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwise.dashboard.navigation import PAGES

Seeded = Any  # tests/browser/conftest.py; conftest modules are not importable
Dashboard = Any
Page = Any

pytestmark = pytest.mark.browser

RUNNING = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
MAIN = '[data-testid="stMain"]'
CHART = '[data-testid="stPlotlyChart"]'
DRAWN_CHART = ".js-plotly-plot"
# Streamlit loads each element kind's code lazily and shows this placeholder meanwhile.
LOADING = '[data-testid="stSkeleton"]'


def settle(page: Page, quiet_s: float = 0.6, timeout_s: float = 30.0) -> None:
    """Wait until the Streamlit script has finished and the page stopped changing."""
    page.locator(f"{MAIN} h1").first.wait_for()  # every page starts with its title
    deadline = time.monotonic() + timeout_s
    last, quiet_since = "", time.monotonic()
    while time.monotonic() < deadline:
        # Plotly's bundle loads lazily: a chart's element exists before the chart is drawn.
        undrawn = page.locator(CHART).count() > page.locator(DRAWN_CHART).count()
        loading = page.locator(LOADING).count() > 0
        busy = undrawn or loading or page.locator(RUNNING).count() > 0
        text = page.locator(MAIN).inner_text() if page.locator(MAIN).count() else ""
        if busy or text != last:
            last, quiet_since = text, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.1)
    raise AssertionError("the page kept running or changing for 30 s")


def screenshot(page: Page, folder: Path, name: str) -> Path:
    """The whole page, scrolled area included (Streamlit scrolls inside its main section)."""
    height = page.evaluate(
        "sel => Math.max(document.querySelector(sel)?.scrollHeight ?? 0, window.innerHeight)",
        MAIN,
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12000)})
    settle(page, quiet_s=0.3)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def path_of(spec: Any) -> str:
    """The URL path of a page (the root opens the first one)."""
    return str(spec.url_path)


def open_page(page: Page, dashboard: Dashboard, path: str) -> None:
    """Go to ``path`` on the dashboard and wait for it to finish drawing."""
    page.goto(f"{dashboard.url}/{path}")
    settle(page)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.get_by_text("Page not found").count() == 0


def expand_all(page: Page) -> None:
    """Open every collapsed expander (the spans of a trace)."""
    closed = page.locator('[data-testid="stExpander"] details:not([open]) > summary')
    while closed.count():
        closed.first.click()
    settle(page, quiet_s=0.3)


def assert_nothing_injected(page: Page) -> None:
    """No payload became an element or ran."""
    assert page.dialogs == []
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator("script", has_text="alert(").count() == 0
    assert page.locator(f"{MAIN} b", has_text="bold").count() == 0


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_every_page_opens_without_errors(
    page: Page, dashboard: Dashboard, screenshots: Path, spec: Any
) -> None:
    open_page(page, dashboard, path_of(spec))
    assert page.get_by_role("heading", name=spec.title, exact=True).is_visible()
    assert page.get_by_text("is not reachable").count() == 0
    # Streamlit's toolbar is minimal: no Deploy button, no developer menu.
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert page.locator('[data-testid="stMainMenu"]').count() == 0
    screenshot(page, screenshots, spec.url_path)
    assert page.dialogs == []


def test_overview_draws_numbers_and_charts(
    page: Page, dashboard: Dashboard, seeded: Seeded
) -> None:
    open_page(page, dashboard, "")
    metric = page.locator('[data-testid="stMetric"]', has_text="Traces")
    assert metric.locator('[data-testid="stMetricValue"]').inner_text() == "13"
    page.locator(DRAWN_CHART).nth(4).wait_for()  # traffic charts and score trends
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert any(text.startswith("judge <b>bold</b> <img") for text in legend)  # literal text
    assert page.get_by_role("heading", name="Open flags").is_visible()
    assert page.get_by_text("not available").count() == 0
    assert_nothing_injected(page)


def test_payloads_in_a_trace_show_as_text_and_never_run(
    page: Page, dashboard: Dashboard, seeded: Seeded, screenshots: Path
) -> None:
    open_page(page, dashboard, f"traces?trace={seeded.xss_trace_id}")
    expand_all(page)
    main = page.locator(MAIN)
    for raw in (seeded.SCRIPT, seeded.IMG, seeded.LINK, seeded.ERROR_MESSAGE):
        assert main.get_by_text(raw, exact=True).filter(visible=True).count(), raw
    assert main.get_by_text(seeded.SPAN_NAME).filter(visible=True).count()
    screenshot(page, screenshots, "trace-with-payloads")
    assert_nothing_injected(page)


def test_a_trace_url_links_to_its_session_and_user(
    page: Page, dashboard: Dashboard, seeded: Seeded
) -> None:
    open_page(page, dashboard, f"traces?trace={seeded.xss_trace_id}")
    page.get_by_role("link", name="Session: session-xss").click()
    settle(page)
    assert "session=session-xss" in page.url
    assert page.get_by_label("Session").input_value() == "session-xss"
    assert page.locator(EXCEPTION).count() == 0


def test_a_collector_that_is_down_is_named_not_a_traceback(
    page: Page, screenshots: Path, dashboard_for: Any, closed_port_url: str
) -> None:
    down = dashboard_for(closed_port_url)
    for spec in PAGES:
        open_page(page, down, path_of(spec))
        screenshot(page, screenshots, "collector-down-" + spec.url_path)
        assert page.get_by_text("is not reachable").first.is_visible()
        assert page.get_by_text("Traceback").count() == 0
    screenshot(page, screenshots, "collector-down")


def test_review_queue_completes_one_review_with_a_correction(
    page: Page, dashboard: Dashboard, seeded: Seeded, screenshots: Path
) -> None:
    """Open the review queue, complete one review with a correction, and check through the
    API that the correction landed."""
    open_page(page, dashboard, "reviews")
    main = page.locator(MAIN)
    shown = main.get_by_text(seeded.LINK, exact=True).filter(visible=True)
    shown.first.wait_for(timeout=30_000)  # code blocks render after the rest of the page
    assert shown.count()  # as text
    assert_nothing_injected(page)
    screenshot(page, screenshots, "review-queue-item")
    box = page.get_by_label("Corrected output")
    assert box.input_value() == seeded.LINK  # prefilled with the output under review
    box.fill("Your refund was approved on Monday.")
    box.press("Control+Enter")
    settle(page)
    reason = page.get_by_label("Reason for the correction")
    reason.fill("the policy allows this refund")
    reason.press("Enter")
    settle(page)
    page.get_by_role("button", name="Submit correction").click()
    settle(page)
    assert page.get_by_text("Correction saved. Showing the next item.").is_visible()
    screenshot(page, screenshots, "review-queue-after-correction")
    found = httpx.get(f"{seeded.url}/api/reviews/corrections", params={"limit": 10}).json()
    [correction] = found["corrections"]
    assert correction["corrected_output"] == "Your refund was approved on Monday."
    [corrected] = httpx.get(f"{seeded.url}/api/reviews", params={"state": "corrected"}).json()[
        "items"
    ]
    assert corrected["trace_id"] == seeded.xss_trace_id
    assert page.dialogs == []
