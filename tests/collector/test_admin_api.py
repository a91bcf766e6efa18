"""``POST /api/admin/delete`` and ``POST /api/admin/export`` on a real collector: deletion
while the collector owns the file and keeps ingesting, re-sent spans stored again, bad input
refused without deleting anything, and an export that imports back."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from loopwise.collector.store import Store
from loopwise.collector.store.import_store import import_store

SQL_TRACES_AGREE = """
SELECT count(*) AS n FROM (
    SELECT trace_id, count(*) AS spans FROM spans GROUP BY trace_id
) s FULL OUTER JOIN traces t USING (trace_id)
WHERE t.trace_id IS NULL OR s.trace_id IS NULL OR t.span_count <> s.spans
"""


def send_trace(api: Any, otlp: Any, project: str, user: str | None = None) -> Any:
    """One two-span trace in ``project``; returns the request (to send it again)."""
    trace_id = otlp.trace_id()
    root = otlp.span("root", trace_id=trace_id, attributes={"user.id": user} if user else {})
    child = otlp.span("child", trace_id=trace_id, parent_span_id=root.span_id)
    request = otlp.request([root, child], project=project)
    api.export_ok(request)
    return request


def delete(api: Any, **body: Any) -> dict[str, Any]:
    response = api.http.post("/api/admin/delete", json=body)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def traces_agree(api: Any) -> bool:
    return int(api.sql(SQL_TRACES_AGREE)[0]["n"]) == 0


def test_delete_a_project_and_send_its_spans_again(
    api: Any, otlp: Any, unique_project: str
) -> None:
    other = unique_project + "-other"
    first = send_trace(api, otlp, unique_project)
    send_trace(api, otlp, unique_project)
    send_trace(api, otlp, other)
    report = delete(api, project=unique_project)
    assert (report["deleted"]["spans"], report["deleted"]["traces"]) == (4, 2)
    assert report["dry_run"] is False and report["selection"] == {"project": unique_project}
    assert api.count(f"project = '{unique_project}'") == 0
    assert api.count(f"project = '{other}'") == 2
    assert traces_agree(api)
    # The collector keeps ingesting, and the same spans sent again are stored again.
    api.export_ok(first)
    api.export_ok(first)
    assert api.count(f"project = '{unique_project}'") == 2
    assert traces_agree(api)


def test_delete_a_user_and_a_dry_run(api: Any, otlp: Any, unique_project: str) -> None:
    user = unique_project + "-user"
    send_trace(api, otlp, unique_project, user=user)
    send_trace(api, otlp, unique_project, user="someone-else")
    dry = delete(api, user_id=user, dry_run=True)
    assert dry["dry_run"] is True and dry["deleted"]["spans"] == 2
    assert api.count(f"project = '{unique_project}'") == 4
    real = delete(api, user_id=user)
    assert real["deleted"] == dry["deleted"]
    assert api.count(f"project = '{unique_project}'") == 2
    assert api.sql(f"SELECT count(*) AS n FROM spans WHERE user_id = '{user}'")[0]["n"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "say what to delete"),
        (b"not json", "body must be JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b'{"older_than": "soon"}', "an age looks like"),
        (b'{"older_than": 30}', "older_than must be a string"),
        (b'{"project": ""}', "project must be a non-empty string"),
        (b'{"project": 5}', "project must be a non-empty string"),
        (b'{"projects": "x"}', "unknown field(s) projects"),
        (b'{"project": "x", "dry_run": "yes"}', "dry_run must be true or false"),
        (b'{"user_id": "\\ud800"}', "user_id is not valid Unicode text"),
        (b"\xff\xfe", "body must be JSON"),
    ],
)
def test_bad_requests_are_400_and_delete_nothing(
    api: Any, otlp: Any, unique_project: str, body: bytes, message: str
) -> None:
    send_trace(api, otlp, unique_project)
    response = api.http.post(
        "/api/admin/delete", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert api.count(f"project = '{unique_project}'") == 2
    assert api.healthy()


def test_an_oversized_body_is_refused(api: Any) -> None:
    response = api.http.post("/api/admin/delete", content=b" " * 20_000)
    assert response.status_code == 413


def test_ingest_goes_on_while_deleting(api: Any, otlp: Any, unique_project: str) -> None:
    doomed, kept = unique_project + "-doomed", unique_project + "-kept"
    for _ in range(20):
        send_trace(api, otlp, doomed)
    sent: list[int] = []
    stop = threading.Event()

    def keep_sending() -> None:
        while not stop.is_set():
            send_trace(api, otlp, kept)
            sent.append(1)

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        deadline = time.monotonic() + 30
        while len(sent) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        report = delete(api, project=doomed)
        while len(sent) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        sender.join()
    assert report["deleted"]["spans"] == 40
    assert api.count(f"project = '{doomed}'") == 0
    assert api.count(f"project = '{kept}'") == 2 * len(sent)
    assert traces_agree(api)


def test_export_through_the_api_imports_back(
    api: Any, otlp: Any, unique_project: str, tmp_path: Path
) -> None:
    send_trace(api, otlp, unique_project)
    response = api.http.post("/api/admin/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-tar"
    folder = tmp_path / "export"
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        tar.extractall(folder, filter="data")
    assert (folder / "manifest.json").is_file()
    expected = api.sql("SELECT count(*) AS n FROM spans")[0]["n"]
    with Store(tmp_path / "copy.duckdb") as copy:
        import_store(copy, folder)
        assert copy.query("SELECT count(*) FROM spans").rows[0][0] == expected
        assert (
            copy.query("SELECT count(*) FROM spans WHERE project = ?", [unique_project]).rows[0][0]
            == 2
        )


def test_a_trace_shared_by_two_projects_is_recomputed(
    api: Any, otlp: Any, unique_project: str
) -> None:
    other = unique_project + "-other"
    trace_id = otlp.trace_id()
    root = otlp.span("root", trace_id=trace_id)
    child = otlp.span("child", trace_id=trace_id, parent_span_id=root.span_id)
    api.export_ok(otlp.request([root], project=unique_project))
    api.export_ok(otlp.request([child], project=other))
    report = delete(api, project=unique_project)
    assert (report["deleted"]["spans"], report["deleted"]["traces"]) == (1, 0)
    assert report["updated"]["traces"] == 1
    [row] = api.sql(
        f"SELECT project, root_name, span_count FROM traces WHERE trace_id = '{trace_id.hex()}'"
    )
    assert row == {"project": other, "root_name": "child", "span_count": 1}
    assert traces_agree(api)


def test_a_deletion_through_the_api_is_in_the_audit_log(
    api: Any, otlp: Any, unique_project: str
) -> None:
    send_trace(api, otlp, unique_project)
    delete(api, project=unique_project, dry_run=True)
    report = delete(api, project=unique_project)
    response = api.http.get("/api/audit", params={"action": "data.delete", "limit": 100})
    assert response.status_code == 200, response.text
    mine = [e for e in response.json()["entries"] if e["target"] == f"project:{unique_project}"]
    assert len(mine) == 1  # the dry run left no entry
    assert mine[0]["details"]["deleted"] == report["deleted"]
    assert mine[0]["project"] == unique_project and mine[0]["actor"]
