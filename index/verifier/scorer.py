"""The verifier at answer time: an int8 ONNX file (made once per machine by export.py) run with
onnxruntime, one pair per run (int8 dynamic quantization scales a run by its largest
activation, so in a batch a pair's logit would depend on the others)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.e5_weights import E5Weights
from index.packaged import reranker_dir
from index.runtime import session

from .pairs import FAMILIES, FamilyName, Pair, batch


class PairEncoder:
    """Pairs → model inputs for one family: token ids assembled from the three segments
    (pairs.Family.assemble); for e5, word embeddings looked up outside the graph."""

    def __init__(self, family: FamilyName, weights: E5Weights | None = None) -> None:
        self.family = FAMILIES[family]
        self._lock = threading.Lock()  # a tokenizer is never entered by two threads
        if family == "en":
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(reranker_dir() / "tokenizer.json"))
            self._tokenizer.no_padding()  # its file pads every text to 512 tokens
            self._tokenizer.no_truncation()
            self._weights = None
        else:
            self._weights = weights or E5Weights()

    def content(self, texts: list[str]) -> list[list[int]]:
        with self._lock:
            if self._weights is not None:
                return self._weights.content_ids(texts)
            return [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def assembled(self, pairs: Sequence[Pair]) -> list[tuple[list[int], list[int]]]:
        texts = [t for p in pairs for t in self.family.texts(p)]
        ids = self.content(texts)
        return [self.family.assemble(*ids[3 * n : 3 * n + 3]) for n in range(len(pairs))]

    def inputs(self, rows: list[tuple[list[int], list[int]]]) -> dict[str, np.ndarray]:
        """One padded batch of assembled pairs as the graph's inputs."""
        out = batch(rows, self.family.pad)
        if self._weights is not None:
            ids = out.pop("input_ids")
            out["inputs_embeds"] = self._weights.word_rows(ids)
            out["attention_mask"] = out["attention_mask"].astype(np.int64)
        return out


class Verifier:
    """Scores (question, candidate) pairs: a logit, higher means "gives what was asked"."""

    def __init__(
        self,
        family: FamilyName,
        path: Path,
        identity: dict[str, object],
        threads: int = 1,
        weights: E5Weights | None = None,
    ) -> None:
        self.family = family
        self._identity = identity
        self._encoder = PairEncoder(family, weights)
        self._session = session(path, threads)

    def identity(self) -> dict[str, object]:
        return self._identity

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        logits = np.zeros(len(pairs), dtype=np.float32)
        for n, row in enumerate(self._encoder.assembled(pairs)):
            out = self._session.run(None, self._encoder.inputs([row]))[0]
            logits[n] = float(np.asarray(out).reshape(-1)[0])
        return logits
