"""Stage 2, candidates: the passages retrieved for a question and every sentence in them, as one
table (a row per candidate sentence, with its passage, article and every signal)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np

from index.engine import Engine
from index.search import Hit, VectorSpace, diversify, rrf
from index.text.tokens import content_terms

from . import recency
from .params import AnswerParams
from .query import Query


def _floats() -> np.ndarray:
    return np.zeros(0, dtype=np.float32)


def _ints() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Candidates:
    """Candidate sentences: column i of every array is row i of the table. Later stages fill
    the scores and orders; every list of rows below indexes this table."""

    hits: tuple[Hit, ...] = ()  # the retrieved passages, best first
    sentence: np.ndarray = field(default_factory=_ints)
    passage: np.ndarray = field(default_factory=_ints)  # best hit
    passage_rank: np.ndarray = field(default_factory=_ints)
    article: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    cosine: np.ndarray = field(
        default_factory=_floats
    )  # the sentence's own (e5's: same-script offset taken back)
    passage_cosine: np.ndarray = field(default_factory=_floats)  # its best hit passage's
    lexical: np.ndarray = field(
        default_factory=_floats
    )  # share of the question's IDF-weighted terms it holds
    combined: np.ndarray = field(
        default_factory=_floats
    )  # scoring: the weighted blend the ranking uses
    order: tuple[int, ...] = ()  # scoring and filters: the rows that may answer, best first
    missing: tuple[str, ...] = ()  # names/numbers the best candidate's article lacks
    rerank: dict[int, float] = field(default_factory=dict)  # row → cross-encoder logit
    reranked: tuple[int, ...] = ()  # rows the cross-encoder rated, best first
    windows: dict[int, tuple[int, int]] = field(default_factory=dict)  # the text it read
    verified: bool = False  # rerank holds the trained verifier's logits (not the old reader's)
    defining: tuple[int, ...] = ()  # rows naming everyone a "who is …?" asks about
    per_passage: tuple[int, ...] = ()  # best answering row of each hit passage, hits' order
    query_vector: np.ndarray | None = None
    space: VectorSpace | None = None  # the space the sentences were scored in
    dense_order: tuple[int, ...] = ()  # passages by the dense search alone, best first
    lexical_order: tuple[int, ...] = ()  # by BM25 alone (English terms, or the names found)
    date_mismatch: bool = False  # the question names a date no candidate's article is from
    newest: dt.date | None = None  # the newest publication date on the question's subject

    def __len__(self) -> int:
        return len(self.sentence)

    def with_(self, **changes: object) -> Candidates:
        return replace(self, **changes)


def reader(query: Query, engine: Engine, params: AnswerParams):
    """The trained verifier that will read this question's candidates, or None (off, or not
    loaded: the route of before)."""
    if not params.scoring.verify:
        return None
    models = engine.models
    return models.verifier_ml if query.multilingual else models.verifier


def gather(engine: Engine, query: Query, params: AnswerParams) -> Candidates:
    """The top passages for the question (of the outlet it names, if it names one) and every
    sentence in them, with their cosines and lexical share."""
    retrieved = _retrieve(engine, query, params)
    if not retrieved.hits:
        return Candidates()
    cands = _sentences(engine, query, params, retrieved.space, retrieved.vector, retrieved.hits)
    return cands.with_(
        dense_order=retrieved.dense, lexical_order=retrieved.lexical, newest=retrieved.newest
    )


@dataclass(frozen=True)
class _Retrieved:
    space: VectorSpace
    vector: np.ndarray
    hits: list[Hit]
    dense: tuple[int, ...]
    lexical: tuple[int, ...]
    newest: dt.date | None  # the newest article on the subject


def _allowed(engine: Engine, query: Query):
    """A filter for passage rows: those of the outlet the question names, and of the articles
    published in the span of days it names, when any was (all rows if it names neither)."""
    wanted: frozenset[str] | None = None
    if query.outlet is not None:
        wanted = engine.outlets[query.outlet]
    dated = query.dated
    if dated and (wanted is None or wanted & dated):
        wanted = dated if wanted is None else wanted & dated
    if wanted is None:
        return lambda rows: list(rows)
    articles = engine.passage_articles
    return lambda rows: [r for r in rows if articles[r] in wanted]


def _cosines(space: VectorSpace, vector: np.ndarray, rows: list[int], offset: float) -> np.ndarray:
    """The passages' cosines, e5's same-script offset taken back."""
    cosines = space.passage_scores(vector, rows) if rows else np.zeros(0, dtype=np.float32)
    if offset and rows and space.non_latin is not None:
        cosines = cosines - space.non_latin[0][rows] * offset
    return cosines


def _retrieve(engine: Engine, query: Query, params: AnswerParams) -> _Retrieved:
    """The question's vector and the passages retrieved for it, in the space it is asked in:
    dense and BM25 rankings fused (for Ukrainian and Russian questions, e5's and BM25's over
    the names found in the corpus)."""
    retrieval = params.retrieval
    allowed = _allowed(engine, query)
    # a filter (an outlet, a span of dates) searches every passage: those it keeps may all
    # rank below the first fusion_depth
    filtered = query.outlet is not None or bool(query.dated)
    depth = len(engine.passages) if filtered else retrieval.fusion_depth
    if query.multilingual:
        assert engine.multilingual is not None and engine.models.e5 is not None
        space, offset = engine.multilingual, retrieval.same_script_offset
        vector = engine.models.e5.encode_query(query.searched)
        dense = allowed(h.row for h in space.search(vector, space.size, offset=offset))
    else:
        space, offset = engine.english, 0.0
        vector = engine.models.minilm.encode_query(query.searched)
        dense = allowed(h.row for h in space.search(vector, depth))
    lexical = allowed(engine.bm25.search(list(query.term_list), depth)) if query.term_list else []
    if query.multilingual or retrieval.mode == "hybrid":
        rankings = [dense[: retrieval.fusion_depth], lexical[: retrieval.fusion_depth]]
    else:
        rankings = [dense if retrieval.mode == "dense" else lexical]
    fused = rrf([r for r in rankings if r], retrieval.rrf_k)
    top = fused[: retrieval.fusion_depth]
    subject = recency.on_subject(engine, query, params, top, _cosines(space, vector, top, offset))
    if query.latest:
        subject = recency.latest_subject(engine, query, params, fused, subject)
        fused = recency.newest_only(engine, fused, subject)
    rows = diversify(fused, engine.passage_articles, retrieval.top_k, retrieval.per_article)
    # Fused ranks order the candidates; cosines (which mean something) decide abstention.
    cosines = _cosines(space, vector, rows, offset)
    hits = [Hit(row, float(c)) for row, c in zip(rows, cosines, strict=True)]
    newest = max(subject.values(), default=None)
    return _Retrieved(space, vector, hits, tuple(dense[:50]), tuple(lexical[:50]), newest)


def _sentences(
    engine: Engine,
    query: Query,
    params: AnswerParams,
    space: VectorSpace,
    vector: np.ndarray,
    hits: list[Hit],
) -> Candidates:
    """One row per sentence of the hit passages, with the best score of a passage holding it."""
    best: dict[int, tuple[float, int]] = {}
    first_rank: dict[int, int] = {}
    for position, hit in enumerate(hits):
        for sid in engine.passages[hit.row].sentence_ids:
            first_rank.setdefault(sid, position)
            if sid not in best or hit.score > best[sid][0]:
                best[sid] = (hit.score, hit.row)
    sentences = np.fromiter(best, dtype=np.int64)
    texts = tuple(engine.sentence_text(int(s)) for s in sentences)
    offset = params.retrieval.same_script_offset if query.multilingual else 0.0
    return Candidates(
        hits=tuple(hits),
        sentence=sentences,
        passage=np.array([best[int(s)][1] for s in sentences], dtype=np.int64),
        passage_rank=np.array([first_rank[int(s)] for s in sentences], dtype=np.int64),
        article=tuple(engine.sentences[int(s)].article_id for s in sentences),
        text=texts,
        cosine=space.sentence_scores(vector, sentences, offset=offset),
        passage_cosine=np.array([best[int(s)][0] for s in sentences], dtype=np.float32),
        lexical=np.array(
            [engine.lexicon.coverage(set(query.terms), content_terms(t)) for t in texts],
            dtype=np.float32,
        ),
        query_vector=vector,
        space=space,
    )
