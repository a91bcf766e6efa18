"""Suite runs in the collector: ``/api/eval-runs`` (record, list, fetch), hosted by the
``SuiteRunsExtension`` so ``loopwise eval run --endpoint`` and the dashboard share one
record of runs. Typed FastAPI routes of the collector's one error mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from loopwise.collector.api_errors import Conflict, NotFound
from loopwise.collector.server.decode import BadRequest
from loopwise.collector.server.errors import ApiRoute, body_schema, model_body
from loopwise.collector.server.responses import json_response
from loopwise.collector.store import Store

from .record import run_row

if TYPE_CHECKING:
    from loopwise.collector.server import Collector

LIST_SQL = """
SELECT run_id, suite, dataset, passed, started_at, finished_at, git_commit
FROM eval_runs WHERE ($suite IS NULL OR suite = $suite)
ORDER BY started_at DESC LIMIT $limit OFFSET $offset
"""
MAX_REPORT_BYTES = 64 * 1024 * 1024


class RunReportBody(BaseModel):
    """A suite run's report as ``loopwise eval run`` writes it (fields beyond these, the
    examples, summaries and thresholds, are kept as sent)."""

    model_config = ConfigDict(extra="allow")

    run_id: str = Field(min_length=1, max_length=200)
    suite: str = Field(min_length=1, max_length=500)
    dataset: str = Field(max_length=2000)
    passed: StrictBool
    started_at: str = Field(description="ISO-8601 time")
    finished_at: str = Field(description="ISO-8601 time")
    context: dict[str, Any] | None = None


class RecordedRun(BaseModel):
    """The id of the run just recorded."""

    run_id: str


class RunSummary(BaseModel):
    """One recorded run in the list, newest first."""

    run_id: str
    suite: str
    dataset: str
    passed: bool
    started_at: str | None
    finished_at: str | None
    git_commit: str | None = None


class RunPage(BaseModel):
    """One page of recorded runs."""

    runs: list[RunSummary]
    limit: int
    offset: int


class SuiteRunsExtension:
    """The ``/api/eval-runs`` routes; no background work."""

    name = "eval-runs"

    def routes(self, collector: Collector) -> list[BaseRoute]:
        """POST /api/eval-runs, GET /api/eval-runs, GET /api/eval-runs/{run_id}."""
        return list(run_routes(collector.store).routes)

    def start(self, collector: Collector) -> None:
        """Nothing runs in the background."""

    def stop(self) -> None:
        """Nothing to stop."""


def run_routes(store: Store) -> APIRouter:
    """The routes over ``store``'s ``eval_runs`` table."""
    router = APIRouter(route_class=ApiRoute, tags=["eval runs"])

    @router.post(
        "/api/eval-runs",
        response_model=RecordedRun,
        status_code=201,
        openapi_extra=body_schema(RunReportBody),
    )
    async def record_run(request: Request) -> Response:
        """Record one run's report; a run id already recorded is a 409."""
        body = await model_body(request, RunReportBody, MAX_REPORT_BYTES)
        report = body.model_dump(mode="json", exclude_unset=True)
        try:
            row = run_row(report)
        except (TypeError, ValueError) as exc:
            raise BadRequest(400, f"run report is malformed: {exc}") from None
        added = await run_in_threadpool(store.append_rows, "eval_runs", pa.Table.from_pylist([row]))
        if not added:
            raise Conflict(f"run {body.run_id} is already recorded")
        return json_response({"run_id": body.run_id}, 201)

    @router.get("/api/eval-runs", response_model=RunPage)
    async def list_runs(
        suite: Annotated[str | None, Query(max_length=500)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> Response:
        """Recorded runs, newest first, of one suite or all."""
        params = {"suite": suite, "limit": limit, "offset": offset}
        result = await run_in_threadpool(store.query, LIST_SQL, params)
        runs = [
            {**r, "started_at": _iso(r["started_at"]), "finished_at": _iso(r["finished_at"])}
            for r in result.records()
        ]
        return json_response({"runs": runs, "limit": limit, "offset": offset})

    @router.get("/api/eval-runs/{run_id}")
    async def get_run(run_id: str) -> Response:
        """One run's full report, as it was recorded."""
        result = await run_in_threadpool(
            store.query, "SELECT report FROM eval_runs WHERE run_id = ?", [run_id]
        )
        if not result.rows:
            raise NotFound(f"no run {run_id}")
        return Response(result.rows[0][0], media_type="application/json")

    return router


def _iso(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(value, "strftime") else value
