"""The evaluation API routes the evals extension mounts on the collector.

GET  /api/flags             flags, filtered by project, rule, severity, cluster, status, trace
GET  /api/flags/clusters    the latest clustering per project: counts and labels
POST /api/flags/clusters    re-cluster now ({"project": ...} optional)
GET  /api/scores            scores by trace_id, span_id, name, project
GET  /api/evals/status      online worker: watermarks, backlog, last errors
GET  /api/evals/evaluators  registered evaluators
POST /api/evals/score       re-score stored spans, one page per request (the CLI loops)
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loopwise.collector.server.decode import BadRequest
from loopwise.collector.server.params import int_param
from loopwise.collector.server.responses import json_error, json_response, loads_body
from loopwise.collector.times import parse_utc

from .clustering import cluster_all, cluster_project
from .declare import EvaluatorFactory
from .offline import RescoreError, SpanFilters, choose_bindings, count_spans, rescore_page
from .queries import flag_clusters, list_flags, list_scores
from .rules import SEVERITIES
from .webhooks import deliver

if TYPE_CHECKING:
    from .extension import EvalsExtension

Handler = Callable[[Request], Awaitable[Response]]
_HEX = re.compile(r"^[0-9a-f]+$")
MAX_PAGE = 1000
MAX_RESCORE_PAGE = 5000


class BadParam(ValueError):
    """A query parameter or body field is invalid (answered with 400)."""


def routes(extension: EvalsExtension) -> list[BaseRoute]:
    """The extension's routes."""
    return [
        Route("/api/flags", _guard(lambda r: _flags(extension, r)), methods=["GET"]),
        Route("/api/flags/clusters", _guard(lambda r: _clusters(extension, r)), methods=["GET"]),
        Route("/api/flags/clusters", _guard(lambda r: _recluster(extension, r)), methods=["POST"]),
        Route("/api/scores", _guard(lambda r: _scores(extension, r)), methods=["GET"]),
        Route("/api/evals/status", _guard(lambda r: _status(extension, r)), methods=["GET"]),
        Route(
            "/api/evals/evaluators", _guard(lambda r: _evaluators(extension, r)), methods=["GET"]
        ),
        Route("/api/evals/score", _guard(lambda r: _score(extension, r)), methods=["POST"]),
        Route("/api/alerts/test", _guard(lambda r: _test_alerts(extension, r)), methods=["POST"]),
    ]


async def _test_alerts(extension: EvalsExtension, _: Request) -> Response:
    """Send a test alert to every configured webhook now and say how each answered."""
    rules = extension.config().alerts
    if not rules:
        raise BadParam("no [[alerts]] are configured (see the evaluation config)")
    dashboard = extension.config().dashboard_url

    def send_all() -> list[dict[str, Any]]:
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

    return json_response({"deliveries": await run_in_threadpool(send_all)})


def _guard(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except BadParam as exc:
            return json_error(400, str(exc))
        except RescoreError as exc:
            return json_error(400, str(exc))
        except RuntimeError as exc:
            return json_error(503, str(exc))

    return guarded


def _text(request: Request, name: str, *, max_len: int = 200) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_len:
        raise BadParam(f"{name} is longer than {max_len} characters")
    return value


def _hex(request: Request, name: str, length: int) -> str | None:
    value = _text(request, name)
    if value is None:
        return None
    value = value.lower()
    if len(value) != length or not _HEX.match(value):
        raise BadParam(f"{name} must be {length} hex characters")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    try:
        return int_param(request, name, default, low, high)
    except BadRequest as exc:
        raise BadParam(exc.message) from None


async def _flags(extension: EvalsExtension, request: Request) -> Response:
    severity = _text(request, "severity")
    if severity is not None and severity not in SEVERITIES:
        raise BadParam(f"severity must be one of {', '.join(SEVERITIES)}")
    options: dict[str, Any] = {
        "project": _text(request, "project"),
        "rule": _text(request, "rule"),
        "severity": severity,
        "status": _text(request, "status"),
        "cluster": _text(request, "cluster"),
        "trace_id": _hex(request, "trace_id", 32),
        "limit": _int(request, "limit", 50, 1, MAX_PAGE),
        "offset": _int(request, "offset", 0, 0, 100_000_000),
    }
    page = await run_in_threadpool(lambda: list_flags(extension.store(), **options))
    return json_response(
        {
            "flags": page.rows,
            "total": page.total,
            "limit": options["limit"],
            "offset": options["offset"],
        }
    )


async def _clusters(extension: EvalsExtension, request: Request) -> Response:
    project = _text(request, "project")
    summary = await run_in_threadpool(lambda: flag_clusters(extension.store(), project=project))
    return json_response({"project": project, **summary})


async def _recluster(extension: EvalsExtension, request: Request) -> Response:
    body = await _json_body(request, required=False)
    project = body.get("project")
    if project is not None and not isinstance(project, str):
        raise BadParam("project must be a string")
    store = extension.store()

    def run() -> dict[str, Any]:
        if project:
            cluster_project(store, project)
        else:
            cluster_all(store)
        return flag_clusters(store, project=project)

    return json_response({"project": project, **(await run_in_threadpool(run))})


async def _scores(extension: EvalsExtension, request: Request) -> Response:
    options: dict[str, Any] = {
        "trace_id": _hex(request, "trace_id", 32),
        "span_id": _hex(request, "span_id", 16),
        "name": _text(request, "name"),
        "project": _text(request, "project"),
        "limit": _int(request, "limit", 100, 1, MAX_PAGE),
        "offset": _int(request, "offset", 0, 0, 100_000_000),
    }
    page = await run_in_threadpool(lambda: list_scores(extension.store(), **options))
    return json_response(
        {
            "scores": page.rows,
            "total": page.total,
            "limit": options["limit"],
            "offset": options["offset"],
        }
    )


async def _status(extension: EvalsExtension, _: Request) -> Response:
    return json_response(await run_in_threadpool(extension.status))


async def _evaluators(extension: EvalsExtension, _: Request) -> Response:
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
    return json_response({"evaluators": items})


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


async def _score(extension: EvalsExtension, request: Request) -> Response:
    body = await _json_body(request, required=True)
    names = body.get("evaluators") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise BadParam("evaluators must be a list of evaluator names")
    if any(":" in n for n in names):  # no importing arbitrary modules on a caller's request
        raise BadParam("name registered evaluators here; import paths belong in the config file")
    filters = filters_from_json(body.get("filters") or {})
    after = body.get("after", -1)
    limit = body.get("limit", 1000)
    run_id = body.get("run_id")
    if isinstance(after, bool) or not isinstance(after, int) or after < -1:
        raise BadParam("after must be an integer >= -1")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RESCORE_PAGE:
        raise BadParam(f"limit must be an integer from 1 to {MAX_RESCORE_PAGE}")
    if not isinstance(run_id, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,80}", run_id):
        raise BadParam("run_id must be 1-80 letters, digits, '_', '.', ':' or '-'")
    config = extension.config()
    bindings = choose_bindings(config, names, extension.registry)
    if not bindings:
        raise BadParam("the collector's evaluation config has no evaluators; name some")
    store = extension.store()

    def run() -> dict[str, Any]:
        total = count_spans(store, filters) if after == -1 else None
        page = rescore_page(
            store,
            bindings,
            filters,
            after=after,
            limit=limit,
            run_id=run_id,
            rules=config.threshold_rules,
            runtime=extension.runtime(),
        )
        return {
            "run_id": run_id,
            "spans": page.spans,
            "next_after": page.next_after,
            "done": page.done,
            "total": total,
            "tallies": [vars(t) for t in page.tallies.values()],
        }

    return json_response(await run_in_threadpool(run))


def filters_from_json(raw: Any) -> SpanFilters:
    """Span filters from a JSON object (``since``/``until`` ISO times, lists of names)."""
    if not isinstance(raw, dict):
        raise BadParam("filters must be an object")
    unknown = sorted(set(raw) - {"since", "until", "projects", "kinds", "names"})
    if unknown:
        raise BadParam(f"unknown filter {unknown[0]!r}")
    values: dict[str, Any] = {}
    for key in ("since", "until"):
        if raw.get(key):
            try:
                values[key] = parse_time(raw[key])
            except ValueError as exc:
                raise BadParam(f"{key}: {exc}") from None
    for key in ("projects", "kinds", "names"):
        items = raw.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise BadParam(f"{key} must be a list of strings")
        values[key] = tuple(items)
    return SpanFilters(**values)


def parse_time(value: Any) -> dt.datetime:
    """An ISO-8601 time as naive UTC."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO-8601 time string")
    return parse_utc(value)


async def _json_body(request: Request, *, required: bool) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise BadParam("send a JSON object body")
        return {}
    try:
        body = loads_body(raw)
    except ValueError:
        raise BadParam("body must be JSON") from None
    if not isinstance(body, dict):
        raise BadParam("body must be a JSON object")
    return body
