"""Vectors a new index version can take over from the previous one: by the hash of the text
that was embedded, so only new or changed passages and sentences are embedded again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from index.chunking import embedding_text
from index.encoders import Encoder
from index.store import IndexData


def text_hash(text: str) -> str:
    return hashlib.sha256(embedding_text(text).encode()).hexdigest()


class VectorReuse:
    """text hash → stored vector, for one vector space of the previous version."""

    def __init__(self, known: dict[str, np.ndarray], dim: int) -> None:
        self.known = known
        self.dim = dim

    @classmethod
    def of(cls, old: IndexData | None, space: str, dim: int) -> VectorReuse:
        known: dict[str, np.ndarray] = {}
        if old is not None and space in old.vectors:
            stored = old.vectors[space]
            for row, vector in enumerate(stored.passage_vectors()):
                known[text_hash(old.passages[row].text)] = vector
            for row, vector in enumerate(stored.sentence_vectors):
                known[text_hash(old.sentence_text(row))] = vector
        return cls(known, dim)

    def missing(self, keys: Sequence[str]) -> list[int]:
        """Positions of the keys with no stored vector."""
        return [i for i, key in enumerate(keys) if key not in self.known]

    def vectors(
        self,
        keys: Sequence[str],
        texts: Sequence[str],
        encoder: Callable[[], Encoder],
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """A vector for every text: stored ones reused, the rest embedded (the encoder is only
        asked for when there is something to embed)."""
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
