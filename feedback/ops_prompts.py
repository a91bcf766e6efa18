"""API operations under /api/prompts: versions, labels, diffs, scores per version, and
proposals made from corrections."""

from __future__ import annotations

from typing import Any

from loopwise.collector.store import Store

from .errors import FeedbackError, NotFound
from .operations import Call, Operation
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
from .proposals import adopt, get_proposal, list_proposals, propose, reject


def _list(store: Store, call: Call) -> Any:
    return {"prompts": list_prompts(store)}


def _get(store: Store, call: Call) -> Any:
    version = call.integer("version", None, 1, 10_000_000)
    prompt = get_version(store, call.path["name"], label=call.text("label"), version=version)
    return prompt.to_dict()


def _versions(store: Store, call: Call) -> Any:
    name = call.path["name"]
    return {
        "versions": [v.to_dict() for v in list_versions(store, name)],
        "label_history": label_history(store, name),
    }


def _create(store: Store, call: Call) -> Any:
    body = call.json()
    return create_version(
        store,
        call.path["name"],
        body.get("template"),
        actor=body.get("actor"),
        model_params=body.get("model_params"),
        variables=body.get("variables"),
        message=body.get("message"),
        labels=body.get("labels") or [],
        expected_version=body.get("expected_version"),
    ).to_dict()


def _label(store: Store, call: Call) -> Any:
    body = call.json()
    moved = set_label(
        store,
        call.path["name"],
        body.get("label"),
        body.get("version"),
        actor=body.get("actor"),
        reason=body.get("reason"),
        expected_version=body.get("expected_version"),
    )
    return {"label": body.get("label"), "version": moved.to_dict() if moved else None}


def _diff(store: Store, call: Call) -> Any:
    name = call.path["name"]
    latest = list_versions(store, name)[-1].version
    new = call.integer("to", latest, 1, 10_000_000) or latest
    old = call.integer("from", max(1, new - 1), 1, 10_000_000) or 1
    return diff_versions(store, name, old, new)


def _scores(store: Store, call: Call) -> Any:
    rows = scores_by_prompt_version(store, call.path["name"], project=call.text("project"))
    return {"name": call.path["name"], "scores": rows}


def _proposals(store: Store, call: Call) -> Any:
    return {"proposals": [p.to_dict() for p in list_proposals(store, call.path["name"])]}


def _propose(store: Store, call: Call) -> Any:
    body = call.json()
    ids = body.get("correction_ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise FeedbackError("correction_ids must be a list of correction ids")
    max_examples = body.get("max_examples", 3)
    return propose(
        store,
        call.path["name"],
        actor=body.get("actor"),
        base_version=body.get("base_version"),
        base_label=body.get("base_label"),
        correction_ids=ids,
        max_examples=max_examples if isinstance(max_examples, int) else -1,
    ).to_dict()


def _proposal(store: Store, call: Call) -> Any:
    proposal = get_proposal(store, call.path["proposal_id"])
    if proposal.name != call.path["name"]:
        raise NotFound(f"prompt {call.path['name']} has no proposal {proposal.proposal_id}")
    return proposal


def _get_proposal(store: Store, call: Call) -> Any:
    return _proposal(store, call).to_dict()


def _adopt(store: Store, call: Call) -> Any:
    body = call.json()
    proposal = _proposal(store, call)
    return adopt(
        store,
        proposal.proposal_id,
        actor=body.get("actor"),
        label=body.get("label"),
        message=body.get("message"),
        force=body.get("force") is True,
    ).to_dict()


def _reject(store: Store, call: Call) -> Any:
    body = call.json()
    proposal = _proposal(store, call)
    return reject(
        store, proposal.proposal_id, actor=body.get("actor"), reason=body.get("reason")
    ).to_dict()


PROMPT_OPERATIONS = [
    Operation("GET", "/api/prompts", _list),
    Operation("GET", "/api/prompts/{name}", _get),
    Operation("GET", "/api/prompts/{name}/versions", _versions),
    Operation("POST", "/api/prompts/{name}/versions", _create, 201),
    Operation("POST", "/api/prompts/{name}/labels", _label),
    Operation("GET", "/api/prompts/{name}/diff", _diff),
    Operation("GET", "/api/prompts/{name}/scores", _scores),
    Operation("GET", "/api/prompts/{name}/proposals", _proposals),
    Operation("POST", "/api/prompts/{name}/proposals", _propose, 201),
    Operation("GET", "/api/prompts/{name}/proposals/{proposal_id}", _get_proposal),
    Operation("POST", "/api/prompts/{name}/proposals/{proposal_id}/adopt", _adopt, 201),
    Operation("POST", "/api/prompts/{name}/proposals/{proposal_id}/reject", _reject),
]
