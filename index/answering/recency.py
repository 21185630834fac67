"""Stage 2, recency: the articles on a question's subject and their dates. "What is the latest on
the swaps?" is answered from the newest of them only; every answer says how new the newest one
is (compose)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from index.engine import Engine
from index.text.dates import DateSpan

from .params import AnswerParams
from .query import Query

# The newest day on a subject and the day before it: the same news, reported on the day and the
# next morning. "The latest" is not answered from an article older than that.
LATEST_SLACK_DAYS = 1


def _mentions_all(engine: Engine, query: Query, article: str) -> bool:
    return not engine.mentions.missing(list(query.names), set(query.numbers), article)


def on_subject(
    engine: Engine, query: Query, params: AnswerParams, rows: list[int], cosines: np.ndarray
) -> dict[str, dt.date]:
    """The dated articles among `rows` on the question's subject, by their cosines: those with
    a passage whose cosine reaches the quote floor (min_score, ml_min_score) and that mention
    every name and number the question asks about."""
    floor = params.gate.ml_min_score if query.multilingual else params.gate.min_score
    found: dict[str, dt.date] = {}
    checked: set[str] = set()
    for row, cosine in zip(rows, cosines, strict=True):
        article = engine.passage_articles[row]
        published = engine.articles[article].published
        if cosine < floor or published is None or article in checked:
            continue
        checked.add(article)
        if _mentions_all(engine, query, article):
            found[article] = published
    return found


def latest_subject(
    engine: Engine,
    query: Query,
    params: AnswerParams,
    fused: list[int],
    by_cosine: dict[str, dt.date],
) -> dict[str, dt.date]:
    """The articles "the latest" may come from. English: the cross-encoder reads the best
    passage of each of the top_k first articles in the fused ranking, and those it rates at
    least rerank_min_score (from which its pick answers) are on the subject; cosines alone let
    through articles that only share the subject's words ("Syrian" in "the Syrian prisoner
    swap"). Ukrainian and Russian: by cosine, and only when the question names something (e5's
    cosines are too close together to tell a subject by themselves)."""
    cross_encoder = engine.models.cross_encoder
    if query.multilingual or cross_encoder is None or not params.scoring.rerank:
        return by_cosine if (query.names or not query.multilingual) else {}
    firsts: dict[str, int] = {}
    for row in fused:
        firsts.setdefault(engine.passage_articles[row], row)
        if len(firsts) >= params.retrieval.top_k:
            break
    dated = {a: r for a, r in firsts.items() if engine.articles[a].published is not None}
    if not dated:
        return {}
    logits = cross_encoder.score(query.searched, [engine.passages[r].text for r in dated.values()])
    return {
        article: engine.articles[article].published  # type: ignore[misc]
        for article, logit in zip(dated, logits, strict=True)
        if float(logit) >= params.gate.rerank_min_score and _mentions_all(engine, query, article)
    }


def newest_only(engine: Engine, rows: list[int], subject: dict[str, dt.date]) -> list[int]:
    """The rows of the articles on the subject published on its newest day (or up to
    LATEST_SLACK_DAYS before); all rows when nothing is known to be on the subject."""
    if not subject:
        return rows
    newest = max(subject.values())
    span = DateSpan(newest - dt.timedelta(days=LATEST_SLACK_DAYS), newest)
    latest = {a for a, published in subject.items() if span.holds(published)}
    return [r for r in rows if engine.passage_articles[r] in latest]
