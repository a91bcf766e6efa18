"""The collector's /docs page in real Chromium: Swagger UI served by the collector itself
(no CDN is reachable here, as on a closed network) renders the whole API description."""

from __future__ import annotations

from typing import Any

import pytest

Seeded = Any  # tests/browser/conftest.py; conftest modules are not importable

pytestmark = pytest.mark.browser


def test_docs_render_every_route_without_a_cdn(page: Any, seeded: Seeded, tmp_path) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(seeded.url) else None
        ),
    )
    page.goto(f"{seeded.url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/traces" in {p.strip() for p in paths}
    assert any(p.strip().startswith("/api/reviews") for p in paths)  # extension routes too
    assert page.locator("text=Unable to render this definition").count() == 0
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert outside == []
