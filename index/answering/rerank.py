"""Stage 4, rerank: for English questions a cross-encoder reads the question with each of the
best few sentences in the context its quote would show, and picks the answer (it tells "answers
this" from "is about the same thing")."""

from __future__ import annotations

import numpy as np

from index.engine import Engine

from .candidates import Candidates
from .compose import context_window
from .params import AnswerParams
from .query import Query


def applies(query: Query, engine: Engine, params: AnswerParams) -> bool:
    """English (Latin-script) questions, with the cross-encoder on and loaded."""
    return (
        params.scoring.rerank
        and engine.models.cross_encoder is not None
        and not query.multilingual
        and query.latin
    )


def read_windows(
    cands: Candidates, query: Query, engine: Engine, params: AnswerParams
) -> Candidates:
    """The cross-encoder's logit for the window of each of the best rerank_depth rows. Each
    sentence is read with the neighbours its quote would show: "Talks lasted less than two
    hours." answers "how long did the first round last" only next to "first round". A window's
    logit goes to the window's sentence that ranks best on its own ("exchange 1,000 prisoners",
    not the sentence after it)."""
    if not cands.order or not applies(query, engine, params):
        return cands
    assert engine.models.cross_encoder is not None
    top = cands.order[: params.scoring.rerank_depth]
    spans = [_window(cands, i, engine, params) for i in top]
    texts = [engine.articles[a].body[s:e] for a, s, e in spans]
    distinct = list(dict.fromkeys(texts))  # neighbours often share one window
    scored = engine.models.cross_encoder.score(query.searched, distinct)
    read = dict(zip(distinct, scored, strict=True))
    row_of = {int(cands.sentence[i]): i for i in cands.order}
    logits: dict[int, float] = {}
    windows: dict[int, tuple[int, int]] = {}
    for i, (article, start, end), text in zip(top, spans, texts, strict=True):
        inside = [i, *_rows_inside(cands, i, engine, row_of, article, start, end)]
        pick = max(inside, key=lambda j: cands.combined[j])
        if float(read[text]) > logits.get(pick, -np.inf):
            logits[pick] = float(read[text])
            windows[pick] = (start, end)
    reranked = tuple(sorted(logits, key=lambda i: -logits[i]))
    return cands.with_(rerank=logits, reranked=reranked, windows=windows)


def _window(
    cands: Candidates, row: int, engine: Engine, params: AnswerParams
) -> tuple[str, int, int]:
    sentence = int(cands.sentence[row])
    start, end = context_window(cands, sentence, engine, params.quotes.max_quote_chars)
    return cands.article[row], start, end


def _rows_inside(
    cands: Candidates,
    row: int,
    engine: Engine,
    row_of: dict[int, int],
    article: str,
    start: int,
    end: int,
) -> list[int]:
    """The answering rows whose sentences lie inside the window around `row`'s sentence."""
    inside = []
    sentences = engine.sentences
    for step in (-1, 1):
        n = int(cands.sentence[row]) + step
        while 0 <= n < len(sentences) and (
            sentences[n].article_id == article
            and start <= sentences[n].start < sentences[n].end <= end
        ):
            if n in row_of:
                inside.append(row_of[n])
            n += step
    return inside
