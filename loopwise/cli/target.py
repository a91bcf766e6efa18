"""Where a command acts: a collector's API (``--endpoint``) or a store (``--store``).

``--store`` (env ``LOOPWISE_STORE``) names a DuckDB file or a DuckLake
(``ducklake:postgres:<conninfo>`` with ``--data-path DIR``, env ``LOOPWISE_DATA_PATH``; see
loopwise.collector.store.backend); ``--db`` (env ``LOOPWISE_DB``) stays as the name for a
file. Commands that cannot run on a lake yet say so (``current_target(lake_ok=False)``).

The target options are declared here once. ``targeted`` adds them to one command;
``TargetTyper`` adds them to every command of a sub-app and to the sub-app itself, so both
``loopwise review list --endpoint URL`` and ``loopwise review --endpoint URL list`` work.
The command body asks ``current_target()``; it is resolved once per invocation:

- given on the command line, ``--db`` or ``--endpoint`` wins over the environment
  (``LOOPWISE_DB``, ``LOOPWISE_ENDPOINT``); both on the command line is an error;
- both from the environment: the endpoint (a running collector owns its file);
- neither: the collector at http://127.0.0.1:4318 when one answers, else
  ./.loopwise/loopwise.duckdb.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from loopwise.collector.sdk import DEFAULT_ENDPOINT
from loopwise.collector.store import DEFAULT_DB_PATH
from loopwise.collector.store.backend import (
    BackendError,
    FileBackend,
    LakeBackend,
    parse_store,
)

from .common import collector_running, fail

_PANEL = "Target"
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar="LOOPWISE_ENDPOINT",
        help="Collector URL to work through.",
        rich_help_panel=_PANEL,
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar="LOOPWISE_DB",
        dir_okay=False,
        help="DuckDB file to work on directly (only while no collector owns it).",
        rich_help_panel=_PANEL,
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="LOOPWISE_STORE",
        help="Store to work on: a DuckDB file path or ducklake:postgres:<conninfo>.",
        rich_help_panel=_PANEL,
    ),
]
DataPathOption = Annotated[
    Path | None,
    typer.Option(
        "--data-path",
        envvar="LOOPWISE_DATA_PATH",
        file_okay=False,
        help="Directory of a ducklake store's Parquet files.",
        rich_help_panel=_PANEL,
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="LOOPWISE_API_KEY", help="Collector API key.", rich_help_panel=_PANEL
    ),
]
_OPTION_NAMES = ("endpoint", "db", "api_key", "store", "data_path")
_OPTION_TYPES = (EndpointOption, DbOption, ApiKeyOption, StoreOption, DataPathOption)
_GROUP_CHOICES = "loopwise.target.group"
_current: ContextVar[Target | None] = ContextVar("loopwise_cli_target", default=None)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Target:
    """A collector URL (``endpoint``), a DuckDB file (``db``) or a lake (``lake``), at most
    one set, and the API key to send to the collector."""

    endpoint: str | None = None
    db: Path | None = None
    api_key: str | None = None
    lake: LakeBackend | None = None


@dataclass(frozen=True)
class _Choice:
    value: Any
    explicit: bool  # given on the command line, not taken from the environment


def resolve_target(
    endpoint: str | None, db: Path | None, api_key: str | None = None, *, probe: bool = True
) -> Target:
    """--db, else --endpoint, else (with ``probe``) a running local collector, else the
    default file. Without ``probe``, a command that needs an explicit target fails."""
    if endpoint and db:
        fail("give --endpoint or --db, not both", code=2)
    if db is not None:
        return Target(db=db, api_key=api_key)
    if endpoint:
        return Target(endpoint=endpoint.rstrip("/"), api_key=api_key)
    if not probe:
        fail("give --db PATH (no collector running) or --endpoint URL", code=2)
    if collector_running(DEFAULT_ENDPOINT):
        return Target(endpoint=DEFAULT_ENDPOINT.rstrip("/"), api_key=api_key)
    return Target(db=DEFAULT_DB_PATH, api_key=api_key)


def current_target(*, probe: bool = True, lake_ok: bool = False) -> Target:
    """The target of the running command, from its options (see the module docstring).

    A command that can work on a lake passes ``lake_ok``; any other fails clearly on one."""
    target = _current.get()
    if target is None:
        raise RuntimeError("current_target() is only known inside a @targeted command")
    if target.lake is not None:
        if not lake_ok:
            fail(
                "this command does not work on a ducklake store yet: give a DuckDB file "
                "(--store PATH) or a collector (--endpoint URL)",
                code=2,
            )
        return target
    if target.endpoint is None and target.db is None:
        return resolve_target(None, None, target.api_key, probe=probe)
    return target


def _choices(ctx: typer.Context, values: dict[str, Any]) -> dict[str, _Choice]:
    out = {}
    for name in _OPTION_NAMES:
        source = ctx.get_parameter_source(name)
        out[name] = _Choice(values.get(name), source is not None and source.name == "COMMANDLINE")
    return out


def _merge(group: dict[str, _Choice], own: dict[str, _Choice]) -> Target:
    """The command's own choices over the sub-app's, the command line over the environment."""

    def pick(name: str) -> _Choice:
        candidates = [c for c in (own.get(name), group.get(name)) if c and c.value is not None]
        explicit = [c for c in candidates if c.explicit]
        return (explicit or candidates or [_Choice(None, False)])[0]

    endpoint, db, api_key = pick("endpoint"), pick("db"), pick("api_key")
    store, data_path = pick("store"), pick("data_path")
    lake: LakeBackend | None = None
    if store.value is not None:
        if store.explicit and db.explicit and db.value is not None:
            fail("give --store or --db, not both", code=2)
        backend = _backend(store.value, data_path.value)
        if isinstance(backend, LakeBackend):
            lake, db = backend, _Choice(None, False)
        elif store.explicit or db.value is None:
            db = _Choice(backend.path, store.explicit)
    elif data_path.value is not None:
        fail("--data-path applies only with --store ducklake:postgres:...", code=2)
    if lake is not None:
        if endpoint.explicit and store.explicit:
            fail("give --endpoint or --store, not both", code=2)
        if store.explicit or not endpoint.value:
            return Target(lake=lake, api_key=api_key.value)
    if endpoint.value and db.value is not None:
        if endpoint.explicit and db.explicit:
            fail("give --endpoint or --db, not both", code=2)
        if db.explicit:
            endpoint = _Choice(None, False)
        else:
            db = _Choice(None, False)
    return Target(
        endpoint=endpoint.value.rstrip("/") if endpoint.value else None,
        db=db.value,
        api_key=api_key.value,
    )


def _backend(store: str, data_path: Path | None) -> FileBackend | LakeBackend:
    try:
        return parse_store(store, data_path)
    except BackendError as exc:
        fail(str(exc), code=2)


@contextmanager
def _acting_on(target: Target) -> Iterator[None]:
    token = _current.set(target)
    try:
        yield
    finally:
        _current.reset(token)


def targeted(func: F) -> F:
    """Give the command ``func`` the target options (--endpoint, --db, --api-key, --store,
    --data-path); its body reads
    them through ``current_target()``."""
    signature = inspect.signature(func, eval_str=True)
    clash = set(signature.parameters) & {*_OPTION_NAMES, "target_context"}
    if clash:
        raise TypeError(f"{func.__name__} declares target options itself: {sorted(clash)}")
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
        for name, kind in zip(_OPTION_NAMES, _OPTION_TYPES, strict=True)
    ]
    added.append(
        inspect.Parameter(
            "target_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
        )
    )

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        ctx: typer.Context = kwargs.pop("target_context")
        own = _choices(ctx, {name: kwargs.pop(name, None) for name in _OPTION_NAMES})
        with _acting_on(_merge(ctx.meta.get(_GROUP_CHOICES, {}), own)):
            return func(*args, **kwargs)

    parameters = [*signature.parameters.values(), *added]
    command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command  # type: ignore[return-value]


def _remember_group_target(
    ctx: typer.Context,
    endpoint: EndpointOption = None,
    db: DbOption = None,
    api_key: ApiKeyOption = None,
    store: StoreOption = None,
    data_path: DataPathOption = None,
) -> None:
    values = {"endpoint": endpoint, "db": db, "api_key": api_key}
    ctx.meta[_GROUP_CHOICES] = _choices(ctx, {**values, "store": store, "data_path": data_path})


class TargetTyper(typer.Typer):
    """A sub-app whose commands all act on one target: each command is ``targeted``, and
    the target options are accepted before the command name too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.callback()(_remember_group_target)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Register a command as ``typer.Typer.command`` does, with the target options."""
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(targeted(func))
            return func

        return decorator
