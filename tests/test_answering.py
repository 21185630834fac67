"""Answering with the real models and real FAISS: dev questions, honesty, verbatim quotes."""

from __future__ import annotations

import pytest

from index.answering import AnswerParams, answer, rank
from index.errors import QuestionError

from .conftest import DEV_ANSWERED_SHARE, dev_questions
from .helpers import assert_quotes_verbatim

pytestmark = pytest.mark.model

ANSWERABLE = [
    q for q in dev_questions() if q["expect"] and not q["kind"].startswith("multilingual")
]
UNANSWERABLE = [q for q in dev_questions() if not q["expect"]]
MULTILINGUAL = [q for q in dev_questions() if q["kind"].startswith("multilingual")]


# --- real model, real FAISS -----------------------------------------------------------------


# the gate held open: what retrieval and composition find, whatever the gate would decide
OPEN_GATE = AnswerParams(gate={"min_confidence": 0.0})


# the trained answer verifier on (TALKS_SCORING__VERIFY=true), the gate held open
VERIFIED_OPEN = OPEN_GATE.with_changes(scoring={"verify": True})


@pytest.mark.parametrize("q", ANSWERABLE, ids=[q["id"] for q in ANSWERABLE])
def test_the_trained_verifier_reads_and_picks_a_sentence_with_the_answer(
    q: dict, seed_engine
) -> None:
    """The shipped English verifier (int8 ONNX made from the adapter) reads the candidates of
    every English dev question; what it picks, with its quotes, holds the expected words."""
    assert rank(q["q"], seed_engine, VERIFIED_OPEN).candidates.verified
    result = answer(q["q"], seed_engine, VERIFIED_OPEN)
    text = " ".join([result.answer or "", *(quote.text for quote in result.quotes)]).lower()
    assert any(word.lower() in text for word in q["expect"]), (q, result.answer)
    assert_quotes_verbatim(result, seed_engine)


# A known miss, tracked (strict: it fails the suite once it passes): the cross-encoder rates "The
# psychological factors that underpin the conflict are complex and multifaceted." 3.8 logits
# above the sentence naming propaganda and disinformation, so that one is no further quote;
# with MiniLM's sentences read alone the answer's quote happened to open with the sentence
# before it, which names disinformation (README, "Build speed").
KNOWN_MISSES = {"d07"}


@pytest.mark.parametrize(
    "q",
    [
        pytest.param(q, marks=pytest.mark.xfail(strict=True, reason="known miss, see above"))
        if q["id"] in KNOWN_MISSES
        else q
        for q in ANSWERABLE
    ],
    ids=[q["id"] for q in ANSWERABLE],
)
def test_dev_question_finds_its_expected_words_in_verbatim_quotes(q: dict, seed_engine) -> None:
    result = answer(q["q"], seed_engine, OPEN_GATE)
    assert result.answered, f"{q['id']} not answered"
    text = " ".join([result.answer or "", *(quote.text for quote in result.quotes)]).lower()
    assert any(word.lower() in text for word in q["expect"]), (q, result.answer)
    assert 1 <= len(result.quotes) <= 3
    assert_quotes_verbatim(result, seed_engine)
    for quote in result.quotes:
        assert quote.title and quote.url and quote.published


def test_the_gate_answers_the_dev_questions_it_should(seed_engine) -> None:
    """Through the calibrated gate: no more fair English questions declined than on real text, and
    what it answers is what the open gate found."""
    results = {q["id"]: answer(q["q"], seed_engine) for q in ANSWERABLE}
    answered = [i for i, r in results.items() if r.answered]
    assert len(answered) >= DEV_ANSWERED_SHARE * len(ANSWERABLE), sorted(
        set(results) - set(answered)
    )
    for q in ANSWERABLE:
        if results[q["id"]].answered:
            opened = answer(q["q"], seed_engine, OPEN_GATE)
            assert results[q["id"]].quotes == opened.quotes, q["id"]


@pytest.mark.parametrize("q", UNANSWERABLE, ids=[q["id"] for q in UNANSWERABLE])
def test_dev_unanswerable_question_says_not_in_sources(q: dict, seed_engine) -> None:
    result = answer(q["q"], seed_engine)
    assert not result.answered
    assert result.answer is None and result.quotes == []


@pytest.mark.parametrize(
    "question",
    [
        "How do I bake sourdough bread?",
        "What is the capital of Australia?",
        "Who won the 2018 football World Cup?",
        "What is the price of bitcoin today?",
        "How many moons does Jupiter have?",
        "Recommend a good laptop for programming",
        "asdf qwerty zxcv",
        "Who is Elon Musk?",
        "What is the population of Ukraine?",
        "How many people live in Russia?",
        # names the articles never mention: the nearest passage is about someone else
        "Who leads Belarus's delegation?",
        "What does Georgia want regarding NATO?",
        "Which sanctions did Japan impose?",
        "What did Macron say about the talks?",
    ],
)
def test_off_topic_questions_are_not_answered(question: str, seed_engine) -> None:
    assert not answer(question, seed_engine).answered


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is the Turkish foreign minister?", "Hakan Fidan"),
        ("How many Russian planes did the drone attack destroy?", "40"),
        ("What does Ukraine demand?", "territorial integrity"),
        ("Were there casualties in the Kharkiv attack?", "no casualties"),
        ("When was Crimea annexed?", "2014"),
        ("who is Medinksy", "Medinsky"),  # typo in a name
        ("WHO LEADS THE RUSSIAN DELEGATION", "Medinsky"),
        ("What role does the media play?", "media"),
    ],
)
def test_paraphrases_and_typos_find_the_sentence(question: str, expected: str, seed_engine) -> None:
    result = answer(question, seed_engine)
    assert result.answered
    assert any(expected in q.text for q in result.quotes), result.quotes
    assert_quotes_verbatim(result, seed_engine)


def test_answer_comes_from_the_right_article_in_a_mixed_corpus(mixed_engine) -> None:
    result = answer("How many prisoners of war will be exchanged?", mixed_engine)
    assert result.answered
    assert result.quotes[0].article_id == "2025-05-16-prisoner-exchange"
    assert "1,000 prisoners" in result.answer
    assert_quotes_verbatim(result, mixed_engine)

    result = answer("Why is the grain corridor still closed?", mixed_engine)
    assert result.answered and result.quotes[0].article_id == "grain-corridor"
    assert_quotes_verbatim(result, mixed_engine)

    # The distractor article is about parks; a question about parks must not quote peace talks.
    result = answer("How much money will the city spend on parks?", mixed_engine)
    assert result.answered and result.quotes[0].article_id == "city-budget-distractor"

    # Near misses across articles: right topic, but a place the articles never mention.
    for question in [
        "How many prisoners did Poland exchange?",
        "How many drones did the Paris council approve?",
    ]:
        assert not answer(question, mixed_engine).answered, question


@pytest.mark.parametrize(
    "question",
    [
        "Какие санкции упоминаются?",
        "Сколько тел передаст каждая сторона?",
        "Хто очолює делегацію Росії?",
    ],
)
def test_cyrillic_questions_do_not_get_unrelated_cyrillic_sentences(
    question: str, mixed_engine
) -> None:
    # The English model rates any two Cyrillic texts as similar; the Ukrainian test article must
    # not be quoted for questions it does not answer.
    assert not answer(question, mixed_engine).answered


def test_ukrainian_question_about_the_ukrainian_article_without_e5(mixed_engine) -> None:
    """Without e5 a Cyrillic question is judged by the model for English without the
    cross-encoder, fitted on English questions: it rates the Ukrainian article's answer far
    above unrelated Cyrillic questions, though under its operating point; an operator who
    lowers TALKS_GATE__MIN_CONFIDENCE to that level gets it quoted, and still not the other."""
    from index.answering.gate import confidence_of

    params = AnswerParams()
    models = params.gate.models()
    asked = rank("Хто очолив українську делегацію?", mixed_engine, params)
    other = rank("Яка погода в Києві завтра?", mixed_engine, params)
    assert asked.trace.route == "plain" and asked.trace.best_rerank is None
    level = confidence_of(asked.trace, models)
    assert level > 5 * confidence_of(other.trace, models)
    assert not answer("Хто очолив українську делегацію?", mixed_engine).answered  # under it
    lowered = params.with_changes(gate={"min_confidence": round(level - 0.005, 3)})
    result = answer("Хто очолив українську делегацію?", mixed_engine, lowered)
    assert result.answered and "Умєров" in result.answer
    assert_quotes_verbatim(result, mixed_engine)
    assert not answer("Яка погода в Києві завтра?", mixed_engine, lowered).answered


def test_quotes_from_cyrillic_and_html_articles_are_verbatim(mixed_engine) -> None:
    result = answer("Хто очолив українську делегацію?", mixed_engine)
    assert_quotes_verbatim(result, mixed_engine)
    result = answer("Where could a joint inspection centre be hosted?", mixed_engine)
    assert result.answered
    assert "Istanbul" in result.quotes[0].text
    assert "<inspection>" in " ".join(q.text for q in result.quotes)  # decoded, verbatim
    assert_quotes_verbatim(result, mixed_engine)


def test_quotes_are_distinct_and_capped(seed_engine) -> None:
    result = answer(
        "Which sanctions are mentioned?", seed_engine, AnswerParams(quotes={"max_quotes": 2})
    )
    assert len(result.quotes) <= 2
    spans = [(q.article_id, q.start, q.end) for q in result.quotes]
    for i, (a, s, e) in enumerate(spans):
        for b, s2, e2 in spans[i + 1 :]:
            assert a != b or e <= s2 or e2 <= s, "quotes overlap"


def test_long_question_is_refused_and_short_limit_is_configurable(seed_engine) -> None:
    with pytest.raises(QuestionError):
        answer("Who leads the delegation? " * 400, seed_engine)
    result = answer(
        "who leads Ukraine's delegation", seed_engine, AnswerParams(max_question_chars=5000)
    )
    assert result.answered


def test_question_with_markup_characters_is_handled(seed_engine) -> None:
    result = answer("<b>Who</b> leads *Ukraine's* delegation & [why]?", seed_engine)
    assert result.answered and "Umerov" in result.answer


@pytest.mark.parametrize("q", MULTILINGUAL, ids=[q["id"] for q in MULTILINGUAL])
def test_ukrainian_and_russian_dev_questions_quote_the_english_answer(q: dict, seed_engine) -> None:
    result = answer(q["q"], seed_engine)
    assert result.answered and result.language == q["kind"].removeprefix("multilingual-")
    quotes = " ".join(x.text for x in result.quotes)
    assert any(word in quotes for word in q["expect"]), quotes
    assert_quotes_verbatim(result, seed_engine)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Яка погода в Києві завтра?", "uk"),
        ("Скільки коштує біткоїн?", "uk"),
        ("Кто президент Франции?", "ru"),
        ("Как испечь хлеб?", "ru"),
    ],
)
def test_unanswerable_ukrainian_and_russian_questions_are_declined(
    question: str, language: str, seed_engine
) -> None:
    result = answer(question, seed_engine)
    assert not result.answered and result.language == language


def test_multilingual_can_be_switched_off(seed_engine) -> None:
    result = answer(
        "Хто очолює делегацію Росії?", seed_engine, AnswerParams(retrieval={"multilingual": False})
    )
    assert not result.answered  # the English model alone does not answer it (honestly)


def test_eight_questions_at_once_while_a_build_runs(seed_engine, tmp_path) -> None:
    """The models are shared by every answering thread and by builds: each call holds its
    model's lock, so questions asked at the same moment, while a build embeds with the same
    models, get exactly the answers they get one by one."""
    import threading

    from index.builder import build_index

    from .conftest import TEST_CORPUS, copy_corpus

    questions = [
        "who leads Ukraine's delegation",
        "Where did the delegations meet?",
        "Who is Vladimir Medinsky?",
        "Хто очолює делегацію Росії?",
        "What does Russia want regarding NATO?",
        "Кто возглавляет делегацию Украины?",
        "How do I bake sourdough bread?",
        "What role does Turkey play?",
    ]
    expected = [answer(q, seed_engine) for q in questions]
    corpus = copy_corpus(tmp_path / "corpus", TEST_CORPUS)
    start = threading.Barrier(len(questions) + 1)
    results: dict[object, object] = {}
    errors: list[BaseException] = []

    def ask(n: int) -> None:
        start.wait()
        try:
            results[n] = [answer(questions[n], seed_engine) for _ in range(3)]
        except BaseException as exc:  # e.g. "Already borrowed" from a shared tokenizer
            errors.append(exc)

    def build() -> None:
        start.wait()
        try:
            results["build"] = build_index(corpus, tmp_path / "index", seed_engine.models)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(len(questions))]
    threads.append(threading.Thread(target=build))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    for n in range(len(questions)):
        assert results[n] == [expected[n]] * 3, questions[n]
    assert results["build"].manifest.articles == 4
