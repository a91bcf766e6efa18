"""Span exporters: OTLP/HTTP with a disk spool for when the collector is away, and a local
exporter that writes straight into a DuckDB file."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..extras import install_hint
from .otlp_bytes import encode_request

log = logging.getLogger("loopwise.sdk")

_quiet = threading.local()


class _OwnExportsFilter(logging.Filter):
    """Drops the official exporter's retry and failure records while *our* export runs on
    this thread: those spans are spooled, not lost, and one warning of ours says so. Other
    exporters in the same process keep their logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_quiet, "active", False)


for _name in (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
):
    logging.getLogger(_name).addFilter(_OwnExportsFilter())

DEFAULT_SPOOL_BYTES = 256 * 1024 * 1024
# How often the spool's size is read from disk again rather than counted: other processes
# of the same project may write into the same directory.
RECOUNT_INTERVAL_S = 30.0


class SpoolingExporter(SpanExporter):
    """The official OTLP/HTTP exporter, plus a disk spool.

    When an export fails, the encoded request is written to ``spool_dir`` and a background
    thread re-posts spooled requests, oldest first, once the collector answers again. While
    the collector is known to be away, exports go straight to the spool without waiting on
    the network, so neither the app nor its shutdown is held up.
    """

    def __init__(
        self,
        endpoint: str,
        spool_dir: Path,
        *,
        headers: dict[str, str] | None = None,
        timeout_s: float = 2.0,
        retry_interval_s: float = 5.0,
        max_spool_bytes: int = DEFAULT_SPOOL_BYTES,
    ) -> None:
        self.traces_url = endpoint.rstrip("/") + "/v1/traces"
        self.spool_dir = spool_dir
        self._headers = dict(headers or {})
        self._otlp: SpanExporter | None = None  # made on the first export, off the app's path
        self._timeout_s = timeout_s
        self._retry_interval_s = retry_interval_s
        self._max_spool_bytes = max_spool_bytes
        self._away = False
        self._spool_bytes: int | None = None  # counted from disk on the first spool write
        self._counted_at = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._replayer = threading.Thread(
            target=self._replay_loop, name="loopwise-spool", daemon=True
        )
        self._replayer.start()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Send spans to the collector, or spool them when it is away.

        Once an export fails, the collector counts as away: later exports go straight to the
        spool and only the replay thread probes the network, so the export queue never waits
        on a dead endpoint.
        """
        if not self._away:
            _quiet.active = True
            try:
                result = self._exporter().export(spans)
            except Exception:
                log.debug("OTLP export raised", exc_info=True)
                result = SpanExportResult.FAILURE
            finally:
                _quiet.active = False
            if result == SpanExportResult.SUCCESS:
                return result
            self._away = True
            log.warning(
                "collector at %s is unreachable; spooling spans to %s until it is back",
                self.traces_url,
                self.spool_dir,
            )
        self._spool(_encoded(spans))
        return SpanExportResult.SUCCESS

    def _exporter(self) -> SpanExporter:
        """The official OTLP/HTTP exporter (it loads requests: done on the export thread)."""
        if self._otlp is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self._otlp = OTLPSpanExporter(
                endpoint=self.traces_url, headers=self._headers, timeout=self._timeout_s
            )
        return self._otlp

    def spooled_files(self) -> list[Path]:
        """Spooled requests waiting for delivery, oldest first."""
        try:
            return sorted(self.spool_dir.glob("*.pb"))
        except OSError:
            return []

    def deliver_spool(self) -> int:
        """Post spooled requests now; return how many were delivered."""
        import httpx

        delivered = 0
        with self._lock:
            for path in self.spooled_files():
                try:
                    body = path.read_bytes()
                    response = httpx.post(
                        self.traces_url,
                        content=body,
                        headers={**self._headers, "Content-Type": "application/x-protobuf"},
                        timeout=self._timeout_s,
                    )
                except (OSError, httpx.HTTPError):
                    break
                if response.status_code == 200 or 400 <= response.status_code < 429:
                    if response.status_code != 200:
                        log.warning(
                            "collector refused spooled spans (%s); dropping %s",
                            response.status_code,
                            path.name,
                        )
                    path.unlink(missing_ok=True)
                    delivered += 1
                else:
                    break
            if not self.spooled_files():
                self._away = False
        return delivered

    def _spool(self, body: bytes) -> None:
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            self._make_room(len(body))
            name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident() % 100000}.pb"
            tmp = self.spool_dir / (name + ".tmp")
            tmp.write_bytes(body)
            tmp.rename(self.spool_dir / name)
            if self._spool_bytes is not None:
                self._spool_bytes += len(body)
        except OSError:
            log.warning("cannot spool spans to %s; they are lost", self.spool_dir, exc_info=True)

    def _make_room(self, incoming: int) -> None:
        """Keep the spool under its cap. Its size is counted from disk only on the first write,
        when a write would pass the cap, and every RECOUNT_INTERVAL_S: listing and reading
        every file on each write grew with the spool, on a thread that shares the
        interpreter with the application. Deliveries only make the count too high, which at
        worst leads to an early recount."""
        now = time.monotonic()
        if (
            self._spool_bytes is None
            or self._spool_bytes + incoming > self._max_spool_bytes
            or now - self._counted_at > RECOUNT_INTERVAL_S
        ):
            self._spool_bytes = self._trim(incoming)
            self._counted_at = now

    def _trim(self, incoming: int) -> int:
        """Drop the oldest requests until ``incoming`` more bytes fit; the bytes left."""
        files = self.spooled_files()
        sizes = []
        for path in files:
            try:
                sizes.append(path.stat().st_size)
            except FileNotFoundError:  # delivered meanwhile by the replay thread
                sizes.append(0)
        total = sum(sizes)
        for path, size in zip(files, sizes, strict=True):
            if total + incoming <= self._max_spool_bytes:
                break
            log.warning(
                "spool over %d bytes: dropping the oldest request %s",
                self._max_spool_bytes,
                path.name,
            )
            path.unlink(missing_ok=True)
            total -= size
        return total

    def _replay_loop(self) -> None:
        while not self._stop.wait(self._retry_interval_s):
            if self._away or self.spooled_files():
                try:
                    self.deliver_spool()
                except Exception:
                    log.debug("spool delivery failed", exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here; the spool survives restarts."""
        return True

    def shutdown(self) -> None:
        """Stop the replay thread; spooled requests stay on disk for the next run."""
        self._stop.set()
        if self._otlp is not None:
            self._otlp.shutdown()


class LocalStoreExporter(SpanExporter):
    """Writes spans straight into a DuckDB file, no collector needed (notebooks, CI).

    The file is opened for each export and closed again, so other processes can read it
    between exports. Spans are redacted as the collector would (LOOPWISE_REDACT, else every
    built-in kind); an unreadable redaction config falls back to that default.
    """

    def __init__(self, db_path: Path, *, project: str = "default", attempts: int = 20) -> None:
        try:
            from ..redact import RedactionConfig, RedactionConfigError, redaction_from_env
            from ..store.store import Store  # noqa: F401  (here, to say now what is missing)
        except ModuleNotFoundError as error:
            hint = install_hint(error, "the SDK's local mode (a DuckDB file)")
            if hint is None:
                raise
            raise ModuleNotFoundError(hint, name=error.name) from None

        self.db_path = db_path
        self._project = project
        self._attempts = attempts
        try:
            self._redaction = redaction_from_env()
        except RedactionConfigError as exc:
            log.warning("%s; redacting every built-in kind instead", exc)
            self._redaction = RedactionConfig()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Normalize, redact and append the spans in one transaction."""
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        from ..redact import redact_table
        from ..semconv.normalize import normalize_request
        from ..store.store import Store, StoreError

        batch = normalize_request(encode_spans(spans), default_project=self._project)
        try:
            batch.table = redact_table(batch.table, self._redaction)
        except Exception:  # never store what could not be redacted; never raise into the app
            log.warning("could not redact %d spans; they were dropped", len(spans), exc_info=True)
            return SpanExportResult.FAILURE
        for attempt in range(self._attempts):
            try:
                with Store(self.db_path) as store:
                    store.append_spans(batch.table)
                return SpanExportResult.SUCCESS
            except StoreError:
                time.sleep(min(0.05 * (attempt + 1), 0.5))  # another process holds the file
            except Exception:
                log.warning("could not write spans to %s", self.db_path, exc_info=True)
                return SpanExportResult.FAILURE
        log.warning(
            "%s stayed locked by another process; %d spans dropped", self.db_path, len(spans)
        )
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Nothing to release: the file is closed after every export."""


def _encoded(spans: Sequence[ReadableSpan]) -> bytes:
    """The spans as an OTLP protobuf request, written directly (see ``otlp_bytes``); the
    official encoder (it loads protobuf: first use only) takes a batch holding a value the
    direct writer does not know, and does what it does with it."""
    try:
        return encode_request(spans)
    except Exception:
        log.debug("spans not encoded directly; using the OTLP encoder", exc_info=True)
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return bytes(encode_spans(spans).SerializeToString())
