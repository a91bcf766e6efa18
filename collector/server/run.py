"""Running the collector: in the foreground (``loopwise collect``) or on a background thread."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import uvicorn

from .app import Collector, create_app
from .config import CollectorConfig
from .extensions import Extension


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto is
    # IPPROTO_TCP, and with Nagle on every keep-alive response waited ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


# DuckDB's Arrow scan takes the GIL back for each chunk it reads; with the default 5 ms
# switch interval the writer waits behind request decoding. 1 ms raised the committed
# rate under load by about a third in bench/ingest.py.
GIL_SWITCH_INTERVAL_S = 0.001


def _server(config: CollectorConfig, extensions: Sequence[Extension] = ()) -> uvicorn.Server:
    config.check()
    app = create_app(config, extensions=extensions)
    uv_config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=10, lifespan="on"
    )
    return uvicorn.Server(uv_config)


def serve(config: CollectorConfig, extensions: Sequence[Extension] = ()) -> None:
    """Run the collector in the foreground until interrupted."""
    sock = _bind(config.host, config.port)
    server = _server(config, extensions)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    server.run(sockets=[sock])


class BackgroundServer:
    """Any ASGI app served by uvicorn on a background thread, bound before it starts."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "loopwise-server",
        sock: socket.socket | None = None,
    ) -> None:
        self.host = host
        self._sock = sock if sock is not None else _bind(host, port)
        self.port = int(self._sock.getsockname()[1])
        if isinstance(app, uvicorn.Server):
            self._server = app
        else:
            self._server = uvicorn.Server(
                uvicorn.Config(app, log_level="warning", access_log=False)
            )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True, name=name
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:4318``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start serving and wait until the server accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not start in time")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for shutdown (the app's lifespan ends first)."""
        self._server.should_exit = True
        self._thread.join(30)
        self._sock.close()


class CollectorServer:
    """A real collector on a background thread; ``port=0`` picks a free port.

    >>> with CollectorServer(CollectorConfig(db_path=tmp / "t.duckdb", port=0)) as c:
    ...     post_spans_to(c.url)
    """

    def __init__(self, config: CollectorConfig, extensions: Sequence[Extension] = ()) -> None:
        sock = _bind(config.host, config.port)
        self.config = config
        try:
            server = _server(config, extensions)
        except BaseException:  # refused settings or a locked database: release the port
            sock.close()
            raise
        self._background = BackgroundServer(
            server, host=config.host, name="loopwise-collector", sock=sock
        )
        self.port = self._background.port
        app: Any = server.config.app
        self.app: Any = app
        """The ASGI application served (its routes), for in-process callers."""
        self.collector: Collector = app.state.collector
        """The running collector's state (store, writer, admission), for in-process callers."""

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:4318``."""
        return self._background.url

    def start(self, timeout: float = 30.0) -> CollectorServer:
        """Start serving and wait until the server accepts requests."""
        self._background.start(timeout)
        return self

    def stop(self) -> None:
        """Stop serving, flush the writer and close the database."""
        self._background.stop()

    def __enter__(self) -> CollectorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
