"""Fakes of the models, for fast tests of the answering core without loading any model.

FakeEncoder: a hashed bag of stemmed content words (two texts sharing words are close, others
are not), deterministic across processes. FakeCrossEncoder: scripted logits (a substring of the
text → a logit), else the share of the question's content words the text holds, on a logit-like
scale. Models built from them go through the real builder, store, FAISS, BM25 and pipeline.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from index.encoders import POOLED, Models, encode_each, normalized, stacked
from index.text.tokens import content_terms
from index.verifier.pairs import Pair

DIM = 128


def bag_of_words(text: str, dim: int = DIM, salt: str = "") -> np.ndarray:
    """An L2-normalized vector: one hashed, signed bucket per content term, plus a small constant
    component so that no text maps to zero."""
    vector = np.zeros(dim, dtype=np.float32)
    vector[0] = 0.2
    for term in content_terms(text):
        h = zlib.crc32((salt + term).encode())
        vector[1 + h % (dim - 1)] += 1.0 if (h >> 16) & 1 else -1.0
    return vector / np.linalg.norm(vector)


class FakeEncoder:
    """Stands in for MiniLM (or, with another name, e5): vectors from bag_of_words."""

    dim = DIM

    def __init__(self, name: str = "fake-minilm", salt: str = "", pooled: bool = False) -> None:
        self.name = name
        self.salt = salt
        self.pooled = pooled  # sentence vectors from their passage's run, as MiniLM's
        self.encoded: list[str] = []  # every text, for tests that count model calls
        self._lock = threading.Lock()

    def identity(self) -> dict[str, object]:
        identity = {"name": self.name, "package": "tests.fakes", "version": "1", "dim": self.dim}
        return {**identity, "sentences": POOLED} if self.pooled else identity

    def encode_passages(
        self, passages: Sequence[Sequence[str]], *, progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each passage read once: its vector, and each sentence's own vector with a quarter of
        the passage's mixed in (a sentence's vector depends on its passage, as in late chunking)."""
        with self._lock:
            self.encoded.extend(" ".join(p) for p in passages)

        def one(sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            whole = bag_of_words(" ".join(sentences), self.dim, self.salt)
            own = np.stack([bag_of_words(s, self.dim, self.salt) for s in sentences])
            return whole, normalized(own + 0.25 * whole)

        done = encode_each(passages, one, 1, progress)
        return stacked([w for w, _ in done], self.dim), [s for _, s in done]

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        with self._lock:
            self.encoded.extend(texts)

        def one(text: str) -> np.ndarray:
            return bag_of_words(text, self.dim, self.salt)

        return stacked(encode_each(texts, one, 1, progress), self.dim)

    def encode_query(self, text: str) -> np.ndarray:
        return bag_of_words(text, self.dim, self.salt)


class FakeCrossEncoder:
    """Scripted logits: the first `script` substring found in a text gives its logit; otherwise
    -4 + 10 × the share of the question's content terms in the text."""

    def __init__(self, script: Mapping[str, float] | None = None) -> None:
        self.script = dict(script or {})
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def identity(self) -> dict[str, object]:
        return {"name": "fake-cross-encoder", "package": "tests.fakes", "version": "1"}

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        self.calls.append((question, tuple(texts)))
        asked = content_terms(question)
        out = np.zeros(len(texts), dtype=np.float32)
        for n, text in enumerate(texts):
            scripted = [logit for part, logit in self.script.items() if part in text]
            if scripted:
                out[n] = scripted[0]
            else:
                share = len(asked & content_terms(text)) / max(1, len(asked))
                out[n] = -4.0 + 10.0 * share
        return out


class FakeVerifier:
    """Scripted logits for (question, candidate) pairs, as FakeCrossEncoder scores texts: the
    first `script` substring found in the sentence gives its logit, else the question's share
    of content terms the sentence holds (the context is never scored)."""

    def __init__(self, name: str, script: Mapping[str, float] | None = None) -> None:
        self.name = name
        self.reader = FakeCrossEncoder(script)
        self.calls: list[tuple[Pair, ...]] = []

    def identity(self) -> dict[str, object]:
        return {"name": self.name, "package": "tests.fakes", "version": "1"}

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        self.calls.append(tuple(pairs))
        return np.array(
            [self.reader.score(p.question, [p.sentence])[0] for p in pairs], dtype=np.float32
        )


def fake_models(
    *,
    multilingual: bool = True,
    rerank: bool = True,
    script: Mapping[str, float] | None = None,
    verify: bool = False,
) -> Models:
    return Models(
        minilm=FakeEncoder(pooled=True),
        e5=FakeEncoder("fake-e5", salt="e5:") if multilingual else None,
        cross_encoder=FakeCrossEncoder(script) if rerank else None,
        verifier=FakeVerifier("fake-verifier", script) if verify else None,
        verifier_ml=FakeVerifier("fake-verifier-ml", script) if verify and multilingual else None,
    )


def fake_confidence():
    """Confidence models on the fakes' scales, written by hand (the shipped ones are fitted to
    the real models' scores): English answers when the cross-encoder's logit reaches 2 (without
    it, when the cosine reaches 0.4), less 10 for every unknown or missing name;
    Ukrainian/Russian when the e5 cosine reaches 0.3."""
    from index.answering.confidence import Confidence, ConfidenceModels

    def linear(first: str, weight: float, intercept: float) -> Confidence:
        """weight × first − 10 × (unknown + missing) + intercept, answered from 0."""
        return Confidence(
            features=(first, "unknown", "missing"),
            mean=(0.0, 0.0, 0.0),
            scale=(1.0, 1.0, 1.0),
            coef=(weight, -10.0, -10.0),
            intercept=intercept,
            threshold=0.5,
        )

    english = linear("rerank", 1.0, -2.0)
    plain = linear("relevance", 20.0, -8.0)
    multilingual = linear("relevance", 20.0, -6.0)
    return ConfidenceModels(
        english=english,
        english_plain=plain,
        multilingual=multilingual,
        verified=english,  # the verifiers' logits on the same scale as the fake cross-encoder's
        verified_ml=english,
    )
