"""Which worker scores which part of a lake: partitions of trace ids, held under leases.

Spans are split into ``partitions`` by a stable hash of their trace id (every span of a
trace lands in one partition). Each partition has a lease row in the lake
(``worker_leases``); a worker holds a lease until ``expires_at`` and renews it while it
runs. Workers announce themselves in ``workers`` (a heartbeat), and each aims at its fair
share of the partitions (``ceil(partitions / live workers)``): it claims free or expired
leases up to that share and gives back what it holds above it, so a new worker gets work
and a dead one's partitions are taken over once its leases expire.

A claim is one lake transaction updating the partition's lease row where it is free, expired
or already ours. DuckLake refuses the second of two concurrent transactions that update the
same row, so two workers never both win a claim. Leases decide who does the work; the
scoring commit itself is fenced too (lake_worker.py), so even a worker that stalls past its
lease cannot store a window another worker stored.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import uuid
from dataclasses import dataclass

import duckdb

from loopwise.collector.store.lake_store import is_conflict, retrying, rollback_quietly
from loopwise.collector.store.retention import utc_now

DEFAULT_PARTITIONS = 16
LEASE_S = 30.0

LEASE_TABLES = (
    "CREATE TABLE IF NOT EXISTS worker_leases "
    "(partition INTEGER, owner VARCHAR, expires_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS workers "
    "(owner VARCHAR, host VARCHAR, pid INTEGER, seen_at TIMESTAMP)",
)
_NEVER = dt.datetime(1970, 1, 1)
_CLAIM_ATTEMPTS = 3


def partition_sql(column: str, partitions: int) -> str:
    """The SQL expression giving the partition of the trace id in ``column``."""
    return f"(CAST(('0x' || substr(md5({column}), 1, 8)) AS BIGINT) % {int(partitions)})"


def new_worker_id() -> str:
    """A name for this worker process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Leases:
    """This worker's leases on one lake (see the module docstring)."""

    con: duckdb.DuckDBPyConnection
    owner: str
    partitions: int = DEFAULT_PARTITIONS
    lease_s: float = LEASE_S
    share: int = 0

    def setup(self) -> int:
        """Create the lease tables and rows unless there; return the lake's partition count
        (set by the first worker; later ones follow it)."""
        retrying(self.con, [(sql, []) for sql in LEASE_TABLES])
        existing = self._scalar("SELECT count(DISTINCT partition) FROM worker_leases")
        if existing:
            self.partitions = existing
            return existing
        retrying(
            self.con,
            [
                (
                    "INSERT INTO worker_leases SELECT p, NULL, ? FROM range(?) t(p) "
                    "WHERE NOT EXISTS (SELECT 1 FROM worker_leases)",
                    [_NEVER, self.partitions],
                )
            ],
        )
        # Two first workers may both have inserted rows: claims update every row of a
        # partition, so the copies stay equal and count once.
        self.partitions = self._scalar("SELECT count(DISTINCT partition) FROM worker_leases")
        return self.partitions

    def refresh(self) -> list[int]:
        """Heartbeat, renew what is held, give back or claim toward the fair share; return
        the partitions held now."""
        now = utc_now()
        self._heartbeat(now)
        held = self.held(now)
        if held:
            self._try(
                "UPDATE worker_leases SET expires_at = ? WHERE owner = ? AND expires_at > ?",
                [now + self._ttl(), self.owner, now],
            )
        share = self.share = self.fair_share(now)
        extra = held[share:]
        if extra:
            self._try(
                "UPDATE worker_leases SET owner = NULL, expires_at = ? "
                f"WHERE owner = ? AND partition IN ({_numbers(extra)})",
                [_NEVER, self.owner],
            )
        for _ in range(_CLAIM_ATTEMPTS):
            wanted = share - len(self.held(now))
            free = self._free(now)[:wanted] if wanted > 0 else []
            if not free:
                break
            # One transaction for the whole claim; a worker claiming the same rows at the
            # same moment makes one of the two commits fail, and the loser looks again.
            self._try(
                "UPDATE worker_leases SET owner = ?, expires_at = ? "
                f"WHERE partition IN ({_numbers(free)}) "
                "AND (owner IS NULL OR owner = ? OR expires_at <= ?)",
                [self.owner, now + self._ttl(), self.owner, now],
            )
        return self.held(utc_now())

    def held(self, now: dt.datetime | None = None) -> list[int]:
        """The partitions whose lease this worker holds, in order."""
        rows = self.con.execute(
            "SELECT DISTINCT partition FROM worker_leases WHERE owner = ? AND expires_at > ? "
            "ORDER BY partition",
            [self.owner, now or utc_now()],
        ).fetchall()
        return [int(row[0]) for row in rows]

    def holds(self, cur: duckdb.DuckDBPyConnection, partition: int) -> bool:
        """Whether the lease on ``partition`` is still ours, read in ``cur``'s transaction."""
        row = cur.execute(
            "SELECT count(*) FROM worker_leases WHERE partition = ? AND owner = ? "
            "AND expires_at > ?",
            [partition, self.owner, utc_now()],
        ).fetchone()
        return bool(row and row[0])

    def fair_share(self, now: dt.datetime | None = None) -> int:
        """``ceil(partitions / live workers)``, this worker included."""
        live = self._scalar(
            "SELECT count(DISTINCT owner) FROM workers WHERE seen_at > ? AND owner <> ?",
            [(now or utc_now()) - self._ttl(), self.owner],
        )
        return math.ceil(self.partitions / (live + 1))

    def release(self) -> None:
        """Give back every lease and the heartbeat (a clean stop)."""
        self._try(
            "UPDATE worker_leases SET owner = NULL, expires_at = ? WHERE owner = ?",
            [_NEVER, self.owner],
        )
        self._try("DELETE FROM workers WHERE owner = ?", [self.owner])

    def _heartbeat(self, now: dt.datetime) -> None:
        self._try("DELETE FROM workers WHERE owner = ?", [self.owner])
        self._try(
            "INSERT INTO workers VALUES (?, ?, ?, ?)",
            [self.owner, socket.gethostname(), os.getpid(), now],
        )

    def _free(self, now: dt.datetime) -> list[int]:
        rows = self.con.execute(
            "SELECT DISTINCT partition FROM worker_leases "
            "WHERE owner IS NULL OR expires_at <= ? ORDER BY partition",
            [now],
        ).fetchall()
        return [int(row[0]) for row in rows]

    def _try(self, sql: str, params: list[object]) -> bool:
        """Run one statement in its own transaction; False when another worker's commit
        won a conflict (the next refresh tries again)."""
        try:
            self.con.execute("BEGIN TRANSACTION")
            self.con.execute(sql, params)
            self.con.execute("COMMIT")
            return True
        except duckdb.Error as exc:
            rollback_quietly(self.con)
            if not is_conflict(exc):
                raise
            return False

    def _ttl(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.lease_s)

    def _scalar(self, sql: str, params: list[object] | None = None) -> int:
        row = self.con.execute(sql, params or []).fetchone()
        return int(row[0]) if row and row[0] is not None else 0


def _numbers(values: list[int]) -> str:
    return ", ".join(str(int(value)) for value in values)
