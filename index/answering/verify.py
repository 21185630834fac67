"""Stage 4, verify: the trained answer verifier (index.verifier) reads the question with each of
the first verify_depth candidate sentences, each with its article's title and the sentence
before it, and its logit ranks them: it tells "gives what was asked" from "is about the same
event". English questions go to the English verifier, Ukrainian and Russian ones to the
multilingual one, which judges the English sentence directly. With the verifier off
(TALKS_SCORING__VERIFY=false) or not loaded, English questions fall back to the packaged
cross-encoder (rerank.py)."""

from __future__ import annotations

from index.engine import Engine
from index.verifier.pairs import candidate_pair

from . import rerank
from .candidates import Candidates, reader
from .params import AnswerParams
from .query import Query


def read_candidates(
    cands: Candidates, query: Query, engine: Engine, params: AnswerParams
) -> Candidates:
    """The verifier's logit for each of the first verify_depth rows, and those rows by it."""
    verifier = reader(query, engine, params)
    if verifier is None:
        return rerank.read_windows(cands, query, engine, params)
    if not cands.order:
        return cands
    top = cands.order[: params.scoring.verify_depth]
    pairs = [candidate_pair(query.text, engine, int(cands.sentence[i])) for i in top]
    logits = {i: float(x) for i, x in zip(top, verifier.score(pairs), strict=True)}
    reranked = tuple(sorted(logits, key=lambda i: -logits[i]))
    return cands.with_(rerank=logits, reranked=reranked, verified=True)
