"""Finding passages: a vector space searched by inner product (FAISS), BM25 over the passages'
content terms (bm25s), reciprocal rank fusion of the two, and a per-article cap."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.store import StoredVectors
from index.text.tokens import term_list

EMPTY_PASSAGE = "∅"  # BM25 needs a token in every document


@dataclass(frozen=True)
class Hit:
    """A retrieved passage: its row in the index and its cosine similarity to the question."""

    row: int
    score: float


class VectorSpace:
    """The passages and sentences of one version as one model embeds them. `non_latin` marks
    passages and sentences whose scores a search may lower by an offset (e5 rates any two texts
    in the same script as close; the offset takes that back)."""

    def __init__(
        self,
        stored: StoredVectors,
        *,
        non_latin: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.index = stored.passage_index
        self.passage_vectors = stored.passage_vectors()
        self.sentence_vectors = stored.sentence_vectors
        self.non_latin = non_latin

    @property
    def size(self) -> int:
        return int(self.index.ntotal)  # type: ignore[attr-defined]

    def search(self, query: np.ndarray, depth: int, *, offset: float = 0.0) -> list[Hit]:
        """The `depth` passages nearest the query (inner product: cosine for unit vectors; a
        non-Latin passage's score lowered by `offset`), best first."""
        depth = min(depth, self.size)
        if depth <= 0:
            return []
        lowered = self.non_latin[0] * offset if offset and self.non_latin is not None else None
        if lowered is not None:
            depth = self.size  # an offset can reorder anything: rank them all
        scores, rows = self.index.search(  # type: ignore[attr-defined]
            query.reshape(1, -1).astype(np.float32), depth
        )
        hits = [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        if lowered is not None:
            hits = [(r, s - float(lowered[r])) for r, s in hits]
            hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return [Hit(r, s) for r, s in hits]

    def passage_scores(self, query: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        return self.passage_vectors[list(rows)] @ query

    def sentence_scores(self, query: np.ndarray, rows: np.ndarray, *, offset: float = 0.0):
        """Cosines of the given sentences with the query (non-Latin ones lowered by offset)."""
        scores = self.sentence_vectors[rows] @ query
        if offset and self.non_latin is not None:
            scores = scores - self.non_latin[1][rows] * offset
        return scores


class Bm25:
    """BM25 over the passages' stemmed content words, saved with the index version."""

    def __init__(self, model: object, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, passage_texts: Sequence[str]) -> Bm25:
        import bm25s

        _quiet()
        model = bm25s.BM25()
        model.index(
            [term_list(text) or [EMPTY_PASSAGE] for text in passage_texts], show_progress=False
        )
        return cls(model, len(passage_texts))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path, size: int) -> Bm25:
        import bm25s

        _quiet()
        return cls(bm25s.BM25.load(str(folder), show_progress=False), size)

    def search(self, terms: list[str], depth: int) -> list[int]:
        """Passage rows by BM25 score, best first (only those sharing a term with the query)."""
        if not terms or not self.size:
            return []
        depth = min(depth, self.size)
        rows, scores = self._model.retrieve(  # type: ignore[attr-defined]
            [terms], k=depth, show_progress=False
        )
        return [int(r) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]


def _quiet() -> None:
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> list[int]:
    """Reciprocal rank fusion: rows ordered by the sum of 1/(k + rank) over the rankings."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + 1 / (k + rank)
    return sorted(fused, key=lambda row: -fused[row])


def diversify(
    rows: Sequence[int], article_of: Sequence[str], k: int, per_article: int
) -> list[int]:
    """The first k rows, at most per_article from one article while others are available;
    rows held back fill the remaining places (a one-article corpus is not starved)."""
    taken: dict[str, int] = {}
    chosen: list[int] = []
    held: list[int] = []
    for row in rows:
        article = article_of[row]
        if taken.get(article, 0) >= per_article:
            held.append(row)
            continue
        taken[article] = taken.get(article, 0) + 1
        chosen.append(row)
        if len(chosen) == k:
            return chosen
    return chosen + held[: k - len(chosen)]
