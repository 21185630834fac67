"""Stage 3, scoring and filters: rank the candidate sentences by a blend of their signals, then
keep those that can answer (real statements, from articles that name what the question asks)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from index.engine import Engine
from index.text.dates import DATE_SLACK_DAYS
from index.text.names import names_all_in
from index.text.tokens import word_count

from .candidates import Candidates
from .params import AnswerParams
from .query import Query


def weights(query: Query, params: AnswerParams) -> tuple[float, float, float]:
    """(sentence cosine, passage cosine, lexical share) weights. Sentences are ranked with the
    signals their passages were retrieved with: dense only, BM25 and the question's words only,
    or both; multilingual questions by e5's cosines alone (ranking them also by the share of
    the names they hold was tried, and picked the right sentence less often)."""
    s = params.scoring
    if query.multilingual or params.retrieval.mode == "dense":
        return s.sentence_weight, s.passage_weight, 0.0
    if params.retrieval.mode == "bm25":
        return 0.0, 0.0, 1.0
    return s.sentence_weight, s.passage_weight, s.lexical_weight


def combine(cands: Candidates, query: Query, params: AnswerParams) -> Candidates:
    """Every row's blended score, and the rows ordered by it (best first)."""
    if not len(cands):
        return cands
    sentence_w, passage_w, lexical_w = weights(query, params)
    combined = (
        sentence_w * cands.cosine + passage_w * cands.passage_cosine + lexical_w * cands.lexical
    )
    if params.retrieval.mode == "bm25" and not query.multilingual:
        combined = combined + 0.01 / (1 + cands.passage_rank)  # ties: the better BM25 passage
    order = tuple(int(i) for i in np.argsort(-combined, kind="stable"))
    return cands.with_(combined=combined, order=order)


def is_statement(text: str) -> bool:
    """A sentence that can stand as an answer: four words or more, and not a bare heading (a
    short line without closing punctuation)."""
    words = word_count(text)
    return words >= 4 and (words >= 12 or text.rstrip()[-1:] in ".!?…\"'”»)")


def keep_statements(cands: Candidates) -> Candidates:
    """Rows that are real statements, not heading fragments (all rows if none is)."""
    kept = tuple(i for i in cands.order if is_statement(cands.text[i]))
    return cands.with_(order=kept or cands.order)


def prefer_names(cands: Candidates, query: Query, engine: Engine) -> Candidates:
    """A sentence from an article that never mentions a (rare) name or number the question asks
    about is unlikely to answer it: "How many were swapped on Easter?" is not answered from the
    May swap. Rows from articles that mention them all come first and the others drop out; if
    no article mentions them all, the rows stay and `missing` says what the best one lacks (the
    gate weighs it)."""
    if not cands.order or not (query.names or query.numbers):
        return cands
    missing: dict[str, list[str]] = {}
    for i in cands.order:
        article = cands.article[i]
        if article not in missing:
            missing[article] = engine.mentions.missing(
                list(query.names), set(query.numbers), article
            )
    kept = tuple(i for i in cands.order if not missing[cands.article[i]])
    if kept:
        return cands.with_(order=kept)
    return cands.with_(missing=tuple(missing[cands.article[cands.order[0]]]))


def prefer_dates(
    cands: Candidates, query: Query, engine: Engine, params: AnswerParams
) -> Candidates:
    """ "What happened on February 23?", "in March": rows from articles published then come
    first, then those published up to the span's slack days later or later naming that day; if
    there are none, nothing is reordered and the gate is told (date_mismatch)."""
    if query.dates is None or not cands.order:
        return cands
    if params.retrieval.time_aware:
        dated = query.dated
    else:  # as before: publication days only, up to DATE_SLACK_DAYS after the span
        span = replace(query.dates, slack=DATE_SLACK_DAYS)
        dated = frozenset(a for a in set(cands.article) if span.holds(engine.articles[a].published))
    first = tuple(i for i in cands.order if cands.article[i] in dated)
    if not first:
        return cands.with_(date_mismatch=True)
    # inside the span itself before its slack: "in June" prefers a June article to a 1 July one
    exact = replace(query.dates, slack=0)
    inside = tuple(i for i in first if exact.holds(engine.articles[cands.article[i]].published))
    after = tuple(i for i in first if i not in set(inside))
    rest = tuple(i for i in cands.order if cands.article[i] not in dated)
    return cands.with_(order=inside + after + rest)


def defining(cands: Candidates, query: Query) -> Candidates:
    """ "Who is Medinsky?": the rows naming everyone the question asks about, those the
    cross-encoder rated first (it rates appositions like "Kremlin spokesman Dmitry Peskov"
    low)."""
    if query.multilingual or not query.asked or not cands.order:
        return cands
    rated = set(cands.rerank)
    preferred = [*cands.reranked, *(i for i in cands.order if i not in rated)]
    found = tuple(i for i in preferred if names_all_in(list(query.asked), cands.text[i]))
    return cands.with_(defining=found)


def per_passage(cands: Candidates, engine: Engine) -> Candidates:
    """The best answering row of each hit passage, in the hits' order (quotes from different
    passages rather than neighbouring sentences of one)."""
    allowed = set(cands.order)
    row_of = {int(s): i for i, s in enumerate(cands.sentence)}
    best = []
    for hit in cands.hits:
        sentences = engine.passages[hit.row].sentence_ids
        inside = [row_of[s] for s in sentences if row_of.get(s) in allowed]
        if inside:
            best.append(max(inside, key=lambda i: cands.combined[i]))
    return cands.with_(per_passage=tuple(best))
