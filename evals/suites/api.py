"""Suite runs in the collector: ``/api/eval-runs`` (record, list, fetch), hosted by the
``SuiteRunsExtension`` so ``loopwise eval run --endpoint`` and the dashboard share one
record of runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from loopwise.collector.server.decode import BadRequest
from loopwise.collector.server.params import int_param
from loopwise.collector.server.responses import loads_body
from loopwise.collector.store import Store

from .record import run_row

if TYPE_CHECKING:
    from loopwise.collector.server import Collector

LIST_SQL = """
SELECT run_id, suite, dataset, passed, started_at, finished_at, git_commit
FROM eval_runs WHERE ($suite IS NULL OR suite = $suite)
ORDER BY started_at DESC LIMIT $limit OFFSET $offset
"""
REQUIRED = ("run_id", "suite", "dataset", "passed", "started_at", "finished_at")


class SuiteRunsExtension:
    """The ``/api/eval-runs`` routes; no background work."""

    name = "eval-runs"

    def routes(self, collector: Collector) -> list[BaseRoute]:
        """POST /api/eval-runs, GET /api/eval-runs, GET /api/eval-runs/{run_id}."""
        store = collector.store
        return [
            Route("/api/eval-runs", _record(store), methods=["POST"]),
            Route("/api/eval-runs", _list(store), methods=["GET"]),
            Route("/api/eval-runs/{run_id}", _get(store), methods=["GET"]),
        ]

    def start(self, collector: Collector) -> None:
        """Nothing runs in the background."""

    def stop(self) -> None:
        """Nothing to stop."""


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status)


def _record(store: Store) -> Any:
    async def record(request: Request) -> Response:
        try:
            report = loads_body(await request.body())
        except ValueError:
            return _error(400, "body must be a run report (JSON)")
        missing = [k for k in REQUIRED if not isinstance(report, dict) or k not in report]
        if missing:
            return _error(400, f"run report lacks {', '.join(missing)}")
        try:
            row = run_row(report)
        except (TypeError, ValueError) as exc:
            return _error(400, f"run report is malformed: {exc}")
        added = await run_in_threadpool(store.append_rows, "eval_runs", pa.Table.from_pylist([row]))
        if not added:
            return _error(409, f"run {report['run_id']} is already recorded")
        return JSONResponse({"run_id": report["run_id"]}, 201)

    return record


def _list(store: Store) -> Any:
    async def list_runs(request: Request) -> Response:
        try:
            limit = int_param(request, "limit", 50, 1, 500)
            offset = int_param(request, "offset", 0, 0, 10_000_000)
        except BadRequest as exc:
            return _error(exc.status, exc.message)
        params = {"suite": request.query_params.get("suite"), "limit": limit, "offset": offset}
        result = await run_in_threadpool(store.query, LIST_SQL, params)
        runs = [
            {**r, "started_at": _iso(r["started_at"]), "finished_at": _iso(r["finished_at"])}
            for r in result.records()
        ]
        return JSONResponse({"runs": runs, "limit": limit, "offset": offset})

    return list_runs


def _get(store: Store) -> Any:
    async def get_run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        result = await run_in_threadpool(
            store.query, "SELECT report FROM eval_runs WHERE run_id = ?", [run_id]
        )
        if not result.rows:
            return _error(404, f"no run {run_id}")
        return Response(result.rows[0][0], media_type="application/json")

    return get_run


def _iso(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(value, "strftime") else value
