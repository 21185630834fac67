"""Stage 2, candidates: the passages retrieved for a question and every sentence in them, as one
table (a row per candidate sentence, with its passage, article and every signal)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from index.engine import Engine
from index.search import Hit, VectorSpace, diversify, rrf
from index.text.tokens import content_terms

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
    defining: tuple[int, ...] = ()  # rows naming everyone a "who is …?" asks about
    per_passage: tuple[int, ...] = ()  # best answering row of each hit passage, hits' order
    query_vector: np.ndarray | None = None
    space: VectorSpace | None = None  # the space the sentences were scored in

    def __len__(self) -> int:
        return len(self.sentence)

    def with_(self, **changes: object) -> Candidates:
        return replace(self, **changes)


def gather(engine: Engine, query: Query, params: AnswerParams) -> Candidates:
    """The top passages for the question and every sentence in them, with their cosines and
    lexical share. Empty if the question names someone the corpus never mentions."""
    if query.unknown:
        return Candidates()
    space, vector, hits = _retrieve(engine, query, params)
    if not hits:
        return Candidates()
    return _sentences(engine, query, params, space, vector, hits)


def _retrieve(
    engine: Engine, query: Query, params: AnswerParams
) -> tuple[VectorSpace, np.ndarray, list[Hit]]:
    """The question's vector and the passages retrieved for it, in the space it is asked in."""
    retrieval = params.retrieval
    articles = engine.passage_articles
    if query.multilingual:
        assert engine.multilingual is not None and engine.models.e5 is not None
        space = engine.multilingual
        vector = engine.models.e5.encode_query(query.searched)
        ranked = space.search(vector, space.size, offset=retrieval.same_script_offset)
        scores = {hit.row: hit.score for hit in ranked}
        rows = diversify([h.row for h in ranked], articles, retrieval.top_k, retrieval.per_article)
        return space, vector, [Hit(row, scores[row]) for row in rows]
    space = engine.english
    vector = engine.models.minilm.encode_query(query.searched)
    rankings = []
    if retrieval.mode in ("hybrid", "dense"):
        rankings.append([hit.row for hit in space.search(vector, retrieval.fusion_depth)])
    if retrieval.mode in ("hybrid", "bm25"):
        rankings.append(engine.bm25.search(list(query.term_list), retrieval.fusion_depth))
    fused = rrf(rankings, retrieval.rrf_k)
    rows = diversify(fused, articles, retrieval.top_k, retrieval.per_article)
    # Fused ranks order the candidates; cosines (which mean something) decide abstention.
    cosines = space.passage_scores(vector, rows) if rows else []
    return space, vector, [Hit(row, float(c)) for row, c in zip(rows, cosines, strict=True)]


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
