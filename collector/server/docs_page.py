"""``/docs``: the JSON API browsable in a browser, offline.

FastAPI's own page loads Swagger UI from a CDN, which a collector on a closed network (or a
laptop on a train) cannot reach: the page stays blank. Here Swagger UI's files (version 5,
which reads OpenAPI 3.1) come from the ``fastapi-offline`` package, installed with the
server, and are served by the collector under ``/docs/assets/`` (open like ``/docs`` itself:
they hold no data).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
_SWAGGER_FILES = files("fastapi_offline") / "static"


def docs_routes(title: str, openapi_url: str = "/openapi.json") -> list[BaseRoute]:
    """The ``/docs`` page and the Swagger UI files it loads, all served locally."""

    async def docs(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )

    return [
        Route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False),
        Mount(ASSETS_PATH, StaticFiles(directory=str(_SWAGGER_FILES)), name="docs-assets"),
    ]
