"""Proposed prompt versions made from corrections, adopted only by a person.

``propose`` takes the corrections made on spans rendered from a prompt and adds them to the
prompt as few-shot examples, between the instructions and the first ``{{variable}}`` line:
each example is the prompt's variables as the span was rendered with them and the corrected
output, the shape the model is asked for. The reviewers' reasons are not part of an example:
they are listed once, as notes above the examples. The wrong output is not repeated (a model
copies what it is shown); it stays on the correction. A span that did not record its
variables has them read back from its rendered text and the template it was rendered from.
The proposal is stored with its diff against the version it starts from; nothing changes
what the application uses until a person adopts it (which creates a new version, optionally
labelled) or rejects it. Each proposal is decided once.

Corrected text is model output and reviewer input, so ``{{`` inside it is broken up
(``{ {``) before it goes into a template: it can never become a placeholder.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from loopwise.collector.sdk import template_variables
from loopwise.collector.store import Store, record_audit

from .common import canonical_json, check_actor, from_json, new_id, optional_text, utcnow
from .corrections import Correction, list_corrections
from .errors import Conflict, FeedbackError, NotFound
from .prompts import PromptVersion, check_label, get_version, insert_version, template_diff

EXAMPLES_HEADER = "Examples corrected by reviewers (follow them):"
EXAMPLES_END = "End of corrected examples."
NOTES_HEADER = "Reviewers' notes:"
OUTPUT_LABEL = "Corrected output:"
PLACEHOLDER_SPLIT = re.compile(r"(\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\})")
MAX_FIELD_CHARS = 300
MAX_OUTPUT_CHARS = 1200

PROPOSALS_SQL = """
SELECT p.*, d.decision, d.version AS adopted_version, d.actor AS decided_by,
       d.reason AS decision_reason, d.created_at AS decided_at
FROM prompt_proposals p LEFT JOIN prompt_proposal_decisions d USING (proposal_id)
WHERE (CAST($name AS VARCHAR) IS NULL OR p.name = CAST($name AS VARCHAR))
  AND (CAST($id AS VARCHAR) IS NULL OR p.proposal_id = CAST($id AS VARCHAR))
ORDER BY p.created_at DESC, p.proposal_id
"""


@dataclass(frozen=True)
class Proposal:
    """A proposed prompt version and, once decided, who adopted or rejected it."""

    proposal_id: str
    name: str
    base_version: int
    template: str
    model_params: dict[str, Any]
    rationale: str | None
    correction_ids: list[str]
    author: str
    created_at: dt.datetime
    status: str
    adopted_version: int | None
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    diff: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


def propose(
    store: Store,
    name: Any,
    *,
    actor: Any,
    base_version: Any = None,
    base_label: Any = None,
    correction_ids: Sequence[str] | None = None,
    max_examples: int = 3,
) -> Proposal:
    """Propose a new version of prompt ``name`` from corrections: ``correction_ids``, or
    else the newest corrections of spans rendered from this prompt whose corrected output
    is not in the template yet. Starts from ``base_version``, else ``base_label``
    (default production, falling back to the newest version)."""
    who = check_actor(actor)
    if not isinstance(max_examples, int) or not 1 <= max_examples <= 20:
        raise FeedbackError("max_examples must be between 1 and 20")
    base = _base(store, name, base_version, base_label)
    if correction_ids is not None:
        if not correction_ids:
            raise FeedbackError("correction_ids is empty")
        chosen = list_corrections(store, ids=list(correction_ids))
        missing = set(correction_ids) - {c.correction_id for c in chosen}
        if missing:
            raise NotFound(f"no correction(s) {', '.join(sorted(missing)[:5])}")
    else:
        candidates = list_corrections(store, prompt=base.name)
        latest = {(c.trace_id, c.span_id): c for c in candidates}.values()
        fresh = [c for c in latest if _escape(c.corrected_output) not in base.template]
        chosen = fresh[-max_examples:]
        if not chosen:
            raise FeedbackError(
                f"no new corrections on spans rendered from prompt {base.name}: "
                "correct some review items first"
            )
    rendered_from = {}
    for version in {c.prompt_version for c in chosen if c.prompt_version}:
        try:
            rendered_from[version] = get_version(store, base.name, version=version).template
        except NotFound:
            continue
    template = add_examples(base.template, chosen, rendered_from)
    reasons = sorted({c.reason.strip() for c in chosen if c.reason and c.reason.strip()})
    rationale = f"{len(chosen)} corrected example(s) added as few-shot examples" + (
        ": " + "; ".join(reasons) if reasons else ""
    )
    proposal_id = new_id("prop")
    with store.transaction() as cur:
        cur.execute(
            "INSERT INTO prompt_proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                proposal_id,
                base.name,
                base.version,
                template,
                canonical_json(template_variables(template)),
                canonical_json(base.model_params),
                rationale[:10_000],
                canonical_json([c.correction_id for c in chosen]),
                who,
                utcnow(),
            ],
        )
    return get_proposal(store, proposal_id)


def adopt(
    store: Store,
    proposal_id: Any,
    *,
    actor: Any,
    label: Any = None,
    message: Any = None,
    force: bool = False,
) -> PromptVersion:
    """A person adopts a proposal: it becomes the prompt's next version (with ``label``
    pointing at it, if given). Conflict when the proposal was decided already, or when the
    prompt gained a version since the proposal's base (unless ``force``)."""
    who = check_actor(actor)
    tag = check_label(label) if label is not None else None
    note = optional_text(message, "message", 10_000)
    proposal = get_proposal(store, proposal_id)
    with store.transaction() as cur:
        _undecided(cur, proposal)
        expected = None if force else proposal.base_version
        version = insert_version(
            cur,
            proposal.name,
            proposal.template,
            proposal.model_params,
            who,
            note or f"adopted proposal {proposal.proposal_id}: {proposal.rationale}",
            [tag] if tag else [],
            expected,
            proposal.proposal_id,
        )
        cur.execute(
            "INSERT INTO prompt_proposal_decisions VALUES (?, 'adopted', ?, ?, ?, ?)",
            [proposal.proposal_id, version, who, note, utcnow()],
        )
        record_audit(
            cur,
            actor=who,
            action="prompt.proposal.adopt",
            target=f"prompt:{proposal.name}",
            details={
                "proposal_id": proposal.proposal_id,
                "base_version": proposal.base_version,
                "version": version,
                "label": tag,
                "forced": force,
                "message": note,
            },
        )
    return get_version(store, proposal.name, version=version)


def reject(store: Store, proposal_id: Any, *, actor: Any, reason: Any = None) -> Proposal:
    """A person rejects a proposal; Conflict when it was decided already."""
    who = check_actor(actor)
    why = optional_text(reason, "reason", 10_000)
    proposal = get_proposal(store, proposal_id)
    with store.transaction() as cur:
        _undecided(cur, proposal)
        cur.execute(
            "INSERT INTO prompt_proposal_decisions VALUES (?, 'rejected', NULL, ?, ?, ?)",
            [proposal.proposal_id, who, why, utcnow()],
        )
        record_audit(
            cur,
            actor=who,
            action="prompt.proposal.reject",
            target=f"prompt:{proposal.name}",
            details={"proposal_id": proposal.proposal_id, "reason": why},
        )
    return get_proposal(store, proposal.proposal_id)


def get_proposal(store: Store, proposal_id: Any) -> Proposal:
    """One proposal with its status and diff; NotFound when there is none."""
    if not isinstance(proposal_id, str) or not proposal_id:
        raise FeedbackError("proposal_id is required")
    found = _proposals(store, None, proposal_id)
    if not found:
        raise NotFound(f"no prompt proposal {proposal_id}")
    return found[0]


def list_proposals(store: Store, name: str | None = None) -> list[Proposal]:
    """Proposals, newest first (of prompt ``name`` only, if given)."""
    return _proposals(store, name, None)


def add_examples(
    template: str,
    corrections: Sequence[Correction],
    rendered_from: Mapping[int, str] | None = None,
) -> str:
    """``template`` with the corrections added to its block of corrected examples (created
    between the instructions and the first line holding a ``{{variable}}``), and their
    reasons added to the block's reviewers' notes. ``rendered_from``: the template of each
    prompt version the corrected spans were rendered from (to read their variables back)."""
    lines = template.splitlines(keepends=True)
    notes = _notes(corrections)
    if EXAMPLES_HEADER in template and EXAMPLES_END in template:
        done = sum(
            1 for line in lines if line.startswith("Example ") and line.strip()[8:].isdigit()
        )
        end = next(i for i, line in enumerate(lines) if line.strip() == EXAMPLES_END)
        head = "".join(lines[:end])
        if notes:
            head = _with_notes(head, notes)
        examples = _examples(template, corrections, done + 1, rendered_from or {})
        return head + examples + "".join(lines[end:])
    noted = NOTES_HEADER + "\n" + "".join(f"- {n}\n" for n in notes) + "\n" if notes else ""
    examples = _examples(template, corrections, 1, rendered_from or {})
    block = f"{EXAMPLES_HEADER}\n\n{noted}{examples}{EXAMPLES_END}\n\n"
    at = next((i for i, line in enumerate(lines) if template_variables(line)), len(lines))
    head = "".join(lines[:at])
    if head and not head.endswith("\n"):
        head += "\n"
    if head and not head.endswith("\n\n"):
        head += "\n"
    return head + block + "".join(lines[at:])


def _notes(corrections: Sequence[Correction]) -> list[str]:
    seen: dict[str, None] = {}
    for c in corrections:
        if c.reason and c.reason.strip():
            seen.setdefault(_escape(" ".join(c.reason.split())), None)
    return list(seen)


def _with_notes(head: str, notes: list[str]) -> str:
    """``head`` (the block up to its end line) with ``notes`` added to its notes list."""
    new = [n for n in notes if f"- {n}\n" not in head]
    if not new:
        return head
    added = "".join(f"- {n}\n" for n in new)
    if NOTES_HEADER in head:
        start = head.index(NOTES_HEADER) + len(NOTES_HEADER) + 1
        end = head.find("\n\n", start)
        end = len(head) if end < 0 else end + 1
        return head[:end] + added + head[end:]
    at = head.index(EXAMPLES_HEADER) + len(EXAMPLES_HEADER) + 2
    return head[:at] + f"{NOTES_HEADER}\n{added}\n" + head[at:]


def _examples(
    template: str, corrections: Sequence[Correction], first: int, rendered_from: Mapping[int, str]
) -> str:
    parts = []
    for number, c in enumerate(corrections, start=first):
        source = rendered_from.get(c.prompt_version or 0, template)
        variables = c.prompt_variables or variables_from_render(source, c.span_input)
        if variables:
            shown = "\n".join(
                f"{k}: {_clip(_text(v), MAX_FIELD_CHARS)}" for k, v in variables.items()
            )
        else:
            shown = "Input:\n" + _clip(c.span_input or "", MAX_OUTPUT_CHARS)
        parts.append(f"Example {number}\n{_escape(shown)}\n")
        parts.append(f"{OUTPUT_LABEL}\n{_escape(c.corrected_output)}\n\n")
    return "".join(parts)


def variables_from_render(template: str, rendered: str | None) -> dict[str, str] | None:
    """The variable values that render ``template`` as ``rendered``, or None when it does not
    (another template, or text around the placeholders that differs)."""
    names = template_variables(template)
    if not names or not rendered:
        return None
    pattern, seen = "", set()
    for piece in PLACEHOLDER_SPLIT.split(template):
        if piece.startswith("{{") and piece.endswith("}}"):
            name = piece[2:-2].strip()
            pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.*?)"
            seen.add(name)
        else:
            pattern += re.escape(piece)
    try:
        match = re.fullmatch(pattern, rendered, re.DOTALL)
    except re.error:  # a variable name that is not a group name
        return None
    return {name: match.group(name) for name in names} if match else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _escape(text: str) -> str:
    return text.replace("{{", "{ {").replace("}}", "} }")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _base(store: Store, name: Any, version: Any, label: Any) -> PromptVersion:
    if version is not None:
        return get_version(store, name, version=version)
    if label is not None:
        return get_version(store, name, label=label)
    try:
        return get_version(store, name, label="production")
    except NotFound:
        return get_version(store, name, label="latest")


def _undecided(cur: Any, proposal: Proposal) -> None:
    rows = cur.execute(
        "SELECT decision, actor FROM prompt_proposal_decisions WHERE proposal_id = ?",
        [proposal.proposal_id],
    ).fetchall()
    if rows:
        raise Conflict(f"proposal {proposal.proposal_id} was already {rows[0][0]} by {rows[0][1]}")


def _proposals(store: Store, name: str | None, proposal_id: str | None) -> list[Proposal]:
    rows = store.query(PROPOSALS_SQL, {"name": name, "id": proposal_id}).records()
    out = []
    for row in rows:
        base = store.query(
            "SELECT template FROM prompt_versions WHERE name = ? AND version = ?",
            [row["name"], row["base_version"]],
        ).rows
        out.append(
            Proposal(
                proposal_id=row["proposal_id"],
                name=row["name"],
                base_version=int(row["base_version"]),
                template=row["template"],
                model_params=from_json(row["model_params"], {}),
                rationale=row["rationale"],
                correction_ids=from_json(row["correction_ids"], []),
                author=row["author"],
                created_at=row["created_at"],
                status=row["decision"] or "open",
                adopted_version=row["adopted_version"],
                decided_by=row["decided_by"],
                decided_at=row["decided_at"],
                decision_reason=row["decision_reason"],
                diff=template_diff(
                    base[0][0] if base else "", row["template"], row["base_version"], "proposed"
                ),
            )
        )
    return out
