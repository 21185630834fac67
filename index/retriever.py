"""Loads an index with its encoder and finds the passages nearest to a question."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from index.encoder import Encoder, model_identity
from index.models import ChunkingParams
from index.store import (
    IndexData,
    check_compatible,
    current_version_dir,
    load_version,
    read_version_manifest,
)
from index.terms import WORD, TermWeights, _stem, bare, numbers_in, term_list

_NUMBER_WORDS = dict(
    enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
)
_NUMBER_WORDS = {str(n): w for n, w in _NUMBER_WORDS.items()}
_ORDINAL_WORDS = dict(
    zip(
        map(str, range(1, 21)),
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
        "twentieth".split(),
        strict=True,
    )
)
_MONTHS = (
    "january february march april may june july august september october november december"
).split()


def _mentions(words: tuple[str, ...], name: str) -> bool:
    """A sorted word list has the name, or a word it begins ("America" in "American"), or a word
    that begins its stem ("Ukraine's" → "ukrain" in "ukrainian"), or a word of 5 letters or
    more that begins the name ("Europe" for "European")."""
    for probe in {name, _stem(name)} if len(name) >= 4 else {name}:
        at = bisect.bisect_left(words, probe)
        if at < len(words) and words[at].startswith(probe):
            return True
    for length in range(5, len(name)):
        at = bisect.bisect_left(words, name[:length])
        if at < len(words) and words[at] == name[:length]:
            return True
    return False


def _has_word(words: tuple[str, ...], word: str) -> bool:
    at = bisect.bisect_left(words, word)
    return at < len(words) and words[at] == word


@dataclass(frozen=True)
class Hit:
    """A retrieved passage: its position in IndexData.passages and its cosine similarity."""

    passage_id: int
    score: float


class Retriever:
    """An index in memory plus the encoder it was built with."""

    def __init__(self, data: IndexData, encoder: Encoder) -> None:
        self.data = data
        self.encoder = encoder

    @classmethod
    def open(
        cls,
        index_dir: Path,
        encoder: Encoder,
        *,
        corpus_fingerprint: str | None = None,
        chunking: ChunkingParams | None = None,
    ) -> Retriever:
        """Load index_dir after checking it matches this code (and the corpus, if given)."""
        path = current_version_dir(index_dir)  # read CURRENT once: a publish may follow
        manifest = read_version_manifest(path, Path(index_dir))
        check_compatible(
            manifest,
            index_dir=Path(index_dir),
            model=model_identity(),
            chunking=chunking or ChunkingParams(),
            corpus_fingerprint=corpus_fingerprint,
        )
        return cls(load_version(path, Path(index_dir), manifest), encoder)

    @cached_property
    def term_weights(self) -> TermWeights:
        """IDF of terms over the indexed sentences (computed on first use)."""
        from index.encoder import english_vocabulary

        data = self.data
        return TermWeights(
            (data.articles[s.article_id].body[s.start : s.end] for s in data.sentences),
            dictionary=english_vocabulary(),
        )

    @cached_property
    def article_words(self) -> dict[str, tuple[tuple[str, ...], frozenset[str]]]:
        """Per article: its lower-cased words (sorted, for prefix search) and its numbers, from
        its title, body and publication date ("in February 2025")."""
        out = {}
        for article in self.data.articles.values():
            text = f"{article.title}\n{article.body}"
            if article.published:
                date = article.published
                text += f"\n{date.day} {_MONTHS[date.month - 1]} {date.year}"
            words = {m.group().lower() for m in WORD.finditer(text)}
            words |= {bare(w) for w in words}
            out[article.id] = (tuple(sorted(words)), frozenset(numbers_in(text)))
        return out

    def missing_names(self, names: list[str], numbers: set[str], article_id: str) -> list[str]:
        """The names and numbers a question asks about that an article never mentions: an
        answer about Ukraine's delegation is no answer to "Who leads Belarus's delegation?".
        Names that most articles use (Ukraine, Kyiv in a corpus on the talks) are not
        required: they say little about which article is meant."""
        words, written = self.article_words[article_id]
        missing = []
        for name in names:
            lowered = bare(name)
            if not self._common(lowered) and not _mentions(words, lowered):
                missing.append(name)
        for number in sorted(numbers):
            spelt = [_NUMBER_WORDS.get(number), _ORDINAL_WORDS.get(number)]  # 2, 2nd: two, second
            if number not in written and not any(w and _has_word(words, w) for w in spelt):
                missing.append(number)
        return missing

    def _common(self, name: str) -> bool:
        """The name occurs in more than half of the articles."""
        cache = self.__dict__.setdefault("_common_cache", {})
        if len(cache) > 10_000:  # every capitalised word users type: keep it bounded
            cache.clear()
        if name not in cache:
            articles = self.article_words.values()
            cache[name] = sum(_mentions(w, name) for w, _ in articles) > len(articles) / 2
        return cache[name]

    @cached_property
    def bm25(self):
        """BM25 over the passages' stemmed content words (built on first use, in memory)."""
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        index = bm25s.BM25()
        index.index([term_list(p.text) or ["∅"] for p in self.data.passages], show_progress=False)
        return index

    def warm(self, *, rerank: bool = True, models_from: Retriever | None = None) -> None:
        """Compute lazily built tables now, before questions arrive from several threads.
        models_from: a retriever whose loaded cross-encoder and e5 model are reused (a new
        index version served by the same process)."""
        if models_from is not None:
            for name in ("reranker", "e5"):
                if name in models_from.__dict__:
                    self.__dict__[name] = models_from.__dict__[name]
        self.term_weights.correct("warm up")
        _ = self.article_words
        self.embed_question("warm up")
        _ = self.bm25
        if rerank:
            self.reranker.score("warm up", ["warm up"])
        if self.data.passage_vectors_e5 is not None:
            self.embed_question_e5("warm up")
            _ = self.non_latin

    @cached_property
    def reranker(self):
        """The cross-encoder, loaded on first use (0.2 s)."""
        from index.reranker import CrossEncoder

        return CrossEncoder(threads=1)

    @cached_property
    def e5(self):
        """The multilingual encoder, loaded on first use (only if the index holds its vectors)."""
        from index.encoder import E5Encoder

        return E5Encoder(threads=1)

    @cached_property
    def non_latin(self) -> tuple[np.ndarray, np.ndarray]:
        """Which passages and sentences are not in Latin script (bool arrays)."""
        from index.answering import is_latin

        data = self.data
        passages = np.array([not is_latin(p.text) for p in data.passages], dtype=bool)
        sentences = np.array(
            [
                not is_latin(data.articles[s.article_id].body[s.start : s.end])
                for s in data.sentences
            ],
            dtype=bool,
        )
        return passages, sentences

    def embed_question_e5(self, question: str) -> np.ndarray:
        return self.e5.encode_query(" ".join(question.split()))

    def search_vectors(
        self,
        matrix: np.ndarray,
        query: np.ndarray,
        k: int,
        *,
        per_article: int = 3,
        offset: np.ndarray | float = 0.0,
    ) -> list[Hit]:
        """Top-k rows of `matrix` by inner product (minus `offset`), at most per_article from
        one article."""
        scores = matrix @ query - offset
        order = [int(r) for r in np.argsort(-scores, kind="stable")]
        return [Hit(row, float(scores[row])) for row in self._diverse(order, k, per_article)]

    def embed_question(self, question: str) -> np.ndarray:
        return self.encoder.encode([" ".join(question.split())])[0]

    def search_bm25(self, terms: list[str], k: int) -> list[int]:
        """Passage rows by BM25 score (only those sharing a term with the query)."""
        if not terms or not self.data.passages:
            return []
        k = min(k, len(self.data.passages))
        rows, scores = self.bm25.retrieve([terms], k=k, show_progress=False)
        return [int(r) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

    def hybrid(
        self,
        query_vector: np.ndarray,
        terms: list[str],
        k: int,
        *,
        mode: str = "hybrid",
        per_article: int = 3,
        depth: int = 50,
    ) -> list[Hit]:
        """Top-k passages by reciprocal rank fusion of dense and BM25 rankings (or one of them),
        at most `per_article` from one article. Each Hit keeps the passage's dense cosine: fused
        ranks order the candidates, cosines (which mean something) decide abstention."""
        rrf: dict[int, float] = {}
        if mode in ("hybrid", "dense"):
            for rank, hit in enumerate(self.search(query_vector, depth)):
                rrf[hit.passage_id] = rrf.get(hit.passage_id, 0.0) + 1 / (60 + rank)
        if mode in ("hybrid", "bm25"):
            for rank, row in enumerate(self.search_bm25(terms, depth)):
                rrf[row] = rrf.get(row, 0.0) + 1 / (60 + rank)
        ordered = self._diverse(sorted(rrf, key=lambda row: -rrf[row]), k, per_article)
        return [Hit(row, float(self.data.passage_vectors[row] @ query_vector)) for row in ordered]

    def _diverse(self, rows: list[int], k: int, per_article: int) -> list[int]:
        """The first k rows, at most per_article from one article while others are available;
        rows held back fill the remaining places (a one-article corpus is not starved)."""
        taken: dict[str, int] = {}
        chosen: list[int] = []
        held: list[int] = []
        for row in rows:
            article = self.data.passages[row].article_id
            if taken.get(article, 0) >= per_article:
                held.append(row)
                continue
            taken[article] = taken.get(article, 0) + 1
            chosen.append(row)
            if len(chosen) == k:
                return chosen
        return chosen + held[: k - len(chosen)]

    def search(self, query_vector: np.ndarray, k: int) -> list[Hit]:
        """Top-k passages by inner product (cosine: vectors are normalized)."""
        index = self.data.passage_index
        k = min(k, index.ntotal)
        if k <= 0:
            return []
        scores, ids = index.search(query_vector.reshape(1, -1).astype(np.float32), k)
        rows = self.data.row_of_id
        return [
            Hit(rows[int(i)], float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if i >= 0 and int(i) in rows
        ]
