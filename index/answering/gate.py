"""Stage 5, the gate: do the sources answer at all, and through which route? Decided from a
Trace, the few figures the candidates come down to, so a calibration sweep can replay the gate
with many thresholds without answering again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from index.engine import Engine
from index.text.tokens import content_terms

from .candidates import Candidates
from .params import GateThresholds
from .query import Query

Route = Literal["rerank", "plain", "multilingual", "define"]


@dataclass(frozen=True)
class Trace:
    """What the gate saw for one question."""

    question: str
    language: str
    multilingual: bool  # answered through multilingual-e5
    latin: bool
    candidates: int  # rows that may answer (0: nothing can, whatever the thresholds)
    relevance: float  # the best answering sentence's cosine (e5's, offset taken back)
    coverage: float  # share of the question's term weight in the best answering passage
    best_rerank: float | None  # the cross-encoder's best logit, if it read any
    defines: bool  # a sentence names everyone a "who is …?" asks about
    unknown: tuple[str, ...] = ()  # names the corpus never uses
    missing: tuple[str, ...] = ()  # names/numbers the best candidate's article lacks

    @property
    def empty(self) -> bool:
        return self.candidates == 0


def trace(cands: Candidates, query: Query, engine: Engine) -> Trace:
    """The figures of the candidates that the gate decides on."""
    best = cands.order[0] if cands.order else None
    coverage = 0.0
    if best is not None:
        passage = engine.passages[int(cands.passage[best])]
        coverage = engine.lexicon.coverage(set(query.terms), content_terms(passage.text))
    return Trace(
        question=query.text,
        language=query.language,
        multilingual=query.multilingual,
        latin=query.latin,
        candidates=len(cands.order),
        relevance=float(cands.cosine[best]) if best is not None else -1.0,
        coverage=coverage,
        best_rerank=cands.rerank[cands.reranked[0]] if cands.reranked else None,
        defines=bool(cands.defining),
        unknown=query.unknown,
        missing=cands.missing,
    )


def gate(trace: Trace, thresholds: GateThresholds) -> Route | None:
    """The route that answers, or None if the sources do not.

    - multilingual: the best e5 cosine against ml_min_score;
    - rerank: the cross-encoder's best logit against rerank_min_score;
    - define: "who is …?" and a sentence names everyone asked about;
    - plain (also when the cross-encoder declines): the best sentence's cosine against
      min_score and confident_score, and in the grey zone between them the share of the
      question's terms in its passage against min_coverage.
    Each is calibrated to decline every unanswerable question of the labelled set.
    """
    if trace.empty:
        return None
    if trace.multilingual:
        return "multilingual" if trace.relevance >= thresholds.ml_min_score else None
    if trace.best_rerank is not None and trace.best_rerank >= thresholds.rerank_min_score:
        return "rerank"
    if trace.defines:
        return "define"
    if trace.relevance < thresholds.min_score:
        return None
    # all-MiniLM-L6-v2 is an English model: between two Cyrillic (or other non-Latin) texts its
    # cosine is high whatever they say, so for such questions the terms must match too.
    if trace.relevance < thresholds.confident_score or not trace.latin:
        return "plain" if trace.coverage >= thresholds.min_coverage else None
    return "plain"
