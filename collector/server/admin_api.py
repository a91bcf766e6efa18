"""Administrative routes: deleting data and exporting the store while the collector owns it.

- ``POST /api/admin/delete`` with ``{"older_than": "30d", "project": "P", "user_id": "U",
  "dry_run": false}`` (any of the three selectors, combined with AND) answers the deletion
  report (counts per table); bad input is a 400 and deletes nothing.
- ``POST /api/admin/export`` answers an uncompressed tar of an export folder (Parquet files
  and ``manifest.json``, see collector/store/export.py), written to a temporary folder that
  is removed once sent.
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from ..api_errors import Unavailable
from ..store.export import export_store
from ..store.retention import RetentionError, Selection, delete_data
from .access import principal_of
from .decode import BadRequest, read_body
from .errors import ApiRoute
from .responses import json_response
from .schemas import DeleteRequest, DeletionReportModel

if TYPE_CHECKING:
    from .app import Collector

MAX_ADMIN_BODY_BYTES = 16 * 1024
EXPORT_MEDIA_TYPE = "application/x-tar"
log = logging.getLogger(__name__)
_DELETE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": DeleteRequest.model_json_schema()}},
    }
}


def admin_routes(collector: Collector) -> APIRouter:
    """The admin routes, bound to ``collector``'s store."""
    router = APIRouter(route_class=ApiRoute, tags=["admin"])

    # The body is read here, not by a model: it is capped at 16 KiB before it is parsed,
    # and Selection names what is wrong with it in the words the CLI uses too.
    @router.post(
        "/api/admin/delete", response_model=DeletionReportModel, openapi_extra=_DELETE_BODY
    )
    async def post_delete(request: Request) -> Response:
        """Delete data by age, project or end user (AND); bad input deletes nothing."""
        body = await read_body(request, MAX_ADMIN_BODY_BYTES)
        try:
            payload = json.loads(body)
            selection = Selection.from_json(payload)
            dry_run = payload.get("dry_run", False)
            if not isinstance(dry_run, bool):
                raise RetentionError("dry_run must be true or false")
        except (ValueError, UnicodeDecodeError) as exc:
            message = str(exc) if isinstance(exc, RetentionError) else "body must be JSON"
            raise BadRequest(400, message) from None
        actor = principal_of(request.scope).name or "admin"
        try:
            report = await run_in_threadpool(
                lambda: delete_data(collector.store, selection, dry_run=dry_run, actor=actor)
            )
        except Exception as exc:
            log.exception("deletion failed")
            raise Unavailable(
                f"deletion failed, nothing was deleted: {type(exc).__name__}"
            ) from exc
        return json_response(report.to_dict())

    @router.post(
        "/api/admin/export",
        response_class=FileResponse,
        responses={200: {"content": {EXPORT_MEDIA_TYPE: {}}}},
    )
    async def post_export() -> Response:
        """A tar of Parquet files and manifest.json: the whole store, while it runs."""
        folder = Path(tempfile.mkdtemp(prefix="loopwise-export-"))
        try:
            archive = await run_in_threadpool(_export_archive, collector, folder)
        except Exception as exc:
            shutil.rmtree(folder, ignore_errors=True)
            log.exception("export failed")
            raise Unavailable(f"export failed: {type(exc).__name__}: {exc}") from exc
        return FileResponse(
            archive,
            media_type=EXPORT_MEDIA_TYPE,
            filename="loopwise-export.tar",
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    return router


def _export_archive(collector: Collector, folder: Path) -> Path:
    export_store(collector.store, folder / "export")
    archive = folder / "export.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted((folder / "export").iterdir()):
            tar.add(path, arcname=path.name)
    return archive
