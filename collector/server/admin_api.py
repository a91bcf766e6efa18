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

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from ..store.export import export_store
from ..store.retention import RetentionError, Selection, delete_data
from .access import principal_of
from .decode import BadRequest
from .feedback_api import read_limited as _read_limited
from .responses import json_error, json_response

if TYPE_CHECKING:
    from .app import Collector

log = logging.getLogger(__name__)

MAX_ADMIN_BODY_BYTES = 16 * 1024
EXPORT_MEDIA_TYPE = "application/x-tar"


def admin_routes(collector: Collector) -> list[BaseRoute]:
    """The admin routes, bound to ``collector``'s store."""

    async def delete(request: Request) -> Response:
        try:
            body = await _read_limited(request, MAX_ADMIN_BODY_BYTES)
        except BadRequest as exc:
            return json_error(exc.status, exc.message)
        try:
            payload = json.loads(body)
            selection = Selection.from_json(payload)
            dry_run = payload.get("dry_run", False)
            if not isinstance(dry_run, bool):
                raise RetentionError("dry_run must be true or false")
        except (ValueError, UnicodeDecodeError) as exc:
            message = str(exc) if isinstance(exc, RetentionError) else "body must be JSON"
            return json_error(400, message)
        try:
            actor = principal_of(request.scope).name or "admin"
            report = await run_in_threadpool(
                lambda: delete_data(collector.store, selection, dry_run=dry_run, actor=actor)
            )
        except Exception as exc:  # the collector answers every request; it never dies on one
            log.exception("deletion failed")
            return json_error(503, f"deletion failed, nothing was deleted: {type(exc).__name__}")
        return json_response(report.to_dict())

    async def export(_: Request) -> Response:
        folder = Path(tempfile.mkdtemp(prefix="loopwise-export-"))
        try:
            archive = await run_in_threadpool(_export_archive, collector, folder)
        except Exception as exc:
            shutil.rmtree(folder, ignore_errors=True)
            log.exception("export failed")
            return json_error(503, f"export failed: {type(exc).__name__}: {exc}")
        return FileResponse(
            archive,
            media_type=EXPORT_MEDIA_TYPE,
            filename="loopwise-export.tar",
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    return [
        Route("/api/admin/delete", delete, methods=["POST"]),
        Route("/api/admin/export", export, methods=["POST"]),
    ]


def _export_archive(collector: Collector, folder: Path) -> Path:
    export_store(collector.store, folder / "export")
    archive = folder / "export.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted((folder / "export").iterdir()):
            tar.add(path, arcname=path.name)
    return archive
