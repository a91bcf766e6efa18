"""Routes for API keys and the caller's identity.

``GET /api/whoami``                 the caller: project, role and name of its key (or admin)
``GET /api/keys``                   keys without secrets (a project admin sees its project's)
``POST /api/keys``                  ``{"project", "role", "name"?}`` → the new key, shown once
``POST /api/keys/{key_id}/revoke``  revoke a key (idempotent)

Access is decided in access.py: the instance admin manages every project's keys, a project
``admin`` key only its own project's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..store.api_keys import ApiKeyError, create_key, list_keys, revoke_key
from .access import principal_of
from .responses import json_error, json_response, loads_body

if TYPE_CHECKING:
    from .app import Collector


def key_routes(collector: Collector) -> list[BaseRoute]:
    """The key routes, bound to ``collector``'s store and key ring."""

    async def whoami(request: Request) -> Response:
        principal = principal_of(request.scope)
        if principal.key is None:
            return json_response({"admin": True, "project": None, "role": "admin", "name": None})
        key = principal.key
        return json_response(
            {
                "admin": False,
                "project": key.project,
                "role": key.role,
                "name": key.name,
                "key_id": key.key_id,
            }
        )

    async def list_all(request: Request) -> Response:
        project = principal_of(request.scope).project or request.query_params.get("project")
        keys = await run_in_threadpool(list_keys, collector.store, project=project)
        return json_response([k.to_dict() for k in keys])

    async def create(request: Request) -> Response:
        principal = principal_of(request.scope)
        body = await _json_object(request)
        if body is None:
            return json_error(400, 'body must be JSON: {"project": ..., "role": ...}')
        project = principal.project or body.get("project")
        if principal.project and body.get("project") not in (None, principal.project):
            return json_error(403, f"a key of project {principal.project} manages only its keys")
        creator = principal.name or "admin"
        try:
            made = await run_in_threadpool(
                lambda: create_key(
                    collector.store,
                    project=project,  # type: ignore[arg-type]
                    role=str(body.get("role") or "ingest"),
                    name=str(body.get("name") or ""),
                    created_by=creator,
                )
            )
        except ApiKeyError as exc:
            return json_error(400, str(exc))
        collector.keys.reload()
        return json_response({**made.key.to_dict(), "token": made.token}, status=201)

    async def revoke(request: Request) -> Response:
        principal = principal_of(request.scope)
        key_id = request.path_params["key_id"]
        try:
            key = await run_in_threadpool(
                lambda: revoke_key(
                    collector.store,
                    key_id,
                    project=principal.project,
                    actor=principal.name or "admin",
                )
            )
        except ApiKeyError as exc:
            return json_error(404, str(exc))
        collector.keys.reload()
        return json_response(key.to_dict())

    return [
        Route("/api/whoami", whoami, methods=["GET"]),
        Route("/api/keys", list_all, methods=["GET"]),
        Route("/api/keys", create, methods=["POST"]),
        Route("/api/keys/{key_id}/revoke", revoke, methods=["POST"]),
    ]


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = loads_body(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
