"""Reviewer agreement beside judge calibration on the Evaluators page: items two reviewers
judged (people's verdicts, kind ``human``, one author each) give pairs, raw agreement and
Cohen's kappa, checked against a hand count and SQL over the same store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from loopwise.collector.server import CollectorConfig, CollectorServer
from loopwise.collector.store import ScoreRow, Store, append_scores
from loopwise.evals import EvalsExtension
from loopwise.feedback import FeedbackExtension

OpenPage = Callable[..., AppTest]
PROJECT = "agree"
PAIRS = 24
DISAGREE = {0, 1, 12, 13}
PAIRS_SQL = """
SELECT count(*) AS pairs, count(*) FILTER (WHERE a.passed = b.passed) AS agree
FROM scores a JOIN scores b USING (name, trace_id)
WHERE a.kind = 'human' AND b.kind = 'human' AND a.author = 'ana' AND b.author = 'ben'
  AND a.name = 'helpfulness'
"""


def _verdicts() -> list[ScoreRow]:
    """Ana passes the first half and fails the rest; Ben differs on four items."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows: list[ScoreRow] = []
    for n in range(PAIRS):
        trace = f"{n:032x}"
        ana = n < PAIRS // 2
        ben = (not ana) if n in DISAGREE else ana
        for offset, (author, passed) in enumerate((("ana", ana), ("ben", ben))):
            rows.append(
                ScoreRow(
                    PROJECT,
                    trace,
                    "helpfulness",
                    "human",
                    "reviewer",
                    value=float(passed),
                    label="pass" if passed else "fail",
                    passed=passed,
                    author=author,
                    created_at=now - dt.timedelta(minutes=PAIRS - n, seconds=-offset),
                )
            )
    return rows


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A collector whose store holds the two reviewers' verdicts."""
    db = tmp_path_factory.mktemp("agree") / "a.duckdb"
    with Store(db) as store:
        append_scores(store, _verdicts())
    extensions = [EvalsExtension(online=False), FeedbackExtension(sync_interval_s=None)]
    with CollectorServer(CollectorConfig(db_path=db, port=0), extensions=extensions) as server:
        yield server.url


def test_reviewer_agreement_sits_beside_calibration(open_page: OpenPage, url: str) -> None:
    answer = httpx.post(f"{url}/api/sql", json={"sql": PAIRS_SQL})
    assert answer.status_code == 200, answer.text
    [[pairs, agree]] = answer.json()["rows"]
    assert (pairs, agree) == (PAIRS, PAIRS - len(DISAGREE))
    observed = agree / pairs
    kappa = (observed - 0.5) / 0.5  # each reviewer passes half: chance agreement is 0.5

    at = open_page("evaluators", url)
    assert "Judge calibration" in [s.value for s in at.subheader]
    assert any(str(c.value).startswith("Reviewer agreement") for c in at.caption)
    [table] = [f.value for f in at.dataframe if "kappa" in f.value.columns]
    [row] = table.to_dict("records")
    assert (row["evaluator"], row["mode"], row["pairs"]) == ("helpfulness", "pass/fail", pairs)
    assert row["agreement"] == pytest.approx(observed)
    assert row["kappa"] == pytest.approx(kappa)


def test_no_second_reviews_says_how_to_get_them(open_page: OpenPage, url: str) -> None:
    at = open_page("evaluators", url)
    at.text_input(key="evaluators.project").input("nobody").run()
    assert any("No item has two reviewers' verdicts yet" in i.value for i in at.info)
