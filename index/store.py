"""The index on disk: a folder of plain files plus a manifest, published atomically.

    INDEX_DIR/
      CURRENT                      name of the version being served (replaced in one step)
      versions/<version>/
        manifest.json              model, dimension, chunking, corpus fingerprint, counts, hashes
        articles.jsonl             one Article per line (the text quotes are checked against)
        passages.jsonl             one Passage per line (with its FAISS id); line i is row i of
                                   passages.npy
        sentences.jsonl            one Sentence per line; line i is row i of sentences.npy
        segments.jsonl             sentence spans of every article (reused when it is unchanged)
        passages.faiss             faiss IndexIDMap2(IndexFlatIP): passage vectors by passage id
        passages.npy, sentences.npy  float32 L2-normalized vectors (numpy, no pickle), kept so
                                   an unchanged passage or sentence is never embedded again
        passages_e5.npy, sentences_e5.npy  the same texts by the multilingual model (optional:
                                   present when the manifest names a multilingual model)

A version is written under a temporary name, renamed into versions/, and only then named in
CURRENT, so a crash at any point leaves the previous version served. No pickle anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from index.errors import (
    IndexBuildError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from index.models import Article, ChunkingParams, Passage, Sentence

FORMAT = "talks-index"
FORMAT_VERSION = 3
CURRENT = "CURRENT"
VERSIONS = "versions"
FILES = (
    "articles.jsonl",
    "passages.jsonl",
    "sentences.jsonl",
    "segments.jsonl",
    "passages.faiss",
    "passages.npy",
    "sentences.npy",
)
E5_FILES = ("passages_e5.npy", "sentences_e5.npy")
REBUILD = "rebuild it with `talks index`"


class Manifest(BaseModel):
    """manifest.json: what the index was built from and with."""

    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    version: str
    created_at: str
    talks_version: str
    model: dict[str, object]
    chunking: dict[str, object]
    corpus_fingerprint: str
    articles: int
    passages: int
    sentences: int
    skipped: list[str]
    duplicate_sentences: int
    near_duplicate_passages: int
    next_passage_id: int  # ids below this were handed out once and are never reused
    multilingual: dict[str, object] | None = None  # the e5 model, when its vectors are stored
    files: dict[str, str]  # name -> sha256


@dataclass
class IndexData:
    """Everything a Retriever needs, loaded and checked."""

    path: Path
    manifest: Manifest
    articles: dict[str, Article]
    passages: list[Passage]
    sentences: list[Sentence]
    passage_index: object  # faiss.Index (IndexIDMap2: ids are Passage.id)
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    segments: dict[str, list[list[tuple[int, int]]]]
    row_of_id: dict[int, int]  # passage id -> position in `passages`
    passage_vectors_e5: np.ndarray | None = None
    sentence_vectors_e5: np.ndarray | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_jsonl(path: Path, records: list[BaseModel]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(record.model_dump_json())
            fh.write("\n")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_index(
    index_dir: Path,
    *,
    articles: list[Article],
    passages: list[Passage],
    sentences: list[Sentence],
    passage_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    segments: dict[str, list[list[tuple[int, int]]]],
    manifest_fields: dict[str, object],
    keep_versions: int = 2,
    e5_vectors: tuple[np.ndarray, np.ndarray] | None = None,
) -> Manifest:
    """Write a new version and publish it; returns its manifest."""
    import faiss

    if len(passages) != len(passage_vectors) or len(sentences) != len(sentence_vectors):
        raise ValueError("vectors and records differ in count")
    ids = np.array([p.id for p in passages], dtype=np.int64)
    if (ids < 0).any() or len(set(ids.tolist())) != len(ids):
        raise ValueError("every passage needs a unique, non-negative id")
    index_dir = Path(index_dir)
    versions = index_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%dT%H%M%S%fZ}-{str(manifest_fields['corpus_fingerprint'])[:8]}"
    tmp = versions / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_jsonl(tmp / "articles.jsonl", articles)
        _write_jsonl(tmp / "passages.jsonl", passages)
        _write_jsonl(tmp / "sentences.jsonl", sentences)
        with (tmp / "segments.jsonl").open("w", encoding="utf-8") as fh:
            for key, spans in segments.items():
                fh.write(json.dumps({"key": key, "spans": spans}) + "\n")
        vectors = np.ascontiguousarray(passage_vectors, dtype=np.float32)
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        index.add_with_ids(vectors, ids)
        faiss.write_index(index, str(tmp / "passages.faiss"))
        np.save(tmp / "passages.npy", vectors)
        np.save(tmp / "sentences.npy", np.ascontiguousarray(sentence_vectors, dtype=np.float32))
        names = list(FILES)
        if e5_vectors is not None:
            np.save(tmp / "passages_e5.npy", np.ascontiguousarray(e5_vectors[0], dtype=np.float32))
            np.save(tmp / "sentences_e5.npy", np.ascontiguousarray(e5_vectors[1], dtype=np.float32))
            names += list(E5_FILES)
        manifest = Manifest(
            version=version,
            created_at=now.isoformat(timespec="seconds"),
            articles=len(articles),
            passages=len(passages),
            sentences=len(sentences),
            files={name: _sha256(tmp / name) for name in names},
            **{
                **manifest_fields,
                "chunking": ChunkingParams.model_validate(manifest_fields["chunking"]).model_dump(),
            },
        )
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        for name in (*names, "manifest.json"):
            with (tmp / name).open("rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        try:  # the new version must load cleanly before anyone can be served from it
            load_version(tmp, index_dir, manifest)
        except IndexCorruptError as exc:
            raise IndexBuildError(
                f"The new index failed its own check, so nothing was published: {exc}"
            ) from exc
        final = versions / version
        tmp.rename(final)
        _fsync_dir(versions)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = index_dir / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    pointer.write_text(version + "\n", encoding="utf-8")
    with pointer.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer, index_dir / CURRENT)  # the one step that publishes the new version
    _fsync_dir(index_dir)
    _prune(versions, keep=keep_versions, current=version)
    return manifest


def _prune(versions: Path, *, keep: int, current: str) -> None:
    """Delete old versions (and leftovers of crashed builds), keeping the newest `keep`."""
    done = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in done[: max(0, len(done) - keep)]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in versions.glob(".tmp-*"):
        # A build still running in another process would be writing its own tmp folder; only
        # remove ones older than an hour.
        try:
            age = dt.datetime.now().timestamp() - leftover.stat().st_mtime
        except FileNotFoundError:  # renamed or removed meanwhile
            continue
        if age > 3600:
            shutil.rmtree(leftover, ignore_errors=True)


def current_version_dir(index_dir: Path) -> Path:
    """The folder of the version named in CURRENT."""
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexNotFoundError(f"No index at {index_dir}: build one with `talks index`.")
    if not pointer.is_file():
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (CURRENT is not a file): {REBUILD}."
        )
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"Index at {index_dir} is damaged ({exc}): {REBUILD}.") from exc
    path = index_dir / VERSIONS / name
    if not name or "/" in name or name.startswith(".") or not path.is_dir():
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (CURRENT names missing version {name!r}): {REBUILD}."
        )
    return path


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the served version, parsed. An index written by another format version is
    a mismatch (rebuild), not damage."""
    return read_version_manifest(current_version_dir(index_dir), index_dir)


def read_version_manifest(path: Path, index_dir: Path) -> Manifest:
    """The manifest of the version folder `path` (messages name index_dir)."""
    try:
        raw = json.loads((path / "manifest.json").read_bytes())
    except OSError as exc:
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (manifest.json is missing): {REBUILD}."
        ) from exc
    except ValueError as exc:
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (manifest.json is not JSON): {REBUILD}."
        ) from exc
    if not isinstance(raw, dict):
        raise IndexCorruptError(f"Index at {index_dir} is damaged (bad manifest.json): {REBUILD}.")
    if raw.get("format") != FORMAT or raw.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"Index at {index_dir} has format {raw.get('format')} v{raw.get('format_version')}, "
            f"this version of talks reads {FORMAT} v{FORMAT_VERSION}: {REBUILD}."
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise IndexCorruptError(
            f"Index at {index_dir} is damaged (bad manifest.json): {REBUILD}."
        ) from exc


def check_compatible(
    manifest: Manifest,
    *,
    index_dir: Path,
    model: dict[str, object],
    chunking: ChunkingParams,
    corpus_fingerprint: str | None = None,
) -> None:
    """Raise IndexMismatchError if the index was built by other code or from another corpus."""
    if manifest.model != model:
        raise IndexMismatchError(
            f"Index at {index_dir} was built with model {manifest.model.get('name')} "
            f"({manifest.model.get('package')} {manifest.model.get('version')}), this version of "
            f"talks uses {model.get('name')} ({model.get('package')} {model.get('version')}): "
            f"{REBUILD}."
        )
    if manifest.chunking != chunking.model_dump():
        raise IndexMismatchError(
            f"Index at {index_dir} was built with chunking {manifest.chunking}, this "
            f"version of talks uses {chunking.model_dump()}: {REBUILD}."
        )
    if corpus_fingerprint is not None and manifest.corpus_fingerprint != corpus_fingerprint:
        raise IndexMismatchError(
            f"The corpus has changed since the index at {index_dir} was built "
            f"({manifest.articles} articles then): update it with `talks index`."
        )


def _read_jsonl(path: Path, model: type[BaseModel]) -> list:
    with path.open(encoding="utf-8") as fh:
        return [model.model_validate_json(line) for line in fh if line.strip()]


def load_index(index_dir: Path) -> IndexData:
    """Load the served version and check that its files are whole and consistent."""
    index_dir = Path(index_dir)
    return load_version(current_version_dir(index_dir), index_dir)


def load_version(path: Path, index_dir: Path, manifest: Manifest | None = None) -> IndexData:
    """Load one version folder (CURRENT is read once, by the caller) and check it."""
    import faiss

    manifest = manifest or read_version_manifest(path, index_dir)

    def damaged(reason: str) -> IndexCorruptError:
        return IndexCorruptError(f"Index at {index_dir} is damaged ({reason}): {REBUILD}.")

    names = [*FILES, *(E5_FILES if manifest.multilingual else ())]
    for name in names:
        file = path / name
        if not file.is_file():
            raise damaged(f"{name} is missing")
        if _sha256(file) != manifest.files.get(name):
            raise damaged(f"{name} does not match its checksum in manifest.json")
    try:
        articles = {a.id: a for a in _read_jsonl(path / "articles.jsonl", Article)}
        passages = _read_jsonl(path / "passages.jsonl", Passage)
        sentences = _read_jsonl(path / "sentences.jsonl", Sentence)
        passage_index = faiss.read_index(str(path / "passages.faiss"))
        passage_vectors = np.load(path / "passages.npy", allow_pickle=False)
        sentence_vectors = np.load(path / "sentences.npy", allow_pickle=False)
        e5 = None
        if manifest.multilingual:
            e5 = (
                np.load(path / "passages_e5.npy", allow_pickle=False),
                np.load(path / "sentences_e5.npy", allow_pickle=False),
            )
        segments = {}
        with (path / "segments.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                segments[row["key"]] = [[tuple(s) for s in block] for block in row["spans"]]
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise damaged(f"unreadable file: {str(exc).splitlines()[0][:200]}") from exc
    dim = int(manifest.model.get("dim", 0))
    if (
        len(articles) != manifest.articles
        or len(passages) != manifest.passages
        or len(sentences) != manifest.sentences
        or passage_index.ntotal != len(passages)
        or passage_index.d != dim
        or passage_vectors.shape != (len(passages), dim)
        or sentence_vectors.shape != (len(sentences), dim)
        or (
            e5 is not None and (e5[0].shape[0] != len(passages) or e5[1].shape[0] != len(sentences))
        )
    ):
        raise damaged("record and vector counts disagree with manifest.json")
    row_of_id = {p.id: i for i, p in enumerate(passages)}
    if len(row_of_id) != len(passages) or any(
        not 0 <= pid < manifest.next_passage_id for pid in row_of_id
    ):
        raise damaged("passage ids are missing, repeated or out of range")
    for passage in passages:
        article = articles.get(passage.article_id)
        if article is None or article.body[passage.start : passage.end] != passage.text:
            raise damaged("a passage does not match its article text")
        if any(not 0 <= sid < len(sentences) for sid in passage.sentence_ids):
            raise damaged("a passage names a sentence that does not exist")
    return IndexData(
        path=path,
        manifest=manifest,
        articles=articles,
        passages=passages,
        sentences=sentences,
        passage_index=passage_index,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
        segments=segments,
        row_of_id=row_of_id,
        passage_vectors_e5=e5[0] if e5 else None,
        sentence_vectors_e5=e5[1] if e5 else None,
    )
