"""Questions about the news with no subject ("what's the latest?", "what happened last week?",
"що нового?"): the newest articles (of the dates asked about) answer, each with its opening
sentence, verified like every quote."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from index.engine import Engine
from index.models import Answer, Article, Quote
from index.text.tokens import STOPWORDS, WORD

from .compose import not_answered, verify_quote
from .params import AnswerParams
from .query import Query


@cache
def headline_words() -> frozenset[str]:
    """Data file headline_words.txt."""
    text = files("index.text").joinpath("headline_words.txt").read_text(encoding="utf-8")
    return frozenset(
        w for line in text.splitlines() if not line.startswith("#") for w in line.lower().split()
    )


def applies(query: Query) -> bool:
    """The question asks for the latest or about a time, and names nothing else: every word of
    it is a stop word, a word of asking for news, or part of its dates."""
    if not (query.latest or query.dates) or query.names or query.outlet:
        return False
    allowed = STOPWORDS | headline_words()
    words = [w.lower().replace("’", "'") for w in WORD.findall(query.searched)]
    return all(w in allowed or w.isdigit() for w in words)


def _newest(engine: Engine, query: Query) -> list[Article]:
    dated = [a for a in engine.articles.values() if a.published]
    if query.dates is not None:  # published then: no slack for reports of it
        span = query.dates
        dated = [a for a in dated if span.first <= a.published <= span.last]
    return sorted(dated, key=lambda a: (a.published, a.id), reverse=True)


def _lead(engine: Engine, article: Article, params: AnswerParams) -> Quote | None:
    """The article's first sentence, with the next one when both fit a quote."""
    rows = engine.article_sentences.get(article.id, ())
    if not rows:
        return None
    first = engine.sentences[rows[0]]
    end = first.end
    if len(rows) > 1:
        second = engine.sentences[rows[1]]
        if second.end - first.start <= params.quotes.max_quote_chars:
            end = second.end
    text = article.body[first.start : end]
    if not verify_quote(article, first.start, end, text):
        return None
    return Quote(
        text=text,
        title=article.title,
        url=article.url,
        published=article.published,
        article_id=article.id,
        start=first.start,
        end=end,
        score=0.0,
        sentence_start=first.start,
        sentence_end=first.end,
    )


def answer(query: Query, engine: Engine, params: AnswerParams) -> Answer:
    """The newest articles' leads, newest first (not answered when no article is dated then)."""
    limit = params.quotes.max_quotes + params.quotes.extra_quotes
    quotes = [q for a in _newest(engine, query)[: limit * 2] if (q := _lead(engine, a, params))]
    quotes = quotes[:limit]
    if not quotes:
        return not_answered(query.text, query.language)
    first = quotes[0]
    return Answer(
        question=query.text,
        answered=True,
        answer=engine.articles[first.article_id].body[first.sentence_start : first.sentence_end],
        quotes=quotes,
        language=query.language,
        as_of=first.published,
        newest_source=first.published,
        stale=query.dates is None
        and first.published is not None
        and ((query.today or first.published) - first.published).days
        > params.quotes.stale_after_days,
    )
