"""Adding, changing and removing articles: incremental builds, atomic publication, the lock,
crashes mid-build, and recovery from a damaged index. In-process builds use the fake models
(real chunking, store, FAISS, BM25); `talks` subprocesses and answer comparisons the real ones."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import store
from index.answering import AnswerParams, answer
from index.builder import build_index, build_lock
from index.chunking import chunk_corpus, embedding_text
from index.corpus import load_corpus
from index.engine import open_engine
from index.errors import IndexBusyError
from index.store import load_index, read_manifest

from .conftest import SEED_CORPUS, TEST_CORPUS, dev_questions
from .fakes import fake_confidence, fake_models

FAKE = AnswerParams(
    gate={"min_score": 0.3, "rerank_min_score": 2.0, "confidence": fake_confidence()}
)
PRISONERS = "2025-05-16-prisoner-exchange.md"
QUESTION = "How many prisoners of war will be exchanged?"
TALKS = shutil.which("talks")


def talks(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    command = [TALKS] if TALKS else [sys.executable, "-m", "bot"]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TALKS_")}
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**full_env, **(env or {})},
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
    # the summary's rate: all articles of a full build, the new or changed ones of an update
    assert f"{first.manifest.articles / first.seconds:.1f} articles/s) → " in first.summary(index)
    assert f"{1 / report.seconds:.1f} new or changed articles/s) → " in report.summary(index)
    # only the new article's texts went to the models: MiniLM reads each new passage once (its
    # sentences pooled from that run), e5 each new passage and sentence; the rest is reused
    second = fakes.minilm.encoded[first.manifest.passages :]
    assert sorted(second) == sorted(embedding_text(p.text) for p in new_passages)
    assert len(second) == report.embedded
    e5_second = fakes.e5.encoded[first.manifest.passages + first.manifest.sentences :]
    assert {embedding_text(p.text) for p in new_passages} <= set(e5_second)
    seed = passages_of(index, "2025-06-02-ukraine-russia-talks-turkey")
    assert not {embedding_text(p.text) for p in seed} & set(second + e5_second)
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
    assert fakes.minilm.encoded == ["A partial ceasefire was discussed."]  # one run for both
    assert fakes.e5.encoded[-2:] == ["A partial ceasefire was discussed."] * 2  # passage, sentence
    engine = open_engine(index, fakes)
    result = answer("Was a partial ceasefire discussed?", engine, FAKE)
    assert any("partial ceasefire" in q.text for q in result.quotes)
    assert not any("No ceasefire was agreed" in q.text for q in result.quotes)


def test_progress_counts_articles_read_then_every_text_a_model_reads(
    tmp_path, corpus, fakes
) -> None:
    """What the progress bar shows: each article as it is read, then each text a model reads
    (MiniLM's passages, whose sentences come from the same run, e5's passages and sentences),
    up to the total announced; an incremental build counts only what is new."""
    seen: list[tuple[str, int, int]] = []
    index = tmp_path / "index"
    first = build_index(corpus, index, fakes, progress=lambda *a: seen.append(a))
    m = first.manifest
    reading = [(d, t) for stage, d, t in seen if stage == "reading"]
    embedding = [(d, t) for stage, d, t in seen if stage == "embedding"]
    assert reading == [(n, m.articles) for n in range(1, m.articles + 1)]
    total = 2 * m.passages + m.sentences
    assert embedding == [(n, total) for n in range(1, total + 1)]
    assert seen.index(("reading", m.articles, m.articles)) < seen.index(("embedding", 1, total))
    seen.clear()
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    report = build_index(corpus, index, fakes, progress=lambda *a: seen.append(a))
    new = passages_of(index, "2025-05-16-prisoner-exchange")
    new_sentences = {s for p in new for s in p.sentence_ids}
    assert seen[-1] == (
        "embedding",
        2 * len(new) + len(new_sentences),
        2 * len(new) + len(new_sentences),
    )
    assert report.embedded == len(new)


def test_pooled_sentence_vectors_of_an_incremental_build_are_a_full_builds(
    tmp_path, corpus, fakes
) -> None:
    """A pooled sentence's vector depends on its passage: an edit that changes a passage gives
    its sentences new vectors, and the incremental result equals a full build's."""
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    build_index(corpus, incremental, fakes)
    path = corpus / PRISONERS
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("prisoners", "prisoners of war", 1), encoding="utf-8")
    build_index(corpus, incremental, fakes)
    build_index(corpus, full, fakes, full=True)
    a, b = open_engine(incremental, fakes), open_engine(full, fakes)
    for space in ("minilm", "e5"):
        x, y = a.data.vectors[space], b.data.vectors[space]
        assert np.array_equal(x.passage_vectors(), y.passage_vectors()), space
        assert np.array_equal(x.sentence_vectors, y.sentence_vectors), space
    # pooled: a sentence's vector is not its text's alone, it carries its passage
    row = next(n for n, p in enumerate(a.passages) if len(p.sentence_ids) > 1)
    sentence = a.passages[row].sentence_ids[0]
    alone = fakes.minilm.encode([embedding_text(a.sentence_text(sentence))])[0]
    assert not np.allclose(a.data.vectors["minilm"].sentence_vectors[sentence], alone)


def _article(folder: Path, name: str, published: str, body: str) -> None:
    (folder / f"{name}.md").write_text(
        f'---\ntitle: "{name}"\npublished: {published}\nurl: "https://example.org/{name}"\n'
        f'source: "Test fixture"\nlanguage: en\n---\n\n{body}\n',
        encoding="utf-8",
    )


def test_a_sentence_whose_home_passage_changes_gets_its_vector_from_the_new_one(
    tmp_path, fakes
) -> None:
    """An older article repeating the first two sentences of a newer one removes the newer
    one's first passage (its sentences are duplicates now): the third sentence's home becomes
    the second passage, whose text is unchanged. That passage is read again (the report counts
    it) and the vectors equal a full build's."""
    corpus, incremental, full = tmp_path / "corpus", tmp_path / "incremental", tmp_path / "full"
    corpus.mkdir()
    said = [
        "Ukraine's delegation arrived in Istanbul on Monday morning.",
        "Russia's delegation was led by Vladimir Medinsky this time.",
        "The two sides agreed to exchange a thousand prisoners each.",
        "Another round of talks was proposed for the end of June.",
        "Observers called the talks short but not without results.",
    ]
    _article(corpus, "newer", "2025-06-02", " ".join(said))
    build_index(corpus, incremental, fakes)
    before = {p.text for p in load_index(incremental).passages}
    _article(corpus, "older", "2025-05-16", " ".join(said[:2]) + " Nothing else was agreed then.")
    report = build_index(corpus, incremental, fakes)
    after = load_index(incremental)
    newer = [p for p in after.passages if p.article_id == "newer"]
    assert [p.text for p in newer] == [" ".join(said[2:])] and newer[0].text in before
    assert report.embedded_passages == report.manifest.passages  # the unchanged one read again
    build_index(corpus, full, fakes, full=True)
    b = load_index(full)
    for space in ("minilm", "e5"):
        x, y = after.vectors[space], b.vectors[space]
        assert np.array_equal(x.passage_vectors(), y.passage_vectors()), space
        assert np.array_equal(x.sentence_vectors, y.sentence_vectors), space


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
    for space in ("minilm", "e5"):  # MiniLM's sentences pooled from their passages' runs
        x, y = a.data.vectors[space], b.data.vectors[space]
        assert np.array_equal(x.passage_vectors(), y.passage_vectors()), space
        assert np.array_equal(x.sentence_vectors, y.sentence_vectors), space
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


# --- builds killed at every step ---------------------------------------------------------------

TINY_QUESTION = "Who led the Ukrainian delegation?"
CHILD_BUILD = (
    "import sys\n"
    "from index.builder import build_index\n"
    "from tests.fakes import fake_models\n"
    "build_index(sys.argv[1], sys.argv[2], fake_models())\n"
)


def copy_of(tiny: tuple[Path, Path], folder: Path) -> tuple[Path, Path]:
    corpus, index = folder / "corpus", folder / "index"
    shutil.copytree(tiny[0], corpus)
    shutil.copytree(tiny[1], index)
    return corpus, index


def leftovers(index: Path) -> list[str]:
    """What a build left that is neither the served version nor an older published one."""
    current = (index / "CURRENT").read_text().strip()
    found = [
        f"versions/{p.name}"
        for p in (index / "versions").iterdir()
        if p.name.startswith(".") or p.name > current
    ]
    return sorted(found + [p.name for p in index.glob(".CURRENT.*")])


def kind_of(leftover: str) -> str:
    if leftover.startswith("versions/.tmp-"):
        return ".tmp-"
    return ".CURRENT." if leftover.startswith(".CURRENT.") else "new version"


# what each kill leaves behind for the next build to clean
LEFT = {
    "locked": [],
    "embedding": [],
    "writing": [".tmp-"],
    "renamed": ["new version"],
    "pointer": [".CURRENT.", "new version"],
    "published": [],
}


@pytest.mark.parametrize("step", store.FAULT_POINTS)
def test_killing_a_rebuild_midway_leaves_the_old_index_serving(tmp_path, tiny, step) -> None:
    """A build (the real builder and store, fake models, in its own process) SIGKILLs itself
    at each step: right after taking the lock, while embedding, while writing the version's
    files, after renaming the finished folder, after writing the new CURRENT beside the old,
    and right after publishing. The old version answers, and the next build cleans up."""
    assert set(LEFT) == set(store.FAULT_POINTS)
    corpus, index = copy_of(tiny, tmp_path)
    before = read_manifest(index).version
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)  # something for the killed build to embed
    killed = subprocess.run(
        [sys.executable, "-c", CHILD_BUILD, str(corpus), str(index)],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, store.KILL_AT_ENV: step},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    served = read_manifest(index).version
    assert (served != before) if step == "published" else (served == before)
    left = leftovers(index)
    assert sorted(map(kind_of, left)) == sorted(LEFT[step]), left
    fakes = fake_models()
    assert answer(TINY_QUESTION, open_engine(index, fakes), FAKE).answered
    # the lock died with the process: the next build runs, finishes the job and cleans up
    report = build_index(corpus, index, fakes)
    assert report.manifest.articles == 2 and leftovers(index) == []
    assert len(list((index / "versions").iterdir())) <= 2
    assert passages_of(index, "2025-05-16-prisoner-exchange")  # loads, checked, with the new one


@pytest.mark.model
def test_killing_talks_index_leaves_the_old_index_serving(tmp_path, corpus, seed_index, models):
    """The real `talks index` (real models) killed while embedding: the old version answers,
    and the next build finishes the job (the other steps: the test above, with fakes)."""
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    version = read_manifest(index).version
    shutil.copy(TEST_CORPUS / PRISONERS, corpus)
    killed = talks(
        "index",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
        env={store.KILL_AT_ENV: "embedding"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert read_manifest(index).version == version  # nothing half-built was published
    assert answer("who leads Ukraine's delegation", open_engine(index, models)).answered
    report = build_index(corpus, index, models)
    assert report.added == ["2025-05-16-prisoner-exchange"] and report.unchanged == 1
    assert leftovers(index) == []
    assert "1,000" in (answer(QUESTION, open_engine(index, models)).answer or "")


# --- every file of a version damaged in every way ----------------------------------------------


def _zeroed(path: Path) -> None:
    path.write_bytes(b"\0" * path.stat().st_size)


def _flipped(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "emptied": lambda p: p.write_bytes(b""),
    "zeroed": _zeroed,
    "deleted": lambda p: p.unlink(),
    "garbage": lambda p: p.write_bytes(os.urandom(max(16, p.stat().st_size))),
    "one bit flipped": _flipped,
    "bytes appended": lambda p: p.write_bytes(p.read_bytes() + b"\n{}"),
    "replaced by a folder": _folder,
}


def ask_in_process(corpus: Path, index: Path, capsys) -> tuple[int, str]:
    """`talks ask` through bot.cli.main, as the command runs it: (exit code, stderr)."""
    from bot.cli import main

    code = main(["ask", TINY_QUESTION, "--corpus", str(corpus), "--index", str(index)])
    return code, capsys.readouterr().err


def version_files(index: Path) -> list[str]:
    """Every file of the served version (so a file added to the format is covered), and
    CURRENT."""
    folder = index / "versions" / read_manifest(index).version
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {"manifest.json", "passages.faiss", "bm25/vocab.index.json"} <= set(names)
    return [*names, "CURRENT"]


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_index_is_reported_and_a_rebuild_recovers(tmp_path, tiny, capsys, damage):
    """Each file of a published version (listed from a real one) and CURRENT, damaged: `talks
    ask` exits 1 with one line naming the fix, no traceback; `talks index` (plain, not --full)
    rebuilds it."""
    files = version_files(tiny[1])
    for n, name in enumerate(files):
        corpus, index = copy_of(tiny, tmp_path / str(n))
        version = read_manifest(index).version
        DAMAGE[damage](index / name if name == "CURRENT" else index / "versions" / version / name)
        code, err = ask_in_process(corpus, index, capsys)
        assert code == 1 and len(err.splitlines()) == 1, (name, err)
        assert err.startswith("talks: ") and "`talks index`" in err, (name, err)
        assert "damaged" in err or "has format" in err, (name, err)
        if n % len(DAMAGE) == list(DAMAGE).index(damage) or name == "CURRENT":
            # the recovery, for a share of the files under each kind (every file under some kind)
            report = build_index(corpus, index, fake_models())
            assert report.full and report.manifest.version != version, name
            assert load_index(index).manifest == report.manifest, name  # whole and consistent
            assert leftovers(index) == []


@pytest.mark.model
def test_damage_through_the_real_command_is_one_line_and_talks_index_recovers(
    tmp_path, corpus, seed_index, models, capsys
) -> None:
    """The real `talks ask` (subprocesses) on a copy of the seed index damaged in a few ways,
    then `talks index` repairing the last."""
    index = tmp_path / "index"
    token = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
    for name, damage in [
        ("sentences.npy", "garbage"),
        ("manifest.json", "truncated"),
        ("bm25/params.index.json", "deleted"),
        ("passages.faiss", "replaced by a folder"),
        ("CURRENT", "zeroed"),
    ]:
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(seed_index, index)
        version = read_manifest(index).version
        DAMAGE[damage](index / name if name == "CURRENT" else index / "versions" / version / name)
        broken = talks(
            "ask",
            "who leads Ukraine's delegation",
            "--corpus",
            str(corpus),
            "--index",
            str(index),
            env={"TELEGRAM_BOT_TOKEN": token},
        )
        assert broken.returncode == 1, (name, broken.stderr)
        assert len(broken.stderr.splitlines()) == 1 and "Traceback" not in broken.stderr
        assert "damaged" in broken.stderr and "talks index" in broken.stderr, broken.stderr
        assert token not in broken.stdout + broken.stderr
        if name != "CURRENT":
            assert name in broken.stderr, broken.stderr
    # the repair: `talks index` as the command runs it, in this process (the models are loaded)
    from bot.cli import main

    capsys.readouterr()
    assert main(["index", "--corpus", str(corpus), "--index", str(index)]) == 0
    assert "full rebuild: the previous index is damaged" in capsys.readouterr().err
    assert answer("who leads Ukraine's delegation", open_engine(index, models)).answered
    assert leftovers(index) == []


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
