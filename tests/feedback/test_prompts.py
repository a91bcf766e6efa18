"""The prompt registry: versions, labels, diffs, conflicts, proposals from corrections and the
person who adopts them, and scores compared per prompt version."""

from __future__ import annotations

from typing import Any

import pytest

from loopwise.collector.sdk import render_template, template_variables
from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.feedback import (
    Conflict,
    FeedbackError,
    NotFound,
    act,
    adopt,
    create_version,
    get_proposal,
    get_version,
    label_history,
    list_prompts,
    list_versions,
    pick_item,
    propose,
    reject,
    scores_by_prompt_version,
    set_label,
)
from loopwise.feedback.prompts import diff_versions

TEMPLATE = 'Answer as JSON like {"ok": true}.\n\nQuestion: {{question}}\nContext: {{ context }}'


def test_templates_use_double_braces_and_render_once() -> None:
    assert template_variables(TEMPLATE) == ["question", "context"]
    text = render_template(TEMPLATE, {"question": "{{context}}", "context": "c"})
    assert text.endswith("Question: {{context}}\nContext: c")  # values are never expanded
    with pytest.raises(ValueError, match=r"missing prompt variable.*context"):
        render_template(TEMPLATE, {"question": "q"})


def test_versions_and_labels(store: Store) -> None:
    v1 = create_version(
        store,
        "triage",
        TEMPLATE,
        actor="ana",
        labels=["production"],
        model_params={"model": "m", "temperature": 0.2},
    )
    assert (v1.version, v1.labels, v1.variables) == (1, ["production"], ["question", "context"])
    v2 = create_version(
        store,
        "triage",
        TEMPLATE + "\nBe brief.",
        actor="bo",
        labels=["staging"],
        expected_version=1,
        message="shorter",
    )
    assert (v2.version, v2.labels, v2.model_params) == (2, ["staging"], {})
    assert get_version(store, "triage").version == 1  # production by default
    assert get_version(store, "triage", label="staging").version == 2
    assert get_version(store, "triage", label="latest").version == 2
    assert get_version(store, "triage", version=1).template == TEMPLATE
    set_label(store, "triage", "production", 2, actor="cy", expected_version=1, reason="ship")
    assert get_version(store, "triage").version == 2
    assert get_version(store, "triage", version=2).labels == ["production", "staging"]
    set_label(store, "triage", "staging", None, actor="cy")
    with pytest.raises(NotFound, match="labelled staging"):
        get_version(store, "triage", label="staging")
    moves = [(m["label"], m["version"], m["actor"]) for m in label_history(store, "triage")]
    assert moves == [
        ("production", 1, "ana"),
        ("staging", 2, "bo"),
        ("production", 2, "cy"),
        ("staging", None, "cy"),
    ]
    [summary] = list_prompts(store)
    assert (summary["latest_version"], summary["labels"]) == (2, {"production": 2})
    assert [v.message for v in list_versions(store, "triage")] == [None, "shorter"]
    diff = diff_versions(store, "triage", 1, 2)
    assert "+Be brief." in diff["diff"]
    assert diff["model_params"] == {
        "model": {"from": "m", "to": None},
        "temperature": {"from": 0.2, "to": None},
    }


def test_conflicts_and_bad_input_change_nothing(store: Store) -> None:
    create_version(store, "triage", TEMPLATE, actor="ana", labels=["production"])
    create_version(store, "triage", "v2 {{question}}", actor="ana")

    def snapshot() -> Any:
        return (
            store.query("SELECT count(*) FROM prompt_versions").rows,
            store.query("SELECT count(*) FROM prompt_labels").rows,
        )

    before = snapshot()
    with pytest.raises(Conflict) as caught:
        create_version(store, "triage", "v3", actor="bo", expected_version=1)
    assert caught.value.details == {"current_version": 2}
    with pytest.raises(Conflict, match="points at version 1"):
        set_label(store, "triage", "production", 2, actor="bo", expected_version=0)
    bad_calls = [
        lambda: create_version(store, "triage", "v2 {{question}}", actor="bo"),  # identical
        lambda: create_version(store, "triage", "", actor="bo"),
        lambda: create_version(store, "bad name!", "x", actor="bo"),
        lambda: create_version(store, "triage", "x", actor="bo", labels=["latest"]),
        lambda: create_version(store, "triage", "x", actor="bo", labels="production"),
        lambda: create_version(store, "triage", "x {{a}}", actor="bo", variables=["b"]),
        lambda: create_version(store, "triage", "x", actor="bo", model_params=[1]),
        lambda: set_label(store, "triage", "Production!", 1, actor="bo"),
        lambda: set_label(store, "triage", "production", 9, actor="bo"),
        lambda: set_label(store, "missing", "production", 1, actor="bo"),
    ]
    for call in bad_calls:
        with pytest.raises(FeedbackError):
            call()
    assert snapshot() == before
    with pytest.raises(NotFound):
        get_version(store, "missing")


def corrected(store: Store, spans: Any) -> str:
    """Correct the first answer span (rendered from prompt reply v1); return the correction."""
    item = pick_item(store, trace_id=spans.trace1, span_id=spans.answer1, actor="ana")
    act(
        store,
        item.item_id,
        "correct",
        actor="ana",
        corrected_output="Your order ORD-10001 ships tomorrow. {{question}}",
        comment="Only cite order ids that appear in the ticket.",
    )
    return str(store.query("SELECT correction_id FROM corrections").rows[0][0])


def test_proposals_are_adopted_only_by_a_person(store: Store, spans: Any) -> None:
    base = "Answer the customer politely.\n\nQuestion: {{question}}"
    create_version(store, "reply", base, actor="ana", labels=["production"])
    correction_id = corrected(store, spans)
    proposal = propose(store, "reply", actor="loopwise")
    assert (proposal.status, proposal.base_version, proposal.correction_ids) == (
        "open",
        1,
        [correction_id],
    )
    assert "Only cite order ids that appear in the ticket" in proposal.rationale
    template = proposal.template
    # The examples go between the instructions and the first line with a variable.
    assert template.startswith("Answer the customer politely.\n\nExamples corrected by reviewers")
    assert template.endswith("End of corrected examples.\n\nQuestion: {{question}}")
    # An example is the prompt's variables and the corrected output; the reviewer's reason is
    # a note above the examples, and the wrong output is not shown to the model again.
    assert f"Example 1\nquestion: {spans.question1}\nCorrected output:\n" in template
    assert spans.output1 not in template
    assert "Reviewers' notes:\n- Only cite order ids that appear in the ticket.\n" in template
    # Reviewer text can never become a placeholder.
    assert "ORD-10001 ships tomorrow. { {question} }" in template
    assert template_variables(template) == ["question"]
    assert "+Corrected output:" in proposal.diff
    # Proposing changed nothing the application uses.
    assert get_version(store, "reply").version == 1
    with pytest.raises(FeedbackError, match="actor"):
        adopt(store, proposal.proposal_id, actor="")
    adopted = adopt(store, proposal.proposal_id, actor="cy", label="production")
    assert (adopted.version, adopted.labels, adopted.proposal_id) == (
        2,
        ["production"],
        proposal.proposal_id,
    )
    assert get_version(store, "reply").template == template
    decided = get_proposal(store, proposal.proposal_id)
    assert (decided.status, decided.adopted_version, decided.decided_by) == ("adopted", 2, "cy")
    with pytest.raises(Conflict, match="already adopted by cy"):
        reject(store, proposal.proposal_id, actor="dee")
    # The same corrections are already in the template: nothing new to propose.
    with pytest.raises(FeedbackError, match="no new corrections"):
        propose(store, "reply", actor="loopwise")


def test_a_proposal_on_a_stale_base_needs_force(store: Store, spans: Any) -> None:
    create_version(store, "reply", "Answer.\n\nQuestion: {{question}}", actor="ana")
    correction_id = corrected(store, spans)
    proposal = propose(store, "reply", actor="ana", correction_ids=[correction_id])
    create_version(store, "reply", "Answer briefly.\n\nQuestion: {{question}}", actor="bo")
    with pytest.raises(Conflict, match="at version 2, not 1"):
        adopt(store, proposal.proposal_id, actor="cy")
    assert adopt(store, proposal.proposal_id, actor="cy", force=True).version == 3
    second = propose(store, "reply", actor="ana", correction_ids=[correction_id], base_version=2)
    rejected = reject(store, second.proposal_id, actor="cy", reason="too long")
    assert (rejected.status, rejected.decision_reason) == ("rejected", "too long")
    with pytest.raises(NotFound):
        propose(store, "reply", actor="ana", correction_ids=["cor_missing"])
    with pytest.raises(NotFound):
        propose(store, "missing", actor="ana")


def test_scores_compare_per_prompt_version(store: Store, spans: Any) -> None:
    append_scores(
        store,
        [
            ScoreRow(
                project=spans.project,
                trace_id=spans.trace1,
                span_id=spans.answer1,
                name="invented_identifiers",
                kind="code",
                source="invented_identifiers",
                value=0.0,
                passed=False,
            ),
            ScoreRow(
                project=spans.project,
                trace_id=spans.trace2,
                span_id=spans.root2,
                name="invented_identifiers",
                kind="code",
                source="invented_identifiers",
                value=1.0,
                passed=True,
            ),
            ScoreRow(
                project=spans.project,
                trace_id=spans.trace2,
                name="thumbs",
                kind="human",
                source="end_user",
                value=1.0,
            ),
        ],
    )
    rows = scores_by_prompt_version(store, "reply")
    assert [(r["prompt_version"], r["name"], r["scores"], r["pass_rate"]) for r in rows] == [
        (1, "invented_identifiers", 2, 0.5),
        (1, "thumbs", 1, None),
    ]
    assert scores_by_prompt_version(store, "other") == []


OIDS = "Only real order ids."


def test_few_shot_examples_read_the_variables_back_from_the_rendered_text() -> None:
    import datetime as dt

    from loopwise.feedback.corrections import Correction
    from loopwise.feedback.proposals import add_examples, variables_from_render

    template = "Classify the ticket.\n\nSubject: {{subject}}\nBody: {{body}}\nAnswer:"
    rendered = render_template(template, {"subject": "Refund?", "body": "Order ORD-1\nbroken"})
    assert variables_from_render(template, rendered) == {
        "subject": "Refund?",
        "body": "Order ORD-1\nbroken",
    }
    assert variables_from_render(template, "something else entirely") is None
    assert variables_from_render("no placeholders", "no placeholders") is None

    def correction(span_input: str | None, variables: Any, reason: str | None) -> Correction:
        return Correction(
            correction_id="c",
            item_id=None,
            project="p",
            trace_id="t" * 32,
            span_id=None,
            original_output="ORD-99 ships",
            corrected_output='{"category": "refund"}',
            reason=reason,
            verdicts={},
            author="ana",
            created_at=dt.datetime(2026, 1, 1),
            span_input=span_input,
            prompt_version=1,
            prompt_variables=variables,
        )

    first = add_examples(template, [correction(rendered, None, OIDS)])
    assert "Example 1\nsubject: Refund?\nbody: Order ORD-1\nbroken\nCorrected output:\n" in first
    assert rendered not in first  # not the whole rendered prompt
    assert "ORD-99 ships" not in first
    # Non-text variables are JSON, not Python reprs; notes are listed once and appended to.
    second = add_examples(
        first,
        [
            correction(None, {"subject": "Where?", "body": {"lines": ["a"], "vip": True}}, OIDS),
            correction(None, {"subject": "Cancel", "body": "now"}, "Answer in JSON."),
        ],
    )
    assert 'body: {"lines": ["a"], "vip": true}' in second
    assert "'vip'" not in second and "True" not in second
    assert second.count("- Only real order ids.") == 1
    assert "Reviewers' notes:\n- Only real order ids.\n- Answer in JSON.\n\n" in second
    assert [line for line in second.splitlines() if line.startswith("Example ")] == [
        "Example 1",
        "Example 2",
        "Example 3",
    ]
    assert template_variables(second) == ["subject", "body"]
