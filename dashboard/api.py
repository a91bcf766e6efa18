"""The dashboard's typed view of the collector's JSON API, its only source of data.

Requests go through the one collector client (``collector.client``), so every failure is one
of the API's errors with a message fit to show a person: ``CollectorUnreachable`` when
nothing answers at the URL, ``RouteMissing`` when the collector has no such route at all (an
older collector, or one without the evaluation extension: pages show a plain note and carry
on), and otherwise the ``ApiError`` of the status the collector answered (``.status``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any
from urllib.parse import quote

from loopwise.collector.api_errors import ApiError
from loopwise.collector.client import BadReply, CollectorClient, CollectorUnreachable, RouteMissing

from .api_types import GroupPage, Record, SqlResult, TraceDetail, TracePage
from .filters import OverviewQuery, TraceQuery

__all__ = [
    "ApiError",
    "CollectorAPI",
    "CollectorUnreachable",
    "GroupPage",
    "Record",
    "RouteMissing",
    "SqlResult",
    "TraceDetail",
    "TracePage",
]

DEFAULT_TIMEOUT_S = 5.0
MAX_SCORES_PER_TRACE = 1000


class CollectorAPI:
    """A synchronous client of one collector; use it as a context manager or call ``close``.

    >>> with CollectorAPI("http://127.0.0.1:4318") as api:
    ...     api.recent_traces(limit=20)
    """

    def __init__(
        self, base_url: str, api_key: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self._client = CollectorClient(base_url, api_key, timeout_s=timeout_s, retries=1)
        self.base_url = self._client.endpoint

    def whoami(self) -> Record:
        """Who the API key is: ``admin``, ``project``, ``role`` and ``name`` (401 without one
        when the collector needs a key)."""
        return _expect_object(self._request("GET", "/api/whoami"))

    def health(self) -> Record:
        """The collector's health report: ``status``, ``version``, writer counters."""
        return _expect_object(self._request("GET", "/health"))

    def recent_traces(
        self, limit: int = 50, offset: int = 0, project: str | None = None
    ) -> list[Record]:
        """One summary per trace, newest first: ``limit`` rows after skipping ``offset``."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if project:
            params["project"] = project
        payload = _expect_object(self._request("GET", "/api/traces", params=params))
        return _expect_records(payload.get("traces"), "traces")

    def traces(self, query: TraceQuery) -> TracePage:
        """One page of traces matching ``query``. Asks for one row more than the page holds,
        so an older page is known to exist even when the collector does not say."""
        params = query.params()
        params["limit"] = query.limit + 1
        payload = _expect_object(self._request("GET", "/api/traces", params=params))
        fetched = _expect_records(payload.get("traces"), "traces")
        reported = payload.get("has_more")
        total = payload.get("total")
        return TracePage(
            traces=fetched[: query.limit],
            has_more=len(fetched) > query.limit or reported is True,
            total=total if isinstance(total, int) else None,
            filtered=isinstance(reported, bool) or not query.narrowing(),
        )

    def groups(
        self, kind: str, *, project: str | None = None, limit: int = 50, offset: int = 0
    ) -> GroupPage:
        """One page of ``sessions`` or ``users`` (/api/sessions, /api/users) with their trace
        counts, activity, errors, tokens and cost; ``RouteMissing`` on older collectors."""
        if kind not in ("sessions", "users"):
            raise ValueError(f"kind must be 'sessions' or 'users', got {kind!r}")
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if project:
            params["project"] = project
        payload = _expect_object(self._request("GET", f"/api/{kind}", params=params))
        total = payload.get("total")
        return GroupPage(
            rows=_expect_records(payload.get(kind), kind),
            has_more=payload.get("has_more") is True,
            total=total if isinstance(total, int) else None,
        )

    def trace(self, trace_id: str) -> TraceDetail:
        """All spans of one trace; ``NotFound`` (status 404) when it is unknown."""
        path = f"/api/traces/{quote(trace_id, safe='')}"
        payload = _expect_object(self._request("GET", path))
        scores = payload.get("scores")
        return TraceDetail(
            trace_id=str(payload.get("trace_id", trace_id)),
            spans=_expect_records(payload.get("spans"), "spans"),
            tree=_expect_records(payload.get("tree"), "tree"),
            scores=None if scores is None else _expect_records(scores, "scores"),
            root_cause=cause if isinstance(cause := payload.get("root_cause"), dict) else None,
        )

    def root_causes(self, query: OverviewQuery) -> list[Record]:
        """Failing traces counted by the step that went wrong first (/api/overview/root_causes)."""
        params = {k: v for k, v in query.params().items() if k in ("since", "until", "project")}
        payload = self._request("GET", "/api/overview/root_causes", params=params)
        return _records_in(payload, "steps")

    def overview(self, query: OverviewQuery) -> Record:
        """Traffic over time (/api/overview): ``window``, ``totals`` and ``series`` buckets of
        traces, errors, latency p50/p95, tokens and cost."""
        payload = _expect_object(self._request("GET", "/api/overview", params=query.params()))
        _expect_records(payload.get("series"), "series")
        if not isinstance(payload.get("totals"), dict):
            raise BadReply("expected 'totals' to be an object")
        return payload

    def score_trends(self, query: OverviewQuery) -> Record:
        """Scores per evaluator over time (/api/overview/scores): ``evaluators`` (one summary
        each) and ``series`` (one row per evaluator and bucket)."""
        path = "/api/overview/scores"
        payload = _expect_object(self._request("GET", path, params=query.params()))
        _expect_records(payload.get("evaluators"), "evaluators")
        _expect_records(payload.get("series"), "series")
        return payload

    def extent(self) -> Record:
        """When the stored traces start (/api/overview/extent): ``first``, ``last`` (ISO
        8601 or None) and ``traces``."""
        return _expect_object(self._request("GET", "/api/overview/extent"))

    def facets(self, query: OverviewQuery, limit: int = 50) -> dict[str, list[Record]]:
        """The most frequent projects, services, models and tags in the query's time window,
        each ``{"value", "spans"}``: the choices for the filters."""
        params: dict[str, str | int] = {"limit": limit}
        params.update({k: v for k, v in query.params().items() if k in ("since", "until")})
        payload = _expect_object(self._request("GET", "/api/overview/facets", params=params))
        return {name: _expect_records(value, name) for name, value in payload.items()}

    def flags(
        self,
        *,
        status: str | None = None,
        project: str | None = None,
        trace_id: str | None = None,
        limit: int = 50,
    ) -> list[Record]:
        """Flags (/api/flags), newest first; ``RouteMissing`` on a collector without them."""
        params: dict[str, str | int] = {"limit": limit}
        for name, value in (("status", status), ("project", project), ("trace_id", trace_id)):
            if value:
                params[name] = value
        return _records_in(self._request("GET", "/api/flags", params=params), "flags")

    def trace_scores(self, trace_id: str) -> list[Record]:
        """Every score of one trace and its spans (/api/scores); ``RouteMissing`` on a
        collector that does not serve scores."""
        params = {"trace_id": trace_id, "limit": MAX_SCORES_PER_TRACE}
        payload = self._request("GET", "/api/scores", params=params)
        return _records_in(payload, "scores")

    def flag_clusters(self, project: str | None = None) -> list[Record]:
        """The latest failure clusters (/api/flags/clusters): id, label, counts, severity."""
        params = {"project": project} if project else None
        return _records_in(self._request("GET", "/api/flags/clusters", params=params), "clusters")

    def review_items(
        self,
        *,
        state: str | None = "open",
        project: str | None = None,
        assignee: str | None = None,
        limit: int = 500,
    ) -> list[Record]:
        """Review items (/api/reviews), newest first, only ``assignee``'s when given;
        ``RouteMissing`` without feedback."""
        params: dict[str, str | int] = {"limit": limit}
        for name, value in (("state", state), ("project", project), ("assignee", assignee)):
            if value:
                params[name] = value
        return _records_in(self._request("GET", "/api/reviews", params=params), "items")

    def review_item(self, item_id: str) -> Record:
        """One review item with its ``events`` and ``corrections`` (/api/reviews/{id})."""
        path = f"/api/reviews/{quote(item_id, safe='')}"
        return _expect_object(self._request("GET", path))

    def review_action(self, item_id: str, action: str, **fields: Any) -> Record:
        """Apply ``action`` (approve, correct, reject…) with ``actor``, ``expected_version``,
        ``comment``, ``corrected_output``, ``verdicts`` (``{evaluator: "pass" | "fail"}``, with
        approve or correct); ``Conflict`` (status 409) when the item moved on."""
        path = f"/api/reviews/{quote(item_id, safe='')}/actions"
        body = {"action": action, **{k: v for k, v in fields.items() if v is not None}}
        return _expect_object(self._request("POST", path, json=body))

    def item_rubric(self, item_id: str) -> Record:
        """The evaluators a reviewer gives a verdict on for one item
        (/api/reviews/{id}/rubric): ``evaluators``, ``source`` (``rubric``: its project's;
        ``flags``: none set, the evaluators whose flags are on it), ``rubric_version`` and
        ``implied``; ``RouteMissing`` on a collector without rubrics."""
        path = f"/api/reviews/{quote(item_id, safe='')}/rubric"
        return _expect_object(self._request("GET", path))

    def set_rubric(
        self,
        project: str,
        *,
        actor: str,
        evaluators: list[str] | None = None,
        clear: bool = False,
        expected_version: int | None = None,
    ) -> Record:
        """Set a project's review rubric (/api/reviews/rubric), or with ``clear`` go back to
        the default; ``Conflict`` (409) when it changed since ``expected_version``."""
        body: dict[str, Any] = {"project": project, "actor": actor}
        if clear:
            body["clear"] = True
        else:
            body["evaluators"] = evaluators
        if expected_version is not None:
            body["expected_version"] = expected_version
        return _expect_object(self._request("POST", "/api/reviews/rubric", json=body))

    def datasets(self) -> list[Record]:
        """Every dataset's latest version (/api/datasets)."""
        return _records_in(self._request("GET", "/api/datasets"), "datasets")

    def dataset_versions(self, name: str) -> list[Record]:
        """Every version of one dataset, oldest first (/api/datasets/{name}/versions)."""
        path = f"/api/datasets/{quote(name, safe='')}/versions"
        return _records_in(self._request("GET", path), "versions")

    def dataset_version(self, name: str, version: int) -> Record:
        """One version: its ``version`` header and all its ``examples``."""
        path = f"/api/datasets/{quote(name, safe='')}"
        payload = _expect_object(self._request("GET", path, params={"version": version}))
        _expect_records(payload.get("examples"), "examples")
        return payload

    def dataset_diff(self, name: str, old: int, new: int) -> Record:
        """What changed between two versions: ``added``, ``removed``, ``changed``."""
        path = f"/api/datasets/{quote(name, safe='')}/diff"
        params = {"from": old, "to": new}
        return _expect_object(self._request("GET", path, params=params))

    def prompts(self) -> list[Record]:
        """Every prompt: ``name``, ``latest_version``, ``versions``, ``labels`` (/api/prompts)."""
        return _records_in(self._request("GET", "/api/prompts"), "prompts")

    def prompt_versions(self, name: str) -> Record:
        """A prompt's ``versions`` (oldest first) and ``label_history``."""
        path = f"/api/prompts/{quote(name, safe='')}/versions"
        return _expect_object(self._request("GET", path))

    def prompt_diff(self, name: str, old: int, new: int) -> Record:
        """A unified ``diff`` of two versions' templates and their ``model_params`` changes."""
        path = f"/api/prompts/{quote(name, safe='')}/diff"
        return _expect_object(self._request("GET", path, params={"from": old, "to": new}))

    def prompt_proposals(self, name: str) -> list[Record]:
        """Proposed versions of a prompt with their ``diff`` and ``status``."""
        path = f"/api/prompts/{quote(name, safe='')}/proposals"
        return _records_in(self._request("GET", path), "proposals")

    def adopt_proposal(self, name: str, proposal_id: str, actor: str) -> Record:
        """A person adopts a proposal: it becomes the prompt's next version (returned)."""
        path = f"/api/prompts/{quote(name, safe='')}/proposals/{quote(proposal_id, safe='')}"
        return _expect_object(self._request("POST", f"{path}/adopt", json={"actor": actor}))

    def scores(self, project: str | None = None, limit: int = 1000) -> list[Record]:
        """The newest scores of every evaluator (/api/scores), at most ``limit``."""
        params: dict[str, str | int] = {"limit": limit, **({"project": project} if project else {})}
        return _records_in(self._request("GET", "/api/scores", params=params), "scores")

    def calibration(self, project: str | None = None) -> list[Record]:
        """Each judge's agreement with people (/api/calibration): accuracy, kappa, confusion."""
        return self.calibration_report(project)[0]

    def calibration_report(self, project: str | None = None) -> tuple[list[Record], list[Record]]:
        """/api/calibration in full: each judge's agreement with people (``evaluators``) and,
        per evaluator, how far two reviewers of one item agree with each other
        (``reviewers``: pairs, raw agreement, Cohen's kappa; empty from an older collector)."""
        params = {"project": project} if project else None
        payload = self._request("GET", "/api/calibration", params=params)
        reviewers = payload.get("reviewers") if isinstance(payload, dict) else None
        return (
            _records_in(payload, "evaluators"),
            _expect_records(reviewers, "reviewers") if reviewers is not None else [],
        )

    def eval_runs(self, suite: str | None = None, limit: int = 50) -> list[Record]:
        """Recorded suite runs, newest first (/api/eval-runs); ``RouteMissing`` without."""
        params: dict[str, str | int] = {"limit": limit, **({"suite": suite} if suite else {})}
        return _records_in(self._request("GET", "/api/eval-runs", params=params), "runs")

    def eval_run(self, run_id: str) -> Record:
        """One run's full report: ``examples``, ``summaries``, ``thresholds``."""
        path = f"/api/eval-runs/{quote(run_id, safe='')}"
        return _expect_object(self._request("GET", path))

    def sql(self, query: str) -> SqlResult:
        """Run one read-only SELECT on the collector's store."""
        payload = _expect_object(self._request("POST", "/api/sql", json={"sql": query}))
        columns = payload.get("columns")
        rows = payload.get("rows")
        if not isinstance(columns, list) or not isinstance(rows, list):
            raise BadReply("the SQL answer lacks its columns or rows")
        return SqlResult(
            columns=[str(c) for c in columns],
            rows=[list(r) for r in rows],
            truncated=bool(payload.get("truncated", False)),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> CollectorAPI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._client.call(method, path, **kwargs)


def _expect_object(payload: Any) -> Record:
    if not isinstance(payload, dict):
        raise BadReply("expected a JSON object")
    return payload


def _records_in(payload: Any, name: str) -> list[Record]:
    """The list of objects a list endpoint answers: bare, or under ``name`` in an object."""
    if isinstance(payload, dict):
        payload = payload.get(name)
    return _expect_records(payload, name)


def _expect_records(value: Any, name: str) -> list[Record]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadReply(f"expected {name!r} to be a list of objects")
    return value
