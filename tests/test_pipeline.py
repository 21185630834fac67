"""The answering stages on the fake models (tests/fakes.py): real chunking, store, FAISS, BM25
and pipeline, no model loaded. Thresholds are set explicitly: the fakes' scores are on their own
scale, so the calibrated defaults (made for the real models) do not apply to them."""

from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np
import pytest

from index.answering import AnswerParams, GateThresholds, Trace, answer, gate, rank, scoring
from index.answering.candidates import Candidates, gather
from index.answering.compose import compose, context_window
from index.answering.query import analyze, validate_question
from index.errors import QuestionError

from .fakes import FakeCrossEncoder, fake_confidence
from .helpers import assert_quotes_verbatim

# Fake scores: cosines of hashed bags of words, logits -4 … 6 by word share.
FAKE_GATE = {
    "min_score": 0.3,
    "rerank_min_score": 2.0,
    "ml_min_score": 0.3,
    "confidence": fake_confidence(),
}
PARAMS = AnswerParams(gate=FAKE_GATE)
PRISONERS = "How many prisoners of war will be exchanged?"


def with_cross_encoder(engine, script: dict[str, float]):
    models = dataclasses.replace(engine.models, cross_encoder=FakeCrossEncoder(script))
    return dataclasses.replace(engine, models=models)


# --- query analysis ---------------------------------------------------------------------------


def test_validate_question() -> None:
    assert validate_question("  who?  ", 100) == "who?"
    for bad in ["", "   \n\t", "?!…", None]:
        with pytest.raises(QuestionError):
            validate_question(bad, 100)  # type: ignore[arg-type]
    with pytest.raises(QuestionError, match="10,000 characters"):
        validate_question("x" * 10_000, 1000)
    with pytest.raises(QuestionError, match="not valid text"):
        validate_question("who \ud800 leads", 100)


def test_analyze_corrects_spelling_and_finds_names(fake_engine) -> None:
    query = analyze("Who is Medinksy and what did Umerov say in 2025?", fake_engine, PARAMS)
    assert query.searched == "Who is Medinsky and what did Umerov say in 2025?"
    assert query.names == ("Medinsky", "Umerov") and query.numbers == {"2025"}
    assert query.language == "en" and query.latin and not query.multilingual
    assert query.unknown == ()
    assert analyze("Who leads Belarus's delegation?", fake_engine, PARAMS).unknown == ("Belarus's",)
    assert analyze("who is Medinsky", fake_engine, PARAMS).asked == ("medinsky",)


def test_analyze_ukrainian_question(fake_engine) -> None:
    query = analyze("Хто очолив українську делегацію?", fake_engine, PARAMS)
    assert query.multilingual and query.language == "uk" and query.terms == frozenset()
    off = analyze(
        "Хто очолив українську делегацію?",
        fake_engine,
        PARAMS.with_changes(retrieval={"multilingual": False}),
    )
    assert not off.multilingual and off.language == "uk"
    assert analyze("Сколько стоит нефть марки Brent?", fake_engine, PARAMS).unknown == ("Brent",)


# --- candidates -------------------------------------------------------------------------------


def test_candidates_are_one_consistent_table(fake_engine) -> None:
    query = analyze(PRISONERS, fake_engine, PARAMS)
    cands = gather(fake_engine, query, PARAMS)
    n = len(cands)
    assert n > 0 and len(cands.hits) == PARAMS.retrieval.top_k
    for column in (cands.passage, cands.passage_rank, cands.cosine, cands.passage_cosine):
        assert len(column) == n
    assert len(cands.article) == len(cands.text) == n
    assert len(set(cands.sentence.tolist())) == n  # one row per sentence
    vector = fake_engine.models.minilm.encode_query(PRISONERS)
    hit_score = {h.row: h.score for h in cands.hits}
    for i in range(n):
        sid, passage = int(cands.sentence[i]), fake_engine.passages[int(cands.passage[i])]
        assert sid in passage.sentence_ids  # its passage holds it
        assert cands.text[i] == fake_engine.sentence_text(sid)
        assert cands.article[i] == fake_engine.sentences[sid].article_id == passage.article_id
        assert cands.passage_cosine[i] == pytest.approx(hit_score[int(cands.passage[i])])
        # the best-scoring hit holding the sentence
        holders = [h.score for h in cands.hits if sid in fake_engine.passages[h.row].sentence_ids]
        assert cands.passage_cosine[i] == pytest.approx(max(holders))
        assert cands.cosine[i] == pytest.approx(
            float(fake_engine.english.sentence_vectors[sid] @ vector)
        )
        assert 0.0 <= cands.lexical[i] <= 1.0
    # hits carry their dense cosine whatever ranked them
    for hit in cands.hits:
        assert hit.score == pytest.approx(
            float(fake_engine.english.passage_vectors[hit.row] @ vector)
        )


def test_an_unknown_name_weighs_in_the_gate(fake_engine) -> None:
    """A name no article uses is a feature the confidence model weighs, not a veto: the
    candidates are still gathered, and the gate declines because of the name."""
    query = analyze("How many prisoners did Poland exchange?", fake_engine, PARAMS)
    assert len(gather(fake_engine, query, PARAMS)) > 0
    ranked = rank("How many prisoners did Poland exchange?", fake_engine, PARAMS)
    assert ranked.trace.unknown == ("Poland",) and not ranked.trace.empty
    assert gate(ranked.trace, GateThresholds(**FAKE_GATE)) is None
    known = rank("How many prisoners of war will be exchanged?", fake_engine, PARAMS)
    assert gate(known.trace, GateThresholds(**FAKE_GATE)) is not None


def test_per_article_cap_lets_other_articles_in(fake_engine) -> None:
    params = PARAMS.with_changes(retrieval={"per_article": 1, "top_k": 4})
    cands = gather(fake_engine, analyze("Istanbul talks delegations", fake_engine, params), params)
    articles = [fake_engine.passages[h.row].article_id for h in cands.hits]
    assert len(set(articles)) == len(articles) == 4


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_retrieval_modes(fake_engine, mode: str) -> None:
    params = PARAMS.with_changes(retrieval={"mode": mode, "top_k": 5})
    cands = gather(
        fake_engine, analyze("Which Turkish minister attended?", fake_engine, params), params
    )
    assert 1 <= len(cands.hits) <= 5
    assert any("Fidan" in fake_engine.passages[h.row].text for h in cands.hits)


# --- scoring and filters ----------------------------------------------------------------------


def test_combine_uses_the_signals_of_the_retrieval_mode(fake_engine) -> None:
    for mode, expected in [
        ("hybrid", lambda c: 0.5 * c.cosine + 0.3 * c.passage_cosine + 0.2 * c.lexical),
        ("dense", lambda c: 0.5 * c.cosine + 0.3 * c.passage_cosine),
        ("bm25", lambda c: c.lexical + 0.01 / (1 + c.passage_rank)),
    ]:
        params = PARAMS.with_changes(retrieval={"mode": mode})
        query = analyze(PRISONERS, fake_engine, params)
        cands = scoring.combine(gather(fake_engine, query, params), query, params)
        assert np.allclose(cands.combined, expected(cands)), mode
        assert list(cands.order) == sorted(
            range(len(cands)), key=lambda i: -cands.combined[i]
        )  # best first (ties keep table order)


def table(texts: list[str], articles: list[str] | None = None) -> Candidates:
    n = len(texts)
    return Candidates(
        sentence=np.arange(n, dtype=np.int64),
        article=tuple(articles or ["a"] * n),
        text=tuple(texts),
        combined=np.linspace(1, 0, n, dtype=np.float32),
        cosine=np.linspace(1, 0, n, dtype=np.float32),
        order=tuple(range(n)),
    )


def test_statements_not_headings_can_answer() -> None:
    cands = table(["Peace talks", "The delegations met in Istanbul on Monday.", "Next steps:"])
    assert scoring.keep_statements(cands).order == (1,)
    only_headings = table(["Peace talks", "Next steps"])
    assert scoring.keep_statements(only_headings).order == (0, 1)  # nothing better: keep them
    assert scoring.is_statement("A long line without closing punctuation but many words in it here")


def test_rows_from_articles_without_the_names_asked_about_drop_out(fake_engine) -> None:
    seed, swap = "2025-06-02-ukraine-russia-talks-turkey", "2025-05-16-prisoner-exchange"
    query = analyze("What did Fidan say about prisoners?", fake_engine, PARAMS)
    cands = table(["s1 about prisoners.", "s2 about prisoners.", "s3."], [swap, seed, swap])
    kept = scoring.prefer_names(cands, query, fake_engine)
    assert kept.order == (1,) and kept.missing == ()
    # no article has the name: the rows stay, and the gate is told what is missing
    none_left = scoring.prefer_names(table(["x.", "y."], [swap, swap]), query, fake_engine)
    assert none_left.order == (0, 1) and none_left.missing == ("Fidan",)


def test_a_demonym_or_capital_finds_its_country(fake_engine) -> None:
    """ "Turkish" is in an article that says "Turkey", "Kyiv" in one that says "Ukraine"."""
    seed = "2025-06-02-ukraine-russia-talks-turkey"
    words = fake_engine.mentions
    assert words.missing(["Türkiye"], set(), seed) == []
    assert words.missing(["Ankara"], set(), seed) == []
    assert words.missing(["Irish"], set(), seed) == ["Irish"]
    assert fake_engine.lexicon.known("Ankara") and not fake_engine.lexicon.known("Dublin")


# --- rerank -----------------------------------------------------------------------------------


def test_cross_encoder_reads_windows_and_picks_the_answer(fake_engine) -> None:
    engine = with_cross_encoder(fake_engine, {"Hakan Fidan": 9.0})
    ranked = rank("Who is the Turkish foreign minister?", engine, PARAMS)
    cands = ranked.candidates
    best = cands.reranked[0]
    assert cands.rerank[best] == 9.0 and ranked.trace.best_rerank == 9.0
    start, end = cands.windows[best]
    assert "Hakan Fidan" in engine.articles[cands.article[best]].body[start:end]
    sentence = engine.sentences[int(cands.sentence[best])]
    assert start <= sentence.start < sentence.end <= end  # the window holds its sentence
    assert len(cands.rerank) <= PARAMS.scoring.rerank_depth
    [(question, texts)] = engine.models.cross_encoder.calls  # one batch, each window once
    assert question == "Who is the Turkish foreign minister?" and len(set(texts)) == len(texts)
    assert gate(ranked.trace, GateThresholds(**FAKE_GATE)) == "rerank"
    result = answer("Who is the Turkish foreign minister?", engine, PARAMS)
    assert "Hakan Fidan" in result.quotes[0].text and result.quotes[0].score == 9.0
    assert_quotes_verbatim(result, engine)


def test_no_rerank_for_cyrillic_or_when_off(fake_engine) -> None:
    off = PARAMS.with_changes(scoring={"rerank": False})
    assert rank(PRISONERS, fake_engine, off).candidates.rerank == {}
    assert fake_engine.models.cross_encoder.calls == []
    ranked = rank("Хто очолив українську делегацію?", fake_engine, PARAMS)
    assert ranked.candidates.rerank == {} and fake_engine.models.cross_encoder.calls == []


def test_context_window_stays_in_the_paragraph_and_the_limit(fake_engine) -> None:
    cands = gather(fake_engine, analyze(PRISONERS, fake_engine, PARAMS), PARAMS)
    for sid in cands.sentence.tolist():
        own = fake_engine.sentences[sid]
        body = fake_engine.articles[own.article_id].body
        start, end = context_window(cands, sid, fake_engine, 450)
        assert start <= own.start < own.end <= end
        assert end - start <= max(450, own.end - own.start)
        assert "\n\n" not in body[start:end]


# --- gate ---------------------------------------------------------------------------------------


def trace(**fields) -> Trace:
    base = dict(
        question="q",
        language="en",
        multilingual=False,
        latin=True,
        candidates=2,
        route="rerank",
        relevance=0.7,
        coverage=0.0,
        lexical=0.0,
        passage_relevance=0.7,
        cosine_margin=0.0,
        best_rerank=None,
        rerank_margin=0.0,
        dense_rank=0,
        lexical_rank=0,
        defines=False,
        expects=None,
        offers=True,
        offers_itself=True,
    )
    return Trace(**{**base, **fields})


def test_gate_answers_by_the_confidence_model() -> None:
    thresholds = GateThresholds(**FAKE_GATE)
    assert gate(trace(best_rerank=5.0), thresholds) == "rerank"
    assert gate(trace(best_rerank=1.0), thresholds) is None
    # names the corpus lacks weigh against answering
    assert gate(trace(best_rerank=5.0, missing=("Fidan",)), thresholds) is None
    assert gate(trace(best_rerank=5.0, unknown=("Poland",)), thresholds) is None
    # nothing to answer with, whatever the scores
    assert gate(trace(candidates=0, route=None, best_rerank=9.0), thresholds) is None
    ml = dict(multilingual=True, route="multilingual")
    assert gate(trace(**ml, relevance=0.35), thresholds) == "multilingual"
    assert gate(trace(**ml, relevance=0.25, best_rerank=9.0), thresholds) is None
    # an operating point set by hand wins over the model's
    strict = GateThresholds(**{**FAKE_GATE, "min_confidence": 0.999})
    assert gate(trace(best_rerank=5.0), strict) is None
    assert gate(trace(best_rerank=9.5), strict) == "rerank"


def test_confidence_is_a_logistic_model_over_named_features() -> None:
    from index.answering.confidence import Confidence
    from index.answering.gate import features

    model = Confidence(
        features=("rerank", "missing"),
        mean=(1.0, 0.0),
        scale=(2.0, 1.0),
        coef=(1.0, -3.0),
        intercept=0.5,
        threshold=0.5,
    )
    values = features(trace(best_rerank=5.0, missing=("x",)))
    z = 0.5 + (5.0 - 1.0) / 2.0 - 3.0
    assert model.probability(values) == pytest.approx(1 / (1 + math.exp(-z)))
    assert features(trace())["rerank"] < -10  # nothing read: below any logit
    assert features(trace(expects="number", offers=False))["expects_unmet"] == 1.0


def test_route_of_follows_the_candidates(fake_engine) -> None:
    from index.answering.gate import route_of

    engine = with_cross_encoder(fake_engine, {"Hakan Fidan": 9.0})
    ranked = rank("Who is the Turkish foreign minister?", engine, PARAMS)
    assert route_of(ranked.candidates, ranked.query, PARAMS) == "rerank"
    low = PARAMS.with_changes(gate={"rerank_min_score": 9.5})
    assert route_of(ranked.candidates, ranked.query, low) in ("define", "plain")
    uk = rank("Хто очолив українську делегацію?", fake_engine, PARAMS)
    assert route_of(uk.candidates, uk.query, PARAMS) == "multilingual"


# --- compose and the whole pipeline ---------------------------------------------------------------


def test_answers_come_verbatim_from_the_right_article(fake_engine) -> None:
    for question, article in [
        (PRISONERS, "2025-05-16-prisoner-exchange"),
        ("Why is the grain corridor still closed?", "grain-corridor"),
        ("Where could a joint inspection centre be hosted?", "grain-corridor"),
    ]:
        result = answer(question, fake_engine, PARAMS)
        assert result.answered and result.quotes[0].article_id == article, question
        assert 1 <= len(result.quotes) <= PARAMS.quotes.max_quotes
        assert_quotes_verbatim(result, fake_engine)
    html = answer("Where could a joint inspection centre be hosted?", fake_engine, PARAMS)
    assert "<inspection>" in " ".join(q.text for q in html.quotes)  # decoded, verbatim


def test_unrelated_and_unknown_questions_are_declined(fake_engine) -> None:
    for question in [
        "asdf qwerty zxcv",
        "Who leads Belarus's delegation?",
        "How many prisoners did Poland exchange?",
        "What is the weather in Kyiv tomorrow?",
    ]:
        result = answer(question, fake_engine, PARAMS)
        assert not result.answered and result.answer is None and result.quotes == [], question


def test_ukrainian_question_answered_through_e5(fake_engine) -> None:
    result = answer("Хто очолив українську делегацію?", fake_engine, PARAMS)
    assert result.answered and result.language == "uk"
    assert result.quotes[0].article_id == "2025-06-03-memorandum-uk"
    assert_quotes_verbatim(result, fake_engine)
    strict = PARAMS.with_changes(gate={"ml_min_confidence": 0.9999})
    assert not answer("Хто очолив українську делегацію?", fake_engine, strict).answered


def test_extra_quotes_follow_the_shown_ones(fake_engine) -> None:
    shown = answer(PRISONERS, fake_engine, PARAMS)
    more = answer(PRISONERS, fake_engine, PARAMS.with_changes(quotes={"extra_quotes": 3}))
    assert more.quotes[: len(shown.quotes)] == shown.quotes
    assert len(more.quotes) <= 6
    assert_quotes_verbatim(more, fake_engine)


def test_a_quote_that_is_not_verbatim_is_never_returned(fake_engine) -> None:
    ranked = rank(PRISONERS, fake_engine, PARAMS)
    route = gate(ranked.trace, PARAMS.gate)
    assert route is not None
    # damage the second stored copy of the text (the passages) in memory
    passages = [p.model_copy(update={"text": p.text.upper()}) for p in fake_engine.passages]
    damaged = dataclasses.replace(
        fake_engine, data=dataclasses.replace(fake_engine.data, passages=passages)
    )
    assert not compose(ranked.candidates, ranked.query, damaged, PARAMS, route).answered
    assert compose(ranked.candidates, ranked.query, fake_engine, PARAMS, route).answered
    assert not compose(ranked.candidates, ranked.query, fake_engine, PARAMS, None).answered


def test_quotes_are_distinct_and_capped(fake_engine) -> None:
    params = PARAMS.with_changes(quotes={"max_quotes": 2})
    for question in ["Which sanctions are mentioned?", PRISONERS, "Istanbul talks"]:
        result = answer(question, fake_engine, params)
        assert len(result.quotes) <= 2
        assert_quotes_verbatim(result, fake_engine)


def test_one_engine_answers_many_threads_alike(fake_engine) -> None:
    questions = [PRISONERS, "Why is the grain corridor still closed?", "asdf qwerty"] * 4
    expected = [answer(q, fake_engine, PARAMS) for q in questions]
    results: list = [None] * len(questions)

    def ask(n: int) -> None:
        results[n] = answer(questions[n], fake_engine, PARAMS)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_the_operating_point_puts_a_wrong_answer_above_a_decline() -> None:
    from index.calibration import WRONG_ANSWER_COST, _operating_point

    probabilities = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    labels = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    cut = _operating_point(probabilities, labels)
    answered = probabilities >= cut
    assert WRONG_ANSWER_COST > 1
    # three right and nothing wrong beats four right and one wrong
    assert answered.tolist() == [True, True, True, False, False, False, False, False]
    assert 0.7 < cut < 0.8  # between the two probabilities, not on one


def test_the_fit_learns_the_signal_and_reports_out_of_fold() -> None:
    from index.calibration import _fit

    rng = np.random.default_rng(0)
    rows, labels, answerable = [], [], []
    for _ in range(200):
        logit = float(rng.normal(2.0, 3.0))
        missing = float(rng.random() < 0.2)
        right = logit > 2.0 and not missing
        rows.append({"rerank": logit, "missing": missing, "noise": float(rng.normal())})
        labels.append(int(right))
        answerable.append(bool(right or rng.random() < 0.5))
    fit = _fit(rows, labels, answerable, ("rerank", "missing", "noise"))
    coef = dict(zip(fit.model.features, fit.model.coef, strict=True))
    assert coef["rerank"] > 1 and coef["missing"] < -1 and abs(coef["noise"]) < 0.5
    assert fit.auc > 0.95 and fit.answerable == sum(answerable)
    assert fit.model.probability({"rerank": 8.0, "missing": 0.0, "noise": 0.0}) > 0.9
    assert fit.model.probability({"rerank": 8.0, "missing": 1.0, "noise": 0.0}) < 0.5
    with pytest.raises(Exception, match="Too few questions"):
        _fit(rows[:6], labels[:6], answerable[:6], ("rerank",))
