"""Stage 1, query analysis: what a question asks, before anything is searched."""

from __future__ import annotations

from dataclasses import dataclass

from index.engine import Engine
from index.errors import QuestionError
from index.text.language import is_latin, question_language
from index.text.names import defined_names, numbers_in, question_names
from index.text.tokens import WORD, content_terms, term_list

from .params import AnswerParams

_EXAMPLE = "e.g. `who leads Ukraine's delegation`"


def validate_question(question: str, max_chars: int) -> str:
    """The question stripped, or QuestionError saying what is wrong with it."""
    text = (question or "").strip()
    if not text:
        raise QuestionError(f"The question is empty: ask something, {_EXAMPLE}.")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; please ask in at most {max_chars:,} "
            "characters."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError("The question is not valid text: please type it again.") from None
    if not WORD.search(text):
        raise QuestionError(f"The question has no words: ask something, {_EXAMPLE}.")
    return text


@dataclass(frozen=True)
class Query:
    """A validated question and what answering needs to know about it."""

    text: str  # as asked (validated)
    searched: str  # what is embedded and matched: misspellings corrected (English questions)
    language: str  # en, uk or ru: the replies' fixed texts follow it
    latin: bool  # mostly Latin letters
    multilingual: bool  # answered through multilingual-e5
    names: tuple[str, ...]  # names the question asks about, which an answer's article must use
    numbers: frozenset[str]
    unknown: tuple[str, ...]  # names the corpus never uses: nothing can answer
    terms: frozenset[str]  # content terms, for the lexical share (English questions)
    term_list: tuple[str, ...]  # the same with repeats, for BM25
    asked: tuple[str, ...]  # "who is Medinsky?": the names asked about


def analyze(question: str, engine: Engine, params: AnswerParams) -> Query:
    """Validate, detect the language, correct spelling, find the names and numbers asked about."""
    text = validate_question(question, params.max_question_chars)
    language = question_language(text)
    multilingual = (
        language != "en" and params.retrieval.multilingual and engine.multilingual is not None
    )
    if multilingual:
        return _multilingual_query(text, language, engine)
    searched = engine.corrector.correct(text)  # misspelled names → the corpus's spelling
    return Query(
        text=text,
        searched=searched,
        language=language,
        latin=is_latin(text),
        multilingual=False,
        names=tuple(question_names(searched)),
        numbers=frozenset(numbers_in(searched)),
        unknown=tuple(engine.lexicon.unknown_names(searched)),
        terms=frozenset(content_terms(searched)),
        term_list=tuple(term_list(searched)),
        asked=tuple(defined_names(searched, engine.lexicon.proper)),
    )


def _multilingual_query(text: str, language: str, engine: Engine) -> Query:
    """A Ukrainian or Russian question: terms do not cross languages and the corpus's names are
    spelt in another script, but names written in Latin letters ("Brent", "NATO") and numbers
    are checked against the articles as for English questions."""
    names = tuple(w for w in question_names(text) if is_latin(w))
    return Query(
        text=text,
        searched=text,
        language=language,
        latin=is_latin(text),
        multilingual=True,
        names=names,
        numbers=frozenset(numbers_in(text)),
        unknown=tuple(w for w in names if not engine.lexicon.known(w)),
        terms=frozenset(),
        term_list=(),
        asked=(),
    )
