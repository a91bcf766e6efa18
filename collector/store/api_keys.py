"""Per-project API keys: created once, shown once, stored only as a hash, revoked by id.

A key reads ``lw_<key id>_<secret>``. The key id (12 hex digits) is not secret: it finds the
row, is printed by ``keys list`` and names the key in the audit trail. The secret is 32 random
bytes; only its SHA-256 is stored, which is enough for a random token of that length (a slow
password hash protects guessable passwords, not 256-bit secrets) and lets every request be
checked in microseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from .audit import record_audit
from .store import Store

Role = Literal["ingest", "read", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
KEY_PREFIX = "lw_"
_KEY_PATTERN = re.compile(rb"^lw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_PROJECT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")


class ApiKeyError(ValueError):
    """A key request that cannot be carried out (bad project or role, unknown key id)."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key without its secret."""

    key_id: str
    project: str
    role: Role
    name: str
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (no secret)."""
        return {
            "key_id": self.key_id,
            "project": self.project,
            "role": self.role,
            "name": self.name,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "active": self.active,
        }


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: ``token`` is the only time the secret is ever shown."""

    key: ApiKey
    token: str


def create_key(
    store: Store, *, project: str, role: str = "ingest", name: str = "", created_by: str
) -> NewApiKey:
    """Create a key for ``project`` with ``role``; the returned token is not stored anywhere."""
    if not isinstance(project, str) or not _PROJECT_PATTERN.match(project):
        raise ApiKeyError(
            "project must be 1-128 characters of letters, digits and . _ : / - "
            "(starting with a letter or digit)"
        )
    if role not in ROLES:
        raise ApiKeyError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    label = (name or f"{project} {role}").strip()[:200]
    with store.transaction() as cur:
        cur.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            [key_id, project, role, label, _digest(secret.encode()), created_by, now],
        )
        record_audit(
            cur,
            actor=created_by,
            action="key.create",
            target=key_id,
            project=project,
            details={"role": role, "name": label},
        )
    key = ApiKey(key_id, project, role, label, created_by, now, None)
    return NewApiKey(key, f"{KEY_PREFIX}{key_id}_{secret}")


def list_keys(store: Store, *, project: str | None = None) -> list[ApiKey]:
    """Every key (active and revoked), newest first, optionally of one project."""
    rows = store.query(
        "SELECT key_id, project, role, name, created_by, created_at, revoked_at FROM api_keys "
        "WHERE ($project IS NULL OR project = $project) ORDER BY created_at DESC, key_id",
        {"project": project},
    ).rows
    return [ApiKey(*row) for row in rows]


def revoke_key(
    store: Store, key_id: str, *, project: str | None = None, actor: str = "admin"
) -> ApiKey:
    """Revoke a key (idempotent); ``project`` restricts which keys may be revoked."""
    with store.transaction() as cur:
        rows = cur.execute("SELECT project FROM api_keys WHERE key_id = ?", [key_id]).fetchall()
        if not rows or (project is not None and rows[0][0] != project):
            raise ApiKeyError(f"no key {key_id!r}")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        cur.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE key_id = ?",
            [now, key_id],
        )
        record_audit(cur, actor=actor, action="key.revoke", target=key_id, project=rows[0][0])
    [key] = [k for k in list_keys(store) if k.key_id == key_id]
    return key


class KeyRing:
    """The active keys, held in memory for checking requests; ``reload`` after a change."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._digests: dict[str, tuple[bytes, ApiKey]] = {}
        self.reload()

    @property
    def enabled(self) -> bool:
        """True once any project key exists (revoked ones included: revoking the last key
        must not reopen the collector to anonymous requests)."""
        return self._any

    def reload(self) -> None:
        """Read the keys table again."""
        keys = list_keys(self._store)
        digests = self._store.query("SELECT key_id, secret_sha256 FROM api_keys").rows
        by_id = {k.key_id: k for k in keys if k.active}
        self._digests = {
            key_id: (bytes.fromhex(digest), by_id[key_id])
            for key_id, digest in digests
            if key_id in by_id
        }
        self._any = bool(keys)
        self._store.restrict_log_content_to_projects(self._any)

    def match(self, token: bytes) -> ApiKey | None:
        """The active key ``token`` is, or None."""
        found = _KEY_PATTERN.match(token)
        if not found:
            return None
        entry = self._digests.get(found.group(1).decode())
        if entry is None:
            return None
        digest, key = entry
        candidate = bytes.fromhex(_digest(found.group(2)))
        return key if hmac.compare_digest(candidate, digest) else None


def _digest(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()
