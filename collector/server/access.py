"""Who may call which route, and which project they see: one table, checked before any handler.

Three kinds of caller:

- the instance admin, holding the collector's ``--api-key``: every route, every project;
- a project key (``loopwise keys create``), with a role: ``ingest`` sends telemetry, ``read``
  reads, ``admin`` does both and acts (reviews, re-clustering, its project's keys). A project
  key sees only its project: spans it sends land in its project whatever the resource says,
  list routes are filtered to it, a trace or review item of another project is "not found",
  its SQL sees its project's rows only, and data shared by every project (datasets, prompts,
  eval runs) stays with the instance admin;
- anonymous: only while no admin key is configured and no project key exists (the loopback
  default). Once either exists, every route but /health and the API description (/docs,
  /openapi.json) needs a key, loopback included.

The table is the single place a route's access is decided. A route missing from it is open to
the instance admin only, so a new route never leaks a project's data by default.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool

from ..store import Store
from ..store.api_keys import ApiKey, KeyRing
from .responses import json_error, loads_body

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Need = Literal["any", "ingest", "read", "admin"]

GRANTS: dict[str, frozenset[str]] = {
    "ingest": frozenset({"ingest"}),
    "read": frozenset({"read"}),
    "admin": frozenset({"ingest", "read", "admin"}),
}
MAX_SCOPED_BODY_BYTES = 1024 * 1024
# The API description holds no data and is the same in every install: open, so a browser
# can show /docs and a generator can read /openapi.json without a key.
OPEN_PATHS = ("/health", "/openapi.json", "/docs", "/docs/oauth2-redirect")
OPEN_PREFIXES = ("/docs/assets/",)  # Swagger UI's own files (docs_page.py)


@dataclass(frozen=True)
class Principal:
    """The caller of one request: ``key`` None means the instance admin (or open access)."""

    key: ApiKey | None = None

    @property
    def project(self) -> str | None:
        """The only project this caller sees, or None for all."""
        return self.key.project if self.key else None

    @property
    def name(self) -> str | None:
        """The key's name (recorded as the actor of reviews), or None."""
        return self.key.name if self.key else None


@dataclass(frozen=True)
class Rule:
    """Access to the routes matching ``method`` and ``path``.

    ``query``: the ``project`` query parameter is forced to the key's project. ``body``: the
    JSON body's ``project`` is. ``actor``: the body's ``actor`` becomes the key's name.
    ``owner``: SQL giving the project of the id captured by ``path`` (or of the body field
    ``owner_field``); another project's id answers 404. ``handler``: the handler itself reads
    the principal (ingest, SQL, keys).

    Datasets, prompts and eval runs live in tables shared by the instance; a project key owns
    the ones it made (``project_resources``). ``resource`` names the kind whose name is the
    path's first capture (or the body's ``resource_field``): another project's is 404, and with
    ``claim`` an unowned new name is claimed for the key's project first. ``listing`` is
    (list key, name field): items of the answer the key does not own are left out.
    ``refused_fields``: body fields a project key may not use (they read across projects).
    """

    method: str
    path: str
    need: Need
    query: bool = False
    body: bool = False
    actor: bool = False
    owner: str | None = None
    owner_field: str | None = None
    handler: bool = False
    resource: str | None = None
    resource_field: str | None = None
    claim: bool = False
    listing: tuple[str, str] | None = None
    refused_fields: tuple[str, ...] = ()

    def matches(self, method: str, path: str) -> re.Match[str] | None:
        """The path match when this rule applies to the request."""
        if method != self.method:
            return None
        return re.fullmatch(self.path, path)


_TRACE_OWNER = "SELECT project FROM traces WHERE trace_id = ?"
_RESOURCE_OWNER = "SELECT project FROM project_resources WHERE kind = ? AND name = ?"
_CROSS_PROJECT_SOURCES = ("from_spans", "from_sql")
_ITEM_OWNER = "SELECT project FROM review_items WHERE item_id = ?"

RULES: tuple[Rule, ...] = (
    Rule("POST", r"/v1/traces|/api/public/otel/v1/traces|/v1/logs", "ingest", handler=True),
    Rule("POST", r"/api/feedback", "ingest", body=True),
    Rule("POST", r"/api/public/scores|/api/public/ingestion", "ingest", handler=True),
    Rule("GET", r"/api/public/v2/prompts/([^/]+)", "read", resource="prompt"),
    Rule("POST", r"/api/reviews/held", "ingest", body=True, actor=True),
    Rule("GET", r"/api/reviews/([^/]+)/decision", "ingest", owner=_ITEM_OWNER),
    Rule("GET", r"/api/traces", "read", query=True),
    Rule("GET", r"/api/traces/([^/]+)", "read", owner=_TRACE_OWNER),
    Rule("GET", r"/api/sessions(/.+)?", "read", query=True),
    Rule("GET", r"/api/users", "read", query=True),
    Rule("GET", r"/api/overview(/scores|/facets|/root_causes)?", "read", query=True),
    Rule("GET", r"/api/flags(/clusters)?", "read", query=True),
    Rule("GET", r"/api/scores", "read", query=True),
    Rule("GET", r"/api/evals/evaluators", "read"),
    Rule("GET", r"/api/reviews(/corrections|/rubrics?)?", "read", query=True),
    Rule("GET", r"/api/reviews/([^/]+)", "read", owner=_ITEM_OWNER),
    Rule("GET", r"/api/reviews/([^/]+)/rubric", "read", owner=_ITEM_OWNER),
    Rule("GET", r"/api/calibration", "read", query=True),
    Rule("POST", r"/api/sql", "read", handler=True),
    Rule("GET", r"/api/whoami", "any", handler=True),
    Rule("POST", r"/api/reviews", "admin", actor=True, owner=_TRACE_OWNER, owner_field="trace_id"),
    Rule("POST", r"/api/reviews/([^/]+)/actions", "admin", actor=True, owner=_ITEM_OWNER),
    Rule("POST", r"/api/reviews/rubric", "admin", body=True, actor=True),
    Rule("POST", r"/api/flags/clusters", "admin", body=True),
    Rule("GET", r"/api/datasets", "read", resource="dataset", listing=("datasets", "dataset")),
    Rule("GET", r"/api/datasets/([^/]+)(/versions|/diff|/snapshot)?", "read", resource="dataset"),
    Rule(
        "POST",
        r"/api/datasets",
        "admin",
        actor=True,
        resource="dataset",
        resource_field="name",
        claim=True,
        refused_fields=_CROSS_PROJECT_SOURCES,
    ),
    Rule(
        "POST",
        r"/api/datasets/([^/]+)/versions",
        "admin",
        actor=True,
        resource="dataset",
        refused_fields=_CROSS_PROJECT_SOURCES,
    ),
    Rule("GET", r"/api/prompts", "read", resource="prompt", listing=("prompts", "name")),
    Rule(
        "GET",
        r"/api/prompts/([^/]+)(/versions|/diff|/proposals|/proposals/[^/]+)?",
        "read",
        resource="prompt",
    ),
    Rule("GET", r"/api/prompts/([^/]+)/scores", "read", query=True, resource="prompt"),
    Rule(
        "POST", r"/api/prompts/([^/]+)/versions", "admin", actor=True, resource="prompt", claim=True
    ),
    Rule(
        "POST",
        r"/api/prompts/([^/]+)/(labels|proposals|proposals/[^/]+/(adopt|reject))",
        "admin",
        actor=True,
        resource="prompt",
    ),
    Rule("GET", r"/api/eval-runs", "read", resource="eval_run", listing=("runs", "run_id")),
    Rule("GET", r"/api/eval-runs/([^/]+)", "read", resource="eval_run"),
    Rule(
        "POST",
        r"/api/eval-runs",
        "ingest",
        resource="eval_run",
        resource_field="run_id",
        claim=True,
    ),
    Rule("GET", r"/api/keys", "admin", handler=True),
    Rule("POST", r"/api/keys", "admin", handler=True),
    Rule("POST", r"/api/keys/([^/]+)/revoke", "admin", handler=True),
)


class AccessMiddleware:
    """Authenticates each request, applies RULES, and leaves the Principal in
    ``scope["state"]["principal"]`` for the handlers that scope themselves.

    Without ``keys`` (a store that holds no project keys, such as a lake) only the instance
    admin key is accepted, and every caller it admits sees everything."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        store: Store | None,
        keys: KeyRing | None,
        admin_key: str | None,
    ) -> None:
        self.app = app
        self._store = store
        self.keys = keys
        self.admin_key = admin_key.encode("utf-8") if admin_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        principal = self._authenticate(scope)
        if principal is None:
            await json_error(401, "missing or wrong API key")(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        if principal.key is None:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        for rule in RULES:
            found = rule.matches(method, path)
            if found is not None:
                break
        else:
            await _refuse(scope, receive, send, 403, _shared_message(method, path))
            return
        if rule.need != "any" and rule.need not in GRANTS[principal.key.role]:
            message = f"a {principal.key.role} key cannot {method} {path} (needs {rule.need})"
            await _refuse(scope, receive, send, 403, message)
            return
        await self._scoped(rule, found, principal.key, scope, receive, send)

    @property
    def store(self) -> Store:
        """The store a project key's request is checked against (there is one whenever a
        project key can be presented)."""
        assert self._store is not None, "project keys need a store"
        return self._store

    def _authenticate(self, scope: Scope) -> Principal | None:
        presented = presented_keys(scope["headers"])
        for token in presented:
            if self.admin_key and token and hmac.compare_digest(token, self.admin_key):
                return Principal()
            key = self.keys.match(token) if self.keys else None
            if key is not None:
                return Principal(key)
        if self.admin_key is None and not (self.keys and self.keys.enabled):
            return Principal()
        return None

    async def _scoped(
        self,
        rule: Rule,
        found: re.Match[str],
        key: ApiKey,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if rule.query:
            pairs = [(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1"))]
            pairs = [(k, v) for k, v in pairs if k != "project"] + [("project", key.project)]
            scope["query_string"] = urlencode(pairs).encode("latin-1")
        body: dict[str, Any] | None = None
        if (
            rule.body
            or rule.actor
            or rule.owner_field
            or rule.resource_field
            or rule.refused_fields
        ):
            raw = await _read_all(receive)
            if raw is None:
                await _refuse(scope, receive, send, 413, "request body too large")
                return
            try:
                parsed = loads_body(raw) if raw.strip() else {}
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                await _refuse(scope, receive, send, 400, "body must be a JSON object")
                return
            body = parsed
            if rule.body:
                body["project"] = key.project
            if rule.actor:
                body["actor"] = key.name
            refused = [name for name in rule.refused_fields if body.get(name) is not None]
            if refused:
                message = f"{refused[0]} reads across projects: a project key cannot use it"
                await _refuse(scope, receive, send, 403, message)
                return
            sources = body.get("from_corrections")
            if isinstance(sources, dict):
                sources["project"] = key.project
        if rule.owner:
            owned_id = body.get(rule.owner_field) if body and rule.owner_field else None
            if rule.owner_field is None and found.groups():
                owned_id = found.group(1)
            owner = await run_in_threadpool(self._owner, rule.owner, owned_id)
            if owner != key.project:
                await _refuse(scope, receive, send, 404, f"not found: {scope['path']}")
                return
        if rule.resource:
            name = body.get(rule.resource_field) if body and rule.resource_field else None
            if rule.resource_field is None and found.groups():
                name = found.group(1)
            if name is not None or rule.resource_field is not None:
                allowed = await run_in_threadpool(
                    self._owns, rule.resource, name, key.project, rule.claim
                )
                if not allowed:
                    await _refuse(scope, receive, send, 404, f"not found: {scope['path']}")
                    return
        if body is not None:
            receive = _replay(json.dumps(body).encode(), receive)
            scope["headers"] = [
                (k, v) for k, v in scope["headers"] if k.lower() != b"content-length"
            ]
        if rule.listing is not None and rule.resource is not None:
            send = self._filtered(send, rule.resource, rule.listing, key.project)
        await self.app(scope, receive, send)

    def _owns(self, kind: str, name: object, project: str, claim: bool) -> bool:
        """True when ``project`` owns the ``kind`` named ``name`` (claiming it when asked and
        nobody owns it yet)."""
        if not isinstance(name, str) or not name:
            return False
        rows = self.store.query(_RESOURCE_OWNER, [kind, name]).rows
        if rows:
            return bool(rows[0][0] == project)
        if not claim:
            return False
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO project_resources VALUES (?, ?, ?, now()::TIMESTAMP)",
                [kind, name, project],
            )
            owner = cur.execute(_RESOURCE_OWNER, [kind, name]).fetchall()
        return bool(owner and owner[0][0] == project)

    def _filtered(self, send: Send, kind: str, listing: tuple[str, str], project: str) -> Send:
        """A send that drops, from a JSON list answer, the items ``project`` does not own."""
        key, field = listing
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def filtered(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if started.get("status") == 200:
                body = await run_in_threadpool(self._keep_owned, body, kind, key, field, project)
            headers = [
                (k, v) for k, v in started.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**started, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        return filtered

    def _keep_owned(self, body: bytes, kind: str, key: str, field: str, project: str) -> bytes:
        payload = json.loads(body)
        items = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(items, list):
            return body
        owned = {
            str(row[0])
            for row in self.store.query(
                "SELECT name FROM project_resources WHERE kind = ? AND project = ?", [kind, project]
            ).rows
        }
        payload[key] = [i for i in items if isinstance(i, dict) and str(i.get(field)) in owned]
        return json.dumps(payload).encode()

    def _owner(self, sql: str, owned_id: object) -> str | None:
        if not isinstance(owned_id, str):
            return None
        rows = self.store.query(sql, [owned_id]).rows
        return str(rows[0][0]) if rows else None


def presented_keys(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Every credential a request presents, as raw bytes: x-api-key, Bearer, and both halves
    of Basic ``user:password`` (Langfuse clients send public:secret). Compared as bytes, a
    non-ASCII credential is simply a wrong key."""
    found: list[bytes] = []
    for raw_name, value in headers:
        name = raw_name.lower()
        if name == b"x-api-key":
            found.append(value.strip())
        elif name == b"authorization":
            scheme, _, credential = value.strip().partition(b" ")
            if scheme.lower() == b"bearer":
                found.append(credential.strip())
            elif scheme.lower() == b"basic":
                try:
                    decoded = base64.b64decode(credential.strip(), validate=True)
                except (binascii.Error, ValueError):
                    continue
                user, _, password = decoded.partition(b":")
                found += [user, password]
    return [token for token in found if token]


def principal_of(scope: Scope) -> Principal:
    """The Principal AccessMiddleware left on the request (open access when it did not run)."""
    principal = scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else Principal()


def _shared_message(method: str, path: str) -> str:
    return (
        f"{method} {path} is not open to project keys (data shared by every project, or an "
        "instance operation): use the instance admin key"
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    await json_error(status, message)(scope, receive, send)


async def _read_all(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_SCOPED_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """A receive that hands the (rewritten) body over once, then waits on the real one (which
    reports the client's disconnect)."""
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
