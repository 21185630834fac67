"""Stage 6, compose: the answer sentence and up to N quotes, each the article's exact words with
the neighbouring sentences for context, verified against the stored text before it is returned."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np

from index.chunking import sentence_key
from index.engine import Engine
from index.models import Answer, Article, Passage, Quote

from .candidates import Candidates
from .gate import Route
from .params import AnswerParams
from .query import Query

log = logging.getLogger(__name__)


def verify_quote(article: Article, start: int, end: int, text: str) -> bool:
    """The quote is the article's exact text at those offsets."""
    return 0 <= start < end <= len(article.body) and article.body[start:end] == text


def verify_in_passage(passage: Passage, start: int, end: int, text: str) -> bool:
    """The sentence is also, at the same offsets, in the passage it was retrieved with: a second,
    separately stored copy of the article's words (cross-checked when the index loads)."""
    return (
        passage.start <= start < end <= passage.end
        and passage.text[start - passage.start : end - passage.start] == text
    )


def not_answered(question: str, language: str = "en") -> Answer:
    return Answer(question=question, answered=False, answer=None, quotes=[], language=language)


def _same_paragraph(body: str, end: int, start: int) -> bool:
    gap = body[end:start]
    return not gap.strip() and "\n\n" not in gap


def context_window(
    cands: Candidates, sentence: int, engine: Engine, max_chars: int
) -> tuple[int, int]:
    """The sentence's span widened by its neighbours in the same paragraph, closer one to the
    question first, while the whole fits in max_chars: the answer sentence alone often lacks its
    subject or its explanation."""
    sentences = engine.sentences
    own = sentences[sentence]
    body = engine.articles[own.article_id].body
    start, end = own.start, own.end
    assert cands.space is not None and cands.query_vector is not None
    matrix, query = cands.space.sentence_vectors, cands.query_vector
    neighbours = []
    for n in (sentence - 1, sentence + 1):
        if 0 <= n < len(sentences) and sentences[n].article_id == own.article_id:
            neighbours.append((float(matrix[n] @ query), n))
    for _, n in sorted(neighbours, reverse=True):
        other = sentences[n]
        if (
            n < sentence
            and _same_paragraph(body, other.end, start)
            and end - other.start <= max_chars
        ):
            start = other.start
        elif (
            n > sentence
            and _same_paragraph(body, end, other.start)
            and other.end - start <= max_chars
        ):
            end = other.end
    return start, end


@dataclass(frozen=True)
class QuotePlan:
    """Which rows to quote, best first, and how close to the best one each must score."""

    best: int
    order: list[int]
    score: dict[int, float]
    margins: tuple[float, float]  # for the shown quotes, for the "more sources" ones
    least: float  # an absolute floor
    extras: frozenset[int]  # rows only for "more sources" (no score comparable to the best)


def plan(cands: Candidates, params: AnswerParams, route: Route) -> QuotePlan:
    """The quotes a route allows, in the order they are taken."""
    quotes = params.quotes
    if route == "rerank":
        # The sentences the cross-encoder read, best first, as long as it rates them close to
        # the answer and above its own floor; further ("more sources") quotes may then come
        # from other retrieved passages whose cosine is close to the answer's.
        best = cands.reranked[0]
        order = list(cands.reranked)
        extras = []
        if quotes.extra_quotes:
            floor = cands.cosine[best] - quotes.extra_margin
            extras = [
                i for i in cands.per_passage if i not in cands.rerank and cands.cosine[i] >= floor
            ]
        margins = (quotes.rerank_margin, 2 * quotes.rerank_margin)
        return QuotePlan(
            best,
            order + extras,
            dict(cands.rerank),
            margins,
            params.gate.rerank_min_score,
            frozenset(extras),
        )
    if route == "define":
        # Other sentences naming them, as long as the cross-encoder (if it read them) does not
        # rate them far below the first.
        best = cands.defining[0]
        first = cands.rerank.get(best, 0.0)
        score = {i: cands.rerank.get(i, first) for i in cands.defining}
        margins = (quotes.rerank_margin, 2 * quotes.rerank_margin)
        return QuotePlan(best, list(cands.defining), score, margins, -np.inf, frozenset())
    # After the answer, one quote per retrieved passage, best passage first, so quotes cover
    # different parts of the coverage rather than neighbouring sentences of one.
    best = cands.order[0]
    order = [best, *cands.per_passage]
    score = {i: float(cands.combined[i]) for i in order}
    margins = (quotes.quote_margin, quotes.extra_margin)
    return QuotePlan(best, order, score, margins, -np.inf, frozenset())


def _admits(
    i: int, shown: bool, quote_plan: QuotePlan, cands: Candidates, route: Route, floor: float
) -> bool:
    """Whether row i may be quoted next (as a shown quote, or a "more sources" one)."""
    if i in quote_plan.extras:
        return not shown
    if i == quote_plan.best:
        return True
    margin = quote_plan.margins[0 if shown else 1]
    least = max(quote_plan.score[quote_plan.best] - margin, quote_plan.least)
    if quote_plan.score[i] < least:
        return False
    return not (route in ("plain", "multilingual") and cands.cosine[i] < floor)


def compose(
    cands: Candidates, query: Query, engine: Engine, params: AnswerParams, route: Route | None
) -> Answer:
    """The best sentence as the answer and up to max_quotes (+ extra_quotes) verified quotes,
    through the route the gate chose; not answered when there is none."""
    if route is None:
        return not_answered(query.text, query.language)
    quote_plan = plan(cands, params, route)
    floor = params.gate.ml_min_score if query.multilingual else params.gate.min_score
    limit = params.quotes.max_quotes + params.quotes.extra_quotes
    quotes: list[Quote] = []
    taken = _Taken()
    for i in quote_plan.order:
        if len(quotes) >= limit:
            break
        if not _admits(i, len(quotes) < params.quotes.max_quotes, quote_plan, cands, route, floor):
            continue
        quote = _quote(cands, i, engine, params, route, quote_plan, taken)
        if quote is not None:
            quotes.append(quote)
    if not quotes:
        return not_answered(query.text, query.language)
    first = quotes[0]
    body = engine.articles[first.article_id].body
    newest = max((d for d in (cands.newest, first.published) if d), default=None)
    today = query.today or dt.date.today()
    return Answer(
        question=query.text,
        answered=True,
        answer=body[first.sentence_start : first.sentence_end],
        quotes=quotes,
        language=query.language,
        as_of=first.published,
        newest_source=newest,
        # a question about a past span ("in February") is not answered late by old sources
        stale=query.dates is None
        and newest is not None
        and (today - newest).days > params.quotes.stale_after_days,
    )


class _Taken:
    """Spans and sentences already quoted: no sentence twice."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, int, int]] = []
        self.keys: set[str] = set()

    def overlaps(self, article_id: str, start: int, end: int) -> bool:
        return any(a == article_id and start < e and s < end for a, s, e in self.spans)


def _quote(
    cands: Candidates,
    i: int,
    engine: Engine,
    params: AnswerParams,
    route: Route,
    quote_plan: QuotePlan,
    taken: _Taken,
) -> Quote | None:
    """Row i as a verified quote with its context, or None (already quoted, not verbatim)."""
    sid = int(cands.sentence[i])
    sentence = engine.sentences[sid]
    article = engine.articles[sentence.article_id]
    text = article.body[sentence.start : sentence.end]
    key = sentence_key(text)
    if route == "rerank" and i in cands.windows:
        start, end = cands.windows[i]  # exactly the text the cross-encoder read
    else:
        start, end = context_window(cands, sid, engine, params.quotes.max_quote_chars)
    # A window overlapping a quote already taken from the article shrinks to its own sentence,
    # and is left out if even that was quoted.
    if taken.overlaps(article.id, start, end):
        start, end = sentence.start, sentence.end
    if key in taken.keys or taken.overlaps(article.id, start, end):
        return None
    quote_text = article.body[start:end]
    passage = engine.passages[int(cands.passage[i])]
    if not (
        verify_quote(article, start, end, quote_text)
        and verify_in_passage(passage, sentence.start, sentence.end, text)
    ):
        log.warning("dropped a quote that is not verbatim in %s", article.id)
        return None
    taken.keys.add(key)
    taken.spans.append((article.id, start, end))
    return Quote(
        text=quote_text,
        title=article.title,
        url=article.url,
        published=article.published,
        article_id=article.id,
        start=start,
        end=end,
        score=round(quote_plan.score.get(i, float(cands.cosine[i])), 4),
        sentence_start=sentence.start,
        sentence_end=sentence.end,
    )
