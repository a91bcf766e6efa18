"""``GET /api/public/v2/prompts/{name}``: the prompt registry in Langfuse's shape, so
``langfuse.get_prompt(name, label=..., version=...)`` works against loopwise.

A version is returned as a Langfuse text prompt: ``{"type": "text", "name", "version",
"prompt": <template>, "config": <model params>, "labels", "tags": [], "commitMessage"}``.
Both use ``{{variable}}`` placeholders, so ``prompt.compile(**variables)`` fills the same
template. Without ``label`` or ``version`` the ``production`` label is served (Langfuse's
default); ``label=latest`` is the newest version. A missing prompt, label or version is a
404 (the SDK then uses its fallback); a bad ``version`` is a 400.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loopwise.collector.server.responses import json_error, json_response
from loopwise.collector.store import Store

from .errors import FeedbackError
from .prompts import PromptVersion, get_version

log = logging.getLogger("loopwise.feedback")

PROMPT_PATH = "/api/public/v2/prompts/{name:path}"


def langfuse_prompt_routes(store: Store) -> list[BaseRoute]:
    """The Langfuse prompt route, bound to ``store``."""

    async def get_prompt(request: Request) -> Response:
        query = request.query_params
        version: object = query.get("version") or None
        if isinstance(version, str) and version.isdigit():
            version = int(version)  # the registry checks anything else and answers 400
        try:
            found = await run_in_threadpool(
                get_version,
                store,
                request.path_params["name"],
                label=query.get("label") or None,
                version=version,
            )
        except FeedbackError as exc:
            return json_response({**exc.to_dict(), "message": str(exc)}, exc.status)
        except Exception as exc:  # the collector answers every input; it never dies on one
            log.exception("serving a Langfuse prompt failed")
            return json_error(500, f"internal error: {type(exc).__name__}")
        return json_response(langfuse_prompt(found))

    return [Route(PROMPT_PATH, get_prompt, methods=["GET"])]


def langfuse_prompt(version: PromptVersion) -> dict[str, object]:
    """A prompt version as Langfuse's ``TextPrompt``."""
    return {
        "type": "text",
        "name": version.name,
        "version": version.version,
        "prompt": version.template,
        "config": version.model_params,
        "labels": list(version.labels),
        "tags": [],
        "commitMessage": version.message,
    }
