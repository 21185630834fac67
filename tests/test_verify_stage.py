"""The verify stage on the fake models: the trained verifier (tests/fakes.FakeVerifier) reads a
deeper candidate list than the old cross-encoder's five and picks the answer, for English and
Ukrainian/Russian questions alike; the gate decides on its logit; off, the old route answers.
And questions about a time after the newest article are declined with its date."""

from __future__ import annotations

import dataclasses
import datetime as dt

from index.answering import AnswerParams, answer, rank
from index.answering.query import analyze

from .fakes import FakeVerifier, fake_confidence
from .helpers import assert_quotes_verbatim

FAKE_GATE = {
    "min_score": 0.3,
    "rerank_min_score": 2.0,
    "ml_min_score": 0.3,
    "confidence": fake_confidence(),
}
PARAMS = AnswerParams(gate=FAKE_GATE, scoring={"verify": True})  # off by default (README)


def with_verifiers(engine, script: dict[str, float]):
    models = dataclasses.replace(
        engine.models,
        verifier=FakeVerifier("fake-verifier", script),
        verifier_ml=FakeVerifier("fake-verifier-ml", script),
    )
    return dataclasses.replace(engine, models=models)


def test_the_verifier_picks_from_deeper_than_the_first_five(fake_engine) -> None:
    question = "How many prisoners of war will be exchanged?"
    deeper = PARAMS.with_changes(scoring={"verify_depth": 10})
    read = rank(question, with_verifiers(fake_engine, {}), deeper).candidates
    assert len(read.order) > 6
    deep = read.text[read.order[6]]  # the seventh: the old reader read five
    engine = with_verifiers(fake_engine, {deep[:40]: 9.0})
    ranked = rank(question, engine, PARAMS.with_changes(scoring={"verify_depth": 10}))
    cands = ranked.candidates
    assert cands.verified and len(cands.rerank) == 10
    assert cands.text[cands.reranked[0]] == deep
    assert ranked.trace.route == "rerank" and ranked.trace.verified
    result = answer(question, engine, PARAMS.with_changes(scoring={"verify_depth": 10}))
    assert result.answered and result.answer == deep
    assert_quotes_verbatim(result, engine)
    (pairs,) = engine.models.verifier.calls[-1:]
    assert all(p.question == question for p in pairs)
    assert any(p.context for p in pairs)  # read with the title and the sentence before


def test_a_low_verifier_logit_is_declined(fake_engine) -> None:
    engine = with_verifiers(fake_engine, {" ": -8.0})  # every sentence: not an answer
    result = answer("How many prisoners of war will be exchanged?", engine, PARAMS)
    assert not result.answered and result.quotes == []


def test_cyrillic_questions_go_to_the_multilingual_verifier(fake_engine) -> None:
    engine = with_verifiers(fake_engine, {"Umerov": 8.0, "Умєров": 8.0})
    question = "Хто очолив українську делегацію?"
    result = answer(question, engine, PARAMS)
    assert engine.models.verifier_ml.calls and not engine.models.verifier.calls
    assert result.answered and ("Umerov" in result.answer or "Умєров" in result.answer)
    assert all(p.question == question for p in engine.models.verifier_ml.calls[-1])


def test_with_the_verifier_off_the_old_reader_answers(fake_engine) -> None:
    engine = with_verifiers(fake_engine, {})
    off = PARAMS.with_changes(scoring={"verify": False})
    ranked = rank("How many prisoners of war will be exchanged?", engine, off)
    assert not ranked.candidates.verified and not engine.models.verifier.calls
    assert engine.models.cross_encoder.calls  # the packaged cross-encoder's route, as before


def test_a_time_after_the_newest_article_is_declined_with_its_date(fake_engine) -> None:
    newest = fake_engine.newest
    assert newest is not None
    today = newest + dt.timedelta(days=200)
    for question in (
        f"what happened in december {newest.year}",
        "did they sign a ceasefire in " + (newest + dt.timedelta(days=100)).strftime("%B"),
        f"що сталося в грудні {newest.year}?",
    ):
        result = answer(question, fake_engine, PARAMS, today=today)
        assert not result.answered and result.beyond_sources, question
        assert result.newest_source == newest


def test_a_month_prefers_its_own_articles_to_the_next_days(fake_engine) -> None:
    """ "in May" keeps articles up to three days into June as reports of May, but a May article
    ranks before them."""
    query = analyze("prisoner exchange in may", fake_engine, PARAMS, today=dt.date(2025, 7, 1))
    assert query.dates is not None and query.dates.first == dt.date(2025, 5, 1)
    ranked = rank("prisoner exchange in may", fake_engine, PARAMS, today=dt.date(2025, 7, 1))
    order = ranked.candidates.order
    published = [fake_engine.articles[ranked.candidates.article[i]].published for i in order]
    in_may = [d is not None and d.month == 5 for d in published]
    assert in_may[0] and not all(in_may)  # June articles are candidates too, after May's
    assert in_may == sorted(in_may, reverse=True)
