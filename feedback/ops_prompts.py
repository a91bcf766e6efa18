"""API operations under /api/prompts: versions, labels, diffs, scores per version, and
proposals made from corrections."""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store

from .errors import NotFound
from .operations import Operation, PathParams
from .prompt_scores import scores_by_prompt_version
from .prompts import (
    create_version,
    diff_versions,
    get_version,
    label_history,
    list_prompts,
    list_versions,
    set_label,
)
from .proposals import Proposal, adopt, get_proposal, list_proposals, propose, reject
from .requests import (
    AdoptBody,
    DiffQuery,
    LabelBody,
    PromptQuery,
    PromptScoresQuery,
    PromptVersionBody,
    ProposeBody,
    RejectBody,
)


def _list(store: Store, path: PathParams) -> Any:
    return {"prompts": list_prompts(store)}


def _get(store: Store, path: PathParams, query: PromptQuery) -> Any:
    prompt = get_version(store, path["name"], label=query.label, version=query.version)
    return prompt.to_dict()


def _versions(store: Store, path: PathParams) -> Any:
    name = path["name"]
    return {
        "versions": [v.to_dict() for v in list_versions(store, name)],
        "label_history": label_history(store, name),
    }


def _create(store: Store, path: PathParams, body: PromptVersionBody) -> Any:
    return create_version(
        store,
        path["name"],
        body.template,
        actor=body.actor,
        model_params=body.model_params,
        variables=body.variables,
        message=body.message,
        labels=body.labels or [],
        expected_version=body.expected_version,
    ).to_dict()


def _label(store: Store, path: PathParams, body: LabelBody) -> Any:
    moved = set_label(
        store,
        path["name"],
        body.label,
        body.version,
        actor=body.actor,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return {"label": body.label, "version": moved.to_dict() if moved else None}


def _diff(store: Store, path: PathParams, query: DiffQuery) -> Any:
    name = path["name"]
    new = query.to or list_versions(store, name)[-1].version
    old = query.from_ or max(1, new - 1)
    return diff_versions(store, name, old, new)


def _scores(store: Store, path: PathParams, query: PromptScoresQuery) -> Any:
    rows = scores_by_prompt_version(store, path["name"], project=query.project)
    return {"name": path["name"], "scores": rows}


def _proposals(store: Store, path: PathParams) -> Any:
    return {"proposals": [p.to_dict() for p in list_proposals(store, path["name"])]}


def _propose(store: Store, path: PathParams, body: ProposeBody) -> Any:
    return propose(
        store,
        path["name"],
        actor=body.actor,
        base_version=body.base_version,
        base_label=body.base_label,
        correction_ids=body.correction_ids,
        max_examples=body.max_examples,
    ).to_dict()


def _proposal(store: Store, path: PathParams) -> Proposal:
    proposal = get_proposal(store, path["proposal_id"])
    if proposal.name != path["name"]:
        raise NotFound(f"prompt {path['name']} has no proposal {proposal.proposal_id}")
    return proposal


def _get_proposal(store: Store, path: PathParams) -> Any:
    return _proposal(store, path).to_dict()


def _adopt(store: Store, path: PathParams, body: AdoptBody) -> Any:
    proposal = _proposal(store, path)
    return adopt(
        store,
        proposal.proposal_id,
        actor=body.actor,
        label=body.label,
        message=body.message,
        force=body.force,
    ).to_dict()


def _reject(store: Store, path: PathParams, body: RejectBody) -> Any:
    proposal = _proposal(store, path)
    return reject(store, proposal.proposal_id, actor=body.actor, reason=body.reason).to_dict()


PROMPT_OPERATIONS = [
    Operation("GET", "/api/prompts", _list),
    Operation("GET", "/api/prompts/{name}", _get, query=PromptQuery),
    Operation("GET", "/api/prompts/{name}/versions", _versions),
    Operation("POST", "/api/prompts/{name}/versions", _create, 201, body=PromptVersionBody),
    Operation("POST", "/api/prompts/{name}/labels", _label, body=LabelBody),
    Operation("GET", "/api/prompts/{name}/diff", _diff, query=DiffQuery),
    Operation("GET", "/api/prompts/{name}/scores", _scores, query=PromptScoresQuery),
    Operation("GET", "/api/prompts/{name}/proposals", _proposals),
    Operation("POST", "/api/prompts/{name}/proposals", _propose, 201, body=ProposeBody),
    Operation("GET", "/api/prompts/{name}/proposals/{proposal_id}", _get_proposal),
    Operation(
        "POST", "/api/prompts/{name}/proposals/{proposal_id}/adopt", _adopt, 201, body=AdoptBody
    ),
    Operation(
        "POST", "/api/prompts/{name}/proposals/{proposal_id}/reject", _reject, body=RejectBody
    ),
]
