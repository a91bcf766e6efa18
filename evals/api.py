"""The evaluation API routes the evals extension mounts on the collector: typed FastAPI
routes of the collector's one error mapping (bad input a 400 naming the parameter).

GET  /api/flags             flags, filtered by project, rule, severity, cluster, status, trace
GET  /api/flags/clusters    the latest clustering per project: counts and labels
POST /api/flags/clusters    re-cluster now ({"project": ...} optional)
GET  /api/scores            scores by trace_id, span_id, name, project
GET  /api/evals/status      online worker: watermarks, backlog, last errors
GET  /api/evals/evaluators  registered evaluators
POST /api/evals/score       re-score stored spans, one page per request (the CLI loops)
POST /api/alerts/test       send a test alert to every configured webhook
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from loopwise.collector.api_errors import Unavailable
from loopwise.collector.server.decode import BadRequest
from loopwise.collector.server.errors import ApiRoute, body_schema, model_body
from loopwise.collector.server.responses import json_response
from loopwise.collector.store import QuerySource
from loopwise.collector.times import parse_utc

from .clustering import cluster_all, cluster_project
from .declare import EvaluatorFactory
from .offline import RescoreError, SpanFilters, choose_bindings, count_spans, rescore_page
from .queries import flag_clusters, list_flags, list_scores
from .webhooks import deliver

if TYPE_CHECKING:
    from .extension import EvalsExtension

MAX_PAGE = 1000
MAX_OFFSET = 100_000_000
MAX_RESCORE_PAGE = 5000
MAX_BODY_BYTES = 1024 * 1024

Name = Annotated[str | None, Query(max_length=200)]
TraceId = Annotated[str | None, Query(pattern="^[0-9a-fA-F]{32}$")]
SpanId = Annotated[str | None, Query(pattern="^[0-9a-fA-F]{16}$")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


class BadParam(BadRequest):
    """A query parameter or body field is invalid (answered with 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class ReclusterRequest(BaseModel):
    """Which project to re-cluster (every project when absent)."""

    model_config = ConfigDict(extra="forbid")

    project: str | None = Field(default=None, max_length=200)


class ScoreFilters(BaseModel):
    """Which stored spans to re-score."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(default=None, description="ISO 8601; naive means UTC")
    until: str | None = Field(default=None, description="ISO 8601; naive means UTC")
    projects: list[str] = []
    kinds: list[str] = []
    names: list[str] = []


class ScoreRequest(BaseModel):
    """One page of an offline re-scoring run (the CLI sends pages until ``done``)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")
    evaluators: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    filters: ScoreFilters = ScoreFilters()
    after: StrictInt = Field(default=-1, ge=-1)
    limit: StrictInt = Field(default=1000, ge=1, le=MAX_RESCORE_PAGE)


class FlagPage(BaseModel):
    """One page of flags, newest first."""

    flags: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class ScorePage(BaseModel):
    """One page of scores."""

    scores: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class ScoreReply(BaseModel):
    """What one page of re-scoring did; ``next_after`` is the next page's ``after``."""

    run_id: str
    spans: int
    next_after: int
    done: bool
    total: int | None
    tallies: list[dict[str, Any]]


def read_routes(store: Callable[[], QuerySource]) -> APIRouter:
    """The routes that only read flags and scores, over ``store()`` (a file store or a lake):
    ``GET /api/flags``, ``GET /api/flags/clusters``, ``GET /api/scores``."""
    router = APIRouter(route_class=ApiRoute, tags=["evaluation"])

    @router.get("/api/flags", response_model=FlagPage)
    async def get_flags(
        project: Name = None,
        rule: Name = None,
        severity: Literal["low", "medium", "high"] | None = None,
        status: Name = None,
        cluster: Name = None,
        trace_id: TraceId = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Offset = 0,
    ) -> Response:
        """Flags, newest first, filtered by project, rule, severity, status, cluster, trace."""
        options: dict[str, Any] = {
            "project": project,
            "rule": rule,
            "severity": severity,
            "status": status,
            "cluster": cluster,
            "trace_id": trace_id.lower() if trace_id else None,
            "limit": limit,
            "offset": offset,
        }
        page = await _in_thread(lambda: list_flags(store(), **options))
        return json_response({"flags": page.rows, "total": page.total, **_page(limit, offset)})

    @router.get("/api/flags/clusters")
    async def get_clusters(project: Name = None) -> Response:
        """The latest clustering of open flags: counts and labels per cluster."""
        summary = await _in_thread(lambda: flag_clusters(store(), project=project))
        return json_response({"project": project, **summary})

    @router.get("/api/scores", response_model=ScorePage)
    async def get_scores(
        trace_id: TraceId = None,
        span_id: SpanId = None,
        name: Name = None,
        project: Name = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Offset = 0,
    ) -> Response:
        """Scores of a trace, a span, an evaluator or a project."""
        options: dict[str, Any] = {
            "trace_id": trace_id.lower() if trace_id else None,
            "span_id": span_id.lower() if span_id else None,
            "name": name,
            "project": project,
            "limit": limit,
            "offset": offset,
        }
        page = await _in_thread(lambda: list_scores(store(), **options))
        return json_response({"scores": page.rows, "total": page.total, **_page(limit, offset)})

    return router


def routes(extension: EvalsExtension) -> list[BaseRoute]:
    """The extension's routes."""
    router = read_routes(extension.store)

    @router.post("/api/flags/clusters", openapi_extra=body_schema(ReclusterRequest, False))
    async def post_clusters(request: Request) -> Response:
        """Re-cluster the open flags of one project (or all) now."""
        body = await _optional_body(request, ReclusterRequest)
        project = body.project

        def run() -> dict[str, Any]:
            store = extension.store()
            if project:
                cluster_project(store, project)
            else:
                cluster_all(store)
            return flag_clusters(store, project=project)

        return json_response({"project": project, **(await _in_thread(run))})

    @router.get("/api/evals/status")
    async def get_status() -> Response:
        """The online worker: watermarks, backlog, last errors."""
        return json_response(await _in_thread(extension.status))

    @router.get("/api/evals/evaluators")
    async def get_evaluators() -> Response:
        """The registered evaluators and their options."""
        return json_response({"evaluators": _evaluators(extension)})

    @router.post(
        "/api/evals/score", response_model=ScoreReply, openapi_extra=body_schema(ScoreRequest)
    )
    async def post_score(request: Request) -> Response:
        """Re-score one page of stored spans (never calling the workflow)."""
        body = await model_body(request, ScoreRequest, MAX_BODY_BYTES)
        return json_response(await _in_thread(lambda: _score(extension, body)))

    @router.post("/api/alerts/test")
    async def post_alerts_test() -> Response:
        """Send a test alert to every configured webhook now and say how each answered."""
        return json_response({"deliveries": await _in_thread(lambda: _test_alerts(extension))})

    return list(router.routes)


async def _in_thread(work: Any) -> Any:
    """``work()`` off the event loop; a bad re-scoring request is a 400, an extension not
    attached to a collector a 503."""
    try:
        return await run_in_threadpool(work)
    except RescoreError as exc:
        raise BadParam(str(exc)) from None
    except RuntimeError as exc:
        raise Unavailable(str(exc)) from None


async def _optional_body(request: Request, model: type[ReclusterRequest]) -> ReclusterRequest:
    if not (await request.body()).strip():
        return model()
    return await model_body(request, model, MAX_BODY_BYTES)


def _page(limit: int, offset: int) -> dict[str, int]:
    return {"limit": limit, "offset": offset}


def _score(extension: EvalsExtension, body: ScoreRequest) -> dict[str, Any]:
    if any(":" in n for n in body.evaluators):  # no importing modules on a caller's request
        raise BadParam("name registered evaluators here; import paths belong in the config file")
    filters = filters_from_model(body.filters)
    config = extension.config()
    bindings = choose_bindings(config, body.evaluators, extension.registry)
    if not bindings:
        raise BadParam("the collector's evaluation config has no evaluators; name some")
    store = extension.store()
    total = count_spans(store, filters) if body.after == -1 else None
    page = rescore_page(
        store,
        bindings,
        filters,
        after=body.after,
        limit=body.limit,
        run_id=body.run_id,
        rules=config.threshold_rules,
        runtime=extension.runtime(),
    )
    return {
        "run_id": body.run_id,
        "spans": page.spans,
        "next_after": page.next_after,
        "done": page.done,
        "total": total,
        "tallies": [vars(t) for t in page.tallies.values()],
    }


def filters_from_model(raw: ScoreFilters) -> SpanFilters:
    """Span filters from the request's ``filters`` (ISO times, lists of names)."""
    values: dict[str, Any] = {}
    for key in ("since", "until"):
        text = getattr(raw, key)
        if text:
            try:
                values[key] = parse_time(text)
            except ValueError as exc:
                raise BadParam(f"{key}: {exc}") from None
    for key in ("projects", "kinds", "names"):
        values[key] = tuple(getattr(raw, key))
    return SpanFilters(**values)


def parse_time(value: Any) -> dt.datetime:
    """An ISO-8601 time as naive UTC."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO-8601 time string")
    return parse_utc(value)


def _test_alerts(extension: EvalsExtension) -> list[dict[str, Any]]:
    rules = extension.config().alerts
    if not rules:
        raise BadParam("no [[alerts]] are configured (see the evaluation config)")
    dashboard = extension.config().dashboard_url
    results = []
    for rule in rules:
        payload = {
            "text": f"loopwise test alert for {rule.key}: webhooks work.",
            "event": "test",
            "dashboard_url": dashboard,
        }
        outcome = deliver(rule, payload, backoff_s=())
        results.append(
            {
                "rule": outcome.rule,
                "ok": outcome.ok,
                "status": outcome.status,
                "attempts": outcome.attempts,
                "error": outcome.error,
            }
        )
    return results


def _evaluators(extension: EvalsExtension) -> list[dict[str, Any]]:
    items = []
    for declared in extension.registry:
        options = (
            [_option(p) for p in declared.signature.parameters.values()]
            if isinstance(declared, EvaluatorFactory)
            else []
        )
        items.append(
            {
                "name": declared.name,
                "version": declared.version,
                "kind": declared.kind,
                "description": declared.description,
                "options": options,
            }
        )
    return items


def _option(param: inspect.Parameter) -> dict[str, Any]:
    annotation = param.annotation
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    required = param.default is inspect.Parameter.empty
    return {
        "name": param.name,
        "type": kind,
        "required": required,
        "default": None if required else param.default,
    }
