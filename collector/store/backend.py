"""Which store a setting names: a DuckDB file, or a DuckLake with its catalog in PostgreSQL.

``--store`` (env ``LOOPWISE_STORE``) is either a file path or
``ducklake:postgres:<libpq conninfo>``; a lake also needs ``--data-path`` (env
``LOOPWISE_DATA_PATH``), the directory its Parquet files go to. This module is the one place
that tells the two apart and opens a lake connection.

DuckDB cannot download extensions on the machines loopwise runs on, so the ``ducklake`` and
``postgres`` extensions come from the ``duckdb-ext-ducklake`` / ``duckdb-ext-postgres``
wheels (the ``lake`` extra), which install them under ``duckdb_ext/extensions/`` in
site-packages; they are loaded from there with autoinstall and autoload off.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

LAKE_PREFIX = "ducklake:postgres:"
LAKE_ALIAS = "lake"
LAKE_EXTENSIONS = ("postgres_scanner", "ducklake")
_ATTACH_RETRIES = 20


class BackendError(ValueError):
    """A store setting that names no usable store; the message says why in one line."""


@dataclass(frozen=True)
class FileBackend:
    """The embedded DuckDB file (the default)."""

    path: Path


@dataclass(frozen=True)
class LakeBackend:
    """A DuckLake: catalog in the PostgreSQL named by ``conninfo``, Parquet under ``data_path``."""

    conninfo: str
    data_path: Path

    @property
    def spec(self) -> str:
        """The store setting naming this lake."""
        return LAKE_PREFIX + self.conninfo


Backend = FileBackend | LakeBackend


def parse_store(store: str | Path, data_path: str | Path | None = None) -> Backend:
    """The backend ``store`` names; a lake needs ``data_path``, a file must not be given one."""
    text = str(store).strip()
    if not text:
        raise BackendError("the store setting is empty: give a file path or ducklake:postgres:...")
    if text.startswith("ducklake:"):
        if not text.startswith(LAKE_PREFIX):
            raise BackendError(
                f"unsupported lake catalog in {text!r}: only ducklake:postgres:<conninfo> is"
            )
        conninfo = text[len(LAKE_PREFIX) :].strip()
        if not conninfo:
            raise BackendError("ducklake:postgres: needs a libpq conninfo, e.g. 'dbname=lw'")
        if data_path is None or not str(data_path).strip():
            raise BackendError("a ducklake store needs --data-path DIR (env LOOPWISE_DATA_PATH)")
        return LakeBackend(conninfo=conninfo, data_path=Path(data_path))
    if data_path is not None and str(data_path).strip():
        raise BackendError("--data-path applies only to a ducklake: store, not to a DuckDB file")
    return FileBackend(path=Path(text))


def extension_directory() -> Path:
    """The directory the ``lake`` extra's wheels installed the DuckDB extensions into."""
    import duckdb

    spec = importlib.util.find_spec("duckdb_ext")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise BackendError(
            "the DuckLake extensions are not installed: pip install 'loopwise[lake]'"
        )
    root = Path(locations[0]) / "extensions"
    version = "v" + duckdb.__version__
    for platform_dir in sorted((root / version).glob("*")):
        if all((platform_dir / f"{name}.duckdb_extension").exists() for name in LAKE_EXTENSIONS):
            return root
    found = sorted(p.name for p in root.glob("v*"))
    raise BackendError(
        f"the installed DuckLake extensions are for DuckDB {', '.join(found) or 'none'}, "
        f"not {duckdb.__version__}: install the duckdb version constraints.txt pins"
    )


def connect_lake(backend: LakeBackend) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake attached as ``lake`` and in use.

    The catalog is created on first attach; the data directory is created here.
    """
    import duckdb

    backend.data_path.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET extension_directory = ?", [str(extension_directory())])
        for name in LAKE_EXTENSIONS:
            con.execute(f"LOAD {name}")
        target = sql_string(LAKE_PREFIX + backend.conninfo)
        data_path = sql_string(str(backend.data_path.resolve()) + "/")
        _attach(con, f"ATTACH {target} AS {LAKE_ALIAS} (DATA_PATH {data_path})")
        con.execute(f"USE {LAKE_ALIAS}")
    except duckdb.Error as exc:
        con.close()
        message = str(exc).splitlines()[0]
        raise BackendError(f"cannot open the lake {backend.spec}: {message}") from None
    return con


def _attach(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """Attach, retrying while another process is creating the same catalog: the first
    attach of a new lake creates its tables in PostgreSQL, and processes starting together
    race there (the loser sees a duplicate-key error and then finds the catalog made)."""
    import duckdb

    for attempt in range(_ATTACH_RETRIES):
        try:
            con.execute(statement)
            return
        except duckdb.Error as exc:
            text = str(exc)
            racing = "duplicate key" in text or "already exists" in text
            if not racing or attempt == _ATTACH_RETRIES - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (ATTACH takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"
