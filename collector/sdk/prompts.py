"""Fetching prompts from the registry for ``loopwise.prompt(...)``, with caches and a fallback.

Lookup order: a fresh copy in memory (``cache_ttl_s``), the registry (the collector's API,
or the DuckDB file in local mode), then a stale copy in memory, the copy on disk from the
last successful fetch, and finally the caller's ``fallback`` template. After a failed fetch
the registry counts as away for ``retry_after_s``: calls in that window go straight to the
caches, so a dead collector never slows the application down more than once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from ..client import CollectorClient

from .prompt_template import Prompt, PromptSource, check_prompt_name

log = logging.getLogger("loopwise.sdk")

DEFAULT_LABEL = "production"
DEFAULT_TTL_S = 60.0


class PromptUnavailable(LookupError):
    """The prompt could not be fetched, nothing was cached and no fallback was given."""


def default_prompt_cache_dir(project: str) -> Path:
    """``$LOOPWISE_PROMPT_CACHE`` or ~/.cache/loopwise/prompts, then one folder per project."""
    base = os.environ.get("LOOPWISE_PROMPT_CACHE") or Path.home() / ".cache/loopwise/prompts"
    return Path(base) / "".join(c if c.isalnum() or c in "-_." else "_" for c in project)


class PromptFetcher:
    """Resolves prompts for one client: from ``endpoint`` (a collector URL) or ``db`` (a
    DuckDB file), or from nowhere (only fallbacks) when both are None."""

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        db: Path | None = None,
        api_key: str | None = None,
        cache_dir: Path | None = None,
        timeout_s: float = 2.0,
        retry_after_s: float = 5.0,
        capture_content: bool = True,
    ) -> None:
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.db = db
        self.cache_dir = cache_dir
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._retry_after_s = retry_after_s
        self._capture = capture_content
        self._memory: dict[tuple[str, str | None, int | None], tuple[Prompt, float]] = {}
        self._missing: dict[tuple[str, str | None, int | None], float] = {}
        self._away_until = 0.0
        self._lock = threading.Lock()
        self._http: CollectorClient | None = None

    def get(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        fallback: str | None = None,
        cache_ttl_s: float = DEFAULT_TTL_S,
    ) -> Prompt:
        """The prompt ``name`` at ``version``, or else at ``label`` (default production).

        Raises ValueError for a bad name or version and PromptUnavailable when neither the
        registry, the caches nor ``fallback`` can answer.
        """
        check_prompt_name(name)
        if version is not None and (not isinstance(version, int) or version < 1):
            raise ValueError(f"prompt version must be a positive integer, got {version!r}")
        wanted_label = None if version is not None else (label or DEFAULT_LABEL)
        key = (name, wanted_label, version)
        now = time.monotonic()
        with self._lock:
            cached = self._memory.get(key)
            if cached is not None and now - cached[1] < cache_ttl_s:
                return cached[0]
            missing_since = self._missing.get(key)
            known_missing = missing_since is not None and now - missing_since < cache_ttl_s
            skip_network = known_missing or now < self._away_until
        fetched, absent = (
            (None, False) if skip_network else self._fetch(name, wanted_label, version)
        )
        if fetched is not None:
            with self._lock:
                self._memory[key] = (fetched, time.monotonic())
                self._missing.pop(key, None)
            self._write_disk(key, fetched)
            return fetched
        if absent:  # the registry answered that there is no such prompt: ask again later
            with self._lock:
                self._missing[key] = time.monotonic()
        if cached is not None:
            return cached[0]
        on_disk = self._read_disk(key)
        if on_disk is not None:
            return on_disk
        if fallback is not None:
            return Prompt(
                name, fallback, label=wanted_label, source="fallback", capture_content=self._capture
            )
        where = f"version {version}" if version is not None else f"label {wanted_label!r}"
        raise PromptUnavailable(
            f"prompt {name!r} ({where}) is not available from the registry and not cached; "
            "pass fallback= to run without it"
        )

    def _fetch(
        self, name: str, label: str | None, version: int | None
    ) -> tuple[Prompt | None, bool]:
        """``(prompt, False)``, ``(None, True)`` when the registry has no such prompt, or
        ``(None, False)`` when it could not be asked (then it counts as away for a while)."""
        if self.endpoint is None and self.db is None:
            return None, False
        try:
            if self.endpoint is not None:
                data = self._from_api(name, label, version)
            else:
                data = _from_file(self.db, name, label, version) if self.db else None
            source: PromptSource = "collector" if self.endpoint else "file"
            if data is None:
                return None, True
            prompt = Prompt.from_dict(
                {**data, "label": label}, source=source, capture_content=self._capture
            )
            return prompt, False
        except Exception as exc:
            log.debug("prompt %s not fetched: %s", name, exc)
            with self._lock:
                self._away_until = time.monotonic() + self._retry_after_s
            return None, False

    def _from_api(self, name: str, label: str | None, version: int | None) -> dict[str, Any] | None:
        # Loaded on the first fetch, so an application that never asks for a prompt never
        # imports an HTTP client.
        from ..api_errors import NotFound
        from ..client import CollectorClient, RouteMissing

        assert self.endpoint is not None
        params = {"version": str(version)} if version is not None else {"label": label or ""}
        with self._lock:  # one pooled client: a new one per call costs tens of milliseconds
            if self._http is None:
                # No retries: the host application is waiting, and a collector that is away
                # is remembered (``retry_after_s``) and answered from the cache meanwhile.
                self._http = CollectorClient(
                    self.endpoint, self._api_key, timeout_s=self._timeout_s, retries=0
                )
            http = self._http
        try:
            payload = http.call("GET", f"/api/prompts/{quote(name, safe='')}", params=params)
        except RouteMissing:
            raise
        except NotFound:
            return None  # the registry answered: no such prompt or label
        if not isinstance(payload, dict):
            raise ValueError("the registry answered something other than a JSON object")
        return payload

    def close(self) -> None:
        """Close the pooled HTTP connections (a later fetch opens new ones)."""
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def _cache_path(self, key: tuple[str, str | None, int | None]) -> Path | None:
        if self.cache_dir is None:
            return None
        name, label, version = key
        suffix = f"v{version}" if version is not None else f"label-{label}"
        digest = hashlib.sha1(f"{self.endpoint or self.db}".encode()).hexdigest()[:10]
        return self.cache_dir / digest / f"{name}@{quote(suffix, safe='')}.json"

    def _write_disk(self, key: tuple[str, str | None, int | None], prompt: Prompt) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(prompt.to_dict(), ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            log.debug("cannot cache prompt %s in %s", prompt.name, path, exc_info=True)

    def _read_disk(self, key: tuple[str, str | None, int | None]) -> Prompt | None:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Prompt.from_dict(data, source="cache", capture_content=self._capture)
        except (OSError, ValueError):
            log.debug("ignoring an unreadable prompt cache file %s", path, exc_info=True)
            return None


def _from_file(
    db: Path, name: str, label: str | None, version: int | None
) -> dict[str, Any] | None:
    """The prompt from a DuckDB file opened read-only (None when absent or unlabelled)."""
    from ..store.feedback_tables import PROMPT_RESOLVE_SQL
    from ..store.store import Store

    with Store(db, read_only=True) as store:
        result = store.query(
            PROMPT_RESOLVE_SQL, {"name": name, "label": label, "version": version}
        ).records()
    if not result:
        return None
    row = result[0]
    return {
        "name": row["name"],
        "version": int(row["version"]),
        "template": row["template"],
        "model_params": json.loads(row["model_params"] or "{}"),
    }
