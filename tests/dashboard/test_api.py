"""The dashboard's HTTP client against a real collector."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from loopwise.dashboard import (
    ApiError,
    CollectorAPI,
    CollectorUnreachable,
)

SeededCollector = Any  # tests/dashboard/conftest.py; conftest modules are not importable
KeyedCollector = Any


@pytest.fixture
def api(seeded_collector: SeededCollector) -> Iterator[CollectorAPI]:
    """A client of the seeded collector."""
    with CollectorAPI(seeded_collector.url) as client:
        yield client


def test_health_reports_ok_and_version(api: CollectorAPI) -> None:
    health = api.health()
    assert health["status"] == "ok"
    assert health["version"]


def test_recent_traces_are_newest_first(
    api: CollectorAPI, seeded_collector: SeededCollector
) -> None:
    traces = api.recent_traces(limit=100)
    names = [t["root_name"] for t in traces]
    assert names == list(reversed(seeded_collector.root_names))


def test_recent_traces_paginate_without_overlap(
    api: CollectorAPI, seeded_collector: SeededCollector
) -> None:
    first = api.recent_traces(limit=5, offset=0)
    second = api.recent_traces(limit=5, offset=5)
    assert len(first) == len(second) == 5
    assert not {t["trace_id"] for t in first} & {t["trace_id"] for t in second}
    tail = api.recent_traces(limit=5, offset=seeded_collector.trace_count - 2)
    assert len(tail) == 2


def test_recent_traces_filter_by_project(
    api: CollectorAPI, seeded_collector: SeededCollector
) -> None:
    others = api.recent_traces(project=seeded_collector.OTHER_PROJECT)
    assert [t["root_name"] for t in others] == ["other-root"]
    assert {t["project"] for t in api.recent_traces(project=seeded_collector.PROJECT)} == {
        seeded_collector.PROJECT
    }
    assert api.recent_traces(project="no-such-project") == []


def test_trace_returns_flat_spans_and_nested_tree(
    api: CollectorAPI, seeded_collector: SeededCollector
) -> None:
    detail = api.trace(seeded_collector.untrusted_trace_id)
    assert detail.trace_id == seeded_collector.untrusted_trace_id
    assert len(detail.spans) == 4
    [root] = detail.tree
    assert root["name"] == "root"
    assert root["input"] == seeded_collector.SCRIPT
    assert sorted(child["name"] for child in root["children"])[0] == "answer"


def test_unknown_trace_is_a_404_collector_error(api: CollectorAPI) -> None:
    with pytest.raises(ApiError) as caught:
        api.trace("f" * 32)
    assert caught.value.status == 404
    assert "no trace" in caught.value.message


def test_malformed_trace_id_is_a_400_collector_error(api: CollectorAPI) -> None:
    with pytest.raises(ApiError) as caught:
        api.trace("not-a-trace-id")
    assert caught.value.status == 400
    assert "32 hex" in caught.value.message


def test_trace_id_cannot_reach_another_path(api: CollectorAPI) -> None:
    with pytest.raises(ApiError) as caught:
        api.trace("../../health")
    assert caught.value.status != 200


def test_bad_pagination_is_a_400_with_the_servers_message(api: CollectorAPI) -> None:
    with pytest.raises(ApiError) as caught:
        api.recent_traces(limit=0)
    assert caught.value.status == 400
    assert "limit" in caught.value.message


def test_sql_returns_columns_rows_and_records(
    api: CollectorAPI, seeded_collector: SeededCollector
) -> None:
    other = seeded_collector.OTHER_PROJECT
    result = api.sql(f"SELECT count(*) AS n FROM spans WHERE project = '{other}'")
    assert result.columns == ["n"]
    assert result.rows == [[1]]
    assert result.records() == [{"n": 1}]
    assert result.truncated is False


def test_sql_that_writes_is_refused(api: CollectorAPI) -> None:
    with pytest.raises(ApiError) as caught:
        api.sql("DELETE FROM spans")
    assert caught.value.status == 400


def test_closed_port_is_unavailable_naming_the_url(closed_port_url: str) -> None:
    with CollectorAPI(closed_port_url) as client, pytest.raises(CollectorUnreachable) as caught:
        client.health()
    assert str(caught.value).startswith(f"collector at {closed_port_url} is not reachable: ")
    assert isinstance(caught.value, ApiError)


def test_silent_server_is_unavailable_after_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts connections in the kernel, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with CollectorAPI(url, timeout_s=0.2) as client, pytest.raises(CollectorUnreachable) as e:
            client.recent_traces()
    assert "no answer within 0.2 s" in str(e.value)


def test_api_key_is_sent_as_bearer(keyed_collector: KeyedCollector) -> None:
    with CollectorAPI(keyed_collector.url) as anonymous, pytest.raises(ApiError) as caught:
        anonymous.recent_traces()
    assert caught.value.status == 401
    with CollectorAPI(keyed_collector.url, api_key=keyed_collector.api_key) as client:
        assert client.recent_traces() == []


def test_overview_score_trends_and_facets(
    api: CollectorAPI, seeded_collector: SeededCollector
) -> None:
    from loopwise.dashboard.filters import OverviewQuery

    overview = api.overview(OverviewQuery(project=seeded_collector.PROJECT))
    assert overview["totals"]["traces"] == 13
    trends = api.score_trends(OverviewQuery())
    assert {e["name"] for e in trends["evaluators"]} == {
        "helpfulness",
        seeded_collector.EVIL_EVALUATOR,
    }
    facets = api.facets(OverviewQuery())
    assert [p["value"] for p in facets["project"]] == [
        seeded_collector.PROJECT,
        seeded_collector.OTHER_PROJECT,
    ]


def test_a_route_the_collector_lacks_is_endpoint_missing(api: CollectorAPI) -> None:
    from loopwise.dashboard import RouteMissing

    with pytest.raises(RouteMissing) as caught:
        api.flags(status="open")
    assert caught.value.status == 404
    assert caught.value.path == "/api/flags"
    assert str(caught.value) == "this collector has no /api/flags endpoint"
    with pytest.raises(ApiError) as unknown:  # a JSON 404 is about the item, not the route
        api.trace("f" * 32)
    assert not isinstance(unknown.value, RouteMissing)


def test_traces_page_reports_an_older_page(
    api: CollectorAPI, seeded_collector: SeededCollector
) -> None:
    from loopwise.dashboard.filters import TraceQuery

    first = api.traces(TraceQuery(limit=10))
    assert len(first.traces) == 10
    assert first.has_more
    last = api.traces(TraceQuery(limit=10, offset=10))
    assert len(last.traces) == seeded_collector.trace_count - 10
    assert not last.has_more
