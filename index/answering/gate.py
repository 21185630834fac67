"""Stage 5, the gate: do the sources answer at all, and through which route? The route follows
from what the candidates are (cross-encoder read, "who is …?" defined, cosine only, Ukrainian
or Russian); whether to answer is the calibrated confidence model's decision over the Trace,
the figures the candidates come down to, so a calibration can replay the gate without
answering again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from index.engine import Engine
from index.text.expected import expected_kind, offers
from index.text.tokens import content_terms

from .candidates import Candidates
from .confidence import ConfidenceModels
from .params import AnswerParams, GateThresholds
from .query import Query

Route = Literal["rerank", "plain", "multilingual", "define"]


@dataclass(frozen=True)
class Trace:
    """What the gate saw for one question: the route that would answer and its signals."""

    question: str
    language: str
    multilingual: bool  # answered through multilingual-e5
    latin: bool
    candidates: int  # rows that may answer (0: nothing can)
    route: Route | None  # how it would be answered (None: nothing to answer with)
    relevance: float  # the answer sentence's cosine (e5's, offset taken back)
    coverage: float  # share of the question's term weight in the answer's passage
    lexical: float  # … in the answer sentence itself
    passage_relevance: float  # the cosine of the answer's passage
    cosine_margin: float  # answer's cosine minus the best of another passage
    best_rerank: float | None  # the cross-encoder's best logit, if it read any
    rerank_margin: float  # best logit minus the runner-up's (0 if one)
    dense_rank: int  # the answer's passage in the dense ranking alone (50: not in it)
    lexical_rank: int  # … in the BM25 ranking alone
    defines: bool  # a sentence names everyone a "who is …?" asks about
    expects: str | None  # number, time, name, place: what the question asks for
    offers: bool  # the answer's quoted text holds that kind of thing beyond the question's words
    offers_itself: bool  # … the answer sentence itself does
    names: int = 0  # names and numbers the question asks about
    unknown: tuple[str, ...] = ()  # names the corpus never uses
    missing: tuple[str, ...] = ()  # names/numbers the answer's article lacks
    outlet: bool = False  # the question names an outlet of the corpus
    date_mismatch: bool = False  # it names a date no candidate's article is from
    verified: bool = False  # best_rerank is the trained verifier's logit

    @property
    def empty(self) -> bool:
        return self.candidates == 0


def route_of(cands: Candidates, query: Query, params: AnswerParams) -> Route | None:
    """The route that would answer: e5 for Ukrainian/Russian; the cross-encoder's pick when it
    rates it at least rerank_min_score; a sentence naming everyone a "who is …?" asks about;
    else the best-ranked sentence."""
    if not cands.order:
        return None
    if cands.verified and cands.reranked:
        return "rerank"  # the verifier's pick; the gate decides whether it answers
    if query.multilingual:
        return "multilingual"
    best = cands.rerank[cands.reranked[0]] if cands.reranked else None
    if best is not None and best >= params.gate.rerank_min_score:
        return "rerank"
    if cands.defining:
        return "define"
    return "plain"


def answer_row(cands: Candidates, route: Route | None) -> int | None:
    if route is None:
        return None
    if route == "rerank":
        return cands.reranked[0]
    if route == "define":
        return cands.defining[0]
    return cands.order[0]


def trace(cands: Candidates, query: Query, engine: Engine, params: AnswerParams) -> Trace:
    """The figures of the candidates that the gate decides on."""
    route = route_of(cands, query, params)
    row = answer_row(cands, route)
    expects = expected_kind(query.text)
    logits = [cands.rerank[i] for i in cands.reranked]
    if row is None:
        return Trace(
            question=query.text, language=query.language, multilingual=query.multilingual,
            latin=query.latin, candidates=0, route=None, relevance=-1.0, coverage=0.0,
            lexical=0.0, passage_relevance=-1.0, cosine_margin=0.0, best_rerank=None,
            rerank_margin=0.0, dense_rank=50, lexical_rank=50, defines=False,
            expects=expects, offers=False, offers_itself=False,
            names=len(query.names),
            unknown=query.unknown, outlet=query.outlet is not None,
        )  # fmt: skip
    passage = int(cands.passage[row])
    others = [float(cands.cosine[i]) for i in cands.order if int(cands.passage[i]) != passage]
    article = cands.article[row]
    if row in cands.windows:
        start, end = cands.windows[row]
        shown = engine.articles[article].body[start:end]
    else:
        shown = cands.text[row]
    return Trace(
        question=query.text,
        language=query.language,
        multilingual=query.multilingual,
        latin=query.latin,
        candidates=len(cands.order),
        route=route,
        relevance=float(cands.cosine[row]),
        coverage=engine.lexicon.coverage(
            set(query.terms), content_terms(engine.passages[passage].text)
        ),
        lexical=float(cands.lexical[row]),
        passage_relevance=float(cands.passage_cosine[row]),
        cosine_margin=float(cands.cosine[row]) - max(others, default=-1.0),
        best_rerank=logits[0] if logits else None,
        rerank_margin=logits[0] - logits[1] if len(logits) > 1 else 0.0,
        dense_rank=_rank(cands.dense_order, passage),
        lexical_rank=_rank(cands.lexical_order, passage),
        defines=bool(cands.defining),
        expects=expects,
        offers=offers(shown, expects, query.text),
        offers_itself=offers(cands.text[row], expects, query.text),
        names=len(query.names) + len(query.numbers),
        unknown=query.unknown,
        missing=cands.missing,
        outlet=query.outlet is not None,
        date_mismatch=cands.date_mismatch,
        verified=cands.verified,
    )


def _rank(order: tuple[int, ...], passage: int) -> int:
    return order.index(passage) if passage in order else 50


NO_RERANK = -12.0  # the cross-encoder's logit when it read nothing (below any it gives)


def features(trace: Trace) -> dict[str, float]:
    """Every signal as a number (both models pick theirs by name)."""
    expects_unmet = trace.expects is not None and not trace.offers
    return {
        "rerank": trace.best_rerank if trace.best_rerank is not None else NO_RERANK,
        "rerank_margin": min(trace.rerank_margin, 8.0),
        "relevance": trace.relevance,
        "passage_relevance": trace.passage_relevance,
        "cosine_margin": trace.cosine_margin,
        "coverage": trace.coverage,
        "lexical": trace.lexical,
        "dense_top": 1.0 / (1 + trace.dense_rank),
        "lexical_top": 1.0 / (1 + trace.lexical_rank),
        "missing": float(len(trace.missing)),
        "missing_share": len(trace.missing) / max(1, trace.names),
        "unknown": float(len(trace.unknown)),
        "expects_unmet": float(expects_unmet),
        "expects_unmet_sentence": float(trace.expects is not None and not trace.offers_itself),
        "defines": float(trace.defines),
        # the best-ranked sentence answers (the cross-encoder rated its pick too low): its
        # cosine is then what speaks for it
        "plain_relevance": trace.relevance if trace.route == "plain" else 0.0,
        "names_found": float(trace.names - len(trace.missing)),
        "outlet": float(trace.outlet),
        "date_mismatch": float(trace.date_mismatch),
    }


def confidence_of(trace: Trace, models: ConfidenceModels) -> float:
    """The probability that the route's answer is right (0 when there is none)."""
    if trace.empty or trace.route is None:
        return 0.0
    model = models.of(trace.multilingual, trace.best_rerank is not None, trace.verified)
    return model.probability(features(trace))


def gate(trace: Trace, thresholds: GateThresholds) -> Route | None:
    """The route that answers, or None if the sources do not: the confidence model's
    probability that the answer is right against the operating point (the model's own unless
    min_confidence, for English questions, or ml_min_confidence is set)."""
    cut = thresholds.operating_point(
        trace.multilingual, trace.best_rerank is not None, trace.verified
    )
    if trace.route is None or confidence_of(trace, thresholds.models()) < cut:
        return None
    return trace.route
