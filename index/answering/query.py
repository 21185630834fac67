"""Stage 1, query analysis: what a question asks, before anything is searched."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from index.engine import Engine
from index.errors import QuestionError
from index.text.dates import (
    DateSpan,
    asks_latest,
    dates_named,
    relative_span,
    since_month,
    without_named_dates,
    without_time_words,
)
from index.text.language import is_latin, question_language
from index.text.names import bare, defined_names, numbers_in, question_names
from index.text.outlets import outlets_named, without_outlets
from index.text.places import same_place, with_countries
from index.text.stem import stem
from index.text.tokens import STOPWORDS, WORD, content_terms, term_list
from index.text.translit import exonym, latin_keys

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
    outlet: str | None = None  # "according to TASS": the outlet (of the corpus) asked about
    dates: DateSpan | None = None  # "in March": when the articles asked about were published
    dated: frozenset[str] = frozenset()  # the articles published in `dates` (time-aware only)
    latest: bool = False  # "the latest", "now": the newest article on the subject answers
    today: dt.date | None = None  # what relative dates and the age of sources count from
    # the newest article's date, when the dates asked about all lie after it ("in December
    # 2025" of a corpus that ends in July): nothing can answer, and the reply says so
    beyond: dt.date | None = None


def time_asked(text: str, engine: Engine, today: dt.date) -> tuple[DateSpan | None, bool]:
    """The publication dates a question asks about and whether it asks for the latest. A
    relative date ("last week", "since Monday") counts from today, or, when no article was
    published in that span (a corpus that ends earlier), from the newest article. A named
    month or day without a year is the latest one not after today: asked in December 2025,
    "in September" is September 2025, even when the newest article is from July (the question
    then points past the sources, see Query.beyond)."""
    relative = relative_span(text, today)
    if relative is not None and engine.newest and not engine.published_in(relative):
        relative = relative_span(text, engine.newest)
    named = since_month(text, dates_named(text, today), today)
    return relative or named, asks_latest(text) and relative is None


def analyze(
    question: str,
    engine: Engine,
    params: AnswerParams,
    language_hint: str | None = None,
    today: dt.date | None = None,
) -> Query:
    """Validate, detect the language (the user's own, `language_hint`, decides between
    Ukrainian and Russian when the letters do not), read the outlet and dates it names,
    correct spelling, find the names and numbers asked about."""
    text = validate_question(question, params.max_question_chars)
    language = question_language(text, language_hint)
    outlet = next((o for o, _ in outlets_named(text) if o in engine.outlets), None)
    stripped = without_outlets(text, frozenset(engine.outlets))
    today = today or dt.date.today()
    dated: frozenset[str] = frozenset()
    if params.retrieval.time_aware:
        dates, latest = time_asked(text, engine, today)
        if latest or relative_span(text, today) is not None:
            stripped = without_time_words(stripped)
        dated = engine.published_in(dates) if dates is not None else frozenset()
        if dated:
            stripped = without_named_dates(stripped)  # the candidates are of those dates
    else:
        dates, latest = dates_named(text, engine.newest_or_today()), False
    multilingual = (
        language != "en" and params.retrieval.multilingual and engine.multilingual is not None
    )
    beyond = (
        engine.newest
        if params.retrieval.time_aware
        and dates is not None
        and engine.newest is not None
        and dates.first > engine.newest
        else None
    )
    if multilingual:
        query = _multilingual_query(text, stripped, language, engine, outlet, dates)
        return replace(query, dated=dated, latest=latest, today=today, beyond=beyond)
    # misspelled names → the corpus's spelling; "Kyiv" also read as "Ukraine"
    searched = with_countries(engine.corrector.correct(stripped))
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
        term_list=tuple(term_list(searched)) + _place_terms(searched),
        asked=tuple(defined_names(searched, engine.lexicon.proper)),
        outlet=outlet,
        dates=dates,
        dated=dated,
        latest=latest,
        today=today,
        beyond=beyond,
    )


def _place_terms(text: str) -> tuple[str, ...]:
    """BM25 terms for the other words of the countries the question names: "Irish" also
    searches "ireland", "Kyiv" also "ukrain"."""
    own = set(term_list(text))
    extra: list[str] = []
    for word in question_names(text):
        for alt in sorted(same_place(word)):
            if " " not in alt and "." not in alt and len(alt) >= 3 and alt not in STOPWORDS:
                extra.append(stem(alt))
    return tuple(dict.fromkeys(t for t in extra if t not in own))


def _multilingual_query(
    text: str,
    stripped: str,
    language: str,
    engine: Engine,
    outlet: str | None,
    dates: DateSpan | None,
) -> Query:
    """A Ukrainian or Russian question: terms do not cross languages, but its names do. Names
    in Latin letters ("Brent", "NATO") are checked as for English questions; Cyrillic ones are
    transliterated and found in the corpus's Latin words by a spelling-blind key ("Лаврова" →
    "lavrov"), then checked and searched (BM25) by those words. A Cyrillic name found in no
    article is unknown."""
    latin = [w for w in question_names(stripped) if is_latin(w)]
    found: list[str] = []
    unknown = [w for w in latin if not engine.lexicon.known(w)]
    for word in question_names(stripped):
        if is_latin(word):
            continue
        english = exonym(word)  # США → US, Киева → Kyiv (the corpus may say Kiev)
        if english and engine.lexicon.known(english):
            found.append(english.lower())
            continue
        matches = engine.lexicon.latin_matches(latin_keys(word, language))
        if matches:
            found.append(matches[0])
        else:
            unknown.append(word)
    names = tuple(dict.fromkeys([*latin, *found]))
    # BM25 reads the names that pick out few articles ("Lavrov", not "Russia" in a corpus on
    # the talks): a name in most articles only adds noise to e5's ranking.
    rare = [w for w in names if not engine.mentions.is_common(bare(w))]
    return Query(
        text=text,
        searched=stripped,
        language=language,
        latin=is_latin(text),
        multilingual=True,
        names=names,
        numbers=frozenset(numbers_in(stripped)),
        unknown=tuple(unknown),
        terms=frozenset(stem(w.lower()) for w in names),
        term_list=tuple(stem(w.lower()) for w in rare),
        asked=(),
        outlet=outlet,
        dates=dates,
    )
