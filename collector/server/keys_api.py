"""Routes for API keys and the caller's identity.

``GET /api/whoami``                 the caller: project, role and name of its key (or admin)
``GET /api/keys``                   keys without secrets (a project admin sees its project's)
``POST /api/keys``                  ``{"project", "role", "name"?}`` → the new key, shown once
``POST /api/keys/{key_id}/revoke``  revoke a key (idempotent)

Access is decided in access.py: the instance admin manages every project's keys, a project
``admin`` key only its own project's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..api_errors import Forbidden, NotFound
from ..store.api_keys import ApiKeyError, create_key, list_keys, revoke_key
from .access import principal_of
from .decode import BadRequest
from .errors import ApiRoute, body_schema, model_body
from .responses import json_response
from .schemas import CreatedKey, KeyCreateRequest, KeyModel, WhoamiReply
from .traces_api import Text

if TYPE_CHECKING:
    from .app import Collector


def whoami_routes() -> APIRouter:
    """``GET /api/whoami``: read from the request's principal, so any store serves it."""
    router = APIRouter(route_class=ApiRoute, tags=["keys"])

    @router.get("/api/whoami", response_model=WhoamiReply)
    async def whoami(request: Request) -> Response:
        """The caller: project, role and name of its key (or the instance admin)."""
        key = principal_of(request.scope).key
        if key is None:
            return json_response({"admin": True, "project": None, "role": "admin", "name": None})
        return json_response(
            {
                "admin": False,
                "project": key.project,
                "role": key.role,
                "name": key.name,
                "key_id": key.key_id,
            }
        )

    return router


def key_routes(collector: Collector) -> APIRouter:
    """The key routes, bound to ``collector``'s store and key ring (whoami included)."""
    router = whoami_routes()

    @router.get("/api/keys", response_model=list[KeyModel])
    async def get_keys(request: Request, project: Text = None) -> Response:
        """Keys without their secrets (a project's admin key sees its project's)."""
        scope = principal_of(request.scope).project or project
        keys = await run_in_threadpool(list_keys, collector.store, project=scope)
        return json_response([k.to_dict() for k in keys])

    @router.post(
        "/api/keys",
        response_model=CreatedKey,
        status_code=201,
        openapi_extra=body_schema(KeyCreateRequest),
    )
    async def post_key(request: Request) -> Response:
        """A new key; its token is in this reply and nowhere else, ever."""
        body = await model_body(request, KeyCreateRequest)
        principal = principal_of(request.scope)
        if principal.project and body.project not in (None, principal.project):
            raise Forbidden(f"a key of project {principal.project} manages only its keys")
        project = principal.project or body.project
        try:
            made = await run_in_threadpool(
                lambda: create_key(
                    collector.store,
                    project=project,  # type: ignore[arg-type]
                    role=body.role or "ingest",
                    name=body.name or "",
                    created_by=principal.name or "admin",
                )
            )
        except ApiKeyError as exc:
            raise BadRequest(400, str(exc)) from None
        collector.keys.reload()
        return json_response({**made.key.to_dict(), "token": made.token}, status=201)

    @router.post("/api/keys/{key_id}/revoke", response_model=KeyModel)
    async def post_revoke(request: Request, key_id: str) -> Response:
        """Revoke a key (idempotent)."""
        principal = principal_of(request.scope)
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
            raise NotFound(str(exc)) from None
        collector.keys.reload()
        return json_response(key.to_dict())

    return router
