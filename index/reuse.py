"""Vectors a new index version can take over from the previous one: by the hash of the text
that was embedded, so only new or changed passages and sentences are embedded again.

In a space whose sentence vectors are pooled from their passage's run (late chunking, see
index.encoders), a sentence's vector depends on that passage too: it is keyed by its home
passage (the first passage holding it), its place there and its own text, and a sentence whose
key is new has its home passage read again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.chunking import embedding_text
from index.encoders import Encoder
from index.models import Passage
from index.store import IndexData


def text_hash(text: str) -> str:
    return hashlib.sha256(embedding_text(text).encode()).hexdigest()


def sentence_homes(passages: Sequence[Passage], sentences: int) -> list[tuple[int, int]]:
    """For every sentence row: (the first passage holding it, its place in that passage)."""
    homes: list[tuple[int, int] | None] = [None] * sentences
    for row, passage in enumerate(passages):
        for place, sentence in enumerate(passage.sentence_ids):
            if homes[sentence] is None:
                homes[sentence] = (row, place)
    missing = [n for n, home in enumerate(homes) if home is None]
    if missing:
        raise ValueError(f"sentences {missing[:5]} belong to no passage")
    return homes  # type: ignore[return-value]


@dataclass(frozen=True)
class Texts:
    """What one build embeds: passages and sentences, their texts and keys."""

    passage_texts: list[str]
    sentence_texts: list[str]
    passage_keys: list[str]
    sentence_keys: list[str]  # by the sentence's text
    pooled_keys: list[str]  # by its home passage, its place there and its own text
    homes: list[tuple[int, int]]
    passage_sentences: list[list[int]]  # each passage's sentence rows, in order

    @classmethod
    def of(cls, passages: Sequence[Passage], sentence_texts: list[str]) -> Texts:
        texts = [p.text for p in passages]
        keys = [text_hash(t) for t in texts]
        sentence_keys = [text_hash(t) for t in sentence_texts]
        homes = sentence_homes(passages, len(sentence_texts))
        return cls(
            passage_texts=texts,
            sentence_texts=sentence_texts,
            passage_keys=keys,
            sentence_keys=sentence_keys,
            pooled_keys=[
                f"{keys[row]}#{place}#{key}"
                for (row, place), key in zip(homes, sentence_keys, strict=True)
            ],
            homes=homes,
            passage_sentences=[list(p.sentence_ids) for p in passages],
        )

    @classmethod
    def of_index(cls, data: IndexData) -> Texts:
        """The texts a stored version embedded."""
        sentences = [data.sentence_text(row) for row in range(len(data.sentences))]
        return cls.of(data.passages, sentences)


class VectorReuse:
    """text hash → stored vector, for one vector space of the previous version."""

    def __init__(self, known: dict[str, np.ndarray], dim: int, pooled: bool = False) -> None:
        self.known = known
        self.dim = dim
        self.pooled = pooled

    @classmethod
    def of(
        cls,
        old: IndexData | None,
        texts: Texts | None,
        space: str,
        dim: int,
        pooled: bool = False,
    ) -> VectorReuse:
        """`texts`: Texts.of_index(old), made once for all spaces."""
        known: dict[str, np.ndarray] = {}
        if old is not None and texts is not None and space in old.vectors:
            stored = old.vectors[space]
            for row, vector in enumerate(stored.passage_vectors()):
                known[texts.passage_keys[row]] = vector
            keys = texts.pooled_keys if pooled else texts.sentence_keys
            for row, vector in enumerate(stored.sentence_vectors):
                known[keys[row]] = vector
        return cls(known, dim, pooled)

    def missing(self, keys: Sequence[str]) -> list[int]:
        """Positions of the keys with no stored vector."""
        return [i for i, key in enumerate(keys) if key not in self.known]

    def passages_to_read(self, texts: Texts) -> int:
        """How many passages this space will send to its model (pooled: also those read again
        for a sentence whose home moved to them)."""
        if not self.pooled:
            return len(self.missing(texts.passage_keys))
        return len(self._passages_to_read(texts))

    def to_read(self, texts: Texts) -> int:
        """How many texts this space will send to its model (pooled: passages only)."""
        sentences = 0 if self.pooled else len(self.missing(texts.sentence_keys))
        return self.passages_to_read(texts) + sentences

    def space_vectors(
        self,
        texts: Texts,
        encoder: Callable[[], Encoder],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(passage vectors, sentence vectors) of this space: stored ones reused, the rest
        embedded (the encoder is only asked for when there is something to embed)."""
        if self.pooled:
            return self._pooled(texts, encoder, progress)
        return (
            self.vectors(texts.passage_keys, texts.passage_texts, encoder, progress),
            self.vectors(texts.sentence_keys, texts.sentence_texts, encoder, progress),
        )

    def vectors(
        self,
        keys: Sequence[str],
        texts: Sequence[str],
        encoder: Callable[[], Encoder],
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """A vector for every text: stored ones reused, the rest embedded one by one."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        missing = self.missing(keys)
        if missing:
            model = encoder()
            out[missing] = model.encode(
                [embedding_text(texts[i]) for i in missing], progress=progress
            )
        for i, key in enumerate(keys):
            if key in self.known:
                out[i] = self.known[key]
        return out

    def _passages_to_read(self, texts: Texts) -> list[int]:
        rows = set(self.missing(texts.passage_keys))
        rows.update(texts.homes[s][0] for s in self.missing(texts.pooled_keys))
        return sorted(rows)

    def _pooled(
        self,
        texts: Texts,
        encoder: Callable[[], Encoder],
        progress: Callable[[int], None] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        passages = np.zeros((len(texts.passage_keys), self.dim), dtype=np.float32)
        sentences = np.zeros((len(texts.pooled_keys), self.dim), dtype=np.float32)
        for out, keys in ((passages, texts.passage_keys), (sentences, texts.pooled_keys)):
            for i, key in enumerate(keys):
                if key in self.known:
                    out[i] = self.known[key]
        rows = self._passages_to_read(texts)
        if rows:
            pieces = [
                [embedding_text(texts.sentence_texts[s]) for s in texts.passage_sentences[row]]
                for row in rows
            ]
            read, pooled = encoder().encode_passages(pieces, progress=progress)
            passages[rows] = read
            for row, vectors in zip(rows, pooled, strict=True):
                for place, s in enumerate(texts.passage_sentences[row]):
                    if texts.homes[s] == (row, place):
                        sentences[s] = vectors[place]
        return passages, sentences
