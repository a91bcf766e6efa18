"""Lake transactions that lose a commit race to another process are retried, not raised."""

from __future__ import annotations

import duckdb
import pytest

from loopwise.collector.store.backend import LakeBackend, connect_lake
from loopwise.collector.store.lake_store import retrying

from .test_lake_collectors import in_parallel

pytestmark = pytest.mark.postgres

WRITERS = 4
INCREMENTS = 15


def test_concurrent_updates_of_one_row_all_land(lake: LakeBackend) -> None:
    setup = connect_lake(lake)
    setup.execute("CREATE TABLE counter (v INTEGER)")
    setup.execute("INSERT INTO counter VALUES (0)")
    connections = [connect_lake(lake) for _ in range(WRITERS)]

    def bump(con: duckdb.DuckDBPyConnection) -> None:
        for _ in range(INCREMENTS):
            retrying(con, [("UPDATE counter SET v = v + 1", [])])

    try:
        in_parallel([lambda con=con: bump(con) for con in connections])  # type: ignore[misc]
        assert setup.execute("SELECT v FROM counter").fetchall() == [(WRITERS * INCREMENTS,)]
    finally:
        for con in [*connections, setup]:
            con.close()
