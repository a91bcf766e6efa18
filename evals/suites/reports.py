"""Suite run reports: JUnit XML for CI, Markdown for a pull-request comment, JSON for tools."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from .results import RunReport, ScoreOutcome

MAX_MARKDOWN_CHANGES = 20
BETTER = {"higher": "higher is better", "lower": "lower is better", "none": "pass rate only"}
"""How each direction reads in a report."""


def to_json(report: RunReport) -> str:
    """The whole report as indented JSON."""
    return json.dumps(report.to_dict(), indent=2, default=str, ensure_ascii=False)


def to_junit(report: RunReport) -> str:
    """JUnit XML: one test case per example x evaluator (repetitions folded into the case:
    it fails when any repetition failed or errored), plus one case per threshold."""
    suite = ET.Element("testsuite", name=report.suite)
    cases = 0
    failures = 0
    errors = 0
    grouped: dict[tuple[str, str], list[tuple[int, ScoreOutcome, str | None]]] = {}
    target_errors: dict[str, list[str]] = {}
    for example in report.examples:
        if example.error is not None:
            target_errors.setdefault(example.example_id, []).append(example.error)
        for name, outcome in example.scores.items():
            grouped.setdefault((example.example_id, name), []).append(
                (example.repetition, outcome, example.trace_id)
            )
    for (example_id, name), runs in sorted(grouped.items()):
        case = ET.SubElement(suite, "testcase", classname=f"{report.suite}.{name}", name=example_id)
        cases += 1
        failed = [(rep, o) for rep, o, _ in runs if not o.errored and o.passed is False]
        errored = [(rep, o) for rep, o, _ in runs if o.errored]
        if example_id in target_errors:
            errors += 1
            error = ET.SubElement(case, "error", message="the target raised")
            error.text = "\n".join(target_errors[example_id])
        elif errored:
            errors += 1
            error = ET.SubElement(case, "error", message=f"{name} could not score")
            error.text = "\n".join(f"repetition {rep}: {o.error}" for rep, o in errored)
        elif failed:
            failures += 1
            failure = ET.SubElement(
                case, "failure", message=f"{name} failed {len(failed)}/{len(runs)} repetitions"
            )
            failure.text = "\n".join(
                f"repetition {rep}: value={o.value} label={o.label} {o.explanation or ''}".strip()
                for rep, o in failed
            )
        traces = sorted({t for _, _, t in runs if t})
        if traces:
            ET.SubElement(case, "system-out").text = "traces: " + ", ".join(traces)
    for threshold in report.thresholds:
        case = ET.SubElement(
            suite, "testcase", classname=f"{report.suite}.thresholds", name=threshold.description
        )
        cases += 1
        if not threshold.passed:
            failures += 1
            ET.SubElement(case, "failure", message=threshold.reason).text = threshold.actual
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def to_markdown(report: RunReport) -> str:
    """A compact Markdown report: verdict, thresholds, evaluator table, regressions."""
    verdict = "✅ passed" if report.passed else "❌ failed"
    lines = [
        f"### loopwise eval: {_cell(report.suite)} {verdict}",
        "",
        f"Dataset `{_code(report.dataset)}` · run `{report.run_id}` · "
        f"{len({e.example_id for e in report.examples})} examples"
        + _context_suffix(report.context),
        "",
        "| threshold | result | actual |",
        "|---|---|---|",
    ]
    for threshold in report.thresholds:
        mark = "✅" if threshold.passed else "❌"
        lines.append(f"| {_cell(threshold.description)} | {mark} | {_cell(threshold.actual)} |")
    lines += [
        "",
        "| evaluator | mean [95% CI] | better | pass rate [95% CI] | scored | errored |",
        "|---|---|---|---|---:|---:|",
    ]
    for summary in report.summaries:
        lines.append(
            f"| {_cell(summary.name)} | {summary.mean} | {BETTER[summary.direction]} "
            f"| {summary.pass_rate} | {summary.scored} | {summary.errored} |"
        )
    if report.comparison is not None:
        comparison = report.comparison
        lines += ["", f"**Against baseline `{comparison.baseline_run_id}`**", ""]
        lines += [
            "| evaluator | change [95% CI] | of | p | better | worse |",
            "|---|---|---|---:|---:|---:|",
        ]
        for name, paired in comparison.paired.items():
            of = "pass rate" if paired.measure == "pass" else f"mean ({BETTER[paired.direction]})"
            lines.append(
                f"| {_cell(name)} | {paired.difference} | {of} | {paired.p_value:.3f} "
                f"| {paired.improved} | {paired.worsened} |"
            )
        for title, changes in (
            ("Newly failing", comparison.newly_failing),
            ("Newly passing", comparison.newly_passing),
        ):
            if not changes:
                continue
            lines += ["", f"<details><summary>{title}: {len(changes)}</summary>", ""]
            for change in changes[:MAX_MARKDOWN_CHANGES]:
                trace = f" (trace `{change.trace_id}`)" if change.trace_id else ""
                lines.append(f"- `{_code(change.example_id)}` · {_cell(change.evaluator)}{trace}")
            if len(changes) > MAX_MARKDOWN_CHANGES:
                lines.append(f"- … and {len(changes) - MAX_MARKDOWN_CHANGES} more")
            lines += ["", "</details>"]
    errors = [e for e in report.examples if e.error is not None]
    if errors:
        lines += ["", f"**{len(errors)} target error(s)**, counted as failures."]
    return "\n".join(lines) + "\n"


def _context_suffix(context: dict[str, Any]) -> str:
    parts = [f"{key} `{_code(str(value))}`" for key, value in context.items() if value]
    return (" · " + " · ".join(parts)) if parts else ""


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no HTML, no pipes, no line breaks)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")
