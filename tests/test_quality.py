"""Answer quality on the project's labelled set (tests/data/eval), with the real models: the
hybrid beats BM25 and dense retrieval, the fitted gate declines unanswerable questions, near
misses are declined, and the pieces that make it so (cross-encoder, names and numbers check,
spelling) work on real text. (Real journalism: test_real_articles.)"""

from __future__ import annotations

import pytest

from index.answering import AnswerParams, answer, gate, rank
from index.answering.compose import compose
from index.evaluation import evaluate, read_questions

from .conftest import EVAL_QUESTIONS
from .helpers import assert_quotes_verbatim

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return read_questions(EVAL_QUESTIONS)


def test_hybrid_beats_bm25_and_dense_and_declines_every_unanswerable(
    eval_engine, questions
) -> None:
    reports = {
        mode: evaluate(questions, eval_engine, AnswerParams(retrieval={"mode": mode}), k=3)
        for mode in ("bm25", "dense", "hybrid")
    }
    hit = {mode: report.total.hit_at_k for mode, report in reports.items()}
    assert hit["hybrid"] > hit["bm25"] and hit["hybrid"] > hit["dense"], hit
    assert reports["hybrid"].total.abstention_recall >= 0.85, [
        r.id for r in reports["hybrid"].rows if not r.expect and r.answered
    ]
    # English: an expected word in the top three quotes for four in five fair questions
    english = [r for r in reports["hybrid"].rows if r.expect and "multilingual" not in r.kind]
    assert sum(r.hit for r in english) >= 0.8 * len(english), hit
    # Ukrainian and Russian questions are answered from English articles: with their gate held
    # open the right sentences come back; the fitted gate answers few of them (its refit on
    # the int8 encoders chose a strict operating point: README, "Build speed"), and those right.
    opened = evaluate(questions, eval_engine, AnswerParams(gate={"ml_min_confidence": 0.0}), k=3)
    hybrid = reports["hybrid"]
    for kind in ("multilingual-uk", "multilingual-ru"):
        assert opened.by_kind[kind].hit_at_k >= 0.6, (kind, opened.by_kind[kind])
        rows = [r for r in hybrid.rows if r.kind == kind and r.answered]
        assert rows and all(r.hit for r in rows), (kind, [r.question for r in rows])


def test_the_gate_is_fitted_for_each_way_of_answering(eval_engine, questions) -> None:
    """With the cross-encoder, without it, and for Ukrainian/Russian questions, the shipped
    models answer more right than wrong and decline most unanswerable questions."""
    for params in (AnswerParams(), AnswerParams(scoring={"rerank": False})):
        report = evaluate(questions, eval_engine, params, k=3)
        right = sum(r.hit for r in report.rows if r.expect and r.answered)
        wrong = sum(r.answered and not (r.expect and r.hit) for r in report.rows)
        assert right > 3 * wrong, (params.scoring.rerank, right, wrong)
        assert report.total.abstention_recall >= 0.8, params.scoring.rerank


@pytest.mark.parametrize(
    "question",
    [
        "Who leads Belarus's delegation?",  # Belarus is in the corpus, its delegation is not
        "What did Lavrov say about the deported Ukrainian children?",
        "How many IAEA inspectors are stationed at the Kursk nuclear power plant?",
        "How many tankers did the EU's 16th sanctions package blacklist?",  # the 17th did
        "What is the weather in Kyiv tomorrow?",  # not "whether"
        "What is the population of Ukraine?",
        "Who will chair the third round of talks?",
        "Хто головуватиме на третьому раунді переговорів?",
        "Кто выиграл чемпионат мира по футболу 2018 года?",  # no article has 2018
        "Сколько стоит нефть марки Brent сегодня?",  # a Latin-script name no article uses
    ],
)
def test_near_misses_are_declined(question: str, eval_engine) -> None:
    assert not answer(question, eval_engine).answered


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # The May swap and the Easter swap: the name in the question picks the article.
        (
            "How many prisoners of war did each side release in the swap on the day of the "
            "Easter truce?",
            "246",
        ),
        (
            "How many prisoners did each side free on the first day of the 1,000-for-1,000 "
            "exchange?",
            "390",
        ),
        # Two outlets, two rounds: the cross-encoder reads "less than two hours" with its
        # context and tells the rounds apart.
        ("How long did the second round of talks last?", "just over an hour"),
        ("what hapened in Kharkov", "Kharkiv"),  # Russian transliteration
        ("how many deported childen has Ukraine brougt back so far", "1,346"),
        ("Which port do the cargo ships leave from?", "Odesa"),  # leave / leaving
    ],
)
def test_hard_questions_find_the_sentence(question: str, expected: str, eval_engine) -> None:
    result = answer(question, eval_engine)
    assert result.answered
    assert any(expected in q.text for q in result.quotes), [q.text for q in result.quotes]
    assert_quotes_verbatim(result, eval_engine)


def test_cross_encoder_prefers_the_answer(eval_engine) -> None:
    scores = eval_engine.models.cross_encoder.score(
        "How many children has Ukraine brought back so far?",
        [
            "Lubinets said Ukraine's own register counts 19,546 children deported since "
            "February 2022.",
            "A group of eight children returned through Qatari mediation last week, and Ukraine "
            "says a total of 1,346 children have been brought back so far.",
            "The weather in Istanbul was warm.",
        ],
    )
    assert scores.shape == (3,)
    assert scores[1] > scores[0] > scores[2]
    assert eval_engine.models.cross_encoder.score("anything", []).shape == (0,)


def test_a_new_index_version_reuses_the_loaded_models(eval_engine) -> None:
    from index.engine import open_engine

    fresh = open_engine(eval_engine.index_dir, eval_engine.models)
    assert fresh.models.cross_encoder is eval_engine.models.cross_encoder
    assert fresh.models.e5 is eval_engine.models.e5
    assert answer("Who is Peskov?", fresh).answered


def test_names_and_dates_are_checked_against_title_body_and_date(eval_engine) -> None:
    result = answer("What did Rubio and Lavrov agree in Riyadh in February 2025?", eval_engine)
    assert result.answered and result.quotes[0].article_id.startswith("2025-02-18-riyadh")
    # "2nd" may be written "second"
    result = answer("How long did the 2nd round of talks last?", eval_engine)
    assert result.answered and any("just over an hour" in q.text for q in result.quotes)


def test_compose_without_a_route_declines_what_the_gate_declines(eval_engine) -> None:
    params = AnswerParams()
    ranked = rank("What is the population of Ukraine?", eval_engine, params)
    route = gate(ranked.trace, params.gate)
    assert route is None
    assert not compose(ranked.candidates, ranked.query, eval_engine, params, route).answered
