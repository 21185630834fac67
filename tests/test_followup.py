"""Follow-up completion (index.answering.followup), pure: no models. What the reader typed after
a question becomes the question answered, in English, Ukrainian and Russian; a question of its
own is never rewritten."""

from __future__ import annotations

import pytest

from bot.cli import render_text
from bot.formatting import answer_blocks
from index.answering import complete
from index.models import Answer

# names the corpus writes with a capital (Lexicon.is_name), as a reader types them
NAMES = frozenset(
    {"lavrov", "zakharova", "clark", "haley", "givi", "motorola", "гиви", "гіві", "моторола"}
).__contains__


@pytest.mark.parametrize(
    ("previous", "message", "expected", "kind"),
    [
        # a new side
        ("who headed russia's delegation?", "and ukraine's?", "who headed ukraine's delegation?", "side"),
        ("who headed russia's delegation?", "ukraine's delegation?", "who headed ukraine's delegation?", "side"),
        ("who headed the russian delegation at the astana talks?", "and the syrian government's?",
         "who headed the syrian government's delegation at the astana talks?", "side"),
        ("хто очолював делегацію росії?", "а туреччини?", "хто очолював делегацію туреччини?", "side"),
        ("кто возглавлял делегацию россии?", "а турции?", "кто возглавлял делегацию турции?", "side"),
        ("who leads Ukraine's delegation?", "а росії?", "who leads Russia's delegation?", "side"),
        # a new time
        ("who headed russia's delegation?", "what about in july?",
         "who headed russia's delegation in july?", "time"),
        ("who headed russia's delegation in june?", "and in july?",
         "who headed russia's delegation in july?", "time"),
        ("кто возглавлял делегацию россии в мае?", "а в июне?",
         "кто возглавлял делегацию россии в июне?", "time"),
        # a new place
        ("what did lavrov say about the geneva talks?", "and in astana?",
         "what did lavrov say about the astana talks?", "place"),
        ("how many israeli settlers live in the west bank?", "and in east jerusalem?",
         "how many israeli settlers live in east jerusalem?", "place"),
        ("who is russia's ambassador to egypt?", "and to south korea?",
         "who is russia's ambassador to south korea?", "place"),
        # a new name, typed in lower case
        ("what did lavrov say about the geneva talks?", "and zakharova?",
         "what did zakharova say about the geneva talks?", "name"),
        ("when was givi killed?", "and motorola?", "when was motorola killed?", "name"),
        ("как погиб гиви?", "а моторола?", "как погиб моторола?", "name"),
        # the same form with one part new
        ("what did clark say about monusco's record?", "what did haley say?",
         "what did haley say about monusco's record?", "name"),
        ("how many blue helmets does monusco have?", "how many police?",
         "how many police does monusco have?", "topic"),
        # a new question word
        ("when was motorola killed?", "how?", "how was motorola killed?", "ask"),
        ("коли вбили гіві?", "а де?", "де вбили гіві?", "ask"),
        ("а скільки бойовиків перейшли до таборів?", "коли?", "коли бойовиків перейшли до таборів?",
         "ask"),
        # a new object after a marker
        ("what did the memorandum say about the ceasefire?", "what about the prisoners?",
         "what did the memorandum say about the prisoners?", "topic"),
    ],
)  # fmt: skip
def test_a_fragment_is_completed_from_the_previous_question(
    previous: str, message: str, expected: str, kind: str
) -> None:
    done = complete(message, previous, is_name=NAMES)
    assert (done.question, done.completed, done.kind) == (expected, True, kind)


@pytest.mark.parametrize(
    ("previous", "message"),
    [
        ("who headed russia's delegation?", "who is lavrov?"),
        ("who headed russia's delegation?", "what did putin say about the ceasefire?"),
        ("who headed russia's delegation?", "syria ceasefire guarantors"),
        ("who headed russia's delegation?", "when did it start?"),
        ("who headed russia's delegation?", "and what did trump say about the sanctions?"),
        ("who headed russia's delegation?", "thanks"),
        ("хто очолював делегацію росії?", "скільки полонених обміняли росія та україна?"),
        ("кто возглавлял делегацию россии?", "какие острова оспаривают япония и россия?"),
        ("who headed russia's delegation?", ""),
    ],
)
def test_a_question_of_its_own_is_never_rewritten(previous: str, message: str) -> None:
    done = complete(message, previous, is_name=NAMES)
    assert (done.question, done.completed) == (message, False)


def test_the_corpus_knows_names_typed_in_lower_case_or_cyrillic() -> None:
    from index.lexicon import Lexicon

    lexicon = Lexicon(
        [
            "The commander Mikhail Tolstykh, known as Givi, was killed in Donetsk.",
            "Police said the blast came from a rocket. The police arrived late.",
        ]
    )
    assert lexicon.is_name("givi") and lexicon.is_name("Гиви") and lexicon.is_name("гіві")
    assert lexicon.is_name("толстых")
    assert not lexicon.is_name("police") and not lexicon.is_name("поліція")


def test_without_a_previous_question_nothing_is_completed() -> None:
    assert complete("and ukraine's?", None).question == "and ukraine's?"
    assert complete("and ukraine's?", "   ").completed is False


def test_a_chain_keeps_its_subject() -> None:
    """Each completed question is the next one's previous: three turns stay on one subject."""
    first = "who headed russia's delegation in june?"
    second = complete("and ukraine's?", first).question
    third = complete("what about in july?", second).question
    assert third == "who headed ukraine's delegation in july?"


def _answer(**changes) -> Answer:
    base = {"question": "who headed ukraine's delegation?", "answered": False, "answer": None}
    return Answer(quotes=[], **(base | changes))


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "Answering: "), ("uk", "Відповідаю на: "), ("ru", "Отвечаю на: ")],
)
def test_the_reply_says_what_was_answered(language: str, shown: str) -> None:
    result = _answer(asked="and ukraine's?", language=language)
    blocks = answer_blocks(result)
    assert blocks[0] == f"<i>{shown}who headed ukraine&#x27;s delegation?</i>"
    assert len(blocks) == 2  # then the decline itself
    assert render_text(result).startswith(f"{shown}who headed ukraine's delegation?\n")


def test_a_question_of_its_own_is_shown_as_before() -> None:
    result = _answer()
    assert not any("Answering" in block for block in answer_blocks(result))
    assert "Answering" not in render_text(result)
