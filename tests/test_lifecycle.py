"""Adding, changing and removing articles: incremental builds, atomic publication, the lock,
crashes mid-build, and recovery from a damaged index. In-process builds use the fake models
(real chunking, store, FAISS, BM25); `talks` subprocesses and answer comparisons the real ones."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.answering import AnswerParams, answer
from index.builder import build_index, build_lock
from index.chunking import chunk_corpus
from index.corpus import load_corpus
from index.engine import open_engine
from index.errors import IndexBusyError
from index.store import read_manifest

from .conftest import SEED_CORPUS, TEST_CORPUS, dev_questions
from .fakes import fake_confidence, fake_models

FAKE = AnswerParams(
    gate={"min_score": 0.3, "rerank_min_score": 2.0, "confidence": fake_confidence()}
)
PRISONERS = "2025-05-16-prisoner-exchange.md"
QUESTION = "How many prisoners of war will be exchanged?"
TALKS = shutil.which("talks")


def talks(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    command = [TALKS] if TALKS else [sys.executable, "-m", "bot"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALKS_")}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def fakes():
    return fake_models()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, folder)
    (folder / "README.md").unlink()
    return folder


def passages_of(index_dir: Path, article_id: str) -> list:
    from index.store import load_index

    return [p for p in load_index(index_dir).passages if p.article_id == article_id]


def test_adding_an_article_embeds_only_its_passages(tmp_path, corpus, fakes) -> None:
    index = tmp_path / "index"
    first = build_index(corpus, index, fakes)
    assert first.full and first.embedded_passages == first.manifest.passages
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    report = build_index(corpus, index, fakes)
    new_passages = passages_of(index, "2025-05-16-prisoner-exchange")
    assert report.added == ["2025-05-16-prisoner-exchange"]
    assert report.unchanged == 1 and not report.changed and not report.removed
    assert report.embedded_passages == len(new_passages) > 0
    assert report.reused_passages == first.manifest.passages
    # only the new article's texts went to the models, in both vector spaces
    from index.chunking import embedding_text

    second = fakes.minilm.encoded[first.embedded :]
    assert len(second) == report.embedded
    assert {embedding_text(p.text) for p in new_passages} <= set(second)
    seed = passages_of(index, "2025-06-02-ukraine-russia-talks-turkey")
    assert not {embedding_text(p.text) for p in seed} & set(second)
    assert fakes.e5.encoded == fakes.minilm.encoded  # the e5 space is reused alike
    result = answer(QUESTION, open_engine(index, fakes), FAKE)
    assert result.answered and result.quotes[0].article_id == "2025-05-16-prisoner-exchange"
    # nothing changed: nothing is embedded or written
    again = build_index(corpus, index, fakes)
    assert again.up_to_date and read_manifest(index).version == report.manifest.version


def test_editing_an_article_re_embeds_only_the_changed_passages(tmp_path, corpus, fakes) -> None:
    index = tmp_path / "index"
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    build_index(corpus, index, fakes)
    before = {p.text for p in passages_of(index, "2025-05-16-prisoner-exchange")}
    fakes.minilm.encoded.clear()
    path = corpus / PRISONERS
    path.write_text(
        path.read_text().replace("No ceasefire was agreed.", "A partial ceasefire was discussed."),
        encoding="utf-8",
    )
    report = build_index(corpus, index, fakes)
    assert report.changed == ["2025-05-16-prisoner-exchange"] and report.unchanged == 1
    assert report.embedded_passages == 1  # the one list item that changed
    after = {p.text for p in passages_of(index, "2025-05-16-prisoner-exchange")}
    assert after - before == {"A partial ceasefire was discussed."}
    assert fakes.minilm.encoded == ["A partial ceasefire was discussed."] * 2  # passage, sentence
    assert fakes.e5.encoded[-2:] == fakes.minilm.encoded
    engine = open_engine(index, fakes)
    result = answer("Was a partial ceasefire discussed?", engine, FAKE)
    assert any("partial ceasefire" in q.text for q in result.quotes)
    assert not any("No ceasefire was agreed" in q.text for q in result.quotes)


def test_a_deleted_article_never_appears_again(tmp_path, corpus, fakes) -> None:
    index = tmp_path / "index"
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    build_index(corpus, index, fakes)
    (corpus / PRISONERS).unlink()
    report = build_index(corpus, index, fakes)
    assert report.removed == ["2025-05-16-prisoner-exchange"] and report.embedded == 0
    engine = open_engine(index, fakes)
    assert "2025-05-16-prisoner-exchange" not in engine.articles
    assert engine.bm25.size == len(engine.passages) == engine.english.size
    for question in [QUESTION, "How long did talks last?", "prisoners exchanged"]:
        result = answer(question, engine, FAKE)
        assert all(q.article_id != "2025-05-16-prisoner-exchange" for q in result.quotes)
        assert "1,000 prisoners" not in (result.answer or "")


@pytest.mark.model
def test_incremental_and_full_builds_give_identical_answers(tmp_path, corpus, models) -> None:
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    build_index(corpus, incremental, models)
    for name in os.listdir(TEST_CORPUS):  # articles arrive one by one
        shutil.copy(TEST_CORPUS / name, corpus)
        build_index(corpus, incremental, models)
    (corpus / "city-budget-distractor.txt").unlink()
    build_index(corpus, incremental, models)
    build_index(corpus, full, models, full=True)
    a, b = open_engine(incremental, models), open_engine(full, models)
    assert [p.text for p in a.passages] == [p.text for p in b.passages]
    questions = [q["q"] for q in dev_questions()] + [
        "How many prisoners of war will be exchanged?",
        "Why is the grain corridor still closed?",
        "How much money will the city spend on parks?",
    ]
    for question in questions:
        x, y = answer(question, a), answer(question, b)
        assert x.answered == y.answered and x.answer == y.answer, question
        assert [(q.article_id, q.start, q.end) for q in x.quotes] == [
            (q.article_id, q.start, q.end) for q in y.quotes
        ], question
        for qx, qy in zip(x.quotes, y.quotes, strict=True):
            assert qx.score == pytest.approx(qy.score, abs=2e-3)


@pytest.mark.model
def test_second_build_at_the_same_time_is_refused_clearly(tmp_path, corpus, fakes) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, fakes)
    version = read_manifest(index).version
    with build_lock(index):
        with pytest.raises(IndexBusyError, match="Another build"):
            build_index(corpus, index, fakes, full=True)
        result = talks("index", "--full", "--corpus", str(corpus), "--index", str(index))
        assert result.returncode == 1
        assert "Another build" in result.stderr and "keeps serving" in result.stderr
    assert read_manifest(index).version == version


def make_synthetic(folder: Path, n: int) -> None:
    [seed] = load_corpus(SEED_CORPUS).articles
    sentences = [s for s in seed.body.split(". ") if len(s) > 40]
    for i in range(n):
        body = "\n\n".join(
            " ".join(
                f"{sentences[(i * 7 + p * 3 + j) % len(sentences)]}, report {i}.{p}.{j}."
                for j in range(5)
            )
            for p in range(4)
        )
        (folder / f"synthetic-{i:03d}.md").write_text(
            f'---\ntitle: "Synthetic {i}"\npublished: 2025-06-03\nurl: "https://example.org/s/{i}"\n'
            f'source: "Synthetic test text"\n---\n\n{body}\n',
            encoding="utf-8",
        )


@pytest.mark.model
def test_killing_a_rebuild_midway_leaves_the_old_index_serving(tmp_path, corpus, models) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, models)
    version = read_manifest(index).version
    make_synthetic(corpus, 80)  # enough text that the rebuild takes several seconds
    command = [TALKS] if TALKS else [sys.executable, "-m", "bot"]
    proc = subprocess.Popen(
        [*command, "index", "--full", "--corpus", str(corpus), "--index", str(index)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("TALKS_")},
    )
    lock = index / ".build.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until it holds the lock and is embedding
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            break
        time.sleep(0.05)
    time.sleep(3)
    assert proc.poll() is None, "the rebuild finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert read_manifest(index).version == version  # nothing half-built was published
    assert answer("who leads Ukraine's delegation", open_engine(index, models)).answered
    # the lock died with the process: the next build runs, and finishes the job
    report = build_index(corpus, index, models)
    assert report.manifest.articles == 81


@pytest.mark.model
def test_damaged_index_is_reported_and_a_rebuild_recovers(tmp_path, corpus) -> None:
    index = tmp_path / "index"
    assert talks("index", "--corpus", str(corpus), "--index", str(index)).returncode == 0
    version_dir = index / "versions" / read_manifest(index).version
    (version_dir / "sentences.npy").write_bytes(b"\x93NUMPY garbage")
    broken = talks(
        "ask", "who leads Ukraine's delegation", "--corpus", str(corpus), "--index", str(index)
    )
    assert broken.returncode == 1
    assert "damaged" in broken.stderr and "sentences.npy" in broken.stderr
    assert "talks index" in broken.stderr
    fixed = talks("index", "--full", "--corpus", str(corpus), "--index", str(index))
    assert fixed.returncode == 0, fixed.stderr
    ok = talks(
        "ask",
        "--json",
        "who leads Ukraine's delegation",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["answered"]


def test_plain_index_run_also_recovers_from_damage(tmp_path, corpus, fakes) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, fakes)
    version_dir = index / "versions" / read_manifest(index).version
    (version_dir / "passages.jsonl").write_text("not json\n")
    report = build_index(corpus, index, fakes)
    assert report.full and report.reason == "the previous index is damaged"
    assert open_engine(index, fakes).version == report.manifest.version


def test_segments_are_reused_for_unchanged_articles(tmp_path, corpus, fakes, monkeypatch) -> None:
    import index.chunking as chunking

    index = tmp_path / "index"
    build_index(corpus, index, fakes)
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    segmented = []
    real = chunking.segment
    monkeypatch.setattr(chunking, "segment", lambda a: segmented.append(a.id) or real(a))
    build_index(corpus, index, fakes)
    assert segmented == ["2025-05-16-prisoner-exchange"]
    fresh = chunk_corpus(sorted(load_corpus(corpus).articles, key=lambda a: (a.published, a.id)))
    assert [p.text for p in open_engine(index, fakes).passages] == [p.text for p in fresh.passages]


def test_repeated_short_passages_in_one_article_are_each_kept(tmp_path, fakes) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "a.md").write_text(
        "---\ntitle: Repeats\npublished: 2025-06-01\nurl: https://e.org/a\nsource: Test\n---\n\n"
        "The talks ended without a deal on Monday evening.\n\nNo. No. No. No. No.\n\n"
        "Another paragraph says the delegations will meet again.\n",
        encoding="utf-8",
    )
    first = build_index(corpus, index, fakes)
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    second = build_index(corpus, index, fakes)  # once failed: two passages, one old id
    engine = open_engine(index, fakes)
    assert len(engine.passages) == engine.english.size == second.manifest.passages
    assert second.embedded_passages == second.manifest.passages - first.manifest.passages
    # position = id: each passage's stored vector is its own text's
    for row, passage in enumerate(engine.passages):
        expected = fakes.minilm.encode([passage.text])[0]
        assert engine.english.passage_vectors[row] == pytest.approx(expected, abs=1e-6)


def test_another_e5_model_means_a_full_rebuild_not_mixed_vectors(tmp_path, corpus, fakes) -> None:
    import dataclasses

    from index.errors import IndexMismatchError

    from .fakes import FakeEncoder

    index = tmp_path / "index"
    build_index(corpus, index, fakes)
    other = dataclasses.replace(fakes, e5=FakeEncoder("another-e5", salt="x:"))
    with pytest.raises(
        IndexMismatchError, match=r"e5 model fake-e5 .*, this version .* another-e5"
    ):
        open_engine(index, other)
    report = build_index(corpus, index, other)
    assert report.full and "another model" in report.reason
    assert open_engine(index, other).manifest.models["e5"]["name"] == "another-e5"
    # without e5 the index is rebuilt without its vectors, and serves English questions
    english = dataclasses.replace(fakes, e5=None)
    report = build_index(corpus, index, english)
    assert not report.full and report.embedded == 0
    engine = open_engine(index, english)
    assert engine.multilingual is None and engine.manifest.spaces() == ["minilm"]
